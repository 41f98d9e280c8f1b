// The generator of proto/schema/*.json, and their source of truth: edit this file, then run
//   node proto/tools/gen-schemas.js            (writes proto/schema/, next to this directory)
//   node proto/tools/gen-schemas.js OUTDIR     (writes OUTDIR instead, e.g. to diff)
// and regenerate proto/openapi.yaml with proto/tools/gen-openapi.js.
'use strict';
const fs = require('fs');
const path = require('path');

const OUT = path.resolve(process.argv[2] || path.join(__dirname, '../schema'));
const BASE = 'https://natter.local/schema/';
const DRAFT = 'https://json-schema.org/draft/2020-12/schema';

const D = (n) => ({ $ref: `defs.json#/$defs/${n}` });
const obj = (props, required = [], extra = {}) => ({
  type: 'object',
  ...(required.length ? { required } : {}),
  properties: props,
  additionalProperties: true,
  ...extra,
});
const withDesc = (s, description) => ({ ...s, description });
const arr = (items, extra = {}) => ({ type: 'array', items, ...extra });
const nullable = (s, description) => ({ anyOf: [s, { type: 'null' }], ...(description ? { description } : {}) });
// The events stored in a room's log (seq, ts, actor): history and resume return them too.
const ROOM_LOG_EVENTS = ['message.created', 'message.edited', 'message.deleted', 'room.renamed', 'call.started', 'call.ended'];
const INVITE_STATES = ['pending', 'accepted', 'declined', 'revoked', 'expired'];

