'use strict';
// The protocol's machine-readable parts agree with each other and with proto/PROTOCOL.md:
// - every JSON Schema in proto/schema compiles (Ajv, draft 2020-12, strict) and index.json is complete;
// - every example in PROTOCOL.md tagged <!-- example: KIND [OP] --> validates, every op and event
//   has one, and no json block is left untagged;
// - the close-code table is DECISIONS.md's;
// - the bot walkthrough of PROTOCOL.md section 12 runs against a schema-checking mock server;
// - proto/openapi.yaml lints clean with @redocly/cli and its components match the JSON Schemas.
// It needs no Natter server.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const { spawn, spawnSync } = require('node:child_process');
const YAML = require('yaml');
const { WebSocketServer } = require('ws');
const S = require('./lib/schemas');

const ROOT = path.resolve(__dirname, '../..');
const PROTOCOL = fs.readFileSync(path.join(ROOT, 'proto/PROTOCOL.md'), 'utf8');
const BASE = 'https://natter.local/schema/';
const lineOf = (text, offset) => text.slice(0, offset).split('\n').length;

// ---------------------------------------------------------------- schemas

test('every schema compiles in Ajv 2020 (strict) and has the right $id', () => {
  assert.ok(S.files.length > 50, `only ${S.files.length} schema files`);
  for (const f of S.files) {
    const s = S.schemas[f];
    assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema', `${f}: $schema`);
    assert.equal(s.$id, BASE + f, `${f}: $id`);
    const v = S.ajv.getSchema(BASE + f);
    assert.equal(typeof v, 'function', `${f} did not compile`);
  }
});

test('index.json names existing files, and every schema file is reachable from it', () => {
  const used = new Set(Object.values(S.index.frames));
  for (const [op, e] of Object.entries(S.index.ops)) {
    assert.equal(e.request, `${op}.request.json`);
    used.add(e.request);
    assert.equal(typeof e.auth, 'boolean', `${op}.auth`);
    assert.equal(typeof e.ws, 'boolean', `${op}.ws`);
    assert.equal(typeof e.admin, 'boolean', `${op}.admin`);
    assert.ok(e.ws || e.rest, `${op} is reachable somehow`);
    assert.equal(e.admin, op.startsWith('admin.'), `${op}: admin exactly for the admin.* ops`);
    if (e.admin) assert.ok(e.rest && !e.ws && e.auth, `${op}: admin ops are REST only, with a token`);
    assert.ok(['ok', 'pong', 'none'].includes(e.reply), `${op}.reply`);
    if (e.reply === 'ok') {
      assert.equal(e.result, `${op}.result.json`);
      used.add(e.result);
    } else assert.equal(e.result, null, `${op} answers with ${e.reply}: no result file`);
    if (e.rest) assert.equal(e.reply, 'ok', `${op}: REST ops answer with a result`);
  }
  for (const [ev, f] of Object.entries(S.index.events)) {
    assert.equal(f, `${ev}.event.json`);
    used.add(f);
  }
  for (const f of used) assert.ok(S.files.includes(f), `index.json names ${f}, which does not exist`);
  for (const f of S.files) assert.ok(used.has(f), `${f} is not in index.json`);
  const noAuth = Object.entries(S.index.ops).filter(([, e]) => !e.auth).map(([op]) => op).sort();
  assert.deepEqual(noAuth, ['auth.login', 'auth.refresh', 'auth.reset.confirm', 'auth.reset.request', 'auth.signup',
    'identify', 'ping', 'resume']);
  const clientOps = S.schemas['envelope.client.json'].properties.op.enum;
  assert.deepEqual(clientOps, Object.keys(S.index.ops).filter((op) => S.index.ops[op].ws), 'the client envelope lists the WebSocket ops');
  for (const ev of S.index.room_log_events) assert.ok(S.index.events[ev], `room-log event ${ev} has a schema`);
  assert.deepEqual(S.schemas['defs.json'].$defs.LogEvent.properties.op.enum, S.index.room_log_events);
});

