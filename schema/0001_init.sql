-- 0001: users, sessions, groups, members, rooms, the per-room event log, messages, read state.
-- Times are unix milliseconds. Ids are rowids; the wire adds a prefix (u_, g_, r_, m_).
-- AUTOINCREMENT everywhere: an id is never reused after a delete, so an old token, link or
-- cached id can never come to mean a different session, room or invite.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
-- The epoch names this database: a resume under another epoch must resync in full.
INSERT INTO meta(key, value) VALUES ('epoch', lower(hex(randomblob(16))));

CREATE TABLE users (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    email    TEXT NOT NULL UNIQUE,          -- lowercased
    name     TEXT NOT NULL,
    pw_hash  TEXT,                          -- Argon2id string; NULL for bots
    is_admin INTEGER NOT NULL DEFAULT 0,    -- server admin (not a group role)
    is_bot   INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    created  INTEGER NOT NULL
);

-- A session is one login; deleting its row revokes it (and closes its sockets).
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    refresh_hash TEXT NOT NULL UNIQUE,      -- BLAKE2b of the refresh token
    aud          TEXT NOT NULL DEFAULT 'chat',
    created      INTEGER NOT NULL,
    expires      INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE chat_groups (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    name    TEXT NOT NULL,
    owner   INTEGER NOT NULL REFERENCES users(id),
    created INTEGER NOT NULL
);

CREATE TABLE members (
    group_id INTEGER NOT NULL REFERENCES chat_groups(id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role     TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined   INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX members_user ON members(user_id, group_id);

-- A room is a channel of a group, or a DM between dm_a < dm_b (then group_id is NULL).
CREATE TABLE rooms (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id INTEGER REFERENCES chat_groups(id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    dm_a     INTEGER REFERENCES users(id),
    dm_b     INTEGER REFERENCES users(id),
    last_seq INTEGER NOT NULL DEFAULT 0,
    created  INTEGER NOT NULL,
    CHECK ((group_id IS NULL) = (dm_a IS NOT NULL))
);
CREATE INDEX rooms_group ON rooms(group_id);
CREATE UNIQUE INDEX rooms_dm ON rooms(dm_a, dm_b) WHERE dm_a IS NOT NULL;
CREATE INDEX rooms_dm_b ON rooms(dm_b) WHERE dm_b IS NOT NULL;

-- The append-only log of every room-visible event; seqs per room have no gaps.
-- payload is the event frame exactly as it went out live.
CREATE TABLE room_events (
    room    INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    type    TEXT NOT NULL,
    actor   INTEGER NOT NULL,
    msg     INTEGER,                        -- the message it concerns, if any (for redaction)
    payload TEXT NOT NULL,
    created INTEGER NOT NULL,
    PRIMARY KEY (room, seq)
) WITHOUT ROWID;
CREATE INDEX room_events_msg ON room_events(msg) WHERE msg IS NOT NULL;

-- The current state of each message, kept in the same transaction as the log.
CREATE TABLE messages (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    room    INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,               -- seq of its message.created event
    sender  INTEGER NOT NULL REFERENCES users(id),
    cid     TEXT NOT NULL,
    body    TEXT,                           -- NULL once deleted
    ts      INTEGER NOT NULL,
    edited  INTEGER,
    deleted INTEGER NOT NULL DEFAULT 0,
    UNIQUE (sender, cid)                    -- idempotent sends, kept for good
);
CREATE INDEX messages_room_seq ON messages(room, seq);

CREATE TABLE read_state (
    user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    room      INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    last_read INTEGER NOT NULL,
    PRIMARY KEY (user_id, room)
) WITHOUT ROWID;
