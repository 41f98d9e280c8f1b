'use strict';
// Groups, members, roles, rooms and DMs.
const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const skip = h.binaryMissing();
let srv;

before(async () => {
  if (skip) return;
  srv = await h.startServer({ limits: { send_per_s: 1000, send_burst: 1000 } });
});

async function users(...names) {
  const out = [];
  for (const n of names) {
    const u = await h.signup(srv, n);
    u.c = await h.connectAs(srv, u, n);
    out.push(u);
  }
  return out;
}
const closeAll = (...us) => us.forEach((u) => u.c && u.c.close());
const forbidden = { code: 'forbidden' };

test('roles: members cannot manage; admins manage members and rooms; only the owner sets roles', { skip }, async () => {
  const [o, a, b, c] = await users('Owner', 'Adm', 'Mem', 'Cal');
  const g = await h.makeGroup(o.c, [a, b], 'Team');
  const general = g.rooms[0].id;

  // A plain member.
  await assert.rejects(a.c.request('group.rename', { group: g.id, name: 'Mine' }), forbidden);
  await assert.rejects(a.c.request('member.add', { group: g.id, email: c.email }), forbidden);
  await assert.rejects(a.c.request('member.remove', { group: g.id, user: b.user.id }), forbidden);
  await assert.rejects(a.c.request('member.role', { group: g.id, user: b.user.id, role: 'admin' }), forbidden);
  await assert.rejects(a.c.request('room.create', { group: g.id, name: 'side' }), forbidden);
  await assert.rejects(a.c.request('room.rename', { room: general, name: 'mine' }), forbidden);
  await assert.rejects(a.c.request('room.delete', { room: general }), forbidden);
  await assert.rejects(a.c.request('group.delete', { group: g.id }), forbidden);

  // Promote a to admin; every member hears it.
  assert.deepEqual(await o.c.request('member.role', { group: g.id, user: a.user.id, role: 'admin' }), {});
  const roleEv = await b.c.waitFor((e) => e.op === 'member.role' && e.d.user === a.user.id);
  assert.deepEqual(roleEv.d, { group: g.id, user: a.user.id, role: 'admin', actor: o.user.id });
  await assert.rejects(o.c.request('member.role', { group: g.id, user: b.user.id, role: 'king' }), { code: 'bad_request' });

  // An admin renames the group.
  const ren = await a.c.request('group.rename', { group: g.id, name: 'Team 2' });
  assert.deepEqual(ren.group, { id: g.id, name: 'Team 2' });
  for (const u of [o, b]) {
    const e = await u.c.waitFor((x) => x.op === 'group.renamed' && x.d.group === g.id);
    assert.deepEqual(e.d, { group: g.id, name: 'Team 2', actor: a.user.id });
  }
  // An admin adds a member.
  const add = await a.c.request('member.add', { group: g.id, email: c.email });
  assert.deepEqual(add.member, { user: { id: c.user.id, name: 'Cal' }, role: 'member' });
  await c.c.waitFor((e) => e.op === 'group.joined' && e.d.group.id === g.id);
  // An admin creates, renames and deletes a room.
  const { room } = await a.c.request('room.create', { group: g.id, name: 'side' });
  assert.match(room.id, /^r_\d+$/);
  assert.equal(room.name, 'side');
  assert.equal(room.last_seq, 0);
  const rc = await b.c.waitFor((e) => e.op === 'room.created' && e.d.room.id === room.id);
  assert.equal(rc.d.group, g.id);
  assert.deepEqual(rc.d.room, { id: room.id, name: 'side', last_seq: 0 });
  const rr = await a.c.request('room.rename', { room: room.id, name: 'side-2' });
  assert.equal(rr.seq, 1, 'a rename is a room-log event');
  const rrEv = await b.c.waitFor((e) => e.op === 'room.renamed' && e.d.room === room.id);
  assert.equal(rrEv.d.seq, 1);
  assert.equal(rrEv.d.name, 'side-2');
  assert.equal(rrEv.d.actor, a.user.id);
  assert.equal(typeof rrEv.d.ts, 'string');
  assert.deepEqual(await a.c.request('room.delete', { room: room.id }), {});
  const rd = await c.c.waitFor((e) => e.op === 'room.deleted' && e.d.room === room.id);
  assert.deepEqual(rd.d, { group: g.id, room: room.id, actor: a.user.id });
  await assert.rejects(h.say(b.c, room.id, 'into a deleted room'), (e) => ['forbidden', 'not_found'].includes(e.code));

  // An admin cannot touch the owner or another admin, nor set roles.
  await assert.rejects(a.c.request('member.remove', { group: g.id, user: o.user.id }), forbidden);
  await assert.rejects(a.c.request('member.role', { group: g.id, user: c.user.id, role: 'admin' }), forbidden);
  await o.c.request('member.role', { group: g.id, user: b.user.id, role: 'admin' });
  await assert.rejects(a.c.request('member.remove', { group: g.id, user: b.user.id }), forbidden);
  await assert.rejects(a.c.request('group.delete', { group: g.id }), forbidden);

  // An admin removes a member: the member gets group.left, the others member.left.
  const mine = await h.say(c.c, general, 'before removal'); // the server knows the room now
  assert.deepEqual(await a.c.request('member.remove', { group: g.id, user: c.user.id }), {});
  const left = await c.c.waitFor((e) => e.op === 'group.left');
  assert.equal(left.d.group, g.id);
  const ml = await o.c.waitFor((e) => e.op === 'member.left' && e.d.user === c.user.id);
  assert.deepEqual(ml.d, { group: g.id, user: c.user.id, actor: a.user.id });
  // The removed member is cut off at once.
  await assert.rejects(h.say(c.c, general, 'still here?'), forbidden);
  const m = await h.say(o.c, general, 'after removal');
  await b.c.waitFor((e) => e.op === 'message.created' && e.d.seq === m.seq);
  assert.deepEqual(await c.c.collect((e) => e.op === 'message.created' && e.d.room === general && e.d.seq > mine.seq, 300), []);

  // The owner removes an admin, but not themself; the last room cannot go.
  await o.c.request('member.remove', { group: g.id, user: a.user.id });
  await a.c.waitFor((e) => e.op === 'group.left' && e.d.group === g.id);
  await assert.rejects(o.c.request('member.remove', { group: g.id, user: o.user.id }));
  await assert.rejects(o.c.request('room.delete', { room: general }), { code: 'conflict' });
  closeAll(o, a, b, c);
});

