'use strict';
// Video calls on Twilio (issue 4), against a loopback stand-in that checks every request against
// Twilio's OpenAPI description of Video v1 and answers as Twilio documents. The access token is
// compared with the one the official `twilio` npm package builds.
const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const o = require('./lib/outbound');
const { TwilioStandin } = require('./lib/twilio-standin');

const skip = h.binaryMissing();
const T = { timeout: 120000 };
let tw;
let srv;

before(async () => {
  if (skip) return;
  tw = await TwilioStandin.start();
  srv = await o.startNatter({ twilio: tw, limits: { call_poll_s: 1, send_per_s: 1000, send_burst: 1000 } });
});

/** An owner and a member in a new group, both connected. -> {a, b, g, room} */
async function pair(tag = 'Call') {
  const a = await h.signup(srv, `${tag} Owner`);
  const b = await h.signup(srv, `${tag} Member`);
  a.c = await h.connectAs(srv, a, `${tag}A`);
  b.c = await h.connectAs(srv, b, `${tag}B`);
  const g = await h.makeGroup(a.c, [b], `${tag} ${h.uid()}`);
  await b.c.waitFor((e) => e.op === 'group.joined' && e.d.group.id === g.id);
  return { a, b, g, room: g.rooms[0].id };
}

const uniqueNameFor = (client, room) => `natter-${client.hello.d.epoch.slice(0, 8)}-${room}`;
const creates = () => tw.find((r) => r.op === 'CreateRoom');
const isStarted = (room) => (e) => e.op === 'call.started' && e.d.room === room;
const isEnded = (room) => (e) => e.op === 'call.ended' && e.d.room === room;

function assertJoin(j, { room, identity, name }) {
  assert.ok(j && j.call && typeof j.token === 'string', `call.join result: ${JSON.stringify(j)}`);
  assert.equal(j.call.room, room);
  assert.equal(j.call.name, name, 'the Twilio room name is natter-<epoch first 8>-<room>');
  assert.match(j.call.sid, /^RM[0-9a-fA-F]{32}$/);
  assert.equal(j.identity, identity);
}

test('call.join creates the Twilio room with POST /v1/Rooms (form-encoded, Basic auth, UniqueName from the room); members get call.started once', { skip, ...T }, async () => {
  const { a, b, room } = await pair('Create');
  const name = uniqueNameFor(a.c, room);
  const n0 = creates().length;
  const j = await a.c.request('call.join', { room });
  assertJoin(j, { room, identity: a.user.id, name });
  const mine = creates().slice(n0);
  assert.equal(mine.length, 1, `one POST /v1/Rooms: ${mine.map((r) => r.body).join(' | ')}`);
  const req = mine[0];
  assert.match(req.headers['content-type'], /^application\/x-www-form-urlencoded/);
  assert.match(req.headers.authorization, /^Basic /);
  assert.deepEqual(req.form, { UniqueName: name, Type: 'group' }, `form: ${req.body}`);
  assert.equal(req.status, 201);
  assert.equal(req.response.sid, j.call.sid, 'the sid Twilio answered');
  assert.deepEqual(req.errors, []);
  for (const c of [a.c, b.c]) {
    const ev = await c.waitFor(isStarted(room));
    assert.equal(ev.d.room, room);
    assert.equal(ev.d.seq, 1, 'call.started is the room log\'s next event');
    assert.match(ev.d.ts, o.RFC3339);
    assert.equal(ev.d.actor, a.user.id);
    assert.deepEqual(ev.d.call, { name, sid: j.call.sid });
  }
  // It is in the room's history, exactly as it was sent live.
  const hist = await b.c.request('room.history', { room });
  const logged = hist.events.filter((e) => e.op === 'call.started');
  assert.equal(logged.length, 1);
  assert.deepEqual(logged[0].d, a.c.events.find(isStarted(room)).d);
  for (const c of [a.c, b.c]) assert.equal((await c.collect(isStarted(room), 500)).length, 1, 'call.started exactly once');
  a.c.close();
  b.c.close();
});

