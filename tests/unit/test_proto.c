/* test_proto: unit tests for proto/. The WS and REST decoders on valid frames for most ops (each
 * argument in its slot, ids parsed), then every way a frame can be refused: JSON shape, op, id,
 * argument types, id syntax, names, bodies (too_large counts code points), UTF-8, cids, emails,
 * passwords, limits and the resume rooms map, with the request id still readable when the rest
 * fails. Every decode gets a heap copy of exactly the frame's bytes, with no NUL after it, so
 * ASan catches any read past the end. Then proto_utf8_count on the classic edge cases, and the
 * encoders, whose output is parsed back with cJSON. */
#include "proto.h"
#include "core/cfg.h"
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char err[NATTER_ERR_LEN];

/* Decodes a WS frame from an exact-size heap copy (no trailing NUL). The caller frees r. */
static int ws_len(const char *frame, size_t len, struct proto_req *r)
{
    char *copy = malloc(len ? len : 1);
    int rc;

    memcpy(copy, frame, len);
    err[0] = '\0';
    rc = proto_decode_ws(copy, len, r, err);
    free(copy); /* nothing in r may point into the frame */
    return rc;
}

static int ws(const char *frame, struct proto_req *r) { return ws_len(frame, strlen(frame), r); }

/* Decodes and frees: just the result code. */
static int ws_rc(const char *frame)
{
    struct proto_req r;
    int rc = ws(frame, &r);
    proto_req_free(&r);
    return rc;
}

static int rest(const char *op, const char *body, struct proto_req *r)
{
    size_t len = strlen(body);
    char *copy = malloc(len ? len : 1);
    int rc;

    memcpy(copy, body, len);
    err[0] = '\0';
    rc = proto_decode_rest(op, copy, len, r, err);
    free(copy);
    return rc;
}

static int rest_rc(const char *op, const char *body)
{
    struct proto_req r;
    int rc = rest(op, body, &r);
    proto_req_free(&r);
    return rc;
}

/* A message.send frame whose body is `n` copies of the UTF-8 character `ch`. */
static void send_with_body(struct sbuf *b, const char *ch, long n)
{
    sbuf_reset(b);
    sbuf_adds(
        b,
        "{\"op\":\"message.send\",\"id\":\"1\",\"d\":{\"room\":\"r_1\",\"cid\":\"c\",\"body\":\"");
    for (long i = 0; i < n; i++)
        sbuf_adds(b, ch);
    sbuf_adds(b, "\"}}");
}

/* {"op":op,"id":"1","d":{field:"value"}} with value spliced in raw (so it may hold escapes). */
static int field_rc(const char *op, const char *field, const char *raw_value, const char *extra)
{
    struct proto_req r;
    struct sbuf b;
    int rc;

    sbuf_init(&b);
    sbuf_printf(&b, "{\"op\":\"%s\",\"id\":\"1\",\"d\":{%s\"%s\":%s}}", op, extra ? extra : "",
                field, raw_value);
    rc = ws_len(b.p, b.len, &r);
    proto_req_free(&r);
    sbuf_cleanup(&b);
    return rc;
}

/* field_rc for a field that must be a string: raw is spliced between quotes. */
static int str_rc(const char *op, const char *field, const char *raw, const char *extra)
{
    char v[2048];
    struct proto_req r;
    struct sbuf b;
    int rc;

    snprintf(v, sizeof v, "\"%s\"", raw);
    sbuf_init(&b);
    sbuf_printf(&b, "{\"op\":\"%s\",\"id\":\"1\",\"d\":{%s\"%s\":%s}}", op, extra ? extra : "",
                field, v);
    rc = ws_len(b.p, b.len, &r);
    proto_req_free(&r);
    sbuf_cleanup(&b);
    return rc;
}

/* ---- valid frames ---- */

static void test_valid_ws(void)
{
    struct proto_req r;

    CHECK_EQ_INT(ws("{\"op\":\"identify\",\"id\":\"a1\",\"d\":{\"token\":\"v4.public.xyz\"}}", &r),
                 0);
    CHECK(r.op && r.op->id == OP_IDENTIFY);
    CHECK(r.has_id);
    CHECK_STREQ(r.id, "a1");
    CHECK(proto_has(&r, A_TOKEN));
    CHECK_STREQ(r.a.token, "v4.public.xyz");
    proto_req_free(&r);
    CHECK(r.root == NULL);

    CHECK_EQ_INT(ws("{\"op\":\"resume\",\"id\":\"1\",\"d\":{\"token\":\"t\",\"epoch\":\"9f2c\","
                    "\"rooms\":{\"r_1\":42,\"r_7\":0}}}", &r), 0);
    CHECK(r.op && r.op->id == OP_RESUME);
    CHECK_STREQ(r.a.epoch, "9f2c");
    CHECK(proto_has(&r, A_ROOMS) && r.a.rooms != NULL);
    CHECK_EQ_INT(cJSON_GetArraySize(r.a.rooms), 2);
    const cJSON *r1 = cJSON_GetObjectItemCaseSensitive(r.a.rooms, "r_1");
    CHECK(cJSON_IsNumber(r1) && r1->valuedouble == 42);
    proto_req_free(&r);

    /* ping: no d at all; an empty d; the reply needs an id. */
    CHECK_EQ_INT(ws("{\"op\":\"ping\",\"id\":\"p\"}", &r), 0);
    CHECK(r.op && r.op->id == OP_PING && r.a.present == 0);
    proto_req_free(&r);
    CHECK_EQ_INT(ws_rc(" {\"id\":\"p\",\"d\":{},\"op\":\"ping\"}\n "), 0); /* any key order */

    /* typing needs no id. */
    CHECK_EQ_INT(ws("{\"op\":\"typing\",\"d\":{\"room\":\"r_5\"}}", &r), 0);
    CHECK(r.op && r.op->id == OP_TYPING && (r.op->flags & OPF_NOREPLY));
    CHECK(!r.has_id);
    CHECK_EQ_INT(r.a.room, 5);
    proto_req_free(&r);

    CHECK_EQ_INT(ws("{\"op\":\"auth.signup\",\"id\":\"s\",\"d\":{\"email\":\"Ada.L+x@Example.org\","
                    "\"name\":\"Ada \xc3\xa9\",\"password\":\"correct horse\"}}", &r), 0);
    CHECK(r.op && r.op->id == OP_AUTH_SIGNUP && (r.op->flags & OPF_NOTOKEN));
    CHECK_STREQ(r.a.email, "Ada.L+x@Example.org");
    CHECK_STREQ(r.a.name, "Ada \xc3\xa9");
    CHECK_STREQ(r.a.password, "correct horse");
    proto_req_free(&r);

    CHECK_EQ_INT(ws("{\"op\":\"auth.refresh\",\"id\":\"1\",\"d\":{\"refresh_token\":\"rt\"}}", &r),
                 0);
    CHECK_STREQ(r.a.refresh, "rt");
    proto_req_free(&r);
    CHECK_EQ_INT(ws("{\"op\":\"auth.logout\",\"id\":\"1\"}", &r), 0);
    CHECK(!proto_has(&r, A_REFRESH));
    proto_req_free(&r);

    CHECK_EQ_INT(ws("{\"op\":\"profile.get\",\"id\":\"1\",\"d\":{\"user\":\"u_3\"}}", &r), 0);
    CHECK(proto_has(&r, A_USER));
    CHECK_EQ_INT(r.a.user, 3);
    proto_req_free(&r);
    /* Optional fields given as null count as absent. */
    CHECK_EQ_INT(ws("{\"op\":\"profile.get\",\"id\":\"1\",\"d\":{\"user\":null}}", &r), 0);
    CHECK(!proto_has(&r, A_USER));
    proto_req_free(&r);

    CHECK_EQ_INT(
        ws("{\"op\":\"group.rename\",\"id\":\"1\",\"d\":{\"group\":\"g_12\",\"name\":\"x\"}}", &r),
        0);
    CHECK(r.op && r.op->id == OP_GROUP_RENAME);
    CHECK_EQ_INT(r.a.group, 12);
    CHECK_STREQ(r.a.name, "x");
    proto_req_free(&r);

    CHECK_EQ_INT(
        ws("{\"op\":\"member.role\",\"id\":\"1\",\"d\":{\"group\":\"g_2\",\"user\":\"u_9\","
           "\"role\":\"admin\"}}",
           &r),
        0);
    CHECK(r.a.group == 2 && r.a.user == 9);
    CHECK_STREQ(r.a.role, "admin");
    proto_req_free(&r);

    CHECK_EQ_INT(
        ws("{\"op\":\"message.send\",\"id\":\"42\",\"d\":{\"room\":\"r_12\",\"cid\":\"c-1_Az\","
           "\"body\":\"hi\\nthere\\t\\u00e9\\ud83d\\ude00\"}}",
           &r),
        0);
    CHECK(r.op && r.op->id == OP_MESSAGE_SEND);
    CHECK_EQ_INT(r.a.room, 12);
    CHECK_STREQ(r.a.cid, "c-1_Az");
    CHECK_STREQ(r.a.body, "hi\nthere\t\xc3\xa9\xf0\x9f\x98\x80");
    CHECK_EQ_INT(r.a.present, (1u << A_ROOM) | (1u << A_CID) | (1u << A_BODY));
    proto_req_free(&r);

    CHECK_EQ_INT(
        ws("{\"op\":\"message.edit\",\"id\":\"1\",\"d\":{\"room\":\"r_1\",\"msg\":\"m_77\","
           "\"body\":\"b\"}}",
           &r),
        0);
    CHECK_EQ_INT(r.a.msg, 77);
    proto_req_free(&r);

    CHECK_EQ_INT(ws("{\"op\":\"room.history\",\"id\":\"1\",\"d\":{\"room\":\"r_3\",\"before\":10,"
                    "\"limit\":20}}", &r), 0);
    CHECK(proto_has(&r, A_BEFORE) && proto_has(&r, A_LIMIT) && !proto_has(&r, A_AFTER));
    CHECK(r.a.before == 10 && r.a.limit == 20);
    proto_req_free(&r);

    CHECK_EQ_INT(
        ws("{\"op\":\"room.read\",\"id\":\"1\",\"d\":{\"room\":\"r_3\",\"seq\":9007199254740991}}",
           &r),
        0);
    CHECK_EQ_INT(r.a.seq, 9007199254740991LL);
    proto_req_free(&r);
    CHECK_EQ_INT(
        ws("{\"op\":\"dm.open\",\"id\":\"1\",\"d\":{\"user\":\"u_999999999999999999\"}}", &r), 0);
    CHECK_EQ_INT(r.a.user, 999999999999999999LL); /* 18 digits, the longest id */
    proto_req_free(&r);
    /* Unknown extra fields are ignored. */
    CHECK_EQ_INT(ws_rc("{\"op\":\"group.list\",\"id\":\"1\",\"x\":1,\"d\":{\"extra\":[1,2]}}"), 0);
}

