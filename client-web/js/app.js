// Entry point: the login/signup screen, the session's lifecycle and its events.
import { Session, rest, describe } from './api.js';
import * as auth from './auth.js';
import {
  state, room, group, applySnapshot, applyLog, isRoomLogEvent, addGroup, removeGroup, addDm, addRoom,
  removeRoom, resetTimeline, typingNames, resetState,
} from './state.js';
import * as ui from './ui.js';
import * as manage from './manage.js';
import {
  conn, ctx, call, render, openRoom, ensureLoaded, defaultRoom, loadOlder, fillGap,
  loadMembers, sendMessage, resendWaiting, typed,
} from './chat.js';

const { $ } = ui;
const TYPING_SHOWN_MS = 5000; // show someone as typing this long after their last `typing`

let inviteCode = new URLSearchParams(location.search).get('invite');
let authMode = 'login';
let connStatus = ['connecting'];

// ---------- session events ----------

function onReady(d, replayed, resumed) {
  applySnapshot(d);
  state.members.clear(); // presence and membership may have changed while away
  for (const f of replayed) onEvent(f.op, f.d || {});
  if (resumed) {
    for (const [id, info] of Object.entries(d.rooms || {})) {
      const r = room(id);
      if (r && !info.recovered) resetTimeline(r);
    }
  }
  const r = room(state.current);
  if (r) ensureLoaded(r); // same room as before the reconnect: keep the scroll position
  else openRoom(defaultRoom());
  resendWaiting();
  if (inviteCode) acceptInvite();
  else manage.loadInvites();
  render();
}

async function acceptInvite() {
  const code = inviteCode;
  inviteCode = null;
  history.replaceState(null, '', location.pathname);
  ui.toast('You were invited to a group \u2014 joining\u2026');
  try {
    const res = await call('invite.accept', { code });
    addGroup(res.group);
    openRoom(res.group.rooms[0]?.id);
    ui.toast(`You joined ${res.group.name}.`);
  } catch (e) {
    ui.toast(`Could not accept the invite: ${describe(e)}`, 'error');
  }
}

function onEvent(op, d) {
  if (isRoomLogEvent(op)) {
    const res = applyLog(op, d);
    if (res?.gapFrom) fillGap(res.r, res.gapFrom);
    render();
    return;
  }
  switch (op) {
    case 'typing': {
      const r = room(d.room);
      if (!r || d.user === state.me.id) return;
      r.typing.set(d.user, Date.now() + TYPING_SHOWN_MS);
      break;
    }
    case 'presence':
      state.presence.set(d.user, d.status === 'online');
      break;
    case 'room.read': {
      const r = room(d.room);
      if (r) { r.lastRead = Math.max(r.lastRead, d.last_read); r.unread = d.unread; }
      break;
    }
    case 'room.created': addRoom(d.group, d.room); break;
    case 'room.deleted': removeRoom(d.group, d.room); break;
    case 'group.joined':
      addGroup(d.group);
      ui.toast(`You were added to ${d.group.name}.`);
      break;
    case 'group.left':
    case 'group.deleted': {
      const name = group(d.group)?.name;
      removeGroup(d.group);
      if (name) ui.toast(op === 'group.deleted' ? `${name} was deleted.` : `You were removed from ${name}.`);
      break;
    }
    case 'group.renamed': { const g = group(d.group); if (g) g.name = d.name; break; }
    case 'member.joined':
      state.users.set(d.user.id, d.user.name);
      // No presence event comes for someone who was already online: ask for the list again.
      if (state.members.has(d.group)) loadMembers(d.group);
      break;
    case 'member.left':
      if (d.user === state.me.id) removeGroup(d.group);
      else state.members.get(d.group)?.delete(d.user);
      break;
    case 'member.role': {
      state.members.get(d.group)?.set(d.user, d.role);
      const g = group(d.group);
      if (g && d.user === state.me.id) g.role = d.role;
      if (g && d.role === 'owner') g.owner = d.user;
      break;
    }
    case 'member.updated':
      state.users.set(d.user.id, d.user.name);
      if (d.user.id === state.me.id) state.me.name = d.user.name;
      for (const r of state.rooms.values()) if (r.peer?.id === d.user.id) r.peer.name = r.name = d.user.name;
      break;
    case 'dm.opened': addDm(d.dm); break;
    case 'invite.received': manage.inviteReceived(d.invite); break;
    default: return; // unknown events are ignored
  }
  if (!room(state.current)) { // the room on screen went away, or the first one arrived
    state.current = null;
    const id = defaultRoom();
    if (id) openRoom(id);
  }
  render();
}

