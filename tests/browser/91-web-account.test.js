'use strict';
// The web client's account screens in real headless Chromium: a forgotten password reset with the
// code the SMTP stand-in received, and a new display name that the other members are told about.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('../integ/lib/harness');
const o = require('../integ/lib/outbound');
const { skip, T, WAIT, useRig, openApp } = require('./lib/web');

const rig = useRig();

test('a forgotten password is reset with the mailed code, which logs in; the display name is edited in the page', { skip, ...T }, async () => {
  const carol = await h.signup(rig.srv, 'Carol');
  const dave = await h.signup(rig.srv, 'Dave');
  const dc = await h.connectAs(rig.srv, dave);
  const cc = await h.connectAs(rig.srv, carol);
  await h.makeGroup(cc, [dave], 'Book Club');
  cc.close();

  const page = await openApp();
  await page.fill('input[name=email]', carol.email);
  await page.click('#forgot');
  const ask = page.locator('dialog[open]');
  assert.equal(await ask.locator('input[name=email]').inputValue(), carol.email, 'the address typed on the form');
  await ask.locator('button[type=submit]').click();
  const check = page.locator('dialog[open]', { hasText: 'Check your email' });
  await check.waitFor(WAIT);
  const mail = await rig.smtp.waitForTo(carol.email, o.MAIL_WAIT_MS);
  const code = mail.parsed.text.match(/(?<![0-9])[0-9]{8}(?![0-9])/)[0];

  // A wrong code is an error in the dialog, which stays open; the right one logs in.
  const wrong = String((Number(code) + 1) % 1e8).padStart(8, '0');
  const newPassword = ` new pass ${h.uid()} `; // spaces at the ends are part of it
  await check.locator('input[name=code]').fill(wrong);
  await check.locator('input[name=password]').fill(newPassword);
  await check.locator('button[type=submit]').click();
  await check.locator('.form-error', { hasText: 'invalid or expired code' }).waitFor(WAIT);
  await check.locator('input[name=code]').fill(code);
  await check.locator('button[type=submit]').click();
  await page.locator('#conn-status', { hasText: 'Online' }).waitFor(WAIT);
  await page.locator('#nav-list h2', { hasText: 'Book Club' }).waitFor(WAIT);
  assert.equal((await h.rest(rig.srv, 'auth.login', { email: carol.email, password: carol.password })).status, 401, 'the old password is gone');
  assert.equal((await h.rest(rig.srv, 'auth.login', { email: carol.email, password: newPassword })).status, 200, 'the new one works as typed');

  // A new display name: the page shows it, and the other members are told.
  await page.click('#edit-profile');
  const prof = page.locator('dialog[open]');
  assert.equal(await prof.locator('input[name=name]').inputValue(), 'Carol');
  await prof.locator('input[name=name]').fill('Carol Danvers');
  await prof.locator('button[type=submit]').click();
  await page.locator('#me-name', { hasText: 'Carol Danvers' }).waitFor(WAIT);
  const ev = await dc.waitFor((e) => e.op === 'member.updated' && e.d.user.id === carol.user.id);
  assert.equal(ev.d.user.name, 'Carol Danvers');

  assert.deepEqual(page.errors, [], 'no uncaught errors in the page');
  dc.close();
  await page.context().close();
});