static void test_valid_rest(void)
{
    struct proto_req r;

    CHECK_EQ_INT(rest("message.send", "{\"room\":\"r_12\",\"cid\":\"a\",\"body\":\"x\"}", &r), 0);
    CHECK(r.op && r.op->id == OP_MESSAGE_SEND);
    CHECK(!r.has_id);
    CHECK_EQ_INT(r.a.room, 12);
    CHECK_STREQ(r.a.body, "x");
    proto_req_free(&r);
    /* Empty or blank body: fine for an op without required fields. */
    CHECK_EQ_INT(rest_rc("group.list", ""), 0);
    CHECK_EQ_INT(rest_rc("group.list", " \r\n\t"), 0);
    CHECK_EQ_INT(rest_rc("group.list", "{}"), 0);
    CHECK_EQ_INT(rest_rc("auth.logout", ""), 0);
    CHECK_EQ_INT(rest("auth.login", "{\"email\":\"a@b.co\",\"password\":\"12345678\"}", &r), 0);
    CHECK(r.op && (r.op->flags & OPF_NOTOKEN));
    proto_req_free(&r);
    /* ...but not for one with required fields. */
    CHECK_EQ_INT(rest_rc("message.send", ""), -NATTER_EBADREQ);
    CHECK(strstr(err, "room") != NULL);
    CHECK_EQ_INT(rest_rc("group.list", "[]"), -NATTER_EBADREQ);
    CHECK_EQ_INT(rest_rc("group.list", "null"), -NATTER_EBADREQ);
    CHECK_EQ_INT(rest_rc("group.list", "{} x"), -NATTER_EBADREQ);
    CHECK_EQ_INT(rest_rc("group.list", "{"), -NATTER_EBADREQ);
    /* WS-only and unknown ops are not_found over REST. */
    static const char *const absent[] = {"identify", "resume", "ping", "typing", "nope",
                                         "message.sendx", "message", "", "MESSAGE.SEND", NULL};
    for (int i = 0; absent[i]; i++) {
        CHECK_EQ_INT(rest(absent[i], "{}", &r), -NATTER_ENOTFOUND);
        CHECK(r.op == NULL);
        proto_req_free(&r);
    }
    CHECK(proto_op_find("ping", 4) != NULL);
    CHECK(proto_op_find("pingx", 4) != NULL); /* length-bounded */
    CHECK(proto_op_find("pin", 3) == NULL);
    CHECK(proto_op_find("room.read", 9) && proto_op_find("room.read", 9)->id == OP_ROOM_READ);
}

/* ---- refusals ---- */

