// One pane: a real WebSocket client of the hub for one token (buyer, shop agent or courier).
//
// Owns the connection (connect, back off, reconnect), the sessions this client is a member of,
// and showing each session's messages in seq order with no gap and no duplicate:
// - a message is shown only when it is the next seq; later ones wait in `pending`;
// - a gap that does not fill by itself within GAP_GRACE_MS is asked for with `resume`;
// - after every `welcome` each known session is resumed from the last seq shown;
// - texts not yet acknowledged are sent again after a reconnect with the same client_msg_id,
//   which the hub answers with the original ack instead of storing twice.
// What the buttons do per role lives in app.js; rendering lives in render.js.

import * as render from './render.js';

const el = render.el;
const GAP_GRACE_MS = 300;
const MAX_BACKOFF_MS = 8000;
/** How long the Drop button keeps the pane offline: long enough for others to write meanwhile. */
const DROP_MS = 2000;

let counter = 0;
/** A fresh id for client_msg_id and request_id (letters, digits and '-' only). */
export function freshId(prefix) {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}`;
}

export class Pane {
  constructor(role, root, hooks = {}) {
    this.role = role;
    this.root = root;
    this.hooks = hooks; // onFrame(pane, frame), onAck(pane, session, ack, request), onSelect(pane, session)
    this.token = null;
    this.user = null;
    this.ws = null;
    this.stopped = true;
    this.attempt = 0;
    this.retryTimer = null;
    this.offlineUntil = 0;
    this.sessions = new Map();
    this.current = null;
    this.requests = new Map(); // request_id -> what it was for
    this.unacked = new Map(); // client_msg_id -> the send frame, re-sent after a reconnect
    this.presence = null; // the status to (re)announce after every welcome
    this.$ = (selector) => root.querySelector(selector);
    this.$('.drop').addEventListener('click', () => this.drop());
  }

  // ---- connection ------------------------------------------------------------------------

  start(token) {
    this.stop();
    this.clear();
    this.token = token;
    if (!token) return;
    this.stopped = false;
    this.attempt = 0;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close(1000, 'console stopped');
      this.ws = null;
    }
    this.setConnection('idle');
  }

  /** Closes the socket as a network fault would and stays away for DROP_MS; the pane then
   * reconnects and resumes by itself. */
  drop() {
    if (!this.ws) return;
    this.offlineUntil = Date.now() + DROP_MS;
    this.ws.close(1000, 'dropped from the console');
  }

  connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const url = `${scheme}://${location.host}/ws?access_token=${encodeURIComponent(this.token)}`;
    this.setConnection(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = (event) => this.closed(event);
  }

  closed(event) {
    this.ws = null;
    if (this.stopped) return;
    this.attempt += 1;
    const base = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(this.attempt - 1, 6));
    const jittered = Math.round(base * (0.8 + Math.random() * 0.4));
    const delay = Math.max(jittered, this.offlineUntil - Date.now());
    const why = `closed ${event.code}${event.reason ? ` (${event.reason})` : ''}`;
    const hint = this.attempt >= 3
      ? ' — still failing: is the token valid and this page\'s origin in server.allowed_origins?'
      : '';
    this.setConnection('reconnecting', `${why}; retrying in ${(delay / 1000).toFixed(1)} s${hint}`);
    for (const session of this.sessions.values()) session.syncing = false;
    if (this.current) this.note(this.current, 'connection', `connection ${why}; reconnecting`);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  setConnection(state, detail = '') {
    const badge = this.$('.conn');
    badge.dataset.state = state;
    badge.textContent = state;
    badge.title = detail;
  }

  isOpen() {
    return this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends a frame; gives it a request_id so its error (or answer) can be matched. */
  send(frame, purpose = {}) {
    const request = { ...frame, request_id: frame.request_id || freshId(frame.type) };
    this.requests.set(request.request_id, { ...purpose, frame: request });
    if (frame.type === 'send') this.unacked.set(request.client_msg_id, request);
    if (!this.isOpen()) {
      if (frame.type !== 'send') this.noteCurrent('error', 'not connected; try again in a moment');
      return request; // a text goes out after the reconnect
    }
    this.ws.send(JSON.stringify(request));
    return request;
  }

  /** Sends a text or an order card into a session. */
  say(session, body, purpose = {}) {
    if (!session) {
      this.noteCurrent('error', 'no session yet');
      return null;
    }
    const frame = { type: 'send', session_id: session.id, client_msg_id: freshId('m'), body };
    return this.send(frame, { ...purpose, session: session.id, body });
  }

  // ---- frames ----------------------------------------------------------------------------

  receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    const handler = this[`on_${frame.type}`];
    if (handler) handler.call(this, frame);
    this.hooks.onFrame?.(this, frame);
  }

  on_welcome(frame) {
    this.user = frame.user;
    this.attempt = 0;
    this.setConnection('open');
    this.$('.who').textContent = frame.user;
    const listed = new Set(frame.sessions);
    for (const id of frame.sessions) this.ensure(id);
    for (const session of this.sessions.values()) {
      if (listed.has(session.id)) this.resume(session);
      else this.end(session, 'no longer a member of this session');
    }
    if (this.presence) this.setPresence(this.presence);
    for (const frameToResend of this.unacked.values()) this.ws.send(JSON.stringify(frameToResend));
  }

  on_session(frame) {
    const session = this.ensure(frame.session_id);
    Object.assign(session.info, {
      shop: frame.shop_id, buyer: frame.buyer, status: frame.status,
      members: frame.members, order: frame.entry_order_id,
    });
    this.describe(session);
    if (session.lastSeq < frame.last_seq && !session.syncing) this.resume(session);
    this.select(session);
  }

  on_message(frame) {
    const session = this.ensure(frame.session_id);
    this.accept(session, frame);
  }

  on_ack(frame) {
    this.unacked.delete(frame.client_msg_id);
    const request = this.requests.get(frame.request_id);
    this.requests.delete(frame.request_id);
    const session = this.ensure(frame.session_id);
    if (request?.body) {
      const sender = { user: this.user, role: this.role };
      const own = { ...frame, sender, body: request.body, sent_at: new Date().toISOString() };
      this.accept(session, own);
    }
    this.hooks.onAck?.(this, session, frame, request);
  }

  on_resumed(frame) {
    this.requests.delete(frame.request_id);
    const session = this.ensure(frame.session_id);
    session.syncing = false;
    if (frame.recovered) {
      // A courier reads only from the seq it joined at: the hub starts it there.
      if (frame.after_seq > session.lastSeq) {
        if (session.lastSeq === 0 && frame.after_seq > 0) {
          this.note(session, 'info', `messages before #${frame.after_seq + 1} are not yours to read`);
        }
        this.skipTo(session, frame.after_seq);
      }
    } else if (frame.after_seq > frame.last_seq) {
      this.note(session, 'error', `the hub has no messages after #${frame.last_seq} (it restarted?)`);
      this.skipTo(session, frame.last_seq);
    } else {
      this.note(session, 'error', `messages before #${frame.oldest_seq} are no longer kept`);
      this.skipTo(session, frame.oldest_seq - 1);
    }
    this.flush(session);
    if (session.lastSeq < frame.last_seq) this.resume(session);
  }

  on_member_joined(frame) {
    const session = this.ensure(frame.session_id);
    const members = session.info.members || [];
    session.info.members = [...members.filter((m) => m.user !== frame.member.user), frame.member];
    this.describe(session);
    this.note(session, 'joined', `${frame.member.user} (${frame.member.role}) joined`, { user: frame.member.user });
  }

  on_member_left(frame) {
    const session = this.ensure(frame.session_id);
    session.info.members = (session.info.members || []).filter((m) => m.user !== frame.member.user);
    this.describe(session);
    this.note(session, 'left', `${frame.member.user} (${frame.member.role}) left`, { user: frame.member.user });
  }

  on_notice(frame) {
    const session = this.ensure(frame.session_id);
    const position = frame.position ? ` (place ${frame.position})` : '';
    this.note(session, 'notice', `${frame.text}${position}`, { code: frame.code });
  }

  on_error(frame) {
    const request = this.requests.get(frame.request_id);
    this.requests.delete(frame.request_id);
    if (request?.frame?.client_msg_id) this.unacked.delete(request.frame.client_msg_id);
    const session = request?.session ? this.sessions.get(request.session) : this.current;
    if (session && request?.frame?.type === 'resume') {
      session.syncing = false;
      this.end(session, `cannot resume: ${frame.code}`);
      return;
    }
    const what = frame.request_type ? `${frame.request_type} refused` : 'error';
    if (session) this.note(session, 'error', `${what}: ${frame.code} — ${frame.message}`, { code: frame.code });
    this.hooks.onError?.(this, frame, request);
  }

  // ---- sessions --------------------------------------------------------------------------

  ensure(id) {
    let session = this.sessions.get(id);
    if (session) return session;
    const timeline = el('div', { class: 'timeline' });
    const head = el('div', { class: 'session-head' });
    const box = el('div', { class: 'session', data: { session: id } }, head, timeline);
    const tab = el('button', {
      type: 'button', class: 'tab', data: { session: id }, text: render.shortId(id),
      on: { click: () => this.select(session) },
    });
    session = {
      id, info: {}, lastSeq: 0, pending: new Map(), syncing: false, gapTimer: null,
      ended: false, box, head, timeline, tab, unread: 0,
    };
    this.sessions.set(id, session);
    this.$('.tabs').append(tab);
    this.$('.timelines').append(box);
    this.describe(session);
    this.resume(session);
    if (!this.current) this.select(session);
    return session;
  }

  select(session) {
    this.current = session;
    for (const other of this.sessions.values()) {
      const chosen = other === session;
      other.box.hidden = !chosen;
      other.tab.classList.toggle('chosen', chosen);
    }
    session.unread = 0;
    session.tab.dataset.unread = '';
    this.scroll(session, true);
    this.hooks.onSelect?.(this, session);
  }

  describe(session) {
    const info = session.info;
    const members = (info.members || []).map((m) => `${m.user} (${m.role})`).join(', ');
    session.head.replaceChildren(
      el('span', { class: 'sid', text: `session …${render.shortId(session.id)}`, title: session.id }),
      info.status || session.ended
        ? el('span', { class: 'tag', text: session.ended ? 'ended' : info.status.replace(/_/g, ' ') })
        : null,
      info.shop ? el('span', { text: `shop ${info.shop}` }) : null,
      info.order ? el('span', { text: `from order ${info.order}` }) : null,
      members ? el('span', { class: 'members', text: `members: ${members}` }) : null);
    const label = this.role === 'buyer' ? info.shop : info.buyer;
    session.tab.textContent = label ? `${label} …${render.shortId(session.id).slice(-4)}` : `…${render.shortId(session.id)}`;
  }

  end(session, why) {
    if (session.ended) return;
    session.ended = true;
    session.tab.classList.add('ended');
    this.describe(session);
    this.note(session, 'info', why);
  }

  resume(session) {
    if (session.ended || session.syncing || !this.isOpen()) return;
    session.syncing = true;
    this.send({ type: 'resume', session_id: session.id, after_seq: session.lastSeq }, { session: session.id });
  }

  /** Takes a message in: shown when it is the next seq, held while an earlier one is missing. */
  accept(session, frame) {
    if (frame.seq <= session.lastSeq || session.pending.has(frame.seq)) return;
    session.pending.set(frame.seq, frame);
    this.flush(session);
  }

  flush(session) {
    while (session.pending.has(session.lastSeq + 1)) {
      const frame = session.pending.get(session.lastSeq + 1);
      session.pending.delete(frame.seq);
      session.lastSeq = frame.seq;
      this.show(session, frame);
    }
    clearTimeout(session.gapTimer);
    if (session.pending.size > 0 && !session.syncing) {
      session.gapTimer = setTimeout(() => {
        if (session.pending.size > 0 && !session.syncing) this.resume(session);
      }, GAP_GRACE_MS);
    }
  }

  skipTo(session, seq) {
    session.lastSeq = Math.max(session.lastSeq, seq);
    for (const held of [...session.pending.keys()]) if (held <= session.lastSeq) session.pending.delete(held);
  }

  show(session, frame) {
    const own = frame.sender?.user === this.user && frame.sender?.role === this.role;
    const node = render.message(frame, { view: this.role, own, actions: this.hooks.actions || {} });
    this.append(session, node);
    this.hooks.onShown?.(this, session, frame, node);
  }

  note(session, kind, text, data = {}) {
    this.append(session, render.line(kind, text, data));
  }

  noteCurrent(kind, text, data = {}) {
    if (this.current) this.note(this.current, kind, text, data);
  }

  append(session, node) {
    const atBottom = this.isNearBottom(session);
    session.timeline.append(node);
    if (session !== this.current) {
      session.unread += 1;
      session.tab.dataset.unread = String(session.unread);
    }
    this.scroll(session, atBottom);
  }

  isNearBottom(session) {
    const box = this.$('.timelines');
    return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  }

  scroll(session, force) {
    if (session !== this.current || !force) return;
    const box = this.$('.timelines');
    box.scrollTop = box.scrollHeight;
  }

  /** Announces presence now and after every reconnect. */
  setPresence(status) {
    this.presence = status;
    const badge = this.$('.presence');
    if (badge) {
      badge.dataset.status = status;
      badge.textContent = status;
    }
    if (this.isOpen()) this.send({ type: 'presence', status });
  }

  clear() {
    for (const session of this.sessions.values()) clearTimeout(session.gapTimer);
    this.sessions.clear();
    this.current = null;
    this.requests.clear();
    this.unacked.clear();
    this.user = null;
    this.$('.who').textContent = '';
    this.$('.tabs').replaceChildren();
    this.$('.timelines').replaceChildren();
  }
}
