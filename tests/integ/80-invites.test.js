'use strict';
// Invites by email (issue 4): a real SMTP server (npm smtp-server, STARTTLS with a self-signed
// certificate that natter trusts via --smtp-ca-file) receives the mail; mailparser parses it; the
// code in the link signs a new user up into the group, or an existing user accepts or declines.
const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const o = require('./lib/outbound');
const { SmtpStandin } = require('./lib/smtp-standin');

const skip = h.binaryMissing();
const T = { timeout: 120000 };
let smtp;
let srv;

before(async () => {
  if (skip) return;
  smtp = await SmtpStandin.start();
  srv = await o.startNatter({ smtp, limits: { send_per_s: 1000, send_burst: 1000, invites_per_h: 1000 } });
});

const fresh = (tag) => `${tag}-${h.uid()}@example.test`;

/** An owner with a socket and a group (its name given). */
async function owner(name, groupName) {
  const u = await h.signup(srv, name);
  u.c = await h.connectAs(srv, u, name);
  u.group = await h.makeGroup(u.c, [], groupName || `Group ${h.uid()}`);
  return u;
}

function assertRfc5322(mail, { from, to }) {
  const p = mail.parsed;
  assert.ok(p, 'mailparser parsed the message');
  assert.equal(mail.secure, true, 'the message came over STARTTLS');
  const raw = mail.text;
  // Header section: CRLF line endings, every line <= 998 octets, no bare CR or LF anywhere.
  assert.ok(!/[^\r]\n/.test(raw) && !/\r(?!\n)/.test(raw), 'only CRLF line endings');
  for (const line of raw.split('\r\n')) assert.ok(Buffer.byteLength(line) <= 998, `line over 998 octets: ${line.slice(0, 80)}...`);
  const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
  for (const hd of ['From', 'To', 'Subject', 'Date', 'Message-ID', 'MIME-Version']) {
    const n = (head.match(new RegExp(`^${hd}:`, 'gmi')) || []).length;
    assert.equal(n, 1, `exactly one ${hd}: header (found ${n}) in:\n${head}`);
  }
  assert.ok(/^MIME-Version:\s*1\.0\s*$/mi.test(head), 'MIME-Version: 1.0');
  assert.equal(p.from.value.length, 1);
  assert.equal(p.from.value[0].address.toLowerCase(), from.toLowerCase(), 'From header');
  assert.deepEqual(p.to.value.map((a) => a.address.toLowerCase()), [to.toLowerCase()], 'To header');
  assert.deepEqual(mail.to, [to.toLowerCase()], 'envelope RCPT TO');
  assert.equal(mail.envelope.from.toLowerCase(), from.toLowerCase(), 'envelope MAIL FROM is the From address');
  assert.ok(p.date instanceof Date && !Number.isNaN(p.date.getTime()), 'Date parses');
  assert.ok(Math.abs(p.date.getTime() - Date.now()) < 5 * 60 * 1000, `Date is now-ish: ${p.date.toISOString()}`);
  assert.match(p.messageId || '', /^<[^<>@\s]+@[^<>@\s]+>$/, `Message-ID is <left@right>: ${p.messageId}`);
  assert.ok(!p.bcc && !p.cc, 'no Cc/Bcc');
  // multipart/alternative with a text/plain and a text/html part.
  assert.equal(p.headers.get('content-type').value, 'multipart/alternative', `top-level Content-Type: ${JSON.stringify(p.headers.get('content-type'))}`);
  assert.equal(typeof p.text, 'string', 'has a text/plain part');
  assert.equal(typeof p.html, 'string', 'has a text/html part');
  assert.ok(/Content-Type:\s*text\/plain/i.test(raw) && /Content-Type:\s*text\/html/i.test(raw), 'both parts are declared');
}

