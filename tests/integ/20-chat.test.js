'use strict';
// Messages: live delivery, acks, idempotent resend, per-room order, history, edit and delete.
const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const skip = h.binaryMissing();
let srv;

before(async () => {
  if (skip) return;
  // Quick sends in bulk: raise the send rate limit.
  srv = await h.startServer({ limits: { send_per_s: 10000, send_burst: 10000 } });
});

/** Two users in one group, each with an identified socket. */
async function pair() {
  const a = await h.signup(srv, 'Ann');
  const b = await h.signup(srv, 'Ben');
  const ca = await h.connectAs(srv, a, 'ann');
  const cb = await h.connectAs(srv, b, 'ben');
  const group = await h.makeGroup(ca, [b]);
  const room = group.rooms[0].id;
  await cb.waitFor((e) => e.op === 'group.joined' && e.d.group.id === group.id);
  return { a, b, ca, cb, group, room };
}

const created = (room, seq) => (e) => e.op === 'message.created' && e.d.room === room && (seq === undefined || e.d.seq === seq);

test('group.create gives a group with its default room first', { skip }, async () => {
  const a = await h.signup(srv, 'Gia');
  const ca = await h.connectAs(srv, a);
  const { group } = await ca.request('group.create', { name: 'Friends' });
  assert.match(group.id, /^g_\d+$/);
  assert.equal(group.name, 'Friends');
  assert.equal(group.role, 'owner');
  assert.equal(group.owner, a.user.id);
  assert.equal(group.rooms.length, 1);
  assert.equal(group.rooms[0].name, 'general');
  assert.match(group.rooms[0].id, /^r_\d+$/);
  assert.equal(group.rooms[0].last_seq, 0);
  const list = await ca.request('group.list', {});
  assert.ok(list.groups.some((g) => g.id === group.id));
  ca.close();
});

test('two users chat live both ways; the ack and the events agree', { skip }, async () => {
  const { a, b, ca, cb, group, room } = await pair();
  // The added user's socket got group.joined with a snapshot that has the room.
  const joined = cb.events.find((e) => e.op === 'group.joined');
  assert.equal(joined.d.group.rooms[0].id, room);
  // The group's existing members saw member.joined.
  const mj = await ca.waitFor((e) => e.op === 'member.joined' && e.d.user.id === b.user.id);
  assert.equal(mj.d.group, group.id);
  assert.equal(mj.d.role, 'member');
  assert.equal(mj.d.actor, a.user.id);

  const ack = await ca.request('message.send', { room, cid: 'hello-1', body: 'hi Ben' });
  assert.deepEqual(Object.keys(ack).sort(), ['msg', 'room', 'seq', 'ts']);
  assert.equal(ack.room, room);
  assert.equal(ack.seq, 1);
  assert.match(ack.msg, /^m_\d+$/);
  assert.match(ack.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const expected = { op: 'message.created', d: { room, seq: 1, ts: ack.ts, actor: a.user.id, msg: { id: ack.msg, cid: 'hello-1', body: 'hi Ben' } } };
  assert.deepEqual(await cb.waitFor(created(room, 1)), expected);
  assert.deepEqual(await ca.waitFor(created(room, 1)), expected, 'the sender gets the event too');

  const back = await cb.request('message.send', { room, cid: 'reply-1', body: 'hi Ann ✓' });
  assert.equal(back.seq, 2);
  const ev = await ca.waitFor(created(room, 2));
  assert.equal(ev.d.actor, b.user.id);
  assert.equal(ev.d.msg.body, 'hi Ann ✓');
  assert.equal(ev.d.msg.id, back.msg);
  await cb.waitFor(created(room, 2));
  ca.close();
  cb.close();
});

test('an event reaches every connection of every member', { skip }, async () => {
  const { a, b, ca, cb, room } = await pair();
  const ca2 = await h.connectAs(srv, a, 'ann-2');
  const cb2 = await h.connectAs(srv, b, 'ben-2');
  const ack = await h.say(cb2, room, 'to all sockets');
  for (const c of [ca, ca2, cb, cb2]) {
    const e = await c.waitFor(created(room, ack.seq));
    assert.equal(e.d.msg.id, ack.msg, c.label);
  }
  for (const c of [ca, ca2, cb, cb2]) c.close();
});

test('an outsider receives nothing and is forbidden to send or read', { skip }, async () => {
  const { ca, cb, room } = await pair();
  const o = await h.signup(srv, 'Outsider');
  const co = await h.connectAs(srv, o);
  await h.say(ca, room, 'members only');
  await cb.waitFor(created(room));
  await assert.rejects(h.say(co, room, 'let me in'), { code: 'forbidden' });
  await assert.rejects(co.request('room.history', { room }), { code: 'forbidden' });
  await assert.rejects(co.request('room.read', { room, seq: 1 }), { code: 'forbidden' });
  const r = await h.rest(srv, 'room.history', { room }, o.token);
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'forbidden');
  const leaked = await co.collect((e) => e.op.startsWith('message.') || e.d?.room === room, 500);
  assert.deepEqual(leaked, []);
  // A room that does not exist.
  await assert.rejects(h.say(ca, 'r_999999999', 'nowhere'), (e) => ['forbidden', 'not_found'].includes(e.code));
  for (const c of [ca, cb, co]) c.close();
});