// ---------------------------------------------------------------- defs.json
const defs = {
  UserId: { type: 'string', pattern: '^u_[0-9]+$', description: 'A user id: "u_" + decimal row id.', examples: ['u_12'] },
  GroupId: { type: 'string', pattern: '^g_[0-9]+$', description: 'A group id: "g_" + decimal row id.', examples: ['g_3'] },
  RoomId: { type: 'string', pattern: '^r_[0-9]+$', description: 'A room id (a group room or a DM): "r_" + decimal row id.', examples: ['r_5'] },
  MsgId: { type: 'string', pattern: '^m_[0-9]+$', description: 'A message id: "m_" + decimal row id.', examples: ['m_77'] },
  RequestId: { type: 'string', minLength: 1, maxLength: 64, description: 'A request id chosen by the client: 1..64 bytes (UTF-8), echoed as `re`.' },
  Timestamp: {
    type: 'string', format: 'date-time',
    pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$',
    description: 'RFC 3339 UTC with milliseconds.', examples: ['2026-11-23T12:00:00.000Z'],
  },
  Seq: { type: 'integer', minimum: 1, description: "A position in a room's event log (1, 2, 3, ... without gaps)." },
  SeqOrZero: { type: 'integer', minimum: 0, description: 'A seq, or 0 for "nothing yet".' },
  Cid: {
    type: 'string', minLength: 1, pattern: '^[A-Za-z0-9_-]+$',
    description: 'Client message id for idempotent sends: [A-Za-z0-9_-], 1..max_cid (default 64) bytes.',
  },
  Name: {
    type: 'string', minLength: 1, pattern: '^[^\\u0000-\\u001F\\u007F-\\u009F\\u2028-\\u202E\\u2066-\\u2069]+$',
    description: 'A display name (user, group or room): 1..max_name (default 64) code points, no control, line separator or bidi override characters.',
  },
  Body: { type: 'string', minLength: 1, description: 'A message body: 1..max_body (default 4000) Unicode code points.' },
  Email: {
    type: 'string', minLength: 3, maxLength: 254, pattern: '^[^@\\s]+@[^@\\s]+$',
    description: 'An email address: at most 254 bytes, exactly one "@", no spaces, CR or LF. Stored lowercased.',
  },
  Password: { type: 'string', minLength: 8, maxLength: 1024, description: 'A password: 8..1024 bytes (UTF-8).' },
  Role: { type: 'string', enum: ['owner', 'admin', 'member'], description: 'A group role.' },
  AccessToken: {
    type: 'string', pattern: '^v4\\.public\\.[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)?$',
    description: 'PASETO v4.public access token (15 minutes). Treat it as opaque.',
  },
  RefreshToken: {
    type: 'string', pattern: '^[A-Za-z0-9_-]{43}$',
    description: 'Opaque refresh token: 32 random bytes, base64url without padding (43 characters). Single use: refreshing rotates it.',
  },
  Token: { type: 'string', minLength: 1, description: 'A credential for identify/resume: a chat-audience access token (v4.public.…) or a bot token.' },
  InviteId: { type: 'string', pattern: '^i_[0-9]+$', description: 'An invite id: "i_" + decimal row id.', examples: ['i_4'] },
  TokenId: { type: 'string', pattern: '^t_[0-9]+$', description: 'A bot token id: "t_" + decimal row id. Names the token without being it.', examples: ['t_9'] },
  InviteCode: {
    type: 'string', pattern: '^[A-Za-z0-9_-]{43}$',
    description: 'The secret of an invite link (`<public-url>/?invite=<code>`): 32 random bytes, base64url without padding (43 characters). '
      + 'Stored only hashed; works once, for the invited address only, until the invite expires. (The server takes any 1..64-byte string; a wrong one is not_found.)',
  },
  ResetCode: {
    type: 'string', pattern: '^[0-9]{8}$',
    description: 'The 8-digit password reset code from the mail. (The server takes any 1..64-byte string; a wrong one is unauthorized.)',
  },
  BotToken: {
    type: 'string', pattern: '^[A-Za-z0-9_-]{43}$',
    description: 'An opaque bot token: 32 random bytes, base64url without padding (43 characters). Shown once, stored only hashed; '
      + 'good for identify/resume and REST Bearer until revoked.',
  },
  Audience: {
    type: 'string', enum: ['chat', 'admin'],
    description: 'Which API an access token is for: chat (every op but admin.*, and the WebSocket) or admin (admin.* only).',
  },
  TwilioToken: {
    type: 'string', pattern: '^eyJ[A-Za-z0-9_-]+\\.eyJ[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$',
    description: 'A Twilio Video access token (HS256 JWT, cty twilio-fpa;v=1) for this user and this call\'s Twilio room; valid one hour. Give it to the Twilio Video SDK.',
  },
  CallName: {
    type: 'string', pattern: '^natter-[0-9a-f]{1,8}-r_[0-9]+$',
    description: "The Twilio room's UniqueName: natter-<first 8 characters of the epoch>-<room id>.", examples: ['natter-9f2c4e1a-r_1'],
  },
  CallSid: { type: 'string', pattern: '^RM[0-9a-fA-F]{32}$', description: "The Twilio room's SID.", examples: ['RM2f6c0b7e9d1a4c3b8e5f7a9d0c1b2e3f'] },
  Epoch: { type: 'string', pattern: '^[0-9a-f]+$', description: "The database's epoch (lowercase hex), from `hello`." },
  UserRef: obj({ id: D('UserId'), name: D('Name') }, ['id', 'name'], { description: 'A user as others see them.' }),
  UserSelf: obj({ id: D('UserId'), name: D('Name'), email: D('Email') }, ['id', 'name', 'email'],
    { description: 'The calling user, with their email.' }),
  Profile: obj({ id: D('UserId'), name: D('Name'), email: D('Email'), created: D('Timestamp') }, ['id', 'name', 'created'],
    { description: 'A profile. `email` is present only in your own profile.' }),
  RoomSnap: obj({
    id: D('RoomId'),
    name: D('Name'),
    last_seq: withDesc(D('SeqOrZero'), "The room's newest seq (0: empty room)."),
    last_read: withDesc(D('SeqOrZero'), "The caller's read marker."),
    unread: { type: 'integer', minimum: 0, maximum: 1000, description: 'message.created by others, not deleted, with seq > last_read; capped at 1000.' },
  }, ['id', 'name', 'last_seq', 'last_read', 'unread'], { description: 'A group room, from the caller\'s side.' }),
  RoomRef: obj({ id: D('RoomId'), name: D('Name'), last_seq: D('SeqOrZero') }, ['id', 'name', 'last_seq'],
    { description: 'A room without per-user read state.' }),
  GroupSnap: obj({
    id: D('GroupId'),
    name: D('Name'),
    role: withDesc(D('Role'), "The caller's role in the group."),
    owner: withDesc(D('UserId'), "The owner's user id."),
    rooms: arr(D('RoomSnap'), { description: 'The default room first, then by id.', minItems: 1 }),
  }, ['id', 'name', 'role', 'owner', 'rooms'], { description: 'A group, from the caller\'s side.' }),
  GroupRef: obj({ id: D('GroupId'), name: D('Name') }, ['id', 'name']),
  DmSnap: obj({
    id: withDesc(D('RoomId'), "The DM's room id."),
    peer: D('UserRef'),
    last_seq: D('SeqOrZero'),
    last_read: D('SeqOrZero'),
    unread: { type: 'integer', minimum: 0, maximum: 1000 },
    readonly: { type: 'boolean', description: 'true once the two users no longer share a group: sends fail with forbidden.' },
  }, ['id', 'peer', 'last_seq', 'last_read', 'unread', 'readonly'], { description: 'A direct-message room, from the caller\'s side.' }),
  Member: obj({ user: D('UserRef'), role: D('Role'), online: { type: 'boolean' } }, ['user', 'role', 'online']),
  AuthTokens: obj({
    access_token: D('AccessToken'),
    refresh_token: D('RefreshToken'),
    expires_at: withDesc(D('Timestamp'), 'When the access token expires (15 minutes after issue).'),
    user: D('UserSelf'),
  }, ['access_token', 'refresh_token', 'expires_at', 'user'], { description: 'The answer of auth.signup, auth.login and auth.refresh.' }),
  ResumeRoom: obj({
    recovered: { type: 'boolean', description: 'true: every event after the given seq was replayed before this ok.' },
    last_seq: withDesc(D('SeqOrZero'), "The room's newest seq now (0 for a room you are not in)."),
    error: { type: 'string', enum: ['forbidden'], description: 'Present when you are not a member of the room.' },
  }, ['recovered', 'last_seq']),
  MsgCreated: redactable(obj({
    id: D('MsgId'), cid: D('Cid'),
    body: { anyOf: [D('Body'), { type: 'null' }], description: 'The text; null once the message is deleted (history only).' },
    deleted: { const: true, description: 'Present (true) only in history, once the message is deleted.' },
  }, ['id', 'cid', 'body'])),
  MsgEdited: redactable(obj({
    id: D('MsgId'),
    body: { anyOf: [D('Body'), { type: 'null' }], description: 'The new text; null once the message is deleted (history only).' },
    deleted: { const: true },
  }, ['id', 'body'])),
  MsgRef: obj({ id: D('MsgId') }, ['id']),
  LogEvent: {
    description: 'A room-log event as it appears in history and resume: exactly its live frame without `re`.',
    type: 'object',
    required: ['op', 'd'],
    properties: {
      op: { type: 'string', enum: ROOM_LOG_EVENTS },
      d: { type: 'object' },
    },
    additionalProperties: true,
    allOf: ROOM_LOG_EVENTS.map((op) => ({
      if: { properties: { op: { const: op } }, required: ['op'] },
      then: { properties: { d: { $ref: `${op}.event.json` } } },
    })),
  },
  Call: obj({
    room: D('RoomId'),
    name: D('CallName'),
    sid: D('CallSid'),
  }, ['room', 'name', 'sid'], { description: "A room's call: the Twilio room that carries it." }),
  InviteDelivery: obj({
    status: {
      type: 'string', enum: ['queued', 'sent', 'failed'],
      description: 'queued: waiting (or retrying, or mail is not configured); sent: the SMTP server accepted it (250); failed: gave up after mail_attempts tries.',
    },
    attempts: { type: 'integer', minimum: 0, description: 'Delivery attempts so far.' },
    last_error: nullable({ type: 'string' }, 'Why the last attempt failed; null when none failed (or the last one succeeded).'),
    message_id: {
      type: 'string', pattern: '^<[^<>\\s]+@[^<>\\s]+>$',
      description: 'The mail\'s Message-ID header, the same on every retry (a duplicate delivery carries the same one).',
    },
  }, ['status', 'attempts', 'last_error', 'message_id'], { description: "The invite mail's delivery through the outbox." }),
  Invite: obj({
    id: D('InviteId'),
    group: D('GroupId'),
    email: withDesc(D('Email'), 'The invited address (lowercased). Only this address can use the invite.'),
    inviter: withDesc(D('UserId'), 'Who sent it.'),
    state: {
      type: 'string', enum: INVITE_STATES,
      description: 'pending until accepted, declined or revoked; a pending invite past `expires` shows as expired.',
    },
    created: D('Timestamp'),
    expires: withDesc(D('Timestamp'), 'created + invite_ttl_s (7 days); a resend moves it.'),
    delivery: D('InviteDelivery'),
  }, ['id', 'group', 'email', 'inviter', 'state', 'created', 'expires', 'delivery'], { description: 'An invite, as its group\'s owner and admins (and server admins) see it.' }),
  PendingInvite: obj({
    id: D('InviteId'),
    group: D('GroupRef'),
    inviter: D('UserRef'),
    expires: D('Timestamp'),
  }, ['id', 'group', 'inviter', 'expires'], { description: 'An invite addressed to you, as invite.pending lists it.' }),
  AdminUser: obj({
    id: D('UserId'),
    name: D('Name'),
    email: D('Email'),
    is_admin: { type: 'boolean', description: 'A server admin (may log in with audience admin).' },
    is_bot: { type: 'boolean', description: 'A bot account (no password; bot tokens only).' },
    disabled: { type: 'boolean', description: 'Disabled by an admin (or deleted): no login, no token works.' },
    created: D('Timestamp'),
  }, ['id', 'name', 'email', 'is_admin', 'is_bot', 'disabled', 'created'], { description: 'An account, as admin.users.list shows it.' }),
  AdminGroup: obj({
    id: D('GroupId'),
    name: D('Name'),
    owner: withDesc(D('UserId'), "The owner's user id."),
    members: { type: 'integer', minimum: 0, description: 'How many members it has.' },
  }, ['id', 'name', 'owner', 'members'], { description: 'A group, as admin.groups.list shows it.' }),
  AuditEntry: obj({
    id: { type: 'integer', minimum: 1, description: 'The entry\'s number (a plain integer, not a prefixed id): pass it as `before` to page back.' },
    actor: withDesc(D('UserId'), 'The admin who did it.'),
    action: { type: 'string', pattern: '^admin\\.[a-z.]+$', description: 'The admin op, e.g. admin.users.disable.' },
    target: nullable({ type: 'string', pattern: '^[a-z]_[0-9]+$' }, 'The id the action was about (u_N, i_N, t_N or g_N), or null.'),
    detail: nullable({ type: 'object' }, 'More about the action (e.g. {"disabled":true} or {"count":3}), or null.'),
    ts: D('Timestamp'),
  }, ['id', 'actor', 'action', 'target', 'detail', 'ts'], { description: 'One entry of the admin audit log.' }),
  RestError: {
    description: 'The REST error envelope.',
    type: 'object',
    required: ['ok', 'error'],
    properties: { ok: { const: false }, error: { $ref: 'error.json' } },
    additionalProperties: true,
  },
  RestOk: {
    description: 'The REST success envelope: `ok: true` next to the op\'s result fields.',
    type: 'object',
    required: ['ok'],
    properties: { ok: { const: true } },
    additionalProperties: true,
  },
};
function redactable(s) {
  return {
    ...s,
    if: { properties: { body: { type: 'null' } }, required: ['body'] },
    then: { required: ['deleted'], properties: { deleted: { const: true } } },
    else: { properties: { deleted: { not: {}, description: '"deleted" appears only with "body": null' } } },
  };
}