test('an owner invites by email over WS: an RFC 5322 multipart/alternative mail over STARTTLS, naming the group and the inviter, with a single-use link', { skip, ...T }, async () => {
  const ada = await owner('Ada Lovelace', 'Analytical Engine Club');
  const email = fresh('Newbie'); // mixed case: stored and sent lowercased
  const { invite } = await ada.c.request('invite.create', { group: ada.group.id, email });
  o.assertInvite(invite, { group: ada.group.id, email: email.toLowerCase(), inviter: ada.user.id, state: 'pending', status: 'queued' });
  const ttl = (Date.parse(invite.expires) - Date.parse(invite.created)) / 1000;
  assert.ok(Math.abs(ttl - 604800) <= 2, `default expiry is invite_ttl_s=604800 after creation (got ${ttl} s)`);

  const mail = await smtp.waitForTo(email, o.MAIL_WAIT_MS);
  assertRfc5322(mail, { from: 'natter@chat.example.test', to: email });
  const p = mail.parsed;
  assert.equal(p.subject, 'Ada Lovelace invited you to Analytical Engine Club on Natter');
  for (const [part, body] of [['text', p.text], ['html', p.html]]) {
    assert.ok(body.includes('Analytical Engine Club'), `${part} part names the group:\n${body}`);
    assert.ok(body.includes('Ada Lovelace'), `${part} part names the inviter:\n${body}`);
  }
  const { code } = o.inviteCodeFromMail(mail);
  assert.ok(p.html.includes(`href="${o.PUBLIC_URL}/?invite=${code}"`), `the html part links the code:\n${p.html}`);
  // Message-ID: CONTRACT.md says <invite-i_N.<random>@<host>>, PROTOCOL.md §13.3 <invite.<32 hex>@<host>>.
  const mid = o.bareId(p.messageId);
  assert.match(mid, new RegExp(`^(invite-${invite.id}\\.[^@]+|invite\\.[0-9a-f]{32})@chat\\.example\\.test$`), `Message-ID ${p.messageId}`);
  // The code is not in the Message-ID, the headers or anything the API shows.
  assert.ok(!mail.text.slice(0, mail.text.indexOf('\r\n\r\n')).includes(code), 'code not in a header');
  // Delivery: queued -> sent, with the same Message-ID.
  const sent = await o.waitInvite(ada.c, ada.group.id, invite.id, (i) => i.delivery.status === 'sent');
  o.assertInvite(sent, { state: 'pending' });
  assert.ok(sent.delivery.attempts >= 1, `attempts ${sent.delivery.attempts}`);
  assert.equal(sent.delivery.last_error, null);
  assert.equal(o.bareId(sent.delivery.message_id), mid, 'invite.list shows the Message-ID that was sent');
  if (invite.delivery.message_id) assert.equal(o.bareId(invite.delivery.message_id), mid, 'Message-ID fixed when the invite was made');
  assert.ok(!JSON.stringify(sent).includes(code), 'invite.list never shows the code');
  assert.equal(smtp.to(email).length, 1, 'one mail');
  assert.deepEqual(smtp.violations, []);
  ada.c.close();
});

