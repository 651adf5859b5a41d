// Rendering: turns protocol frames into DOM nodes. No state and no sockets here; the pane
// decides what to render and when, and passes callbacks for the buttons on cards.
//
// Everything a peer wrote goes in through textContent, never as HTML.

/** Creates an element: el('div', {class: 'x', data: {seq: 1}, text: 'hi'}, child, ...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'data') Object.assign(node.dataset, value);
    else if (key === 'on') for (const [event, fn] of Object.entries(value)) node.addEventListener(event, fn);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child !== undefined && child !== null && child !== false) node.append(child);
  }
  return node;
}

export const INTENTS = {
  not_received: '未收到货 not received',
  signed_not_received: '未收货显示签收 signed for, not received',
  not_delivered_to_door: '未送货上门 not delivered to the door',
  damaged_in_transit: '物流导致破损 damaged in transit',
  lost_parcel: '丢件 lost parcel',
};

export const ROLES = {
  buyer: 'buyer', agent: 'agent', courier: 'courier', platform: 'platform', robot: 'robot',
};

export function intentLabel(intent) {
  return INTENTS[intent] || intent || '—';
}

export function clock(iso) {
  const date = iso ? new Date(iso) : new Date();
  return date.toLocaleTimeString('en-GB', { hour12: false });
}

export function shortId(id) {
  return id ? String(id).slice(-6) : '?';
}

/**
 * A stored message. `view` says who looks at it ('buyer' | 'agent' | 'courier'), `own` whether
 * this pane sent it, and `actions` holds the card buttons' callbacks.
 */
export function message(frame, { view, own, actions }) {
  const sender = frame.sender || {};
  const kind = frame.body?.kind || 'unknown';
  const head = el('div', { class: 'msg-head' },
    el('span', { class: 'seq', text: `#${frame.seq}` }),
    el('span', { class: `role role-${sender.role}`, text: ROLES[sender.role] || sender.role }),
    el('span', { class: 'user', text: sender.user || '' }),
    el('time', { text: clock(frame.sent_at) }),
    promptBadge(frame, view));
  return el('div', {
    class: `msg${own ? ' own' : ''}${sender.role === 'platform' ? ' platform' : ''}`,
    data: { seq: frame.seq, role: sender.role || '', kind, prompt: frame.prompt ?? '' },
  }, head, body(frame.body || {}, { view, actions }));
}

/** Shop side only: whether the buyer's message alerts the shop and counts as waiting. */
function promptBadge(frame, view) {
  if (view !== 'agent' || frame.prompt === undefined || frame.prompt === null) return null;
  return frame.prompt
    ? el('span', { class: 'badge prompt', text: 'prompt', title: 'alerts the shop; counts as waiting' })
    : el('span', { class: 'badge no-prompt', text: 'no prompt', title: 'a courier is in the session: no alert, no waiting count' });
}

function body(content, { view, actions }) {
  switch (content.kind) {
    case 'text': return el('div', { class: 'text', text: content.text });
    case 'order_card': return orderCard(content);
    case 'invite': return inviteCard(content, view, actions);
    case 'logistics_evaluation': return evaluationCard(content, view, actions);
    default: return el('pre', { class: 'text unknown', text: JSON.stringify(content) });
  }
}

function orderCard(content) {
  return el('div', { class: 'card order-card' },
    el('div', { class: 'card-title', text: 'Order card 订单' }),
    el('div', { class: 'card-line', text: content.order_id }));
}

function inviteCard(content, view, actions) {
  const card = el('div', { class: 'card invite-card', data: { inviteId: content.invite_id } },
    el('div', { class: 'card-title', text: `Bring in the ${content.carrier} courier? 邀请快递客服` }),
    el('div', { class: 'card-line', text: `Complaint: ${intentLabel(content.intent)}` }),
    el('div', { class: 'card-line', text: `Order ${content.order_id} · answer by ${clock(content.expires_at)}` }));
  if (view === 'buyer') {
    const answer = (accept) => actions.answerInvite(content.invite_id, accept, card);
    card.append(el('div', { class: 'card-actions' },
      el('button', { type: 'button', class: 'accept', text: 'Accept 同意', on: { click: () => answer(true) } }),
      el('button', { type: 'button', class: 'decline', text: 'Decline 拒绝', on: { click: () => answer(false) } })));
  } else {
    card.append(el('div', { class: 'card-status', text: 'Invite went out to the buyer' }));
  }
  card.append(el('div', { class: 'card-result' }));
  return card;
}