static void test_frame_shape(void)
{
    struct proto_req r;

    static const char *const malformed[] = {
        "", " ", "{", "{\"op\":\"ping\",\"id\":\"1\"", "{\"op\":\"ping\" \"id\":\"1\"}",
        "{op:\"ping\",\"id\":\"1\"}", "{'op':'ping'}", "{\"op\":\"ping\",\"id\":\"1\",}",
        "{\"op\":\"ping\",\"id\":\"1\"} x", "{\"op\":\"ping\",\"id\":\"1\"}{}",
        "{\"op\":\"ping\",\"id\":\"1\"}\n{\"op\":\"ping\",\"id\":\"2\"}", "[]", "\"ping\"", "1",
        "null", "true", "[{\"op\":\"ping\",\"id\":\"1\"}]", NULL};
    for (int i = 0; malformed[i]; i++) {
        int rc = ws(malformed[i], &r);
        if (rc != -NATTER_EBADREQ)
            fprintf(stderr, "accepted: %s\n", malformed[i]);
        CHECK_EQ_INT(rc, -NATTER_EBADREQ);
        CHECK(err[0] != '\0');
        CHECK(!r.has_id);
        proto_req_free(&r);
    }
    /* A NUL inside the frame is not the end of it. */
    CHECK_EQ_INT(ws_len("{\"op\":\"ping\",\"id\":\"1\"}\0junk", 27, &r), -NATTER_EBADREQ);
    proto_req_free(&r);

    /* Missing, mistyped and unknown ops: error, but the id is still readable for `re`. */
    static const char *const bad_op[] = {
        "{\"id\":\"x7\"}", "{\"id\":\"x7\",\"op\":5}", "{\"id\":\"x7\",\"op\":null}",
        "{\"id\":\"x7\",\"op\":\"nope\"}", "{\"id\":\"x7\",\"op\":\"PING\"}",
        "{\"id\":\"x7\",\"op\":\"\"}", "{\"id\":\"x7\",\"op\":[\"ping\"]}", NULL};
    for (int i = 0; bad_op[i]; i++) {
        CHECK_EQ_INT(ws(bad_op[i], &r), -NATTER_EBADREQ);
        CHECK(r.op == NULL);
        CHECK(r.has_id);
        CHECK_STREQ(r.id, "x7");
        proto_req_free(&r);
    }
    CHECK_EQ_INT(ws("{\"op\":\"no.such.op\",\"id\":\"1\"}", &r), -NATTER_EBADREQ);
    CHECK(strstr(err, "unknown op") != NULL);
    proto_req_free(&r);

    /* The id is required for everything but typing, and is 1..64 bytes of text. */
    CHECK_EQ_INT(ws("{\"op\":\"ping\"}", &r), -NATTER_EBADREQ);
    CHECK(!r.has_id);
    CHECK(strstr(err, "id") != NULL);
    proto_req_free(&r);
    CHECK_EQ_INT(
        ws_rc("{\"op\":\"message.send\",\"d\":{\"room\":\"r_1\",\"cid\":\"c\",\"body\":\"b\"}}"),
        -NATTER_EBADREQ);
    char id64[65], frame[256];
    memset(id64, 'i', 64);
    id64[64] = '\0';
    snprintf(frame, sizeof frame, "{\"op\":\"ping\",\"id\":\"%s\"}", id64);
    CHECK_EQ_INT(ws(frame, &r), 0);
    CHECK_STREQ(r.id, id64);
    proto_req_free(&r);
    snprintf(frame, sizeof frame, "{\"op\":\"ping\",\"id\":\"%sj\"}", id64);
    CHECK_EQ_INT(ws(frame, &r), -NATTER_EBADREQ);
    CHECK(!r.has_id); /* an over-long id is not echoed back */
    proto_req_free(&r);
    static const char *const bad_id[] = {"\"\"", "5", "null", "true", "{}", "[\"1\"]",
                                         "\"a\\nb\"", "\"\\u0001\"", "\"\xff\"", NULL};
    for (int i = 0; bad_id[i]; i++) {
        snprintf(frame, sizeof frame, "{\"op\":\"ping\",\"id\":%s}", bad_id[i]);
        CHECK_EQ_INT(ws(frame, &r), -NATTER_EBADREQ);
        CHECK(!r.has_id);
        proto_req_free(&r);
    }
    /* Multi-byte ids are fine; the limit is in bytes (22 x 3 = 66 bytes is too long). */
    CHECK_EQ_INT(ws_rc("{\"op\":\"ping\",\"id\":\"\xe2\x82\xac\"}"), 0);
    struct sbuf b;
    sbuf_init(&b);
    sbuf_adds(&b, "{\"op\":\"ping\",\"id\":\"");
    for (int i = 0; i < 22; i++)
        sbuf_adds(&b, "\xe2\x82\xac");
    sbuf_adds(&b, "\"}");
    CHECK_EQ_INT(ws_rc(b.p), -NATTER_EBADREQ);
    sbuf_cleanup(&b);

    /* d must be an object when present. */
    static const char *const bad_d[] = {"[]", "\"x\"", "1", "true", "null", NULL};
    for (int i = 0; bad_d[i]; i++) {
        snprintf(frame, sizeof frame, "{\"op\":\"group.create\",\"id\":\"d1\",\"d\":%s}", bad_d[i]);
        CHECK_EQ_INT(ws(frame, &r), -NATTER_EBADREQ);
        CHECK(r.has_id && r.op && r.op->id == OP_GROUP_CREATE);
        proto_req_free(&r);
    }

    /* The unknown-op message quotes the op, cut to 64 bytes: the cut must not split a UTF-8
     * character, since the error goes back as a WebSocket text frame. */
    sbuf_init(&b);
    sbuf_adds(&b, "{\"op\":\"a");
    for (int i = 0; i < 40; i++)
        sbuf_adds(&b, "\xc3\xa9");
    sbuf_adds(&b, "\",\"id\":\"1\"}");
    CHECK_EQ_INT(ws_len(b.p, b.len, &r), -NATTER_EBADREQ);
    if (proto_utf8_count(err, strlen(err)) < 0)
        fprintf(stderr, "error message is not UTF-8: %s\n", err);
    CHECK(proto_utf8_count(err, strlen(err)) >= 0);
    proto_req_free(&r);
    sbuf_reset(&b);
    sbuf_adds(&b, "a");
    for (int i = 0; i < 40; i++)
        sbuf_adds(&b, "\xc3\xa9");
    CHECK_EQ_INT(rest_rc(b.p, "{}"), -NATTER_ENOTFOUND);
    CHECK(proto_utf8_count(err, strlen(err)) >= 0);
    sbuf_cleanup(&b);

    /* The id survives an argument error too. */
    CHECK_EQ_INT(ws("{\"op\":\"message.send\",\"id\":\"q9\",\"d\":{\"room\":\"g_1\",\"cid\":\"c\","
                    "\"body\":\"b\"}}", &r), -NATTER_EBADREQ);
    CHECK(r.has_id);
    CHECK_STREQ(r.id, "q9");
    CHECK(strstr(err, "room") != NULL);
    proto_req_free(&r);
}

static void test_types_and_ids(void)
{
    /* Wrong JSON types for each kind of field. */
    CHECK_EQ_INT(field_rc("room.read", "room", "12", "\"seq\":1,"), -NATTER_EBADREQ);
    CHECK_EQ_INT(field_rc("room.read", "seq", "\"5\"", "\"room\":\"r_1\","), -NATTER_EBADREQ);
    CHECK_EQ_INT(field_rc("room.read", "seq", "true", "\"room\":\"r_1\","), -NATTER_EBADREQ);
    CHECK_EQ_INT(field_rc("room.read", "seq", "[5]", "\"room\":\"r_1\","), -NATTER_EBADREQ);
    CHECK_EQ_INT(field_rc("room.read", "seq", "-1", "\"room\":\"r_1\","), -NATTER_EBADREQ);
    CHECK_EQ_INT(field_rc("room.read", "seq", "1.5", "\"room\":\"r_1\","), -NATTER_EBADREQ);
    CHECK_EQ_INT(field_rc("room.read", "seq", "1e400", "\"room\":\"r_1\","), -NATTER_EBADREQ);
    CHECK_EQ_INT(field_rc("room.read", "seq", "9007199254740992", "\"room\":\"r_1\","),
                 -NATTER_EBADREQ);
    CHECK_EQ_INT(field_rc("room.read", "seq", "0", "\"room\":\"r_1\","), 0);
    CHECK_EQ_INT(field_rc("room.read", "seq", "1e3", "\"room\":\"r_1\","), 0);
    CHECK_EQ_INT(field_rc("group.create", "name", "5", NULL), -NATTER_EBADREQ);
    CHECK_EQ_INT(field_rc("group.create", "name", "{}", NULL), -NATTER_EBADREQ);
    CHECK_EQ_INT(field_rc("identify", "token", "[]", NULL), -NATTER_EBADREQ);
    CHECK_EQ_INT(field_rc("message.send", "body", "1", "\"room\":\"r_1\",\"cid\":\"c\","),
                 -NATTER_EBADREQ);
    CHECK_EQ_INT(field_rc("room.read", "room", "null", "\"seq\":1,"),
                 -NATTER_EBADREQ); /* required */

    /* Id syntax: prefix, underscore, digits without a leading zero, > 0, at most 18 digits. */
    static const char *const bad[] = {"r_0", "r_x", "g_1", "u_1", "r_00012", "r_012", "r_",
                                      "r", "", "r_-1", "r_+1", "r_1 ", " r_1", "R_1", "r-1",
                                      "r_1x", "r_1e3", "r_1.0", "r__1",
                                      "r_1234567890123456789", "r_99999999999999999999", NULL};
    for (int i = 0; bad[i]; i++) {
        int rc = str_rc("room.delete", "room", bad[i], NULL);
        if (rc != -NATTER_EBADREQ)
            fprintf(stderr, "room id '%s' accepted\n", bad[i]);
        CHECK_EQ_INT(rc, -NATTER_EBADREQ);
    }
    CHECK_EQ_INT(str_rc("room.delete", "room", "r_10", NULL), 0);
    CHECK_EQ_INT(str_rc("group.delete", "group", "r_1", NULL), -NATTER_EBADREQ);
    CHECK_EQ_INT(str_rc("group.delete", "group", "g_1", NULL), 0);
    CHECK_EQ_INT(str_rc("member.remove", "user", "g_1", "\"group\":\"g_1\","), -NATTER_EBADREQ);
    CHECK_EQ_INT(str_rc("message.delete", "msg", "r_1", "\"room\":\"r_1\","), -NATTER_EBADREQ);
    CHECK_EQ_INT(str_rc("message.delete", "msg", "m_1", "\"room\":\"r_1\","), 0);

    /* history limit: 1..history_max. */
    CHECK_EQ_INT(field_rc("room.history", "limit", "0", "\"room\":\"r_1\","), -NATTER_EBADREQ);
    CHECK_EQ_INT(field_rc("room.history", "limit", "1", "\"room\":\"r_1\","), 0);
    CHECK_EQ_INT(field_rc("room.history", "limit", "100", "\"room\":\"r_1\","), 0);
    CHECK_EQ_INT(field_rc("room.history", "limit", "101", "\"room\":\"r_1\","), -NATTER_EBADREQ);
    CHECK_EQ_INT(field_rc("room.history", "after", "-1", "\"room\":\"r_1\","), -NATTER_EBADREQ);
}

