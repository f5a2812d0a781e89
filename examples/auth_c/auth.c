// auth: an echo that only members may use. The upgrade callback (RS_UPGRADE) checks a token
// from the query string (?token=...) or from a "token" cookie against the list in the
// environment variable AUTH_TOKENS ("token:user,token:user,..."; default "demo-token:demo"),
// rejects with 401 (no token) or 403 (unknown token) and a short body, accepts the
// subprotocol "echo.v1" when the client offers it, and keeps the user's name as the client's
// data: every reply is "<user>: <message>".
//
// Build (from the workspace root; one line):
//     gcc -std=c11 -Wall -Wextra -Werror -fpic -shared -I app-abi/include
//         -o target/auth.so examples/auth_c/auth.c

#include <ringsocket.h>

#define MAX_USER 64

// The token list, read once by the init callback (app data would do too; static is simpler
// for one app per .so).
static char const *tokens = "demo-token:demo";

static int init(rs_t *rs) {
    (void)rs;
    char const *env = getenv("AUTH_TOKENS");
    if (env && *env) {
        tokens = env;
    }
    return 0;
}

// The user for token[..len] in the list, or 0 bytes.
static size_t user_of(uint8_t const *token, size_t len, char *user) {
    char const *entry = tokens;
    while (*entry) {
        char const *colon = strchr(entry, ':');
        char const *end = strchr(entry, ',');
        if (!end) {
            end = entry + strlen(entry);
        }
        if (colon && colon < end && (size_t)(colon - entry) == len &&
            !memcmp(entry, token, len)) {
            size_t n = (size_t)(end - colon - 1);
            if (n > MAX_USER) {
                n = MAX_USER;
            }
            memcpy(user, colon + 1, n);
            return n;
        }
        entry = *end ? end + 1 : end;
    }
    return 0;
}

static int upgrade(rs_t *rs) {
    size_t len = 0;
    uint8_t const *token = rs_get_query_param(rs, "token", &len);
    if (!token) {
        token = rs_get_cookie(rs, "token", &len);
    }
    if (!token) {
        rs_w_str(rs, "log in: add ?token=... or a token cookie");
        return 401;
    }
    char user[MAX_USER];
    size_t user_len = user_of(token, len, user);
    if (!user_len) {
        rs_w_str(rs, "unknown token");
        return 403;
    }
    size_t offered_len = 0;
    uint8_t const *offered = rs_get_request_header(rs, "Sec-WebSocket-Protocol", &offered_len);
    if (offered && rs_set_subprotocol(rs, "echo.v1") == 0) {
        RS_LOG(LOG_DEBUG, "accepting echo.v1 for %.*s", (int)user_len, user);
    }
    if (rs_set_client_data(rs, user, user_len)) {
        return 500;
    }
    RS_LOG(LOG_INFO, "%.*s logged in", (int)user_len, user);
    return 0;
}

static int echo(rs_t *rs, uint8_t *msg, size_t len) {
    size_t user_len = 0;
    void const *user = rs_get_client_data(rs, &user_len);
    rs_w_p(rs, user, user_len);
    rs_w_str(rs, ": ");
    rs_w_p(rs, msg, len);
    rs_to_cur(rs, rs_get_read_data_kind(rs));
    return 0;
}

RS_APP(RS_INIT(init, 0), RS_OPEN_NONE, RS_READ_ANY(echo, RS_NET_STA(uint8_t, 0, 1048576)),
       RS_CLOSE_NONE, RS_TIMER_NONE, RS_UPGRADE(upgrade));
