// The logistics-bridge console page (issue 9): wires three panes (buyer, shop agent, courier),
// the decision panel, and where the tokens come from.
//
// Development mode (`[console] dev_mode = true`): the page asks POST /console/demo for a fresh
// demo (a shop with ZTO chosen, a shipped order with one ZTO parcel, four tokens) and keeps it
// in sessionStorage, so a reload reconnects the same users and resumes their sessions.
// Otherwise the page asks for tokens. Connection and gap-free display are pane.js's business.

import { Pane } from './pane.js';
import * as render from './render.js';

const STORAGE_KEY = 'logistics-bridge-console';
const BURST = 6;
const body = document.body;
const devMode = body.dataset.devMode === 'true';
const byId = (id) => document.getElementById(id);

// ---- the decision panel --------------------------------------------------------------------

class DecisionPanel {
  constructor(root) {
    this.root = root;
    this.token = null;
    this.session = null;
    this.shownAt = null;
    this.generation = 0;
    this.history = new Map(); // session id -> decisions shown, newest first
    root.querySelector('.refresh').addEventListener('click', () => this.refresh());
  }

  /** Follows the buyer's chosen session. Before its first buyer text there is no decision to
   * fetch (the hub would answer 404), so the panel just says so. */
  watch(session) {
    if (session.id === this.session) return;
    this.session = session.id;
    this.shownAt = null;
    this.generation += 1;
    if (session.hasBuyerText) this.refresh();
    else this.status('No decision yet: the hub decides on each buyer text in an ordinary session.');
  }

  /** After a buyer text: the decision is stored just after the ack, so poll briefly for it. */
  async refreshSoon(sessionId) {
    this.session = sessionId;
    const generation = ++this.generation;
    const before = this.shownAt;
    for (let attempt = 0; attempt < 10 && generation === this.generation; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 150 + attempt * 100));
      if (generation !== this.generation) return;
      const decision = await this.fetch();
      if (decision && decision.decided_at !== before) return this.show(decision);
    }
  }

  async refresh() {
    this.generation += 1;
    const decision = await this.fetch();
    if (decision) this.show(decision);
  }

  async fetch() {
    if (!this.session) return this.status('Open a chat as the buyer to see decisions.');
    if (!this.token) return this.status('Paste an admin token to see the decisions.');
    const response = await fetch(`/v1/sessions/${encodeURIComponent(this.session)}/eligibility`, {
      headers: { authorization: `Bearer ${this.token}` }, cache: 'no-store',
    }).catch(() => null);
    if (!response) return this.status('The hub did not answer.');
    if (response.status === 404) return this.status('No decision yet: the hub decides on each buyer text in an ordinary session.');
    if (!response.ok) return this.status(`GET eligibility answered ${response.status}.`);
    return response.json();
  }

  status(text) {
    this.root.querySelector('.body').replaceChildren(render.el('p', { class: 'hint', text }));
    return null;
  }

  /** The latest decision in full; the earlier ones of the session as one line each. */
  show(decision) {
    this.shownAt = decision.decided_at;
    const earlier = this.history.get(this.session) || [];
    const previous = earlier.filter((d) => d.decided_at !== decision.decided_at);
    this.history.set(this.session, [decision, ...previous].slice(0, 20));
    this.root.querySelector('.body').replaceChildren(
      render.el('p', { class: 'sid', text: `session …${render.shortId(this.session)}` }),
      render.decision(decision),
      previous.length ? render.earlierDecisions(previous) : null);
  }
}

// ---- per-role behaviour --------------------------------------------------------------------

const decisionPanel = new DecisionPanel(byId('decision'));
const bursts = new Map(); // burst id -> { stored, refused, codes, session }