test('ownership transfer makes the old owner an admin', { skip }, async () => {
  const [o, b] = await users('Olga', 'Boris');
  const g = await h.makeGroup(o.c, [b]);
  await o.c.request('member.role', { group: g.id, user: b.user.id, role: 'owner' });
  const ev = await b.c.waitFor((e) => e.op === 'member.role' && e.d.role === 'owner');
  assert.equal(ev.d.user, b.user.id);
  const { members } = await b.c.request('member.list', { group: g.id });
  const role = (u) => members.find((m) => m.user.id === u.user.id).role;
  assert.equal(role(b), 'owner');
  assert.equal(role(o), 'admin');
  const list = await o.c.request('group.list', {});
  const snap = list.groups.find((x) => x.id === g.id);
  assert.equal(snap.role, 'admin');
  assert.equal(snap.owner, b.user.id);
  await assert.rejects(o.c.request('group.delete', { group: g.id }), forbidden);
  await assert.rejects(o.c.request('member.role', { group: g.id, user: o.user.id, role: 'owner' }), forbidden);
  closeAll(o, b);
});

test('group.leave: members leave; the owner only as the last member (which deletes the group)', { skip }, async () => {
  const [o, a, b] = await users('Lo', 'La', 'Lb');
  const g = await h.makeGroup(o.c, [a, b]);
  const room = g.rooms[0].id;
  assert.deepEqual(await a.c.request('group.leave', { group: g.id }), {});
  for (const u of [o, b]) {
    const e = await u.c.waitFor((x) => x.op === 'member.left' && x.d.user === a.user.id);
    assert.deepEqual(e.d, { group: g.id, user: a.user.id, actor: a.user.id });
  }
  const ga = await a.c.request('group.list', {});
  assert.ok(!ga.groups.some((x) => x.id === g.id), 'the group is gone from the leaver\'s list');
  await assert.rejects(h.say(a.c, room, 'hello?'), forbidden);
  const m = await h.say(b.c, room, 'bye La');
  await o.c.waitFor((e) => e.op === 'message.created' && e.d.seq === m.seq);
  assert.deepEqual(await a.c.collect((e) => e.op === 'message.created' && e.d.room === room, 300), []);
  await assert.rejects(a.c.request('group.leave', { group: g.id }));

  await assert.rejects(o.c.request('group.leave', { group: g.id }), { code: 'conflict' });
  await b.c.request('group.leave', { group: g.id });
  await o.c.request('group.leave', { group: g.id }); // the last member
  const go = await o.c.request('group.list', {});
  assert.ok(!go.groups.some((x) => x.id === g.id));
  await assert.rejects(o.c.request('member.list', { group: g.id }));
  closeAll(o, a, b);
});