test('the same cid twice: the same ack, one event, one history entry', { skip }, async () => {
  const { ca, cb, room } = await pair();
  const first = await ca.request('message.send', { room, cid: 'dup-cid', body: 'once' });
  const second = await ca.request('message.send', { room, cid: 'dup-cid', body: 'once' });
  assert.deepEqual(second, first);
  // Even with another body, the cid wins: the original ack.
  const third = await ca.request('message.send', { room, cid: 'dup-cid', body: 'changed' });
  assert.deepEqual(third, first);
  // Sent concurrently, too.
  const [p1, p2] = await Promise.all([
    ca.request('message.send', { room, cid: 'dup-race', body: 'race' }),
    ca.request('message.send', { room, cid: 'dup-race', body: 'race' }),
  ]);
  assert.deepEqual(p1, p2);
  const marker = await h.say(ca, room, 'marker');
  await cb.waitFor(created(room, marker.seq));
  assert.equal(cb.events.filter((e) => e.op === 'message.created' && e.d.msg.cid === 'dup-cid').length, 1);
  assert.equal(cb.events.filter((e) => e.op === 'message.created' && e.d.msg.cid === 'dup-race').length, 1);
  const hist = await ca.request('room.history', { room });
  assert.equal(hist.events.filter((e) => e.d.msg?.cid === 'dup-cid').length, 1);
  assert.equal(hist.events.filter((e) => e.d.msg?.cid === 'dup-race').length, 1);
  assert.equal(marker.seq, 3, 'the duplicates used no seq');
  // Another user may use the same cid: cids are per sender.
  const other = await cb.request('message.send', { room, cid: 'dup-cid', body: 'mine' });
  assert.notEqual(other.msg, first.msg);
  ca.close();
  cb.close();
});

test('per-room seq is contiguous under 200 quick sends from 2 senders', { skip }, async () => {
  const { a, b, ca, cb, room } = await pair();
  const sends = [];
  for (let i = 0; i < 100; i++) {
    sends.push(ca.request('message.send', { room, cid: `a-${i}`, body: `a ${i}` }));
    sends.push(cb.request('message.send', { room, cid: `b-${i}`, body: `b ${i}` }));
  }
  const acks = await Promise.all(sends);
  const seqs = acks.map((x) => x.seq).sort((x, y) => x - y);
  assert.deepEqual(seqs, Array.from({ length: 200 }, (_, i) => i + 1));
  // Each sender's own acks go up in the order it sent.
  const aSeqs = acks.filter((_, i) => i % 2 === 0).map((x) => x.seq);
  assert.deepEqual(aSeqs, [...aSeqs].sort((x, y) => x - y));
  // Both sockets see all 200 events in seq order, each once.
  for (const c of [ca, cb]) {
    const evs = await c.waitForCount(created(room), 200, h.WAIT_MS * 2);
    assert.deepEqual(evs.map((e) => e.d.seq), Array.from({ length: 200 }, (_, i) => i + 1), c.label);
  }
  // The history agrees with the acks.
  const hist = await h.fullHistory(ca, room);
  assert.equal(hist.length, 200);
  const byCid = new Map(hist.map((e) => [e.d.msg.cid, e]));
  for (let i = 0; i < 100; i++) {
    assert.equal(byCid.get(`a-${i}`).d.seq, acks[2 * i].seq);
    assert.equal(byCid.get(`a-${i}`).d.actor, a.user.id);
    assert.equal(byCid.get(`b-${i}`).d.seq, acks[2 * i + 1].seq);
    assert.equal(byCid.get(`b-${i}`).d.actor, b.user.id);
  }
  ca.close();
  cb.close();
});

