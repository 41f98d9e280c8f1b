// DOM building and rendering. Every user-provided string goes in through text nodes / textContent;
// nothing here uses innerHTML.
import { describe } from './api.js';
import { state, group, userName, orderedItems, canManage } from './state.js';

export const $ = (sel) => document.querySelector(sel);

// h('button', {class: 'x', onclick: fn, 'aria-label': 'y'}, 'text', childNode, ...)
export function h(tag, props = {}, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat()) {
    if (kid == null || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

// ---- small formatting helpers ----

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

const dayKey = (d) => `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
function dayLabel(d) {
  const today = new Date();
  const yesterday = new Date(Date.now() - 864e5);
  if (dayKey(d) === dayKey(today)) return 'Today';
  if (dayKey(d) === dayKey(yesterday)) return 'Yesterday';
  return dayFmt.format(d);
}

// Stable colour per user, as a class (the CSP forbids inline styles).
function hue(id) {
  let n = 0;
  for (const c of String(id)) n = (n * 31 + c.charCodeAt(0)) >>> 0;
  return n % 8;
}

function initials(name) {
  const parts = String(name || '?').trim().split(/\s+/).filter(Boolean);
  const s = parts.length > 1 ? parts[0][0] + parts[1][0] : (parts[0] || '?').slice(0, 2);
  return [...s].slice(0, 2).join('').toUpperCase();
}

export function avatar(id, name, cls = '') {
  return h('span', { class: `avatar av-${hue(id)} ${cls}`, 'aria-hidden': 'true' }, initials(name));
}

// Plain text with http(s) URLs turned into links, built with DOM nodes only.
const URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;
export function linkify(text) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    let url = match[0];
    // Trailing punctuation usually ends the sentence, not the URL; keep balanced parens.
    while (/[.,!?:;'\])]$/.test(url)) {
      if (url.endsWith(')') && (url.match(/\(/g) || []).length >= (url.match(/\)/g) || []).length) break;
      url = url.slice(0, -1);
    }
    let href = null;
    try {
      const u = new URL(url);
      if (u.protocol === 'http:' || u.protocol === 'https:') href = u.href;
    } catch { /* not a URL after all */ }
    if (!href) continue;
    frag.append(text.slice(last, match.index));
    frag.append(h('a', { href, target: '_blank', rel: 'noopener noreferrer' }, url));
    last = match.index + url.length;
  }
  frag.append(text.slice(last));
  return frag;
}

// ---- toasts ----

export function toast(text, kind = 'info') {
  const t = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
  $('#toasts').append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 7000 : 4000);
}

// ---- modal form dialog ----

/*
 * fields: [{name, label, type, value, autocomplete}]. onSubmit(values) may throw an error (an
 * ApiError too), which is shown in the dialog; it stays open until it succeeds or the user cancels.
 */
export function formDialog({ title, intro, fields, submit, onSubmit }) {
  const error = h('p', { class: 'form-error', role: 'alert' });
  const inputs = fields.map((f) => h('input', {
    name: f.name, type: f.type || 'text', required: true, value: f.value || '',
    autocomplete: f.autocomplete || 'off', maxlength: f.maxlength || null,
  }));
  const submitBtn = h('button', { type: 'submit', class: 'primary' }, submit);
  const form = h('form', { method: 'dialog', class: 'dialog-form' },
    h('h2', {}, title),
    intro ? h('p', { class: 'muted' }, intro) : null,
    fields.map((f, i) => h('label', { class: 'field' }, h('span', {}, f.label), inputs[i])),
    error,
    h('div', { class: 'dialog-actions' },
      h('button', { type: 'button', class: 'ghost', onclick: () => dlg.close() }, 'Cancel'),
      submitBtn));
  const dlg = h('dialog', { class: 'dialog', 'aria-label': title }, form);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    // Passwords are taken as typed: a space at either end is part of one.
    const values = Object.fromEntries(inputs.map((el) => [el.name,
      el.type === 'password' ? el.value : el.value.trim()]));
    submitBtn.disabled = true;
    error.textContent = '';
    try {
      await onSubmit(values);
      dlg.close();
    } catch (e) {
      error.textContent = describe(e);
    } finally {
      submitBtn.disabled = false;
    }
  });
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  inputs[0]?.focus();
}

/* actions: [{label, danger, run}], under an optional body node. Picking one closes the dialog,
 * then runs it (which may open another dialog or ask to confirm). */
export function actionsDialog({ title, intro, body, actions }) {
  const dlg = h('dialog', { class: 'dialog', 'aria-label': title },
    h('h2', {}, title),
    intro ? h('p', { class: 'muted' }, intro) : null,
    body,
    h('div', { class: 'action-list' }, actions.map((a) => h('button', {
      type: 'button', class: a.danger ? 'danger-text' : null,
      onclick: () => { dlg.close(); a.run(); },
    }, a.label))),
    h('div', { class: 'dialog-actions' },
      h('button', { type: 'button', class: 'ghost', onclick: () => dlg.close() }, 'Close')));
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
}

// ---- sidebar ----

function navItem(r, label, lead, ctx) {
  const active = r.id === state.current;
  const badge = r.unread > 0 && !active
    ? [h('span', { class: 'badge', 'aria-hidden': 'true' }, r.unread > 99 ? '99+' : String(r.unread)),
      h('span', { class: 'sr-only' }, `, ${r.unread} unread`)]
    : null;
  return h('li', {},
    h('button', {
      class: `nav-item${active ? ' active' : ''}${r.unread > 0 && !active ? ' unread' : ''}`,
      'data-room': r.id, 'aria-current': active ? 'page' : null,
      onclick: () => ctx.openRoom(r.id),
    }, lead, h('span', { class: 'label' }, label), badge));
}

export function renderSidebar(ctx) {
  const nav = $('#nav-list');
  const focused = document.activeElement?.dataset?.room;
  const out = [];
  if (state.invites.length) {
    out.push(h('section', { class: 'nav-group', 'aria-labelledby': 'inv-head' },
      h('div', { class: 'nav-group-head' }, h('h2', { id: 'inv-head' }, 'Invitations')),
      h('ul', {}, state.invites.map((inv) => h('li', { class: 'nav-invite' },
        h('p', {}, h('strong', {}, inv.group.name), ` \u00b7 from ${inv.inviter.name}`),
        h('button', { class: 'primary small', onclick: () => ctx.acceptInvite(inv.id) }, 'Join'), ' ',
        h('button', { class: 'ghost small', onclick: () => ctx.declineInvite(inv.id) }, 'Decline'))))));
  }
  for (const g of state.groups) {
    const headId = `g-head-${g.id}`;
    out.push(h('section', { class: 'nav-group', 'aria-labelledby': headId },
      h('div', { class: 'nav-group-head' },
        h('h2', { id: headId }, g.name),
        canManage(g.id) ? h('button', {
          class: 'icon-btn', title: 'Create a room', 'aria-label': `Create a room in ${g.name}`,
          onclick: () => ctx.createRoom(g.id),
        }, '+') : null),
      h('ul', {}, g.rooms.map((id) => state.rooms.get(id)).filter(Boolean)
        .map((r) => navItem(r, r.name, h('span', { class: 'lead', 'aria-hidden': 'true' }, '#'), ctx)))));
  }
  if (!state.groups.length) {
    out.push(h('div', { class: 'nav-empty' },
      h('p', {}, 'You are not in any group yet.'),
      h('button', { class: 'primary small', onclick: ctx.createGroup }, 'Create a group')));
  }
  const dms = state.dms.map((id) => state.rooms.get(id)).filter(Boolean);
  out.push(h('section', { class: 'nav-group', 'aria-labelledby': 'dm-head' },
    h('div', { class: 'nav-group-head' }, h('h2', { id: 'dm-head' }, 'Direct messages')),
    dms.length
      ? h('ul', {}, dms.map((r) => navItem(r, r.peer.name, presenceDot(r.peer.id), ctx)))
      : h('p', { class: 'nav-hint' }, 'Open a DM from a group\u2019s member list.')));
  nav.replaceChildren(...out);
  if (focused) nav.querySelector(`[data-room="${CSS.escape(focused)}"]`)?.focus();
}

function presenceDot(id) {
  const on = state.presence.get(id) === true;
  return h('span', { class: `dot ${on ? 'on' : 'off'}`, role: 'img', 'aria-label': on ? 'online' : 'offline' });
}

// ---- members panel ----

let membersSig = '';
export function renderMembers(ctx) {
  const r = state.rooms.get(state.current);
  const list = $('#member-list');
  const actions = $('#member-actions');
  const title = $('#members-title');
  const m = r && !r.peer ? state.members.get(r.group) : null;
  // Rebuild only when something shown changed, so keyboard focus in the panel survives.
  const sig = JSON.stringify([state.me?.id, state.me?.name, r?.id, r?.readonly, r?.peer?.name, r && canManage(r.group),
    m && [...m].map(([id, role]) => [id, role, userName(id), state.presence.get(id)]),
    r?.peer && state.presence.get(r.peer.id)]);
  if (sig === membersSig) return;
  membersSig = sig;
  actions.replaceChildren();
  if (!r) { list.replaceChildren(); return; }
  let rows;
  if (r.peer) {
    title.textContent = 'In this conversation';
    rows = [[state.me.id, 'you'], [r.peer.id, r.readonly ? 'no shared group' : '']];
  } else {
    title.textContent = m ? `Members \u2014 ${m.size}` : 'Members';
    rows = m ? [...m].sort((a, b) => (state.presence.get(b[0]) === true) - (state.presence.get(a[0]) === true) ||
      userName(a[0]).localeCompare(userName(b[0]))) : [];
    if (canManage(r.group)) {
      actions.append(
        h('button', { class: 'member-action', onclick: () => ctx.addMember(r.group) },
          h('span', { class: 'action-icon', 'aria-hidden': 'true' }, '+'), 'Add member'),
        h('button', { class: 'member-action', onclick: () => ctx.invite(r.group) },
          h('span', { class: 'action-icon', 'aria-hidden': 'true' }, '\u2709'), 'Invite by email'),
        h('button', { class: 'member-action', onclick: () => ctx.inviteList(r.group) },
          h('span', { class: 'action-icon', 'aria-hidden': 'true' }, '\u2630'), 'Sent invites'));
    }
  }
  list.replaceChildren(...rows.map(([id, role]) => {
    const name = userName(id);
    const self = id === state.me.id;
    const inner = [
      h('span', { class: 'avatar-wrap' }, avatar(id, name, 'sm'), presenceDot(id)),
      h('span', { class: 'member-text' },
        h('span', { class: 'member-name' }, name, self ? h('span', { class: 'muted' }, ' (you)') : null),
        role && role !== 'member' && role !== 'you' ? h('span', { class: 'role' }, role) : null),
    ];
    if (self || r.peer) return h('li', {}, h('div', { class: 'member' }, inner));
    // Owners and admins get a menu (message, role, removal); everyone else opens a DM.
    return h('li', {}, canManage(r.group)
      ? h('button', { class: 'member', title: `Options for ${name}`, onclick: () => ctx.memberMenu(r.group, id) }, inner)
      : h('button', { class: 'member', title: `Message ${name}`, onclick: () => ctx.openDm(id) }, inner));
  }));
}

// ---- timeline ----

const nodes = new Map(); // item key -> {sig, node}; reused between renders so focus and edits survive
export function resetTimelineCache() { nodes.clear(); }

const GROUP_MS = 5 * 60 * 1000; // messages from one author within this window share a header

export function renderTimeline(ctx) {
  const r = state.rooms.get(state.current);
  const list = $('#messages');
  document.body.classList.toggle('no-room', !r);
  if (!r) { list.replaceChildren(welcome(ctx)); nodes.clear(); return; }
  const want = [];
  let prev = null;
  let prevDay = '';
  for (const it of orderedItems(r)) {
    const date = it.ts ? new Date(it.ts) : new Date();
    const dk = dayKey(date);
    if (dk !== prevDay) {
      want.push(cached(`d${dk}`, dk, () => h('li', { class: 'day' }, h('span', {}, dayLabel(date)))));
      prevDay = dk;
      prev = null;
    }
    const actor = it.kind === 'pending' ? state.me.id : it.actor;
    const cont = !!prev && it.kind !== 'note' && prev.kind !== 'note' && prev.actor === actor &&
      date - prev.date < GROUP_MS;
    const key = it.kind === 'pending' ? `p${it.cid}` : it.kind === 'note' ? `n${it.seq}` : `m${it.id}`;
    const editing = ctx.editing === it.id && !it.deleted;
    const sig = editing ? 'editing' : `${it.v || 0}|${cont}|${it.status || ''}|${userName(actor)}`;
    want.push(cached(key, sig, () => (it.kind === 'note' ? noteNode(it, date)
      : messageNode(it, { cont, date, actor, editing, ctx }))));
    prev = { kind: it.kind, actor, date };
  }
  // Move/insert only what changed, so untouched nodes keep focus and selection.
  let at = list.firstChild;
  for (const n of want) {
    if (n === at) { at = at.nextSibling; continue; }
    list.insertBefore(n, at);
  }
  while (at) { const next = at.nextSibling; at.remove(); at = next; }
  const keep = new Set(want);
  for (const [k, v] of nodes) if (!keep.has(v.node)) nodes.delete(k);
}

function welcome(ctx) {
  const first = state.me.name.split(/\s+/)[0];
  return h('li', { class: 'welcome' },
    h('h2', {}, `Welcome to Natter, ${first}!`),
    h('p', {}, state.groups.length ? 'Pick a room on the left to start chatting.'
      : state.invites.length ? 'Join a group you were invited to (on the left), or create your own.'
        : 'Create a group for your team, friends or family, then add people by email.'),
    state.groups.length ? null : h('button', { class: 'primary', onclick: ctx.createGroup }, 'Create a group'));
}

function cached(key, sig, build) {
  const c = nodes.get(key);
  if (c && c.sig === sig) return c.node;
  const node = build();
  nodes.set(key, { sig, node });
  return node;
}

function noteNode(it, date) {
  const who = userName(it.actor);
  const text = it.op === 'room.renamed' ? `${who} renamed the room to #${it.name}`
    : it.op === 'call.started' ? `${who} started a call`
      : it.op === 'call.ended' ? 'The call ended' : it.op;
  return h('li', { class: 'note' }, text, ' \u00b7 ', timeEl(date));
}

function timeEl(date, cls = '') {
  return h('time', { class: cls, datetime: date.toISOString(), title: fullFmt.format(date) }, timeFmt.format(date));
}

function messageNode(it, { cont, date, actor, editing, ctx }) {
  const mine = actor === state.me.id;
  const pending = it.kind === 'pending';
  const name = userName(actor);
  const cls = ['msg', cont && 'cont', mine && 'mine', pending && it.status].filter(Boolean).join(' ');
  const li = h('li', { class: cls, 'data-msg': it.id || null });
  li.append(h('div', { class: 'gutter' }, cont ? timeEl(date, 'hover-time') : avatar(actor, name)));
  const content = h('div', { class: 'content' });
  if (!cont) content.append(h('div', { class: 'meta' }, h('span', { class: 'author' }, name), timeEl(date)));
  if (editing) {
    content.append(editBox(it, ctx));
  } else if (it.deleted) {
    content.append(h('div', { class: 'body deleted' }, 'This message was deleted.'));
  } else {
    content.append(h('div', { class: 'body' }, linkify(it.body ?? ''),
      it.edited ? h('span', { class: 'edited' }, ' (edited)') : null));
  }
  if (pending && it.status === 'sending') content.append(h('div', { class: 'send-state sending' }, 'Sending\u2026'));
  if (pending && it.status === 'failed') {
    content.append(h('div', { class: 'send-state error', role: 'alert' },
      `Not sent: ${it.error || 'error'}. `,
      h('button', { class: 'link', onclick: () => ctx.retry(it.cid) }, 'Retry'), ' ',
      h('button', { class: 'link', onclick: () => ctx.discard(it.cid) }, 'Discard')));
  }
  li.append(content);
  if (!pending && !it.deleted && !editing) {
    const r = state.rooms.get(state.current);
    const canDelete = mine || (!r.peer && canManage(r.group));
    if (mine || canDelete) {
      li.append(h('div', { class: 'actions', role: 'toolbar', 'aria-label': 'Message actions' },
        mine ? h('button', { onclick: () => ctx.startEdit(it.id), 'aria-label': 'Edit message' }, 'Edit') : null,
        canDelete ? h('button', { onclick: () => ctx.remove(it.id), 'aria-label': 'Delete message' }, 'Delete') : null));
    }
  }
  return li;
}

function editBox(it, ctx) {
  const ta = h('textarea', { class: 'edit-input', 'aria-label': 'Edit message', rows: 2 });
  ta.value = it.body ?? '';
  const save = () => { const v = ta.value.trim(); if (v) ctx.saveEdit(it.id, v); };
  ta.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); save(); }
    if (ev.key === 'Escape') { ev.preventDefault(); ctx.cancelEdit(); }
  });
  return h('div', { class: 'edit' }, ta,
    h('div', { class: 'edit-hint' }, 'Enter to save \u00b7 Escape to cancel ',
      h('button', { class: 'link', onclick: save }, 'Save'), ' ',
      h('button', { class: 'link', onclick: ctx.cancelEdit }, 'Cancel')));
}

