/* cfg: defaults < NATTER_* environment < command-line flags. */
#include "core/cfg.h"
#include "core/log.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cfg cfg;

static const struct {
    const char *name, *doc;
    int64_t def;
} limit_info[] = {
#define X(id, name, def, doc) {name, doc, def},
    NATTER_LIMITS(X)
#undef X
};

const char *cfg_limit_name(int i) { return limit_info[i].name; }
const char *cfg_limit_doc(int i) { return limit_info[i].doc; }
int64_t cfg_limit_default(int i) { return limit_info[i].def; }

static int copy(char *dst, size_t cap, const char *src, const char *what, char *err)
{
    if (strlen(src) >= cap) {
        snprintf(err, NATTER_ERR_LEN, "%s is too long", what);
        return -1;
    }
    strcpy(dst, src);
    return 0;
}

static int set_listen(const char *v, char *err)
{
    const char *colon = strrchr(v, ':');
    char *end;
    if (!colon || colon == v || (size_t)(colon - v) >= sizeof cfg.listen_host)
        goto bad;
    long port = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port < 0 || port > 65535)
        goto bad;
    memcpy(cfg.listen_host, v, (size_t)(colon - v));
    cfg.listen_host[colon - v] = '\0';
    cfg.listen_port = (int)port;
    return 0;
bad:
    snprintf(err, NATTER_ERR_LEN, "--listen wants HOST:PORT, got '%s'", v);
    return -1;
}

static int set_cost(const char *v, char *err)
{
    static const char *const costs[] = {"interactive", "moderate", "min"};
    for (int i = 0; i < 3; i++) {
        if (!strcmp(v, costs[i])) {
            cfg.pw_cost = i;
            return 0;
        }
    }
    snprintf(err, NATTER_ERR_LEN, "--password-cost wants interactive|moderate|min, got '%s'", v);
    return -1;
}

int cfg_set_limits(const char *list, char err[NATTER_ERR_LEN])
{
    char buf[2048];
    if (copy(buf, sizeof buf, list, "limit list", err))
        return -1;
    for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '='), *end;
        if (!eq) {
            snprintf(err, NATTER_ERR_LEN, "limit '%s' wants NAME=VALUE", kv);
            return -1;
        }
        *eq = '\0';
        errno = 0;
        long long v = strtoll(eq + 1, &end, 10);
        if (errno || *end || end == eq + 1 || v < 0) {
            snprintf(err, NATTER_ERR_LEN, "limit %s: '%s' is not a whole number >= 0", kv, eq + 1);
            return -1;
        }
        int i = 0;
        while (i < LIM__COUNT && strcmp(limit_info[i].name, kv))
            i++;
        if (i == LIM__COUNT) {
            snprintf(err, NATTER_ERR_LEN, "unknown limit '%s' (see --help)", kv);
            return -1;
        }
        cfg.limits[i] = v;
    }
    return 0;
}

enum { O_LISTEN = 256, O_DATA, O_WEB, O_PUBLIC, O_ORIGINS, O_PROXY, O_LOG, O_CERT, O_KEY,
       O_COST, O_LIMIT, O_SMTP_URL, O_SMTP_FROM, O_SMTP_USER, O_SMTP_PASS, O_SMTP_CA,
       O_TW_URL, O_TW_SID, O_TW_KEY, O_TW_SECRET, O_SMTP_PLAIN, O_HELP, O_VERSION };

static const struct option opts[] = {
    {"listen", required_argument, NULL, O_LISTEN},
    {"data-dir", required_argument, NULL, O_DATA},
    {"web-root", required_argument, NULL, O_WEB},
    {"public-url", required_argument, NULL, O_PUBLIC},
    {"allowed-origins", required_argument, NULL, O_ORIGINS},
    {"trust-proxy", required_argument, NULL, O_PROXY},
    {"log-level", required_argument, NULL, O_LOG},
    {"tls-cert", required_argument, NULL, O_CERT},
    {"tls-key", required_argument, NULL, O_KEY},
    {"password-cost", required_argument, NULL, O_COST},
    {"limit", required_argument, NULL, O_LIMIT},
    {"smtp-url", required_argument, NULL, O_SMTP_URL},
    {"smtp-from", required_argument, NULL, O_SMTP_FROM},
    {"smtp-user", required_argument, NULL, O_SMTP_USER},
    {"smtp-password", required_argument, NULL, O_SMTP_PASS},
    {"smtp-ca-file", required_argument, NULL, O_SMTP_CA},
    {"twilio-base-url", required_argument, NULL, O_TW_URL},
    {"twilio-account-sid", required_argument, NULL, O_TW_SID},
    {"twilio-api-key", required_argument, NULL, O_TW_KEY},
    {"twilio-api-secret", required_argument, NULL, O_TW_SECRET},
    {"smtp-plain", no_argument, NULL, O_SMTP_PLAIN},
    {"help", no_argument, NULL, O_HELP},
    {"version", no_argument, NULL, O_VERSION},
    {NULL, 0, NULL, 0},
};

