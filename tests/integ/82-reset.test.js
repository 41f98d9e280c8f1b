'use strict';
// Password reset by an emailed code (issue 4): no user enumeration, an 8-digit code by mail, a few
// attempts, expiry, and a reset that revokes every session.
const { test, before } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const o = require('./lib/outbound');
const { SmtpStandin } = require('./lib/smtp-standin');

const skip = h.binaryMissing();
const T = { timeout: 120000 };
const ATTEMPTS = 3;
let smtp;
let srv;

before(async () => {
  if (skip) return;
  smtp = await SmtpStandin.start();
  srv = await o.startNatter({ smtp, limits: { reset_attempts: ATTEMPTS, reset_per_h: 1000 } });
});

/** Ask for a reset and return the n-th reset mail's code (8 digits). */
async function resetCode(s, email, n = 1) {
  const r = await h.rest(s, 'auth.reset.request', { email });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body, { ok: true });
  const mail = await smtp.waitForTo(email, o.MAIL_WAIT_MS, n);
  const p = mail.parsed;
  assert.ok(p.subject && p.subject.length > 0, 'has a Subject');
  assert.ok(p.messageId && p.date && p.from && p.to, 'From/To/Date/Message-ID present');
  assert.equal(p.to.value[0].address.toLowerCase(), email.toLowerCase());
  assert.equal(mail.secure, true);
  const codes = [...new Set((p.text.match(/(?<![0-9])[0-9]{8}(?![0-9])/g) || []))];
  assert.equal(codes.length, 1, `one 8-digit code in the text part:\n${p.text}`);
  if (typeof p.html === 'string') assert.ok(p.html.includes(codes[0]), 'the html part has the same code');
  return { code: codes[0], mail };
}

const wrongCode = (code, k = 0) => String((Number(code) + 1 + k) % 100000000).padStart(8, '0');
const newPassword = () => `new-pw-${h.uid()}`;

test('auth.reset.request answers {} for known and unknown emails alike, and mails only known users', { skip, ...T }, async () => {
  const u = await h.signup(srv, 'Known');
  const unknown = `nobody-${h.uid()}@example.test`;
  const a = await h.rest(srv, 'auth.reset.request', { email: unknown });
  const b = await h.rest(srv, 'auth.reset.request', { email: u.email });
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  assert.deepEqual(a.body, { ok: true }, 'unknown email: {}');
  assert.deepEqual(b.body, { ok: true }, 'known email: {}');
  await smtp.waitForTo(u.email, o.MAIL_WAIT_MS);
  await h.sleep(1500);
  assert.equal(smtp.to(unknown).length, 0, 'no mail for an unknown address');
  // Bad input is still bad input.
  o.assertRestError(await h.rest(srv, 'auth.reset.request', {}), 400, 'bad_request', 'no email');
  o.assertRestError(await h.rest(srv, 'auth.reset.confirm', { email: u.email, code: '123' }), 400, 'bad_request', 'no password');
});

test('the right code sets the new password: login works with the new one only, sessions are revoked (sockets 4003, refresh dead)', { skip, ...T }, async () => {
  const u = await h.signup(srv, 'Forgetful');
  const c1 = await h.connectAs(srv, u, 'F1');
  const c2 = await h.connectAs(srv, u, 'F2');
  const { code, mail } = await resetCode(srv, u.email);
  assert.ok(!mail.text.slice(0, mail.text.indexOf('\r\n\r\n')).includes(code), 'the code is not in a header');
  // One wrong try first (fewer than reset_attempts): the right code still works afterwards.
  o.assertRestError(await h.rest(srv, 'auth.reset.confirm', { email: u.email, code: wrongCode(code), password: newPassword() }),
    401, 'unauthorized', 'wrong code', /invalid or expired code/);
  assert.equal(c1.closeInfo, null, 'a wrong code changes nothing');
  const pw = newPassword();
  const r = await h.rest(srv, 'auth.reset.confirm', { email: u.email, code, password: pw });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body, { ok: true });
  for (const c of [c1, c2]) {
    const info = await Promise.race([c.closed, h.sleep(h.WAIT_MS).then(() => null)]);
    assert.ok(info, `${c.label} was not closed after the reset`);
    assert.equal(info.code, 4003, `${c.label} closed with ${info.code}`);
  }
  o.assertRestError(await h.rest(srv, 'auth.login', { email: u.email, password: u.password }), 401, 'unauthorized', 'old password');
  const li = await h.rest(srv, 'auth.login', { email: u.email, password: pw });
  assert.equal(li.status, 200, `new password: ${JSON.stringify(li.body)}`);
  o.assertRestError(await h.rest(srv, 'auth.refresh', { refresh_token: u.refresh }), 401, 'unauthorized', 'refresh token from before the reset');
  // The old access token no longer identifies (its session is revoked).
  const c3 = await h.connect(srv, { label: 'F3' });
  c3.send({ op: 'identify', id: '1', d: { token: u.token } });
  const info = await Promise.race([c3.closed, h.sleep(h.WAIT_MS).then(() => null)]);
  assert.ok(info && info.code === 4003, `identify with a revoked session closes 4003: ${JSON.stringify(info)}; got ${JSON.stringify(c3.objects.slice(1)).slice(0, 600)}`);
  // The code is single-use.
  o.assertRestError(await h.rest(srv, 'auth.reset.confirm', { email: u.email, code, password: newPassword() }),
    401, 'unauthorized', 'a used code', /invalid or expired code/);
  const c4 = await h.connect(srv, { token: li.body.access_token, label: 'F4' });
  c4.close();
});

