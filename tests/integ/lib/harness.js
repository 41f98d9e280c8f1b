'use strict';
// Black-box harness for the Natter integration tests: start a real `natter` binary on a free
// loopback port with its own data dir, talk to it over REST (fetch) and WebSocket (ws).
// Every server and client started here is torn down when the test file ends.

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { after, afterEach } = require('node:test');
const WebSocket = require('ws');

const REPO = path.resolve(__dirname, '../../..');
const BIN = process.env.NATTER_BIN || path.join(REPO, 'build/server/natter');
const WEB_ROOT = process.env.NATTER_WEB_ROOT || path.join(REPO, 'client-web');
// ASan builds are slow: every wait is generous.
const WAIT_MS = Number(process.env.NATTER_TEST_WAIT_MS || 10000);

// Limits that let a test make many users and logins; a test of a limit passes its own value.
const DEFAULT_LIMITS = { login_burst: 1000, signup_burst: 1000, identify_burst: 1000 };

// ---------------------------------------------------------------------------------------------
// Schema checks (tests/integ/lib/schemas.js, owned by the schema tests). Optional until it lands.
let schemas = null;
try {
  schemas = require('./schemas');
} catch (e) {
  if (e.code !== 'MODULE_NOT_FOUND') throw e;
}
const schemaFailures = [];
let schemaSeen = 0;
function schemaCheck(fn, args, what) {
  if (!schemas || typeof schemas[fn] !== 'function') return;
  let err;
  try {
    err = schemas[fn](...args);
  } catch (e) {
    err = `validator threw: ${e.message}`;
  }
  if (err) schemaFailures.push(`${what}: ${err}`);
}
// A test fails when anything it received broke the schema.
afterEach(() => {
  const fresh = schemaFailures.slice(schemaSeen);
  schemaSeen = schemaFailures.length;
  if (fresh.length) {
    const uniq = [...new Set(fresh.map((f) => (f.length > 700 ? `${f.slice(0, 700)}...` : f)))];
    throw new Error(`${fresh.length} schema violation(s):\n  ${uniq.slice(0, 15).join('\n  ')}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Tear-down of everything this file started.
const servers = new Set();
const clients = new Set();
const crashes = []; // servers that died without being asked to
after(async () => {
  for (const c of clients) c.terminate();
  // Servers still running stop gracefully: a non-zero exit (a sanitizer report, a crash in
  // shutdown) fails the file, as does any exit nobody asked for.
  const bad = [...crashes];
  await Promise.all([...servers].map(async (s) => {
    if (!s.proc || s.proc.exitCode !== null || s.proc.signalCode !== null) return;
    const code = await s.stop('SIGTERM');
    if (code !== 0) bad.push(`natter on port ${s.port} exited ${code} on SIGTERM; stderr tail:\n${s.stderr().slice(-6000)}`);
  }));
  for (const s of servers) s.cleanup();
  if (bad.length) throw new Error(bad.join('\n\n'));
});
process.on('exit', () => {
  for (const s of servers) if (s.proc && s.proc.exitCode === null) s.proc.kill('SIGKILL');
});

// ---------------------------------------------------------------------------------------------
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const uid = () => crypto.randomBytes(6).toString('hex');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Tests skip when no binary was built and none was named; a NATTER_BIN that is missing fails them.
function binaryMissing() {
  if (process.env.NATTER_BIN || fs.existsSync(BIN)) return false; // false, not null: node:test skips on null
  return `natter binary not found at ${BIN} (set NATTER_BIN)`;
}

/**
 * Start a server. opts: {limits:{k:v}, args:[...], dataDir, env:{}}
 * Returns {url, port, wsUrl, dataDir, proc, stderr(), stop(sig) -> exit code, kill9(), restart()}.
 */
async function startServer(opts = {}) {
  const missing = binaryMissing();
  if (missing) throw new Error(missing);
  const port = opts.port || (await freePort());
  const dataDir = opts.dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'natter-test-'));
  const ownDir = !opts.dataDir;
  const limits = { ...DEFAULT_LIMITS, ...(opts.limits || {}) };
  const args = ['--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--password-cost', 'min',
    '--log-level', 'info'];
  if (fs.existsSync(WEB_ROOT)) args.push('--web-root', WEB_ROOT);
  for (const [k, v] of Object.entries(limits)) args.push('--limit', `${k}=${v}`);
  args.push(...(opts.args || []));

  const srv = {
    port,
    dataDir,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/v1/ws`,
    origin: `http://localhost:${port}`,
    proc: null,
    log: [],
    stopping: false,
    stderr() {
      return this.log.join('');
    },
    async stop(signal = 'SIGTERM') {
      const p = this.proc;
      if (!p) return null;
      if (p.exitCode !== null || p.signalCode !== null) return p.exitCode ?? p.signalCode;
      this.stopping = true;
      const done = new Promise((r) => p.once('exit', (code, sig) => r(code ?? sig)));
      p.kill(signal);
      const t = setTimeout(() => p.kill('SIGKILL'), 20000);
      const code = await done;
      clearTimeout(t);
      return code;
    },
    kill9() {
      return this.stop('SIGKILL');
    },
    async restart() {
      await this.stop();
      await launch();
      return this;
    },
    cleanup() {
      if (ownDir && !process.env.NATTER_KEEP_DATA) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };

  function launch() {
    return new Promise((resolve, reject) => {
      srv.stopping = false;
      const env = { ...process.env, ...(opts.env || {}) };
      const p = spawn(BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      srv.proc = p;
      let ready = false;
      let buf = '';
      const timer = setTimeout(() => {
        if (!ready) {
          p.kill('SIGKILL');
          reject(new Error(`natter did not print "listening on" within ${WAIT_MS} ms; stderr:\n${srv.stderr()}`));
        }
      }, WAIT_MS);
      const onData = (chunk) => {
        const s = chunk.toString();
        srv.log.push(s);
        if (srv.log.length > 5000) srv.log.splice(0, 1000);
        if (process.env.NATTER_TEST_VERBOSE) process.stderr.write(`[natter:${port}] ${s}`);
        buf += s;
        if (!ready && buf.includes('listening on')) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      };
      p.stderr.on('data', onData);
      p.stdout.on('data', onData);
      p.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      p.on('exit', (code, sig) => {
        clearTimeout(timer);
        if (!ready) {
          reject(new Error(`natter exited (code ${code}, signal ${sig}) before listening; args: ${args.join(' ')}\nstderr:\n${srv.stderr()}`));
        } else if (!srv.stopping) {
          // A crash the test did not ask for: show why (ASan reports land here).
          const msg = `natter on port ${port} exited unexpectedly (code ${code}, signal ${sig}); stderr tail:\n${srv.stderr().slice(-8000)}`;
          crashes.push(msg);
          console.error(msg);
        }
      });
    });
  }

  servers.add(srv);
  await launch();
  return srv;
}

// ---------------------------------------------------------------------------------------------
// REST
async function restRaw(server, op, rawBody, headers = {}, method = 'POST') {
  const res = await fetch(`${server.url}/api/v1/${op}`, { method, headers, body: rawBody });
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* keep the text */
  }
  return { status: res.status, body, headers: res.headers };
}

/** POST /api/v1/<op> with JSON body d and optional Bearer token -> {status, body}. */
async function rest(server, op, body, token, { validate = true } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await restRaw(server, op, body === undefined ? '{}' : JSON.stringify(body), headers);
  if (validate) schemaCheck('validateRest', [op, r.body], `REST ${op} -> ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  return r;
}

/** Make a user with a unique email. -> {token, refresh, user, email, password, name} */
async function signup(server, name = 'user') {
  const email = `${name.replace(/[^A-Za-z0-9]/g, '').toLowerCase() || 'u'}-${uid()}@example.test`;
  const password = `pw-${uid()}-secret`;
  const r = await rest(server, 'auth.signup', { email, name, password });
  if (r.status !== 200 || !r.body || r.body.ok !== true) {
    throw new Error(`signup ${email} failed: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return { token: r.body.access_token, refresh: r.body.refresh_token, user: r.body.user, email, password, name };
}

// ---------------------------------------------------------------------------------------------
// WebSocket client
class Client {
  constructor(ws, label) {
    this.ws = ws;
    this.label = label;
    this.hello = null;
    this.objects = []; // every JSON object received, in order
    this.events = []; // everything that is not hello and not a reply to one of our requests
    this.frames = 0;
    this.pending = new Map();
    this.nextId = 1;
    this.waiters = new Set();
    this.closeInfo = null;
    this.closed = new Promise((resolve) => {
      this._resolveClosed = resolve;
    });
    ws.on('message', (data, isBinary) => this._onFrame(data, isBinary));
    ws.on('close', (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() };
      for (const [, p] of this.pending) {
        const e = new Error(`connection closed (${code} ${reason}) before the reply to ${p.op}`);
        e.code = 'closed';
        e.closeCode = code;
        p.reject(e);
      }
      this.pending.clear();
      this._resolveClosed(this.closeInfo);
      for (const w of this.waiters) w.check();
    });
    ws.on('error', () => {}); // 'close' follows; tests look at client.closed
  }

  _onFrame(data, isBinary) {
    this.frames++;
    const text = data.toString('utf8');
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let obj;
      try {
        obj = JSON.parse(line);
      } catch (e) {
        schemaFailures.push(`${this.label}: frame line is not JSON: ${line.slice(0, 200)}`);
        continue;
      }
      if (isBinary) schemaFailures.push(`${this.label}: binary frame from the server`);
      schemaCheck('validateServerFrame', [obj], `${this.label} got ${line.slice(0, 300)}`);
      this.objects.push(obj);
      if (!this.hello && this.objects.length === 1) {
        this.hello = obj;
        if (this._onHello) this._onHello(obj);
        continue;
      }
      if (obj.re !== undefined && this.pending.has(obj.re)) {
        const p = this.pending.get(obj.re);
        this.pending.delete(obj.re);
        if (obj.op === 'ok') {
          schemaCheck('validateOk', [p.op, obj.d], `${this.label} ok for ${p.op}: ${line.slice(0, 300)}`);
          // mark: how many events had arrived before this reply (the reply's place in the stream)
          p.resolve(obj.d, this.events.length);
        } else if (obj.op === 'pong' && p.op === 'ping') {
          p.resolve(obj);
        } else if (obj.op === 'error') {
          const d = obj.d || {};
          const e = new Error(`${p.op} -> ${d.code}: ${d.message}`);
          e.code = d.code;
          e.d = d;
          e.frame = obj;
          p.reject(e);
        } else {
          p.reject(new Error(`${p.op}: unexpected reply ${line}`));
        }
        continue;
      }
      this.events.push(obj);
      for (const w of this.waiters) w.check();
    }
  }

  /** Send a request and resolve with the ok's d (rejects with Error{code} on an error frame). */
  request(op, d = {}, timeoutMs = WAIT_MS, onOk = null) {
    const id = String(this.nextId++);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.label}: no reply to ${op} (id ${id}) within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        op,
        resolve: (v, mark) => (clearTimeout(timer), onOk && onOk(v, mark), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      if (this.ws.readyState !== WebSocket.OPEN) {
        this.pending.get(id).reject(Object.assign(new Error(`${this.label}: socket not open for ${op}`), { code: 'closed' }));
        this.pending.delete(id);
        return;
      }
      this.ws.send(JSON.stringify({ op, id, d }));
    });
  }

  /** Like request, but resolves {d, mark}: mark = number of events received before the ok. */
  requestMarked(op, d = {}, timeoutMs = WAIT_MS) {
    return new Promise((resolve, reject) => {
      this.request(op, d, timeoutMs, (res, mark) => resolve({ d: res, mark })).catch(reject);
    });
  }

  /** Raw JSON send, no reply tracking. */
  send(obj) {
    this.ws.send(JSON.stringify(obj));
  }

  /** Raw text (string) or bytes (Buffer, sent as a TEXT frame unless binary:true). */
  sendRaw(data, { binary = false } = {}) {
    this.ws.send(data, { binary });
  }

  /** Wait for the first event (any time so far, or later) matching pred. */
  waitFor(pred, timeoutMs = WAIT_MS, what = 'event') {
    return this.waitForCount(pred, 1, timeoutMs, what).then((l) => l[0]);
  }

  /** Wait until n events matching pred have arrived; resolves with all the matches. */
  waitForCount(pred, n, timeoutMs = WAIT_MS, what = 'events') {
    return new Promise((resolve, reject) => {
      const w = {
        check: () => {
          const m = this.events.filter(pred);
          if (m.length >= n) {
            done();
            resolve(m);
          } else if (this.closeInfo) {
            done();
            reject(new Error(`${this.label}: closed (${this.closeInfo.code}) while waiting for ${what}: ${m.length}/${n}`));
          }
        },
      };
      const timer = setTimeout(() => {
        done();
        const m = this.events.filter(pred);
        reject(new Error(`${this.label}: timeout waiting for ${what}: ${m.length}/${n} after ${timeoutMs} ms; last events: ${JSON.stringify(this.events.slice(-5)).slice(0, 1500)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(w);
      };
      this.waiters.add(w);
      w.check();
    });
  }

  /** Resolves with the matches that arrived within ms (a list; the caller asserts it is empty). */
  async collect(pred, ms) {
    await sleep(ms);
    return this.events.filter(pred);
  }

  identify(token) {
    return this.request('identify', { token });
  }

  close(code = 1000) {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code);
    return this.closed;
  }

  terminate() {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
  }
}

/**
 * Open a WebSocket and wait for hello. opts: {token (identify right away), origin, protocols, label}.
 * Rejects with Error{status} when the upgrade is refused.
 */
function connect(server, opts = {}) {
  const label = opts.label || `ws:${server.port}`;
  return new Promise((resolve, reject) => {
    const wsOpts = { handshakeTimeout: WAIT_MS, maxPayload: 64 * 1024 * 1024 };
    if (opts.origin) wsOpts.origin = opts.origin;
    if (opts.headers) wsOpts.headers = opts.headers;
    if (opts.autoPong === false) wsOpts.autoPong = false; // a peer that ignores pings
    const ws = new WebSocket(opts.wsUrl || server.wsUrl, opts.protocols || [], wsOpts);
    const c = new Client(ws, label);
    clients.add(c);
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`${label}: no hello within ${WAIT_MS} ms`)), WAIT_MS);
    const fail = (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      c.terminate();
      reject(e);
    };
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (b) => (body += b));
      res.on('end', () => {
        const e = new Error(`${label}: upgrade refused with HTTP ${res.statusCode}`);
        e.status = res.statusCode;
        e.body = body;
        fail(e);
      });
      res.on('error', () => {});
      req.on('error', () => {});
      setTimeout(() => req.destroy(), 2000).unref();
    });
    ws.on('error', (e) => fail(e));
    ws.on('close', (code) => fail(Object.assign(new Error(`${label}: closed (${code}) before hello`), { closeCode: code })));
    c._onHello = async () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (opts.token) {
        try {
          c.snapshot = await c.identify(opts.token);
        } catch (e) {
          reject(e);
          return;
        }
      }
      resolve(c);
    };
  });
}

/** Open a socket identified as user (from signup); its identify result is client.snapshot. */
async function connectAs(server, user, label) {
  return connect(server, { token: user.token, label: label || user.name });
}

/** owner (a Client) creates a group and adds each user (from signup) by email. -> GroupSnap */
async function makeGroup(owner, users = [], name = `g-${uid()}`) {
  const { group } = await owner.request('group.create', { name });
  for (const u of users) await owner.request('member.add', { group: group.id, email: u.email });
  return group;
}

/** message.send with a fresh cid -> the ack d. */
function say(client, room, body, cid = `c${uid()}`) {
  return client.request('message.send', { room, cid, body });
}

/** promise, or a rejection after ms (the timer is cleared either way). */
function withTimeout(promise, ms, what = 'operation') {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

/** Poll fn until it returns a truthy value. */
async function until(fn, timeoutMs = WAIT_MS, what = 'condition') {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timeout waiting for ${what}`);
    await sleep(50);
  }
}

/** Page a room's whole history through room.history (after=0 upwards). */
async function fullHistory(client, room) {
  const out = [];
  let after = 0;
  for (;;) {
    const r = await client.request('room.history', { room, after, limit: 100 });
    out.push(...r.events);
    if (!r.more || r.events.length === 0) break;
    after = r.events[r.events.length - 1].d.seq;
  }
  return out;
}

function sqlite3Path() {
  const r = spawnSync('sh', ['-c', 'command -v sqlite3'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

module.exports = {
  freePort,
  BIN,
  WEB_ROOT,
  WAIT_MS,
  REPO,
  schemas,
  schemaFailures,
  binaryMissing,
  startServer,
  rest,
  restRaw,
  signup,
  connect,
  connectAs,
  makeGroup,
  say,
  Client,
  sleep,
  uid,
  until,
  withTimeout,
  fullHistory,
  sqlite3Path,
};
