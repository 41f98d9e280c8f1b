'use strict';
// Limits and hostile input: rate limits, frame and body caps, malformed frames, slow consumers.
const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const h = require('./lib/harness');

const skip = h.binaryMissing();
let srv;

before(async () => {
  if (skip) return;
  srv = await h.startServer({
    limits: { send_per_s: 2, send_burst: 3, max_frame: 4096, max_body: 100, max_http_body: 4096 },
  });
});

/** A fresh user with an identified socket and a group room of their own. */
async function solo(name = 'Lim') {
  const u = await h.signup(srv, name);
  const c = await h.connectAs(srv, u, name);
  const { group } = await c.request('group.create', { name: 'limits' });
  return { u, c, room: group.rooms[0].id };
}

async function stillAlive(c) {
  const p = await c.request('ping', {});
  assert.equal(p.op, 'pong');
  assert.equal(c.closeInfo, null);
}

test('send rate: the 4th quick send is rate_limited with retry_after_ms; the connection stays', { skip }, async () => {
  const { c, room } = await solo('Rate');
  assert.equal(c.hello.d.limits.send_per_s, 2);
  assert.equal(c.hello.d.limits.send_burst, 3);
  const results = await Promise.allSettled([0, 1, 2, 3].map((i) => h.say(c, room, `quick ${i}`, `q${i}`)));
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
  const err = results[3].reason;
  assert.equal(err.code, 'rate_limited');
  assert.equal(err.d.temporary, true);
  assert.equal(typeof err.d.retry_after_ms, 'number');
  assert.ok(err.d.retry_after_ms > 0 && err.d.retry_after_ms <= 1000, `retry_after_ms ${err.d.retry_after_ms}`);
  await stillAlive(c);
  // After waiting as told, the same message goes through (same cid: no duplicate).
  await h.sleep(err.d.retry_after_ms + 50);
  const ok = await h.say(c, room, 'quick 3', 'q3');
  assert.equal(ok.seq, 4);
  // The limit is per user, across sockets and REST.
  const results2 = await Promise.allSettled([0, 1, 2, 3, 4, 5].map((i) => h.say(c, room, `again ${i}`)));
  assert.ok(results2.some((r) => r.status === 'rejected' && r.reason.code === 'rate_limited'));
  c.close();
});

test('20 rate-limited sends in a row close the socket with 4008 (one at a time)', { skip }, async () => {
  const { c, room } = await solo('Abuser');
  const codes = [];
  for (let i = 0; i < 30 && !c.closeInfo; i++) {
    try {
      await h.say(c, room, `spam ${i}`);
      codes.push('ok');
    } catch (e) {
      codes.push(e.code);
    }
  }
  assert.equal((await c.closed).code, 4008);
  assert.deepEqual(codes.slice(0, 3), ['ok', 'ok', 'ok']);
  assert.ok(codes.filter((x) => x === 'rate_limited').length >= 19, `the rate_limited errors came first: ${codes}`);
});

test('20 rate-limited sends in a burst: the error frames, then close 4008', { skip }, async () => {
  // The same abuse written in one go: the server must still deliver its error frames and the
  // close frame (a hard reset while the client's frames are unread would lose both: 1006).
  const { c, room } = await solo('Burster');
  const sends = [];
  for (let i = 0; i < 30; i++) sends.push(h.say(c, room, `spam ${i}`).catch((e) => e));
  const res = await Promise.all(sends);
  assert.equal((await c.closed).code, 4008);
  assert.ok(res.filter((r) => r.code === 'rate_limited').length >= 19, 'the rate_limited errors came first');
});

test('a frame over max_frame closes 1009', { skip }, async () => {
  const { c } = await solo('Big');
  assert.equal(c.hello.d.limits.max_frame, 4096);
  // A frame just under the cap is fine (an error about the body, not a close).
  const under = JSON.stringify({ op: 'ping', id: 'u', d: { pad: 'x'.repeat(3000) } });
  c.sendRaw(under);
  await c.waitFor((e) => e.re === 'u');
  c.sendRaw(JSON.stringify({ op: 'ping', id: 'big', d: { pad: 'x'.repeat(5000) } }));
  assert.equal((await c.closed).code, 1009);
});

test('a fragmented message over max_frame closes 1009 too', { skip }, async () => {
  const { c } = await solo('Frag');
  const part = 'x'.repeat(1500);
  c.ws.send(`{"op":"ping","id":"f","d":{"pad":"${part}`, { fin: false });
  c.ws.send(part, { fin: false });
  c.ws.send(part, { fin: false });
  c.ws.send(`${part}"}}`, { fin: true });
  assert.equal((await c.closed).code, 1009);
});