test('invite over REST, then the link signs a new user up into the group; members get member.joined; the code is single-use', { skip, ...T }, async () => {
  const bob = await owner('Bob Owner', 'Knitting Circle');
  const member = await h.signup(srv, 'Mia Member');
  await bob.c.request('member.add', { group: bob.group.id, email: member.email });
  const mc = await h.connectAs(srv, member, 'Mia');
  const email = fresh('carol');
  const r = await o.ok(srv, 'invite.create', { group: bob.group.id, email }, bob.token);
  const invite = o.assertInvite(r.invite, { group: bob.group.id, email, inviter: bob.user.id, state: 'pending' });
  const mail = await smtp.waitForTo(email, o.MAIL_WAIT_MS);
  assertRfc5322(mail, { from: 'natter@chat.example.test', to: email });
  assert.equal(mail.parsed.subject, 'Bob Owner invited you to Knitting Circle on Natter');
  const { code } = o.inviteCodeFromMail(mail);

  // Someone else's address with this code: forbidden, and no account is made.
  const other = fresh('mallory');
  o.assertRestError(await h.rest(srv, 'auth.signup', { email: other, name: 'Mallory', password: 'pw-mallory-123', invite_code: code }),
    403, 'forbidden', 'signup with the code and a different email');
  o.assertRestError(await h.rest(srv, 'auth.login', { email: other, password: 'pw-mallory-123' }), 401, 'unauthorized', 'no account was made');
  // An unknown code.
  o.assertRestError(await h.rest(srv, 'auth.signup', { email, name: 'Carol', password: 'pw-carol-123', invite_code: 'A'.repeat(43) }),
    404, 'not_found', 'unknown code', /invite not found/);

  // The invited address signs up with the code from the link: it is in the group at once.
  const su = await o.ok(srv, 'auth.signup', { email, name: 'Carol', password: 'pw-carol-123', invite_code: code });
  const carolId = su.user.id;
  for (const c of [bob.c, mc]) {
    const ev = await c.waitFor((e) => e.op === 'member.joined' && e.d.group === bob.group.id && e.d.user.id === carolId);
    assert.deepEqual(ev.d.user, { id: carolId, name: 'Carol' });
    assert.equal(ev.d.role, 'member');
    assert.equal(ev.d.actor, bob.user.id, 'member.joined actor is the inviter (PROTOCOL.md §13.1)');
  }
  const cc = await h.connect(srv, { token: su.access_token, label: 'Carol' });
  const g = cc.snapshot.groups.find((x) => x.id === bob.group.id);
  assert.ok(g, `the new user's snapshot has the group: ${JSON.stringify(cc.snapshot.groups)}`);
  assert.equal(g.role, 'member');
  const { members } = await bob.c.request('member.list', { group: bob.group.id });
  assert.ok(members.some((m) => m.user.id === carolId && m.role === 'member'));
  // She can talk there right away.
  await h.say(cc, g.rooms[0].id, 'thanks for the invite!');
  await bob.c.waitFor((e) => e.op === 'message.created' && e.d.actor === carolId);

  // The invite is accepted; its code is spent.
  const acc = await o.waitInvite(bob.c, bob.group.id, invite.id, (i) => i.state === 'accepted', h.WAIT_MS);
  o.assertInvite(acc);
  const again = await h.rest(srv, 'auth.signup', { email: fresh('late'), name: 'Late', password: 'pw-late-1234', invite_code: code });
  assert.ok([403, 409].includes(again.status), `a used code cannot be used again: ${again.status} ${JSON.stringify(again.body)}`);
  await o.wsError(cc, 'invite.accept', { code }, 'conflict', /invite already used/);
  for (const c of [bob.c, mc, cc]) c.close();
});

