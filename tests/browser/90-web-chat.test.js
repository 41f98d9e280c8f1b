'use strict';
// The web client in real headless Chromium against a real server, as two people use it: sign-up,
// a group, adding a member, live messages both ways, edits, text that looks like HTML, reload, a
// server restart, log out and a wrong password; unread badges, typing and a direct message.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('../integ/lib/harness');
const { skip, T, WAIT, useRig, openApp, signUp, submitDialog, say, bodies, seen } = require('./lib/web');

const rig = useRig();

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
  await rig.srv.restart();
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