test('a second member joining reuses the room in progress (no second Twilio room, no second call.started)', { skip, ...T }, async () => {
  const { a, b, room } = await pair('Reuse');
  const name = uniqueNameFor(a.c, room);
  const j1 = await a.c.request('call.join', { room });
  const n1 = tw.requests.length;
  const j2 = await b.c.request('call.join', { room });
  assertJoin(j2, { room, identity: b.user.id, name });
  assert.equal(j2.call.sid, j1.call.sid, 'the same Twilio room');
  const later = tw.requests.slice(n1);
  const posts = later.filter((r) => r.op === 'CreateRoom');
  for (const p of posts) {
    // Allowed: a POST that meets 53113 "Room exists", resolved by GET /v1/Rooms/<UniqueName>.
    assert.equal(p.status, 400, `a second POST must have hit "Room exists": ${p.status}`);
    assert.equal(p.response.code, 53113);
    assert.ok(later.some((r) => r.op === 'FetchRoom' && r.at >= p.at && r.status === 200), 'the conflict is resolved by a GET');
  }
  assert.equal([...tw.rooms.values()].filter((r) => r.unique_name === name).length, 1, 'one Twilio room for our room');
  // Joining twice is harmless too.
  const j3 = await a.c.request('call.join', { room });
  assert.equal(j3.call.sid, j1.call.sid);
  for (const c of [a.c, b.c]) {
    await c.waitFor(isStarted(room));
    assert.equal((await c.collect(isStarted(room), 1000)).length, 1, `${c.label}: one call.started`);
  }
  a.c.close();
  b.c.close();
});

test('a conflict with a room Twilio already has (53113) is resolved by GET /v1/Rooms/<UniqueName>', { skip, ...T }, async () => {
  const { a, b, room } = await pair('Exists');
  const name = uniqueNameFor(a.c, room);
  // Someone (a previous run, another node) already made the Twilio room.
  const auth = `Basic ${Buffer.from(`${tw.apiKey}:${tw.apiSecret}`).toString('base64')}`;
  const pre = await fetch(`${tw.baseUrl}/v1/Rooms`, {
    method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ UniqueName: name, Type: 'group' }).toString(),
  });
  assert.equal(pre.status, 201);
  const existing = await pre.json();
  const n0 = tw.requests.length;
  const j = await a.c.request('call.join', { room });
  assertJoin(j, { room, identity: a.user.id, name });
  assert.equal(j.call.sid, existing.sid, 'the existing room is reused');
  const seen = tw.requests.slice(n0).map((r) => `${r.method} ${r.path} ${r.status}`);
  assert.ok(seen.includes(`GET /v1/Rooms/${name} 200`) || seen.includes(`GET /v1/Rooms/${existing.sid} 200`), `requests: ${seen.join(', ')}`);
  await b.c.waitFor(isStarted(room));
  a.c.close();
  b.c.close();
});

test('the access token equals the one the official twilio package builds (header, claims, HS256 signature)', { skip, ...T }, async () => {
  const { a, b, room } = await pair('Token');
  const j = await a.c.request('call.join', { room });
  const t = o.decodeJwt(j.token);
  assert.deepEqual(t.header, { typ: 'JWT', alg: 'HS256', cty: 'twilio-fpa;v=1' });
  assert.ok(o.hs256Valid(j.token, tw.apiSecret), 'HS256 signature valid with the API secret');
  assert.ok(!o.hs256Valid(j.token, `${tw.apiSecret}x`), 'and not with another secret');
  const p = t.payload;
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Number.isInteger(p.iat) && Math.abs(p.iat - now) <= 5, `iat ${p.iat} vs now ${now}`);
  assert.equal(p.jti, `${tw.apiKey}-${p.iat}`);
  assert.equal(p.iss, tw.apiKey);
  assert.equal(p.sub, tw.accountSid);
  assert.equal(p.exp, p.iat + 3600);
  assert.deepEqual(p.grants, { identity: a.user.id, video: { room: j.call.name } });
  const ref = o.twilioReferenceToken({ accountSid: tw.accountSid, apiKey: tw.apiKey, apiSecret: tw.apiSecret,
    identity: a.user.id, room: j.call.name, iat: p.iat, ttl: 3600 });
  const r = o.decodeJwt(ref);
  assert.deepEqual(t.header, r.header, 'same header as twilio.jwt.AccessToken');
  assert.deepEqual(p, r.payload, 'same claims as twilio.jwt.AccessToken + VideoGrant');
  // The second member's token names them.
  const jb = await b.c.request('call.join', { room });
  const pb = o.decodeJwt(jb.token).payload;
  assert.deepEqual(pb.grants, { identity: b.user.id, video: { room: j.call.name } });
  assert.ok(o.hs256Valid(jb.token, tw.apiSecret));
  a.c.close();
  b.c.close();
});