test('an existing user sees invite.pending, accepts one (group.joined, member.joined) and declines another', { skip, ...T }, async () => {
  const dan = await owner('Dan Owner', 'Chess Club');
  const gB = (await dan.c.request('group.create', { name: 'Go Club' })).group;
  const eve = await h.signup(srv, 'Eve Existing');
  const ec = await h.connectAs(srv, eve, 'Eve');
  const ec2 = await h.connectAs(srv, eve, 'Eve-2'); // her other socket: gets group.joined
  const i1 = (await dan.c.request('invite.create', { group: dan.group.id, email: eve.email })).invite;
  const i2 = (await dan.c.request('invite.create', { group: gB.id, email: eve.email.toUpperCase() })).invite;
  assert.equal(i2.email, eve.email, 'addresses are compared lowercased');
  await smtp.waitForTo(eve.email, o.MAIL_WAIT_MS, 2); // existing users get the mail too

  const { invites } = await ec.request('invite.pending', {});
  const p1 = invites.find((x) => x.id === i1.id);
  const p2 = invites.find((x) => x.id === i2.id);
  assert.ok(p1 && p2, `both invites pending: ${JSON.stringify(invites)}`);
  // Both of her sockets were told at once, with the invite as invite.pending lists it.
  for (const c of [ec, ec2]) {
    for (const [inv, p] of [[i1, p1], [i2, p2]]) {
      const ev = await c.waitFor((e) => e.op === 'invite.received' && e.d.invite.id === inv.id);
      assert.deepEqual(ev.d.invite, p);
    }
  }
  assert.equal(dan.c.events.filter((e) => e.op === 'invite.received').length, 0, 'only the invitee is told');
  assert.deepEqual(p1.group, { id: dan.group.id, name: 'Chess Club' });
  assert.deepEqual(p1.inviter, { id: dan.user.id, name: 'Dan Owner' });
  assert.match(p1.expires, o.RFC3339);
  assert.deepEqual(p2.group, { id: gB.id, name: 'Go Club' });
  // Someone else cannot see or take Eve's invites.
  const zed = await h.signup(srv, 'Zed');
  const zc = await h.connectAs(srv, zed, 'Zed');
  const zp = await zc.request('invite.pending', {});
  assert.ok(!zp.invites.some((x) => x.id === i1.id), 'invite.pending shows only my invites');
  await o.wsError(zc, 'invite.accept', { invite: i1.id }, 'forbidden');
  await o.wsError(zc, 'invite.decline', { invite: i1.id }, 'not_found'); // PROTOCOL.md: "also for an invite addressed to someone else"

  // Accept by id.
  const acc = await ec.request('invite.accept', { invite: i1.id });
  assert.equal(acc.group.id, dan.group.id);
  assert.equal(acc.group.role, 'member');
  assert.ok(Array.isArray(acc.group.rooms) && acc.group.rooms.length >= 1);
  const gj = await ec2.waitFor((e) => e.op === 'group.joined' && e.d.group.id === dan.group.id);
  assert.equal(gj.d.group.name, 'Chess Club');
  const mj = await dan.c.waitFor((e) => e.op === 'member.joined' && e.d.user.id === eve.user.id);
  assert.deepEqual(mj.d.user, { id: eve.user.id, name: 'Eve Existing' });
  assert.equal(mj.d.role, 'member');
  assert.equal(mj.d.group, dan.group.id);
  assert.equal(mj.d.actor, dan.user.id, 'actor: the inviter');
  // She hears about her new group's messages at once, on both sockets.
  await h.say(dan.c, acc.group.rooms[0].id, 'welcome Eve');
  for (const c of [ec, ec2]) await c.waitFor((e) => e.op === 'message.created' && e.d.room === acc.group.rooms[0].id);
  await o.wsError(ec, 'invite.accept', { invite: i1.id }, 'conflict', /invite already used/);

  // Decline the other.
  assert.deepEqual(await ec.request('invite.decline', { invite: i2.id }), {});
  const after = await ec.request('invite.pending', {});
  assert.ok(!after.invites.some((x) => x.id === i1.id || x.id === i2.id), `nothing pending: ${JSON.stringify(after.invites)}`);
  const st = await dan.c.request('invite.list', { group: gB.id });
  assert.equal(st.invites.find((x) => x.id === i2.id).state, 'declined');
  const st1 = await dan.c.request('invite.list', { group: dan.group.id });
  assert.equal(st1.invites.find((x) => x.id === i1.id).state, 'accepted');
  await o.wsError(ec, 'invite.accept', { invite: i2.id }, 'conflict', /invite already used/);
  const { groups } = await ec.request('group.list', {});
  assert.ok(!groups.some((g) => g.id === gB.id), 'declining does not join');
  for (const c of [dan.c, ec, ec2, zc]) c.close();
});

test('an existing user accepts with the code from the mail (invite.accept {code}); the code is then spent', { skip, ...T }, async () => {
  const fay = await owner('Fay Owner', 'Garden Plot');
  const gus = await h.signup(srv, 'Gus');
  const gc = await h.connectAs(srv, gus, 'Gus');
  const { invite } = await fay.c.request('invite.create', { group: fay.group.id, email: gus.email });
  const { code } = o.inviteCodeFromMail(await smtp.waitForTo(gus.email, o.MAIL_WAIT_MS));
  const acc = await gc.request('invite.accept', { code });
  assert.equal(acc.group.id, fay.group.id);
  await fay.c.waitFor((e) => e.op === 'member.joined' && e.d.user.id === gus.user.id);
  await o.wsError(gc, 'invite.accept', { code }, 'conflict', /invite already used/);
  await o.wsError(gc, 'invite.accept', { code: 'B'.repeat(43) }, 'not_found', /invite not found/);
  await o.wsError(gc, 'invite.accept', {}, 'bad_request');
  const l = await fay.c.request('invite.list', { group: fay.group.id });
  assert.equal(l.invites.find((x) => x.id === invite.id).state, 'accepted');
  fay.c.close();
  gc.close();
});

