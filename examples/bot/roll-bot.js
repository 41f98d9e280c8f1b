#!/usr/bin/env node
// roll-bot: a small, complete Natter bot. It answers "/roll", "/roll M" and "/roll NdM" (N <= 20,
// M <= 1000) in every room it is in, following proto/PROTOCOL.md §12 ("Writing a bot"):
// hello -> identify (or resume after a reconnect) -> heartbeat pings; one reply per command with a
// cid derived from the command; temporary errors retried after retry_after_ms with the same cid;
// reconnects with jittered exponential backoff; close codes honoured (4002/4003 stop it).
//
//   NATTER_URL=http://localhost:8080 NATTER_TOKEN=<bot token> node examples/bot/roll-bot.js
//
// The bot token comes from an admin: POST /api/v1/admin.bots.create {name, groups} (shown once),
// or admin.bots.token.issue. Node >= 20 and the `ws` package (npm install ws).
'use strict';
const WebSocket = require('ws');
const { randomInt } = require('node:crypto');

const BASE = (process.env.NATTER_URL || 'http://localhost:8080').replace(/\/+$/, '');
const TOKEN = process.env.NATTER_TOKEN;

// ---- Dice -----------------------------------------------------------------------------------------
const MAX_DICE = 20;
const MAX_SIDES = 1000;
const USAGE = `🎲 usage: /roll, /roll M or /roll NdM (N ≤ ${MAX_DICE}, M ≤ ${MAX_SIDES})`;

/** The answer to a message, or null when it is not a /roll command. */
function answer(body) {
  const m = /^\/roll(?:\s+(.+))?$/.exec(body.trim());
  if (!m) return null;
  let n = 1;
  let sides = 6;
  if (m[1] !== undefined) {
    const spec = /^(?:(\d{1,3})?d)?(\d{1,5})$/i.exec(m[1].trim());
    if (!spec) return USAGE;
    n = spec[1] === undefined ? 1 : Number(spec[1]);
    sides = Number(spec[2]);
  }
  if (n < 1 || n > MAX_DICE || sides < 2 || sides > MAX_SIDES) return USAGE;
  const rolls = Array.from({ length: n }, () => randomInt(1, sides + 1));
  const total = rolls.reduce((a, b) => a + b, 0);
  return n === 1 ? `🎲 1d${sides}: ${total}` : `🎲 ${n}d${sides}: ${rolls.join(' + ')} = ${total}`;
}

// ---- State that survives reconnects (what resume needs) -------------------------------------------
const state = {
  me: null, // our user id
  epoch: null, // epoch of the last identified connection
  lastSeq: new Map(), // room id -> last seq seen: the rooms we are in
  groupRooms: new Map(), // group id -> [room ids]
  outbox: new Map(), // cid -> message.send fields, until acknowledged (resent after a reconnect)
};
let attempt = 0; // reconnect attempts since the last successful identify
let stopping = false;
let current = null;
let reconnectTimer = null;