// ---------------------------------------------------------------- requests and results
// Request fields: limits in requests are the defaults from hello.limits.
const name64 = { ...D('Name'), type: 'string', maxLength: 64 };
const empty = (description) => ({ type: 'object', description, properties: {}, additionalProperties: true });
const ops = [];
// ws: reachable over the WebSocket; admin: an admin op (REST only, admin-audience token).
function op(name, { auth = true, rest = true, ws = true, admin = false, reply = 'ok', tag, summary, request, result }) {
  if (admin) ws = false;
  ops.push({ name, auth, rest, ws, admin, reply, tag, summary, request, result });
}

op('identify', {
  auth: false, rest: false, tag: 'session',
  summary: 'Authenticate this socket with a token; answers with the snapshot.',
  request: obj({ token: D('Token') }, ['token']),
  result: obj({ user: D('UserSelf'), groups: arr(D('GroupSnap')), dms: arr(D('DmSnap')) }, ['user', 'groups', 'dms']),
});
op('resume', {
  auth: false, rest: false, tag: 'session',
  summary: 'Authenticate and replay the room events missed since the given seqs.',
  request: obj({
    token: D('Token'),
    epoch: { type: 'string', description: 'The epoch from the previous connection\'s hello.' },
    rooms: {
      type: 'object', description: 'Room id -> the last seq the client holds. May be {}.',
      propertyNames: D('RoomId'), additionalProperties: D('SeqOrZero'),
    },
  }, ['token', 'epoch', 'rooms']),
  result: obj({
    user: D('UserSelf'), groups: arr(D('GroupSnap')), dms: arr(D('DmSnap')),
    rooms: { type: 'object', description: 'One entry per room listed in the request.', propertyNames: D('RoomId'), additionalProperties: D('ResumeRoom') },
  }, ['user', 'groups', 'dms', 'rooms']),
});
op('ping', {
  auth: false, rest: false, reply: 'pong', tag: 'session',
  summary: 'Application-level heartbeat; answered by a pong frame.',
  request: empty('No fields; `d` may be omitted.'),
  result: null,
});
op('typing', {
  rest: false, reply: 'none', tag: 'live',
  summary: 'Tell the room you are typing. No id needed, no reply unless an error.',
  request: obj({ room: D('RoomId') }, ['room']),
  result: null,
});
op('auth.signup', {
  auth: false, tag: 'auth',
  summary: 'Create an account and a session (and, with an invite code, join the invite\'s group).',
  request: obj({
    email: D('Email'), name: name64, password: D('Password'),
    invite_code: withDesc(D('InviteCode'), "Optional: the code of an invite link. The email must be the invited address; the new account joins the invite's group in the same transaction, or nothing happens."),
  }, ['email', 'name', 'password']),
  result: D('AuthTokens'),
});
op('auth.login', {
  auth: false, tag: 'auth',
  summary: 'Log in with email and password; creates a session.',
  request: obj({
    email: D('Email'), password: D('Password'),
    audience: { ...D('Audience'), default: 'chat', description: 'chat (default) or admin: an admin-audience token for the admin API (server admins only; others get forbidden).' },
  }, ['email', 'password']),
  result: D('AuthTokens'),
});
op('auth.refresh', {
  auth: false, tag: 'auth',
  summary: 'Trade a refresh token for a new access and refresh token (rotation).',
  request: obj({ refresh_token: D('RefreshToken') }, ['refresh_token']),
  result: D('AuthTokens'),
});
op('auth.logout', {
  tag: 'auth',
  summary: "Revoke the caller's session; its live sockets close with 4003.",
  request: obj({ refresh_token: withDesc(D('RefreshToken'), "Optional: the session's refresh token. The session revoked is always the caller's own.") }),
  result: empty('No fields.'),
});
op('profile.get', {
  tag: 'profile',
  summary: 'Read a profile (yours, or that of someone you share a group or DM with).',
  request: obj({ user: withDesc(D('UserId'), 'Whose profile; default: yours.') }),
  result: obj({ user: D('Profile') }, ['user']),
});
op('profile.update', {
  tag: 'profile',
  summary: 'Change your display name.',
  request: obj({ name: name64 }),
  result: obj({ user: D('Profile') }, ['user']),
});
op('group.create', {
  tag: 'groups',
  summary: 'Create a group (you become its owner) with a default room "general".',
  request: obj({ name: name64 }, ['name']),
  result: obj({ group: D('GroupSnap') }, ['group']),
});
op('group.list', {
  tag: 'groups',
  summary: 'List your groups and DMs.',
  request: empty('No fields.'),
  result: obj({ groups: arr(D('GroupSnap')), dms: arr(D('DmSnap')) }, ['groups', 'dms']),
});
op('group.rename', {
  tag: 'groups',
  summary: 'Rename a group (owner or admin).',
  request: obj({ group: D('GroupId'), name: name64 }, ['group', 'name']),
  result: obj({ group: D('GroupRef') }, ['group']),
});
op('group.delete', {
  tag: 'groups',
  summary: 'Delete a group (owner only).',
  request: obj({ group: D('GroupId') }, ['group']),
  result: empty('No fields.'),
});
op('group.leave', {
  tag: 'groups',
  summary: 'Leave a group (the owner only as its last member, which deletes it).',
  request: obj({ group: D('GroupId') }, ['group']),
  result: empty('No fields.'),
});
op('member.list', {
  tag: 'members',
  summary: "List a group's members.",
  request: obj({ group: D('GroupId') }, ['group']),
  result: obj({ members: arr(D('Member')) }, ['members']),
});
op('member.add', {
  tag: 'members',
  summary: 'Add a registered user to a group by email (owner or admin).',
  request: obj({ group: D('GroupId'), email: D('Email') }, ['group', 'email']),
  result: obj({
    member: obj({ user: D('UserRef'), role: { const: 'member' } }, ['user', 'role']),
  }, ['member']),
});
op('member.remove', {
  tag: 'members',
  summary: 'Remove a member from a group (owner: anyone but self; admin: members only).',
  request: obj({ group: D('GroupId'), user: D('UserId') }, ['group', 'user']),
  result: empty('No fields.'),
});
op('member.role', {
  tag: 'members',
  summary: "Change a member's role (owner only; role owner transfers ownership).",
  request: obj({ group: D('GroupId'), user: D('UserId'), role: D('Role') }, ['group', 'user', 'role']),
  result: empty('No fields.'),
});
op('room.create', {
  tag: 'rooms',
  summary: 'Create a room in a group (owner or admin).',
  request: obj({ group: D('GroupId'), name: name64 }, ['group', 'name']),
  result: obj({ room: D('RoomSnap') }, ['room']),
});
op('room.rename', {
  tag: 'rooms',
  summary: 'Rename a room (owner or admin); appends room.renamed to the room log.',
  request: obj({ room: D('RoomId'), name: name64 }, ['room', 'name']),
  result: obj({ seq: withDesc(D('Seq'), 'The seq of the room.renamed event.') }, ['seq']),
});
op('room.delete', {
  tag: 'rooms',
  summary: "Delete a room (owner or admin); not the group's last room.",
  request: obj({ room: D('RoomId') }, ['room']),
  result: empty('No fields.'),
});
op('dm.open', {
  tag: 'rooms',
  summary: 'Open (or find) the direct-message room with a user you share a group with.',
  request: obj({ user: D('UserId') }, ['user']),
  result: obj({ dm: D('DmSnap') }, ['dm']),
});
op('message.send', {
  tag: 'messages',
  summary: 'Send a message; acknowledged after it is durably committed.',
  request: obj({
    room: D('RoomId'),
    cid: { ...D('Cid'), type: 'string', maxLength: 64 },
    body: { ...D('Body'), type: 'string', maxLength: 4000 },
  }, ['room', 'cid', 'body']),
  result: obj({
    room: D('RoomId'),
    seq: withDesc(D('Seq'), 'The seq of the message.created event (and of the message).'),
    msg: D('MsgId'),
    ts: D('Timestamp'),
  }, ['room', 'seq', 'msg', 'ts']),
});
op('message.edit', {
  tag: 'messages',
  summary: 'Edit your own message.',
  request: obj({ room: D('RoomId'), msg: D('MsgId'), body: { ...D('Body'), type: 'string', maxLength: 4000 } }, ['room', 'msg', 'body']),
  result: obj({ seq: withDesc(D('Seq'), 'The seq of the message.edited event.') }, ['seq']),
});
op('message.delete', {
  tag: 'messages',
  summary: "Delete a message (its author, or the group's owner or an admin); redacts its body from history.",
  request: obj({ room: D('RoomId'), msg: D('MsgId') }, ['room', 'msg']),
  result: obj({ seq: withDesc(D('Seq'), 'The seq of the message.deleted event.') }, ['seq']),
});
op('room.history', {
  tag: 'messages',
  summary: "Page through a room's event log.",
  request: obj({
    room: D('RoomId'),
    before: withDesc(D('SeqOrZero'), 'Events with seq < before (exclusive).'),
    after: withDesc(D('SeqOrZero'), 'Events with seq > after (exclusive).'),
    limit: { type: 'integer', minimum: 1, maximum: 100, default: 50, description: '1..history_max (default 100); default 50.' },
  }, ['room'], { not: { required: ['before', 'after'], properties: { before: true, after: true }, description: 'before and after are mutually exclusive' } }),
  result: obj({
    events: arr(D('LogEvent'), { description: 'Ascending seq.' }),
    more: { type: 'boolean', description: 'before/newest page: older events exist; after: newer events exist.' },
  }, ['events', 'more']),
});
op('room.read', {
  tag: 'messages',
  summary: 'Move your read marker in a room (never backwards).',
  request: obj({ room: D('RoomId'), seq: D('SeqOrZero') }, ['room', 'seq']),
  result: obj({
    room: D('RoomId'),
    last_read: D('SeqOrZero'),
    unread: { type: 'integer', minimum: 0, maximum: 1000 },
  }, ['room', 'last_read', 'unread']),
});

