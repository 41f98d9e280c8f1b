'use strict';
// Operations: health, metrics, static files, graceful shutdown, data surviving a restart.
const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/harness');

const skip = h.binaryMissing();
let srv;

before(async () => {
  if (skip) return;
  srv = await h.startServer();
});

test('GET /healthz is 200 {"ok":true}; /readyz is 200', { skip }, async () => {
  const r = await fetch(`${srv.url}/healthz`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') || '', /application\/json/);
  assert.deepEqual(await r.json(), { ok: true });
  const ready = await fetch(`${srv.url}/readyz`);
  assert.equal(ready.status, 200);
});

test('/metrics is Prometheus text with natter_ metrics that move', { skip }, async () => {
  const a = await h.signup(srv, 'Met');
  const c = await h.connectAs(srv, a);
  const { group } = await c.request('group.create', { name: 'metrics' });
  await h.say(c, group.rooms[0].id, 'count me');
  const r = await fetch(`${srv.url}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') || '', /^text\/plain/);
  const text = await r.text();
  const samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) {
      if (line.startsWith('# TYPE')) assert.match(line, /^# TYPE natter_\w+ (counter|gauge|histogram|summary|untyped)$/, line);
      continue;
    }
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)( \d+)?$/);
    assert.ok(m, `not a Prometheus sample line: ${line}`);
    samples.set(m[1] + (m[2] || ''), Number(m[3]));
  }
  const names = [...samples.keys()];
  assert.ok(names.length > 0);
  assert.ok(names.every((n) => n.startsWith('natter_')), `non-natter metrics: ${names.filter((n) => !n.startsWith('natter_'))}`);
  const find = (re) => names.filter((n) => re.test(n));
  for (const re of [/connections/, /deliver/, /ack/]) assert.ok(find(re).length > 0, `no metric matching ${re}: ${names.join(', ')}`);
  // This socket is open and a message was acked: the numbers say so.
  assert.ok(find(/connections/).some((n) => samples.get(n) >= 1), 'open connections >= 1');
  assert.ok(find(/ack/).some((n) => samples.get(n) >= 1), 'acks >= 1');
  c.close();
});

test('GET / serves the web client\'s index.html', { skip }, async (t) => {
  const index = path.join(h.WEB_ROOT, 'index.html');
  if (!fs.existsSync(index)) {
    t.skip(`no ${index} yet`);
    return;
  }
  const r = await fetch(`${srv.url}/`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') || '', /text\/html/);
  assert.equal(await r.text(), fs.readFileSync(index, 'utf8'));
  const missing = await fetch(`${srv.url}/no-such-file-${h.uid()}.js`);
  assert.equal(missing.status, 404);
  // No escape from the web root.
  const esc = await fetch(`${srv.url}/..%2f..%2f..%2fetc%2fpasswd`);
  assert.notEqual(esc.status, 200);
});

test('SIGTERM: clients get close 1001, the process exits 0, and the data survives a restart', { skip }, async () => {
  const s = await h.startServer({ limits: { send_per_s: 1000, send_burst: 1000 } });
  const a = await h.signup(s, 'Per');
  const b = await h.signup(s, 'Sis');
  const ca = await h.connectAs(s, a);
  const cb = await h.connectAs(s, b);
  const g = await h.makeGroup(ca, [b], 'Durable');
  const room = g.rooms[0].id;
  const acks = [];
  for (let i = 0; i < 30; i++) acks.push(await h.say(i % 2 ? cb : ca, room, `persist ${i}`, `p${i}`));
  const ed = await ca.request('message.edit', { room, msg: acks[0].msg, body: 'persist 0 edited' });
  const histBefore = await h.fullHistory(ca, room);
  const epoch = ca.hello.d.epoch;

  const code = await s.stop('SIGTERM');
  assert.equal((await ca.closed).code, 1001);
  assert.equal((await cb.closed).code, 1001);
  assert.equal(code, 0, `exit code; stderr tail:\n${s.stderr().slice(-3000)}`);

  await s.restart();
  const login = await h.rest(s, 'auth.login', { email: a.email, password: a.password });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  // The old access token still verifies (the signing key is in the data dir).
  const c2 = await h.connectAs(s, a, 'per-again');
  assert.equal(c2.hello.d.epoch, epoch, 'the epoch belongs to the database and survives a restart');
  const snap = c2.snapshot.groups.find((x) => x.id === g.id);
  assert.equal(snap.name, 'Durable');
  assert.equal(snap.rooms[0].last_seq, ed.seq);
  const histAfter = await h.fullHistory(c2, room);
  assert.deepEqual(histAfter, histBefore);
  // Sending continues the seq, and the same cid is still recognised.
  const dup = await h.say(c2, room, 'persist 0', 'p0');
  assert.deepEqual(dup, acks[0]);
  const next = await h.say(c2, room, 'after restart');
  assert.equal(next.seq, ed.seq + 1);
  // Resume across the restart works (same epoch).
  const r = await h.connect(s);
  const { d: ok } = await r.requestMarked('resume', { token: b.token, epoch, rooms: { [room]: ed.seq } });
  assert.deepEqual(ok.rooms[room], { recovered: true, last_seq: next.seq });
  c2.close();
  r.close();
  await s.stop();
});

test('SIGTERM with 400 sockets mid-traffic: exit 0, and every acked message is there after a restart', { skip }, async () => {
  const s = await h.startServer({
    limits: { send_per_s: 100000, send_burst: 100000, conns_per_user: 1000, identify_per_s: 10000, identify_burst: 10000 },
  });
  const users = [];
  for (let i = 0; i < 20; i++) users.push(await h.signup(s, `load${i}`));
  const owner = await h.connectAs(s, users[0]);
  const g = await h.makeGroup(owner, users.slice(1), 'Busy');
  const room = g.rooms[0].id;
  const mine = users.map((u, i) => (i === 0 ? [owner] : []));
  for (const [i, u] of users.entries()) while (mine[i].length < 20) mine[i].push(await h.connectAs(s, u, `${u.name}-${mine[i].length}`));
  const socks = mine.flat();
  assert.equal(socks.length, 400);

  // One sender per user, 4 sends in flight each, until its socket closes.
  const acked = [];
  const senders = mine.map((cs, i) => (async () => {
    for (let n = 0, open = true; open; n += 4) {
      const batch = [0, 1, 2, 3].map((k) => h.say(cs[0], room, `m ${i}.${n + k}`, `u${i}-${n + k}`).then((a) => acked.push(a), () => (open = false)));
      await Promise.all(batch);
    }
  })());
  await h.until(() => acked.length >= 400, 20000, '400 acks');
  const code = await s.stop('SIGTERM');
  await Promise.all(senders);
  assert.equal(code, 0, `exit code; stderr tail:\n${s.stderr().slice(-3000)}`);
  const closes = await Promise.all(socks.map((c) => c.closed));
  assert.ok(closes.every((c) => c.code === 1001), `close codes: ${[...new Set(closes.map((c) => c.code))]}`);

  await s.restart();
  const c = await h.connectAs(s, users[0], 'after');
  const log = await h.fullHistory(c, room);
  const have = new Map(log.filter((e) => e.op === 'message.created').map((e) => [e.d.seq, e.d.msg.id]));
  const lost = acked.filter((a) => have.get(a.seq) !== a.msg);
  assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acked messages lost`);
  assert.deepEqual(log.map((e) => e.d.seq), log.map((_, i) => i + 1), 'the room log has no gaps');
  c.close();
  await s.stop();
});

test('--help and --version', { skip }, async () => {
  const { spawnSync } = require('node:child_process');
  const v = spawnSync(h.BIN, ['--version'], { encoding: 'utf8' });
  assert.equal(v.status, 0);
  assert.match(v.stdout + v.stderr, /0\.1\.0/);
  const help = spawnSync(h.BIN, ['--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  for (const flag of ['--listen', '--data-dir', '--web-root', '--public-url', '--allowed-origins', '--log-level', '--password-cost', '--limit']) {
    assert.ok((help.stdout + help.stderr).includes(flag), `--help mentions ${flag}`);
  }
});