// ---- One connection ---------------------------------------------------------------------------------
function connect() {
  const ws = new WebSocket(`${BASE.replace(/^http/, 'ws')}/v1/ws`, 'natter.v1');
  current = ws;
  const pending = new Map(); // request id -> callback(err, d)
  let nextId = 1;
  let pinger = null;
  let lastHeard = Date.now();
  let retryAfter = 0;
  let ready = false; // identify/resume answered: other requests may go now
  const helloTimer = setTimeout(() => ws.terminate(), 15_000);

  // Answers are handled by callbacks, synchronously and in frame order: events that follow an ok
  // in the same read must already see its effects.
  function request(op, d = {}, onAnswer = () => {}) {
    if (ws.readyState !== WebSocket.OPEN) return;
    const id = String(nextId++);
    pending.set(id, onAnswer);
    ws.send(JSON.stringify({ op, id, d }));
  }

  ws.on('message', (data) => {
    lastHeard = Date.now();
    for (const line of data.toString('utf8').split('\n')) { // a frame may carry several objects
      if (line.trim() === '') continue;
      let f;
      try {
        f = JSON.parse(line);
      } catch {
        console.error('roll-bot: unparsable frame from the server');
        continue;
      }
      if (f.op === 'ok' || f.op === 'error' || f.op === 'pong') {
        if (f.op === 'error' && f.d && f.d.retry_after_ms) retryAfter = f.d.retry_after_ms;
        const onAnswer = pending.get(f.re);
        if (!onAnswer) {
          if (f.op === 'error') console.error('roll-bot: error:', JSON.stringify(f.d));
          continue;
        }
        pending.delete(f.re);
        onAnswer(f.op === 'error' ? f.d : null, f.d);
      } else if (f.op === 'hello') {
        clearTimeout(helloTimer);
        onHello(f.d);
      } else {
        onEvent(f.op, f.d || {});
      }
    }
  });

  function onHello(hello) {
    const authenticated = (err, snap) => {
      if (err) {
        console.error(`roll-bot: ${state.epoch ? 'resume' : 'identify'} refused: ${err.code} ${err.message}`);
        // A fatal refusal is followed by the server's close code (4002/4003/...). A temporary one
        // (rate_limited): close and come back after the backoff.
        if (err.temporary) ws.close(1000);
        return;
      }
      if (snap.rooms) {
        for (const [room, r] of Object.entries(snap.rooms)) {
          if (!r.recovered) state.lastSeq.set(room, r.last_seq); // not recovered: skip the gap
        }
      }
      state.me = snap.user.id;
      state.epoch = hello.epoch;
      learnSnapshot(snap);
      attempt = 0;
      ready = true;
      for (const msg of state.outbox.values()) sendOut(msg); // same cids: no duplicates
      const every = hello.heartbeat_ms || 30_000;
      pinger = setInterval(() => {
        if (Date.now() - lastHeard > 2 * every) return ws.terminate(); // silent: dead connection
        request('ping');
      }, every);
      console.log(`roll-bot: identified as ${state.me}; in ${state.lastSeq.size} rooms`);
    };
    if (state.epoch !== null) {
      // Resume: the server replays what we missed as ordinary events, before the ok.
      request('resume', { token: TOKEN, epoch: state.epoch, rooms: Object.fromEntries(state.lastSeq) }, authenticated);
    } else {
      request('identify', { token: TOKEN }, authenticated);
    }
  }

  function learnSnapshot(snap) {
    const rooms = new Set();
    state.groupRooms.clear();
    for (const g of snap.groups || []) {
      state.groupRooms.set(g.id, g.rooms.map((r) => r.id));
      for (const r of g.rooms) rooms.add(r.id);
    }
    for (const dm of snap.dms || []) rooms.add(dm.id);
    for (const room of [...state.lastSeq.keys()]) if (!rooms.has(room)) state.lastSeq.delete(room);
    // New rooms start at their current end: no answers to commands from before we were there.
    for (const g of snap.groups || []) for (const r of g.rooms) if (!state.lastSeq.has(r.id)) state.lastSeq.set(r.id, r.last_seq);
    for (const dm of snap.dms || []) if (!state.lastSeq.has(dm.id)) state.lastSeq.set(dm.id, dm.last_seq);
  }

  function forgetGroup(group) {
    for (const room of state.groupRooms.get(group) || []) state.lastSeq.delete(room);
    state.groupRooms.delete(group);
  }

  function onEvent(op, d) {
    if (d.seq !== undefined && d.room !== undefined) {
      // Room-log event: seqs per room ascend and never repeat; skip anything already seen.
      if (d.seq <= (state.lastSeq.get(d.room) || 0)) return;
      state.lastSeq.set(d.room, d.seq);
    }
    switch (op) {
      case 'message.created':
        if (d.actor !== state.me && d.msg && typeof d.msg.body === 'string') {
          const text = answer(d.msg.body);
          if (text) reply(d.room, d.seq, text);
        }
        break;
      case 'group.joined':
        state.groupRooms.set(d.group.id, d.group.rooms.map((r) => r.id));
        for (const r of d.group.rooms) state.lastSeq.set(r.id, r.last_seq);
        break;
      case 'room.created':
        if (!state.groupRooms.has(d.group)) state.groupRooms.set(d.group, []);
        state.groupRooms.get(d.group).push(d.room.id);
        state.lastSeq.set(d.room.id, d.room.last_seq);
        break;
      case 'room.deleted':
        state.lastSeq.delete(d.room);
        break;
      case 'dm.opened':
        state.lastSeq.set(d.dm.id, d.dm.last_seq);
        break;
      case 'group.left':
      case 'group.deleted':
        forgetGroup(d.group);
        break;
      case 'member.left':
        if (d.user === state.me) forgetGroup(d.group);
        break;
      default: // typing, presence, member.*, calls...: not interesting to this bot
    }
  }

  function reply(room, seq, body) {
    // The cid is derived from the command: the same command handled twice (a retry, a replay)
    // gets the first answer's ack back and posts nothing new.
    const msg = { room, cid: `roll-${room}-${seq}`, body };
    state.outbox.set(msg.cid, msg);
    if (ready) sendOut(msg); // else: sent once identify/resume is answered
  }

  function sendOut(msg) {
    request('message.send', msg, (err) => {
      if (!err) {
        state.outbox.delete(msg.cid); // acknowledged: durable
        return;
      }
      if (err.temporary) { // rate_limited, internal, unavailable: again later, same cid
        console.error(`roll-bot: ${err.code} in ${msg.room}; retrying in ${err.retry_after_ms || 1000} ms`);
        setTimeout(() => {
          if (current === ws && state.outbox.has(msg.cid)) sendOut(msg);
        }, err.retry_after_ms || 1000);
      } else {
        state.outbox.delete(msg.cid);
        console.error(`roll-bot: cannot answer in ${msg.room}: ${err.code} ${err.message}`);
      }
    });
  }

  ws.on('error', (e) => console.error('roll-bot: socket error:', e.message)); // 'close' follows
  ws.on('close', (code) => {
    clearTimeout(helloTimer);
    clearInterval(pinger);
    pending.clear(); // unacknowledged answers stay in state.outbox and go again after reconnecting
    if (current === ws) current = null;
    onClose(code, retryAfter);
  });
}

