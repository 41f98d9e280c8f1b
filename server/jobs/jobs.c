/* jobs: the worker loop is curl_multi_perform -> info_read -> curl_multi_poll, woken by
 * curl_multi_wakeup when the loop queues work or asks it to stop. */
#include "jobs/jobs.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/log.h"

#define BODY_MAX (1 << 20)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct job *pending;
static bool stopping, started;
static CURLM *multi;
static pthread_t thread;

struct job *job_new(enum job_kind kind)
{
    struct job *j = calloc(1, sizeof *j);
    if (j) {
        j->kind = kind;
        sbuf_init(&j->body);
    }
    return j;
}

void job_free(struct job *j)
{
    if (!j)
        return;
    char **strs[] = {&j->from, &j->to, &j->subject, &j->message_id, &j->date, &j->text,
                     &j->html, &j->method, &j->url, &j->form, &j->user, &j->pass};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        free(*strs[i]);
    sbuf_cleanup(&j->body);
    free(j);
}

bool job_header_unsafe(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t')
            return true;
    return false;
}

bool job_url_is_loopback(const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL;
    bool yes = false;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
        yes = !strcmp(host, "localhost") || !strcmp(host, "[::1]") || !strncmp(host, "127.", 4);
    curl_free(host);
    curl_url_cleanup(u);
    return yes;
}

void job_form_add(struct sbuf *b, const char *name, const char *value)
{
    char *v = curl_easy_escape(NULL, value, 0);
    if (!v) {
        b->oom = true;
        return;
    }
    sbuf_printf(b, "%s%s=%s", b->len ? "&" : "", name, v);
    curl_free(v);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct job *j = arg;
    if (j->body.len + size * n > BODY_MAX)
        return 0; /* aborts the transfer */
    sbuf_add(&j->body, p, size * n);
    return size * n;
}

/* Builds the mail: headers, then multipart/alternative with the text and HTML parts. */
static int setup_mail(CURL *e, struct job *j)
{
    bool plain = cfg.smtp_plain && job_url_is_loopback(cfg.smtp_url);
    struct curl_slist *h = NULL;
    char line[1200];
    const char *hv[][2] = {{"Date", j->date}, {"From", j->from}, {"To", j->to},
                           {"Subject", j->subject}, {"Message-ID", j->message_id}};
    for (size_t i = 0; i < sizeof hv / sizeof hv[0]; i++) {
        if (!hv[i][1] || job_header_unsafe(hv[i][1]))
            return -1; /* never let a CR or LF split a header */
        snprintf(line, sizeof line, "%s: %s", hv[i][0], hv[i][1]);
        h = curl_slist_append(h, line);
    }
    j->hdrs = h;
    snprintf(line, sizeof line, "<%s>", j->to);
    j->rcpt = curl_slist_append(NULL, line);
    /* The message itself is the multipart/alternative: curl takes the root's type from here. */
    h = curl_slist_append(h, "Content-Type: multipart/alternative");
    j->hdrs = h;
    curl_mime *mime = curl_mime_init(e);
    j->mime = mime;
    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_data(part, j->text, CURL_ZERO_TERMINATED);
    curl_mime_type(part, "text/plain; charset=utf-8");
    part = curl_mime_addpart(mime);
    curl_mime_data(part, j->html, CURL_ZERO_TERMINATED);
    curl_mime_type(part, "text/html; charset=utf-8");
    snprintf(line, sizeof line, "<%s>", j->from);
    curl_easy_setopt(e, CURLOPT_URL, cfg.smtp_url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, line);
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, j->rcpt);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_MIMEPOST, mime);
    curl_easy_setopt(e, CURLOPT_USE_SSL, (long)(plain ? CURLUSESSL_NONE : CURLUSESSL_ALL));
    if (cfg.smtp_ca_file[0])
        curl_easy_setopt(e, CURLOPT_CAINFO, cfg.smtp_ca_file);
    if (cfg.smtp_user[0]) {
        curl_easy_setopt(e, CURLOPT_USERNAME, cfg.smtp_user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, cfg.smtp_password);
    }
    return j->rcpt && mime ? 0 : -1;
}

static int setup_http(CURL *e, struct job *j)
{
    bool loop = job_url_is_loopback(j->url);
    curl_easy_setopt(e, CURLOPT_URL, j->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, loop ? "http,https" : "https");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    if (j->user) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, j->user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, j->pass);
    }
    if (!strcmp(j->method, "POST")) {
        j->hdrs = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->hdrs);
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, j->form ? j->form : "");
    }
    return 0;
}

static void finish(void *arg)
{
    struct job *j = arg;
    j->done(j);
}

static void complete(struct job *j, CURLcode rc)
{
    CURL *e = j->easy;
    long code = 0;
    if (e) {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
        curl_multi_remove_handle(multi, e);
        curl_easy_cleanup(e);
    }
    j->status = code;
    j->ok = rc == CURLE_OK;
    if (!j->ok && !j->err[0])
        snprintf(j->err, sizeof j->err, "%s (%ld)", curl_easy_strerror(rc), code);
    curl_slist_free_all(j->hdrs);
    curl_slist_free_all(j->rcpt);
    curl_mime_free(j->mime);
    j->easy = j->hdrs = j->rcpt = j->mime = NULL;
    j->lq.fn = finish;
    j->lq.arg = j;
    loopq_post(&j->lq);
}

static void start(struct job *j)
{
    CURL *e = curl_easy_init();
    if (!e) {
        snprintf(j->err, sizeof j->err, "out of memory");
        complete(j, CURLE_OUT_OF_MEMORY);
        return;
    }
    j->easy = e;
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)lim(LIM_OUTBOUND_TIMEOUT_MS));
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->err);
    int rc = j->kind == JOB_MAIL ? setup_mail(e, j) : setup_http(e, j);
    if (rc || curl_multi_add_handle(multi, e) != CURLM_OK) {
        snprintf(j->err, sizeof j->err, "could not set up the request");
        complete(j, CURLE_FAILED_INIT);
    }
}

static void *worker(void *unused)
{
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&mu);
        struct job *list = pending;
        pending = NULL;
        bool stop = stopping;
        pthread_mutex_unlock(&mu);
        while (list) {
            struct job *next = list->next;
            start(list);
            list = next;
        }
        int running = 0, left;
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        while ((m = curl_multi_info_read(multi, &left))) {
            struct job *j = NULL;
            if (m->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
            complete(j, m->data.result);
        }
        if (stop && !running)
            return NULL;
        curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
}

int jobs_open(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(multi = curl_multi_init()))
        return -1;
    stopping = false;
    if (pthread_create(&thread, NULL, worker, NULL)) {
        curl_multi_cleanup(multi);
        return -1;
    }
    started = true;
    return 0;
}

int jobs_submit(struct job *j)
{
    pthread_mutex_lock(&mu);
    if (stopping || !started) {
        pthread_mutex_unlock(&mu);
        return -1;
    }
    j->next = pending;
    pending = j;
    pthread_mutex_unlock(&mu);
    curl_multi_wakeup(multi);
    return 0;
}

void jobs_close(void)
{
    if (!started)
        return;
    pthread_mutex_lock(&mu);
    stopping = true;
    pthread_mutex_unlock(&mu);
    curl_multi_wakeup(multi);
    pthread_join(thread, NULL);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    started = false;
}