test('call.leave by the last participant ends the call: call.ended (room-log event) to every member, once', { skip, ...T }, async () => {
  const { a, b, room } = await pair('Leave');
  const ja = await a.c.request('call.join', { room });
  await b.c.request('call.join', { room });
  const started = await b.c.waitFor(isStarted(room));
  assert.deepEqual(await a.c.request('call.leave', { room }), {});
  assert.equal((await b.c.collect(isEnded(room), 1000)).length, 0, 'not ended while someone is still in the call');
  assert.deepEqual(await b.c.request('call.leave', { room }), {});
  for (const c of [a.c, b.c]) {
    const ev = await c.waitFor(isEnded(room));
    assert.equal(ev.d.seq, started.d.seq + 1);
    assert.match(ev.d.ts, o.RFC3339);
    assert.equal(ev.d.actor, b.user.id);
    assert.deepEqual(ev.d.call, { sid: ja.call.sid });
    assert.equal((await c.collect(isEnded(room), 1500)).length, 1, 'call.ended exactly once (the poller must not announce it again)');
  }
  const hist = await a.c.request('room.history', { room });
  assert.deepEqual(hist.events.map((e) => e.op).filter((op) => op.startsWith('call.')), ['call.started', 'call.ended']);
  // A new call afterwards starts again.
  const again = await a.c.request('call.join', { room });
  assert.equal(again.call.room, room);
  const ev2 = await b.c.waitForCount(isStarted(room), 2);
  assert.ok(ev2[1].d.seq > started.d.seq + 1);
  a.c.close();
  b.c.close();
});

test('Twilio reports the room completed: the poller (call_poll_s=1) announces call.ended', { skip, ...T }, async () => {
  const { a, b, room } = await pair('Poll');
  const j = await a.c.request('call.join', { room });
  await b.c.waitFor(isStarted(room));
  tw.complete(j.call.sid);
  for (const c of [a.c, b.c]) {
    const ev = await c.waitFor(isEnded(room), 15000, 'call.ended after Twilio completed the room');
    assert.deepEqual(ev.d.call, { sid: j.call.sid });
  }
  const polls = tw.find((r) => r.op === 'FetchRoom' && (r.path === `/v1/Rooms/${j.call.sid}`));
  assert.ok(polls.length >= 1, 'the server polled GET /v1/Rooms/<sid>');
  assert.ok(polls.every((r) => r.status === 200 && r.errors.length === 0));
  assert.equal((await a.c.collect(isEnded(room), 2500)).length, 1, 'ended once; polling of that room stops');
  const pollsAfter = tw.find((r) => r.op === 'FetchRoom' && r.path === `/v1/Rooms/${j.call.sid}`).length;
  await h.sleep(2500);
  assert.ok(tw.find((r) => r.op === 'FetchRoom' && r.path === `/v1/Rooms/${j.call.sid}`).length <= pollsAfter + 1, 'no more polls for an ended call');
  // Joining again makes a new Twilio room (the old one is completed).
  const j2 = await b.c.request('call.join', { room });
  assert.notEqual(j2.call.sid, j.call.sid);
  const ev2 = await a.c.waitForCount(isStarted(room), 2);
  assert.equal(ev2[1].d.call.sid, j2.call.sid);
  a.c.close();
  b.c.close();
});