function evaluationCard(content, view, actions) {
  const card = el('div', { class: 'card evaluation-card', data: { inviteId: content.invite_id } },
    el('div', { class: 'card-title', text: `Rate ${content.carrier}'s logistics service 物流评价` }));
  if (view === 'buyer') {
    const stars = [1, 2, 3, 4, 5].map((score) => el('button', {
      type: 'button', class: 'star', data: { score }, title: `${score} of 5`, text: '★',
      on: { click: () => actions.evaluate(content.invite_id, score, card) },
    }));
    card.append(el('div', { class: 'stars' }, stars));
  } else {
    card.append(el('div', { class: 'card-status', text: 'Evaluation card sent to the buyer' }));
  }
  card.append(el('div', { class: 'card-result' }));
  return card;
}

/** The courier's context card: what the complaint is about, the chat so far, masked. */
export function contextCard(frame) {
  const lines = (frame.messages || []).map((m) => el('li', { data: { seq: m.seq } },
    el('span', { class: 'seq', text: `#${m.seq}` }),
    el('span', { class: `role role-${m.sender?.role}`, text: m.sender?.role || '' }),
    el('span', { class: 'masked', text: m.text })));
  return el('div', { class: 'card context-card', data: { inviteId: frame.invite_id } },
    el('div', { class: 'card-title', text: 'Context 工单上下文 (personal data masked)' }),
    el('dl', {},
      el('dt', { text: 'Order' }), el('dd', { text: frame.order_id }),
      el('dt', { text: 'Waybill' }), el('dd', { text: `${frame.carrier} ${frame.waybill}` }),
      el('dt', { text: 'Status' }), el('dd', { text: frame.order_status }),
      el('dt', { text: 'Complaint' }), el('dd', { text: intentLabel(frame.intent) })),
    el('ol', { class: 'context-messages' }, lines));
}

/** A line that is not a stored message: joins, notices, refusals, connection changes. */
export function line(kind, text, data = {}) {
  return el('div', { class: `line line-${kind}`, data: { ...data, line: kind } },
    el('time', { text: clock() }), el('span', { text }));
}

/** The eligibility decision with every check. */
export function decision(value) {
  const checks = (value.checks || []).map((check) => el('li', {
    class: check.passed ? 'passed' : 'failed', data: { check: check.name, passed: check.passed },
  },
  el('span', { class: 'verdict', text: check.passed ? 'passed' : 'failed' }),
  el('span', { class: 'name', text: check.name }),
  el('span', { class: 'reason', text: check.reason })));
  return el('div', { class: 'decision', data: { eligible: value.eligible } },
    el('div', { class: `verdict-big ${value.eligible ? 'eligible' : 'not-eligible'}`,
      text: value.eligible ? 'Eligible: the courier may be invited' : 'Not eligible: no invite' }),
    el('dl', {},
      el('dt', { text: 'Intent' }), el('dd', { text: intentLabel(value.intent) }),
      el('dt', { text: 'Order' }), el('dd', { text: value.order_id || '—' }),
      el('dt', { text: 'Carrier' }), el('dd', { text: value.carrier || '—' }),
      el('dt', { text: 'Decided' }), el('dd', { text: clock(value.decided_at) })),
    el('ol', { class: 'checks' }, checks));
}

/** Earlier decisions of a session: when, the verdict, and which checks failed. */
export function earlierDecisions(decisions) {
  const items = decisions.map((value) => {
    const failed = (value.checks || []).filter((check) => !check.passed).map((check) => check.name);
    return el('li', { data: { eligible: value.eligible } },
      el('time', { text: clock(value.decided_at) }),
      el('span', { class: value.eligible ? 'eligible' : 'not-eligible', text: value.eligible ? 'eligible' : 'not eligible' }),
      el('span', { class: 'failed-checks', text: failed.length ? `failed: ${failed.join(', ')}` : '' }));
  });
  return el('div', { class: 'earlier' }, el('h3', { text: 'Earlier decisions' }), el('ol', {}, items));
}
