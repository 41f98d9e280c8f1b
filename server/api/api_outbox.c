/* api outbox: turns queued outbox rows into mail for the jobs worker and records each
 * attempt. Rows are written in the same transaction as the invite or reset they announce,
 * so a crash loses none; a crash after the SMTP server's 250 but before the row is marked
 * sent sends the mail again, with the same Message-ID (at least once). */
#include "api/api_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/map.h"
#include "jobs/jobs.h"

#define SWEEP_MS 1000
#define BATCH 16

static struct map in_flight; /* outbox id -> job, so a row is never sent twice at once */
static int64_t next_sweep;
static bool started;

struct attempt {
    struct store_job job;
    int64_t id, attempts; /* attempts made before this one */
    bool sent, cancel;    /* cancel: fail now, no retry */
    char err[256];
};

/* RFC 2047 Q-encoding when the subject is not plain ASCII. */
static void subject_header(struct sbuf *b, const char *s)
{
    bool ascii = true;
    for (const char *p = s; *p; p++)
        ascii &= (unsigned char)*p < 0x80;
    if (ascii) {
        sbuf_adds(b, s);
        return;
    }
    sbuf_adds(b, "=?UTF-8?Q?");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == ' ')
            sbuf_adds(b, "_");
        else if (isalnum(*p) || strchr("!*+-/", *p)) /* RFC 2047 5(3): safe in a phrase */
            sbuf_add(b, p, 1);
        else
            sbuf_printf(b, "=%02X", *p);
    }
    sbuf_adds(b, "?=");
}

static void html_text(struct sbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': sbuf_adds(b, "&amp;"); break;
        case '<': sbuf_adds(b, "&lt;"); break;
        case '>': sbuf_adds(b, "&gt;"); break;
        case '"': sbuf_adds(b, "&quot;"); break;
        case '\'': sbuf_adds(b, "&#39;"); break;
        default: sbuf_add(b, s, 1);
        }
    }
}

static char *take(struct sbuf *b)
{
    char *s = b->oom ? NULL : strdup(sbuf_str(b));
    sbuf_reset(b);
    return s;
}

/* Fills the mail of outbox row o. Returns 0, -1 when it cannot be built, or -2 when it must
 * not be sent any more. */
static int build(struct job *j, const struct store_outbox *o, const char *secret)
{
    struct sbuf b;
    char date[64];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    sbuf_init(&b);
    j->from = strdup(cfg.smtp_from);
    j->to = strdup(o->rcpt);
    j->date = strdup(date);
    j->message_id = strdup(o->message_id);
    if (!strcmp(o->kind, "invite")) {
        struct store_invite inv;
        if (store_invite_get(o->ref, &inv))
            return -1;
        if (strcmp(inv.state, "pending"))
            return -2; /* revoked or used before it went out: never send a dead link */
        sbuf_printf(&b, "%s invited you to %s on Natter", inv.inviter_name, inv.group_name);
        char *plain_subject = take(&b);
        if (!plain_subject)
            return -1;
        subject_header(&b, plain_subject);
        j->subject = take(&b);
        sbuf_printf(&b, "%s invited you to join the group \"%s\" on Natter.\r\n\r\n"
                        "Accept the invitation: %s/?invite=%s\r\n\r\n"
                        "The link works once, for %s only, and expires in %lld days.\r\n",
                    inv.inviter_name, inv.group_name, cfg.public_url, secret, o->rcpt,
                    (long long)(lim(LIM_INVITE_TTL_S) / 86400));
        j->text = take(&b);
        sbuf_adds(&b, "<!doctype html><html><body><p>");
        html_text(&b, inv.inviter_name);
        sbuf_adds(&b, " invited you to join the group <strong>");
        html_text(&b, inv.group_name);
        sbuf_adds(&b, "</strong> on Natter.</p><p><a href=\"");
        html_text(&b, cfg.public_url);
        sbuf_printf(&b, "/?invite=%s\">Accept the invitation</a></p><p>The link works once, for ",
                    secret);
        html_text(&b, o->rcpt);
        sbuf_adds(&b, " only.</p></body></html>");
        j->html = take(&b);
        free(plain_subject);
    } else {
        j->subject = strdup("Your Natter password reset code");
        sbuf_printf(&b, "Your password reset code is %s\r\n\r\nIt expires in %lld minutes. If you "
                        "did not ask for it, ignore this mail.\r\n",
                    secret, (long long)(lim(LIM_RESET_TTL_S) / 60));
        j->text = take(&b);
        sbuf_printf(&b, "<!doctype html><html><body><p>Your password reset code is <strong>%s"
                        "</strong></p><p>It expires in %lld minutes.</p></body></html>",
                    secret, (long long)(lim(LIM_RESET_TTL_S) / 60));
        j->html = take(&b);
    }
    sbuf_cleanup(&b);
    return j->from && j->to && j->date && j->message_id && j->subject && j->text && j->html ? 0 : -1;
}

