/* err: Natter's error vocabulary. Functions return 0 or a negated code (-NATTER_EFORBID);
 * the wire name of each code (and its HTTP status) is fixed here, in one place. The
 * mapping functions accept a code of either sign. */
#ifndef NATTER_ERR_H
#define NATTER_ERR_H

#define NATTER_ERR_LEN 256

enum natter_err {
    NATTER_OK = 0,
    NATTER_EBADREQ = 1,   /* bad_request  400 */
    NATTER_EUNAUTH = 2,   /* unauthorized 401 */
    NATTER_EFORBID = 3,   /* forbidden    403 */
    NATTER_ENOTFOUND = 4, /* not_found    404 */
    NATTER_ECONFLICT = 5, /* conflict     409 */
    NATTER_ETOOLARGE = 6, /* too_large    413 */
    NATTER_ERATE = 7,     /* rate_limited 429 */
    NATTER_EINTERNAL = 8, /* internal     500 */
    NATTER_EUNAVAIL = 9,  /* unavailable  503 */
    NATTER_ENOMEM = 10,   /* reported as internal */
};

/* Wire code ("bad_request", …), HTTP status and temporary flag of a NATTER_E* value. */
const char *err_code(int err);
int err_http_status(int err);
int err_is_temporary(int err);

#endif