test('group.delete: members get group.deleted and nothing from it afterwards', { skip }, async () => {
  const [o, a] = await users('Do', 'Da');
  const g = await h.makeGroup(o.c, [a]);
  const room = g.rooms[0].id;
  assert.deepEqual(await o.c.request('group.delete', { group: g.id }), {});
  for (const u of [o, a]) {
    const e = await u.c.waitFor((x) => x.op === 'group.deleted');
    assert.deepEqual(e.d, { group: g.id, actor: o.user.id });
  }
  await assert.rejects(h.say(a.c, room, 'anyone?'), (e) => ['forbidden', 'not_found'].includes(e.code));
  await assert.rejects(h.say(o.c, room, 'anyone?'), (e) => ['forbidden', 'not_found'].includes(e.code));
  await assert.rejects(a.c.request('room.history', { room }), (e) => ['forbidden', 'not_found'].includes(e.code));
  const la = await a.c.request('group.list', {});
  assert.ok(!la.groups.some((x) => x.id === g.id));
  closeAll(o, a);
});

test('member.list shows roles and online flags', { skip }, async () => {
  const [o, a] = await users('Mo', 'Ma');
  const off = await h.signup(srv, 'Offline');
  const g = await h.makeGroup(o.c, [a, off]);
  const { members } = await a.c.request('member.list', { group: g.id });
  const by = new Map(members.map((m) => [m.user.id, m]));
  assert.equal(members.length, 3);
  assert.deepEqual(by.get(o.user.id), { user: { id: o.user.id, name: 'Mo' }, role: 'owner', online: true });
  assert.deepEqual(by.get(a.user.id), { user: { id: a.user.id, name: 'Ma' }, role: 'member', online: true });
  assert.deepEqual(by.get(off.user.id), { user: { id: off.user.id, name: 'Offline' }, role: 'member', online: false });
  await a.c.close();
  await h.until(async () => {
    const r = await o.c.request('member.list', { group: g.id });
    return r.members.find((m) => m.user.id === a.user.id).online === false;
  }, h.WAIT_MS, 'Ma to show offline');
  const s = await h.signup(srv, 'Snoop');
  const cs = await h.connectAs(srv, s);
  await assert.rejects(cs.request('member.list', { group: g.id }), (e) => ['forbidden', 'not_found'].includes(e.code));
  cs.close();
  closeAll(o);
});

