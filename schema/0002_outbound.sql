-- 0002: invites, the outbox of mail to send, password resets, calls and the admin audit log.
-- Bot tokens are sessions with aud = 'bot' (their refresh_hash is the token's hash).

CREATE TABLE invites (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id  INTEGER NOT NULL REFERENCES chat_groups(id) ON DELETE CASCADE,
    email     TEXT NOT NULL,                 -- lowercased; the code only works for this address
    inviter   INTEGER NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL UNIQUE,          -- BLAKE2b of the code; the code itself is never stored
    state     TEXT NOT NULL DEFAULT 'pending'
              CHECK (state IN ('pending', 'accepted', 'declined', 'revoked')),
    created   INTEGER NOT NULL,
    expires   INTEGER NOT NULL
);
CREATE INDEX invites_group ON invites(group_id, id);
CREATE INDEX invites_email ON invites(email) WHERE state = 'pending';

-- Mail waiting to go out, written in the same transaction as what it announces, so a crash
-- never loses one. `sealed` holds the message's secret (an invite link code), encrypted, and
-- is wiped once the mail is sent.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL CHECK (kind IN ('invite', 'reset')),
    ref        INTEGER NOT NULL,             -- invites.id or resets.id
    rcpt       TEXT NOT NULL,
    message_id TEXT NOT NULL,                -- stable across retries
    sealed     TEXT,
    state      TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_try   INTEGER NOT NULL,
    last_error TEXT,
    created    INTEGER NOT NULL,
    updated    INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox(next_try) WHERE state = 'queued';
CREATE INDEX outbox_ref ON outbox(kind, ref);

CREATE TABLE resets (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    attempts  INTEGER NOT NULL DEFAULT 0,
    used      INTEGER NOT NULL DEFAULT 0,
    created   INTEGER NOT NULL,
    expires   INTEGER NOT NULL
);
CREATE INDEX resets_user ON resets(user_id, id);

CREATE TABLE calls (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    room       INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    twilio_sid TEXT NOT NULL,
    name       TEXT NOT NULL,
    started    INTEGER NOT NULL,
    ended      INTEGER
);
CREATE UNIQUE INDEX calls_active ON calls(room) WHERE ended IS NULL;

CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    actor   INTEGER NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    detail  TEXT,                            -- JSON
    created INTEGER NOT NULL
);
