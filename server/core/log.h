/* log: one line per event, logfmt-ish, to stderr. Levels are checked before formatting.
 * Never pass secrets (tokens, passwords) or message bodies above DEBUG. Thread-safe. */
#ifndef NATTER_LOG_H
#define NATTER_LOG_H

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_NOTICE, LOG_LVL_INFO, LOG_LVL_DEBUG };

extern enum log_level log_level_now;

/* Parses "error|warn|notice|info|debug"; returns 0 or -1. */
int log_level_parse(const char *s, enum log_level *out);
void log_emit(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_AT(l, ...) do { if ((l) <= log_level_now) log_emit((l), __VA_ARGS__); } while (0)
#define LOG_ERR(...) LOG_AT(LOG_LVL_ERR, __VA_ARGS__)
#define LOG_WARN(...) LOG_AT(LOG_LVL_WARN, __VA_ARGS__)
#define LOG_NOTICE(...) LOG_AT(LOG_LVL_NOTICE, __VA_ARGS__)
#define LOG_INFO(...) LOG_AT(LOG_LVL_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) LOG_AT(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