test('validators accept good values and explain bad ones', () => {
  const ts = '2026-11-23T12:00:00.000Z';
  assert.equal(S.validateRequest('message.send', { room: 'r_1', cid: 'a-1', body: 'hi', extra: 1 }), null,
    'unknown request fields are allowed');
  assert.match(S.validateRequest('message.send', { room: '1', cid: 'a b', body: '' }), /room.*cid.*body/s);
  assert.match(S.validateRequest('message.send', { room: 'r_1', cid: 'x', body: 'y'.repeat(4001) }), /body/);
  assert.match(S.validateRequest('room.history', { room: 'r_1', before: 2, after: 1 }), /mutually exclusive/);
  assert.match(S.validateRequest('profile.update', { name: 'a\u0007' }), /name/);
  assert.match(S.validateRequest('nope.nope', {}), /unknown op/);
  assert.equal(S.validateResult('message.send', { room: 'r_1', seq: 1, msg: 'm_1', ts, later: true }), null,
    'results may gain fields');
  assert.match(S.validateResult('message.send', { room: 'r_1', seq: 0, msg: 'm_1', ts: '2026-11-23T12:00:00Z' }), /seq.*ts/s);
  assert.match(S.validateResult('ping', {}), /pong/);
  assert.equal(S.validateOk, S.validateResult);
  assert.match(S.validateEvent('message.created', { room: 'r_1', seq: 1, ts, actor: 'u_1', msg: { id: 'm_1', cid: 'c', body: null } }),
    /deleted/);
  assert.match(S.validateServerFrame({ op: 'error', d: { code: 'rate_limited', message: 'x', temporary: true } }), /retry_after_ms/);
  assert.match(S.validateServerFrame({ op: 'error', d: { code: 'forbidden', message: 'x', temporary: true } }), /temporary/);
  assert.match(S.validateServerFrame({ op: 'typing', re: '1', d: { room: 'r_1', user: 'u_1' } }), /no re/);
  assert.match(S.validateServerFrame({ op: 'ok', re: '1', d: {} }, 'group.create'), /group/);
  assert.match(S.validateServerFrame({ op: 'what' }), /unknown op/);
  assert.match(S.validateClientFrame({ op: 'ping' }), /id/);
  assert.equal(S.validateClientFrame({ op: 'typing', d: { room: 'r_1' } }), null);
  assert.match(S.validateClientFrame({ op: 'message.send', id: '1' }), /d/);
  assert.equal(S.validateRest('group.delete', { ok: true }), null);
  assert.equal(S.validateRest('auth.login', { ok: false, error: { code: 'unauthorized', message: 'm', temporary: false } }), null);
  assert.match(S.validateRest('identify', { ok: true }), /not a REST op/);
  assert.equal(S.validateRest('no.such.op', { ok: false, error: { code: 'not_found', message: 'no such op', temporary: false } }), null,
    'the error envelope is valid on any path');
  assert.match(S.validateRest('no.such.op', { ok: true }), /unknown op/);
  assert.match(S.validateRest('group.delete', { error: {} }), /ok/);

  // Issue 4: invites, reset, calls, admin
  assert.match(S.validateRequest('invite.accept', {}), /invite|code/);
  assert.match(S.validateRequest('invite.accept', { invite: 'i_1', code: 'A'.repeat(43) }), /exactly one/);
  assert.equal(S.validateRequest('invite.accept', { code: 'A'.repeat(43) }), null);
  assert.match(S.validateRequest('auth.login', { email: 'a@b.c', password: 'password1', audience: 'root' }), /audience/);
  assert.match(S.validateRequest('auth.reset.confirm', { email: 'a@b.c', code: '1234', password: 'password1' }), /code/);
  assert.match(S.validateRequest('admin.users.list', { after: 'u_2' }), /after/);
  assert.match(S.validateRequest('admin.audit.list', { limit: 101 }), /limit/);
  assert.match(S.validateRequest('admin.invites.send', { group: 'g_1', emails: [] }), /emails/);
  assert.match(S.validateRequest('admin.bots.token.issue', { bot: 'u_5' }), /user/);
  assert.match(S.validateClientFrame({ op: 'admin.users.list', id: '1', d: {} }), /op/, 'admin ops are not WebSocket ops');
  assert.equal(S.validateClientFrame({ op: 'call.join', id: '1', d: { room: 'r_1' } }), null);
  const invite = {
    id: 'i_1', group: 'g_1', email: 'c@example.com', inviter: 'u_1', state: 'pending', created: ts, expires: ts,
    delivery: { status: 'queued', attempts: 0, last_error: null, message_id: '<invite.0a1b@localhost>' },
  };
  assert.equal(S.validateResult('invite.create', { invite }), null);
  assert.match(S.validateResult('invite.create', { invite: { ...invite, state: 'gone' } }), /state/);
  assert.match(S.validateResult('invite.create', { invite: { ...invite, delivery: { ...invite.delivery, last_error: undefined } } }), /last_error/);
  assert.equal(S.validateRest('admin.users.disable', { ok: true }), null);
  assert.match(S.validateRest('admin.audit.list', { ok: true, entries: [{ id: 'a_1', actor: 'u_1', action: 'admin.users.delete', target: null, detail: null, ts }] }), /id/);
  const call = { name: 'natter-9f2c4e1a-r_1', sid: `RM${'0'.repeat(32)}` };
  assert.equal(S.validateEvent('call.started', { room: 'r_1', seq: 1, ts, actor: 'u_1', call }), null);
  assert.match(S.validateEvent('call.started', { room: 'r_1', seq: 1, ts, actor: 'u_1', call: { sid: call.sid } }), /name/);
  assert.equal(S.validateEvent('call.ended', { room: 'r_1', seq: 2, ts, actor: 'u_0', call: { sid: call.sid } }), null);
  assert.equal(S.validateResult('room.history', { events: [{ op: 'call.ended', d: { room: 'r_1', seq: 2, ts, actor: 'u_1', call: {} } }], more: false })
    === null, false, 'history checks call events too');
  assert.deepEqual(S.splitFrame('{"op":"pong","re":"1"}\n{"op":"pong","re":"2"}\n'), [
    { op: 'pong', re: '1' }, { op: 'pong', re: '2' }]);
});