static void test_strings(void)
{
    struct proto_req r;
    struct sbuf b;

    sbuf_init(&b);
    /* Names: 1..64 code points, multi-byte characters count once, no control or bidi override
     * characters. */
    sbuf_reset(&b);
    for (int i = 0; i < 64; i++)
        sbuf_adds(&b, "\xc3\xa9");
    CHECK_EQ_INT(str_rc("group.create", "name", b.p, NULL), 0); /* 64 code points, 128 bytes */
    sbuf_adds(&b, "e");
    CHECK_EQ_INT(str_rc("group.create", "name", b.p, NULL), -NATTER_EBADREQ);
    sbuf_reset(&b);
    for (int i = 0; i < 65; i++)
        sbuf_adds(&b, "n");
    CHECK_EQ_INT(str_rc("group.create", "name", b.p, NULL), -NATTER_EBADREQ);
    static const char *const bad_names[] = {"", "a\\nb", "a\\tb", "a\\rb", "\\u0001",
                                            "x\\u001f", "del\x7f", "\xff", "\xc3", "\xc0\xaf",
                                            "\xed\xa0\x80",
                                            /* C1 (U+0085), LS, PS, RLO, LRE, PDF, RLI, PDI */
                                            "a\xc2\x85", "a\xe2\x80\xa8", "a\xe2\x80\xa9",
                                            "evil\xe2\x80\xaetxt.exe", "\xe2\x80\xaax",
                                            "x\xe2\x80\xac", "\xe2\x81\xa7x", "x\xe2\x81\xa9",
                                            NULL};
    for (int i = 0; bad_names[i]; i++)
        CHECK_EQ_INT(str_rc("group.create", "name", bad_names[i], NULL), -NATTER_EBADREQ);
    CHECK_EQ_INT(str_rc("group.create", "name", "a b \xf0\x9f\x98\x80", NULL), 0);
    /* Right-to-left script, NBSP and the zero-width joiner of emoji sequences stay allowed. */
    CHECK_EQ_INT(str_rc("group.create", "name", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", NULL), 0);
    CHECK_EQ_INT(str_rc("group.create", "name", "a\xc2\xa0" "b", NULL), 0);
    CHECK_EQ_INT(str_rc("group.create", "name", "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb", NULL), 0);
    CHECK_EQ_INT(str_rc("profile.update", "name", "", NULL), -NATTER_EBADREQ);

    /* Bodies: 1..max_body code points; over it is too_large, counted in code points. */
    send_with_body(&b, "a", 4000);
    CHECK_EQ_INT(ws_len(b.p, b.len, &r), 0);
    CHECK(r.a.body && strlen(r.a.body) == 4000);
    proto_req_free(&r);
    send_with_body(&b, "a", 4001);
    CHECK_EQ_INT(ws_len(b.p, b.len, &r), -NATTER_ETOOLARGE);
    CHECK(r.has_id); /* too_large still answers the request */
    proto_req_free(&r);
    send_with_body(&b, "\xe2\x82\xac", 4000); /* 12000 bytes, 4000 code points */
    CHECK_EQ_INT(ws_len(b.p, b.len, &r), 0);
    proto_req_free(&r);
    send_with_body(&b, "\xe2\x82\xac", 4001);
    CHECK_EQ_INT(ws_len(b.p, b.len, &r), -NATTER_ETOOLARGE);
    proto_req_free(&r);
    send_with_body(&b, "\\ud83d\\ude00", 4000); /* escaped astral characters: 4 bytes each */
    CHECK_EQ_INT(ws_len(b.p, b.len, &r), 0);
    CHECK(r.a.body && strlen(r.a.body) == 16000);
    proto_req_free(&r);
    send_with_body(&b, "\\u00e9", 4001);
    CHECK_EQ_INT(ws_len(b.p, b.len, &r), -NATTER_ETOOLARGE);
    proto_req_free(&r);
    const char *body_extra = "\"room\":\"r_1\",\"cid\":\"c\",";
    CHECK_EQ_INT(str_rc("message.send", "body", "", body_extra), -NATTER_EBADREQ);
    CHECK_EQ_INT(str_rc("message.send", "body", "\\u0001", body_extra), -NATTER_EBADREQ);
    CHECK_EQ_INT(str_rc("message.send", "body", "bell\\u0007", body_extra), -NATTER_EBADREQ);
    CHECK_EQ_INT(str_rc("message.send", "body", "line\\r\\nnext\\ttab", body_extra), 0);
    CHECK_EQ_INT(str_rc("message.edit", "body", "\\u001b[31m", "\"room\":\"r_1\",\"msg\":\"m_1\","),
                 -NATTER_EBADREQ);

    /* Invalid UTF-8 in any string field. */
    static const char *const bad_utf8[] = {"\xff", "a\x80", "\xc3", "\xc3(", "\xe2\x82",
                                           "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
                                           "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", NULL};
    for (int i = 0; bad_utf8[i]; i++) {
        CHECK_EQ_INT(str_rc("message.send", "body", bad_utf8[i], body_extra), -NATTER_EBADREQ);
        CHECK_EQ_INT(str_rc("identify", "token", bad_utf8[i], NULL), -NATTER_EBADREQ);
        CHECK_EQ_INT(str_rc("auth.login", "email", bad_utf8[i], "\"password\":\"12345678\","),
                     -NATTER_EBADREQ);
    }
    /* Lone surrogates as escapes are malformed JSON. */
    CHECK_EQ_INT(str_rc("message.send", "body", "\\ud800", body_extra), -NATTER_EBADREQ);
    CHECK_EQ_INT(str_rc("message.send", "body", "\\udc00x", body_extra), -NATTER_EBADREQ);

    /* cid: 1..64 bytes of [A-Za-z0-9_-]. */
    const char *cid_extra = "\"room\":\"r_1\",\"body\":\"b\",";
    char cid[80];
    memset(cid, 'Z', 64);
    cid[64] = '\0';
    CHECK_EQ_INT(str_rc("message.send", "cid", cid, cid_extra), 0);
    strcat(cid, "9");
    CHECK_EQ_INT(str_rc("message.send", "cid", cid, cid_extra), -NATTER_EBADREQ);
    static const char *const bad_cid[] = {"", "a b", "a.b", "a/b", "\xc3\xa9", "a+b", "\\n", NULL};
    for (int i = 0; bad_cid[i]; i++)
        CHECK_EQ_INT(str_rc("message.send", "cid", bad_cid[i], cid_extra), -NATTER_EBADREQ);
    CHECK_EQ_INT(str_rc("message.send", "cid", "0_-aZ", cid_extra), 0);

    /* Emails: one @, a dot in the domain, no spaces or CR/LF, <= 254 bytes. */
    const char *em_extra = "\"password\":\"12345678\",";
    static const char *const bad_email[] = {
        "", "ada.example.org", "a@b@c.org", "ada@example", "ada @example.org", " ada@example.org",
        "ada@example.org ", "ada@exa mple.org", "ada@example.org\\r\\n", "ada\\n@example.org",
        "ada@example.org\\rBcc: x@y.z", "@example.org", "ada@.org", "ada@example.", "a\\tb@c.de",
        "<ada@example.org>", "ada@example.org,eve@example.org", NULL};
    for (int i = 0; bad_email[i]; i++) {
        int rc = str_rc("auth.login", "email", bad_email[i], em_extra);
        if (rc != -NATTER_EBADREQ)
            fprintf(stderr, "email '%s' accepted\n", bad_email[i]);
        CHECK_EQ_INT(rc, -NATTER_EBADREQ);
    }
    CHECK_EQ_INT(str_rc("auth.login", "email", "a@b.co", em_extra), 0);
    CHECK_EQ_INT(str_rc("member.add", "email", "x@y.z", "\"group\":\"g_1\","), 0);
    CHECK_EQ_INT(str_rc("member.add", "email", "x@y", "\"group\":\"g_1\","), -NATTER_EBADREQ);
    /* Length: at most 64 bytes before the @ (RFC 5321) and 254 in all, with a long domain. */
    char email[300];
    for (int len = 254; len <= 255; len++) {
        memset(email, 'a', sizeof email);
        email[1] = '@';
        for (int i = 40; i < len - 3; i += 40)
            email[i] = '.';
        memcpy(email + len - 3, ".io", 4);
        CHECK_EQ_INT(strlen(email), len);
        CHECK_EQ_INT(str_rc("auth.login", "email", email, em_extra), len == 254 ? 0 : -NATTER_EBADREQ);
    }
    memset(email, 'a', 65);
    memcpy(email + 65, "@test.io", 9);
    CHECK_EQ_INT(str_rc("auth.login", "email", email, em_extra), -NATTER_EBADREQ);
    email[64] = '\0';
    strcat(email, "@test.io");
    CHECK_EQ_INT(str_rc("auth.login", "email", email, em_extra), 0);
    static const char *const specials[] = {"user@(comment)example.test", "user@example.test:25",
                                           "us(er@example.test", "user@ex_ample.test", NULL};
    for (int i = 0; specials[i]; i++)
        CHECK_EQ_INT(str_rc("auth.login", "email", specials[i], em_extra), -NATTER_EBADREQ);

    /* Passwords: 1..1024 bytes here (login takes any length; sign-up's minimum of 8 is
     * api_auth.c's rule, since a496f77). */
    const char *pw_extra = "\"email\":\"a@b.co\",";
    char pw[1100];
    CHECK_EQ_INT(str_rc("auth.login", "password", "1", pw_extra), 0);
    CHECK_EQ_INT(str_rc("auth.login", "password", "12345678", pw_extra), 0);
    CHECK_EQ_INT(str_rc("auth.login", "password", "", pw_extra), -NATTER_EBADREQ);
    memset(pw, 'p', 1024);
    pw[1024] = '\0';
    CHECK_EQ_INT(str_rc("auth.login", "password", pw, pw_extra), 0);
    strcat(pw, "p");
    CHECK_EQ_INT(str_rc("auth.login", "password", pw, pw_extra), -NATTER_EBADREQ);
    CHECK_EQ_INT(str_rc("auth.signup", "password", "", "\"email\":\"a@b.co\",\"name\":\"A\","),
                 -NATTER_EBADREQ);
    sbuf_cleanup(&b);
}

/* A NUL in a JSON string, escaped (\u0000) or raw, would end the C string cJSON hands back:
 * every string must be refused rather than silently cut to the part before it. */
static void test_nul(void)
{
    struct proto_req r;
    int rc;

    rc = ws("{\"op\":\"message.send\",\"id\":\"1\",\"d\":{\"room\":\"r_1\",\"cid\":\"c\","
            "\"body\":\"pay 100\\u0000 to eve\"}}", &r);
    if (rc == 0)
        fprintf(stderr, "body with \\u0000 accepted as \"%s\"\n", r.a.body);
    CHECK_EQ_INT(rc, -NATTER_EBADREQ);
    proto_req_free(&r);
    rc = ws("{\"op\":\"ping\\u0000junk\",\"id\":\"1\"}", &r);
    CHECK_EQ_INT(rc, -NATTER_EBADREQ);
    proto_req_free(&r);
    CHECK_EQ_INT(str_rc("group.create", "name", "Admins\\u0000 (fake)", NULL), -NATTER_EBADREQ);
    CHECK_EQ_INT(
        str_rc("auth.login", "email", "ada@example.org\\u0000x", "\"password\":\"12345678\","),
        -NATTER_EBADREQ);
    CHECK_EQ_INT(str_rc("auth.login", "password", "12345678\\u0000", "\"email\":\"a@b.co\","),
                 -NATTER_EBADREQ);
    CHECK_EQ_INT(str_rc("room.delete", "room", "r_1\\u0000x", NULL), -NATTER_EBADREQ);
    CHECK_EQ_INT(str_rc("message.send", "cid", "c1\\u0000 x", "\"room\":\"r_1\",\"body\":\"b\","),
                 -NATTER_EBADREQ);
    rc = ws("{\"op\":\"ping\",\"id\":\"a\\u0000b\"}", &r);
    CHECK_EQ_INT(rc, -NATTER_EBADREQ);
    proto_req_free(&r);
    CHECK_EQ_INT(field_rc("resume", "rooms", "{\"r_1\\u0000x\":1}", "\"token\":\"t\","),
                 -NATTER_EBADREQ);
    /* An escaped backslash followed by the text u0000 is not a NUL: six plain characters. */
    rc = ws("{\"op\":\"message.send\",\"id\":\"1\",\"d\":{\"room\":\"r_1\",\"cid\":\"c\","
            "\"body\":\"C:\\\\u0000\"}}", &r);
    CHECK_EQ_INT(rc, 0);
    CHECK_STREQ(r.a.body, "C:\\u0000");
    proto_req_free(&r);

    /* A raw NUL byte inside a string (valid UTF-8, so net/'s check lets it through; invalid
     * JSON, since strings may not hold unescaped control characters) must not cut the string
     * either. */
    static const char body[] = "{\"op\":\"message.send\",\"id\":\"1\",\"d\":{\"room\":\"r_1\","
                               "\"cid\":\"c\",\"body\":\"pay 100\0 to eve\"}}";
    rc = ws_len(body, sizeof body - 1, &r);
    if (rc == 0)
        fprintf(stderr, "body with a raw NUL accepted as \"%s\"\n", r.a.body);
    CHECK_EQ_INT(rc, -NATTER_EBADREQ);
    proto_req_free(&r);
    static const char id[] = "{\"op\":\"ping\",\"id\":\"a\0b\"}";
    rc = ws_len(id, sizeof id - 1, &r);
    CHECK_EQ_INT(rc, -NATTER_EBADREQ);
    proto_req_free(&r);
    static const char op[] = "{\"op\":\"ping\0zzz\",\"id\":\"1\"}";
    rc = ws_len(op, sizeof op - 1, &r);
    CHECK_EQ_INT(rc, -NATTER_EBADREQ);
    proto_req_free(&r);
    static const char rest_body[] = "{\"room\":\"r_1\0x\",\"seq\":1}";
    err[0] = '\0';
    CHECK_EQ_INT(proto_decode_rest("room.read", rest_body, sizeof rest_body - 1, &r, err),
                 -NATTER_EBADREQ);
    proto_req_free(&r);
}

/* Issue 4's ops and fields: invite and token ids, codes, the admin lists and flags; admin.*
 * is REST only. */
static void test_issue4_fields(void)
{
    struct proto_req r;
    struct sbuf b;

    CHECK_EQ_INT(ws("{\"op\":\"invite.revoke\",\"id\":\"1\",\"d\":{\"invite\":\"i_5\"}}", &r), 0);
    CHECK(r.op && r.op->id == OP_INVITE_REVOKE);
    CHECK_EQ_INT(r.a.invite, 5);
    proto_req_free(&r);
    CHECK_EQ_INT(str_rc("invite.revoke", "invite", "g_5", NULL), -NATTER_EBADREQ);
    CHECK_EQ_INT(str_rc("invite.revoke", "invite", "i_0", NULL), -NATTER_EBADREQ);
    CHECK_EQ_INT(ws("{\"op\":\"invite.accept\",\"id\":\"1\",\"d\":{\"code\":\"abc-_DEF\"}}", &r),
                 0);
    CHECK_STREQ(r.a.code, "abc-_DEF");
    CHECK(!proto_has(&r, A_INVITE));
    proto_req_free(&r);
    CHECK_EQ_INT(str_rc("invite.accept", "code", "", NULL), -NATTER_EBADREQ);
    CHECK_EQ_INT(str_rc("invite.accept", "code", "a\\nb", NULL), -NATTER_EBADREQ);
    CHECK_EQ_INT(ws("{\"op\":\"auth.login\",\"id\":\"1\",\"d\":{\"email\":\"a@b.co\","
                    "\"password\":\"x\",\"audience\":\"admin\"}}", &r), 0);
    CHECK_STREQ(r.a.audience, "admin");
    proto_req_free(&r);
    CHECK_EQ_INT(str_rc("auth.signup", "invite_code", "c0de",
                        "\"email\":\"a@b.co\",\"name\":\"A\",\"password\":\"12345678\","), 0);

    /* admin.* over REST only: over WS the op is unknown. */
    CHECK_EQ_INT(ws_rc("{\"op\":\"admin.groups.list\",\"id\":\"1\"}"), -NATTER_EBADREQ);
    CHECK_EQ_INT(rest("admin.groups.list", "", &r), 0);
    CHECK(r.op && (r.op->flags & OPF_ADMIN));
    proto_req_free(&r);
    CHECK_EQ_INT(rest("admin.users.disable", "{\"user\":\"u_4\",\"disabled\":false}", &r), 0);
    CHECK(proto_has(&r, A_DISABLED) && !r.a.disabled && r.a.user == 4);
    proto_req_free(&r);
    CHECK_EQ_INT(rest("admin.users.disable", "{\"user\":\"u_4\",\"disabled\":true}", &r), 0);
    CHECK(r.a.disabled);
    proto_req_free(&r);
    CHECK_EQ_INT(rest_rc("admin.users.disable", "{\"user\":\"u_4\",\"disabled\":1}"),
                 -NATTER_EBADREQ);
    CHECK_EQ_INT(rest_rc("admin.users.disable", "{\"user\":\"u_4\",\"disabled\":\"true\"}"),
                 -NATTER_EBADREQ);
    CHECK_EQ_INT(rest("admin.bots.token.revoke", "{\"token_id\":\"t_3\"}", &r), 0);
    CHECK_EQ_INT(r.a.token_id, 3);
    proto_req_free(&r);
    CHECK_EQ_INT(rest_rc("admin.bots.token.revoke", "{\"token_id\":\"u_3\"}"), -NATTER_EBADREQ);

    /* groups: an array of group ids. */
    CHECK_EQ_INT(rest("admin.bots.create", "{\"name\":\"roll\",\"groups\":[\"g_1\",\"g_22\"]}", &r),
                 0);
    CHECK_EQ_INT(cJSON_GetArraySize(r.a.groups), 2);
    proto_req_free(&r);
    CHECK_EQ_INT(rest_rc("admin.bots.create", "{\"name\":\"roll\",\"groups\":[]}"), 0);
    static const char *const bad_groups[] = {"\"g_1\"", "[\"r_1\"]", "[1]", "[\"g_0\"]",
                                             "[\"g_1\",null]", "{}", NULL};
    for (int i = 0; bad_groups[i]; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"name\":\"roll\",\"groups\":%s}", bad_groups[i]);
        CHECK_EQ_INT(rest_rc("admin.bots.create", body), -NATTER_EBADREQ);
    }

    /* emails: 1..invite_bulk_max valid addresses. */
    CHECK_EQ_INT(
        rest("admin.invites.send", "{\"group\":\"g_1\",\"emails\":[\"a@b.co\",\"c@d.io\"]}", &r),
        0);
    CHECK_EQ_INT(cJSON_GetArraySize(r.a.emails), 2);
    proto_req_free(&r);
    static const char *const bad_emails[] = {"[]", "\"a@b.co\"", "[\"a@b.co\",\"nope\"]", "[5]",
                                             "[\"a b@c.de\"]", "[\"a@b.co\",[]]", NULL};
    for (int i = 0; bad_emails[i]; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"group\":\"g_1\",\"emails\":%s}", bad_emails[i]);
        CHECK_EQ_INT(rest_rc("admin.invites.send", body), -NATTER_EBADREQ);
    }
    sbuf_init(&b);
    sbuf_adds(&b, "{\"group\":\"g_1\",\"emails\":[");
    for (int i = 0; i < 500; i++)
        sbuf_printf(&b, "%s\"u%d@example.org\"", i ? "," : "", i);
    sbuf_adds(&b, "]}");
    CHECK_EQ_INT(rest_rc("admin.invites.send", b.p), 0);
    b.len -= 2;
    sbuf_adds(&b, ",\"u500@example.org\"]}");
    CHECK_EQ_INT(rest_rc("admin.invites.send", b.p), -NATTER_ETOOLARGE);
    sbuf_cleanup(&b);
    /* A REST body is not UTF-8-checked by net/: each address must be valid UTF-8, as the single
     * email field's is. */
    CHECK_EQ_INT(rest_rc("invite.create", "{\"group\":\"g_1\",\"email\":\"\xff\xfe@example.org\"}"),
                 -NATTER_EBADREQ);
    CHECK_EQ_INT(
        rest_rc("admin.invites.send", "{\"group\":\"g_1\",\"emails\":[\"\xff\xfe@example.org\"]}"),
        -NATTER_EBADREQ);
    CHECK_EQ_INT(
        rest_rc("admin.invites.send", "{\"group\":\"g_1\",\"emails\":[\"\xc3@example.org\"]}"),
        -NATTER_EBADREQ);
}