// ---- Close codes decide what happens next (PROTOCOL.md §11) -----------------------------------------
function onClose(code, retryAfter) {
  if (stopping) return;
  // 4002 invalid token / 4004 expired: a bot token cannot be refreshed, so retrying is pointless.
  // 4003 revoked or disabled; 1007, 4000, 4005: a bug in this program. Stop.
  if ([1007, 4000, 4002, 4003, 4004, 4005].includes(code)) {
    console.error(`roll-bot: closed with ${code}: not reconnecting`);
    stopping = true;
    process.exitCode = code === 4003 || code === 4002 || code === 4004 ? 3 : 1;
    return;
  }
  // Exponential backoff with full jitter: 0.5 s, 1 s, 2 s, ... capped at 30 s.
  let delay = 250 + Math.random() * Math.min(30_000, 500 * 2 ** attempt++);
  if (code === 4008) delay = Math.max(delay, retryAfter, 5_000);
  if (code === 4010) delay = Math.max(delay, 60_000);
  console.log(`roll-bot: closed with ${code}; reconnecting in ${Math.round(delay)} ms`);
  reconnectTimer = setTimeout(connect, delay);
}

function shutdown() {
  stopping = true;
  clearTimeout(reconnectTimer);
  if (current && current.readyState === WebSocket.OPEN) current.close(1000);
  else process.exit(0);
  setTimeout(() => process.exit(0), 2000).unref();
}
if (require.main === module) {
  if (!TOKEN) {
    console.error('roll-bot: set NATTER_TOKEN to a bot token (admin.bots.create / admin.bots.token.issue)');
    process.exit(2);
  }
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  connect();
}
module.exports = { answer };
