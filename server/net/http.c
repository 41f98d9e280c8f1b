/* net http: the WebSocket upgrade checks (path, Origin, connection cap), the REST door
 * (POST /api/v1/<op>), /healthz, /readyz and /metrics. A request's answer may come later
 * (after a commit or a password hash): it is parked under an id until then. */
#include "net/net_int.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/sbuf.h"
#include "proto.h"
#include "store/store.h"

struct map net__reqs;


/* ---- Client address and Origin */

/* true when ip is inside one of the comma-separated IPv4/IPv6 CIDRs (or exact addresses). */
static bool in_cidrs(const char *ip, const char *list)
{
    unsigned char a[16], b[16];
    int fam = strchr(ip, ':') ? AF_INET6 : AF_INET, alen = fam == AF_INET ? 4 : 16;
    if (!*list || inet_pton(fam, ip, a) != 1)
        return false;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *slash = strchr(t, '/');
        int bits = alen * 8;
        if (slash) {
            *slash = '\0';
            bits = atoi(slash + 1);
        }
        if (inet_pton(fam, t, b) != 1 || bits < 0 || bits > alen * 8)
            continue;
        int full = bits / 8, rest = bits % 8;
        if (memcmp(a, b, (size_t)full))
            continue;
        if (rest && ((a[full] ^ b[full]) & (0xff << (8 - rest)) & 0xff))
            continue;
        return true;
    }
    return false;
}

void net__client_ip(struct lws *wsi, char *out, size_t cap)
{
    char xff[256];
    lws_get_peer_simple(wsi, out, cap);
    if (strncmp(out, "::ffff:", 7) == 0)
        memmove(out, out + 7, strlen(out + 7) + 1);
    if (!cfg.trust_proxy[0] || !in_cidrs(out, cfg.trust_proxy))
        return;
    if (lws_hdr_copy(wsi, xff, sizeof xff, WSI_TOKEN_X_FORWARDED_FOR) <= 0)
        return;
    const char *last = strrchr(xff, ',');
    last = last ? last + 1 : xff;
    while (*last == ' ')
        last++;
    snprintf(out, cap, "%s", last);
}

static bool origin_in(const char *origin, const char *list)
{
    size_t n = strlen(origin);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncmp(p, origin, n))
            return true;
        p += len + (end ? 1 : 0);
    }
    return false;
}

bool net__origin_ok(struct lws *wsi)
{
    char origin[256], alt[300];
    int n = lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN);
    if (n <= 0)
        return lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) == 0; /* bots send none */
    if (!strcmp(origin, cfg.public_url) || origin_in(origin, cfg.allowed_origins))
        return true;
    /* On loopback, localhost and 127.0.0.1 are the same place. */
    if (!strncmp(cfg.public_url, "http://localhost:", 17)) {
        snprintf(alt, sizeof alt, "http://127.0.0.1:%.200s", cfg.public_url + 17);
        return !strcmp(origin, alt);
    }
    return false;
}

/* ---- Writing an answer (headers on one WRITEABLE, the body on the next) */

static void answer(struct http_req *r, int status, const char *ctype, const char *body, size_t len)
{
    sbuf_reset(&r->resp);
    sbuf_add(&r->resp, body, len);
    r->status = status;
    r->ctype = ctype;
    r->ready = true;
    lws_callback_on_writable(r->wsi);
}

static void answer_err(struct http_req *r, int err, const char *msg)
{
    struct sbuf b;
    sbuf_init(&b);
    proto_reply_err(&b, true, NULL, err, msg, 0);
    answer(r, err_http_status(err), "application/json", b.p, b.len);
    sbuf_cleanup(&b);
}

void net__http_reply(uint64_t id, int status, const char *body, size_t len)
{
    struct http_req *r = map_get(&net__reqs, id);
    if (r)
        answer(r, status, "application/json", body, len);
}