// ---- Issue 4: invites, password reset, calls (WS and REST)
const none = empty('No fields.');
op('invite.create', {
  tag: 'invites',
  summary: 'Invite an email address to a group (owner or admin); the invite mail goes out through the outbox.',
  request: obj({ group: D('GroupId'), email: D('Email') }, ['group', 'email']),
  result: obj({ invite: D('Invite') }, ['invite']),
});
op('invite.list', {
  tag: 'invites',
  summary: "List a group's invites, newest first (owner or admin).",
  request: obj({ group: D('GroupId') }, ['group']),
  result: obj({ invites: arr(D('Invite'), { maxItems: 500, description: 'Newest first, at most 500.' }) }, ['invites']),
});
op('invite.revoke', {
  tag: 'invites',
  summary: "Revoke a pending invite (the group's owner or an admin).",
  request: obj({ invite: D('InviteId') }, ['invite']),
  result: none,
});
op('invite.pending', {
  tag: 'invites',
  summary: 'List the pending, unexpired invites addressed to your email.',
  request: none,
  result: obj({ invites: arr(D('PendingInvite'), { maxItems: 100, description: 'Newest first, at most 100.' }) }, ['invites']),
});
op('invite.accept', {
  tag: 'invites',
  summary: 'Accept an invite addressed to your email, by its id or by the code of its link; you join the group.',
  request: obj({
    invite: withDesc(D('InviteId'), 'The invite, as invite.pending lists it.'),
    code: withDesc(D('InviteCode'), 'Or the code from the invite link.'),
  }, [], {
    anyOf: [{ required: ['invite'] }, { required: ['code'] }],
    not: { required: ['invite', 'code'], properties: { invite: true, code: true }, description: 'give exactly one of invite and code' },
  }),
  result: obj({ group: D('GroupSnap') }, ['group']),
});
op('invite.decline', {
  tag: 'invites',
  summary: 'Decline a pending invite addressed to your email.',
  request: obj({ invite: D('InviteId') }, ['invite']),
  result: none,
});
op('auth.reset.request', {
  auth: false, tag: 'auth',
  summary: 'Ask for a password reset code by mail. Always answers {} (no account enumeration).',
  request: obj({ email: D('Email') }, ['email']),
  result: none,
});
op('auth.reset.confirm', {
  auth: false, tag: 'auth',
  summary: "Set a new password with the mailed code; revokes every session of the account.",
  request: obj({ email: D('Email'), code: D('ResetCode'), password: withDesc(D('Password'), 'The new password: 8..1024 bytes.') }, ['email', 'code', 'password']),
  result: none,
});
op('call.join', {
  tag: 'calls',
  summary: "Join the room's video call (starting it if none is in progress); answers with a Twilio access token.",
  request: obj({ room: D('RoomId') }, ['room']),
  result: obj({
    call: D('Call'),
    token: D('TwilioToken'),
    identity: withDesc(D('UserId'), 'Your identity in the Twilio room: your user id.'),
  }, ['call', 'token', 'identity']),
});
op('call.leave', {
  tag: 'calls',
  summary: "Leave the room's call; the last one out ends it.",
  request: obj({ room: D('RoomId') }, ['room']),
  result: none,
});