static int run_attempt(struct store_tx *tx, void *arg)
{
    struct attempt *a = arg;
    int64_t now = api__now();
    int64_t delay = lim(LIM_MAIL_BACKOFF_MS) << (a->attempts < 16 ? a->attempts : 16);
    return store_tx_outbox_result(tx, a->id, a->sent, a->sent ? NULL : a->err, now, now + delay,
                                  a->cancel ? 0 : lim(LIM_MAIL_ATTEMPTS));
}

static void done_attempt(void *arg, int rc)
{
    struct attempt *a = arg;
    if (rc)
        LOG_ERR("outbox: could not record attempt on #%lld", (long long)a->id);
    map_del(&in_flight, (uint64_t)a->id);
    free(a);
    next_sweep = 0; /* retries and the next batch */
}

/* Records the attempt a (taking it). */
static void record(struct attempt *a, bool sent, const char *err)
{
    int64_t id = a->id;
    a->sent = sent;
    snprintf(a->err, sizeof a->err, "%s", err ? err : "");
    a->job.run = run_attempt;
    a->job.done = done_attempt;
    a->job.arg = a;
    if (store_submit(&a->job)) {
        map_del(&in_flight, (uint64_t)id);
        free(a);
    }
}

static void mailed(struct job *j)
{
    struct attempt *a = j->arg;
    if (j->ok)
        LOG_INFO("outbox #%lld: sent", (long long)a->id);
    else
        LOG_WARN("outbox #%lld: attempt %lld failed: %s", (long long)a->id,
                 (long long)a->attempts + 1, j->err);
    record(a, j->ok, j->err);
    job_free(j);
}

static void dispatch(const struct store_outbox *o)
{
    char secret[128];
    struct job *j = NULL;
    struct attempt *a = calloc(1, sizeof *a);
    if (!a)
        return;
    a->id = o->id;
    a->attempts = o->attempts;
    map_put(&in_flight, (uint64_t)o->id, a);
    int n = o->sealed ? auth_unseal(o->sealed, strlen(o->sealed), secret, sizeof secret - 1) : -1;
    if (n < 0)
        return record(a, false, "the message's secret cannot be read (key changed?)");
    secret[n] = '\0';
    int built = (j = job_new(JOB_MAIL)) ? build(j, o, secret) : -1;
    if (built) {
        job_free(j);
        a->cancel = built == -2;
        return record(a, false, a->cancel ? "the invite is no longer pending"
                                          : "could not build the message");
    }
    memset(secret, 0, sizeof secret);
    j->done = mailed;
    j->arg = a;
    if (jobs_submit(j)) {
        job_free(j);
        map_del(&in_flight, (uint64_t)o->id);
        free(a);
    }
}

void api__outbox_kick(void) { next_sweep = 0; }

void api__outbox_tick(void)
{
    struct store_outbox *o;
    size_t n;
    int64_t now = now_ms();
    if (!started) {
        map_init(&in_flight);
        started = true;
    }
    if (now < next_sweep || api__draining)
        return;
    next_sweep = now + SWEEP_MS;
    if (!cfg.smtp_url[0] || store_outbox_due(api__now(), BATCH, &o, &n))
        return;
    for (size_t i = 0; i < n; i++) {
        if (!map_get(&in_flight, (uint64_t)o[i].id))
            dispatch(&o[i]);
    }
    store_outbox_free(o, n);
}