static void test_rooms_map(void)
{
    const char *extra = "\"token\":\"t\",";
    struct sbuf b;

    CHECK_EQ_INT(field_rc("resume", "rooms", "{}", extra), 0);
    CHECK_EQ_INT(field_rc("resume", "rooms", "{\"r_1\":42,\"r_99\":9007199254740991}", extra), 0);
    static const char *const bad[] = {
        "[]", "\"r_1\"", "1", "[{\"r_1\":1}]", "{\"r_0\":1}", "{\"g_1\":1}", "{\"1\":1}",
        "{\"r_01\":1}", "{\"r_1\":-1}", "{\"r_1\":1.5}", "{\"r_1\":\"3\"}", "{\"r_1\":null}",
        "{\"r_1\":true}", "{\"r_1\":{}}", "{\"r_1\":9007199254740992}", "{\"r_1\":1e400}",
        "{\"r_1\":1,\"bad\":2}", NULL};
    for (int i = 0; bad[i]; i++) {
        int rc = field_rc("resume", "rooms", bad[i], extra);
        if (rc != -NATTER_EBADREQ)
            fprintf(stderr, "rooms %s accepted\n", bad[i]);
        CHECK_EQ_INT(rc, -NATTER_EBADREQ);
    }
    /* At most 10000 rooms. */
    sbuf_init(&b);
    sbuf_adds(&b, "{");
    for (int i = 1; i <= 10000; i++)
        sbuf_printf(&b, "%s\"r_%d\":%d", i > 1 ? "," : "", i, i);
    sbuf_adds(&b, "}");
    CHECK_EQ_INT(field_rc("resume", "rooms", b.p, extra), 0);
    b.len--;
    sbuf_adds(&b, ",\"r_10001\":1}");
    CHECK_EQ_INT(field_rc("resume", "rooms", b.p, extra), -NATTER_ETOOLARGE);
    sbuf_cleanup(&b);
    /* Missing token. */
    CHECK_EQ_INT(field_rc("resume", "rooms", "{}", NULL), -NATTER_EBADREQ);
    CHECK_EQ_INT(field_rc("resume", "epoch", "5", extra), -NATTER_EBADREQ);
}

