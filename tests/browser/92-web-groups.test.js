'use strict';
// Running a group from the web client in real headless Chromium: roles, renames, rooms made and
// deleted, removals, deleting the group, and invites (sent, listed, revoked, joined, declined).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('../integ/lib/harness');
const { skip, T, WAIT, useRig, openApp, signUp, submitDialog, seen } = require('./lib/web');

const rig = useRig();

test('an owner manages the group in the page: roles, rename, a room made and deleted, a removal, then the group deleted', { skip, ...T }, async () => {
  const page = await openApp();
  page.on('dialog', (d) => d.accept()); // the page asks to confirm deletions and removals
  await signUp(page, 'Olivia Owner');
  await page.click('.welcome button');
  await submitDialog(page, 'name', 'Garden');
  await page.locator('#room-title', { hasText: '# general' }).waitFor(WAIT);
  const [mal, nick] = [await h.signup(rig.srv, 'Mallory'), await h.signup(rig.srv, 'Nick')];
  const mc = await h.connectAs(rig.srv, mal);
  const nc = await h.connectAs(rig.srv, nick);
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
  // The group's only room left cannot be deleted, so it is not offered.
  await page.locator('#room-title', { hasText: '# lobby' }).waitFor(WAIT);
  await page.click('#room-settings');
  assert.equal(await page.locator('dialog[open] .action-list button', { hasText: 'Delete #lobby' }).count(), 0);
  await page.locator('dialog[open] button', { hasText: 'Close' }).click();

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
  const quinn = await h.signup(rig.srv, 'Quinn');
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
