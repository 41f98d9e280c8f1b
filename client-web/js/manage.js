// Managing groups, rooms, members and invites: rename, delete, leave, roles, removal, the invites
// a group sent and the ones waiting for you. Each action is offered only to whom the server
// allows it (PROTOCOL.md §6); the server checks again. What changes comes back as events
// (room.renamed, group.renamed, member.role, ...), like anyone else's change.
import { state, room, group, canManage, userName, addGroup } from './state.js';
import * as ui from './ui.js';
import { describe } from './api.js';
import { ctx, call, render, openRoom } from './chat.js';

async function act(req, done) {
  try {
    await req();
    if (done) ui.toast(done);
  } catch (e) {
    ui.toast(describe(e), 'error');
  }
}

const confirmed = (text, req, done) => { if (confirm(text)) act(req, done); };

const rename = (title, label, value, op, key, id) => ui.formDialog({
  title,
  fields: [{ name: 'name', label, value, maxlength: 64 }],
  submit: 'Rename',
  onSubmit: ({ name }) => call(op, { [key]: id, name }),
});

// The room header's Settings: what you may do with this room and its group.
export function roomSettings() {
  const r = room(state.current);
  const g = r && !r.peer ? group(r.group) : null;
  if (!g) return;
  const actions = [];
  if (canManage(g.id)) {
    actions.push(
      { label: `Rename #${r.name}`, run: () => rename('Rename the room', 'Room name', r.name, 'room.rename', 'room', r.id) },
      { label: `Rename ${g.name}`, run: () => rename('Rename the group', 'Group name', g.name, 'group.rename', 'group', g.id) },
    );
    if (g.rooms.length > 1) { // a group keeps at least one room
      actions.push({ label: `Delete #${r.name}`, danger: true, run: () => confirmed(
        `Delete #${r.name} and all its messages for everyone? This cannot be undone.`,
        () => call('room.delete', { room: r.id }), `#${r.name} was deleted.`) });
    }
  }
  if (g.role === 'owner') {
    actions.push({ label: `Delete ${g.name}`, danger: true, run: () => confirmed(
      `Delete ${g.name} with all its rooms and messages for everyone? This cannot be undone.`,
      () => call('group.delete', { group: g.id })) });
  } else {
    actions.push({ label: `Leave ${g.name}`, danger: true, run: () => confirmed(
      `Leave ${g.name}? You will need to be added again to come back.`,
      () => call('group.leave', { group: g.id }), `You left ${g.name}.`) });
  }
  ui.actionsDialog({ title: `#${r.name}`, intro: `A room of ${g.name}`, actions });
}

// A member's row, for an owner or admin: a DM, their role, removal.
export function memberMenu(gid, uid) {
  const g = group(gid);
  const theirs = state.members.get(gid)?.get(uid);
  if (!g || !theirs) return;
  const name = userName(uid);
  const role = (to, done) => () => act(() => call('member.role', { group: gid, user: uid, role: to }), done);
  const actions = [{ label: `Message ${name}`, run: () => ctx.openDm(uid) }];
  if (g.role === 'owner') {
    if (theirs === 'member') actions.push({ label: 'Make admin', run: role('admin', `${name} is now an admin.`) });
    if (theirs === 'admin') actions.push({ label: 'Make a regular member', run: role('member', `${name} is now a member.`) });
    actions.push({ label: 'Make owner', run: () => confirmed(
      `Make ${name} the owner of ${g.name}? You will become an admin.`,
      () => call('member.role', { group: gid, user: uid, role: 'owner' }), `${name} now owns ${g.name}.`) });
  }
  if ((g.role === 'owner' && theirs !== 'owner') || (g.role === 'admin' && theirs === 'member')) {
    actions.push({ label: `Remove from ${g.name}`, danger: true, run: () => confirmed(
      `Remove ${name} from ${g.name}?`,
      () => call('member.remove', { group: gid, user: uid }), `${name} was removed from ${g.name}.`) });
  }
  ui.actionsDialog({ title: name, intro: `${theirs[0].toUpperCase()}${theirs.slice(1)} of ${g.name}`, actions });
}

// ---- invites ----

// The invites waiting for you: listed on each connect, then kept by invite.received.
export async function loadInvites() {
  try {
    state.invites = (await call('invite.pending')).invites;
    render();
  } catch { /* shown next time */ }
}

export function inviteReceived(inv) {
  state.invites = [inv, ...state.invites.filter((i) => i.id !== inv.id)];
  ui.toast(`${inv.inviter.name} invited you to ${inv.group.name}.`);
}

function dropInvite(id) {
  state.invites = state.invites.filter((i) => i.id !== id);
  render();
}

export async function acceptInvite(id) {
  try {
    const { group: g } = await call('invite.accept', { invite: id });
    dropInvite(id);
    addGroup(g);
    openRoom(g.rooms[0]?.id);
    ui.toast(`You joined ${g.name}.`);
  } catch (e) {
    ui.toast(`Could not join: ${describe(e)}`, 'error');
    loadInvites(); // expired or revoked meanwhile
  }
}

export function declineInvite(id) {
  act(async () => { await call('invite.decline', { invite: id }); dropInvite(id); });
}

const DELIVERY = { queued: 'mail queued', sent: 'mail sent', failed: 'mail failed' };

// For owners and admins: the invites a group sent, and revoking the pending ones.
export async function inviteList(gid) {
  const g = group(gid);
  let invites;
  try { ({ invites } = await call('invite.list', { group: gid })); } catch (e) {
    ui.toast(describe(e), 'error');
    return;
  }
  const pending = invites.filter((i) => i.state === 'pending');
  ui.actionsDialog({
    title: `Invites to ${g?.name}`,
    intro: invites.length ? `${pending.length} of ${invites.length} still pending.` : 'No invites yet.',
    body: ui.h('ul', { class: 'invite-rows' }, invites.map((i) => ui.h('li', {},
      ui.h('strong', {}, i.email), ` \u00b7 ${i.state}`,
      i.state === 'pending' && i.delivery ? ` \u00b7 ${DELIVERY[i.delivery.status] || i.delivery.status}` : null,
      i.state === 'pending' && i.delivery?.last_error ? ` (${i.delivery.last_error})` : null))),
    actions: pending.map((i) => ({ label: `Revoke the invite for ${i.email}`, danger: true, run: () => act(
      () => call('invite.revoke', { invite: i.id }), `The invite for ${i.email} no longer works.`) })),
  });
}