static int write_answer(struct lws *wsi, struct http_req *r)
{
    unsigned char hdr[LWS_PRE + 2048], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr;
    if (!r->ready)
        return 0;
    if (!r->headers_sent) {
        if (lws_add_http_common_headers(wsi, (unsigned)r->status, r->ctype, r->resp.len, &p, end) ||
            lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                        (const unsigned char *)"no-store", 8, &p, end) ||
            lws_finalize_write_http_header(wsi, start, &p, end))
            return -1;
        r->headers_sent = true;
        lws_callback_on_writable(wsi);
        return 0;
    }
    /* The body needs LWS_PRE bytes of headroom in front of it. */
    unsigned char *buf = malloc(LWS_PRE + r->resp.len + 1);
    if (!buf)
        return -1;
    memcpy(buf + LWS_PRE, r->resp.p ? r->resp.p : "", r->resp.len);
    int n = lws_write(wsi, buf + LWS_PRE, r->resp.len, LWS_WRITE_HTTP_FINAL);
    free(buf);
    r->ready = false;
    if (n < (int)r->resp.len)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* ---- Health and metrics */

static void metrics_text(struct sbuf *b)
{
#define M(name, type, help, v)                                                                  \
    sbuf_printf(b, "# HELP natter_" name " " help "\n# TYPE natter_" name " " type "\nnatter_" name \
                   " %llu\n", (unsigned long long)(v))
    M("connections", "gauge", "Open WebSocket connections.", metrics.ws_open);
    M("connections_opened_total", "counter", "WebSocket connections accepted.", metrics.ws_opened_total);
    M("http_requests_total", "counter", "REST calls.", metrics.http_requests_total);
    M("deliveries_total", "counter", "Events queued to sockets.", metrics.deliveries_total);
    M("frames_written_total", "counter", "WebSocket frames written.", metrics.frames_written_total);
    M("bytes_queued", "gauge", "Bytes waiting in socket queues.", metrics.bytes_queued);
    M("messages_total", "counter", "Messages stored.", metrics.messages_total);
    M("acks_total", "counter", "Message acks sent (with resends).", metrics.acks_total);
    M("store_jobs_total", "counter", "Write jobs committed.", metrics.commits_jobs_total);
    M("store_job_wait_seconds_sum", "counter", "Time from submit to commit, summed.",
      metrics.commit_wait_us_sum / 1000000);
    M("store_job_wait_seconds_count", "counter", "Write jobs timed.", metrics.commit_wait_count);
    M("slow_consumer_closes_total", "counter", "Sockets closed with 4009.",
      metrics.slow_consumer_closes_total);
    M("rate_limited_total", "counter", "Requests refused by a rate limit.", metrics.rate_limited_total);
    M("malformed_frames_total", "counter", "Frames answered with a decode error.", metrics.malformed_total);
    M("logins_total", "counter", "Successful logins.", metrics.logins_total);
    M("login_failures_total", "counter", "Failed logins.", metrics.login_failures_total);
#undef M
}

static void serve_get(struct http_req *r, const char *path)
{
    struct sbuf b;
    sbuf_init(&b);
    if (!strcmp(path, "/healthz")) {
        sbuf_adds(&b, "{\"ok\":true}");
        answer(r, 200, "application/json", b.p, b.len);
    } else if (!strcmp(path, "/readyz")) {
        bool ready = !net__stopping;
        sbuf_printf(&b, "{\"ok\":%s,\"epoch\":\"%s\"}", ready ? "true" : "false", store_epoch());
        answer(r, ready ? 200 : 503, "application/json", b.p, b.len);
    } else if (!strcmp(path, "/metrics")) {
        metrics_text(&b);
        answer(r, 200, "text/plain; version=0.0.4", b.p, b.len);
    } else {
        answer_err(r, NATTER_ENOTFOUND, "no such route");
    }
    sbuf_cleanup(&b);
}

/* ---- The API protocol (REST and health routes) */

static void req_reset(struct lws *wsi, struct http_req *r)
{
    if (r->id)
        map_del(&net__reqs, r->id);
    free(r->body);
    sbuf_cleanup(&r->resp);
    memset(r, 0, sizeof *r);
    r->wsi = wsi;
}