function authLost() {
  if (!auth.current()) return;
  stopChat();
  showAuth('login', 'Your session has ended. Please log in again.');
}

// ---------- screens ----------

function showAuth(mode, message = '') {
  $('#chat-view').hidden = true;
  $('#auth-view').hidden = false;
  $('#invite-banner').hidden = !inviteCode;
  setAuthMode(mode);
  $('#auth-error').textContent = message;
  (mode === 'signup' ? $('#auth-form').display_name : $('#auth-form').email).focus();
}

function setAuthMode(mode) {
  authMode = mode;
  const signup = mode === 'signup';
  $('#mode-login').setAttribute('aria-pressed', String(!signup));
  $('#mode-signup').setAttribute('aria-pressed', String(signup));
  $('#name-field').hidden = !signup;
  $('#forgot-row').hidden = signup;
  $('#auth-form').display_name.required = signup;
  $('#auth-form').password.autocomplete = signup ? 'new-password' : 'current-password';
  $('#auth-title').textContent = signup ? 'Create your account' : 'Welcome back';
  $('#auth-submit').textContent = signup ? 'Sign up' : 'Log in';
  $('#auth-error').textContent = '';
}

async function submitAuth(ev) {
  ev.preventDefault();
  const f = ev.target;
  const email = f.email.value.trim();
  const password = f.password.value;
  const name = f.display_name.value.trim();
  const err = $('#auth-error');
  if (!email || !email.includes('@')) { err.textContent = 'Enter your email address.'; return; }
  if (authMode === 'signup' && !name) { err.textContent = 'Choose a display name.'; return; }
  if (password.length < 8) { err.textContent = 'Passwords have at least 8 characters.'; return; }
  const d = { email, password };
  if (authMode === 'signup') {
    d.name = name;
    if (inviteCode) d.invite_code = inviteCode;
  }
  $('#auth-submit').disabled = true;
  try {
    auth.save(await rest(authMode === 'signup' ? 'auth.signup' : 'auth.login', d));
    if (authMode === 'signup' && inviteCode) { // joined in the same step
      inviteCode = null;
      history.replaceState(null, '', location.pathname);
    }
    f.password.value = '';
    startChat();
  } catch (e) {
    err.textContent = e.code === 'conflict' && authMode === 'signup'
      ? 'An account with this email already exists. Log in instead.' : describe(e);
  } finally {
    $('#auth-submit').disabled = false;
  }
}

function startChat() {
  $('#auth-view').hidden = true;
  $('#chat-view').hidden = false;
  resetState();
  ui.resetTimelineCache();
  $('#messages').replaceChildren();
  conn.onAuthLost = authLost;
  conn.session = new Session({
    token: (force) => auth.accessToken(force),
    resumeRooms: () => {
      const rooms = {};
      for (const r of state.rooms.values()) if (r.loaded) rooms[r.id] = r.held;
      return rooms;
    },
    onReady,
    onEvent,
    onStatus: (kind, info) => { connStatus = [kind, info]; ui.renderStatus(kind, info); },
    onAuthLost: () => authLost(),
  });
  conn.session.start();
  $('#composer-input').focus();
}

function stopChat() {
  conn.session?.stop();
  conn.session = null;
  auth.clear();
  resetState();
  sessionStorage.removeItem('natter.room');
}

// ---------- forgotten password, profile ----------

function forgotPassword() {
  ui.formDialog({
    title: 'Reset your password',
    intro: 'We will email you a code to set a new password with.',
    fields: [{ name: 'email', label: 'Email', type: 'email', autocomplete: 'email',
      value: $('#auth-form').email.value.trim() }],
    submit: 'Email me a code',
    onSubmit: async ({ email }) => {
      if (!email.includes('@')) throw new Error('Enter your email address.');
      await rest('auth.reset.request', { email });
      setTimeout(() => confirmReset(email)); // once this dialog has closed
    },
  });
}