test('room.history: newest page, before/after exclusive, limit cap, more flag, live shape', { skip }, async () => {
  const { a, ca, cb, room } = await pair();
  for (let i = 1; i <= 130; i++) await ca.request('message.send', { room, cid: `h-${i}`, body: `m${i}` });
  const live = await cb.waitForCount(created(room), 130);
  const liveBySeq = new Map(live.map((e) => [e.d.seq, e]));
  const seqs = (r) => r.events.map((e) => e.d.seq);
  const range = (lo, hi) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);

  const newest = await cb.request('room.history', { room });
  assert.deepEqual(seqs(newest), range(81, 130), 'default: the newest 50, ascending');
  assert.equal(newest.more, true);
  for (const e of newest.events) assert.deepEqual(e, liveBySeq.get(e.d.seq), 'history has the live shape');

  const before = await cb.request('room.history', { room, before: 81, limit: 30 });
  assert.deepEqual(seqs(before), range(51, 80));
  assert.equal(before.more, true);
  const first = await cb.request('room.history', { room, before: 11, limit: 30 });
  assert.deepEqual(seqs(first), range(1, 10));
  assert.equal(first.more, false);

  const after = await cb.request('room.history', { room, after: 100, limit: 10 });
  assert.deepEqual(seqs(after), range(101, 110));
  assert.equal(after.more, true);
  const tail = await cb.request('room.history', { room, after: 120, limit: 10 });
  assert.deepEqual(seqs(tail), range(121, 130));
  assert.equal(tail.more, false);
  const past = await cb.request('room.history', { room, after: 130 });
  assert.deepEqual(past.events, []);
  assert.equal(past.more, false);

  // limit is capped at history_max (100): either refused or clamped, never more than 100.
  try {
    const big = await cb.request('room.history', { room, after: 0, limit: 1000 });
    assert.ok(big.events.length <= 100, `got ${big.events.length} events`);
    assert.equal(big.more, true);
  } catch (e) {
    assert.equal(e.code, 'bad_request');
  }
  const hundred = await cb.request('room.history', { room, after: 0, limit: 100 });
  assert.deepEqual(seqs(hundred), range(1, 100));
  assert.equal(hundred.more, true);
  await assert.rejects(cb.request('room.history', { room, limit: 0 }), { code: 'bad_request' });
  await assert.rejects(cb.request('room.history', { room, limit: 'ten' }), { code: 'bad_request' });

  // REST gives the same page.
  const r = await h.rest(srv, 'room.history', { room, before: 81, limit: 30 }, a.token);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.events, before.events);
  assert.equal(r.body.more, true);
  ca.close();
  cb.close();
});

test('edit and delete: author edits, others cannot, admins can delete, deleted bodies are gone', { skip }, async () => {
  const { a, b, ca, cb, room } = await pair();
  // a is the group owner, b a member.
  const m1 = await h.say(cb, room, 'first draft');
  const ed = await cb.request('message.edit', { room, msg: m1.msg, body: 'second draft' });
  assert.equal(ed.seq, m1.seq + 1);
  const edEv = await ca.waitFor((e) => e.op === 'message.edited' && e.d.seq === ed.seq);
  assert.equal(edEv.d.room, room);
  assert.equal(edEv.d.actor, b.user.id);
  assert.deepEqual(edEv.d.msg, { id: m1.msg, body: 'second draft' });

  // Only the author edits, even the owner cannot.
  await assert.rejects(ca.request('message.edit', { room, msg: m1.msg, body: 'hijack' }), { code: 'forbidden' });
  const m2 = await h.say(ca, room, 'owner says');
  await assert.rejects(cb.request('message.edit', { room, msg: m2.msg, body: 'hijack' }), { code: 'forbidden' });
  // A member cannot delete someone else's message.
  await assert.rejects(cb.request('message.delete', { room, msg: m2.msg }), { code: 'forbidden' });
  await assert.rejects(cb.request('message.edit', { room, msg: 'm_999999999', body: 'x' }), { code: 'not_found' });

  // The group owner deletes the member's message.
  const del = await ca.request('message.delete', { room, msg: m1.msg });
  assert.equal(typeof del.seq, 'number');
  const delEv = await cb.waitFor((e) => e.op === 'message.deleted' && e.d.seq === del.seq);
  assert.deepEqual(delEv.d.msg, { id: m1.msg });
  assert.equal(delEv.d.actor, a.user.id);
  // The author deletes their own message.
  const del2 = await ca.request('message.delete', { room, msg: m2.msg });
  await cb.waitFor((e) => e.op === 'message.deleted' && e.d.seq === del2.seq);

  // Editing or deleting a deleted message: not_found.
  await assert.rejects(cb.request('message.edit', { room, msg: m1.msg, body: 'zombie' }), { code: 'not_found' });
  await assert.rejects(ca.request('message.delete', { room, msg: m1.msg }), { code: 'not_found' });

  // The history keeps the events but not the bodies.
  const hist = await h.fullHistory(cb, room);
  assert.deepEqual(hist.map((e) => e.op), ['message.created', 'message.edited', 'message.created', 'message.deleted', 'message.deleted']);
  const text = JSON.stringify(hist);
  for (const s of ['first draft', 'second draft', 'owner says']) assert.ok(!text.includes(s), `history still has "${s}"`);
  const c1 = hist.find((e) => e.op === 'message.created' && e.d.msg.id === m1.msg);
  assert.equal(c1.d.msg.body, null);
  assert.equal(c1.d.msg.deleted, true);
  const e1 = hist.find((e) => e.op === 'message.edited');
  assert.equal(e1.d.msg.body, null);
  assert.equal(e1.d.msg.deleted, true);
  assert.deepEqual(hist.map((e) => e.d.seq), [1, 2, 3, 4, 5]);
  ca.close();
  cb.close();
});