/* ---- proto_utf8_count ---- */

static long u8(const char *s) { return proto_utf8_count(s, strlen(s)); }

static void test_utf8(void)
{
    CHECK_EQ_INT(proto_utf8_count("", 0), 0);
    CHECK_EQ_INT(u8("abc"), 3);
    CHECK_EQ_INT(proto_utf8_count("a\0b", 3), 3); /* NUL is a code point; len rules */
    CHECK_EQ_INT(u8("\xc2\x80"), 1);             /* U+0080, smallest 2-byte */
    CHECK_EQ_INT(u8("\xdf\xbf"), 1);             /* U+07FF */
    CHECK_EQ_INT(u8("\xe0\xa0\x80"), 1);         /* U+0800, smallest 3-byte */
    CHECK_EQ_INT(u8("\xed\x9f\xbf"), 1);         /* U+D7FF, just below the surrogates */
    CHECK_EQ_INT(u8("\xee\x80\x80"), 1);         /* U+E000, just above */
    CHECK_EQ_INT(u8("\xef\xbf\xbf"), 1);         /* U+FFFF */
    CHECK_EQ_INT(u8("\xf0\x90\x80\x80"), 1);     /* U+10000, smallest 4-byte */
    CHECK_EQ_INT(u8("\xf4\x8f\xbf\xbf"), 1);     /* U+10FFFF, the last code point */
    CHECK_EQ_INT(u8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"), 9);
    /* Overlong encodings. */
    CHECK_EQ_INT(u8("\xc0\x80"), -1);
    CHECK_EQ_INT(u8("\xc0\xaf"), -1);
    CHECK_EQ_INT(u8("\xc1\xbf"), -1);
    CHECK_EQ_INT(u8("\xe0\x80\x80"), -1);
    CHECK_EQ_INT(u8("\xe0\x9f\xbf"), -1);
    CHECK_EQ_INT(u8("\xf0\x80\x80\x80"), -1);
    CHECK_EQ_INT(u8("\xf0\x8f\xbf\xbf"), -1);
    /* Surrogates. */
    CHECK_EQ_INT(u8("\xed\xa0\x80"), -1); /* U+D800 */
    CHECK_EQ_INT(u8("\xed\xbf\xbf"), -1); /* U+DFFF */
    CHECK_EQ_INT(u8("\xed\xa0\xbd\xed\xb8\x80"), -1); /* CESU-8 pair */
    /* Beyond U+10FFFF and impossible lead bytes. */
    CHECK_EQ_INT(u8("\xf4\x90\x80\x80"), -1);
    CHECK_EQ_INT(u8("\xf5\x80\x80\x80"), -1);
    CHECK_EQ_INT(u8("\xf7\xbf\xbf\xbf"), -1);
    CHECK_EQ_INT(u8("\xf8\x88\x80\x80\x80"), -1);
    CHECK_EQ_INT(u8("\xfc\x84\x80\x80\x80\x80"), -1);
    CHECK_EQ_INT(u8("\xfe"), -1);
    CHECK_EQ_INT(u8("\xff"), -1);
    /* Truncated sequences, at the end and in the middle; stray continuation bytes. */
    CHECK_EQ_INT(u8("\xc3"), -1);
    CHECK_EQ_INT(u8("\xe2\x82"), -1);
    CHECK_EQ_INT(u8("\xf0\x9f\x98"), -1);
    CHECK_EQ_INT(u8("\xe2\x82" "a"), -1);
    CHECK_EQ_INT(u8("a\x80"), -1);
    CHECK_EQ_INT(u8("\xbf"), -1);
    CHECK_EQ_INT(u8("\xc3\xa9\xa9"), -1);
    /* len is respected: a valid sequence cut by len is invalid, a tail past len is ignored. */
    CHECK_EQ_INT(proto_utf8_count("\xe2\x82\xac", 2), -1);
    CHECK_EQ_INT(proto_utf8_count("ab\xff", 2), 2);
}

/* ---- encoders ---- */

static cJSON *parsed(struct sbuf *b)
{
    cJSON *j = cJSON_ParseWithLength(b->p, b->len);
    CHECK(j != NULL);
    if (!j)
        fprintf(stderr, "not JSON: %s\n", sbuf_str(b));
    return j;
}

static const char *jstr(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -12345;
}

static void test_reply_ok(void)
{
    struct sbuf b;
    cJSON *res = cJSON_CreateObject(), *j;

    cJSON_AddNumberToObject(res, "seq", 42);
    cJSON_AddStringToObject(res, "msg", "m_9");
    sbuf_init(&b);
    proto_reply_ok(&b, false, "7", res);
    CHECK_STREQ(sbuf_str(&b), "{\"op\":\"ok\",\"re\":\"7\",\"d\":{\"seq\":42,\"msg\":\"m_9\"}}");
    sbuf_reset(&b);
    proto_reply_ok(&b, false, "q\"uo\\te", NULL);
    if ((j = parsed(&b))) {
        CHECK_STREQ(jstr(j, "op"), "ok");
        CHECK_STREQ(jstr(j, "re"), "q\"uo\\te");
        CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "d")));
        CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "d")), 0);
        cJSON_Delete(j);
    }
    /* REST: the result's fields are spliced next to "ok". */
    sbuf_reset(&b);
    proto_reply_ok(&b, true, NULL, res);
    CHECK_STREQ(sbuf_str(&b), "{\"ok\":true,\"seq\":42,\"msg\":\"m_9\"}");
    sbuf_reset(&b);
    proto_reply_ok(&b, true, "ignored", NULL);
    CHECK_STREQ(sbuf_str(&b), "{\"ok\":true}");
    sbuf_reset(&b);
    cJSON *odd = cJSON_CreateObject();
    cJSON_AddItemToObject(odd, "k\"ey", cJSON_CreateString("v\n"));
    cJSON_AddItemToObject(odd, "list", cJSON_CreateArray());
    proto_reply_ok(&b, true, NULL, odd);
    if ((j = parsed(&b))) {
        CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "ok")));
        CHECK_STREQ(jstr(j, "k\"ey"), "v\n");
        CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "list")));
        cJSON_Delete(j);
    }
    cJSON_Delete(odd);
    cJSON_Delete(res);
    sbuf_cleanup(&b);
}