// ---- Issue 4: the admin API (REST only, admin-audience token; every change is audited)
const adminLimit = { type: 'integer', minimum: 1, maximum: 100, default: 100, description: '1..history_max (default 100); default 100.' };
op('admin.invites.send', {
  admin: true, tag: 'admin',
  summary: 'Invite up to invite_bulk_max addresses to a group at once (no rate limit).',
  request: obj({
    group: D('GroupId'),
    emails: arr(D('Email'), { minItems: 1, maxItems: 500, description: '1..invite_bulk_max (default 500) addresses.' }),
  }, ['group', 'emails']),
  result: obj({ invites: arr(D('Invite'), { description: 'One per address, in the order given.' }) }, ['invites']),
});
op('admin.invites.list', {
  admin: true, tag: 'admin',
  summary: 'List invites of every group (or of one), newest first, optionally by stored state.',
  request: obj({
    group: withDesc(D('GroupId'), 'Only this group.'),
    state: {
      type: 'string', enum: ['pending', 'accepted', 'declined', 'revoked'],
      description: 'Only invites in this stored state. Expiry is not a stored state: pending includes expired invites (listed with state expired).',
    },
    limit: adminLimit,
  }),
  result: obj({ invites: arr(D('Invite'), { maxItems: 100, description: 'Newest first.' }) }, ['invites']),
});
op('admin.invites.revoke', {
  admin: true, tag: 'admin',
  summary: 'Revoke any pending invite.',
  request: obj({ invite: D('InviteId') }, ['invite']),
  result: none,
});
op('admin.invites.resend', {
  admin: true, tag: 'admin',
  summary: 'Give an invite a new code and expiry, make it pending again and mail it again.',
  request: obj({ invite: D('InviteId') }, ['invite']),
  result: obj({ invite: D('Invite') }, ['invite']),
});
op('admin.users.list', {
  admin: true, tag: 'admin',
  summary: 'List accounts by id, a page at a time.',
  request: obj({
    limit: adminLimit,
    after: {
      type: 'integer', minimum: 0,
      description: 'Users with a row id above this: the number of the last id of the previous page (u_41 → 41). A plain integer, not a "u_" id.',
    },
  }),
  result: obj({
    users: arr(D('AdminUser'), { maxItems: 100, description: 'By ascending id.' }),
    more: { type: 'boolean', description: 'More users follow: ask again with after = the last id\'s number.' },
  }, ['users', 'more']),
});
op('admin.users.disable', {
  admin: true, tag: 'admin',
  summary: "Disable an account (closing its sockets with 4003), or enable it again.",
  request: obj({
    user: D('UserId'),
    disabled: { type: 'boolean', default: true, description: 'true (default): disable; false: enable again.' },
  }, ['user']),
  result: none,
});
op('admin.users.delete', {
  admin: true, tag: 'admin',
  summary: 'Scrub an account: name "Deleted user", email freed, sessions and memberships removed; its messages stay.',
  request: obj({ user: D('UserId') }, ['user']),
  result: none,
});
op('admin.groups.list', {
  admin: true, tag: 'admin',
  summary: 'List every group with its owner and member count.',
  request: none,
  result: obj({ groups: arr(D('AdminGroup')) }, ['groups']),
});
op('admin.groups.members', {
  admin: true, tag: 'admin',
  summary: "List any group's members.",
  request: obj({ group: D('GroupId') }, ['group']),
  result: obj({ members: arr(D('Member')) }, ['members']),
});
op('admin.bots.create', {
  admin: true, tag: 'admin',
  summary: 'Create a bot account, optionally adding it to groups, and issue its first token (shown once).',
  request: obj({
    name: name64,
    groups: arr(D('GroupId'), { maxItems: 500, uniqueItems: true, description: 'Groups the bot joins as a member (at most invite_bulk_max).' }),
  }, ['name']),
  result: obj({
    bot: withDesc(D('UserSelf'), 'The bot account; its email is generated (bot-<hex>@bots.invalid).'),
    token: D('BotToken'),
    token_id: D('TokenId'),
  }, ['bot', 'token', 'token_id']),
});
op('admin.bots.token.issue', {
  admin: true, tag: 'admin',
  summary: 'Issue another token for a bot (shown once).',
  request: obj({ user: withDesc(D('UserId'), "The bot's user id.") }, ['user']),
  result: obj({ token: D('BotToken'), token_id: D('TokenId') }, ['token', 'token_id']),
});
op('admin.bots.token.revoke', {
  admin: true, tag: 'admin',
  summary: "Revoke a bot token; the sockets identified with it close with 4003.",
  request: obj({ token_id: D('TokenId') }, ['token_id']),
  result: none,
});
op('admin.audit.list', {
  admin: true, tag: 'admin',
  summary: 'Read the audit log of admin actions, newest first.',
  request: obj({
    limit: adminLimit,
    before: { type: 'integer', minimum: 0, description: 'Entries with an id below this (exclusive): the id of the oldest entry you hold. 0 or absent: the newest.' },
  }),
  result: obj({ entries: arr(D('AuditEntry'), { maxItems: 100, description: 'Newest first.' }) }, ['entries']),
});