static int on_http(struct lws *wsi, struct http_req *r)
{
    char cl[24];
    char *uri;
    int ulen;
    req_reset(wsi, r);
    int method = lws_http_get_uri_and_method(wsi, &uri, &ulen);
    char path[256];
    snprintf(path, sizeof path, "%.*s", ulen, uri);
    char *q = strchr(path, '?');
    if (q)
        *q = '\0';
    net__client_ip(wsi, r->ip, sizeof r->ip);
    r->id = net__next_id++;
    if (map_put(&net__reqs, r->id, r))
        return -1;
    bool api = !strncmp(path, "/api/v1/", 8);
    if (!api) {
        if (method != LWSHUMETH_GET)
            answer_err(r, NATTER_EBADREQ, "only GET here");
        else
            serve_get(r, path);
        return 0;
    }
    snprintf(r->op, sizeof r->op, "%.63s", path + 8);
    if (method != LWSHUMETH_POST) {
        static const char use_post[] = "{\"ok\":false,\"error\":{\"code\":\"bad_request\","
                                       "\"message\":\"use POST for /api/v1/<op>\",\"temporary\":false}}";
        r->pending = NATTER_EBADREQ;
        answer(r, 405, "application/json", use_post, sizeof use_post - 1);
        return 0;
    }
    if (lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) {
        static const char need_len[] =
            "{\"ok\":false,\"error\":{\"code\":\"bad_request\",\"message\":"
            "\"Content-Length is required (chunked bodies are not supported)\","
            "\"temporary\":false}}";
        answer(r, 411, "application/json", need_len, sizeof need_len - 1);
        return 0;
    }
    long long n = atoll(cl);
    if (n < 0 || n > lim(LIM_MAX_HTTP_BODY)) {
        if (n > 64 * lim(LIM_MAX_HTTP_BODY))
            return -1; /* absurd: hang up rather than read it */
        r->pending = NATTER_ETOOLARGE;
    }
    int alen = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (alen >= (int)sizeof r->auth)
        r->pending = NATTER_EUNAUTH;
    else if (alen > 0)
        lws_hdr_copy(wsi, r->auth, sizeof r->auth, WSI_TOKEN_HTTP_AUTHORIZATION);
    return 0;
}

static void on_body_done(struct http_req *r)
{
    if (r->ready)
        return; /* answered already (405, 411) */
    if (r->pending == NATTER_ETOOLARGE)
        return answer_err(r, NATTER_ETOOLARGE, "body over max_http_body");
    if (r->pending)
        return answer_err(r, r->pending, "malformed Authorization header");
    const char *bearer = NULL;
    if (!strncasecmp(r->auth, "Bearer ", 7))
        bearer = r->auth + 7;
    api_rest(r->id, r->op, bearer, r->ip, r->body ? r->body : "", r->len);
}

int net__cb_api(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                size_t len)
{
    struct http_req *r = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_http(wsi, r);
    case LWS_CALLBACK_HTTP_BODY:
        if (r->pending || r->ready || !len)
            return 0;
        if (r->len + len > (size_t)lim(LIM_MAX_HTTP_BODY)) {
            r->pending = NATTER_ETOOLARGE;
            return 0;
        }
        char *b = realloc(r->body, r->len + len + 1);
        if (!b)
            return -1;
        memcpy(b + r->len, in, len);
        r->body = b;
        r->len += len;
        r->body[r->len] = '\0';
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        on_body_done(r);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return write_answer(wsi, r);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (r)
            req_reset(wsi, r);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* ---- Protocol 0: static files, and the checks before a WebSocket upgrade */

static int refuse(struct lws *wsi, unsigned status, const char *why)
{
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr;
    unsigned char body[LWS_PRE + 64];
    size_t n = strlen(why);
    LOG_INFO("ws upgrade refused: %u %s", status, why);
    if (lws_add_http_common_headers(wsi, status, "text/plain", n, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return 1;
    memcpy(body + LWS_PRE, why, n);
    lws_write(wsi, body + LWS_PRE, n, LWS_WRITE_HTTP_FINAL);
    return 1;
}

int net__cb_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    if (reason == LWS_CALLBACK_HTTP_CONFIRM_UPGRADE) {
        char path[64];
        if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) <= 0 || strcmp(path, "/v1/ws"))
            return refuse(wsi, 404, "the WebSocket lives at /v1/ws");
        if (!net__origin_ok(wsi))
            return refuse(wsi, 403, "origin not allowed");
        if ((int64_t)metrics.ws_open >= lim(LIM_MAX_CONNECTIONS))
            return refuse(wsi, 503, "too many connections");
        if (net__stopping)
            return refuse(wsi, 503, "shutting down");
        return 0;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}