/* message.send's hand-built ack is byte for byte what the cJSON path makes. */
static void test_reply_sent(void)
{
    struct sbuf want, got;
    char t[32];
    static const int64_t v[][4] = {{1, 1, 1, 0}, {12, 42, 77, 1795000000123LL},
                                   {9007199254740991LL, 123456789012LL, 5, 951782400000LL}};
    sbuf_init(&want);
    sbuf_init(&got);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        cJSON *res = cJSON_CreateObject();
        proto_add_id(res, "room", 'r', v[i][0]);
        cJSON_AddNumberToObject(res, "seq", (double)v[i][1]);
        proto_add_id(res, "msg", 'm', v[i][2]);
        cJSON_AddStringToObject(res, "ts", proto_ts(t, v[i][3]));
        for (int rest = 0; rest < 2; rest++) {
            sbuf_reset(&want);
            sbuf_reset(&got);
            proto_reply_ok(&want, rest, "a\"b", res);
            proto_reply_sent(&got, rest, "a\"b", v[i][0], v[i][1], v[i][2], v[i][3]);
            CHECK_STREQ(sbuf_str(&got), sbuf_str(&want));
        }
        cJSON_Delete(res);
    }
    sbuf_cleanup(&want);
    sbuf_cleanup(&got);
}

/* The hand-made calendar agrees with the C library's across its whole range. */
static void test_ts_matches_libc(void)
{
    char got[32], want[32];
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        int64_t ms = (int64_t)(x % 253402300800000ULL);
        if (i < 4)
            ms = (int64_t[]){0, 253402300799999LL, 68169600000LL, 4107542399999LL}[i];
        time_t s = (time_t)(ms / 1000);
        struct tm tm;
        gmtime_r(&s, &tm);
        size_t n = strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(want + n, sizeof want - n, ".%03dZ", (int)(ms % 1000));
        if (strcmp(proto_ts(got, ms), want)) {
            CHECK_STREQ(got, want);
            break;
        }
    }
}

static void test_reply_err(void)
{
    struct sbuf b;
    cJSON *j, *d;

    sbuf_init(&b);
    proto_reply_err(&b, false, "9", -NATTER_ERATE, "slow \"down\"\n", 1500);
    if ((j = parsed(&b))) {
        CHECK_STREQ(jstr(j, "op"), "error");
        CHECK_STREQ(jstr(j, "re"), "9");
        d = cJSON_GetObjectItemCaseSensitive(j, "d");
        CHECK_STREQ(jstr(d, "code"), "rate_limited");
        CHECK_STREQ(jstr(d, "message"), "slow \"down\"\n");
        CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "temporary")));
        CHECK_EQ_INT(jnum(d, "retry_after_ms"), 1500);
        CHECK_EQ_INT(cJSON_GetArraySize(d), 4);
        cJSON_Delete(j);
    }
    /* No re when the id was unreadable; no retry_after_ms unless > 0. */
    sbuf_reset(&b);
    proto_reply_err(&b, false, NULL, -NATTER_EBADREQ, "malformed JSON", 0);
    CHECK_STREQ(sbuf_str(&b), "{\"op\":\"error\",\"d\":{\"code\":\"bad_request\",\"message\":"
                              "\"malformed JSON\",\"temporary\":false}}");
    /* REST envelope. */
    sbuf_reset(&b);
    proto_reply_err(&b, true, "ignored", -NATTER_ENOTFOUND, "no such room", 0);
    CHECK_STREQ(sbuf_str(&b), "{\"ok\":false,\"error\":{\"code\":\"not_found\",\"message\":"
                              "\"no such room\",\"temporary\":false}}");
    sbuf_reset(&b);
    proto_reply_err(&b, true, NULL, -NATTER_EUNAVAIL, "busy", 250);
    if ((j = parsed(&b))) {
        CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "ok")));
        d = cJSON_GetObjectItemCaseSensitive(j, "error");
        CHECK_STREQ(jstr(d, "code"), "unavailable");
        CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "temporary")));
        CHECK_EQ_INT(jnum(d, "retry_after_ms"), 250);
        cJSON_Delete(j);
    }
    /* Every code by name. */
    static const struct {
        int e;
        const char *code;
    } codes[] = {{NATTER_EUNAUTH, "unauthorized"}, {NATTER_EFORBID, "forbidden"},
                 {NATTER_ECONFLICT, "conflict"},   {NATTER_ETOOLARGE, "too_large"},
                 {NATTER_EINTERNAL, "internal"},   {NATTER_ENOMEM, "internal"}};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        sbuf_reset(&b);
        proto_reply_err(&b, false, "1", -codes[i].e, "m", 0);
        if ((j = parsed(&b))) {
            CHECK_STREQ(jstr(cJSON_GetObjectItemCaseSensitive(j, "d"), "code"), codes[i].code);
            cJSON_Delete(j);
        }
    }
    sbuf_cleanup(&b);
}