test('a fragmented message under max_frame is reassembled', { skip }, async () => {
  const { c } = await solo('Frag2');
  c.ws.send('{"op":"ping",', { fin: false });
  c.ws.send('"id":"frag"', { fin: false });
  c.ws.send('}', { fin: true });
  const p = await c.waitFor((e) => e.op === 'pong' && e.re === 'frag');
  assert.deepEqual(p, { op: 'pong', re: 'frag' });
  c.close();
});

test('a body over max_body gets too_large; the connection stays', { skip }, async () => {
  const { c, room } = await solo('Body');
  await assert.rejects(h.say(c, room, 'x'.repeat(101)), (e) => {
    assert.equal(e.code, 'too_large');
    assert.equal(e.d.temporary, false);
    return true;
  });
  await stillAlive(c);
  const ok = await h.say(c, room, 'é'.repeat(100)); // 100 code points, 200 bytes: fine
  assert.equal(ok.seq, 1);
  c.close();
});

// Each case on a fresh socket: [name, raw frame, expect re (or null), accepted codes].
const MALFORMED = [
  ['garbage JSON', '{"op": "ping", "id": "g1"', null, ['bad_request']],
  ['not JSON at all', 'hello there', null, ['bad_request']],
  ['a JSON array', '[{"op":"ping","id":"a1"}]', null, ['bad_request']],
  ['a JSON string', '"ping"', null, ['bad_request']],
  ['unknown op', '{"op":"no.such.op","id":"u1","d":{}}', 'u1', ['bad_request', 'not_found']],
  ['missing op', '{"id":"m0","d":{}}', 'm0', ['bad_request']],
  ['wrong type for a field', '{"op":"message.send","id":"w1","d":{"room":5,"cid":"x","body":"y"}}', 'w1', ['bad_request']],
  ['d is not an object', '{"op":"group.list","id":"w2","d":"x"}', 'w2', ['bad_request']],
  ['an id of the wrong shape', '{"op":"message.send","id":"w3","d":{"room":"room5","cid":"x","body":"y"}}', 'w3', ['bad_request']],
  ['an over-long name', `{"op":"group.create","id":"l1","d":{"name":"${'n'.repeat(65)}"}}`, 'l1', ['bad_request']],
  ['an over-long cid', `{"op":"message.send","id":"l2","d":{"room":"r_1","cid":"${'c'.repeat(65)}","body":"y"}}`, 'l2', ['bad_request']],
  ['a missing id', '{"op":"group.list","d":{}}', null, ['bad_request']],
  ['a numeric id', '{"op":"group.list","id":7,"d":{}}', null, ['bad_request']],
  ['an empty id', '{"op":"group.list","id":"","d":{}}', null, ['bad_request']],
  ['deeply nested JSON', `{"op":"ping","id":"n1","d":${'['.repeat(1500)}${']'.repeat(1500)}}`, null, ['bad_request']],
];

for (const [name, raw, re, codes] of MALFORMED) {
  test(`malformed: ${name} -> error frame${re ? ` with re ${re}` : ' without re'}; the connection survives`, { skip }, async () => {
    const { c } = await solo('Mal');
    c.sendRaw(raw);
    const err = await c.waitFor((e) => e.op === 'error');
    assert.ok(codes.includes(err.d.code), `code ${err.d.code}`);
    assert.equal(err.d.temporary, false);
    assert.equal(typeof err.d.message, 'string');
    if (re) assert.equal(err.re, re);
    else if (name !== 'deeply nested JSON') assert.equal(err.re, undefined, 'no re when the id cannot be read');
    await stillAlive(c);
    c.close();
  });
}

test('more than malformed_burst malformed frames in a row close 4000 (one at a time)', { skip }, async () => {
  const { c } = await solo('Garbage');
  const burst = c.hello.d.limits.malformed_burst;
  for (let i = 0; i < burst + 10 && !c.closeInfo; i++) {
    c.sendRaw(`garbage ${i}`);
    await c.waitForCount((e) => e.op === 'error', i + 1, 2000).catch(() => {});
  }
  assert.equal((await c.closed).code, 4000);
  assert.equal(c.events.filter((e) => e.op === 'error').length, burst, 'an error frame for each, up to the burst');
});

test('more than malformed_burst malformed frames in a burst: error frames, then close 4000', { skip }, async () => {
  const { c } = await solo('Garbage2');
  const burst = c.hello.d.limits.malformed_burst;
  for (let i = 0; i < burst + 10; i++) c.sendRaw(`garbage ${i}`);
  assert.equal((await c.closed).code, 4000);
  const errors = c.events.filter((e) => e.op === 'error');
  assert.ok(errors.length >= burst, `${errors.length} error frames before the close (burst ${burst})`);
});

