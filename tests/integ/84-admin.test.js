'use strict';
// The admin REST API (issue 4): the first admin from the command line, admin-audience tokens,
// 403 for everyone else, users, groups, bots, invites and the audit log. Every REST answer is
// checked against proto/schema (the OpenAPI components) by the harness where a schema exists.
const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('./lib/harness');
const o = require('./lib/outbound');
const { SmtpStandin } = require('./lib/smtp-standin');

const skip = h.binaryMissing();
const T = { timeout: 120000 };
const BULK_MAX = 5;
let smtp;
let srv;
let admin;
const started = Date.now();
const done = new Set(); // admin actions that succeeded, for the audit test

before(async () => {
  if (skip) return;
  smtp = await SmtpStandin.start();
  srv = await o.startNatter({ smtp, limits: { invite_bulk_max: BULK_MAX, send_per_s: 1000, send_burst: 1000, malformed_burst: 1000 } });
  admin = await o.setupAdmin(srv, 'Root Admin');
});

const fresh = (tag) => `${tag}-${h.uid()}@example.test`;
const A = (op, body) => h.rest(srv, op, body, admin.adminToken);
async function aok(op, body) {
  const b = await o.ok(srv, op, body, admin.adminToken);
  done.add(op);
  return b;
}

async function closedWith(c, code, what) {
  const info = await Promise.race([c.closed, h.sleep(h.WAIT_MS).then(() => null)]);
  assert.ok(info, `${what}: ${c.label} still open`);
  assert.equal(info.code, code, `${what}: ${c.label} closed with ${info.code}`);
}

