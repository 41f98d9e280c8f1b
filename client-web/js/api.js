// REST calls and the WebSocket session: hello, identify/resume, heartbeat, reconnect.

export class ApiError extends Error {
  constructor(code, message, extra = {}) {
    super(message || code);
    this.code = code;
    this.temporary = !!extra.temporary;
    this.retryAfterMs = extra.retry_after_ms || 0;
    this.status = extra.status || 0;
  }
}

// An error as a person reads it: a rate limit says when to try again.
export function describe(e) {
  if (e.code === 'rate_limited' && e.retryAfterMs) {
    return `${e.message || 'Too many requests'} \u2014 try again in ${Math.ceil(e.retryAfterMs / 1000)}s`;
  }
  return e.message || String(e);
}

// POST /api/v1/<op>; resolves with the result fields, rejects with ApiError.
export async function rest(op, d = {}, token = null) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(`/api/v1/${op}`, { method: 'POST', headers, body: JSON.stringify(d) });
  } catch {
    throw new ApiError('network', 'Cannot reach the server', { temporary: true });
  }
  let body = null;
  try { body = await res.json(); } catch { /* not JSON: handled below */ }
  if (body && body.ok) {
    delete body.ok;
    return body;
  }
  const e = (body && body.error) || {};
  throw new ApiError(e.code || 'internal', e.message || `HTTP ${res.status}`,
    { ...e, status: res.status, temporary: e.temporary ?? res.status >= 500 });
}

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30000;
const REQUEST_TIMEOUT_MS = 20000;

/*
 * One logical session over a sequence of WebSockets. Callbacks (h):
 *   token(force)   -> Promise<access token>   (force: refresh first, after a 4004)
 *   resumeRooms()  -> {room: last seq held} or null for a plain identify
 *   onReady(d, replayed, resumed)  identify/resume ok, with the events that came before it
 *   onEvent(op, d) every later event
 *   onStatus(state, info)  'connecting' | 'online' | 'reconnecting' | 'offline'
 *   onAuthLost(code)        4002/4003 or a refresh that failed: back to the login form
 */
export class Session {
  constructor(h) {
    this.h = h;
    this.ws = null;
    this.ready = false;
    this.stopped = true;
    this.epoch = null;      // epoch of the last session that got to ready; used by resume
    this.attempt = 0;
    this.nextId = 1;
    this.pending = new Map();
    this.needRefresh = false;
    this.retryTimer = 0;
    this.pingTimer = 0;
    this.early = [];
    addEventListener('online', () => { if (!this.stopped && !this.ws) this.open(); });
  }

  start() {
    this.stopped = false;
    this.attempt = 0;
    this.epoch = null;
    this.open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.teardown();
    this.h.onStatus('offline');
  }

  open() {
    clearTimeout(this.retryTimer);
    this.teardown();
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${proto}://${location.host}/v1/ws`, 'natter.v1');
    this.ws = ws;
    this.h.onStatus(this.attempt ? 'reconnecting' : 'connecting');
    ws.onmessage = (ev) => { if (ws === this.ws) this.onFrame(ev.data); };
    ws.onclose = (ev) => { if (ws === this.ws) this.onClose(ev.code); };
  }