test('an invalid UTF-8 text frame closes 1007', { skip }, async () => {
  const { c } = await solo('Utf');
  c.sendRaw(Buffer.from([0x7b, 0x22, 0x6f, 0x70, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])); // {"op":"\xff\xfe"}
  assert.equal((await c.closed).code, 1007);
});

async function restUser(name) {
  const u = await h.signup(srv, name);
  return { u, auth: { authorization: `Bearer ${u.token}`, 'content-type': 'application/json' } };
}

test('REST: a body over max_http_body gets 413 JSON', { skip }, async () => {
  const { auth } = await restUser('Rest413');
  const big = JSON.stringify({ name: 'x'.repeat(5000) });
  const r = await h.restRaw(srv, 'group.create', big, auth);
  assert.equal(r.status, 413);
  assert.equal(r.body.ok, false);
  assert.equal(r.body.error.code, 'too_large');
  assert.equal(h.schemas ? h.schemas.validateRest('group.create', r.body) : null, null);
});

test('REST: an unknown op is 404 not_found JSON', { skip }, async () => {
  const { u } = await restUser('Rest404');
  const nf = await h.rest(srv, 'no.such.op', {}, u.token, { validate: false });
  assert.equal(nf.status, 404);
  assert.equal(nf.body.ok, false);
  assert.equal(nf.body.error.code, 'not_found');
  const anon = await h.rest(srv, 'no.such.op', {}, undefined, { validate: false });
  assert.equal(anon.status, 404, 'unknown op is 404 with or without a token');
});

test('REST: a GET on /api/v1/<op> is 405 bad_request JSON', { skip }, async () => {
  const { auth } = await restUser('Rest405');
  const get = await h.restRaw(srv, 'group.list', undefined, auth, 'GET');
  assert.equal(get.status, 405, JSON.stringify(get.body));
  assert.equal(get.body.ok, false);
  assert.equal(get.body.error.code, 'bad_request');
});

test('REST: bad JSON and non-objects are 400; an empty body is fine for ops without fields', { skip }, async () => {
  const { u, auth } = await restUser('Rest400');
  const bad = await h.restRaw(srv, 'group.create', '{"name":', auth);
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'bad_request');
  const arr = await h.restRaw(srv, 'group.create', '[1]', auth);
  assert.equal(arr.status, 400);
  assert.equal(arr.body.error.code, 'bad_request');
  const wrongType = await h.rest(srv, 'group.create', { name: 7 }, u.token);
  assert.equal(wrongType.status, 400);
  const empty = await h.restRaw(srv, 'group.list', '', { authorization: `Bearer ${u.token}` });
  assert.equal(empty.status, 200, JSON.stringify(empty.body));
  assert.equal(empty.body.ok, true);
});

test('REST: sends are rate limited too (429, rate_limited, retry_after_ms)', { skip }, async () => {
  const { u } = await restUser('Rest429');
  const g = await h.rest(srv, 'group.create', { name: 'rest' }, u.token);
  const room = g.body.group.rooms[0].id;
  const res = await Promise.all([0, 1, 2, 3, 4].map((i) => h.rest(srv, 'message.send', { room, cid: `rest${i}`, body: 'x' }, u.token)));
  const limited = res.filter((x) => x.status === 429);
  assert.ok(limited.length >= 1, `statuses ${res.map((x) => x.status)}`);
  assert.equal(limited[0].body.error.code, 'rate_limited');
  assert.equal(typeof limited[0].body.error.retry_after_ms, 'number');
  assert.equal(limited[0].body.error.temporary, true);
});

test('login brute force is throttled (login_burst)', { skip }, async () => {
  const s = await h.startServer({ limits: { login_burst: 3, login_per_h: 10 } });
  const u = await h.signup(s, 'Brute');
  const statuses = [];
  for (let i = 0; i < 6; i++) {
    const r = await h.rest(s, 'auth.login', { email: u.email, password: `wrong password ${i}` });
    statuses.push(r.status);
    if (r.status === 429) {
      assert.equal(r.body.error.code, 'rate_limited');
      assert.equal(typeof r.body.error.retry_after_ms, 'number');
    }
  }
  assert.deepEqual(statuses.slice(0, 3), [401, 401, 401]);
  assert.ok(statuses.slice(3).every((x) => x === 429), `statuses ${statuses}`);
  // Even the right password is refused while throttled.
  const right = await h.rest(s, 'auth.login', { email: u.email, password: u.password });
  assert.equal(right.status, 429);
  await s.stop();
});

// --- slow consumer -------------------------------------------------------------------------------

