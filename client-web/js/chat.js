// What the user does in the chat: requests, loading rooms, read markers, sending, and the
// callbacks the UI calls. app.js owns the session and the screens.
import { describe } from './api.js';
import * as auth from './auth.js';
import {
  state, room, group, applyLog, addGroup, addDm, addRoom, resetTimeline, setMembers, ackSend,
  typingNames, totalUnread,
} from './state.js';
import * as ui from './ui.js';

const { $ } = ui;
const TYPING_EVERY_MS = 3000; // send `typing` at most this often
const PAGE = 50;

// The live session (set by app.js) and what to do when the server rejects our tokens.
export const conn = { session: null, onAuthLost: () => {} };

let lastTypingSent = 0;
let scrollMode = 'auto'; // 'auto' (stick to the bottom if already there) | 'bottom' | 'anchor'
let anchorFromBottom = 0;

// ---------- requests ----------

// Ops that are safe to repeat over REST when the socket drops mid-request.
const RETRYABLE = new Set(['message.send', 'room.history', 'room.read', 'member.list', 'dm.open']);

export async function call(op, d = {}) {
  const { session } = conn;
  if (session?.ready) {
    try { return await session.request(op, d); } catch (e) {
      if (!(RETRYABLE.has(op) && (e.code === 'disconnected' || e.code === 'timeout'))) throw e;
    }
  }
  try {
    return await auth.authedRest(op, d);
  } catch (e) {
    if (e.status === 401) conn.onAuthLost();
    throw e;
  }
}