test('member.add: added sockets join live; unknown email, duplicates and bad input are refused', { skip }, async () => {
  const [o, a] = await users('Ao', 'Aa');
  const { group: g } = await o.c.request('group.create', { name: 'Adders' });
  const room = g.rooms[0].id;
  await o.c.request('member.add', { group: g.id, email: a.email.toUpperCase() }); // emails ignore case
  const joined = await a.c.waitFor((e) => e.op === 'group.joined');
  assert.equal(joined.d.group.id, g.id);
  assert.equal(joined.d.group.name, 'Adders');
  assert.equal(joined.d.group.role, 'member');
  assert.equal(joined.d.group.rooms[0].id, room);
  // Subscribed at once: the next message reaches the new member without reconnecting.
  const m = await h.say(o.c, room, 'welcome');
  await a.c.waitFor((e) => e.op === 'message.created' && e.d.seq === m.seq);

  await assert.rejects(o.c.request('member.add', { group: g.id, email: `nobody-${h.uid()}@example.test` }), { code: 'not_found' });
  await assert.rejects(o.c.request('member.add', { group: g.id, email: a.email }), { code: 'conflict' });
  await assert.rejects(o.c.request('member.add', { group: 'g_999999999', email: a.email }), (e) => ['forbidden', 'not_found'].includes(e.code));
  await assert.rejects(o.c.request('member.add', { group: '17', email: a.email }), { code: 'bad_request' });
  await assert.rejects(o.c.request('group.create', { name: '' }), { code: 'bad_request' });
  await assert.rejects(o.c.request('group.create', { name: 'n'.repeat(65) }), { code: 'bad_request' });
  closeAll(o, a);
});

test('member.add into a full group: conflict', { skip }, async () => {
  const small = await h.startServer({ limits: { group_members: 2 } });
  const o = await h.signup(small, 'Full');
  const a = await h.signup(small, 'F1');
  const b = await h.signup(small, 'F2');
  const co = await h.connectAs(small, o);
  const { group } = await co.request('group.create', { name: 'small' });
  await co.request('member.add', { group: group.id, email: a.email });
  await assert.rejects(co.request('member.add', { group: group.id, email: b.email }), { code: 'conflict' });
  co.close();
  await small.stop();
});

test('groups_per_user, rooms_per_group, dms_per_user: one over is a conflict that names the limit, and leaves nothing behind', { skip }, async () => {
  const small = await h.startServer({ limits: { groups_per_user: 2, rooms_per_group: 2, dms_per_user: 1 } });
  const [o, a, b] = [await h.signup(small, 'Lim'), await h.signup(small, 'LimA'), await h.signup(small, 'LimB')];
  const co = await h.connectAs(small, o);
  const ca = await h.connectAs(small, a);
  const over = (name) => (e) => e.code === 'conflict' && e.d.message.includes(name);

  assert.equal(co.hello.d.limits.groups_per_user, 2);
  const one = (await co.request('group.create', { name: 'one' })).group;
  const two = (await co.request('group.create', { name: 'two' })).group;
  await assert.rejects(co.request('group.create', { name: 'three' }), over('groups_per_user'));
  assert.deepEqual((await co.request('group.list', {})).groups.map((g) => g.name).sort(), ['one', 'two']);

  // a is in a group of its own; a second one fills its quota, a third is refused and not joined
  await ca.request('group.create', { name: 'mine' });
  await co.request('member.add', { group: one.id, email: a.email });
  await assert.rejects(co.request('member.add', { group: two.id, email: a.email }), over('groups_per_user'));
  assert.deepEqual((await co.request('member.list', { group: two.id })).members.map((m) => m.user.id), [o.user.id]);

  // rooms: general plus one
  await co.request('room.create', { group: one.id, name: 'second' });
  await assert.rejects(co.request('room.create', { group: one.id, name: 'third' }), over('rooms_per_group'));
  assert.equal((await co.request('group.list', {})).groups.find((g) => g.id === one.id).rooms.length, 2);

  // DMs: one each; the existing one opens again, a second is refused and not made
  await co.request('member.add', { group: two.id, email: b.email });
  const { dm } = await co.request('dm.open', { user: a.user.id });
  await assert.rejects(co.request('dm.open', { user: b.user.id }), over('dms_per_user'));
  assert.equal((await co.request('dm.open', { user: a.user.id })).dm.id, dm.id);
  assert.deepEqual((await co.request('group.list', {})).dms.map((d) => d.id), [dm.id]);
  co.close();
  ca.close();
  await small.stop();
});

