'use strict';
// Invite delivery under faults (issue 4): SMTP down or refusing, the server killed before or during
// delivery, header injection and bad addresses, and the invite rate limit.
const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const o = require('./lib/outbound');
const { SmtpStandin } = require('./lib/smtp-standin');

const skip = h.binaryMissing();
const T = { timeout: 150000 };
let smtp;
let srv;
let admin;

before(async () => {
  if (skip) return;
  smtp = await SmtpStandin.start();
  srv = await o.startNatter({
    smtp,
    limits: { mail_attempts: 3, mail_backoff_ms: 200, invites_per_h: 2, send_per_s: 1000, send_burst: 1000, malformed_burst: 1000 },
  });
  admin = await o.setupAdmin(srv, 'Root Admin');
});

const fresh = (tag) => `${tag}-${h.uid()}@example.test`;

async function owner(name) {
  const u = await h.signup(srv, name);
  u.c = await h.connectAs(srv, u, name);
  u.group = await h.makeGroup(u.c, [], `Faults ${h.uid()}`);
  return u;
}

test('SMTP down: the invite is retried mail_attempts times with backoff, then `failed` with a last_error an admin sees', { skip, ...T }, async () => {
  await smtp.stop();
  try {
    const a = await owner('Down Owner');
    const email = fresh('down');
    const t0 = Date.now();
    const { invite } = await a.c.request('invite.create', { group: a.group.id, email });
    o.assertInvite(invite, { status: 'queued', state: 'pending' });
    assert.ok(Date.now() - t0 < 5000, 'the ack does not wait for SMTP');
    const failed = await o.waitInvite(a.c, a.group.id, invite.id, (i) => i.delivery.status === 'failed', 30000);
    o.assertInvite(failed, { state: 'pending' });
    assert.equal(failed.delivery.attempts, 3, `attempts = mail_attempts: ${JSON.stringify(failed.delivery)}`);
    assert.ok(typeof failed.delivery.last_error === 'string' && failed.delivery.last_error.length > 0, `last_error: ${JSON.stringify(failed.delivery)}`);
    // Backoff 200 ms doubling: attempts at ~0, 200, 600 ms; it cannot all happen at once.
    assert.ok(Date.now() - t0 >= 550, `3 attempts with 200 ms backoff take >= 600 ms (took ${Date.now() - t0} ms)`);
    // The admin sees the failure with its error.
    const seen = await o.waitAdminInvite(srv, admin.adminToken, invite.id, (i) => i.delivery.status === 'failed', 5000);
    assert.equal(seen.delivery.attempts, 3);
    assert.equal(seen.delivery.last_error, failed.delivery.last_error);
    const byState = await o.ok(srv, 'admin.invites.list', { group: a.group.id }, admin.adminToken);
    assert.ok(byState.invites.some((i) => i.id === invite.id), 'admin.invites.list {group} finds it');
    // No late retries after `failed`.
    await smtp.restart();
    await h.sleep(1500);
    assert.equal(smtp.to(email).length, 0, 'a failed invite is not sent later by itself');
    // The admin resends it: a new mail goes out and it is `sent`.
    const rs = await o.ok(srv, 'admin.invites.resend', { invite: invite.id }, admin.adminToken);
    o.assertInvite(rs.invite);
    const mail = await smtp.waitForTo(email, o.MAIL_WAIT_MS);
    o.inviteCodeFromMail(mail);
    await o.waitInvite(a.c, a.group.id, rs.invite.id, (i) => i.delivery.status === 'sent');
    a.c.close();
  } finally {
    if (!smtp.running) await smtp.restart();
  }
});

test('SMTP answers 451 to RCPT: failed after the attempts, last_error names the SMTP reply', { skip, ...T }, async () => {
  smtp.mode = 'rcpt451';
  try {
    const a = await owner('Busy Owner');
    const email = fresh('busy');
    const refusedBefore = smtp.refusals.length;
    const { invite } = await a.c.request('invite.create', { group: a.group.id, email });
    const failed = await o.waitInvite(a.c, a.group.id, invite.id, (i) => i.delivery.status === 'failed', 30000);
    assert.equal(failed.delivery.attempts, 3);
    assert.equal(smtp.refusals.length - refusedBefore, 3, 'three RCPTs were tried and refused');
    assert.match(failed.delivery.last_error, /451/, `last_error should carry the SMTP reply code: ${failed.delivery.last_error}`);
    assert.equal(smtp.to(email).length, 0);
    a.c.close();
  } finally {
    smtp.mode = 'ok';
  }
});