const panes = {
  buyer: new Pane('buyer', byId('pane-buyer'), {
    actions: {
      answerInvite(inviteId, accept, card) {
        for (const button of card.querySelectorAll('button')) button.disabled = true;
        panes.buyer.send({ type: 'answer_invite', invite_id: inviteId, accept }, { card });
      },
      evaluate(inviteId, score, card) {
        for (const button of card.querySelectorAll('button')) button.disabled = true;
        panes.buyer.send({ type: 'evaluate', invite_id: inviteId, score }, { card, score });
      },
    },
    onSelect: (_, session) => decisionPanel.watch(session),
    onShown(_, session, frame) {
      // Each buyer text in an ordinary session gets a decision, stored just after the ack.
      const withCourier = (session.info.members || []).some((m) => m.role === 'courier');
      const isBuyerText = frame.sender?.role === 'buyer' && frame.body?.kind === 'text';
      if (isBuyerText) session.hasBuyerText = true;
      if ((isBuyerText && !withCourier) || frame.body?.kind === 'invite') {
        if (session === panes.buyer.current) decisionPanel.refreshSoon(session.id);
      }
    },
    onFrame(pane, frame) {
      if (frame.type === 'invite_answer') inviteAnswered(pane, frame);
      if (frame.type === 'evaluated') evaluated(pane, frame);
    },
    onError(_, frame, request) {
      if (!request?.card) return;
      for (const button of request.card.querySelectorAll('button')) button.disabled = false;
      request.card.querySelector('.card-result').textContent = `${frame.code}: ${frame.message}`;
    },
  }),
  agent: new Pane('agent', byId('pane-agent'), {
    onFrame(pane, frame) {
      if (frame.type !== 'waiting') return;
      const badge = pane.root.querySelector('.waiting');
      badge.dataset.count = String(frame.buyers_waiting);
      badge.querySelector('b').textContent = String(frame.buyers_waiting);
    },
    onAck: (pane, session, ack, request) => burstAnswered(pane, request, null),
    onError: (pane, frame, request) => burstAnswered(pane, request, frame.code),
  }),
  courier: new Pane('courier', byId('pane-courier'), {
    onFrame(pane, frame) {
      if (frame.type !== 'context') return;
      const session = pane.ensure(frame.session_id);
      // Every resume brings the card again (a reload has none): replace, never repeat it.
      const card = render.contextCard(frame);
      const selector = `.context-card[data-invite-id="${CSS.escape(frame.invite_id)}"]`;
      const shown = session.timeline.querySelector(selector);
      if (shown) shown.replaceWith(card);
      else session.timeline.prepend(card);
      pane.select(session);
    },
  }),
};

function inviteAnswered(pane, frame) {
  const cards = pane.root.querySelectorAll(`.invite-card[data-invite-id="${CSS.escape(frame.invite_id)}"]`);
  for (const card of cards) {
    card.dataset.answer = frame.accepted ? 'accepted' : 'declined';
    for (const button of card.querySelectorAll('button')) button.disabled = true;
    card.querySelector('.card-result').textContent = frame.accepted
      ? 'Accepted: a courier is being found'
      : 'Declined: the chat goes on with the shop';
  }
}

function evaluated(pane, frame) {
  const request = pane.requests.get(frame.request_id);
  const cards = pane.root.querySelectorAll(`.evaluation-card[data-invite-id="${CSS.escape(frame.invite_id)}"]`);
  for (const card of cards) {
    const score = request?.score;
    card.dataset.rated = String(score ?? 'yes');
    for (const star of card.querySelectorAll('.star')) star.classList.toggle('lit', Number(star.dataset.score) <= (score ?? 0));
    card.querySelector('.card-result').textContent = score ? `Evaluated: ${score} of 5. Thank you` : 'Evaluated. Thank you';
  }
  pane.requests.delete(frame.request_id);
}

function sendBurst() {
  const pane = panes.agent;
  const session = pane.current;
  if (!session) return pane.noteCurrent('error', 'no session yet');
  const id = `b${Date.now().toString(36)}`;
  bursts.set(id, { stored: 0, refused: 0, codes: new Set(), session });
  for (let index = 1; index <= BURST; index += 1) {
    pane.say(session, { kind: 'text', text: `连续消息 ${index}/${BURST}: 正在为您核实` }, { burst: id });
  }
}

function burstAnswered(pane, request, code) {
  const burst = request?.burst && bursts.get(request.burst);
  if (!burst) return;
  if (code) {
    burst.refused += 1;
    burst.codes.add(code);
  } else {
    burst.stored += 1;
  }
  if (burst.stored + burst.refused < BURST) return;
  bursts.delete(request.burst);
  const withCourier = (burst.session.info.members || []).some((m) => m.role === 'courier');
  const why = burst.refused
    ? `${burst.refused} refused (${[...burst.codes].join(', ')}): the five-message limit of an ordinary session`
    : `none refused${withCourier ? ': a courier is in the session, so the limit does not apply' : ''}`;
  pane.note(burst.session, 'burst', `${BURST} in a row: ${burst.stored} stored, ${why}`,
    { stored: burst.stored, refused: burst.refused });
}

// ---- toolbars and composers ----------------------------------------------------------------