test('natter admin make-admin: exits non-zero for an unknown email; the admin logs in with audience "admin"', { skip, ...T }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'natter-cli-'));
  try {
    const r = o.cli(dir, ['admin', 'make-admin', 'nobody@example.test']);
    assert.notEqual(r.status, 0, `make-admin of an unknown email must fail: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /nobody@example\.test|no user/i);
    const r2 = o.cli(dir, ['admin', 'make-admin']);
    assert.notEqual(r2.status, 0, 'make-admin without an email fails');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // Admin login: an admin-audience access token; a non-admin may not have one.
  const li = await o.adminLogin(srv, admin.email, admin.password);
  assert.equal(li.status, 200);
  assert.equal(typeof li.body.access_token, 'string');
  assert.equal(li.body.user.id, admin.user.id);
  const pleb = await h.signup(srv, 'Pleb');
  o.assertRestError(await o.adminLogin(srv, pleb.email, pleb.password), 403, 'forbidden', 'non-admin with audience admin');
  o.assertRestError(await o.adminLogin(srv, admin.email, 'wrong-password-1'), 401, 'unauthorized', 'admin with a wrong password');
  o.assertRestError(await h.rest(srv, 'auth.login', { email: admin.email, password: admin.password, audience: 'root' }), 400, 'bad_request', 'unknown audience');
});

test('every admin.* route: 403 forbidden JSON with a chat token (admin or not), 401 without a token; admin tokens do not work on chat ops', { skip, ...T }, async () => {
  const pleb = await h.signup(srv, 'Pleb Two');
  const victim = await h.signup(srv, 'Victim');
  const pc = await h.connectAs(srv, pleb, 'Pleb');
  const g = await h.makeGroup(pc, [], 'Pleb group');
  const ops = {
    'admin.invites.send': { group: g.id, emails: [fresh('never')] },
    'admin.invites.list': {},
    'admin.invites.revoke': { invite: 'i_1' },
    'admin.invites.resend': { invite: 'i_1' },
    'admin.users.list': {},
    'admin.users.disable': { user: victim.user.id },
    'admin.users.delete': { user: victim.user.id },
    'admin.groups.list': {},
    'admin.groups.members': { group: g.id },
    'admin.bots.create': { name: 'Sneaky Bot' },
    'admin.bots.token.issue': { user: victim.user.id }, // PROTOCOL.md §17 names it `user` (CONTRACT.md: `bot`)
    'admin.bots.token.revoke': { token_id: 't_1' },
    'admin.audit.list': {},
  };
  for (const [op, body] of Object.entries(ops)) {
    for (const [who, token] of [['a non-admin chat token', pleb.token], ["the admin's chat token", admin.token]]) {
      const r = await h.rest(srv, op, body, token);
      o.assertRestError(r, 403, 'forbidden', `${op} with ${who}`);
      assert.match(r.headers.get('content-type') || '', /application\/json/, `${op}: JSON`);
    }
    o.assertRestError(await h.rest(srv, op, body), 401, 'unauthorized', `${op} without a token`);
    o.assertRestError(await h.rest(srv, op, body, 'v4.public.garbage'), 401, 'unauthorized', `${op} with a garbage token`);
    // Over the WebSocket a chat socket cannot reach them either.
    try {
      const res = await pc.request(op, body);
      assert.fail(`${op} over WS answered ok: ${JSON.stringify(res).slice(0, 200)}`);
    } catch (e) {
      if (e.code === 'ERR_ASSERTION') throw e;
      assert.ok(['forbidden', 'not_found', 'bad_request'].includes(e.code), `${op} over WS: ${e.message}`);
    }
  }
  // Nothing happened.
  assert.equal((await h.rest(srv, 'auth.login', { email: victim.email, password: victim.password })).status, 200, 'victim untouched');
  assert.equal(smtp.messages.filter((m) => m.to.some((t) => t.startsWith('never-'))).length, 0, 'no invite went out');
  // The admin-audience token is for admin.* only.
  for (const [op, body] of [['group.list', {}], ['profile.get', {}], ['group.create', { name: 'x' }]]) {
    const r = await h.rest(srv, op, body, admin.adminToken);
    assert.ok([401, 403].includes(r.status) && r.body.ok === false, `${op} with an admin token: ${r.status} ${JSON.stringify(r.body)}`);
  }
  const ws = await h.connect(srv, { label: 'admin-token-ws' });
  let identified = false;
  try {
    await ws.identify(admin.adminToken);
    identified = true;
  } catch {
    /* refused: good */
  }
  assert.equal(identified, false, 'an admin-audience token does not identify a chat socket');
  ws.terminate();
  pc.close();
});

test('non-admins get 403 on every admin route whatever the body (authorisation before validation)', { skip, ...T }, async () => {
  const pleb = await h.signup(srv, 'Pleb Three');
  const ops = ['admin.invites.send', 'admin.invites.list', 'admin.invites.revoke', 'admin.invites.resend', 'admin.users.list',
    'admin.users.disable', 'admin.users.delete', 'admin.groups.list', 'admin.groups.members', 'admin.bots.create',
    'admin.bots.token.issue', 'admin.bots.token.revoke', 'admin.audit.list'];
  const wrong = [];
  for (const op of ops) {
    for (const body of [{}, { user: 'not-an-id', group: 7, emails: 'x' }]) {
      const r = await h.rest(srv, op, body, pleb.token);
      if (r.status !== 403) wrong.push(`${op} ${JSON.stringify(body)} -> ${r.status} ${JSON.stringify(r.body)}`);
    }
  }
  assert.deepEqual(wrong, [], 'a non-admin must get 403 before the body is looked at');
});

test('admin.users.list / disable (sockets close 4003, login fails) / enable / delete (scrubbed, email freed, messages stay)', { skip, ...T }, async () => {
  const v = await h.signup(srv, 'Disable Me');
  const c1 = await h.connectAs(srv, v, 'V1');
  const c2 = await h.connectAs(srv, v, 'V2');
  const list = await aok('admin.users.list', { limit: 100 });
  assert.equal(typeof list.more, 'boolean');
  const row = list.users.find((u) => u.id === v.user.id);
  assert.ok(row, 'the user is listed');
  assert.deepEqual({ ...row, created: undefined }, { id: v.user.id, email: v.email, name: 'Disable Me', is_admin: false, is_bot: false, disabled: false, created: undefined });
  assert.match(row.created, o.RFC3339);
  const me = list.users.find((u) => u.id === admin.user.id);
  assert.equal(me.is_admin, true);
  // Paging.
  const p1 = await aok('admin.users.list', { limit: 1 });
  assert.equal(p1.users.length, 1);
  assert.equal(p1.more, true);
  const p2 = await aok('admin.users.list', { limit: 1, after: Number(p1.users[0].id.slice(2)) });
  assert.equal(p2.users.length, 1);
  assert.notEqual(p2.users[0].id, p1.users[0].id);

  // Disable.
  assert.deepEqual(await aok('admin.users.disable', { user: v.user.id }), { ok: true });
  await closedWith(c1, 4003, 'disabled user');
  await closedWith(c2, 4003, 'disabled user');
  const li = await h.rest(srv, 'auth.login', { email: v.email, password: v.password });
  assert.ok([401, 403].includes(li.status) && li.body.ok === false, `a disabled user cannot log in: ${li.status} ${JSON.stringify(li.body)}`);
  const rr = await h.rest(srv, 'group.list', {}, v.token);
  assert.ok([401, 403].includes(rr.status), `a disabled user's access token stops working: ${rr.status}`);
  const c3 = await h.connect(srv, { label: 'V3' });
  c3.send({ op: 'identify', id: '1', d: { token: v.token } });
  await closedWith(c3, 4003, 'identify as a disabled user');
  const l2 = await aok('admin.users.list', { limit: 100 });
  assert.equal(l2.users.find((u) => u.id === v.user.id).disabled, true);
  // A disabled account gets no reset mail (and the answer is the same {}).
  assert.deepEqual((await h.rest(srv, 'auth.reset.request', { email: v.email })).body, { ok: true });
  await h.sleep(1000);
  assert.equal(smtp.to(v.email).length, 0, 'no reset mail for a disabled account');
  // Enable again.
  assert.deepEqual(await aok('admin.users.disable', { user: v.user.id, disabled: false }), { ok: true });
  assert.equal((await h.rest(srv, 'auth.login', { email: v.email, password: v.password })).status, 200, 'enabled again');

  // Delete.
  const x = await h.signup(srv, 'Group Keeper');
  const d = await h.signup(srv, 'Doomed');
  const xc = await h.connectAs(srv, x, 'Keeper');
  const g = await h.makeGroup(xc, [d], 'Remembers');
  const dc = await h.connectAs(srv, d, 'Doomed');
  const sent = await h.say(dc, g.rooms[0].id, 'my last words');
  assert.deepEqual(await aok('admin.users.delete', { user: d.user.id }), { ok: true });
  const info = await Promise.race([dc.closed, h.sleep(h.WAIT_MS).then(() => null)]);
  assert.ok(info, "a deleted user's socket is closed");
  o.assertRestError(await h.rest(srv, 'auth.login', { email: d.email, password: d.password }), 401, 'unauthorized', 'deleted user login');
  const { members } = await xc.request('member.list', { group: g.id });
  assert.ok(!members.some((m) => m.user.id === d.user.id), 'memberships removed');
  const hist = await xc.request('room.history', { room: g.rooms[0].id });
  const msg = hist.events.find((e) => e.op === 'message.created' && e.d.msg.id === sent.msg);
  assert.ok(msg, 'the message stays');
  assert.equal(msg.d.actor, d.user.id, 'authored by u_N');
  const l3 = await aok('admin.users.list', { limit: 100 });
  const gone = l3.users.find((u) => u.id === d.user.id);
  if (gone) {
    assert.equal(gone.name, 'Deleted user');
    assert.notEqual(gone.email, d.email, 'the email is scrubbed');
  }
  const again = await h.rest(srv, 'auth.signup', { email: d.email, name: 'Reborn', password: 'pw-reborn-123' });
  assert.equal(again.status, 200, `the email is free again: ${JSON.stringify(again.body)}`);
  assert.notEqual(again.body.user.id, d.user.id);
  // Errors.
  o.assertRestError(await A('admin.users.disable', { user: 'u_99999999' }), 404, 'not_found', 'unknown user');
  o.assertRestError(await A('admin.users.delete', { user: 'u_99999999' }), 404, 'not_found', 'unknown user');
  o.assertRestError(await A('admin.users.disable', { user: 'bob' }), 400, 'bad_request', 'bad id');
  xc.close();
});