test('revoked codes are refused with conflict "invite revoked"; re-inviting replaces (revokes) the pending invite', { skip, ...T }, async () => {
  const hal = await owner('Hal Owner', 'Astronomy');
  const email = fresh('ivy');
  const first = (await hal.c.request('invite.create', { group: hal.group.id, email })).invite;
  const code1 = o.inviteCodeFromMail(await smtp.waitForTo(email, o.MAIL_WAIT_MS)).code;
  // Re-invite: a new invite, a new mail with a new code; the old one is revoked.
  const second = (await hal.c.request('invite.create', { group: hal.group.id, email })).invite;
  assert.notEqual(second.id, first.id);
  const m2 = await smtp.waitForTo(email, o.MAIL_WAIT_MS, 2);
  const code2 = o.inviteCodeFromMail(m2).code;
  assert.notEqual(code2, code1, 'a new code');
  assert.notEqual(o.bareId(m2.parsed.messageId), o.bareId(smtp.to(email)[0].parsed.messageId), 'a new invite has its own Message-ID');
  const list = await hal.c.request('invite.list', { group: hal.group.id });
  assert.equal(list.invites.find((x) => x.id === first.id).state, 'revoked');
  assert.equal(list.invites.find((x) => x.id === second.id).state, 'pending');
  assert.equal(list.invites[0].id, second.id, 'invite.list is newest first');
  o.assertRestError(await h.rest(srv, 'auth.signup', { email, name: 'Ivy', password: 'pw-ivy-12345', invite_code: code1 }),
    409, 'conflict', 'the replaced code', /invite revoked/);
  // Revoke the second one explicitly.
  assert.deepEqual(await hal.c.request('invite.revoke', { invite: second.id }), {});
  o.assertRestError(await h.rest(srv, 'auth.signup', { email, name: 'Ivy', password: 'pw-ivy-12345', invite_code: code2 }),
    409, 'conflict', 'a revoked code', /invite revoked/);
  // Without a code she can still sign up; she is in no group.
  const ivy = await o.ok(srv, 'auth.signup', { email, name: 'Ivy', password: 'pw-ivy-12345' });
  const ic = await h.connect(srv, { token: ivy.access_token, label: 'Ivy' });
  assert.ok(!ic.snapshot.groups.some((g) => g.id === hal.group.id));
  const pend = await ic.request('invite.pending', {});
  assert.ok(!pend.invites.some((x) => x.id === first.id || x.id === second.id), 'revoked invites are not pending');
  await o.wsError(ic, 'invite.accept', { invite: second.id }, 'conflict', /invite revoked/);
  hal.c.close();
  ic.close();
});

