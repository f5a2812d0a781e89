// A C app using every RS_APP form; tests/c_apps.rs builds it with -Wall -Wextra -Werror and
// drives it through the loader and the test host.
#include <inttypes.h>
#include <ringsocket.h>

struct counters {
    uint32_t opens;
    uint32_t closes;
};

static void replyf(rs_t *rs, char const *fmt, ...) __attribute__((format(printf, 2, 3)));
static void replyf(rs_t *rs, char const *fmt, ...) {
    char buf[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(buf, sizeof buf, fmt, args);
    va_end(args);
    rs_w_str(rs, buf);
    rs_to_cur(rs, RS_UTF8);
}

// Appends "[a, b, c]" of int64-convertible values.
#define LIST(buf, arr, c, fmt)                                                                     \
    do {                                                                                           \
        size_t at_ = (size_t)snprintf(buf, sizeof buf, "[");                                       \
        for (size_t i_ = 0; i_ < (c); i_++) {                                                      \
            at_ += (size_t)snprintf(buf + at_, sizeof buf - at_, i_ ? ", " fmt : fmt, (arr)[i_]);  \
        }                                                                                          \
        snprintf(buf + at_, sizeof buf - at_, "]");                                                \
    } while (0)

static int on_init(rs_t *rs) {
    struct counters *c = rs_get_app_data(rs);
    if (!c || c->opens || c->closes) {
        return -1; // app data must exist and be zeroed
    }
    RS_LOG(LOG_INFO, "init of %s", rs_get_app_conf(rs)->name);
    return 0;
}

static int on_open(rs_t *rs) {
    struct counters *c = rs_get_app_data(rs);
    c->opens++;
    struct sockaddr_storage addr;
    if (rs_get_client_addr(rs, &addr) || addr.ss_family != AF_INET) {
        return -1;
    }
    struct sockaddr_in *v4 = (struct sockaddr_in *)&addr;
    replyf(rs, "open %" PRIu32 " port %u ep %u", c->opens, ntohs(v4->sin_port),
           rs_get_endpoint_id(rs));
    return 0;
}

static int on_close(rs_t *rs) {
    struct counters *c = rs_get_app_data(rs);
    c->closes++;
    char msg[64];
    snprintf(msg, sizeof msg, "closed %" PRIu32, c->closes);
    rs_w_str(rs, msg);
    rs_to_every(rs, RS_UTF8);
    return 0;
}

static int c_ints(rs_t *rs, uint8_t a, uint16_t b, int32_t c, uint16_t *d, int64_t *e,
                  size_t e_c) {
    char ds[64], es[64];
    LIST(ds, d, 3, "%u");
    LIST(es, e, e_c, "%" PRId64);
    replyf(rs, "ints %u 0x%x %" PRId32 " %s %s", a, b, c, ds, es);
    return 0;
}

static int c_str(rs_t *rs, char *s, size_t len) {
    replyf(rs, "str \"%s\" %zu", s, len);
    return 0;
}

static int c_string(rs_t *rs, char *s, size_t len) {
    replyf(rs, "string \"%s\" %zu %s", s, len, rs_get_read_data_kind(rs) == RS_BIN ? "Bin" : "Text");
    free(s);
    return 0;
}

static int c_vec(rs_t *rs, uint32_t *v, size_t c) {
    char vs[64];
    LIST(vs, v, c, "%" PRIu32);
    replyf(rs, "vec %s", vs);
    free(v);
    return 0;
}

static int c_bytes(rs_t *rs, uint8_t *v, size_t c) {
    char vs[64];
    LIST(vs, v, c, "%u");
    replyf(rs, "bytes %s", vs);
    return 0;
}

static int c_none(rs_t *rs) {
    replyf(rs, "none");
    return 0;
}

static int c_sta(rs_t *rs, int16_t *v, size_t c) {
    char vs[64];
    LIST(vs, v, c, "%d");
    replyf(rs, "sta %s", vs);
    return 0;
}

static int c_str_sta(rs_t *rs, char *s, size_t len) {
    replyf(rs, "str_sta \"%s\" %zu", s, len);
    return 0;
}

static int c_str_vla(rs_t *rs, char *s, size_t len) {
    replyf(rs, "str_vla \"%s\" %zu", s, len);
    return 0;
}

static int c_ret(rs_t *rs, int16_t code) {
    (void)rs;
    return code;
}

static int c_close_other(rs_t *rs, uint64_t *ids, size_t c) {
    enum rs_send_status st = rs_close(rs, ids[0], 4100);
    enum rs_send_status again = rs_close(rs, ids[0], 4100);
    rs_w_str(rs, "late");
    enum rs_send_status late = rs_to_multi(rs, RS_BIN, ids, c);
    replyf(rs, "close %d %d %d", st, again, late);
    return 0;
}

static int c_broadcast(rs_t *rs, uint8_t *text, size_t len) {
    rs_w_p(rs, text, len);
    rs_w_uint16_hton(rs, 0x0102);
    rs_w_int32_hton(rs, -2);
    rs_w_uint64_hton(rs, 3);
    rs_to_every_except_cur(rs, RS_BIN);
    return 0;
}

static int c_timer(rs_t *rs) {
    struct counters *c = rs_get_app_data(rs);
    rs_w_uint32_hton(rs, c->opens);
    rs_to_every(rs, RS_BIN);
    return c->opens > 1 ? 0 : 2000; // re-arm after 2 ms until two clients came
}

RS_APP(RS_INIT(on_init, sizeof(struct counters)),
       RS_OPEN(on_open),
       RS_READ_SWITCH(
           RS_CASE_BIN(0, c_ints, RS_NET(uint8_t), RS_NTOH(uint16_t), RS_NTOH(int32_t),
                       RS_NTOH(uint16_t, 3), RS_NTOH(int64_t, 0, 2)),
           RS_CASE_UTF8(1, c_str, RS_STR(1, 5)),
           RS_CASE_ANY(2, c_string, RS_STR_HEAP(0, 100)),
           RS_CASE_BIN(3, c_vec, RS_NTOH_HEAP(uint32_t, 1, 3)),
           RS_CASE_BIN(4, c_bytes, RS_NET_VLA(uint8_t, 2, 4)),
           RS_CASE_BIN(5, c_none),
           RS_CASE_BIN(6, c_sta, RS_NTOH_STA(int16_t, 0, 3)),
           RS_CASE_UTF8(7, c_str_sta, RS_STR_STA(0, 8)),
           RS_CASE_UTF8(8, c_str_vla, RS_STR_VLA(0, 8)),
           RS_CASE_BIN(9, c_ret, RS_NTOH(int16_t)),
           RS_CASE_BIN(10, c_close_other, RS_NET(uint64_t, 1, 4)),
           RS_CASE_ANY('b', c_broadcast, RS_NET(uint8_t, 0, 100))),
       RS_CLOSE(on_close),
       RS_TIMER_WAKE(c_timer, 1000));