function newCid() {
  if (crypto.randomUUID) return crypto.randomUUID().replaceAll('-', '');
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

// ---------- rendering ----------

let renderQueued = false;
export function render() {
  if (renderQueued) return;
  renderQueued = true;
  // rAF pauses in hidden tabs; the timeout keeps state (and read markers) moving there too.
  const run = () => { if (renderQueued) { renderQueued = false; renderNow(); } };
  requestAnimationFrame(run);
  setTimeout(run, 100);
}

function renderNow() {
  if (!state.me) return;
  const r = room(state.current);
  ui.renderSidebar(ctx);
  ui.renderHeader();
  ui.renderMembers(ctx);
  const tl = $('#timeline');
  const atBottom = tl.scrollHeight - tl.scrollTop - tl.clientHeight < 60;
  ui.renderTimeline(ctx);
  $('#load-older').hidden = !(r && r.loaded && r.more);
  $('#room-start').hidden = !(r && r.loaded && !r.more);
  if (scrollMode === 'anchor') tl.scrollTop = tl.scrollHeight - anchorFromBottom;
  else if (scrollMode === 'bottom' || atBottom) tl.scrollTop = tl.scrollHeight;
  scrollMode = 'auto';
  ui.renderTyping(r ? typingNames(r) : []);
  const n = totalUnread() - (r && document.visibilityState === 'visible' ? r.unread : 0);
  document.title = n > 0 ? `(${n}) Natter` : 'Natter';
  $('#me-name').textContent = state.me.name;
  $('#me-name').title = state.me.name; // the sidebar may cut it short
  $('#me-avatar').replaceChildren(ui.avatar(state.me.id, state.me.name, 'sm'));
  markReadSoon();
}

// ---------- read markers ----------

// One timer per room, so switching rooms quickly never drops the previous room's marker.
function markReadSoon() {
  const r = room(state.current);
  if (!r || !r.loaded || !conn.session?.ready || document.visibilityState !== 'visible') return;
  if ((r.held <= r.lastRead && r.unread === 0) || r.readTimer) return;
  r.readTimer = setTimeout(() => { r.readTimer = 0; markRead(r); }, 300);
}

async function markRead(r) {
  const seq = r.held;
  if (seq <= r.lastRead && r.unread === 0) return;
  r.lastRead = Math.max(r.lastRead, seq);
  r.unread = 0;
  render();
  try {
    const res = await call('room.read', { room: r.id, seq });
    if (room(r.id) && res.last_read >= r.lastRead) { r.lastRead = res.last_read; r.unread = res.unread; }
  } catch { /* the marker is a hint; the next render retries */ }
}
document.addEventListener('visibilitychange', () => render());

// ---------- rooms ----------

export function defaultRoom() {
  const saved = sessionStorage.getItem('natter.room');
  if (saved && room(saved)) return saved;
  return state.groups[0]?.rooms[0] || state.dms[0] || null;
}

export function openRoom(id) {
  if (!room(id)) return;
  if (state.current !== id) {
    state.current = id;
    ctx.editing = null;
    ui.resetTimelineCache();
    $('#messages').replaceChildren();
    sessionStorage.setItem('natter.room', id);
  }
  ensureLoaded(room(id));
  scrollMode = 'bottom';
  ui.setSidebar(false);
  render();
}

// Fetch what the room on screen needs and does not have yet (after a switch or a reconnect).
export function ensureLoaded(r) {
  if (!r.loaded) loadRoom(r);
  else if (r.lastSeq > r.held) fillGap(r, r.held);
  if (r.group && !state.members.has(r.group)) loadMembers(r.group);
}

async function loadRoom(r) {
  if (r.loading) return;
  r.loading = true;
  try {
    const res = await call('room.history', { room: r.id, limit: PAGE });
    if (room(r.id) !== r) return;
    resetTimeline(r);
    r.loaded = true;
    r.more = res.more;
    r.oldest = res.events[0]?.d.seq || 0;
    for (const ev of res.events) applyLog(ev.op, ev.d, true);
    if (r.lastSeq > r.held) await fillGap(r, r.held); // live events that came during the request
    if (r.id === state.current) scrollMode = 'bottom';
  } catch (e) {
    ui.toast(`Could not load messages: ${describe(e)}`, 'error');
  } finally {
    r.loading = false;
    render();
  }
}

export async function loadOlder() {
  const r = room(state.current);
  if (!r || !r.loaded || !r.more || r.loadingOlder || !r.oldest) return;
  r.loadingOlder = true;
  try {
    const res = await call('room.history', { room: r.id, before: r.oldest, limit: PAGE });
    for (const ev of res.events) applyLog(ev.op, ev.d, true);
    r.more = res.more;
    if (res.events.length) r.oldest = res.events[0].d.seq;
    const tl = $('#timeline');
    anchorFromBottom = tl.scrollHeight - tl.scrollTop;
    scrollMode = 'anchor';
  } catch (e) {
    ui.toast(`Could not load older messages: ${describe(e)}`, 'error');
  } finally {
    r.loadingOlder = false;
    render();
  }
}

// Events after `from` are missing (a seq jumped, or arrived while the first page loaded).
export async function fillGap(r, from) {
  let after = from;
  try {
    for (let i = 0; i < 20; i++) {
      const res = await call('room.history', { room: r.id, after, limit: 100 });
      for (const ev of res.events) applyLog(ev.op, ev.d, true);
      if (!res.more || !res.events.length) break;
      after = res.events[res.events.length - 1].d.seq;
    }
  } catch (e) {
    ui.toast(`Could not load new messages: ${describe(e)}`, 'error');
  }
  render();
}

export async function loadMembers(gid) {
  try {
    const res = await call('member.list', { group: gid });
    if (group(gid)) setMembers(gid, res.members);
  } catch (e) {
    ui.toast(`Could not load members: ${describe(e)}`, 'error');
  }
  render();
}

// ---------- sending ----------

export function sendMessage(body) {
  const r = room(state.current);
  if (!r || r.readonly) return false;
  const max = conn.session?.limits?.max_body || 4000;
  if ([...body].length > max) { ui.toast(`Messages can be at most ${max} characters.`, 'error'); return false; }
  const cid = newCid();
  r.pending.set(cid, { cid, body, status: 'sending', v: 1 });
  lastTypingSent = 0; // the next keystroke may announce typing again right away
  scrollMode = 'bottom';
  render();
  deliver(r, cid);
  return true;
}

// Same cid on every retry: the server answers a repeat with the original ack.
async function deliver(r, cid) {
  const p = r.pending.get(cid);
  if (!p || p.inflight) return;
  p.inflight = true;
  p.waiting = false;
  try {
    const ack = await call('message.send', { room: r.id, cid, body: p.body });
    ackSend(r, cid, ack);
  } catch (e) {
    if (!r.pending.has(cid)) return;
    if (e.code === 'rate_limited') setTimeout(() => deliver(r, cid), e.retryAfterMs || 1000);
    else if (e.temporary) p.waiting = true; // resent when the socket is back
    else {
      Object.assign(p, { status: 'failed', error: describe(e), v: p.v + 1 });
      if (r.peer && e.code === 'forbidden') r.readonly = true; // the DM became read-only
    }
  } finally {
    p.inflight = false;
    render();
  }
}

export function resendWaiting() {
  for (const r of state.rooms.values()) {
    for (const p of r.pending.values()) if (p.status === 'sending') deliver(r, p.cid);
  }
}

// ---------- the UI's callbacks ----------

export const ctx = {
  editing: null,
  openRoom,
  openDm: async (user) => {
    try {
      const res = await call('dm.open', { user });
      addDm(res.dm);
      openRoom(res.dm.id);
    } catch (e) { ui.toast(`Could not open the conversation: ${describe(e)}`, 'error'); }
  },
  createGroup: () => ui.formDialog({
    title: 'Create a group',
    intro: 'A group has members and rooms. You will be its owner.',
    fields: [{ name: 'name', label: 'Group name', maxlength: 64 }],
    submit: 'Create group',
    onSubmit: async ({ name }) => {
      const res = await call('group.create', { name });
      addGroup(res.group);
      openRoom(res.group.rooms[0].id);
    },
  }),
  createRoom: (gid) => ui.formDialog({
    title: `New room in ${group(gid)?.name}`,
    fields: [{ name: 'name', label: 'Room name', maxlength: 64 }],
    submit: 'Create room',
    onSubmit: async ({ name }) => {
      const res = await call('room.create', { group: gid, name: name.replace(/^#/, '') });
      const r = addRoom(gid, res.room);
      if (r) openRoom(r.id);
    },
  }),
  addMember: (gid) => ui.formDialog({
    title: `Add someone to ${group(gid)?.name}`,
    intro: 'They need a Natter account already. To bring in someone new, send an invite.',
    fields: [{ name: 'email', label: 'Their email', type: 'email', autocomplete: 'email' }],
    submit: 'Add member',
    onSubmit: async ({ email }) => {
      const res = await call('member.add', { group: gid, email });
      ui.toast(`${res.member.user.name} joined ${group(gid)?.name}.`);
    },
  }),
  invite: (gid) => ui.formDialog({
    title: `Invite to ${group(gid)?.name}`,
    intro: 'We will email them a link to join. It expires after a week.',
    fields: [{ name: 'email', label: 'Email address', type: 'email', autocomplete: 'email' }],
    submit: 'Send invite',
    onSubmit: async ({ email }) => {
      const res = await call('invite.create', { group: gid, email });
      const dl = res.invite?.delivery;
      ui.toast(dl?.status === 'queued' && dl.last_error
        ? `Invite for ${email} created, but this server cannot send mail yet.`
        : `Invitation sent to ${email}.`);
    },
  }),
  startEdit: (id) => {
    ctx.editing = id;
    render();
    requestAnimationFrame(() => {
      const ta = document.querySelector('.edit-input');
      if (ta) { ta.focus(); ta.setSelectionRange(ta.value.length, ta.value.length); }
    });
  },
  cancelEdit: () => { ctx.editing = null; render(); $('#composer-input').focus(); },
  saveEdit: async (id, body) => {
    const r = room(state.current);
    const m = r?.items.get(`m_${id}`);
    if (!m) return;
    if (m.body === body) { ctx.cancelEdit(); return; }
    try {
      await call('message.edit', { room: r.id, msg: id, body });
      ctx.cancelEdit();
    } catch (e) { ui.toast(`Could not edit: ${describe(e)}`, 'error'); }
  },
  remove: async (id) => {
    const r = room(state.current);
    if (!r || !confirm('Delete this message? This cannot be undone.')) return;
    try { await call('message.delete', { room: r.id, msg: id }); } catch (e) {
      ui.toast(`Could not delete: ${describe(e)}`, 'error');
    }
  },
  retry: (cid) => {
    const r = room(state.current);
    const p = r?.pending.get(cid);
    if (!p) return;
    Object.assign(p, { status: 'sending', error: null, v: p.v + 1 });
    render();
    deliver(r, cid);
  },
  discard: (cid) => { room(state.current)?.pending.delete(cid); render(); },
};

// Announce typing at most every TYPING_EVERY_MS while the user types.
export function typed(text) {
  const now = Date.now();
  if (text.trim() && state.current && now - lastTypingSent >= TYPING_EVERY_MS) {
    lastTypingSent = now;
    conn.session?.typing(state.current);
  }
}