test('who may invite: owner and group admins; plain members get forbidden, outsiders not_found; members and bad input are refused', { skip, ...T }, async () => {
  const jo = await owner('Jo Owner', 'Rowing');
  const adm = await h.signup(srv, 'Kim Admin');
  const mem = await h.signup(srv, 'Lou Member');
  const out = await h.signup(srv, 'Max Outsider');
  for (const u of [adm, mem]) await jo.c.request('member.add', { group: jo.group.id, email: u.email });
  await jo.c.request('member.role', { group: jo.group.id, user: adm.user.id, role: 'admin' });
  const ac = await h.connectAs(srv, adm, 'Kim');
  const mc = await h.connectAs(srv, mem, 'Lou');
  const oc = await h.connectAs(srv, out, 'Max');

  const byAdmin = (await ac.request('invite.create', { group: jo.group.id, email: fresh('viaadmin') })).invite;
  assert.equal(byAdmin.inviter, adm.user.id);
  await o.wsError(mc, 'invite.create', { group: jo.group.id, email: fresh('x') }, 'forbidden');
  await o.wsError(oc, 'invite.create', { group: jo.group.id, email: fresh('x') }, 'not_found'); // PROTOCOL.md: not_found also for non-members
  await o.wsError(mc, 'invite.list', { group: jo.group.id }, 'forbidden');
  await o.wsError(mc, 'invite.revoke', { invite: byAdmin.id }, 'forbidden');
  o.assertRestError(await h.rest(srv, 'invite.create', { group: jo.group.id, email: fresh('x') }, mem.token), 403, 'forbidden', 'member over REST');
  o.assertRestError(await h.rest(srv, 'invite.create', { group: jo.group.id, email: fresh('x') }), 401, 'unauthorized', 'no token');
  // An address that is already a member.
  await o.wsError(jo.c, 'invite.create', { group: jo.group.id, email: mem.email }, 'conflict');
  await o.wsError(jo.c, 'invite.create', { group: jo.group.id, email: mem.email.toUpperCase() }, 'conflict');
  // Unknown group / invite, bad shapes.
  await o.wsError(jo.c, 'invite.create', { group: 'g_99999999', email: fresh('x') }, 'not_found');
  await o.wsError(jo.c, 'invite.create', { group: 'nope', email: fresh('x') }, 'bad_request');
  await o.wsError(jo.c, 'invite.create', { group: jo.group.id }, 'bad_request');
  await o.wsError(jo.c, 'invite.revoke', { invite: 'i_99999999' }, 'not_found');
  await o.wsError(jo.c, 'invite.accept', { invite: 'i_99999999' }, 'not_found');
  for (const c of [jo.c, ac, mc, oc]) c.close();
});

test('HTML is escaped in the html part and non-ASCII names survive (RFC 2047 subject)', { skip, ...T }, async () => {
  const zoe = await owner('Zoë <b>Ünal</b>', 'Café ☕ & <Friends>');
  const email = fresh('html');
  await zoe.c.request('invite.create', { group: zoe.group.id, email });
  const mail = await smtp.waitForTo(email, o.MAIL_WAIT_MS);
  const p = mail.parsed;
  assert.equal(p.subject, 'Zoë <b>Ünal</b> invited you to Café ☕ & <Friends> on Natter');
  const head = mail.text.slice(0, mail.text.indexOf('\r\n\r\n'));
  assert.ok(/^[\x00-\x7f]*$/.test(head), 'the header section is 7-bit (non-ASCII goes in encoded-words)');
  assert.ok(p.text.includes('Café ☕ & <Friends>'), `text part: ${p.text}`);
  assert.ok(p.text.includes('Zoë <b>Ünal</b>'), `text part: ${p.text}`);
  assert.ok(!p.html.includes('<Friends>') && !p.html.includes('<b>Ünal'), `html part must escape names:\n${p.html}`);
  assert.ok(/Café ☕ &amp; &lt;Friends&gt;/.test(p.html), `html part shows the escaped group name:\n${p.html}`);
  o.inviteCodeFromMail(mail);
  zoe.c.close();
});

