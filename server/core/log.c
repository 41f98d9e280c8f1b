/* log: formats a timestamped line and writes it with one write(2), so lines from
 * different threads never interleave. */
#include "core/log.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum log_level log_level_now = LOG_LVL_INFO;

static const char *const names[] = {"error", "warn", "notice", "info", "debug"};

int log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i <= LOG_LVL_DEBUG; i++) {
        if (!strcmp(s, names[i])) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_emit(enum log_level lvl, const char *fmt, ...)
{
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, names[lvl]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

const char *err_code(int err)
{
    switch (err < 0 ? -err : err) {
    case NATTER_EBADREQ: return "bad_request";
    case NATTER_EUNAUTH: return "unauthorized";
    case NATTER_EFORBID: return "forbidden";
    case NATTER_ENOTFOUND: return "not_found";
    case NATTER_ECONFLICT: return "conflict";
    case NATTER_ETOOLARGE: return "too_large";
    case NATTER_ERATE: return "rate_limited";
    case NATTER_EUNAVAIL: return "unavailable";
    default: return "internal";
    }
}

int err_http_status(int err)
{
    static const int status[] = {200, 400, 401, 403, 404, 409, 413, 429, 500, 503, 500};
    err = err < 0 ? -err : err;
    return err <= NATTER_ENOMEM ? status[err] : 500;
}

int err_is_temporary(int err)
{
    err = err < 0 ? -err : err;
    return err == NATTER_ERATE || err == NATTER_EINTERNAL || err == NATTER_EUNAVAIL ||
           err == NATTER_ENOMEM;
}