test('admin.users.delete of an owner: each group passes to its longest-standing admin, else member; the members are told', { skip, ...T }, async () => {
  const [own, mem, adm, other] = [await h.signup(srv, 'Old Owner'), await h.signup(srv, 'Early Member'),
    await h.signup(srv, 'Later Admin'), await h.signup(srv, 'Other Owner')];
  const oc = await h.connectAs(srv, own, 'owner');
  const mc = await h.connectAs(srv, mem, 'member');
  const ac = await h.connectAs(srv, adm, 'admin');
  const xc = await h.connectAs(srv, other, 'other');
  const withAdmin = await h.makeGroup(oc, [mem, adm], 'Has an admin');
  await oc.request('member.role', { group: withAdmin.id, user: adm.user.id, role: 'admin' });
  const membersOnly = await h.makeGroup(oc, [mem, adm], 'Members only');
  const alone = await h.makeGroup(oc, [], 'Alone');
  const notOwned = await h.makeGroup(xc, [own], 'Not owned');

  assert.deepEqual(await aok('admin.users.delete', { user: own.user.id }), { ok: true });
  const passed = (c, g, heir) => c.waitFor((e) => e.op === 'member.role' && e.d.group === g.id && e.d.user === heir && e.d.role === 'owner');
  const left = (c, g) => c.waitFor((e) => e.op === 'member.left' && e.d.group === g.id && e.d.user === own.user.id);
  // An admin is preferred over a member who joined earlier; without admins, the earliest member.
  await Promise.all([passed(mc, withAdmin, adm.user.id), left(mc, withAdmin), passed(ac, membersOnly, mem.user.id),
    left(ac, membersOnly), left(xc, notOwned)]);
  const { groups } = await aok('admin.groups.list', {});
  const row = (g) => groups.find((r) => r.id === g.id);
  assert.deepEqual(row(withAdmin), { id: withAdmin.id, name: 'Has an admin', owner: adm.user.id, members: 2 });
  assert.deepEqual(row(membersOnly), { id: membersOnly.id, name: 'Members only', owner: mem.user.id, members: 2 });
  assert.deepEqual(row(notOwned), { id: notOwned.id, name: 'Not owned', owner: other.user.id, members: 1 });
  assert.equal(row(alone).members, 0, 'a group with no one left stays, empty');
  assert.equal(xc.events.filter((e) => e.op === 'member.role').length, 0, 'nothing passes in a group it did not own');
  // The heirs can act as owners.
  await ac.request('group.rename', { group: withAdmin.id, name: 'Has a new owner' });
  await mc.request('member.role', { group: membersOnly.id, user: adm.user.id, role: 'admin' });
  for (const c of [mc, ac, xc]) c.close();
});