// ---------------------------------------------------------------- events
const events = [];
function ev(name, summary, schema) { events.push({ name, summary, schema }); }
const logBase = (msg, extraReq = []) => ({ room: D('RoomId'), seq: D('Seq'), ts: D('Timestamp'), actor: D('UserId'), ...msg });

ev('message.created', 'A message was sent.', obj(logBase({ msg: D('MsgCreated') }), ['room', 'seq', 'ts', 'actor', 'msg']));
ev('message.edited', 'A message was edited.', obj(logBase({ msg: D('MsgEdited') }), ['room', 'seq', 'ts', 'actor', 'msg']));
ev('message.deleted', 'A message was deleted.', obj(logBase({ msg: D('MsgRef') }), ['room', 'seq', 'ts', 'actor', 'msg']));
ev('room.renamed', 'A room was renamed (a room-log event).', obj(logBase({ name: D('Name') }), ['room', 'seq', 'ts', 'actor', 'name']));
ev('room.created', 'A room was created in one of your groups.', obj({ group: D('GroupId'), room: D('RoomRef') }, ['group', 'room']));
ev('room.deleted', 'A room was deleted.', obj({ group: D('GroupId'), room: D('RoomId'), actor: D('UserId') }, ['group', 'room', 'actor']));
ev('group.renamed', 'A group was renamed.', obj({ group: D('GroupId'), name: D('Name'), actor: D('UserId') }, ['group', 'name', 'actor']));
ev('group.deleted', 'A group was deleted; you are no longer subscribed to it.', obj({ group: D('GroupId'), actor: D('UserId') }, ['group', 'actor']));
ev('group.joined', 'You were added to a group.', obj({ group: D('GroupSnap') }, ['group']));
ev('group.left', 'You were removed from a group.', obj({ group: D('GroupId') }, ['group']));
ev('member.joined', 'Someone joined one of your groups.', obj({ group: D('GroupId'), user: D('UserRef'), role: D('Role'), actor: D('UserId') }, ['group', 'user', 'role', 'actor']));
ev('member.left', 'Someone left or was removed from one of your groups.', obj({ group: D('GroupId'), user: withDesc(D('UserId'), 'Who left.'), actor: withDesc(D('UserId'), 'Who did it (= user for group.leave).') }, ['group', 'user', 'actor']));
ev('member.role', "A member's role changed.", obj({ group: D('GroupId'), user: D('UserId'), role: D('Role'), actor: D('UserId') }, ['group', 'user', 'role', 'actor']));
ev('member.updated', 'A member of one of your groups changed their profile.', obj({ group: D('GroupId'), user: D('UserRef') }, ['group', 'user']));
ev('dm.opened', 'A DM with you was opened for the first time.', obj({ dm: D('DmSnap') }, ['dm']));
ev('invite.received', 'You were invited to a group, at the address of your account.', obj({ invite: D('PendingInvite') }, ['invite']));
ev('room.read', 'Your read marker moved on another of your sockets.', obj({ room: D('RoomId'), last_read: D('SeqOrZero'), unread: { type: 'integer', minimum: 0, maximum: 1000 } }, ['room', 'last_read', 'unread']));
ev('typing', 'Someone is typing in a room (ephemeral).', obj({ room: D('RoomId'), user: D('UserId') }, ['room', 'user']));
ev('call.started', "A call started in a room (a room-log event): its first participant joined.",
  obj(logBase({ call: obj({ name: D('CallName'), sid: D('CallSid') }, ['name', 'sid']) }), ['room', 'seq', 'ts', 'actor', 'call']));