test('dm.open: needs a shared group, one room per pair, messages flow, read-only once apart', { skip }, async () => {
  const [o, a, s] = await users('Dmo', 'Dma', 'Dms');
  const g = await h.makeGroup(o.c, [a]);
  await assert.rejects(o.c.request('dm.open', { user: s.user.id }), forbidden);
  await assert.rejects(o.c.request('dm.open', { user: o.user.id }));

  const { dm } = await o.c.request('dm.open', { user: a.user.id });
  assert.match(dm.id, /^r_\d+$/);
  assert.deepEqual(dm.peer, { id: a.user.id, name: 'Dma' });
  assert.equal(dm.readonly, false);
  assert.equal(dm.last_seq, 0);
  const opened = await a.c.waitFor((e) => e.op === 'dm.opened');
  assert.equal(opened.d.dm.id, dm.id);
  assert.deepEqual(opened.d.dm.peer, { id: o.user.id, name: 'Dmo' }, 'the peer, seen from the receiver');
  await o.c.waitFor((e) => e.op === 'dm.opened' && e.d.dm.id === dm.id);

  const again = await a.c.request('dm.open', { user: o.user.id });
  assert.equal(again.dm.id, dm.id, 'the same pair gets the same room');
  const twice = await o.c.request('dm.open', { user: a.user.id });
  assert.equal(twice.dm.id, dm.id);
  await h.sleep(200);
  assert.equal(a.c.events.filter((e) => e.op === 'dm.opened').length, 1, 'dm.opened only the first time');

  const m = await h.say(o.c, dm.id, 'psst');
  const ev = await a.c.waitFor((e) => e.op === 'message.created' && e.d.room === dm.id);
  assert.equal(ev.d.msg.body, 'psst');
  assert.equal(ev.d.seq, m.seq);
  const r = await h.say(a.c, dm.id, 'yes?');
  await o.c.waitFor((e) => e.op === 'message.created' && e.d.room === dm.id && e.d.seq === r.seq);
  // Only the two of them.
  await o.c.request('member.add', { group: g.id, email: s.email });
  await assert.rejects(h.say(s.c, dm.id, 'me too'), forbidden);
  await assert.rejects(s.c.request('room.history', { room: dm.id }), forbidden);
  const listed = (await a.c.request('group.list', {})).dms.find((d) => d.id === dm.id);
  assert.equal(listed.readonly, false);
  assert.equal(listed.peer.id, o.user.id);
  assert.equal(listed.last_seq, 2);

  // No longer sharing a group: the DM is read-only for both.
  await o.c.request('member.remove', { group: g.id, user: a.user.id });
  await a.c.waitFor((e) => e.op === 'group.left');
  await assert.rejects(h.say(o.c, dm.id, 'hello?'), (e) => e.code === 'forbidden' && /read-only/.test(e.message));
  await assert.rejects(h.say(a.c, dm.id, 'hello?'), forbidden);
  const ro = (await o.c.request('group.list', {})).dms.find((d) => d.id === dm.id);
  assert.equal(ro.readonly, true);
  closeAll(o, a, s);
});

test('room.created subscribes online members at once', { skip }, async () => {
  const [o, a] = await users('Ro', 'Ra');
  const g = await h.makeGroup(o.c, [a]);
  const { room } = await o.c.request('room.create', { group: g.id, name: 'news' });
  await a.c.waitFor((e) => e.op === 'room.created' && e.d.room.id === room.id);
  const m = await h.say(o.c, room.id, 'first in news');
  const ev = await a.c.waitFor((e) => e.op === 'message.created' && e.d.room === room.id);
  assert.equal(ev.d.seq, m.seq);
  const back = await h.say(a.c, room.id, 'reply in news');
  await o.c.waitFor((e) => e.op === 'message.created' && e.d.room === room.id && e.d.seq === back.seq);
  // The snapshot lists the default room first, then by id.
  const snap = (await a.c.request('group.list', {})).groups.find((x) => x.id === g.id);
  assert.deepEqual(snap.rooms.map((r) => r.id), [g.rooms[0].id, room.id]);
  assert.equal(snap.rooms[1].last_seq, 2);
  closeAll(o, a);
});
