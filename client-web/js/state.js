// The client's model of groups, rooms, timelines, members, presence and typing, and the pure-ish
// functions that apply snapshots and events to it. No DOM here.

export const state = {
  me: null,              // {id, name, email}
  groups: [],            // [{id, name, role, owner, rooms: [room id]}]
  dms: [],               // [room id]
  rooms: new Map(),      // room id -> Room (see newRoom)
  users: new Map(),      // user id -> name
  presence: new Map(),   // user id -> true (online) / false
  members: new Map(),    // group id -> Map(user id -> role)
  current: null,         // the room on screen
  invites: [],           // invites to you, pending: [{id, group: {id, name}, inviter: {id, name}}]
};

function newRoom(id) {
  return {
    id, name: '', group: null, peer: null, readonly: false,
    lastSeq: 0, lastRead: 0, unread: 0,
    loaded: false,       // timeline fetched at least once
    held: 0,             // highest seq applied to the timeline (a gap below it gets fetched)
    oldest: 0,           // lowest seq fetched (for "load older")
    more: false,         // older history exists
    items: new Map(),    // 'm_<id>' message or 'n<seq>' note -> item
    patches: new Map(),  // msg id -> later edit/delete seen before the message itself (paging back)
    pending: new Map(),  // cid -> {cid, body, status: 'sending'|'failed', error}
    typing: new Map(),   // user id -> expiry time (ms)
  };
}

export const room = (id) => state.rooms.get(id);
export const group = (id) => state.groups.find((g) => g.id === id);
export const userName = (id) => state.users.get(id) || (id === state.me?.id ? state.me.name : id);

function mergeRoom(snap, extra) {
  const r = state.rooms.get(snap.id) || newRoom(snap.id);
  Object.assign(r, extra);
  if (snap.name !== undefined) r.name = snap.name;
  r.lastSeq = Math.max(snap.last_seq ?? 0, r.loaded ? r.held : 0);
  r.lastRead = snap.last_read ?? r.lastRead;
  r.unread = snap.unread ?? r.unread;
  state.rooms.set(r.id, r);
  return r;
}

export function addGroup(g) {
  const rooms = (g.rooms || []).map((rs) => mergeRoom(rs, { group: g.id }).id);
  const entry = { id: g.id, name: g.name, role: g.role, owner: g.owner, rooms };
  const i = state.groups.findIndex((x) => x.id === g.id);
  if (i >= 0) state.groups[i] = entry; else state.groups.push(entry);
}

export function removeGroup(id) {
  const g = group(id);
  if (!g) return;
  for (const r of g.rooms) state.rooms.delete(r);
  state.groups = state.groups.filter((x) => x.id !== id);
  state.members.delete(id);
}

export function addDm(dm) {
  state.users.set(dm.peer.id, dm.peer.name);
  mergeRoom(dm, { peer: dm.peer, readonly: !!dm.readonly, name: dm.peer.name });
  if (!state.dms.includes(dm.id)) state.dms.push(dm.id);
}

// identify/resume ok: the snapshot replaces groups and DMs; timelines of rooms that survive stay.
export function applySnapshot(d) {
  state.me = d.user;
  state.users.set(d.user.id, d.user.name);
  const keep = new Set();
  state.groups = [];
  for (const g of d.groups || []) { addGroup(g); g.rooms.forEach((r) => keep.add(r.id)); }
  state.dms = [];
  for (const dm of d.dms || []) { addDm(dm); keep.add(dm.id); }
  for (const id of [...state.rooms.keys()]) if (!keep.has(id)) state.rooms.delete(id);
  for (const gid of [...state.members.keys()]) if (!group(gid)) state.members.delete(gid);
}

// Drop a timeline so that it is fetched again (after a resume that could not recover it).
export function resetTimeline(r) {
  Object.assign(r, { loaded: false, held: 0, oldest: 0, more: false });
  r.items.clear();
  r.patches.clear();
}

export function setMembers(gid, list) {
  const m = new Map();
  for (const x of list) {
    m.set(x.user.id, x.role);
    state.users.set(x.user.id, x.user.name);
    state.presence.set(x.user.id, !!x.online);
  }
  state.members.set(gid, m);
}

export const isRoomLogEvent = (op) => op === 'message.created' || op === 'message.edited' ||
  op === 'message.deleted' || op === 'room.renamed' || op === 'call.started' || op === 'call.ended';

/*
 * Apply one room-log event. fromHistory: it came from room.history (never counts as unread).
 * Live and resume-replayed events first update counters; a snapshot already counted every event
 * up to its last_seq, so only seqs above lastSeq count. Returns null for duplicates, else
 * {r, gapFrom}: gapFrom > 0 means events after gapFrom are missing from the timeline.
 */