/* The environment variable of each flag that takes one, in opts[] order. */
static const char *const envs[] = {"NATTER_LISTEN", "NATTER_DATA_DIR", "NATTER_WEB_ROOT",
    "NATTER_PUBLIC_URL", "NATTER_ALLOWED_ORIGINS", "NATTER_TRUST_PROXY", "NATTER_LOG_LEVEL",
    "NATTER_TLS_CERT", "NATTER_TLS_KEY", "NATTER_PASSWORD_COST", "NATTER_LIMITS",
    "NATTER_SMTP_URL", "NATTER_SMTP_FROM", "NATTER_SMTP_USER", "NATTER_SMTP_PASSWORD",
    "NATTER_SMTP_CA_FILE", "NATTER_TWILIO_BASE_URL", "NATTER_TWILIO_ACCOUNT_SID",
    "NATTER_TWILIO_API_KEY", "NATTER_TWILIO_API_SECRET", "NATTER_SMTP_PLAIN"};

static int apply(int o, const char *v, char *err)
{
    enum log_level lvl;
    switch (o) {
    case O_LISTEN: return set_listen(v, err);
    case O_DATA: return copy(cfg.data_dir, sizeof cfg.data_dir, v, "--data-dir", err);
    case O_WEB: return copy(cfg.web_root, sizeof cfg.web_root, v, "--web-root", err);
    case O_PUBLIC: return copy(cfg.public_url, sizeof cfg.public_url, v, "--public-url", err);
    case O_ORIGINS:
        return copy(cfg.allowed_origins, sizeof cfg.allowed_origins, v, "--allowed-origins", err);
    case O_PROXY: return copy(cfg.trust_proxy, sizeof cfg.trust_proxy, v, "--trust-proxy", err);
    case O_LOG:
        if (log_level_parse(v, &lvl)) {
            snprintf(err, NATTER_ERR_LEN, "--log-level wants error|warn|notice|info|debug");
            return -1;
        }
        log_level_now = lvl;
        return 0;
    case O_CERT: return copy(cfg.tls_cert, sizeof cfg.tls_cert, v, "--tls-cert", err);
    case O_KEY: return copy(cfg.tls_key, sizeof cfg.tls_key, v, "--tls-key", err);
    case O_COST: return set_cost(v, err);
    case O_LIMIT: return cfg_set_limits(v, err);
    case O_SMTP_URL: return copy(cfg.smtp_url, sizeof cfg.smtp_url, v, "--smtp-url", err);
    case O_SMTP_FROM: return copy(cfg.smtp_from, sizeof cfg.smtp_from, v, "--smtp-from", err);
    case O_SMTP_USER: return copy(cfg.smtp_user, sizeof cfg.smtp_user, v, "--smtp-user", err);
    case O_SMTP_PASS:
        return copy(cfg.smtp_password, sizeof cfg.smtp_password, v, "--smtp-password", err);
    case O_SMTP_CA: return copy(cfg.smtp_ca_file, sizeof cfg.smtp_ca_file, v, "--smtp-ca-file", err);
    case O_TW_URL:
        return copy(cfg.twilio_base_url, sizeof cfg.twilio_base_url, v, "--twilio-base-url", err);
    case O_TW_SID:
        return copy(cfg.twilio_account_sid, sizeof cfg.twilio_account_sid, v,
                    "--twilio-account-sid", err);
    case O_TW_KEY:
        return copy(cfg.twilio_api_key, sizeof cfg.twilio_api_key, v, "--twilio-api-key", err);
    case O_TW_SECRET:
        return copy(cfg.twilio_api_secret, sizeof cfg.twilio_api_secret, v,
                    "--twilio-api-secret", err);
    case O_SMTP_PLAIN:
        cfg.smtp_plain = !v || strcmp(v, "0");
        return 0;
    default: return -1;
    }
}