test('expired codes: conflict "invite expired" for signup and accept; the invite shows state expired (invite_ttl_s=1)', { skip, ...T }, async () => {
  const s2 = await o.startNatter({ smtp, limits: { invite_ttl_s: 1 } });
  const ow = await h.signup(s2, 'Nia Owner');
  const oc = await h.connectAs(s2, ow, 'Nia');
  const g = await h.makeGroup(oc, [], 'Short Lived');
  const email = fresh('late');
  const existing = await h.signup(s2, 'Oz');
  const ozc = await h.connectAs(s2, existing, 'Oz');
  const inv1 = (await oc.request('invite.create', { group: g.id, email })).invite;
  const ttl = (Date.parse(inv1.expires) - Date.parse(inv1.created)) / 1000;
  assert.ok(ttl > 0 && ttl <= 2, `expires is invite_ttl_s after created: ${ttl}`);
  const inv2 = (await oc.request('invite.create', { group: g.id, email: existing.email })).invite;
  const { code } = o.inviteCodeFromMail(await smtp.waitForTo(email, o.MAIL_WAIT_MS));
  await h.until(async () => Date.now() > Date.parse(inv2.expires) + 1200, 10000);
  o.assertRestError(await h.rest(s2, 'auth.signup', { email, name: 'Late', password: 'pw-late-12345', invite_code: code }),
    409, 'conflict', 'an expired code', /invite expired/);
  await o.wsError(ozc, 'invite.accept', { invite: inv2.id }, 'conflict', /invite expired/);
  const pend = await ozc.request('invite.pending', {});
  assert.ok(!pend.invites.some((x) => x.id === inv2.id), 'expired invites are not pending');
  const l = await oc.request('invite.list', { group: g.id });
  for (const id of [inv1.id, inv2.id]) assert.equal(l.invites.find((x) => x.id === id).state, 'expired', `state of ${id}: ${JSON.stringify(l.invites)}`);
  oc.close();
  ozc.close();
});

test('a full group: using the invite gets conflict "the group is full" (group_members=2)', { skip, ...T }, async () => {
  const s3 = await o.startNatter({ smtp, limits: { group_members: 2 } });
  const ow = await h.signup(s3, 'Full Owner');
  const oc = await h.connectAs(s3, ow, 'Full');
  const g = await h.makeGroup(oc, [], 'Two is company');
  const e1 = fresh('first');
  const e2 = fresh('second');
  await oc.request('invite.create', { group: g.id, email: e1 });
  const i2 = await h.rest(s3, 'invite.create', { group: g.id, email: e2 }, ow.token);
  const c1 = o.inviteCodeFromMail(await smtp.waitForTo(e1, o.MAIL_WAIT_MS)).code;
  await o.ok(s3, 'auth.signup', { email: e1, name: 'First', password: 'pw-first-1234', invite_code: c1 });
  if (i2.status === 200) {
    const c2 = o.inviteCodeFromMail(await smtp.waitForTo(e2, o.MAIL_WAIT_MS)).code;
    o.assertRestError(await h.rest(s3, 'auth.signup', { email: e2, name: 'Second', password: 'pw-second-1234', invite_code: c2 }),
      409, 'conflict', 'joining a full group', /full/);
    // Nothing half-done: no account was made for the second address.
    o.assertRestError(await h.rest(s3, 'auth.login', { email: e2, password: 'pw-second-1234' }), 401, 'unauthorized', 'no account');
  } else {
    o.assertRestError(i2, 409, 'conflict', 'inviting into a full group');
  }
  const { members } = await oc.request('member.list', { group: g.id });
  assert.equal(members.length, 2);
  oc.close();
});

test('without --smtp-url an invite is still made, and its delivery says that mail is not configured', { skip, ...T }, async () => {
  const bare = await h.startServer();
  try {
    const u = await h.signup(bare, 'No Mail');
    const c = await h.connectAs(bare, u);
    const g = await h.makeGroup(c, [], 'Quiet Club');
    const { invite } = await c.request('invite.create', { group: g.id, email: fresh('nomail') });
    assert.equal(invite.state, 'pending');
    assert.deepEqual({ ...invite.delivery, message_id: undefined },
      { status: 'queued', attempts: 0, last_error: 'mail is not configured on this server', message_id: undefined });
    const { invites } = await c.request('invite.list', { group: g.id });
    assert.equal(invites[0].delivery.last_error, 'mail is not configured on this server');
    c.close();
  } finally {
    await bare.stop();
  }
});

test('the SMTP stand-in saw no protocol violation (STARTTLS before MAIL, every mail parsed)', { skip }, () => {
  assert.deepEqual(smtp.violations, []);
  assert.ok(smtp.messages.length > 0);
  assert.ok(smtp.messages.every((m) => m.secure), 'every message over TLS');
});

o.schemaCoverageTest(test, skip);