ev('call.ended', 'A call ended (a room-log event): its last participant left, or Twilio reported the room completed.',
  obj(logBase({
    actor: withDesc(D('UserId'), 'Who left last; "u_0" (no user) when the server found the Twilio room completed.'),
    call: obj({ sid: D('CallSid') }, ['sid']),
  }), ['room', 'seq', 'ts', 'actor', 'call']));
ev('presence', "A user's first socket identified, or their last one closed (ephemeral).", obj({ user: D('UserId'), status: { type: 'string', enum: ['online', 'offline'] } }, ['user', 'status']));

// ---------------------------------------------------------------- write
fs.mkdirSync(OUT, { recursive: true });
for (const f of fs.readdirSync(OUT)) if (f.endsWith('.json')) fs.unlinkSync(path.join(OUT, f));
function write(file, schema) {
  const { description, title, ...rest } = schema;
  const doc = { $schema: DRAFT, $id: BASE + file, title: title || file.replace(/\.json$/, ''), ...(description ? { description } : {}), ...rest };
  fs.writeFileSync(path.join(OUT, file), JSON.stringify(doc, null, 2) + '\n');
}

write('defs.json', { description: 'Shared definitions for the Natter v1 protocol.', $defs: defs });

const ERR_CODES = ['bad_request', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'too_large', 'rate_limited', 'internal', 'unavailable'];
const TEMP = ['rate_limited', 'internal', 'unavailable'];
write('error.json', {
  description: 'The `d` of an error frame, and the `error` of a REST error body.',
  type: 'object',
  required: ['code', 'message', 'temporary'],
  properties: {
    code: { type: 'string', enum: ERR_CODES },
    message: { type: 'string', description: 'Human-readable; do not parse it.' },
    temporary: { type: 'boolean', description: 'true: the same request may succeed later (retry with backoff).' },
    retry_after_ms: { type: 'integer', minimum: 0, description: 'How long to wait before retrying (rate_limited; may also accompany unavailable).' },
  },
  additionalProperties: true,
  allOf: [
    { if: { properties: { code: { enum: TEMP } }, required: ['code'] }, then: { properties: { temporary: { const: true } } }, else: { properties: { temporary: { const: false } } } },
    { if: { properties: { code: { const: 'rate_limited' } }, required: ['code'] }, then: { required: ['retry_after_ms'], properties: { retry_after_ms: { type: 'integer' } } } },
  ],
});