test('an admin (not owner) can delete a member\'s message', { skip }, async () => {
  const { b, ca, cb, group, room } = await pair();
  const c = await h.signup(srv, 'Cat');
  const cc = await h.connectAs(srv, c);
  await ca.request('member.add', { group: group.id, email: c.email });
  await ca.request('member.role', { group: group.id, user: b.user.id, role: 'admin' });
  const m = await h.say(cc, room, 'delete me');
  const d = await cb.request('message.delete', { room, msg: m.msg });
  const ev = await cc.waitFor((e) => e.op === 'message.deleted' && e.d.seq === d.seq);
  assert.equal(ev.d.actor, b.user.id);
  for (const x of [ca, cb, cc]) x.close();
});

test('message.send validation: body length in code points, cid charset and length', { skip }, async () => {
  const { ca, room } = await pair();
  const max = ca.hello.d.limits.max_body;
  // Exactly max_body code points of a 4-byte character is fine (it is code points, not bytes).
  const ok = await ca.request('message.send', { room, cid: 'long-ok', body: '😀'.repeat(max) });
  assert.equal(typeof ok.seq, 'number');
  await assert.rejects(ca.request('message.send', { room, cid: 'too-long', body: 'x'.repeat(max + 1) }), { code: 'too_large' });
  await assert.rejects(ca.request('message.send', { room, cid: 'empty', body: '' }), { code: 'bad_request' });
  await assert.rejects(ca.request('message.send', { room, cid: 'bad cid!', body: 'x' }), { code: 'bad_request' });
  await assert.rejects(ca.request('message.send', { room, cid: 'c'.repeat(65), body: 'x' }), { code: 'bad_request' });
  await assert.rejects(ca.request('message.send', { room, cid: '', body: 'x' }), { code: 'bad_request' });
  await assert.rejects(ca.request('message.send', { room: 'room-1', cid: 'badroom', body: 'x' }), { code: 'bad_request' });
  const ok64 = await ca.request('message.send', { room, cid: 'c'.repeat(64), body: 'x' });
  assert.equal(ok64.seq, ok.seq + 1, 'refused sends use no seq');
  ca.close();
});

test('REST message.send works and reaches the WS members', { skip }, async () => {
  const { a, cb, room } = await pair();
  const r = await h.rest(srv, 'message.send', { room, cid: 'via-rest', body: 'from curl' }, a.token);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.ok, true);
  assert.equal(r.body.room, room);
  const ev = await cb.waitFor(created(room, r.body.seq));
  assert.equal(ev.d.msg.body, 'from curl');
  assert.equal(ev.d.msg.id, r.body.msg);
  const again = await h.rest(srv, 'message.send', { room, cid: 'via-rest', body: 'from curl' }, a.token);
  assert.deepEqual(again.body, r.body);
  cb.close();
});