test('SMTP comes back before the attempts run out: `sent` (on the last attempt), with the Message-ID fixed from the start', { skip, ...T }, async () => {
  const a = await owner('Flaky Owner');
  const email = fresh('flaky');
  smtp.failRcpt(2); // the first two attempts get 451, the third is accepted
  const { invite } = await a.c.request('invite.create', { group: a.group.id, email });
  const mail = await smtp.waitForTo(email, 30000);
  const sent = await o.waitInvite(a.c, a.group.id, invite.id, (i) => i.delivery.status === 'sent');
  assert.equal(sent.delivery.attempts, 3, `delivered on the 3rd attempt: ${JSON.stringify(sent.delivery)}`);
  assert.equal(o.bareId(sent.delivery.message_id), o.bareId(mail.parsed.messageId));
  if (invite.delivery.message_id) assert.equal(o.bareId(invite.delivery.message_id), o.bareId(mail.parsed.messageId), 'stable Message-ID across retries');
  assert.equal(smtp.to(email).length, 1);
  o.inviteCodeFromMail(mail);
  a.c.close();
});

test('killed with SIGKILL after the ack, before delivery: after the restart the mail goes out (no invite lost)', { skip, ...T }, async () => {
  const smtpK = await SmtpStandin.start();
  const k = await o.startNatter({ smtp: smtpK, limits: { mail_attempts: 10, mail_backoff_ms: 1000 } });
  const u = await h.signup(k, 'Kill Owner');
  const c = await h.connectAs(k, u, 'Kill');
  const g = await h.makeGroup(c, [], 'Survivors');
  await smtpK.stop(); // so it stays queued
  const emails = [fresh('kill1'), fresh('kill2')];
  const invites = [];
  for (const email of emails) invites.push((await c.request('invite.create', { group: g.id, email })).invite);
  const rest = await o.ok(k, 'invite.create', { group: g.id, email: fresh('kill3') }, u.token);
  invites.push(rest.invite);
  emails.push(rest.invite.email);
  const before = await c.request('invite.list', { group: g.id });
  for (const i of invites) assert.notEqual(before.invites.find((x) => x.id === i.id).delivery.status, 'sent');
  await k.kill9();
  await smtpK.restart();
  await k.restart();
  for (const [n, email] of emails.entries()) {
    const mail = await smtpK.waitForTo(email, 40000);
    o.inviteCodeFromMail(mail);
    const listed = before.invites.find((x) => x.id === invites[n].id).delivery.message_id;
    if (listed) assert.equal(o.bareId(mail.parsed.messageId), o.bareId(listed), 'the Message-ID survives the restart');
  }
  const c2 = await h.connectAs(k, u, 'Kill2');
  for (const i of invites) await o.waitInvite(c2, g.id, i.id, (x) => x.delivery.status === 'sent');
  await h.sleep(1000);
  for (const email of emails) assert.equal(smtpK.to(email).length, 1, `exactly one mail to ${email}`);
  assert.deepEqual(smtpK.violations, []);
  c2.close();
});

test('killed while the SMTP transaction is open (DATA sent, no reply yet): the mail is delivered after the restart', { skip, ...T }, async () => {
  const smtpK = await SmtpStandin.start();
  const k = await o.startNatter({ smtp: smtpK, limits: { mail_attempts: 10, mail_backoff_ms: 500 } });
  const u = await h.signup(k, 'Mid Owner');
  const c = await h.connectAs(k, u, 'Mid');
  const g = await h.makeGroup(c, [], 'Mid-send');
  smtpK.holdData = true;
  const email = fresh('mid');
  const { invite } = await c.request('invite.create', { group: g.id, email });
  await h.until(() => smtpK.held.some((m) => m.to.includes(email)), o.MAIL_WAIT_MS, 'the server to be in the middle of DATA');
  const heldId = smtpK.held.find((m) => m.to.includes(email)).parsed.messageId;
  await k.kill9();
  smtpK.holdData = false;
  await smtpK.restart();
  await k.restart();
  const mail = await smtpK.waitForTo(email, 40000);
  assert.equal(o.bareId(mail.parsed.messageId), o.bareId(heldId), 'the same Message-ID as the interrupted attempt');
  const c2 = await h.connectAs(k, u, 'Mid2');
  await o.waitInvite(c2, g.id, invite.id, (x) => x.delivery.status === 'sent');
  c2.close();
});