int cfg_parse(int argc, char **argv, char err[NATTER_ERR_LEN])
{
    memset(&cfg, 0, sizeof cfg);
    strcpy(cfg.listen_host, "127.0.0.1");
    cfg.listen_port = 8080;
    strcpy(cfg.data_dir, "./data");
    for (int i = 0; i < LIM__COUNT; i++)
        cfg.limits[i] = limit_info[i].def;
    for (int i = 0; i < (int)(sizeof envs / sizeof envs[0]); i++) {
        const char *v = getenv(envs[i]);
        if (v && *v && apply(O_LISTEN + i, v, err))
            return -1;
    }
    optind = 1;
    for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        if (o == O_HELP) {
            cfg_print_help(argv[0]);
            return 1;
        }
        if (o == O_VERSION) {
            printf("natter %s\n", NATTER_VERSION);
            return 1;
        }
        if (o == '?' || apply(o, optarg ? optarg : "1", err)) {
            if (o == '?')
                snprintf(err, NATTER_ERR_LEN, "unknown or incomplete option (see --help)");
            return -1;
        }
    }
    if (optind < argc && strcmp(argv[optind], "serve")) {
        snprintf(err, NATTER_ERR_LEN, "unknown command '%s' (see --help)", argv[optind]);
        return -1;
    }
    if ((cfg.tls_cert[0] != '\0') != (cfg.tls_key[0] != '\0')) {
        snprintf(err, NATTER_ERR_LEN, "--tls-cert and --tls-key go together");
        return -1;
    }
    if (!cfg.public_url[0])
        snprintf(cfg.public_url, sizeof cfg.public_url, "%s://localhost:%d",
                 cfg.tls_cert[0] ? "https" : "http", cfg.listen_port);
    if (!cfg.twilio_base_url[0])
        strcpy(cfg.twilio_base_url, "https://video.twilio.com");
    if (!cfg.smtp_from[0])
        snprintf(cfg.smtp_from, sizeof cfg.smtp_from, "natter@%.200s", cfg_public_host());
    return 0;
}

const char *cfg_public_host(void)
{
    static char host[256];
    const char *p = strstr(cfg.public_url, "://");
    p = p ? p + 3 : cfg.public_url;
    size_t n = strcspn(p, ":/");
    snprintf(host, sizeof host, "%.*s", (int)n, p);
    return host;
}

void cfg_print_help(const char *prog)
{
    printf("Usage: %s [serve] [options]\n"
           "       %s admin <command> [args]   (run '%s admin' for the list)\n\n"
           "Options (each also read from the environment variable shown):\n"
           "  --listen HOST:PORT        NATTER_LISTEN           default 127.0.0.1:8080\n"
           "  --data-dir DIR            NATTER_DATA_DIR         default ./data (natter.db, signing.key)\n"
           "  --web-root DIR            NATTER_WEB_ROOT         default: the client-web/ built with it\n"
           "  --public-url URL          NATTER_PUBLIC_URL       default http://localhost:PORT\n"
           "  --allowed-origins LIST    NATTER_ALLOWED_ORIGINS  more origins allowed to open the WebSocket\n"
           "  --trust-proxy CIDRS       NATTER_TRUST_PROXY      honour X-Forwarded-For from these peers\n"
           "  --log-level LEVEL         NATTER_LOG_LEVEL        error|warn|notice|info|debug (info)\n"
           "  --tls-cert FILE           NATTER_TLS_CERT         serve HTTPS/WSS with this certificate\n"
           "  --tls-key FILE            NATTER_TLS_KEY          ...and this private key\n"
           "  --password-cost COST      NATTER_PASSWORD_COST    interactive|moderate|min (min: tests only)\n"
           "  --smtp-url URL            NATTER_SMTP_URL         smtp://HOST:PORT for invite and reset mail\n"
           "  --smtp-from ADDR          NATTER_SMTP_FROM        default natter@<public url host>\n"
           "  --smtp-user USER          NATTER_SMTP_USER        SMTP AUTH user (with --smtp-password)\n"
           "  --smtp-password PASS      NATTER_SMTP_PASSWORD\n"
           "  --smtp-ca-file FILE       NATTER_SMTP_CA_FILE     trust this CA for STARTTLS\n"
           "  --smtp-plain              NATTER_SMTP_PLAIN=1     no STARTTLS (loopback hosts only)\n"
           "  --twilio-base-url URL     NATTER_TWILIO_BASE_URL  default https://video.twilio.com\n"
           "  --twilio-account-sid SID  NATTER_TWILIO_ACCOUNT_SID\n"
           "  --twilio-api-key SID      NATTER_TWILIO_API_KEY   an API key (SK...)\n"
           "  --twilio-api-secret S     NATTER_TWILIO_API_SECRET\n"
           "  --limit NAME=VALUE        NATTER_LIMITS=\"a=1,b=2\" repeatable; the limits are:\n",
           prog, prog, prog);
    for (int i = 0; i < LIM__COUNT; i++)
        printf("      %-17s %9lld  %s\n", limit_info[i].name, (long long)limit_info[i].def,
               limit_info[i].doc);
    printf("  --help, --version\n");
}