/** Kernel queues {tx, rx} of the TCP socket with local port lp and remote port rp (IPv4 or IPv6). */
function tcpQueues(lp, rp) {
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 5) continue;
      const port = (addr) => parseInt(addr.slice(addr.lastIndexOf(':') + 1), 16);
      if (port(f[1]) === lp && port(f[2]) === rp) {
        const [tx, rx] = f[4].split(':').map((x) => parseInt(x, 16));
        return { tx, rx };
      }
    }
  }
  return null;
}

test('queue_hard bounds what waits behind a frame: one reply bigger than it, to an idle socket, goes out whole', { skip }, async () => {
  const s = await h.startServer({ limits: { queue_hard: 4096, queue_soft: 2048 } });
  const u = await h.signup(s, 'Joiner');
  const c = await h.connectAs(s, u);
  for (let i = 0; i < 30; i++) await c.request('group.create', { name: `a group with a longish name ${i}` });
  c.close();
  // The identify snapshot of 30 groups is over 4 KiB: it is sent, not taken for a slow reader.
  const again = await h.connectAs(s, u, 'joiner-again');
  assert.equal(again.snapshot.groups.length, 30);
  assert.ok(JSON.stringify(again.snapshot).length > 4096);
  await stillAlive(again);
  again.close();
  await s.stop();
});

test('a slow consumer is closed with 4009 and the others get every message', { skip }, async () => {
  const s = await h.startServer({
    limits: { queue_hard: 65536, queue_soft: 32768, max_body: 20000, send_per_s: 100000, send_burst: 100000 },
  });
  const flooder = await h.signup(s, 'Flood');
  const slowU = await h.signup(s, 'Slow');
  const normalU = await h.signup(s, 'Normal');
  const cf = await h.connectAs(s, flooder, 'flooder');
  const slow = await h.connectAs(s, slowU, 'slow');
  const normal = await h.connectAs(s, normalU, 'normal');
  const g = await h.makeGroup(cf, [slowU, normalU]);
  const room = g.rooms[0].id;
  await slow.waitFor((e) => e.op === 'group.joined');
  await normal.waitFor((e) => e.op === 'group.joined');

  // The slow reader stops reading.
  const sock = slow.ws._socket;
  sock.pause();
  const lp = sock.localPort;
  const body = 'x'.repeat(19000);
  const acks = [];
  let prev = -1;
  let flat = 0;
  // Flood one message at a time (the normal readers keep up) until the server's kernel send
  // queue towards the stopped reader no longer grows: from then on the server's own queue grows
  // and passes queue_hard (64 KiB) within a few messages.
  for (let i = 0; i < 3000; i++) {
    acks.push(await cf.request('message.send', { room, cid: `flood-${i}`, body }));
    if (i % 5 === 4) {
      const q = tcpQueues(s.port, lp);
      if (q === null) {
        if (i >= 600) break; // no /proc view of the socket: a fixed amount, well over the kernel buffers
        continue;
      }
      flat = q.tx <= prev ? flat + 1 : 0;
      prev = Math.max(prev, q.tx);
      if (flat >= 3) break;
    }
  }
  // Now read again, slowly enough to be a slow reader, fast enough to get the close frame.
  sock.resume();
  const closed = await h.withTimeout(slow.closed, h.WAIT_MS * 2, 'the slow reader to be closed');
  assert.equal(closed.code, 4009, `slow reader closed with ${closed.code}`);

  // The others are unharmed and got everything.
  const n = acks.length;
  const evs = await normal.waitForCount((e) => e.op === 'message.created' && e.d.room === room, n, h.WAIT_MS * 3);
  assert.deepEqual(evs.map((e) => e.d.seq), acks.map((a) => a.seq));
  assert.equal(normal.closeInfo, null);
  assert.equal(cf.closeInfo, null);
  await stillAlive(normal);

  // Nothing is lost for the slow one either: it resumes from what it got.
  const got = slow.events.filter((e) => e.op === 'message.created' && e.d.room === room).map((e) => e.d.seq);
  const last = got.length ? got[got.length - 1] : 0;
  assert.deepEqual(got, Array.from({ length: got.length }, (_, i) => i + 1), 'no gap in what it received');
  const again = await h.connectAs(s, slowU, 'slow-again');
  const snap = again.snapshot.groups.find((x) => x.id === g.id).rooms.find((r) => r.id === room);
  assert.equal(snap.last_seq, acks[n - 1].seq, 'it can reconnect and page from its last seq');
  assert.ok(last < snap.last_seq, 'it was cut off before the end');
  for (const c of [cf, normal, again]) c.close();
  await s.stop();
});