const LIMITS = {
  max_frame: 'Largest inbound WebSocket message in bytes (after reassembly). Over: close 1009.',
  max_body: 'Longest message body in code points. Over: error too_large.',
  send_per_s: 'message.send rate per user (tokens per second).',
  send_burst: 'message.send burst per user.',
  resume_cap: 'Most events replayed per room by resume. Over: recovered false.',
  history_max: 'Largest room.history limit.',
  queue_soft: 'Outbound queue bytes per connection past which typing and presence are dropped.',
  queue_hard: 'Outbound queue bytes per connection: with more than this waiting, the next frame closes it with 4009.',
  conns_per_user: 'Identified sockets per user. Over: close 4010.',
  identify_per_s: 'identify/resume rate per IP (per second).',
  identify_burst: 'identify/resume burst per IP.',
  auth_timeout_ms: 'Time allowed between the upgrade and a successful identify/resume. Over: close 4001.',
  max_http_body: 'Largest REST request body in bytes. Over: HTTP 413.',
  group_members: 'Most members in a group. Over: member.add fails with conflict.',
  groups_per_user: 'Most groups one user is in. Over: group.create, member.add and invite acceptance fail with conflict.',
  rooms_per_group: 'Most rooms in a group, general included. Over: room.create fails with conflict.',
  dms_per_user: 'Most DMs of one user. Over: dm.open of a new DM fails with conflict.',
  typing_per_s: 'typing frames per socket per second; extra ones are dropped silently.',
  malformed_burst: 'bad_request errors allowed in quick succession (refilling 1/s). Over: close 4000.',
  max_name: 'Longest user, group or room name in code points.',
  max_cid: 'Longest cid in bytes.',
};
write('hello.json', {
  description: 'The `d` of the hello frame: the first frame the server sends on every WebSocket.',
  type: 'object',
  required: ['proto', 'server', 'heartbeat_ms', 'epoch', 'limits'],
  properties: {
    proto: { const: 1, description: 'Protocol version.' },
    server: { type: 'string', description: 'Server name and version, e.g. natter/0.1.0.' },
    heartbeat_ms: { type: 'integer', minimum: 1, description: 'Send an app-level ping at least this often.' },
    epoch: D('Epoch'),
    limits: {
      type: 'object',
      required: Object.keys(LIMITS),
      properties: Object.fromEntries(Object.entries(LIMITS).map(([k, v]) => [k, { type: 'integer', minimum: 0, description: v }])),
      additionalProperties: { type: 'integer' },
    },
  },
  additionalProperties: true,
});

const file = (n, kind) => `${n}.${kind}.json`;
const index = { ops: {}, events: {}, frames: {
  client: 'envelope.client.json', server: 'envelope.server.json', hello: 'hello.json', error: 'error.json', defs: 'defs.json',
} };
for (const o of ops) {
  write(file(o.name, 'request'), { description: o.summary, ...o.request, title: `${o.name} request` });
  if (o.result) write(file(o.name, 'result'), { description: `The ok result of ${o.name}.`, ...o.result, title: `${o.name} result` });
  index.ops[o.name] = {
    request: file(o.name, 'request'),
    result: o.result ? file(o.name, 'result') : null,
    auth: o.auth, rest: o.rest, ws: o.ws, admin: o.admin, reply: o.reply, tag: o.tag, summary: o.summary,
  };
}
for (const e of events) {
  write(file(e.name, 'event'), { description: e.summary, ...e.schema, title: `${e.name} event` });
  index.events[e.name] = file(e.name, 'event');
}

// envelopes
const requiredOf = (o) => (o.request.required || []).length > 0;
const wsOps = ops.filter((o) => o.ws);
write('envelope.client.json', {
  description: 'A client frame: a request. Every op but typing needs an id; d is the op\'s fields (may be omitted when it has no required fields). '
    + 'The admin ops are REST only: over the WebSocket they are unknown ops.',
  type: 'object',
  required: ['op'],
  properties: {
    op: { type: 'string', enum: wsOps.map((o) => o.name) },
    id: D('RequestId'),
    d: { type: 'object' },
  },
  additionalProperties: true,
  allOf: [
    { if: { properties: { op: { not: { const: 'typing' } } } }, then: { required: ['id'] } },
    ...wsOps.map((o) => ({
      if: { properties: { op: { const: o.name } }, required: ['op'] },
      then: { ...(requiredOf(o) ? { required: ['d'] } : {}), properties: { d: { $ref: file(o.name, 'request') } } },
    })),
  ],
});
write('envelope.server.json', {
  description: 'A server frame (one JSON object; a WebSocket message may carry several, one per line).',
  oneOf: [
    { $ref: '#/$defs/HelloFrame' }, { $ref: '#/$defs/OkFrame' }, { $ref: '#/$defs/ErrorFrame' },
    { $ref: '#/$defs/PongFrame' }, { $ref: '#/$defs/EventFrame' },
  ],
  $defs: {
    HelloFrame: { type: 'object', required: ['op', 'd'], properties: { op: { const: 'hello' }, d: { $ref: 'hello.json' } }, additionalProperties: true },
    OkFrame: { type: 'object', required: ['op', 're', 'd'], properties: { op: { const: 'ok' }, re: D('RequestId'), d: { type: 'object', description: "The op's result ({} when it has none)." } }, additionalProperties: true },
    ErrorFrame: { type: 'object', required: ['op', 'd'], properties: { op: { const: 'error' }, re: withDesc(D('RequestId'), 'Absent when the request id could not be read.'), d: { $ref: 'error.json' } }, additionalProperties: true },
    PongFrame: { type: 'object', required: ['op', 're'], properties: { op: { const: 'pong' }, re: D('RequestId') }, additionalProperties: true },
    EventFrame: {
      type: 'object', required: ['op', 'd'],
      properties: { op: { type: 'string', enum: events.map((e) => e.name) }, d: { type: 'object' } },
      not: { required: ['re'], description: 'events carry no re' },
      additionalProperties: true,
      allOf: events.map((e) => ({
        if: { properties: { op: { const: e.name } }, required: ['op'] },
        then: { properties: { d: { $ref: file(e.name, 'event') } } },
      })),
    },
  },
});
index.room_log_events = ROOM_LOG_EVENTS;
index.ephemeral_events = ['typing', 'presence'];
fs.writeFileSync(path.join(OUT, 'index.json'), JSON.stringify(index, null, 2) + '\n');
console.log(`wrote ${fs.readdirSync(OUT).length} files to ${OUT}`);