test('a Twilio answer whose sid is not Twilio\'s shape is refused: `unavailable`, no call.started, and the sid goes nowhere', { skip, ...T }, async () => {
  const { a, b, room } = await pair('Hostile');
  try {
    for (const bad of ['RM../../Accounts?x=1', `RM${'0'.repeat(31)}`, 'RM0123456789abcdef0123456789abcdef\r\nX: y', '']) {
      tw.hostileSid = bad;
      await o.wsError(a.c, 'call.join', { room }, 'unavailable');
    }
    assert.equal((await b.c.collect(isStarted(room), 500)).length, 0, 'no call.started from a bad answer');
    assert.ok(!tw.requests.some((r) => r.path.includes('..') || r.path.includes('Accounts')), 'the bad sid was never used in a URL');
  } finally {
    tw.hostileSid = null;
  }
  const j = await a.c.request('call.join', { room });
  assert.match(j.call.sid, /^RM[0-9a-f]{32}$/i);
  await b.c.waitFor(isStarted(room));
  await a.c.request('call.leave', { room });
  a.c.close();
  b.c.close();
});

test('Twilio answers 5xx: call.join gets `unavailable` (temporary), no call.started, and the server keeps serving', { skip, ...T }, async () => {
  const { a, b, room } = await pair('Down');
  try {
    for (const status of [500, 503]) {
      tw.fail = status;
      const n0 = tw.requests.length;
      const e = await o.wsError(a.c, 'call.join', { room }, 'unavailable');
      assert.equal(e.temporary, true);
      assert.ok(tw.requests.length > n0, 'the server did call Twilio');
      const r = await h.rest(srv, 'call.join', { room }, a.token);
      o.assertRestError(r, 503, 'unavailable', `REST call.join while Twilio answers ${status}`);
    }
    assert.equal((await b.c.collect(isStarted(room), 500)).length, 0, 'no call.started for a failed join');
    assert.equal((await a.c.request('ping', {})).op, 'pong');
    await h.say(a.c, room, 'still here');
    await b.c.waitFor((e) => e.op === 'message.created' && e.d.room === room);
  } finally {
    tw.fail = null;
  }
  const j = await a.c.request('call.join', { room });
  assert.match(j.call.sid, /^RM/);
  await b.c.waitFor(isStarted(room));
  a.c.close();
  b.c.close();
});

test('a slow Twilio does not stall the server: other requests are answered while call.join waits', { skip, ...T }, async () => {
  const { a, b, room } = await pair('Slow');
  tw.delayMs = 3000;
  try {
    const t0 = Date.now();
    const joining = a.c.request('call.join', { room }, 30000);
    await h.sleep(200);
    const p0 = Date.now();
    assert.equal((await b.c.request('ping', {})).op, 'pong');
    await h.say(b.c, room, 'not blocked');
    const rr = await h.rest(srv, 'group.list', {}, b.token);
    assert.equal(rr.status, 200);
    assert.ok(Date.now() - p0 < 2000, `other work waited ${Date.now() - p0} ms behind a slow Twilio call`);
    const j = await joining;
    assert.ok(Date.now() - t0 >= 2900, 'the join did wait for Twilio');
    assert.match(j.call.sid, /^RM/);
  } finally {
    tw.delayMs = 0;
  }
  a.c.close();
  b.c.close();
});

