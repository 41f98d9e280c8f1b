/* jobs: outbound network work (SMTP mail, HTTPS to Twilio) on one worker thread that owns a
 * libcurl multi handle; the only includer of <curl/curl.h>. The loop queues a job and gets
 * it back through loopq when it is done: it never waits on the network. TLS is verified
 * everywhere; plain SMTP or HTTP is allowed only towards a loopback host. */
#ifndef NATTER_JOBS_H
#define NATTER_JOBS_H

#include <stdbool.h>

#include "core/loopq.h"
#include "core/sbuf.h"

enum job_kind { JOB_MAIL, JOB_HTTP };

struct job {
    enum job_kind kind;
    /* JOB_MAIL: every string is owned by the job (job_free frees them). */
    char *from, *to, *subject, *message_id, *date, *text, *html;
    /* JOB_HTTP: method "GET" or "POST"; form is x-www-form-urlencoded (POST). */
    char *method, *url, *form, *user, *pass;
    /* Result, valid in done: ok = delivered (mail: 250; HTTP: any status). */
    bool ok;
    long status;                 /* HTTP status, or the SMTP reply code */
    char err[256];
    struct sbuf body;            /* HTTP response body (capped at 1 MiB) */
    void (*done)(struct job *j); /* loop thread; must call job_free eventually */
    void *arg;
    /* Internal. */
    struct job *next;
    struct loopq_item lq;
    void *easy, *hdrs, *rcpt, *mime;
};

/* Starts the worker. Returns 0 or -1. */
int jobs_open(void);
/* Finishes what is in flight (bounded by each job's timeout), then joins the worker. */
void jobs_close(void);
/* Queues j. Returns 0, or -1 when stopping (j is untouched). */
int jobs_submit(struct job *j);
struct job *job_new(enum job_kind kind);
void job_free(struct job *j);
/* URL-encodes s for a form body (appends "name=value&"). */
void job_form_add(struct sbuf *b, const char *name, const char *value);
/* true when the URL's host is 127.0.0.0/8, ::1 or localhost. */
bool job_url_is_loopback(const char *url);
/* true when s holds CR, LF or NUL-free control characters that could split a header. */
bool job_header_unsafe(const char *s);

#endif