test(`after reset_attempts (${ATTEMPTS}) wrong codes even the right code fails; the password is unchanged`, { skip, ...T }, async () => {
  const u = await h.signup(srv, 'Guesser');
  const { code } = await resetCode(srv, u.email);
  for (let i = 0; i < ATTEMPTS; i++) {
    o.assertRestError(await h.rest(srv, 'auth.reset.confirm', { email: u.email, code: wrongCode(code, i), password: newPassword() }),
      401, 'unauthorized', `wrong code #${i + 1}`, /invalid or expired code/);
  }
  o.assertRestError(await h.rest(srv, 'auth.reset.confirm', { email: u.email, code, password: newPassword() }),
    401, 'unauthorized', 'the right code after too many wrong ones', /invalid or expired code/);
  const li = await h.rest(srv, 'auth.login', { email: u.email, password: u.password });
  assert.equal(li.status, 200, 'the old password still works');
  // A new request gives a new code that works.
  const { code: code2 } = await resetCode(srv, u.email, 2);
  const pw = newPassword();
  assert.equal((await h.rest(srv, 'auth.reset.confirm', { email: u.email, code: code2, password: pw })).status, 200);
  assert.equal((await h.rest(srv, 'auth.login', { email: u.email, password: pw })).status, 200);
});

test('a code for one address does not reset another; unknown addresses get the same error', { skip, ...T }, async () => {
  const a = await h.signup(srv, 'Alpha');
  const b = await h.signup(srv, 'Beta');
  const { code } = await resetCode(srv, a.email);
  o.assertRestError(await h.rest(srv, 'auth.reset.confirm', { email: b.email, code, password: newPassword() }),
    401, 'unauthorized', "a's code for b", /invalid or expired code/);
  o.assertRestError(await h.rest(srv, 'auth.reset.confirm', { email: `ghost-${h.uid()}@example.test`, code, password: newPassword() }),
    401, 'unauthorized', 'unknown email', /invalid or expired code/);
  assert.equal((await h.rest(srv, 'auth.login', { email: b.email, password: b.password })).status, 200);
  // The new password must follow the password rules.
  o.assertRestError(await h.rest(srv, 'auth.reset.confirm', { email: a.email, code, password: 'short' }), 400, 'bad_request', 'a 5-byte password');
});

test('an expired code fails with the same error (reset_ttl_s=1)', { skip, ...T }, async () => {
  const s2 = await o.startNatter({ smtp, limits: { reset_ttl_s: 1, reset_per_h: 1000 } });
  const u = await h.signup(s2, 'Slow');
  const { code } = await resetCode(s2, u.email);
  await h.sleep(2500);
  o.assertRestError(await h.rest(s2, 'auth.reset.confirm', { email: u.email, code, password: newPassword() }),
    401, 'unauthorized', 'an expired code', /invalid or expired code/);
  assert.equal((await h.rest(s2, 'auth.login', { email: u.email, password: u.password })).status, 200, 'password unchanged');
});

test('reset requests are rate limited per IP and per email (reset_per_h=2)', { skip, ...T }, async () => {
  const s3 = await o.startNatter({ smtp, limits: { reset_per_h: 2 } });
  const u = await h.signup(s3, 'Spammed');
  const before = smtp.to(u.email).length;
  const answers = [];
  for (let i = 0; i < 4; i++) answers.push(await h.rest(s3, 'auth.reset.request', { email: u.email }));
  assert.deepEqual(answers.slice(0, 2).map((r) => r.status), [200, 200]);
  const limited = answers.slice(2);
  for (const r of limited) o.assertRestError(r, 429, 'rate_limited', 'third and fourth reset request');
  assert.ok(Number.isInteger(limited[0].body.error.retry_after_ms) && limited[0].body.error.retry_after_ms > 0);
  await h.sleep(2000);
  assert.ok(smtp.to(u.email).length - before <= 2, `at most 2 reset mails (got ${smtp.to(u.email).length - before})`);
});

test('the SMTP stand-in saw no protocol violation', { skip }, () => {
  assert.deepEqual(smtp.violations, []);
});

o.schemaCoverageTest(test, skip);