// ---- header, typing, status, drawer ----

export function setSidebar(open) {
  $('#sidebar').classList.toggle('open', open);
  $('#scrim').hidden = !open;
  $('#menu-toggle').setAttribute('aria-expanded', String(open));
}

export function renderHeader() {
  const r = state.rooms.get(state.current);
  const title = $('#room-title');
  const sub = $('#room-sub');
  const input = $('#composer-input');
  if (!r) {
    $('#room-settings').hidden = true;
    title.textContent = 'Natter';
    sub.textContent = state.groups.length ? 'Pick a room on the left.' : 'Create a group to start chatting.';
    return;
  }
  $('#room-settings').hidden = !!r.peer;
  title.textContent = r.peer ? r.peer.name : `# ${r.name}`;
  sub.textContent = r.peer ? (r.readonly ? 'Read-only: you no longer share a group' : 'Direct message')
    : group(r.group)?.name || '';
  const label = r.peer ? `Message ${r.peer.name}` : `Message #${r.name}`;
  input.placeholder = label;
  $('#composer-label').textContent = label;
  input.disabled = !!r.readonly;
}

export function renderTyping(names) {
  const el = $('#typing');
  const text = names.length === 0 ? ''
    : names.length === 1 ? `${names[0]} is typing\u2026`
      : names.length === 2 ? `${names[0]} and ${names[1]} are typing\u2026`
        : 'Several people are typing\u2026';
  if (el.textContent !== text) el.textContent = text;
}

export function renderStatus(kind, info) {
  const el = $('#conn-status');
  el.className = `conn ${kind}`;
  if (kind === 'reconnecting' && info?.until) {
    const s = Math.max(1, Math.round((info.until - Date.now()) / 1000));
    el.textContent = `Reconnecting in ${s}s\u2026`;
  } else {
    el.textContent = { connecting: 'Connecting\u2026', online: 'Online', reconnecting: 'Reconnecting\u2026', offline: 'Offline' }[kind] || kind;
  }
}