  // Drop the current socket without triggering a reconnect from its close handler.
  teardown() {
    clearInterval(this.pingTimer);
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    if (ws) {
      ws.onmessage = ws.onclose = null;
      try { ws.close(1000); } catch { /* already closed */ }
    }
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new ApiError('disconnected', 'Connection lost', { temporary: true }));
    }
    this.pending.clear();
  }

  onFrame(data) {
    this.lastRx = Date.now();
    // The server may batch several JSON objects in one message, one per line.
    for (const line of String(data).split('\n')) {
      if (!line.trim()) continue;
      let f;
      try { f = JSON.parse(line); } catch { continue; }
      if (f && typeof f === 'object') this.dispatch(f);
    }
  }

  dispatch(f) {
    if (f.op === 'hello') { this.onHello(f.d || {}); return; }
    if ((f.op === 'ok' || f.op === 'error' || f.op === 'pong') && f.re !== undefined) {
      const p = this.pending.get(f.re);
      if (!p) return;
      this.pending.delete(f.re);
      clearTimeout(p.timer);
      if (f.op === 'error') p.reject(new ApiError(f.d.code, f.d.message, f.d));
      else p.resolve(f.d || {});
      return;
    }
    if (f.op === 'error') { console.warn('natter: server error', f.d); return; }
    if (this.ready) this.h.onEvent(f.op, f.d || {});
    else this.early.push(f); // resume replay: applied after the snapshot in the ok
  }

  onHello(d) {
    this.hello = d;
    this.limits = d.limits || {};
    this.early = [];
    const beat = d.heartbeat_ms || 30000;
    const ws = this.ws;
    // App-level ping (browsers cannot send WS pings); two silent intervals = dead link.
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (ws !== this.ws) return;
      if (Date.now() - this.lastRx > 2 * beat) { this.teardown(); this.retry(); return; }
      this.send({ op: 'ping', id: `p${this.nextId++}` });
    }, beat);
    this.authenticate(ws);
  }

  async authenticate(ws) {
    let token;
    try {
      token = await this.h.token(this.needRefresh);
      this.needRefresh = false;
    } catch (e) {
      if (ws !== this.ws) return;
      if (e.temporary) { this.teardown(); this.retry(); return; }
      this.stopped = true;
      this.teardown();
      this.h.onAuthLost(e.code);
      return;
    }
    if (ws !== this.ws) return;
    const rooms = this.epoch ? this.h.resumeRooms() : null;
    const op = rooms ? 'resume' : 'identify';
    const d = rooms ? { token, epoch: this.epoch, rooms } : { token };
    try {
      const res = await this.request(op, d, true);
      if (ws !== this.ws) return;
      this.epoch = this.hello.epoch;
      this.ready = true;
      this.attempt = 0;
      const early = this.early;
      this.early = [];
      this.h.onStatus('online');
      this.h.onReady(res, early, op === 'resume');
    } catch (e) {
      if (ws !== this.ws) return;
      if (e.code === 'rate_limited') {
        setTimeout(() => { if (ws === this.ws) this.authenticate(ws); }, e.retryAfterMs || 1000);
      }
      // Any other failure: the server closes with a code and onClose decides.
    }
  }

  onClose(code) {
    this.teardown();
    if (this.stopped) return;
    if (code === 4002 || code === 4003) { // bad token / revoked: only a new login helps
      this.stopped = true;
      this.h.onStatus('offline');
      this.h.onAuthLost(code);
      return;
    }
    if (code === 4004) this.needRefresh = true;
    // 4010: too many connections; wait a while instead of hammering.
    this.retry(code === 4010 ? 15000 : 0);
  }

  retry(minDelay = 0) {
    if (this.stopped) return;
    // Exponential backoff with jitter: [base/2, base).
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt++);
    const delay = Math.max(minDelay, base / 2 + Math.random() * base / 2);
    this.h.onStatus('reconnecting', { until: Date.now() + delay });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  send(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  request(op, d = {}, preAuth = false) {
    if (!this.ws || (!this.ready && !preAuth)) {
      return Promise.reject(new ApiError('disconnected', 'Not connected', { temporary: true }));
    }
    const id = String(this.nextId++);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ApiError('timeout', 'The server did not answer', { temporary: true }));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      if (!this.send({ op, id, d })) {
        this.pending.delete(id);
        clearTimeout(timer);
        reject(new ApiError('disconnected', 'Not connected', { temporary: true }));
      }
    });
  }

  typing(room) {
    if (this.ready) this.send({ op: 'typing', d: { room } });
  }
}
