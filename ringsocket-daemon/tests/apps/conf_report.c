// A C app for the end-to-end tests: on open it tells the client what rs_get_conf() shows
// (the keys the daemon hands apps, including those appended after the spec's), and logs at
// info and debug so a test can see log_level reach the app.
#include <stddef.h>
#include <stdio.h>

#include <ringsocket.h>

static int report(rs_t *rs) {
    struct rs_conf const *conf = rs_get_conf(rs);
    char text[1024];
    int n = snprintf(text, sizeof text, "log_level=%d worker_c=%u shutdown_wait_ws=%u",
                     (int)conf->log_level, conf->worker_c, conf->shutdown_wait_ws);
    if (conf->struct_size >= offsetof(struct rs_conf, reserved_tail)) {
        n += snprintf(text + n, sizeof text - (size_t)n,
                      " user=%s syslog_path=%s max_client_backlog=%llu handshake_wait=%u"
                      " ping_interval=%u pong_wait=%u",
                      conf->user, conf->syslog_path,
                      (unsigned long long)conf->max_client_backlog, conf->handshake_wait,
                      conf->ping_interval, conf->pong_wait);
    }
    for (size_t a = 0; a < conf->app_c; a++) {
        for (size_t e = 0; e < conf->apps[a].endpoint_c; e++) {
            struct rs_conf_endpoint const *ep = &conf->apps[a].endpoints[e];
            n += snprintf(text + n, sizeof text - (size_t)n, " endpoint%u=%s",
                          (unsigned)ep->endpoint_id,
                          ep->allowed_origins == NULL ? "any" : "listed");
            for (size_t o = 0; o < ep->allowed_origin_c; o++) {
                n += snprintf(text + n, sizeof text - (size_t)n, ",%s", ep->allowed_origins[o]);
            }
        }
    }
    rs_w_str(rs, text);
    rs_to_cur(rs, RS_UTF8);
    RS_LOG(LOG_INFO, "reported the configuration");
    RS_LOG(LOG_DEBUG, "a debug line");
    return 0;
}

static int ignore(rs_t *rs, uint8_t *bytes, size_t len) {
    (void)rs;
    (void)bytes;
    (void)len;
    return 0;
}

RS_APP(
    RS_INIT_NONE,
    RS_OPEN(report),
    RS_READ_ANY(ignore, RS_NET_STA(uint8_t, 0, 16)),
    RS_CLOSE_NONE,
    RS_TIMER_NONE
);