// ---------------------------------------------------------------- PROTOCOL.md examples

function extractExamples() {
  const examples = [];
  const re = /<!-- example: ([^>]*?) -->[ \t]*\n[ \t]*\n?```(json|jsonl)[ \t]*\n([\s\S]*?)\n```/g;
  for (const m of PROTOCOL.matchAll(re)) {
    const [kind, op, ...rest] = m[1].trim().split(/\s+/);
    examples.push({ kind, op, rest, lang: m[2], text: m[3], line: lineOf(PROTOCOL, m.index) });
  }
  return examples;
}
const EXAMPLES = extractExamples();

function checkExample(ex) {
  assert.equal(ex.rest.length, 0, `extra words in the tag: ${ex.rest.join(' ')}`);
  if (ex.kind === 'batch') {
    assert.equal(ex.lang, 'jsonl', 'a batch example is a jsonl block');
    const frames = S.splitFrame(ex.text);
    assert.ok(frames.length >= 2, 'a batch holds several frames');
    for (const f of frames) assert.equal(S.validateServerFrame(f), null);
    return;
  }
  assert.equal(ex.lang, 'json');
  const v = JSON.parse(ex.text);
  const needsOp = !['error', 'hello', 'pong'].includes(ex.kind);
  if (needsOp) assert.ok(ex.op, `kind ${ex.kind} needs an op`);
  else assert.equal(ex.op, undefined, `kind ${ex.kind} takes no op`);
  switch (ex.kind) {
    case 'request':
      assert.ok(S.index.ops[ex.op] && S.index.ops[ex.op].ws, `${ex.op} is not a WebSocket op: use rest-request`);
      assert.equal(v.op, ex.op, 'the frame\'s op is the tagged op');
      assert.equal(S.validateClientFrame(v), null);
      assert.equal(S.validateRequest(ex.op, v.d), null);
      break;
    case 'ok':
      assert.equal(v.op, 'ok');
      assert.equal(S.validateServerFrame(v, ex.op), null);
      break;
    case 'event':
      assert.equal(v.op, ex.op);
      assert.ok(S.index.events[ex.op], `${ex.op} is not an event`);
      assert.equal(S.validateServerFrame(v), null);
      break;
    case 'error': case 'hello': case 'pong':
      assert.equal(v.op, ex.kind);
      assert.equal(S.validateServerFrame(v), null);
      break;
    case 'rest-request':
      assert.ok(S.index.ops[ex.op] && S.index.ops[ex.op].rest, `${ex.op} is not a REST op`);
      assert.equal(S.validateRequest(ex.op, v), null);
      break;
    case 'rest-response':
      assert.equal(S.validateRest(ex.op, v), null);
      break;
    default:
      assert.fail(`unknown example kind ${ex.kind}`);
  }
}