test('admin.groups.list and admin.groups.members', { skip, ...T }, async () => {
  const x = await h.signup(srv, 'Lister');
  const y = await h.signup(srv, 'Listed');
  const xc = await h.connectAs(srv, x, 'Lister');
  const g = await h.makeGroup(xc, [y], `Listed group ${h.uid()}`);
  const { groups } = await aok('admin.groups.list', {});
  const row = groups.find((r) => r.id === g.id);
  assert.deepEqual(row, { id: g.id, name: g.name, owner: x.user.id, members: 2 });
  const { members } = await aok('admin.groups.members', { group: g.id });
  assert.equal(members.length, 2);
  const byId = Object.fromEntries(members.map((m) => [m.user.id, m]));
  assert.equal(byId[x.user.id].role, 'owner');
  assert.equal(byId[y.user.id].role, 'member');
  assert.equal(byId[y.user.id].user.name, 'Listed');
  o.assertRestError(await A('admin.groups.members', { group: 'g_99999999' }), 404, 'not_found', 'unknown group');
  xc.close();
});

test('bots: create (token shown once), identify over WS and talk in the group, REST Bearer; issue and revoke tokens (4003)', { skip, ...T }, async () => {
  const x = await h.signup(srv, 'Bot Keeper');
  const xc = await h.connectAs(srv, x, 'Keeper');
  const g = await h.makeGroup(xc, [], 'Bot playground');
  const room = g.rooms[0].id;
  const made = await aok('admin.bots.create', { name: 'Dice Bot', groups: [g.id] });
  assert.match(made.bot.id, o.ID('u'));
  assert.equal(made.bot.name, 'Dice Bot');
  assert.equal(typeof made.bot.email, 'string');
  assert.match(made.token, /^[A-Za-z0-9_-]{43}$/, 'a 43-char opaque token');
  const joined = await xc.waitFor((e) => e.op === 'member.joined' && e.d.user.id === made.bot.id);
  assert.deepEqual(joined.d.user, { id: made.bot.id, name: 'Dice Bot' });
  assert.equal(joined.d.role, 'member');

  const bc = await h.connect(srv, { token: made.token, label: 'bot' });
  assert.equal(bc.snapshot.user.id, made.bot.id);
  assert.ok(bc.snapshot.groups.some((x2) => x2.id === g.id), 'the bot is in its group');
  await h.say(bc, room, 'beep boop');
  const ev = await xc.waitFor((e) => e.op === 'message.created' && e.d.actor === made.bot.id);
  assert.equal(ev.d.msg.body, 'beep boop');
  // REST with the bot token.
  const rs = await o.ok(srv, 'message.send', { room, cid: `bot-${h.uid()}`, body: 'over REST' }, made.token);
  assert.ok(rs.seq > ev.d.seq);
  // The bot cannot do what it is not a member for, nor use admin routes.
  o.assertRestError(await h.rest(srv, 'admin.users.list', {}, made.token), 403, 'forbidden', 'bot token on admin route');
  // Listed as a bot; the token is shown nowhere else.
  const users = await aok('admin.users.list', { limit: 100 });
  assert.equal(users.users.find((u) => u.id === made.bot.id).is_bot, true);
  assert.ok(!JSON.stringify(users).includes(made.token), 'token not in users.list');

  // Issue a second token, use it, revoke it: its socket closes 4003, the first token's socket lives on.
  const issued = await aok('admin.bots.token.issue', { user: made.bot.id });
  assert.match(issued.token, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(issued.token, made.token);
  assert.match(issued.token_id, o.ID('t'));
  const bc2 = await h.connect(srv, { token: issued.token, label: 'bot2' });
  assert.equal(bc2.snapshot.user.id, made.bot.id);
  assert.deepEqual(await aok('admin.bots.token.revoke', { token_id: issued.token_id }), { ok: true });
  await closedWith(bc2, 4003, 'revoked bot token');
  assert.equal((await bc.request('ping', {})).op, 'pong', 'the other token still works');
  const bc3 = await h.connect(srv, { label: 'bot3' });
  bc3.send({ op: 'identify', id: '1', d: { token: issued.token } });
  const info = await Promise.race([bc3.closed, h.sleep(h.WAIT_MS).then(() => null)]);
  assert.ok(info && [4002, 4003].includes(info.code), `identify with a revoked bot token: ${JSON.stringify(info)}`);
  o.assertRestError(await h.rest(srv, 'group.list', {}, issued.token), 401, 'unauthorized', 'revoked bot token over REST');
  // Errors.
  o.assertRestError(await A('admin.bots.token.issue', { user: x.user.id }), 404, 'not_found', 'token for a person ("no such bot")');
  o.assertRestError(await A('admin.bots.token.issue', { user: 'u_99999999' }), 404, 'not_found', 'unknown bot');
  // A bot account cannot log in with a password nor reset one.
  o.assertRestError(await h.rest(srv, 'auth.login', { email: made.bot.email, password: 'anything-at-all' }), 401, 'unauthorized', 'bot password login');
  const rr = await h.rest(srv, 'auth.reset.request', { email: made.bot.email });
  assert.deepEqual(rr.body, { ok: true }, 'reset for a bot: {} like any address');
  o.assertRestError(await A('admin.bots.token.revoke', { token_id: 't_99999999' }), 404, 'not_found', 'unknown token');
  o.assertRestError(await A('admin.bots.create', { name: 'Bad\r\nBot' }), 400, 'bad_request', 'CRLF in a bot name');
  o.assertRestError(await A('admin.bots.create', { name: 'Lost Bot', groups: ['g_99999999'] }), 404, 'not_found', 'unknown group');
  const lone = await aok('admin.bots.create', { name: 'Lone Bot' });
  const lc = await h.connect(srv, { token: lone.token, label: 'lone' });
  assert.deepEqual(lc.snapshot.groups, []);
  await h.sleep(1000);
  assert.equal(smtp.to(made.bot.email).length, 0, 'no reset mail for a bot account');
  for (const c of [xc, bc, lc]) c.close();
});

test('admin.bots.create keeps groups_per_user and group_members: a conflict that names the limit, and no bot', { skip, ...T }, async () => {
  const small = await o.startNatter({ limits: { groups_per_user: 2, group_members: 2 } });
  try {
    const adm = await o.setupAdmin(small, 'Small Admin');
    const [x, y, z] = [await h.signup(small, 'Owner X'), await h.signup(small, 'Owner Y'), await h.signup(small, 'Owner Z')];
    const [xc, yc, zc] = [await h.connectAs(small, x, 'X'), await h.connectAs(small, y, 'Y'), await h.connectAs(small, z, 'Z')];
    const g1 = (await xc.request('group.create', { name: 'one' })).group.id;
    const g2 = (await xc.request('group.create', { name: 'two' })).group.id;
    const g3 = (await yc.request('group.create', { name: 'full' })).group.id;
    await yc.request('member.add', { group: g3, email: z.email });
    const g4 = (await zc.request('group.create', { name: 'four' })).group.id;
    const bot = (groups) => h.rest(small, 'admin.bots.create', { name: 'Greedy Bot', groups }, adm.adminToken);
    o.assertRestError(await bot([g1, g2, g4]), 409, 'conflict', 'a bot in three groups, groups_per_user 2', /groups_per_user/);
    o.assertRestError(await bot([g3]), 409, 'conflict', 'a bot into a full group', /group_members/);
    for (const [c, g] of [[xc, g1], [xc, g2], [zc, g4]]) {
      const { members } = await c.request('member.list', { group: g });
      assert.equal(members.length, 1, 'a refused bot joins nothing');
    }
    const ok = await o.ok(small, 'admin.bots.create', { name: 'Fair Bot', groups: [g1, g4] }, adm.adminToken);
    const bc = await h.connect(small, { token: ok.token, label: 'fair' });
    assert.deepEqual(bc.snapshot.groups.map((g) => g.id).sort(), [g1, g4].sort());
    for (const c of [xc, yc, zc, bc]) c.close();
  } finally {
    await small.stop();
  }
});

test('admin invites: bulk send (mails go out), list with filters, revoke, resend (new code, new mail), bulk limit', { skip, ...T }, async () => {
  const x = await h.signup(srv, 'Invitee Host');
  const xc = await h.connectAs(srv, x, 'Host');
  const g = await h.makeGroup(xc, [], 'Bulk Club');
  const emails = [fresh('bulk1'), fresh('bulk2'), fresh('bulk3')];
  const sent = await aok('admin.invites.send', { group: g.id, emails });
  assert.equal(sent.invites.length, 3);
  for (const [n, i] of sent.invites.entries()) {
    o.assertInvite(i, { group: g.id, state: 'pending', inviter: admin.user.id });
    assert.equal(i.email, emails[n], 'in the order given');
  }
  // An address with an account: its sockets are told at once, with the admin as the inviter.
  const known = await h.signup(srv, 'Known Invitee');
  const kc = await h.connectAs(srv, known, 'Known');
  const g2 = await h.makeGroup(xc, [], 'Bulk Club Two');
  const [k] = (await aok('admin.invites.send', { group: g2.id, emails: [known.email] })).invites;
  const got = await kc.waitFor((e) => e.op === 'invite.received' && e.d.invite.id === k.id);
  assert.deepEqual(got.d.invite.group, { id: g2.id, name: 'Bulk Club Two' });
  assert.deepEqual(got.d.invite.inviter, { id: admin.user.id, name: 'Root Admin' });
  kc.close();
  const mails = [];
  for (const e of emails) mails.push(await smtp.waitForTo(e, o.MAIL_WAIT_MS));
  assert.equal(mails[0].parsed.subject, 'Root Admin invited you to Bulk Club on Natter');
  const codes = mails.map((m) => o.inviteCodeFromMail(m).code);
  assert.equal(new Set(codes).size, 3, 'each invite has its own code');

  const all = await aok('admin.invites.list', { group: g.id });
  assert.deepEqual(all.invites.map((i) => i.id).sort(), sent.invites.map((i) => i.id).sort());
  const one = await aok('admin.invites.list', { group: g.id, limit: 1 });
  assert.equal(one.invites.length, 1);
  await o.waitAdminInvite(srv, admin.adminToken, sent.invites[0].id, (i) => i.delivery.status === 'sent', o.MAIL_WAIT_MS, { group: g.id });

  // Revoke #1.
  assert.deepEqual(await aok('admin.invites.revoke', { invite: sent.invites[0].id }), { ok: true });
  o.assertRestError(await h.rest(srv, 'auth.signup', { email: emails[0], name: 'Bulk One', password: 'pw-bulk-12345', invite_code: codes[0] }),
    409, 'conflict', 'revoked by the admin', /invite revoked/);
  const revoked = await aok('admin.invites.list', { group: g.id, state: 'revoked' });
  assert.deepEqual(revoked.invites.map((i) => i.id), [sent.invites[0].id]);
  const pending = await aok('admin.invites.list', { group: g.id, state: 'pending' });
  assert.deepEqual(pending.invites.map((i) => i.id).sort(), [sent.invites[1].id, sent.invites[2].id].sort());

  // Resend #2: new code and expiry, a new mail.
  const rs = await aok('admin.invites.resend', { invite: sent.invites[1].id });
  o.assertInvite(rs.invite, { state: 'pending', email: emails[1] });
  assert.ok(Date.parse(rs.invite.expires) >= Date.parse(sent.invites[1].expires), 'a fresh expiry');
  const m2 = await smtp.waitForTo(emails[1], o.MAIL_WAIT_MS, 2);
  const code2 = o.inviteCodeFromMail(m2).code;
  assert.notEqual(code2, codes[1], 'a new code');
  const old = await h.rest(srv, 'auth.signup', { email: emails[1], name: 'Bulk Two', password: 'pw-bulk-12345', invite_code: codes[1] });
  assert.ok([404, 409].includes(old.status), `the old code is dead after a resend: ${old.status} ${JSON.stringify(old.body)}`);
  const su = await o.ok(srv, 'auth.signup', { email: emails[1], name: 'Bulk Two', password: 'pw-bulk-12345', invite_code: code2 });
  await xc.waitFor((e) => e.op === 'member.joined' && e.d.user.id === su.user.id);

  // Limits and errors.
  const tooMany = Array.from({ length: BULK_MAX + 1 }, (_, n) => fresh(`many${n}`));
  const r = await A('admin.invites.send', { group: g.id, emails: tooMany });
  assert.ok([400, 413].includes(r.status) && r.body.ok === false, `over invite_bulk_max: ${r.status} ${JSON.stringify(r.body)}`);
  o.assertRestError(await A('admin.invites.send', { group: 'g_99999999', emails: [fresh('x')] }), 404, 'not_found', 'unknown group');
  o.assertRestError(await A('admin.invites.revoke', { invite: 'i_99999999' }), 404, 'not_found', 'unknown invite');
  o.assertRestError(await A('admin.invites.list', { state: 'bogus' }), 400, 'bad_request', 'unknown state filter');
  xc.close();
});

test('admin.audit.list: every admin action with its actor, target and time, newest first, paged with before', { skip, ...T }, async () => {
  const { entries } = await aok('admin.audit.list', { limit: 100 });
  assert.ok(entries.length > 0);
  for (const e of entries) {
    assert.match(String(e.id), /^[A-Za-z0-9_]+$/);
    assert.match(e.ts, o.RFC3339);
    assert.ok(Date.parse(e.ts) >= started - 60000 && Date.parse(e.ts) <= Date.now() + 5000, `ts ${e.ts}`);
    assert.equal(typeof e.action, 'string');
    assert.ok('target' in e && 'detail' in e, `entry shape: ${JSON.stringify(e)}`);
  }
  const mutating = ['admin.users.disable', 'admin.users.delete', 'admin.bots.create', 'admin.bots.token.issue',
    'admin.bots.token.revoke', 'admin.invites.send', 'admin.invites.revoke', 'admin.invites.resend'];
  for (const action of mutating) {
    if (!done.has(action)) continue; // that test failed before doing it
    const hits = entries.filter((e) => e.action === action);
    assert.ok(hits.length >= 1, `no audit entry for ${action}; actions: ${[...new Set(entries.map((e) => e.action))].join(', ')}`);
    for (const e of hits) assert.equal(e.actor, admin.user.id, `${action} actor`);
  }
  const dis = entries.filter((e) => e.action === 'admin.users.disable');
  assert.ok(dis.every((e) => typeof e.target === 'string' && /^u_\d+$/.test(e.target)), `disable targets: ${JSON.stringify(dis)}`);
  for (let i = 1; i < entries.length; i++) {
    assert.ok(Date.parse(entries[i - 1].ts) >= Date.parse(entries[i].ts), 'newest first');
  }
  // No secrets in the log.
  assert.ok(!/[A-Za-z0-9_-]{43}/.test(JSON.stringify(entries.map((e) => e.detail))), 'no token or code in audit details');
  const page = await aok('admin.audit.list', { limit: 2 });
  assert.equal(page.entries.length, 2);
  const next = await aok('admin.audit.list', { limit: 2, before: page.entries[1].id });
  assert.ok(next.entries.length >= 1);
  assert.ok(!next.entries.some((e) => page.entries.some((p) => p.id === e.id)), 'before pages to older entries');
});

test('the SMTP stand-in saw no protocol violation', { skip }, () => {
  assert.deepEqual(smtp.violations, []);
});

o.schemaCoverageTest(test, skip);
