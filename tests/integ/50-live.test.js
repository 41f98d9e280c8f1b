'use strict';
// Ephemeral and read-state features: typing, presence, unread counts, room.read, ping.
const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const skip = h.binaryMissing();
let srv;

before(async () => {
  if (skip) return;
  srv = await h.startServer({ limits: { send_per_s: 1000, send_burst: 1000 } });
});

async function trio() {
  const a = await h.signup(srv, 'Tia');
  const b = await h.signup(srv, 'Tob');
  const o = await h.signup(srv, 'Out');
  const ca = await h.connectAs(srv, a, 'tia');
  const cb = await h.connectAs(srv, b, 'tob');
  const co = await h.connectAs(srv, o, 'out');
  const g = await h.makeGroup(ca, [b]);
  await cb.waitFor((e) => e.op === 'group.joined');
  return { a, b, o, ca, cb, co, g, room: g.rooms[0].id };
}

test('typing reaches the others in the room, not the sender, not outsiders', { skip }, async () => {
  const { a, ca, cb, co, room } = await trio();
  const ca2 = await h.connectAs(srv, a, 'tia-2');
  ca.send({ op: 'typing', d: { room } });
  const ev = await cb.waitFor((e) => e.op === 'typing');
  assert.deepEqual(ev, { op: 'typing', d: { room, user: a.user.id } });
  await h.sleep(300);
  assert.deepEqual(ca.events.filter((e) => e.op === 'typing'), [], 'the sender does not get its own typing');
  assert.deepEqual(co.events.filter((e) => e.op === 'typing'), [], 'an outsider gets nothing');
  assert.equal(ca.events.filter((e) => e.op === 'ok' || e.op === 'error').length, 0, 'typing has no reply');
  void ca2;
  // Typing in a room you are not in is an error.
  co.send({ op: 'typing', id: 't1', d: { room } });
  const err = await co.waitFor((e) => e.op === 'error' && e.re === 't1');
  assert.equal(err.d.code, 'forbidden');
  await h.sleep(200);
  assert.equal(cb.events.filter((e) => e.op === 'typing').length, 1);
  for (const c of [ca, ca2, cb, co]) c.close();
});

test('typing over typing_per_s is dropped silently', { skip }, async () => {
  const { ca, cb, room } = await trio();
  const per = ca.hello.d.limits.typing_per_s;
  for (let i = 0; i < per + 10; i++) ca.send({ op: 'typing', d: { room } });
  await cb.waitFor((e) => e.op === 'typing');
  await h.sleep(500);
  const n = cb.events.filter((e) => e.op === 'typing').length;
  assert.ok(n >= 1 && n <= per + 1, `${n} typing events for ${per + 10} sent (limit ${per}/s)`);
  assert.equal(ca.events.filter((e) => e.op === 'error').length, 0, 'dropped silently');
  assert.equal(ca.closeInfo, null);
  ca.close();
  cb.close();
});

test('presence: online when the first socket identifies, offline when the last closes', { skip }, async () => {
  const { a, b, ca, co, g } = await trio();
  void g;
  const p = (user, status) => (e) => e.op === 'presence' && e.d.user === user && e.d.status === status;
  const c = await h.signup(srv, 'Pia');
  await ca.request('member.add', { group: g.id, email: c.email });
  const cc1 = await h.connectAs(srv, c, 'pia-1');
  const on = await ca.waitFor(p(c.user.id, 'online'));
  assert.deepEqual(on, { op: 'presence', d: { user: c.user.id, status: 'online' } });
  const cc2 = await h.connectAs(srv, c, 'pia-2');
  await cc1.close();
  await h.sleep(500);
  assert.equal(ca.events.filter(p(c.user.id, 'offline')).length, 0, 'still online through the second socket');
  assert.equal(ca.events.filter(p(c.user.id, 'online')).length, 1, 'one online for two sockets');
  await cc2.close();
  await ca.waitFor(p(c.user.id, 'offline'));
  // Someone who shares no group hears nothing.
  await h.sleep(200);
  assert.equal(co.events.filter((e) => e.op === 'presence' && e.d.user === c.user.id).length, 0);
  void a;
  void b;
  ca.close();
  co.close();
});

test('unread counts go up with others\' messages and down after room.read', { skip }, async () => {
  const { a, b, ca, cb, g, room } = await trio();
  const unread = (snap) => snap.groups.find((x) => x.id === g.id).rooms.find((r) => r.id === room);
  let last;
  for (let i = 0; i < 5; i++) last = await h.say(ca, room, `unread ${i}`);
  await h.say(cb, room, 'my own message does not count');
  const l1 = unread(await cb.request('group.list', {}));
  assert.equal(l1.unread, 5);
  assert.equal(l1.last_seq, 6);
  const mine = unread(await ca.request('group.list', {}));
  assert.equal(mine.unread, 1, 'only the other user\'s message is unread for a');
  // The identify snapshot has the same counts.
  const cb2 = await h.connectAs(srv, b, 'tob-2');
  assert.equal(unread(cb2.snapshot).unread, 5);

  const r = await cb.request('room.read', { room, seq: 3 });
  assert.deepEqual(r, { room, last_read: 3, unread: 2 });
  // The user's other socket follows.
  const ev = await cb2.waitFor((e) => e.op === 'room.read' && e.d.room === room);
  assert.deepEqual(ev.d, { room, last_read: 3, unread: 2 });
  assert.equal(unread(await cb.request('group.list', {})).unread, 2);
  // Never backwards; clamped to last_seq.
  const back = await cb.request('room.read', { room, seq: 1 });
  assert.equal(back.last_read, 3);
  const over = await cb.request('room.read', { room, seq: 1000 });
  assert.deepEqual(over, { room, last_read: 6, unread: 0 });
  const l2 = unread(await cb.request('group.list', {}));
  assert.equal(l2.unread, 0);
  assert.equal(l2.last_read, 6);
  // Deleted messages do not count as unread.
  const m = await h.say(ca, room, 'soon gone');
  await h.say(ca, room, 'stays');
  await ca.request('message.delete', { room, msg: m.msg });
  assert.equal(unread(await cb.request('group.list', {})).unread, 1);
  // A new socket sees the read state too.
  const cb3 = await h.connectAs(srv, b, 'tob-3');
  assert.equal(unread(cb3.snapshot).last_read, 6);
  void a;
  void last;
  for (const c of [ca, cb, cb2, cb3]) c.close();
});

test('app-level ping gets a pong with re, before and after identify', { skip }, async () => {
  const c = await h.connect(srv);
  c.send({ op: 'ping', id: 'p-1' });
  const p1 = await c.waitFor((e) => e.op === 'pong');
  assert.deepEqual(p1, { op: 'pong', re: 'p-1' });
  const u = await h.signup(srv, 'Pinger');
  await c.identify(u.token);
  c.send({ op: 'ping', id: 'p-2', d: {} });
  const p2 = await c.waitFor((e) => e.op === 'pong' && e.re === 'p-2');
  assert.deepEqual(p2, { op: 'pong', re: 'p-2' });
  c.close();
});
