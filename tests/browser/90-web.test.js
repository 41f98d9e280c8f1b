'use strict';
// The web client in real headless Chromium (Debian's, driven by playwright-core) against a real
// server: sign-up, a group, adding a member, live messages both ways, edits, text that looks like
// HTML, reload, a server restart, log out, a wrong password, a forgotten password (the code comes
// by mail through the SMTP stand-in) and a new display name, all through the page as a person
// would use it.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const h = require('../integ/lib/harness');
const o = require('../integ/lib/outbound');
const { SmtpStandin } = require('../integ/lib/smtp-standin');

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const skip = h.binaryMissing() || (!fs.existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM} (scripts/deps.sh --browser)`);
const T = { timeout: 120000 };
const WAIT = { timeout: 15000 };

let srv;
let smtp;
let browser;

before(async () => {
  if (skip) return;
  const { chromium } = require('playwright-core');
  smtp = await SmtpStandin.start();
  // No --public-url: the page's origin is the server's own address.
  srv = await o.startNatter({ smtp, publicUrl: null });
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  await srv?.stop();
  srv?.cleanup();
  await smtp?.stop();
});

/** A fresh browser profile on the app's page, with the page's errors collected. */
async function openApp() {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  await page.goto(`${srv.url}/`);
  return page;
}

async function signUp(page, name) {
  const email = `${name.split(' ')[0].toLowerCase()}-${h.uid()}@example.test`;
  const password = `pw-${h.uid()}-secret`;
  await page.click('#mode-signup');
  await page.fill('input[name=display_name]', name);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('#auth-submit');
  await page.locator('#chat-view').waitFor({ state: 'visible', ...WAIT });
  await page.locator('#conn-status', { hasText: 'Online' }).waitFor(WAIT);
  return { email, password, name };
}

async function submitDialog(page, field, value) {
  const dlg = page.locator('dialog[open]');
  await dlg.locator(`input[name=${field}]`).fill(value);
  await dlg.locator('button[type=submit]').click();
  await dlg.waitFor({ state: 'detached', ...WAIT });
}

async function say(page, text) {
  await page.fill('#composer-input', text);
  await page.press('#composer-input', 'Enter');
  // Acknowledged: in the timeline, no longer "Sending…".
  await page.locator('#messages li.msg:not(.sending) .body', { hasText: text }).waitFor(WAIT);
}

const bodies = (page) => page.locator('#messages li.msg .body').allTextContents();
const seen = (page, text) => page.locator('#messages li.msg .body', { hasText: text }).waitFor(WAIT);

test('two people in two browsers: sign up, make a group, add a member, talk live, edit, reload', { skip, ...T }, async () => {
  const a = await openApp();
  const b = await openApp();
  const alice = await signUp(a, 'Alice Liddell');
  const bob = await signUp(b, 'Bob Cratchit');
  assert.equal(await a.textContent('#me-name'), 'Alice Liddell');

  // A group from the welcome screen; its first room opens.
  await a.click('.welcome button');
  await submitDialog(a, 'name', 'Tea Party');
  await a.locator('#nav-list h2', { hasText: 'Tea Party' }).waitFor(WAIT);
  await a.locator('#room-title', { hasText: '# general' }).waitFor(WAIT);

  // Bob is added by email; his page gets the group and opens its room without a reload.
  await a.click('#member-actions button:has-text("Add member")');
  await submitDialog(a, 'email', bob.email);
  await b.locator('.toast', { hasText: 'You were added to Tea Party' }).waitFor(WAIT);
  await b.locator('#room-title', { hasText: '# general' }).waitFor(WAIT);
  await a.locator('#member-list .member-name', { hasText: 'Bob Cratchit' }).waitFor(WAIT);

  // Live both ways.
  await say(a, 'Hello Bob, tea?');
  await seen(b, 'Hello Bob, tea?');
  await say(b, 'Yes please');
  await seen(a, 'Yes please');
  assert.deepEqual(await bodies(a), ['Hello Bob, tea?', 'Yes please']);
  assert.deepEqual(await bodies(b), ['Hello Bob, tea?', 'Yes please']);

  // Up in an empty composer edits your last message; Bob sees the new text, marked edited.
  await a.focus('#composer-input');
  await a.press('#composer-input', 'ArrowUp');
  await a.fill('.edit-input', 'Hello Bob, more tea?');
  await a.press('.edit-input', 'Enter');
  await b.locator('#messages li.msg .body', { hasText: 'Hello Bob, more tea? (edited)' }).waitFor(WAIT);

  // Text that looks like HTML stays text.
  const html = '<img src=x onerror="window.pwned=1"><b>bold</b>';
  await say(a, html);
  await seen(b, html);
  assert.equal(await b.locator('#messages img, #messages li.msg b').count(), 0, 'no element from a message body');
  assert.equal(await b.evaluate(() => window.pwned), undefined);

  // A reload keeps Bob logged in, in the same room, with the history in order.
  await b.reload();
  await b.locator('#conn-status', { hasText: 'Online' }).waitFor(WAIT);
  await seen(b, html);
  assert.deepEqual(await bodies(b), ['Hello Bob, more tea? (edited)', 'Yes please', html]);

  // The server restarts: both pages come back on their own and nothing is lost or repeated.
  await srv.restart();
  for (const p of [a, b]) await p.locator('#conn-status', { hasText: 'Online' }).waitFor({ timeout: 30000 });
  await say(b, 'Still here');
  await seen(a, 'Still here');
  assert.deepEqual(await bodies(a), ['Hello Bob, more tea? (edited)', 'Yes please', html, 'Still here']);

  // Logging out ends the session for good; a wrong password is an error on the form.
  await a.click('#logout');
  await a.locator('#auth-view').waitFor({ state: 'visible', ...WAIT });
  await a.reload();
  await a.locator('#auth-view').waitFor({ state: 'visible', ...WAIT });
  await a.fill('input[name=email]', alice.email);
  await a.fill('input[name=password]', 'not-the-password');
  await a.click('#auth-submit');
  await a.waitForFunction(() => document.querySelector('#auth-error').textContent.length > 0, null, WAIT);
  assert.equal(await a.isVisible('#chat-view'), false);
  await a.fill('input[name=password]', alice.password);
  await a.click('#auth-submit');
  await seen(a, 'Still here');

  assert.deepEqual([...a.errors, ...b.errors], [], 'no uncaught errors in either page');
  await a.context().close();
  await b.context().close();
});

test('a forgotten password is reset with the mailed code, which logs in; the display name is edited in the page', { skip, ...T }, async () => {
  const carol = await h.signup(srv, 'Carol');
  const dave = await h.signup(srv, 'Dave');
  const dc = await h.connectAs(srv, dave);
  const cc = await h.connectAs(srv, carol);
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
  const mail = await smtp.waitForTo(carol.email, o.MAIL_WAIT_MS);
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
  assert.equal((await h.rest(srv, 'auth.login', { email: carol.email, password: carol.password })).status, 401, 'the old password is gone');
  assert.equal((await h.rest(srv, 'auth.login', { email: carol.email, password: newPassword })).status, 200, 'the new one works as typed');

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

test('an owner manages the group in the page: roles, rename, a room made and deleted, a removal, then the group deleted', { skip, ...T }, async () => {
  const page = await openApp();
  page.on('dialog', (d) => d.accept()); // the page asks to confirm deletions and removals
  await signUp(page, 'Olivia Owner');
  await page.click('.welcome button');
  await submitDialog(page, 'name', 'Garden');
  await page.locator('#room-title', { hasText: '# general' }).waitFor(WAIT);
  const [mal, nick] = [await h.signup(srv, 'Mallory'), await h.signup(srv, 'Nick')];
  const mc = await h.connectAs(srv, mal);
  const nc = await h.connectAs(srv, nick);
  for (const u of [mal, nick]) {
    await page.click('#member-actions button:has-text("Add member")');
    await submitDialog(page, 'email', u.email);
  }
  const joined = await nc.waitFor((e) => e.op === 'group.joined');
  const gid = joined.d.group.id;
  const pick = async (label) => {
    const dlg = page.locator('dialog[open]');
    await dlg.locator('.action-list button', { hasText: label }).click();
  };

  // A member's row opens a menu for the owner: Mallory becomes an admin.
  await page.click('#member-list button.member:has-text("Mallory")');
  await pick('Make admin');
  const role = await nc.waitFor((e) => e.op === 'member.role' && e.d.user === mal.user.id);
  assert.equal(role.d.role, 'admin');
  await page.locator('#member-list li', { hasText: 'Mallory' }).locator('.role', { hasText: 'admin' }).waitFor(WAIT);

  // Renames, from the room's Settings.
  await page.click('#room-settings');
  await pick('Rename #general');
  await submitDialog(page, 'name', 'lobby');
  await page.locator('#room-title', { hasText: '# lobby' }).waitFor(WAIT);
  assert.equal((await nc.waitFor((e) => e.op === 'room.renamed')).d.name, 'lobby');
  await page.click('#room-settings');
  await pick('Rename Garden');
  await submitDialog(page, 'name', 'Secret Garden');
  await page.locator('#nav-list h2', { hasText: 'Secret Garden' }).waitFor(WAIT);
  assert.equal((await nc.waitFor((e) => e.op === 'group.renamed')).d.name, 'Secret Garden');

  // A new room from the sidebar, then deleted from its Settings.
  await page.click('#nav-list button[aria-label="Create a room in Secret Garden"]');
  await submitDialog(page, 'name', 'plans');
  await page.locator('#room-title', { hasText: '# plans' }).waitFor(WAIT);
  const made = await nc.waitFor((e) => e.op === 'room.created');
  await page.click('#room-settings');
  await pick('Delete #plans');
  await nc.waitFor((e) => e.op === 'room.deleted' && e.d.room === made.d.room.id);
  await page.locator('#nav-list li', { hasText: 'plans' }).waitFor({ state: 'detached', ...WAIT });

  // Nick is removed; then the owner deletes the group, and it leaves the page.
  await page.click('#member-list button.member:has-text("Nick")');
  await pick('Remove from Secret Garden');
  await nc.waitFor((e) => e.op === 'group.left' && e.d.group === gid);
  await page.locator('#member-list li', { hasText: 'Nick' }).waitFor({ state: 'detached', ...WAIT });
  await page.click('#room-settings');
  await pick('Delete Secret Garden');
  await mc.waitFor((e) => e.op === 'group.deleted' && e.d.group === gid);
  await page.locator('.welcome', { hasText: 'Create a group' }).waitFor(WAIT);
  assert.equal(await page.locator('#nav-list h2', { hasText: 'Secret Garden' }).count(), 0);

  assert.deepEqual(page.errors, [], 'no uncaught errors in the page');
  mc.close();
  nc.close();
  await page.context().close();
});

test('invites in the page: sent by email, listed and revoked by the owner, joined or declined from the sidebar', { skip, ...T }, async () => {
  const owner = await openApp();
  owner.on('dialog', (d) => d.accept());
  await signUp(owner, 'Pat Owner');
  const quinn = await h.signup(srv, 'Quinn');
  const stranger = `nobody-${h.uid()}@example.test`;
  const makeGroupWithInvites = async (name, emails) => {
    await owner.click(name === 'Choir' ? '.welcome button' : '#new-group');
    await submitDialog(owner, 'name', name);
    await owner.locator('#room-title', { hasText: '# general' }).waitFor(WAIT);
    await owner.locator('#room-sub', { hasText: name }).waitFor(WAIT);
    for (const email of emails) {
      await owner.click('#member-actions button:has-text("Invite by email")');
      await submitDialog(owner, 'email', email);
      await owner.locator('.toast', { hasText: `Invitation sent to ${email}` }).last().waitFor(WAIT);
    }
  };
  await makeGroupWithInvites('Choir', [quinn.email, stranger]);

  // The owner's list shows both pending; revoking one is seen on the next look.
  await owner.click('#member-actions button:has-text("Sent invites")');
  let dlg = owner.locator('dialog[open]');
  await dlg.locator('.invite-rows li', { hasText: stranger }).waitFor(WAIT);
  assert.match(await dlg.locator('.invite-rows li', { hasText: quinn.email }).textContent(), /pending/);
  await dlg.locator('.action-list button', { hasText: `Revoke the invite for ${stranger}` }).click();
  await owner.locator('.toast', { hasText: `The invite for ${stranger} no longer works` }).waitFor(WAIT);
  await owner.click('#member-actions button:has-text("Sent invites")');
  dlg = owner.locator('dialog[open]');
  assert.match(await dlg.locator('.invite-rows li', { hasText: stranger }).textContent(), /revoked/);
  assert.equal(await dlg.locator('.action-list button').count(), 1, 'only the pending invite can be revoked');
  await dlg.locator('button', { hasText: 'Close' }).click();

  await makeGroupWithInvites('Band', [quinn.email]);

  // Quinn logs in without the link: both invitations wait in the sidebar.
  const q = await openApp();
  await q.fill('input[name=email]', quinn.email);
  await q.fill('input[name=password]', quinn.password);
  await q.click('#auth-submit');
  const inv = (name) => q.locator('.nav-invite', { hasText: name });
  await inv('Choir').waitFor(WAIT);
  await inv('Band').waitFor(WAIT);
  assert.match(await inv('Choir').textContent(), /from Pat Owner/);
  await inv('Choir').locator('button', { hasText: 'Join' }).click();
  await q.locator('#room-sub', { hasText: 'Choir' }).waitFor(WAIT);
  await inv('Choir').waitFor({ state: 'detached', ...WAIT });
  await inv('Band').locator('button', { hasText: 'Decline' }).click();
  await inv('Band').waitFor({ state: 'detached', ...WAIT });
  // An invite sent while Quinn is online shows at once.
  await makeGroupWithInvites('Trio', [quinn.email]);
  await q.locator('.toast', { hasText: 'Pat Owner invited you to Trio' }).waitFor(WAIT);
  await inv('Trio').locator('button', { hasText: 'Join' }).click();
  await q.locator('#nav-list h2', { hasText: 'Trio' }).waitFor(WAIT);
  await q.reload();
  await q.locator('#conn-status', { hasText: 'Online' }).waitFor(WAIT);
  await q.locator('#nav-list h2', { hasText: 'Choir' }).waitFor(WAIT);
  assert.equal(await q.locator('.nav-invite').count(), 0, 'nothing left to answer after a reload');

  // The owner sees Band's invite declined.
  await owner.click('#nav-list button.nav-item:has-text("general") >> nth=1');
  await owner.locator('#room-sub', { hasText: 'Band' }).waitFor(WAIT);
  await owner.click('#member-actions button:has-text("Sent invites")');
  dlg = owner.locator('dialog[open]');
  assert.match(await dlg.locator('.invite-rows li', { hasText: quinn.email }).textContent(), /declined/);

  assert.deepEqual([...owner.errors, ...q.errors], [], 'no uncaught errors in the pages');
  await owner.context().close();
  await q.context().close();
});

test('unread badges, the typing line and a direct message, as two members see them', { skip, ...T }, async () => {
  const a = await openApp();
  const b = await openApp();
  await signUp(a, 'Ann Writer');
  const ben = await signUp(b, 'Ben Reader');
  await a.click('.welcome button');
  await submitDialog(a, 'name', 'Office');
  await a.click('#member-actions button:has-text("Add member")');
  await submitDialog(a, 'email', ben.email);
  await b.locator('#room-title', { hasText: '# general' }).waitFor(WAIT);
  // Ben looks at another room while Ann writes in #general.
  await a.click('#nav-list button[aria-label="Create a room in Office"]');
  await submitDialog(a, 'name', 'random');
  await b.locator('#nav-list button.nav-item', { hasText: 'random' }).click();
  await b.locator('#room-title', { hasText: '# random' }).waitFor(WAIT);
  await a.locator('#nav-list button.nav-item', { hasText: 'general' }).click();
  for (const text of ['one', 'two', 'three']) await say(a, text);
  const general = b.locator('#nav-list button.nav-item', { hasText: 'general' });
  await general.locator('.badge', { hasText: '3' }).waitFor(WAIT);
  assert.match(await b.title(), /^\(3\) Natter$/, 'the tab title counts unread messages');
  await general.click();
  await seen(b, 'three');
  await general.locator('.badge').waitFor({ state: 'detached', ...WAIT });
  await b.waitForFunction(() => document.title === 'Natter', null, WAIT);

  // Typing shows on the other side, and goes away on its own. (Each send above announced typing
  // too, and the server passes typing_per_s (3) a second per socket: let that budget refill.)
  await h.sleep(1100);
  await a.fill('#composer-input', 'let me think');
  await a.type('#composer-input', '...');
  await b.locator('#typing', { hasText: 'Ann Writer is typing' }).waitFor(WAIT);
  await b.waitForFunction(() => document.querySelector('#typing').textContent === '', null, { timeout: 15000 });

  // Ben opens a DM with Ann from the member list; she gets it live, with a badge.
  await b.click('#member-list button.member:has-text("Ann Writer")');
  await b.locator('#room-sub', { hasText: 'Direct message' }).waitFor(WAIT);
  await say(b, 'a word in private');
  const dm = a.locator('#nav-list button.nav-item', { hasText: 'Ben Reader' });
  await dm.locator('.badge', { hasText: '1' }).waitFor(WAIT);
  await dm.click();
  await seen(a, 'a word in private');
  assert.equal(await a.textContent('#room-title'), 'Ben Reader');

  assert.deepEqual([...a.errors, ...b.errors], [], 'no uncaught errors in the pages');
  await a.context().close();
  await b.context().close();
});