function wireControls() {
  const buyer = panes.buyer;
  const field = (name) => buyer.root.querySelector(`.${name}`).value.trim();
  buyer.root.querySelector('.open').addEventListener('click', () => {
    const order = field('order-id');
    buyer.send({ type: 'open', shop_id: field('shop-id'), ...(order ? { order_id: order } : {}) });
  });
  buyer.root.querySelector('.send-card').addEventListener('click', () => {
    buyer.say(buyer.current, { kind: 'order_card', order_id: field('order-id') });
  });
  for (const button of buyer.root.querySelectorAll('.quick button')) {
    button.addEventListener('click', () => buyer.say(buyer.current, { kind: 'text', text: button.dataset.text }));
  }
  panes.agent.root.querySelector('.burst').addEventListener('click', sendBurst);
  panes.courier.root.querySelector('.leave').addEventListener('click', () => {
    const courier = panes.courier;
    const session = courier.current;
    if (!session || session.ended) return courier.noteCurrent('error', 'no session to leave');
    courier.send({ type: 'leave', session_id: session.id }, { session: session.id });
    courier.end(session, 'you left the session');
  });
  for (const pane of Object.values(panes)) {
    const form = pane.root.querySelector('.composer');
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const input = form.querySelector('.text');
      const text = input.value.trim();
      if (!text) return;
      if (pane.say(pane.current, { kind: 'text', text })) input.value = '';
    });
  }
}

// ---- tokens: a demo in development mode, pasted ones otherwise -----------------------------

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(STORAGE_KEY) || 'null');
  } catch {
    return null;
  }
}

function save(value) {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(value));
}

/** Seconds left on a token, read from its payload (the hub checks the signature). */
function secondsLeft(token) {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return payload.exp - Date.now() / 1000;
  } catch {
    return 0;
  }
}

function start(setup) {
  panes.buyer.root.querySelector('.shop-id').value = setup.shop || '';
  panes.buyer.root.querySelector('.order-id').value = setup.order || '';
  decisionPanel.token = setup.tokens.admin || null;
  decisionPanel.session = null;
  decisionPanel.status('Open a chat as the buyer to see decisions.');
  panes.agent.presence = 'online';
  panes.courier.presence = 'available';
  for (const [role, pane] of Object.entries(panes)) pane.start(setup.tokens[role]);
}

async function startDemo(fresh) {
  let setup = fresh ? null : load();
  if (!setup?.demo || secondsLeft(setup.tokens.buyer) < 600) {
    const response = await fetch('/console/demo', { method: 'POST' });
    if (!response.ok) throw new Error(`POST /console/demo answered ${response.status}`);
    const demo = await response.json();
    setup = { demo, tokens: demo.tokens, shop: demo.shop_id, order: demo.order_id };
    save(setup);
  }
  const demo = setup.demo;
  byId('demo-info').textContent = `shop ${demo.shop_id} · order ${demo.order_id} `
    + `(shipped, ${demo.carrier} ${demo.waybill}) · buyer ${demo.users.buyer}`;
  start(setup);
}

function startWithTokens() {
  const form = byId('tokens');
  const saved = load();
  if (saved && !saved.demo) {
    for (const name of ['buyer', 'agent', 'courier', 'admin']) form.elements[name].value = saved.tokens[name] || '';
    form.elements.shop.value = saved.shop || '';
    form.elements.order.value = saved.order || '';
  }
  form.hidden = Boolean(saved && !saved.demo);
  byId('show-tokens').hidden = false;
  byId('show-tokens').addEventListener('click', () => { form.hidden = !form.hidden; });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = (name) => form.elements[name].value.trim();
    const tokens = Object.fromEntries(['buyer', 'agent', 'courier', 'admin'].map((n) => [n, value(n)]));
    const setup = { tokens, shop: value('shop'), order: value('order') };
    save(setup);
    form.hidden = true;
    start(setup);
  });
  if (saved && !saved.demo) start(saved);
}

function showError(text) {
  const banner = byId('page-error');
  banner.textContent = text;
  banner.hidden = false;
}

function main() {
  if (body.dataset.originAllowed === 'false') {
    const banner = byId('origin-warning');
    banner.textContent = `This page's origin ${location.origin} is not in server.allowed_origins, `
      + 'so the hub refuses its WebSockets (403). Add it under [server] in config.toml, or open '
      + 'the console at an allowed address such as http://127.0.0.1:8080/console.';
    banner.hidden = false;
  }
  wireControls();
  byId('mode').textContent = devMode ? 'development mode: demo tokens' : 'tokens';
  if (!devMode) return startWithTokens();
  const newDemo = byId('new-demo');
  newDemo.hidden = false;
  newDemo.addEventListener('click', () => startDemo(true).catch((error) => showError(error.message)));
  startDemo(false).catch((error) => showError(`Could not start the demo: ${error.message}`));
}

main();
