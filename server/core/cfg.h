/* cfg: the server's configuration: flags, NATTER_* environment variables and the limits
 * table. Filled once at start-up, read-only afterwards (so any thread may read it). */
#ifndef NATTER_CFG_H
#define NATTER_CFG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

/* Every limit is named as `hello` announces it, and set with --limit NAME=VALUE. */
#define NATTER_LIMITS(X)                                                                      \
    X(MAX_FRAME, "max_frame", 65536, "largest WebSocket message accepted, bytes (close 1009)") \
    X(MAX_BODY, "max_body", 4000, "message body, Unicode code points (too_large)")           \
    X(SEND_PER_S, "send_per_s", 10, "messages per second per user, sustained")               \
    X(SEND_BURST, "send_burst", 50, "messages per user in a burst")                          \
    X(RESUME_CAP, "resume_cap", 500, "most events replayed per room on resume")              \
    X(HISTORY_MAX, "history_max", 100, "most events in one history page")                    \
    X(QUEUE_SOFT, "queue_soft", 262144, "queued bytes per socket before typing/presence drop") \
    X(QUEUE_HARD, "queue_hard", 1048576, "queued bytes per socket before close 4009")        \
    X(CONNS_PER_USER, "conns_per_user", 10, "live sockets per user (close 4010)")             \
    X(MAX_CONNECTIONS, "max_connections", 19000, "open WebSocket connections in all")         \
    X(IDENTIFY_PER_S, "identify_per_s", 5, "identify/resume per second per IP")              \
    X(IDENTIFY_BURST, "identify_burst", 20, "identify/resume per IP in a burst")             \
    X(LOGIN_PER_H, "login_per_h", 10, "logins per hour per IP and per account")              \
    X(LOGIN_BURST, "login_burst", 5, "logins per IP and per account in a burst")             \
    X(SIGNUP_PER_H, "signup_per_h", 600, "sign-ups per hour per IP")                         \
    X(SIGNUP_BURST, "signup_burst", 3, "sign-ups per IP in a burst")                         \
    X(AUTH_TIMEOUT_MS, "auth_timeout_ms", 10000, "time to identify after connecting (4001)") \
    X(HEARTBEAT_MS, "heartbeat_ms", 30000, "ping interval; silent peers drop after 2.5x")     \
    X(MAX_HTTP_BODY, "max_http_body", 65536, "REST request body, bytes (413)")               \
    X(GROUP_MEMBERS, "group_members", 1000, "members per group")                             \
    X(GROUPS_PER_USER, "groups_per_user", 500, "groups one user can be in")                   \
    X(ROOMS_PER_GROUP, "rooms_per_group", 200, "rooms of one group")                          \
    X(DMS_PER_USER, "dms_per_user", 1000, "direct-message rooms of one user")                 \
    X(TYPING_PER_S, "typing_per_s", 3, "typing notices per second per socket")               \
    X(PRESENCE_MAX, "presence_max", 500, "online sockets in a group above which presence is not pushed") \
    X(MALFORMED_BURST, "malformed_burst", 10, "bad frames in a row before close 4000")        \
    X(MAX_NAME, "max_name", 64, "user, group and room names, code points")                   \
    X(MAX_CID, "max_cid", 64, "client id length, bytes")                                     \
    X(TOKEN_TTL_S, "token_ttl_s", 900, "access token lifetime, seconds")                     \
    X(REFRESH_TTL_S, "refresh_ttl_s", 2592000, "refresh token lifetime, seconds")            \
    X(PW_WORKERS, "pw_workers", 2, "password hashing threads")                               \
    X(PW_QUEUE, "pw_queue", 64, "password hashes waiting before unavailable")                \
    X(WRITE_QUEUE, "write_queue", 65536, "store writes waiting before unavailable")           \
    X(DB_CACHE_MB, "db_cache_mb", 64, "SQLite page cache of the store writer, MiB") \
    X(WAL_MAX_MB, "wal_max_mb", 64, "write-ahead log size at which the writer checkpoints it itself (writes wait at twice it), MiB") \
    X(COMMIT_WINDOW_US, "commit_window_us", 500, "wait for more writes before a small commit, us (max 100000)") \
    X(INVITES_PER_H, "invites_per_h", 20, "invites per hour per user (server admins exempt)")  \
    X(INVITE_BULK_MAX, "invite_bulk_max", 500, "addresses in one admin bulk invite")           \
    X(INVITE_TTL_S, "invite_ttl_s", 604800, "invite code lifetime, seconds")                   \
    X(MAIL_ATTEMPTS, "mail_attempts", 5, "delivery attempts before a mail is failed")          \
    X(MAIL_BACKOFF_MS, "mail_backoff_ms", 1000, "first retry delay; doubles per attempt")      \
    X(RESET_TTL_S, "reset_ttl_s", 900, "password reset code lifetime, seconds")                \
    X(RESET_ATTEMPTS, "reset_attempts", 5, "wrong reset codes before the code dies")           \
    X(RESET_PER_H, "reset_per_h", 5, "reset requests per hour per IP and per email")          \
    X(CALL_POLL_S, "call_poll_s", 30, "how often an active call's Twilio room is checked")     \
    X(OUTBOUND_TIMEOUT_MS, "outbound_timeout_ms", 10000, "SMTP and Twilio request timeout")

enum limit_id {
#define X(id, name, def, doc) LIM_##id,
    NATTER_LIMITS(X)
#undef X
    LIM__COUNT
};

struct cfg {
    char listen_host[128];
    int listen_port;
    char data_dir[512];
    char web_root[512];
    char public_url[256];
    char allowed_origins[1024]; /* comma-separated, exact scheme://host:port */
    char trust_proxy[512];      /* comma-separated CIDRs */
    char tls_cert[512];
    char tls_key[512];
    int pw_cost;                /* enum auth_cost */
    char smtp_url[256];         /* smtp://host:port; empty: mail is not sent */
    char smtp_from[256];
    char smtp_user[128];
    char smtp_password[256];
    char smtp_ca_file[512];
    bool smtp_plain;            /* no STARTTLS: only with a loopback host */
    char twilio_base_url[256];
    char twilio_account_sid[64];
    char twilio_api_key[64];
    char twilio_api_secret[128];
    int64_t limits[LIM__COUNT];
};

extern struct cfg cfg;

/* Name and description of limit i, for hello, --help and the docs. */
const char *cfg_limit_name(int i);
const char *cfg_limit_doc(int i);
int64_t cfg_limit_default(int i);
static inline int64_t lim(enum limit_id i) { return cfg.limits[i]; }

/* Fill cfg from defaults, then the environment, then argv (flags win).
 * Returns 0, 1 when --help/--version was printed, or -1 with err set. */
int cfg_parse(int argc, char **argv, char err[NATTER_ERR_LEN]);
/* Apply "name=value,name=value" to the limits. Returns 0 or -1 with err set. */
int cfg_set_limits(const char *list, char err[NATTER_ERR_LEN]);
void cfg_print_help(const char *prog);
/* The host part of --public-url ("localhost"). */
const char *cfg_public_host(void);

#endif