test('killed right after the SMTP server\'s 250: the mail may come twice (the documented window), always with the same Message-ID', { skip, ...T }, async () => {
  const smtpK = await SmtpStandin.start();
  const k = await o.startNatter({ smtp: smtpK, limits: { mail_attempts: 10, mail_backoff_ms: 500 } });
  const u = await h.signup(k, 'Window Owner');
  const c = await h.connectAs(k, u, 'Window');
  const g = await h.makeGroup(c, [], 'At least once');
  const email = fresh('window');
  let killed = null;
  smtpK.onAccepted = (m) => {
    if (!killed && m.to.includes(email)) killed = k.kill9(); // SIGKILL the moment the 250 is on the wire
  };
  const { invite } = await c.request('invite.create', { group: g.id, email });
  await h.until(() => killed, o.MAIL_WAIT_MS, 'the first delivery');
  await killed;
  smtpK.onAccepted = null;
  await k.restart();
  const c2 = await h.connectAs(k, u, 'Window2');
  const sent = await o.waitInvite(c2, g.id, invite.id, (x) => x.delivery.status === 'sent', 30000);
  await h.sleep(1500);
  const mails = smtpK.to(email);
  assert.ok(mails.length === 1 || mails.length === 2, `one delivery, or two in the crash window: ${mails.length}`);
  const ids = new Set(mails.map((m) => o.bareId(m.parsed.messageId)));
  assert.equal(ids.size, 1, `every delivery of one invite has the same Message-ID: ${[...ids].join(', ')}`);
  assert.equal(o.bareId(sent.delivery.message_id), [...ids][0]);
  const codes = new Set(mails.map((m) => o.inviteCodeFromMail(m).code));
  assert.equal(codes.size, 1, 'and the same link');
  c2.close();
});

test('header injection: CR or LF in names, group names and addresses is bad_request and never reaches SMTP', { skip, ...T }, async () => {
  const a = await owner('Safe Owner');
  const before = smtp.messages.length;
  const evil = 'evil@attacker.test';
  const crlf = ['\r\nBcc: ' + evil, '\nBcc: ' + evil, '\rBcc: ' + evil];
  for (const x of crlf) {
    // Names (user, group) end up in Subject and in the body.
    o.assertRestError(await h.rest(srv, 'auth.signup', { email: fresh('inj'), name: `Eve${x}`, password: 'pw-inj-123456' }), 400, 'bad_request', `signup name ${JSON.stringify(x)}`);
    await o.wsError(a.c, 'profile.update', { name: `Eve${x}` }, 'bad_request');
    await o.wsError(a.c, 'group.create', { name: `Club${x}` }, 'bad_request');
    await o.wsError(a.c, 'group.rename', { group: a.group.id, name: `Club${x}` }, 'bad_request');
    // Addresses end up in To and RCPT TO.
    await o.wsError(a.c, 'invite.create', { group: a.group.id, email: `victim@example.test${x}` }, 'bad_request');
    await o.wsError(a.c, 'invite.create', { group: a.group.id, email: `vic${x}tim@example.test` }, 'bad_request');
    o.assertRestError(await h.rest(srv, 'invite.create', { group: a.group.id, email: `victim@example.test${x}` }, a.token), 400, 'bad_request', 'REST invite with CRLF');
    o.assertRestError(await h.rest(srv, 'admin.invites.send', { group: a.group.id, emails: [fresh('ok'), `victim@example.test${x}`] }, admin.adminToken), 400, 'bad_request', 'admin bulk with CRLF');
    const rr = await h.rest(srv, 'auth.reset.request', { email: `${admin.email}${x}` });
    assert.ok([200, 400].includes(rr.status), `reset with CRLF: ${rr.status}`);
  }
  o.assertRestError(await h.rest(srv, 'invite.create', { group: a.group.id, email: `victim@example.test\u0000${evil}` }, a.token), 400, 'bad_request', 'REST invite with NUL');
  await h.sleep(1500);
  const leaked = smtp.messages.slice(before).filter((m) => m.text.includes('attacker.test') || m.to.some((t) => t.includes('attacker') || t.includes('victim')));
  assert.deepEqual(leaked.map((m) => m.envelope), [], 'nothing with the injected text reached SMTP');
  a.c.close();
});

test('NUL in an address over WS: an error frame with code bad_request that answers the request (re = its id)', { skip, ...T }, async () => {
  const a = await owner('Nul Owner');
  const before = smtp.messages.length;
  a.c.send({ op: 'invite.create', id: 'nul-1', d: { group: a.group.id, email: 'victim@example.test\u0000evil@attacker.test' } });
  const err = await a.c.waitFor((e) => e.op === 'error' || (e.op === 'ok' && e.re === 'nul-1'), h.WAIT_MS, 'an answer to the NUL invite')
    .catch(async () => {
      const pend = a.c.objects.find((x) => x.re === 'nul-1');
      if (pend) return pend;
      throw new Error(`no answer at all to invite.create with a NUL; last frames: ${JSON.stringify(a.c.objects.slice(-3))}`);
    });
  assert.equal(err.op, 'error', `NUL address: ${JSON.stringify(err)}`);
  assert.equal(err.d.code, 'bad_request');
  assert.equal((await a.c.request('ping', {})).op, 'pong', 'the connection stays');
  await h.sleep(1000);
  assert.equal(smtp.messages.length, before, 'no mail');
  // Last: the frame's id was readable, so the error should carry it (CONTRACT.md "Errors": no re only
  // when the id could not be read).
  assert.equal(err.re, 'nul-1', `the error does not answer the request: ${JSON.stringify(err)}`);
  a.c.close();
});