static void test_events(void)
{
    struct sbuf b;
    cJSON *j, *d, *m;
    char buf[32];

    CHECK_STREQ(proto_ts(buf, 0), "1970-01-01T00:00:00.000Z");
    CHECK_STREQ(proto_ts(buf, 1795000000123LL), "2026-11-18T11:06:40.123Z");
    CHECK_STREQ(proto_ts(buf, 1795000000005LL), "2026-11-18T11:06:40.005Z");
    CHECK_STREQ(proto_ts(buf, 951782399999LL), "2000-02-28T23:59:59.999Z");
    CHECK_STREQ(proto_ts(buf, 951782400000LL), "2000-02-29T00:00:00.000Z");
    CHECK_STREQ(proto_ts(buf, 4102444800000LL), "2100-01-01T00:00:00.000Z");
    CHECK_STREQ(proto_id(buf, 'r', 12), "r_12");
    CHECK_STREQ(proto_id(buf, 'u', 999999999999999999LL), "u_999999999999999999");

    sbuf_init(&b);
    const char *body = "hi \"there\"\n\\ \x01 \xc3\xa9 \xf0\x9f\x98\x80";
    proto_msg_created(&b, 12, 42, 1795000000123LL, 3, 77, "c-1", body);
    if ((j = parsed(&b))) {
        CHECK_STREQ(jstr(j, "op"), "message.created");
        CHECK_EQ_INT(cJSON_GetArraySize(j), 2);
        d = cJSON_GetObjectItemCaseSensitive(j, "d");
        CHECK_STREQ(jstr(d, "room"), "r_12");
        CHECK_EQ_INT(jnum(d, "seq"), 42);
        CHECK_STREQ(jstr(d, "ts"), "2026-11-18T11:06:40.123Z");
        CHECK_STREQ(jstr(d, "actor"), "u_3");
        CHECK_EQ_INT(cJSON_GetArraySize(d), 5);
        m = cJSON_GetObjectItemCaseSensitive(d, "msg");
        CHECK_STREQ(jstr(m, "id"), "m_77");
        CHECK_STREQ(jstr(m, "cid"), "c-1");
        CHECK_STREQ(jstr(m, "body"), body);
        CHECK_EQ_INT(cJSON_GetArraySize(m), 3);
        cJSON_Delete(j);
    }

    sbuf_reset(&b);
    proto_pong(&b, "4");
    CHECK_STREQ(sbuf_str(&b), "{\"op\":\"pong\",\"re\":\"4\"}");

    sbuf_reset(&b);
    d = cJSON_CreateObject();
    proto_add_id(d, "group", 'g', 5);
    proto_add_ts(d, "ts", 1000);
    cJSON_AddStringToObject(d, "name", "n\"ew");
    proto_event(&b, "group.renamed", d);
    cJSON_Delete(d);
    if ((j = parsed(&b))) {
        CHECK_STREQ(jstr(j, "op"), "group.renamed");
        d = cJSON_GetObjectItemCaseSensitive(j, "d");
        CHECK_STREQ(jstr(d, "group"), "g_5");
        CHECK_STREQ(jstr(d, "ts"), "1970-01-01T00:00:01.000Z");
        CHECK_STREQ(jstr(d, "name"), "n\"ew");
        CHECK(cJSON_GetObjectItemCaseSensitive(j, "re") == NULL);
        cJSON_Delete(j);
    }

    /* hello: proto, server, heartbeat, epoch and every limit at its current value. */
    sbuf_reset(&b);
    proto_hello(&b, "0123abcd");
    if ((j = parsed(&b))) {
        CHECK_STREQ(jstr(j, "op"), "hello");
        d = cJSON_GetObjectItemCaseSensitive(j, "d");
        CHECK_EQ_INT(jnum(d, "proto"), 1);
        CHECK(jstr(d, "server") && strncmp(jstr(d, "server"), "natter/", 7) == 0);
        CHECK_EQ_INT(jnum(d, "heartbeat_ms"), 30000);
        CHECK_STREQ(jstr(d, "epoch"), "0123abcd");
        m = cJSON_GetObjectItemCaseSensitive(d, "limits");
        CHECK_EQ_INT(cJSON_GetArraySize(m), LIM__COUNT);
        for (int i = 0; i < LIM__COUNT; i++) {
            if (jnum(m, cfg_limit_name(i)) != (double)cfg.limits[i])
                fprintf(stderr, "hello limit %s missing or wrong\n", cfg_limit_name(i));
            CHECK_EQ_INT(jnum(m, cfg_limit_name(i)), cfg.limits[i]);
        }
        /* The contract's list, by name. */
        static const char *const names[] = {"max_frame", "max_body", "send_per_s", "send_burst",
            "resume_cap", "history_max", "queue_soft", "queue_hard", "conns_per_user",
            "identify_per_s", "identify_burst", "auth_timeout_ms", "max_http_body",
            "group_members", "typing_per_s", "malformed_burst", "max_name", "max_cid", NULL};
        for (int i = 0; names[i]; i++)
            CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(m, names[i])));
        cJSON_Delete(j);
    }
    sbuf_cleanup(&b);
}

/* Limits come from cfg: a lower max_body and history_max take effect at once. */
static void test_limits_follow_cfg(void)
{
    char cerr[NATTER_ERR_LEN];
    struct sbuf b;

    CHECK_EQ_INT(cfg_parse(3, (char *[]){"natter", "--limit", "max_body=5,history_max=7,max_name=3",
                                         NULL}, cerr), 0);
    sbuf_init(&b);
    send_with_body(&b, "\xc3\xa9", 5);
    CHECK_EQ_INT(ws_rc(b.p), 0);
    send_with_body(&b, "\xc3\xa9", 6);
    CHECK_EQ_INT(ws_rc(b.p), -NATTER_ETOOLARGE);
    CHECK_EQ_INT(field_rc("room.history", "limit", "7", "\"room\":\"r_1\","), 0);
    CHECK_EQ_INT(field_rc("room.history", "limit", "8", "\"room\":\"r_1\","), -NATTER_EBADREQ);
    CHECK_EQ_INT(str_rc("group.create", "name", "abc", NULL), 0);
    CHECK_EQ_INT(str_rc("group.create", "name", "abcd", NULL), -NATTER_EBADREQ);
    sbuf_reset(&b);
    proto_hello(&b, "e");
    CHECK(strstr(sbuf_str(&b), "\"max_body\":5,") != NULL);
    sbuf_cleanup(&b);
    CHECK_EQ_INT(cfg_parse(1, (char *[]){"natter", NULL}, cerr), 0);
}

int main(void)
{
    char cerr[NATTER_ERR_LEN];

    CHECK_EQ_INT(cfg_parse(1, (char *[]){"natter", NULL}, cerr), 0);
    test_valid_ws();
    test_valid_rest();
    test_frame_shape();
    test_types_and_ids();
    test_strings();
    test_nul();
    test_issue4_fields();
    test_rooms_map();
    test_utf8();
    test_reply_ok();
    test_reply_sent();
    test_ts_matches_libc();
    test_reply_err();
    test_events();
    test_limits_follow_cfg();
    CHECK_MAIN_END();
}