test('who may call: members only (group rooms and DMs); REST works too; bad ids are bad_request', { skip, ...T }, async () => {
  const { a, b, room, g } = await pair('Perm');
  const out = await h.signup(srv, 'Outsider');
  const oc = await h.connectAs(srv, out, 'Out');
  await o.wsError(oc, 'call.join', { room }, 'forbidden');
  o.assertRestError(await h.rest(srv, 'call.join', { room }, out.token), 403, 'forbidden', 'outsider over REST');
  o.assertRestError(await h.rest(srv, 'call.join', { room }), 401, 'unauthorized', 'no token');
  await o.wsError(a.c, 'call.join', { room: 'r_99999999' }, 'not_found');
  await o.wsError(a.c, 'call.join', { room: 'lobby' }, 'bad_request');
  await o.wsError(a.c, 'call.join', {}, 'bad_request');
  // Over REST.
  const r = await o.ok(srv, 'call.join', { room }, b.token);
  assertJoin(r, { room, identity: b.user.id, name: uniqueNameFor(a.c, room) });
  assert.ok(o.hs256Valid(r.token, tw.apiSecret));
  assert.deepEqual((await o.ok(srv, 'call.leave', { room }, b.token)), { ok: true });
  // A DM is a room too.
  const { dm } = await a.c.request('dm.open', { user: b.user.id });
  const jd = await a.c.request('call.join', { room: dm.id });
  assertJoin(jd, { room: dm.id, identity: a.user.id, name: uniqueNameFor(a.c, dm.id) });
  await b.c.waitFor(isStarted(dm.id));
  void g;
  for (const c of [a.c, b.c, oc]) c.close();
});

test('no Twilio configuration: `unavailable` "calls are not configured"; Twilio unreachable: `unavailable`', { skip, ...T }, async () => {
  const bare = await o.startNatter({});
  const u = await h.signup(bare, 'NoCalls');
  const c = await h.connectAs(bare, u, 'NoCalls');
  const g = await h.makeGroup(c, [], 'No calls');
  const e = await o.wsError(c, 'call.join', { room: g.rooms[0].id }, 'unavailable', /calls are not configured/);
  assert.equal(e.temporary, true);
  c.close();

  const port = await o.closedPort();
  const gone = await o.startNatter({ args: ['--twilio-base-url', `http://127.0.0.1:${port}`, '--twilio-account-sid', tw.accountSid,
    '--twilio-api-key', tw.apiKey, '--twilio-api-secret', tw.apiSecret] });
  const u2 = await h.signup(gone, 'Unreachable');
  const c2 = await h.connectAs(gone, u2, 'Unreachable');
  const g2 = await h.makeGroup(c2, [], 'Nobody home');
  const e2 = await o.wsError(c2, 'call.join', { room: g2.rooms[0].id }, 'unavailable');
  assert.equal(e2.temporary, true);
  assert.equal((await c2.request('ping', {})).op, 'pong');
  c2.close();
});

test('a plain-http Twilio base URL that is not loopback is refused (at start, or no call goes out)', { skip, ...T }, async () => {
  let s4;
  try {
    s4 = await o.startNatter({ args: ['--twilio-base-url', 'http://video.example.test', '--twilio-account-sid', tw.accountSid,
      '--twilio-api-key', tw.apiKey, '--twilio-api-secret', tw.apiSecret] });
  } catch (e) {
    assert.match(e.message, /exited/);
    return; // refused at start: fine
  }
  const u = await h.signup(s4, 'Plain');
  const c = await h.connectAs(s4, u, 'Plain');
  const g = await h.makeGroup(c, [], 'Plain http');
  await o.wsError(c, 'call.join', { room: g.rooms[0].id }, 'unavailable');
  c.close();
});

test('every request the Twilio stand-in saw was valid against the Video v1 OpenAPI description', { skip }, () => {
  assert.ok(tw.requests.length > 0);
  assert.deepEqual(tw.violations, []);
  const ops = new Set(tw.requests.filter((r) => r.status !== null).map((r) => r.op)); // (null: still in flight)
  for (const op of ops) assert.ok(['CreateRoom', 'FetchRoom', 'UpdateRoom', 'ListRoom'].includes(op), `unexpected operation ${op}`);
});

o.schemaCoverageTest(test, skip);