export function applyLog(op, d, fromHistory = false) {
  const r = state.rooms.get(d.room);
  if (!r) return null;
  const me = state.me?.id;
  let gapFrom = 0;
  if (!fromHistory) {
    if (r.loaded && d.seq <= r.held) return null;
    if (d.seq > r.lastSeq) {
      r.lastSeq = d.seq;
      if (op === 'message.created' && d.actor !== me && d.seq > r.lastRead) r.unread++;
      if (op === 'message.deleted') {
        const m = r.items.get(`m_${d.msg.id}`);
        if (m && !m.deleted && m.actor !== me && m.seq > r.lastRead) r.unread = Math.max(0, r.unread - 1);
      }
      if (op === 'room.renamed') r.name = d.name;
    }
    if (op === 'message.created') r.typing.delete(d.actor);
    if (!r.loaded) return { r, gapFrom };
    if (d.seq > r.held + 1) gapFrom = r.held;
  }
  r.held = Math.max(r.held, d.seq);
  timeline(r, op, d);
  return { r, gapFrom };
}

// Timeline bookkeeping, idempotent so history pages and live events can overlap.
function timeline(r, op, d) {
  if (op === 'message.created') {
    const key = `m_${d.msg.id}`;
    if (r.items.has(key) && r.items.get(key).seq) return;
    const m = {
      kind: 'msg', id: d.msg.id, seq: d.seq, ts: d.ts, actor: d.actor, cid: d.msg.cid,
      body: d.msg.body, deleted: !!d.msg.deleted, edited: false, last: d.seq, v: 1,
    };
    const p = r.patches.get(d.msg.id);
    if (p) { patch(m, p); r.patches.delete(d.msg.id); }
    r.items.set(key, m);
    if (d.actor === state.me?.id && d.msg.cid) r.pending.delete(d.msg.cid);
  } else if (op === 'message.edited' || op === 'message.deleted') {
    const p = { seq: d.seq, deleted: op === 'message.deleted' || !!d.msg.deleted, body: d.msg.body };
    const m = r.items.get(`m_${d.msg.id}`);
    if (m) patch(m, p);
    else {
      const old = r.patches.get(d.msg.id);
      if (!old || old.seq < p.seq) r.patches.set(d.msg.id, { ...p, edited: op === 'message.edited' || old?.edited });
    }
  } else {
    r.items.set(`n${d.seq}`, { kind: 'note', op, seq: d.seq, ts: d.ts, actor: d.actor, name: d.name, v: 1 });
  }
}

function patch(m, p) {
  if (p.seq <= m.last && !p.deleted) return; // an older edit arriving late
  if (p.deleted) { m.deleted = true; m.body = null; }
  else if (p.body != null) { m.body = p.body; m.edited = true; }
  if (p.edited) m.edited = true;
  m.last = Math.max(m.last, p.seq);
  m.v++;
}

// The send ack can beat the message.created event: show the message from the ack alone.
export function ackSend(r, cid, ack) {
  const p = r.pending.get(cid);
  if (!p) return;
  r.pending.delete(cid);
  const key = `m_${ack.msg}`;
  if (!r.items.has(key)) {
    r.items.set(key, {
      kind: 'msg', id: ack.msg, seq: ack.seq, ts: ack.ts, actor: state.me.id, cid, body: p.body,
      deleted: false, edited: false, last: ack.seq, v: 1,
    });
  }
}

// Timeline items in display order: by seq, pending sends last.
export function orderedItems(r) {
  const items = [...r.items.values()].sort((a, b) => a.seq - b.seq);
  for (const p of r.pending.values()) items.push({ kind: 'pending', ...p });
  return items;
}

export function typingNames(r) {
  const now = Date.now();
  const names = [];
  for (const [u, until] of r.typing) {
    if (until < now) r.typing.delete(u); else names.push(userName(u));
  }
  return names;
}

export function totalUnread() {
  let n = 0;
  for (const r of state.rooms.values()) n += r.unread;
  return n;
}

export function canManage(gid) {
  const g = group(gid);
  return !!g && (g.role === 'owner' || g.role === 'admin');
}

export function addRoom(gid, rs) {
  const g = group(gid);
  if (!g) return null;
  const r = mergeRoom(rs, { group: gid });
  if (!g.rooms.includes(r.id)) g.rooms.push(r.id);
  return r;
}

export function removeRoom(gid, rid) {
  const g = group(gid);
  if (g) g.rooms = g.rooms.filter((x) => x !== rid);
  state.rooms.delete(rid);
}

export function resetState() {
  Object.assign(state, { me: null, groups: [], dms: [], current: null, invites: [] });
  for (const k of ['rooms', 'users', 'presence', 'members']) state[k].clear();
}