test('PROTOCOL.md examples validate', async (t) => {
  assert.ok(EXAMPLES.length > 50, `only ${EXAMPLES.length} tagged examples found`);
  for (const ex of EXAMPLES) {
    await t.test(`line ${ex.line}: ${ex.kind}${ex.op ? ` ${ex.op}` : ''}`, () => checkExample(ex));
  }
});

test('PROTOCOL.md has no untagged json example', () => {
  const fences = [...PROTOCOL.matchAll(/^```(json|jsonl)[ \t]*$/gm)];
  assert.equal(fences.length, EXAMPLES.length,
    'every ```json / ```jsonl block must follow an <!-- example: ... --> comment');
  for (const m of fences) {
    const before = PROTOCOL.slice(0, m.index).trimEnd().split('\n').pop();
    assert.match(before, /^<!-- example: .* -->$/, `untagged json block at line ${lineOf(PROTOCOL, m.index)}`);
  }
});

test('PROTOCOL.md has an example request and answer for every op, and one of every event', () => {
  const have = new Set(EXAMPLES.map((e) => `${e.kind} ${e.op || ''}`.trim()));
  const restOk = new Set(EXAMPLES.filter((e) => e.kind === 'rest-response' && JSON.parse(e.text).ok === true).map((e) => e.op));
  const missing = [];
  for (const [op, e] of Object.entries(S.index.ops)) {
    if (e.ws) {
      if (!have.has(`request ${op}`)) missing.push(`request ${op}`);
      if (e.reply === 'ok' && !have.has(`ok ${op}`)) missing.push(`ok ${op}`);
    } else {
      // REST-only ops (the admin API): a REST body and a successful REST answer.
      if (!have.has(`rest-request ${op}`)) missing.push(`rest-request ${op}`);
      if (!restOk.has(op)) missing.push(`rest-response ${op} (ok:true)`);
    }
  }
  for (const ev of Object.keys(S.index.events)) if (!have.has(`event ${ev}`)) missing.push(`event ${ev}`);
  for (const k of ['hello', 'pong', 'error', 'batch']) if (!have.has(k)) missing.push(k);
  assert.deepEqual(missing, []);
  for (const ev of Object.keys(S.index.events)) assert.ok(PROTOCOL.includes(`#### ${ev}`), `no section for event ${ev}`);
  for (const op of Object.keys(S.index.ops)) assert.ok(PROTOCOL.includes(`#### ${op}`) || op === 'identify' || op === 'resume',
    `no section for op ${op}`);
});

test('PROTOCOL.md internal links point at headings', () => {
  // GitHub's anchors: lowercase, punctuation dropped (except - and _), spaces to hyphens, -1/-2 for repeats.
  const anchors = new Set();
  const seen = new Map();
  const body = PROTOCOL.replace(/^```[\s\S]*?^```/gm, '');
  for (const m of body.matchAll(/^#{1,6} (.*)$/gm)) {
    const slug = m[1].trim().toLowerCase().replace(/`/g, '').replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(slug) || 0;
    seen.set(slug, n + 1);
    anchors.add(n ? `${slug}-${n}` : slug);
  }
  const broken = [...body.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]).filter((a) => !anchors.has(a));
  assert.deepEqual([...new Set(broken)], []);
  for (const f of [...body.matchAll(/\]\(([^)#:]+)\)/g)].map((m) => m[1])) {
    assert.ok(fs.existsSync(path.join(ROOT, 'proto', f)), `link to ${f}, which does not exist`);
  }
});

// ---------------------------------------------------------------- close codes

function tableRows(text, heading) {
  const start = text.indexOf(heading);
  assert.ok(start >= 0, `no heading ${heading}`);
  const rows = [];
  for (const line of text.slice(start).split('\n').slice(1)) {
    if (line.startsWith('#')) break;
    const m = /^\|\s*(\d{4})\s*\|(.*)\|\s*$/.exec(line);
    if (m) rows.push([m[1], ...m[2].split('|').map((c) => c.trim())]);
  }
  return rows;
}

const DECISIONS = path.join(process.env.NATTER_SHARED || path.join(ROOT, '../shared'), 'DECISIONS.md');
test('the close-code table is exactly DECISIONS.md\'s, plus a reconnect column',
  { skip: !fs.existsSync(DECISIONS) && `${DECISIONS} not found` }, () => {
    const want = tableRows(fs.readFileSync(DECISIONS, 'utf8'), '## Close codes');
    const got = tableRows(PROTOCOL, '## 11. Close codes');
    assert.ok(want.length >= 15);
    assert.deepEqual(got.map((r) => r.slice(0, 3)), want.map((r) => r.slice(0, 3)));
    for (const r of got) assert.ok(r[3], `close code ${r[0]} has no reconnect answer`);
  });

// ---------------------------------------------------------------- the bot walkthrough

function botSource() {
  const start = PROTOCOL.indexOf('## 12. Writing a bot');
  const end = PROTOCOL.indexOf('## 13. ');
  const section = PROTOCOL.slice(start, end);
  return [...section.matchAll(/^```js\n([\s\S]*?)\n```/gm)].map((m) => m[1]).join('\n');
}

test('the bot of section 12 runs against a schema-checking mock server', { timeout: 30_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'natter-bot-'));
  const botFile = path.join(dir, 'rollbot.js');
  fs.writeFileSync(botFile, botSource());
  const check = spawnSync(process.execPath, ['--check', botFile], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);

  const TS = '2026-11-23T12:00:00.000Z';
  const log = [];
  const problems = [];
  let tokenN = 0;
  const tokens = () => ({
    access_token: `v4.public.dGVzdA${++tokenN}.eyJraWQiOiJrMSJ9`,
    refresh_token: 'R'.repeat(42) + (tokenN % 10),
    expires_at: new Date(Date.now() + 900_000).toISOString(),
    user: { id: 'u_3', name: 'rollbot', email: 'rollbot@example.com' },
  });
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const op = req.url.replace('/api/v1/', '');
      const err = S.validateRequest(op, JSON.parse(body || '{}'));
      if (err) problems.push(`REST ${err}`);
      log.push(`rest ${op}`);
      const answer = { ok: true, ...tokens() };
      if (S.validateRest(op, answer)) problems.push(S.validateRest(op, answer));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
  });
  const wss = new WebSocketServer({ server, path: '/v1/ws', handleProtocols: (p) => (p.has('natter.v1') ? 'natter.v1' : false) });
  const send = (ws, ...frames) => {
    for (const f of frames) {
      const err = S.validateServerFrame(f);
      if (err) problems.push(`mock sent a bad frame: ${err}`);
    }
    ws.send(frames.map((f) => JSON.stringify(f)).join('\n')); // batched when several
  };
  const hello = JSON.parse(EXAMPLES.find((e) => e.kind === 'hello').text);
  hello.d.heartbeat_ms = 150;
  const snap = {
    user: { id: 'u_3', name: 'rollbot', email: 'rollbot@example.com' },
    groups: [{ id: 'g_1', name: 'Friends', role: 'member', owner: 'u_1', rooms: [{ id: 'r_1', name: 'general', last_seq: 42, last_read: 0, unread: 0 }] }],
    dms: [{ id: 'r_7', peer: { id: 'u_2', name: 'Bob' }, last_seq: 3, last_read: 3, unread: 0, readonly: false }],
  };
  const created = (seq, body, actor = 'u_2') => ({
    op: 'message.created', d: { room: 'r_1', seq, ts: TS, actor, msg: { id: `m_${seq}`, cid: `c${seq}`, body } },
  });
  let conns = 0;
  wss.on('connection', (ws) => {
    const c = ++conns;
    log.push(`conn ${c} ${ws.protocol}`);
    send(ws, hello);
    let pings = 0;
    let authed = false;
    ws.on('message', (data) => {
      for (const f of S.splitFrame(data)) {
        const err = S.validateClientFrame(f);
        if (err) { problems.push(`bot sent a bad frame: ${err}`); continue; }
        if (f.op === 'ping') {
          send(ws, { op: 'pong', re: f.id });
          if (++pings === 2) log.push(`c${c} pinged`);
          if (c === 2 && pings === 3) ws.close(4003, 'session revoked');
          continue;
        }
        log.push(`c${c} ${f.op} ${JSON.stringify(f.d)}`);
        if (!authed && !['identify', 'resume'].includes(f.op)) problems.push(`c${c}: ${f.op} sent before the ok of identify/resume`);
        if (f.op === 'identify') {
          authed = true;
          send(ws, { op: 'ok', re: f.id, d: snap });
          // one batched frame: a command, a typing event, and the bot's own message
          send(ws, created(43, '/roll 2d6'), { op: 'typing', d: { room: 'r_1', user: 'u_2' } }, created(44, '/roll mine', 'u_3'));
        } else if (f.op === 'resume') {
          send(ws, created(45, '/roll'), created(44, '/roll again?'));
          const ok = { op: 'ok', re: f.id, d: { ...snap, rooms: { r_1: { recovered: true, last_seq: 45 }, r_7: { recovered: false, last_seq: 900 } } } };
          if (S.validateServerFrame(ok, 'resume')) problems.push(S.validateServerFrame(ok, 'resume'));
          authed = true;
          send(ws, ok);
        } else if (f.op === 'message.send') {
          // The first answer is never acknowledged: the server restarts. The bot must send it again,
          // with the same cid, after resuming.
          if (c === 1) { ws.close(1001, 'restart'); continue; }
          send(ws, { op: 'ok', re: f.id, d: { room: f.d.room, seq: 99, msg: 'm_99', ts: TS } });
        }
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const bot = spawn(process.execPath, [botFile], {
    env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules'), NATTER_URL: `http://127.0.0.1:${port}`,
      BOT_EMAIL: 'rollbot@example.com', BOT_PASSWORD: 'correct horse battery staple' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  bot.stdout.on('data', (d) => { output += d; });
  bot.stderr.on('data', (d) => { output += d; });
  const exitCode = await new Promise((resolve) => {
    const timer = setTimeout(() => { bot.kill(); resolve('timeout'); }, 20_000);
    bot.on('exit', (code) => { clearTimeout(timer); resolve(code); });
  });
  wss.close();
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const transcript = `${log.join('\n')}\n--- bot output:\n${output}`;
  assert.deepEqual(problems, [], transcript);
  assert.equal(exitCode, 1, `the bot must stop after 4003\n${transcript}`);
  const sends = log.filter((l) => l.includes('message.send'));
  assert.equal(sends.length, 3, `one answer per command (plus one resend), none to itself or to a duplicate\n${transcript}`);
  assert.match(sends[0], /^c1 message\.send .*"cid":"roll-r_1-43".*"body":"🎲 2d6: \d \+ \d = \d+"/, transcript);
  assert.equal(sends[1], sends[0].replace(/^c1/, 'c2'), `the unacknowledged answer is resent unchanged\n${transcript}`);
  assert.match(sends[2], /^c2 message\.send .*"cid":"roll-r_1-45".*"body":"🎲 1d6: \d"/, transcript);
  assert.ok(log.includes('rest auth.login'), transcript);
  assert.ok(log.includes('conn 1 natter.v1') && log.includes('conn 2 natter.v1'), transcript);
  assert.equal(conns, 2, `no reconnect after 4003\n${transcript}`);
  assert.ok(log.some((l) => /^c1 identify /.test(l)), transcript);
  assert.ok(log.includes('c2 resume {"token":"v4.public.dGVzdA1.eyJraWQiOiJrMSJ9","epoch":"9f2c4e1a7b3d5c60","rooms":{"r_1":44,"r_7":3}}'),
    `resume with the epoch and the last seq per room\n${transcript}`);
  assert.ok(log.includes('c2 pinged'), transcript);
});

// ---------------------------------------------------------------- OpenAPI

const OPENAPI = path.join(ROOT, 'proto/openapi.yaml');

test('openapi.yaml lints clean with @redocly/cli', { timeout: 120_000 }, () => {
  const bin = path.join(ROOT, 'node_modules/.bin/redocly');
  assert.ok(fs.existsSync(bin), `${bin} is missing: run npm ci`);
  const r = spawnSync(bin, ['lint', 'proto/openapi.yaml', '--config', 'redocly.yaml'], {
    cwd: ROOT, encoding: 'utf8', timeout: 110_000,
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
  });
  const out = `${r.stdout}\n${r.stderr}`;
  assert.equal(r.status, 0, out);
  assert.doesNotMatch(out, /You have \d+ warnings?/, out);
});

test('openapi.yaml describes every REST op with the JSON Schemas\' shapes', () => {
  const doc = YAML.parse(fs.readFileSync(OPENAPI, 'utf8'));
  assert.equal(doc.openapi, '3.1.0');
  assert.equal(doc.info.license.identifier, 'MIT');
  assert.deepEqual(doc.servers.map((s) => s.url), ['http://localhost:8080']);
  assert.equal(doc.components.securitySchemes.bearer.bearerFormat, 'PASETO');
  assert.equal(doc.components.securitySchemes.adminBearer.type, 'http');
  assert.match(doc.components.securitySchemes.adminBearer.description, /admin-audience/);

  const want = S.openapiComponents();
  for (const [name, schema] of Object.entries(want)) {
    assert.deepEqual(doc.components.schemas[name], schema,
      `components/schemas/${name} differs from proto/schema (regenerate it from openapiComponents())`);
  }

  const restOps = Object.entries(S.index.ops).filter(([, e]) => e.rest);
  const apiPaths = Object.keys(doc.paths).filter((p) => p.startsWith('/api/v1/')).sort();
  assert.deepEqual(apiPaths, restOps.map(([op]) => `/api/v1/${op}`).sort());
  assert.equal(restOps.length, 47);
  const opIds = new Set();
  for (const [op, e] of restOps) {
    const item = doc.paths[`/api/v1/${op}`];
    assert.deepEqual(Object.keys(item), ['post'], `${op}: POST only`);
    const o = item.post;
    assert.ok(o.operationId && !opIds.has(o.operationId), `${op}: unique operationId`);
    opIds.add(o.operationId);
    assert.ok(o.summary, `${op}: summary`);
    assert.ok(Array.isArray(o.tags) && o.tags.length === 1, `${op}: one tag`);
    assert.ok(doc.tags.some((t) => t.name === o.tags[0]), `${op}: tag ${o.tags[0]} is declared`);
    if (e.admin) {
      assert.deepEqual(o.security, [{ adminBearer: [] }], `${op} needs an admin-audience token`);
      assert.deepEqual(o.tags, ['admin'], `${op}: tag admin`);
      assert.equal(o.responses['403'].$ref, '#/components/responses/AdminForbidden');
    } else if (e.auth) assert.equal(o.security, undefined, `${op} uses the global bearer security`);
    else assert.deepEqual(o.security, [], `${op} needs no token`);
    assert.equal(o.requestBody.content['application/json'].schema.$ref, `#/components/schemas/${S.componentName(e.request)}`);
    const ok = o.responses['200'].content['application/json'].schema;
    assert.deepEqual(ok.allOf.map((s) => s.$ref), ['#/components/schemas/RestOk', `#/components/schemas/${S.componentName(e.result)}`]);
    for (const code of ['400', '401', '403', '404', '409', '413', '429', '500', '503']) {
      assert.ok(o.responses[code], `${op}: response ${code}`);
    }
  }
  for (const p of ['/healthz', '/readyz', '/metrics']) {
    assert.ok(doc.paths[p] && doc.paths[p].get, `GET ${p}`);
    assert.deepEqual(doc.paths[p].get.security, [], `${p} needs no token`);
  }
  assert.ok(doc.paths['/metrics'].get.responses['200'].content['text/plain']);
  for (const r of Object.values(doc.components.responses)) {
    assert.equal(r.content['application/json'].schema.$ref, '#/components/schemas/RestError');
    assert.equal(S.validateRest('auth.login', r.content['application/json'].example), null);
  }
});