function confirmReset(email) {
  ui.formDialog({
    title: 'Check your email',
    intro: `If ${email} has an account, a code is on its way. It works for a few minutes only.`,
    fields: [
      { name: 'code', label: 'Code from the email', autocomplete: 'one-time-code', maxlength: 16 },
      { name: 'password', label: 'New password', type: 'password', autocomplete: 'new-password' },
    ],
    submit: 'Set password',
    onSubmit: async ({ code, password }) => {
      if (password.length < 8) throw new Error('Passwords have at least 8 characters.');
      await rest('auth.reset.confirm', { email, code: code.replace(/\s+/g, ''), password });
      auth.save(await rest('auth.login', { email, password }));
      startChat();
      ui.toast('Your password was changed, and your other devices were logged out.');
    },
  });
}

function editProfile() {
  ui.formDialog({
    title: 'Your profile',
    intro: 'Your name is what people see next to your messages.',
    fields: [{ name: 'name', label: 'Display name', value: state.me?.name, maxlength: 64, autocomplete: 'nickname' }],
    submit: 'Save',
    onSubmit: async ({ name }) => {
      const res = await call('profile.update', { name });
      state.me.name = res.user.name;
      state.users.set(res.user.id, res.user.name);
      render();
    },
  });
}

async function logout() {
  const a = auth.current();
  conn.session?.stop();
  try { if (a) await rest('auth.logout', { refresh_token: a.refresh }, a.access); } catch { /* gone anyway */ }
  stopChat();
  showAuth('login');
}

// ---------- wiring the page ----------

function bind() {
  $('#mode-login').addEventListener('click', () => setAuthMode('login'));
  $('#mode-signup').addEventListener('click', () => setAuthMode('signup'));
  $('#auth-form').addEventListener('submit', submitAuth);
  $('#logout').addEventListener('click', logout);
  $('#forgot').addEventListener('click', forgotPassword);
  $('#edit-profile').addEventListener('click', editProfile);
  $('#room-settings').addEventListener('click', manage.roomSettings);
  Object.assign(ctx, {
    memberMenu: manage.memberMenu, inviteList: manage.inviteList,
    acceptInvite: manage.acceptInvite, declineInvite: manage.declineInvite,
  });
  $('#new-group').addEventListener('click', ctx.createGroup);
  $('#load-older').addEventListener('click', loadOlder);
  $('#timeline').addEventListener('scroll', (ev) => { if (ev.target.scrollTop < 40) loadOlder(); });
  $('#menu-toggle').addEventListener('click', () => ui.setSidebar(!$('#sidebar').classList.contains('open')));
  $('#scrim').addEventListener('click', () => ui.setSidebar(false));
  // Wide screens show the member list unless hidden; narrow ones overlay it on demand.
  const narrow = matchMedia('(max-width: 1000px)');
  const syncMembersToggle = () => $('#members-toggle').setAttribute('aria-expanded', String(narrow.matches
    ? document.body.classList.contains('show-members') : !document.body.classList.contains('hide-members')));
  $('#members-toggle').addEventListener('click', () => {
    document.body.classList.toggle(narrow.matches ? 'show-members' : 'hide-members');
    syncMembersToggle();
  });
  narrow.addEventListener('change', syncMembersToggle);
  syncMembersToggle();

  const input = $('#composer-input');
  $('#composer').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const body = input.value.trim();
    if (body && sendMessage(body)) input.value = '';
    input.focus();
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      $('#composer').requestSubmit();
    } else if (ev.key === 'ArrowUp' && !input.value) {
      // Up in an empty composer edits your last message, as in most chat apps.
      const r = room(state.current);
      const mine = r && [...r.items.values()].filter((m) => m.kind === 'msg' && m.actor === state.me.id && !m.deleted);
      if (mine?.length) { ev.preventDefault(); ctx.startEdit(mine.sort((a, b) => a.seq - b.seq).at(-1).id); }
    }
  });
  input.addEventListener('input', () => typed(input.value));
  document.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Escape' || document.querySelector('dialog[open]')) return;
    ui.setSidebar(false);
    document.body.classList.remove('show-members');
  });

  // Typing indicators expire and the reconnect countdown ticks without any event.
  setInterval(() => {
    const r = room(state.current);
    if (r) ui.renderTyping(typingNames(r));
    if (connStatus[0] === 'reconnecting') ui.renderStatus(...connStatus);
  }, 1000);
}

bind();
if (auth.current()) startChat();
else showAuth(inviteCode ? 'signup' : 'login');