test('invalid addresses are rejected with bad_request', { skip, ...T }, async () => {
  const a = await owner('Strict Owner');
  const bad = ['', 'plainaddress', '@example.test', 'user@', 'two@@example.test', 'a@b@example.test', 'sp ace@example.test',
    'user@exa mple.test', 'a@example.test, b@example.test', `${'x'.repeat(250)}@example.test`, 'user@example.test\t'];
  const before = smtp.messages.length;
  for (const email of bad) await o.wsError(a.c, 'invite.create', { group: a.group.id, email }, 'bad_request');
  await o.wsError(a.c, 'invite.create', { group: a.group.id, email: 42 }, 'bad_request');
  o.assertRestError(await h.rest(srv, 'admin.invites.send', { group: a.group.id, emails: ['fine@example.test', 'not-an-address'] }, admin.adminToken), 400, 'bad_request', 'bulk with one bad address');
  o.assertRestError(await h.rest(srv, 'admin.invites.send', { group: a.group.id, emails: [] }, admin.adminToken), 400, 'bad_request', 'bulk with no address');
  await h.sleep(1000);
  assert.equal(smtp.messages.length, before, 'no mail for any of them');
  a.c.close();
});

test('addresses with characters SMTP gives meaning to (<, >, ;, comma, quotes, parentheses) are rejected', { skip, ...T }, async () => {
  const a = await owner('Picky Owner');
  const bad = ['<user@example.test>', 'user@example.test>', '<user@example.test', 'a@example.test;b@example.test',
    'a@example.test,b@example.test', '"quoted"@example.test', 'user@(comment)example.test', 'user@[127.0.0.1]>', 'user@example.test:25'];
  const before = smtp.messages.length;
  const accepted = [];
  for (const email of bad) {
    try {
      await a.c.request('invite.create', { group: a.group.id, email });
      accepted.push(email);
    } catch (e) {
      if (e.code === 'rate_limited') accepted.push(`${email} (got past validation to the rate limit)`);
      else assert.equal(e.code, 'bad_request', `${email}: ${e.message}`);
    }
  }
  assert.deepEqual(accepted, [], 'accepted as invite addresses');
  await h.sleep(1000);
  assert.equal(smtp.messages.length, before, 'no mail for any of them');
  a.c.close();
});

test('invite rate limit: invites_per_h=2 per user -> the third is rate_limited; a server admin is exempt', { skip, ...T }, async () => {
  const a = await owner('Busy Inviter');
  await a.c.request('invite.create', { group: a.group.id, email: fresh('r1') });
  const second = (await a.c.request('invite.create', { group: a.group.id, email: fresh('r2') })).invite;
  const e = await o.wsError(a.c, 'invite.create', { group: a.group.id, email: fresh('r3') }, 'rate_limited');
  assert.equal(e.temporary, true);
  assert.ok(Number.isInteger(e.retry_after_ms) && e.retry_after_ms > 0, `retry_after_ms: ${JSON.stringify(e)}`);
  const r = await h.rest(srv, 'invite.create', { group: a.group.id, email: fresh('r4') }, a.token);
  o.assertRestError(r, 429, 'rate_limited', 'REST shares the per-user limit');
  // Revoking does not give the quota back immediately in a way that lets one spam: still limited.
  await a.c.request('invite.revoke', { invite: second.id });
  // Other users have their own budget.
  const b = await owner('Other Inviter');
  await b.c.request('invite.create', { group: b.group.id, email: fresh('b1') });
  // The server admin: exempt through the admin API (bulk) and in a group of their own.
  const bulk = await o.ok(srv, 'admin.invites.send', { group: a.group.id, emails: [fresh('x1'), fresh('x2'), fresh('x3'), fresh('x4')] }, admin.adminToken);
  assert.equal(bulk.invites.length, 4);
  for (const i of bulk.invites) o.assertInvite(i, { group: a.group.id, state: 'pending' });
  const ac = await h.connectAs(srv, admin, 'Root');
  const ag = await h.makeGroup(ac, [], 'Admin Group');
  for (let i = 0; i < 4; i++) await ac.request('invite.create', { group: ag.id, email: fresh(`adm${i}`) });
  for (const c of [a.c, b.c, ac]) c.close();
});

test('the SMTP stand-in saw no protocol violation', { skip }, () => {
  assert.deepEqual(smtp.violations, []);
});

o.schemaCoverageTest(test, skip);
