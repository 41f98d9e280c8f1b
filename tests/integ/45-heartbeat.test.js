'use strict';
// Heartbeats (PROTOCOL.md §3.5): the server pings a quiet socket every heartbeat_ms, keeps any
// socket that shows signs of life, and drops one silent for ~2.5 intervals without a close frame.
const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const skip = h.binaryMissing();
const HB = 300;
let srv;

before(async () => {
  if (skip) return;
  srv = await h.startServer({ limits: { heartbeat_ms: HB } });
});

async function identified(name, opts = {}) {
  const u = await h.signup(srv, name);
  return h.connect(srv, { token: u.token, label: name, ...opts });
}

test('a quiet socket that answers pings gets a ping each interval and stays open', { skip }, async () => {
  const c = await identified('Pinged');
  assert.equal(c.hello.d.heartbeat_ms, HB);
  let pings = 0;
  c.ws.on('ping', () => pings++);
  await h.sleep(HB * 6);
  assert.ok(pings >= 3, `only ${pings} pings in ${HB * 6} ms`);
  assert.ok(pings <= 7, `${pings} pings in ${HB * 6} ms: more than one per interval`);
  assert.equal(c.closeInfo, null);
  assert.equal((await c.request('ping', {})).op, 'pong');
});

test('a socket that never answers pings is dropped after about 2.5 intervals, without a close frame', { skip }, async () => {
  // t0 before identify: the server's silence clock starts when it reads the identify, so a slow
  // test process (the suite runs two at a time) cannot make the drop look early.
  const t0 = Date.now();
  const c = await identified('Deaf', { autoPong: false });
  const info = await h.withTimeout(c.closed, HB * 10, 'the server dropping a silent socket');
  const after = Date.now() - t0;
  assert.equal(info.code, 1006);
  assert.ok(after >= HB * 2, `dropped after ${after} ms, before 2 intervals of silence`);
});

test('app-level pings keep a socket alive even when it ignores WebSocket pings', { skip }, async () => {
  const c = await identified('Chatty', { autoPong: false });
  for (let i = 0; i < 10; i++) {
    await h.sleep(HB / 2);
    assert.equal((await c.request('ping', {})).op, 'pong');
  }
  assert.equal(c.closeInfo, null);
});
