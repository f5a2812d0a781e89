// ringsocket.h: the RingSocket app API for C11 apps (RingSocket-rs, app ABI version 1).
//
// The only header a C app includes. Build the app as a shared object, e.g.:
//     gcc -std=c11 -Wall -Werror -fpic -shared -I<this dir> -o app.so app.c
// and name it as "app_path" in ringsocket.json. See the spec ("Creating RingSocket server
// apps") for RS_APP and the helpers; the differences from the original C RingSocket are:
//   * Callback return values follow the spec: -1 fatal, 0 success, 4000..4899 close the
//     current client (open/read), > 0 re-arm the timer after that many microseconds. Fatal
//     stops this app only (its clients are closed with 1011, its endpoints answer 503).
//   * rs_to_*() and rs_close*() return an enum rs_send_status (the spec's void is ignorable).
//   * RS_TIMER_SLEEP(cb, us) / RS_TIMER_WAKE(cb, us) name the callback and the first interval.
//   * rs_get_client_addr() reports the address taken at accept time (no getpeername race), in
//     open, read and close callbacks.
//   * RS_INIT(cb, app_data_byte_c) app data is zeroed, 16-byte aligned host memory.
//   * Misuse the spec calls fatal (e.g. rs_to_cur() in a timer) is logged and stops the app.
// This header mirrors app-abi/src/abi.rs and conf.rs; the layouts are checked by its tests.
// The block between "BEGIN GENERATED" and "END GENERATED" is written by gen_ringsocket_h.py.

#ifndef RINGSOCKET_H
#define RINGSOCKET_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>

#ifdef __cplusplus
#error "ringsocket.h is for C11 apps; write C++ apps against the C API in an extern \"C\" file"
#endif

#define RS_ABI_VERSION 1u
#define RS_APP_MAGIC 0x52536170u // "RSap"

#define RS_TIMER_MODE_NONE 0u
#define RS_TIMER_MODE_SLEEP 1u
#define RS_TIMER_MODE_WAKE 2u

enum rs_data_kind { RS_BIN = 0, RS_UTF8 = 1 };

enum rs_send_status {
    RS_SENT = 0,           // queued for every recipient
    RS_UNKNOWN_CLIENT = 1, // an id is not a live client of this app (logged)
    RS_CLIENT_CLOSING = 2, // an id is being closed
    RS_MISUSE = 3,         // forbidden here (e.g. rs_to_cur() in a timer): the app stops
    RS_STOPPED = 4         // the app already stopped; nothing was sent
};

// Close codes RingSocket uses when a message does not fit RS_READ_...'s parameters.
#define RS_CLOSE_WRONG_SIZE 4900
#define RS_CLOSE_WRONG_DATA_KIND 4901
#define RS_CLOSE_UNKNOWN_CASE 4902

typedef struct rs_t rs_t;

struct rs_sockaddr {
    uint16_t family; // 4 or 6
    uint16_t port;   // host byte order
    uint32_t flowinfo;
    uint32_t scope_id;
    uint8_t addr[16];
};

struct rs_conf_endpoint {
    uint16_t endpoint_id;
    char const *url;
    size_t allowed_origin_c;
    // NULL when "allowed_origins" was omitted (any origin may connect); an empty list (only
    // clients without Origin) is non-NULL with allowed_origin_c == 0.
    char const *const *allowed_origins;
};

struct rs_conf_app {
    char const *name;
    char const *app_path;
    uint64_t wbuf_size;
    uint32_t update_queue_size;
    bool no_open_cb;
    bool no_close_cb;
    size_t endpoint_c;
    struct rs_conf_endpoint const *endpoints;
};

struct rs_conf_port {
    uint16_t port_number;
    bool is_unencrypted;
    bool ipv4only;
    bool ipv6only;
    bool ipv4_is_embedded_in_ipv6;
    char const *interface; // NULL when not given
    size_t ip_addr_c;
    char const *const *ip_addrs;
};

struct rs_conf_cert {
    size_t hostname_c;
    char const *const *hostnames;
    char const *privkey_path;
    char const *pubchain_path;
};

struct rs_conf {
    uint32_t struct_size;
    int32_t log_level; // LOG_ERR .. LOG_DEBUG
    uint32_t worker_c;
    uint32_t fd_alloc_c;
    uint64_t max_ws_msg_size;
    uint64_t max_ws_frame_chain_size;
    double realloc_multiplier;
    uint64_t worker_rbuf_size;
    uint64_t inbound_ring_buf_size;
    uint64_t outbound_ring_buf_size;
    uint32_t owrefs_elem_c;
    uint32_t epoll_buf_elem_c;
    uint32_t update_queue_size;
    uint32_t shutdown_wait_http;
    uint32_t shutdown_wait_ws;
    uint32_t reserved;
    size_t port_c;
    struct rs_conf_port const *ports;
    size_t cert_c;
    struct rs_conf_cert const *certs;
    size_t app_c;
    struct rs_conf_app const *apps;
    // Keys added after the spec's: read them only when struct_size covers them, e.g.
    // struct_size >= offsetof(struct rs_conf, pong_wait) + sizeof(uint32_t).
    char const *user; // "" when the starting user was kept
    char const *syslog_path;
    uint64_t max_client_backlog;
    uint32_t handshake_wait; // seconds
    uint32_t ping_interval;  // seconds; 0: off
    uint32_t pong_wait;      // seconds
    uint32_t reserved_tail;
};

// Recipient kinds of rs_host_fns.send.
#define RS_TO_SINGLE_ 1u
#define RS_TO_MULTI_ 2u
#define RS_TO_CUR_ 3u
#define RS_TO_EVERY_ 4u
#define RS_TO_EVERY_EXCEPT_SINGLE_ 5u
#define RS_TO_EVERY_EXCEPT_MULTI_ 6u
#define RS_TO_EVERY_EXCEPT_CUR_ 7u

struct rs_host_fns {
    uint32_t abi_version;
    uint32_t struct_size;
    int (*wbuf_reserve)(rs_t *rs, size_t additional);
    int (*send)(rs_t *rs, uint32_t to, uint32_t data_kind, uint64_t const *ids, size_t id_c);
    int (*close)(rs_t *rs, uint64_t client_id, uint16_t code);
    int (*close_cur)(rs_t *rs, uint16_t code);
    uint64_t (*client_id)(rs_t *rs);
    int (*client_addr)(rs_t *rs, struct rs_sockaddr *out);
    int (*endpoint_id)(rs_t *rs);
    int (*read_data_kind)(rs_t *rs);
    struct rs_conf const *(*conf)(rs_t *rs);
    struct rs_conf_app const *(*app_conf)(rs_t *rs);
    void (*log)(rs_t *rs, int level, char const *msg, size_t len);
    // Appended with the upgrade hook: present when struct_size covers them (the rs_request_*,
    // rs_set_* and rs_get_client_data helpers below check).
    uint8_t const *(*request_target)(rs_t *rs, size_t *len);
    uint8_t const *(*request_header)(rs_t *rs, uint8_t const *name, size_t name_len, size_t *len);
    uint8_t const *(*request_query_param)(rs_t *rs, uint8_t const *name, size_t name_len,
                                          size_t *len);
    uint8_t const *(*request_cookie)(rs_t *rs, uint8_t const *name, size_t name_len, size_t *len);
    int (*set_subprotocol)(rs_t *rs, uint8_t const *p, size_t len);
    int (*set_client_data)(rs_t *rs, uint8_t const *data, size_t len);
    uint8_t const *(*client_data)(rs_t *rs, size_t *len);
    // Appended with topics.
    int (*subscribe)(rs_t *rs, uint64_t client_id, uint8_t const *topic, size_t len);
    int (*unsubscribe)(rs_t *rs, uint64_t client_id, uint8_t const *topic, size_t len);
    int (*publish)(rs_t *rs, uint32_t data_kind, uint8_t const *topic, size_t len);
};

#define RS_MAX_TOPIC 255u

struct rs_t {
    struct rs_host_fns const *host;
    void *host_ctx;
    uint8_t *wbuf;
    size_t wbuf_len;
    size_t wbuf_cap;
    void *app_data;
};

struct rs_app_descriptor {
    uint32_t magic;
    uint32_t abi_version;
    uint32_t struct_size;
    uint32_t timer_mode;
    uint64_t timer_interval_us;
    uint64_t app_data_size;
    int (*init)(rs_t *rs);
    int (*open)(rs_t *rs);
    int (*read)(rs_t *rs, uint8_t const *payload, size_t len);
    int (*close)(rs_t *rs);
    int (*timer)(rs_t *rs);
    // Runs once when the app stops for good, after every other callback. RS_APP leaves it NULL
    // (the host frees RS_INIT's app data itself); read only when struct_size covers it.
    int (*fini)(rs_t *rs);
    // RS_UPGRADE(cb): runs on the app thread for every upgrade request, before the 101. Returns
    // 0 to accept, an HTTP status 400..599 to reject (the write buffer is the response body, at
    // most RS_MAX_REJECT_BODY bytes), -1 for fatal. Read only when struct_size covers it.
    int (*upgrade)(rs_t *rs);
};

#define RS_MAX_REJECT_BODY 4096u
#define RS_MAX_CLIENT_DATA 65536u

// Defined by RS_APP (exactly once per app).
extern struct rs_app_descriptor const ringsocket_app_descriptor;
// The rs_t of the running callback, for RS_LOG (defined by RS_APP).
extern __attribute__((visibility("hidden"))) _Thread_local rs_t *rs_cur_rs_;

// ---------------------------------------------------------------------------------------------
// Writers: append to the app's write buffer (plain memory writes; it grows as needed).

static inline void rs_w_p(rs_t *rs, void const *src, size_t size) {
    if (!size) {
        return;
    }
    if (rs->wbuf_cap - rs->wbuf_len < size && rs->host->wbuf_reserve(rs, size)) {
        return; // The host logged the error and stops the app.
    }
    memcpy(rs->wbuf + rs->wbuf_len, src, size);
    rs->wbuf_len += size;
}

static inline void rs_w_str(rs_t *rs, char const *str) { rs_w_p(rs, str, strlen(str)); }

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define RS_HTON16_(x) (x)
#define RS_HTON32_(x) (x)
#define RS_HTON64_(x) (x)
#else
#define RS_HTON16_(x) __builtin_bswap16(x)
#define RS_HTON32_(x) __builtin_bswap32(x)
#define RS_HTON64_(x) __builtin_bswap64(x)
#endif

#define RS_W_INT_(name, type, conv)                                                                \
    static inline void name(rs_t *rs, type value) {                                                \
        type v = (type)conv;                                                                       \
        rs_w_p(rs, &v, sizeof v);                                                                  \
    }
RS_W_INT_(rs_w_uint8, uint8_t, value)
RS_W_INT_(rs_w_uint16, uint16_t, value)
RS_W_INT_(rs_w_uint32, uint32_t, value)
RS_W_INT_(rs_w_uint64, uint64_t, value)
RS_W_INT_(rs_w_int8, int8_t, value)
RS_W_INT_(rs_w_int16, int16_t, value)
RS_W_INT_(rs_w_int32, int32_t, value)
RS_W_INT_(rs_w_int64, int64_t, value)
RS_W_INT_(rs_w_uint16_hton, uint16_t, RS_HTON16_(value))
RS_W_INT_(rs_w_uint32_hton, uint32_t, RS_HTON32_(value))
RS_W_INT_(rs_w_uint64_hton, uint64_t, RS_HTON64_(value))
RS_W_INT_(rs_w_int16_hton, int16_t, RS_HTON16_((uint16_t)value))
RS_W_INT_(rs_w_int32_hton, int32_t, RS_HTON32_((uint32_t)value))
RS_W_INT_(rs_w_int64_hton, int64_t, RS_HTON64_((uint64_t)value))

// ---------------------------------------------------------------------------------------------
// Senders: send what was written as one message, then empty the write buffer.

static inline enum rs_send_status rs_to_single(rs_t *rs, enum rs_data_kind kind, uint64_t cid) {
    return (enum rs_send_status)rs->host->send(rs, RS_TO_SINGLE_, (uint32_t)kind, &cid, 1);
}
static inline enum rs_send_status rs_to_multi(rs_t *rs, enum rs_data_kind kind,
                                              uint64_t const *cids, size_t cid_c) {
    return (enum rs_send_status)rs->host->send(rs, RS_TO_MULTI_, (uint32_t)kind, cids, cid_c);
}
static inline enum rs_send_status rs_to_cur(rs_t *rs, enum rs_data_kind kind) {
    return (enum rs_send_status)rs->host->send(rs, RS_TO_CUR_, (uint32_t)kind, NULL, 0);
}
static inline enum rs_send_status rs_to_every(rs_t *rs, enum rs_data_kind kind) {
    return (enum rs_send_status)rs->host->send(rs, RS_TO_EVERY_, (uint32_t)kind, NULL, 0);
}
static inline enum rs_send_status rs_to_every_except_single(rs_t *rs, enum rs_data_kind kind,
                                                            uint64_t cid) {
    return (enum rs_send_status)rs->host->send(rs, RS_TO_EVERY_EXCEPT_SINGLE_, (uint32_t)kind,
                                               &cid, 1);
}
static inline enum rs_send_status rs_to_every_except_multi(rs_t *rs, enum rs_data_kind kind,
                                                           uint64_t const *cids, size_t cid_c) {
    return (enum rs_send_status)rs->host->send(rs, RS_TO_EVERY_EXCEPT_MULTI_, (uint32_t)kind,
                                               cids, cid_c);
}
static inline enum rs_send_status rs_to_every_except_cur(rs_t *rs, enum rs_data_kind kind) {
    return (enum rs_send_status)rs->host->send(rs, RS_TO_EVERY_EXCEPT_CUR_, (uint32_t)kind, NULL,
                                               0);
}

// Close a client with an app close code (4000..4899); its close callback follows.
static inline enum rs_send_status rs_close(rs_t *rs, uint64_t cid, uint16_t code) {
    return (enum rs_send_status)rs->host->close(rs, cid, code);
}
static inline enum rs_send_status rs_close_cur(rs_t *rs, uint16_t code) {
    return (enum rs_send_status)rs->host->close_cur(rs, code);
}

// ---------------------------------------------------------------------------------------------
// Queries.

// The current client (open, read and close callbacks; elsewhere fatal, returning 0).
static inline uint64_t rs_get_client_id(rs_t *rs) { return rs->host->client_id(rs); }

// The current client's address as accepted (open, read and close callbacks): 0, or -1.
static inline int rs_get_client_addr(rs_t *rs, struct sockaddr_storage *addr) {
    struct rs_sockaddr a;
    memset(&a, 0, sizeof a);
    if (rs->host->client_addr(rs, &a)) {
        return -1;
    }
    memset(addr, 0, sizeof *addr);
    if (a.family == 4) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
        v4->sin_family = AF_INET;
        v4->sin_port = htons(a.port);
        memcpy(&v4->sin_addr, a.addr, 4);
    } else {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(a.port);
        v6->sin6_flowinfo = htonl(a.flowinfo);
        v6->sin6_scope_id = a.scope_id;
        memcpy(&v6->sin6_addr, a.addr, 16);
    }
    return 0;
}

// The current client's endpoint id (open, read and close callbacks).
static inline uint16_t rs_get_endpoint_id(rs_t *rs) { return (uint16_t)rs->host->endpoint_id(rs); }

// The current message's data kind (read callbacks).
static inline enum rs_data_kind rs_get_read_data_kind(rs_t *rs) {
    return (enum rs_data_kind)rs->host->read_data_kind(rs);
}

static inline struct rs_conf const *rs_get_conf(rs_t *rs) { return rs->host->conf(rs); }
static inline struct rs_conf_app const *rs_get_app_conf(rs_t *rs) { return rs->host->app_conf(rs); }

// RS_INIT(cb, app_data_byte_c)'s zeroed app data, or NULL.
static inline void *rs_get_app_data(rs_t *rs) { return rs->app_data; }

// ---------------------------------------------------------------------------------------------
// The upgrade callback's request (RS_UPGRADE), and per-client data. Pointers stay valid until
// the callback returns (rs_get_query_param's: until the next rs_get_* request call); NULL means
// absent. A host older than these functions returns NULL / -1.

#define RS_HAS_HOST_FN_(rs, f)                                                                     \
    ((rs)->host->struct_size >= offsetof(struct rs_host_fns, f) + sizeof((rs)->host->f))

// The request target as sent: path, then "?" and the query, if any.
static inline uint8_t const *rs_get_request_target(rs_t *rs, size_t *len) {
    return RS_HAS_HOST_FN_(rs, request_target) ? rs->host->request_target(rs, len) : NULL;
}
// A forwarded header (case-insensitive): Cookie, Authorization, Sec-WebSocket-Protocol,
// User-Agent, X-Forwarded-For, Origin, and those the endpoint's "upgrade_headers" lists.
static inline uint8_t const *rs_get_request_header(rs_t *rs, char const *name, size_t *len) {
    return RS_HAS_HOST_FN_(rs, request_header)
               ? rs->host->request_header(rs, (uint8_t const *)name, strlen(name), len)
               : NULL;
}
// A query parameter, percent-decoded ("+" as a space).
static inline uint8_t const *rs_get_query_param(rs_t *rs, char const *name, size_t *len) {
    return RS_HAS_HOST_FN_(rs, request_query_param)
               ? rs->host->request_query_param(rs, (uint8_t const *)name, strlen(name), len)
               : NULL;
}
// A cookie of the Cookie header.
static inline uint8_t const *rs_get_cookie(rs_t *rs, char const *name, size_t *len) {
    return RS_HAS_HOST_FN_(rs, request_cookie)
               ? rs->host->request_cookie(rs, (uint8_t const *)name, strlen(name), len)
               : NULL;
}
// Accept with this subprotocol (one the client offered; "" for none): 0, or -1.
static inline int rs_set_subprotocol(rs_t *rs, char const *protocol) {
    return RS_HAS_HOST_FN_(rs, set_subprotocol)
               ? rs->host->set_subprotocol(rs, (uint8_t const *)protocol, strlen(protocol))
               : -1;
}
// Upgrade, open and read callbacks: keep a copy of data (at most RS_MAX_CLIENT_DATA bytes; 0
// bytes remove it) for the current client until its close callback has run: 0, or -1.
static inline int rs_set_client_data(rs_t *rs, void const *data, size_t len) {
    return RS_HAS_HOST_FN_(rs, set_client_data)
               ? rs->host->set_client_data(rs, (uint8_t const *)data, len)
               : -1;
}
// Topics (1 to RS_MAX_TOPIC bytes): a client joins and leaves them; a publish sends what was
// written to every member, stored once per worker. A client's topics end when it closes.
static inline enum rs_send_status rs_subscribe(rs_t *rs, uint64_t cid, void const *topic,
                                               size_t len) {
    return RS_HAS_HOST_FN_(rs, subscribe)
               ? (enum rs_send_status)rs->host->subscribe(rs, cid, (uint8_t const *)topic, len)
               : RS_MISUSE;
}
static inline enum rs_send_status rs_unsubscribe(rs_t *rs, uint64_t cid, void const *topic,
                                                 size_t len) {
    return RS_HAS_HOST_FN_(rs, unsubscribe)
               ? (enum rs_send_status)rs->host->unsubscribe(rs, cid, (uint8_t const *)topic, len)
               : RS_MISUSE;
}
static inline enum rs_send_status rs_publish(rs_t *rs, enum rs_data_kind kind, void const *topic,
                                             size_t len) {
    return RS_HAS_HOST_FN_(rs, publish)
               ? (enum rs_send_status)rs->host->publish(rs, (uint32_t)kind,
                                                        (uint8_t const *)topic, len)
               : RS_MISUSE;
}

// Upgrade, open, read and close callbacks: the current client's data, or NULL.
static inline void const *rs_get_client_data(rs_t *rs, size_t *len) {
    return RS_HAS_HOST_FN_(rs, client_data) ? rs->host->client_data(rs, len) : NULL;
}

// ---------------------------------------------------------------------------------------------
// RS_LOG(level, format, ...): printf-style, with syslog levels (LOG_ERR .. LOG_DEBUG); the host
// prefixes the app's name, and levels below "log_level" are dropped.

__attribute__((format(printf, 4, 5))) static inline void
rs_log_(int level, char const *func, int line, char const *fmt, ...) {
    rs_t *rs = rs_cur_rs_;
    if (rs && level > rs->host->conf(rs)->log_level) {
        return;
    }
    char msg[2048];
    int n = snprintf(msg, sizeof msg, "%s():%d: ", func, line);
    if (n < 0 || (size_t)n >= sizeof msg) {
        n = 0;
    }
    va_list args;
    va_start(args, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, args);
    va_end(args);
    if (rs) {
        rs->host->log(rs, level, msg, strlen(msg));
    } else {
        fprintf(stderr, "ringsocket app (outside a callback): %s\n", msg);
    }
}
#define RS_LOG(level, ...) rs_log_((level), __func__, __LINE__, "" __VA_ARGS__)

// ---------------------------------------------------------------------------------------------
// Read parameter validation and decoding (used by the code RS_APP generates).

// Whole UTF-8 (RFC 3629: no overlongs, surrogates or code points past U+10FFFF), without NUL.
static inline bool rs_utf8_valid_(uint8_t const *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c == 0) {
            return false;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2, cp = c & 0x1Fu;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3, cp = c & 0x0Fu;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4, cp = c & 0x07u;
        } else {
            return false;
        }
        if (n - i < len) {
            return false;
        }
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0u) != 0x80u) {
                return false;
            }
            cp = (cp << 6) | (s[i + k] & 0x3Fu);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
            return false;
        }
        i += len;
    }
    return true;
}

// Converts elem_c elements of elem_size bytes from network to host byte order, in place.
static inline void rs_ntoh_elems_(void *elems, size_t elem_size, size_t elem_c) {
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
    uint8_t *b = (uint8_t *)elems;
    if (elem_size < 2) {
        return;
    }
    for (size_t e = 0; e < elem_c; e++, b += elem_size) {
        for (size_t i = 0, j = elem_size - 1; i < j; i++, j--) {
            uint8_t t = b[i];
            b[i] = b[j];
            b[j] = t;
        }
    }
#else
    (void)elems, (void)elem_size, (void)elem_c;
#endif
}

// ---------------------------------------------------------------------------------------------
// RS_APP(init_m, open_m, read_m, close_m, timer_m): exactly once, at file scope.
//
// Each argument macro expands to a tuple "(TAG, ...)" that RS_APP's generators take apart.

#define RS_INIT(...) (RS_K_INIT_, __VA_ARGS__, 0, ~)
#define RS_INIT_NONE (RS_K_NONE_, ~)
#define RS_OPEN(cb) (RS_K_CB_, cb)
#define RS_OPEN_NONE (RS_K_NONE_, ~)
#define RS_CLOSE(cb) (RS_K_CB_, cb)
#define RS_CLOSE_NONE (RS_K_NONE_, ~)
#define RS_TIMER_SLEEP(cb, microseconds) (RS_K_TIMER_, RS_TIMER_MODE_SLEEP, cb, microseconds)
#define RS_TIMER_WAKE(cb, microseconds) (RS_K_TIMER_, RS_TIMER_MODE_WAKE, cb, microseconds)
#define RS_TIMER_NONE (RS_K_NONE_, ~)
#define RS_UPGRADE(cb) (RS_K_CB_, cb)
#define RS_UPGRADE_NONE (RS_K_NONE_, ~)

#define RS_READ_BIN(...) (RS_K_READ_, RS_KIND_BIN_, __VA_ARGS__)
#define RS_READ_UTF8(...) (RS_K_READ_, RS_KIND_UTF8_, __VA_ARGS__)
#define RS_READ_ANY(...) (RS_K_READ_, RS_KIND_ANY_, __VA_ARGS__)
#define RS_READ_SWITCH(...) (RS_K_SWITCH_, __VA_ARGS__)
#define RS_READ_NONE (RS_K_NONE_, ~)
#define RS_CASE_BIN(...) (RS_KIND_BIN_, __VA_ARGS__)
#define RS_CASE_UTF8(...) (RS_KIND_UTF8_, __VA_ARGS__)
#define RS_CASE_ANY(...) (RS_KIND_ANY_, __VA_ARGS__)

// Read parameters: (FORM, ...).
#define RS_SEL3_(a, b, c, m, ...) m
#define RS_NET(...) RS_SEL3_(__VA_ARGS__, RS_NET3_, RS_NET2_, RS_NET1_, ~)(__VA_ARGS__)
#define RS_NTOH(...) RS_SEL3_(__VA_ARGS__, RS_NTOH3_, RS_NTOH2_, RS_NTOH1_, ~)(__VA_ARGS__)
#define RS_NET1_(type) (RS_P_ONE_, RS_O_NET_, type)
#define RS_NET2_(type, elem_c) (RS_P_ARR_, RS_O_NET_, type, elem_c)
#define RS_NET3_(type, min, max) (RS_P_VAR_, RS_O_NET_, RS_S_STACK_, type, min, max)
#define RS_NTOH1_(type) (RS_P_ONE_, RS_O_NTOH_, type)
#define RS_NTOH2_(type, elem_c) (RS_P_ARR_, RS_O_NTOH_, type, elem_c)
#define RS_NTOH3_(type, min, max) (RS_P_VAR_, RS_O_NTOH_, RS_S_STACK_, type, min, max)
#define RS_NET_STA(type, min, max) (RS_P_VAR_, RS_O_NET_, RS_S_STA_, type, min, max)
#define RS_NET_VLA(type, min, max) (RS_P_VAR_, RS_O_NET_, RS_S_VLA_, type, min, max)
#define RS_NET_HEAP(type, min, max) (RS_P_VAR_, RS_O_NET_, RS_S_HEAP_, type, min, max)
#define RS_NTOH_STA(type, min, max) (RS_P_VAR_, RS_O_NTOH_, RS_S_STA_, type, min, max)
#define RS_NTOH_VLA(type, min, max) (RS_P_VAR_, RS_O_NTOH_, RS_S_VLA_, type, min, max)
#define RS_NTOH_HEAP(type, min, max) (RS_P_VAR_, RS_O_NTOH_, RS_S_HEAP_, type, min, max)
#define RS_STR(min, max) (RS_P_STR_, RS_S_STACK_, min, max)
#define RS_STR_STA(min, max) (RS_P_STR_, RS_S_STA_, min, max)
#define RS_STR_VLA(min, max) (RS_P_STR_, RS_S_VLA_, min, max)
#define RS_STR_HEAP(min, max) (RS_P_STR_, RS_S_HEAP_, min, max)

// Token pasting, one macro per nesting level so that no expansion re-enters itself.
#define RS_CAT_A_(a, b) RS_CAT_A2_(a, b)
#define RS_CAT_A2_(a, b) a##b
#define RS_CAT_B_(a, b) RS_CAT_B2_(a, b)
#define RS_CAT_B2_(a, b) a##b
#define RS_CAT_C_(a, b) RS_CAT_C2_(a, b)
#define RS_CAT_C2_(a, b) a##b
#define RS_CAT_D_(a, b) RS_CAT_D2_(a, b)
#define RS_CAT_D2_(a, b) a##b
#define RS_CAT_E_(a, b) RS_CAT_E2_(a, b)
#define RS_CAT_E2_(a, b) a##b
#define RS_UNPAREN_A_(...) __VA_ARGS__
#define RS_UNPAREN_B_(...) __VA_ARGS__
#define RS_UNPAREN_C_(...) __VA_ARGS__

// -- decoding one parameter i of tot into rs_a<i> (and rs_c<i>) --
#define RS_DEC_(i, tot, t) RS_DEC_I_(i, tot, RS_UNPAREN_C_ t)
#define RS_DEC_I_(i, tot, x) RS_DEC_J_(i, tot, x)
#define RS_DEC_J_(i, tot, form, ...) RS_CAT_D_(RS_DEC_, form)(i, tot, __VA_ARGS__)
#define RS_NTOH_IF_(order, p, size, c) RS_CAT_E_(RS_NTOHF_, order)(p, size, c)
#define RS_NTOHF_RS_O_NET_(p, size, c)
#define RS_NTOHF_RS_O_NTOH_(p, size, c) rs_ntoh_elems_((p), (size), (c));
#define RS_DEC_RS_P_ONE_(i, tot, order, type)                                                      \
    type rs_a##i;                                                                                  \
    if (n - rs_off_ < sizeof(type)) {                                                              \
        return RS_CLOSE_WRONG_SIZE;                                                                \
    }                                                                                              \
    memcpy(&rs_a##i, p + rs_off_, sizeof(type));                                                   \
    rs_off_ += sizeof(type);                                                                       \
    RS_NTOH_IF_(order, &rs_a##i, sizeof(type), 1)
#define RS_DEC_RS_P_ARR_(i, tot, order, type, elem_c)                                              \
    type rs_a##i[elem_c];                                                                          \
    if ((n - rs_off_) / sizeof(type) < (size_t)(elem_c)) {                                         \
        return RS_CLOSE_WRONG_SIZE;                                                                \
    }                                                                                              \
    memcpy(rs_a##i, p + rs_off_, sizeof(type) * (size_t)(elem_c));                                 \
    rs_off_ += sizeof(type) * (size_t)(elem_c);                                                    \
    RS_NTOH_IF_(order, rs_a##i, sizeof(type), (size_t)(elem_c))
#define RS_DEC_RS_P_VAR_(i, tot, order, storage, type, min, max)                                   \
    _Static_assert((i) == (tot), "an RS_NET/RS_NTOH array with min and max (and its _STA, _VLA "   \
                                 "and _HEAP forms) must be the last read parameter");              \
    size_t rs_c##i = (n - rs_off_) / sizeof(type);                                                 \
    if ((n - rs_off_) % sizeof(type) || rs_c##i + 1 < (size_t)(min) + 1 ||                         \
        rs_c##i > (size_t)(max)) {                                                                 \
        return RS_CLOSE_WRONG_SIZE;                                                                \
    }                                                                                              \
    RS_CAT_E_(RS_ALLOC_, storage)(i, type, max, rs_c##i)                                           \
    memcpy(rs_a##i, p + rs_off_, n - rs_off_);                                                     \
    rs_off_ = n;                                                                                   \
    RS_NTOH_IF_(order, rs_a##i, sizeof(type), rs_c##i)
#define RS_DEC_RS_P_STR_(i, tot, storage, min, max)                                                \
    _Static_assert((i) == (tot), "an RS_STR parameter (and its _STA, _VLA and _HEAP forms) "       \
                                 "must be the last read parameter");                               \
    size_t rs_c##i = n - rs_off_;                                                                  \
    if (rs_c##i + 1 < (size_t)(min) + 1 || rs_c##i > (size_t)(max) ||                              \
        !rs_utf8_valid_(p + rs_off_, rs_c##i)) {                                                   \
        return RS_CLOSE_WRONG_SIZE;                                                                \
    }                                                                                              \
    RS_CAT_E_(RS_ALLOC_, storage)(i, char, (max) + 1, rs_c##i + 1)                                 \
    memcpy(rs_a##i, p + rs_off_, rs_c##i);                                                         \
    rs_a##i[rs_c##i] = '\0';                                                                       \
    rs_off_ = n;
// Storage for variable-length parameters: a stack array of max elements, a thread-local static
// one, a variable-length array of the actual count, or malloc (the app frees it).
#define RS_ALLOC_RS_S_STACK_(i, type, max, count)                                                  \
    type rs_s##i[(max) > 0 ? (max) : 1];                                                           \
    type *rs_a##i = rs_s##i;
#define RS_ALLOC_RS_S_STA_(i, type, max, count)                                                    \
    static _Thread_local type rs_s##i[(max) > 0 ? (max) : 1];                                      \
    type *rs_a##i = rs_s##i;
#define RS_ALLOC_RS_S_VLA_(i, type, max, count)                                                    \
    type rs_s##i[(count) > 0 ? (count) : 1];                                                       \
    type *rs_a##i = rs_s##i;
#define RS_ALLOC_RS_S_HEAP_(i, type, max, count)                                                   \
    type *rs_a##i = (type *)malloc((count) > 0 ? (count) * sizeof(type) : 1);                      \
    if (!rs_a##i) {                                                                                \
        RS_LOG(LOG_ERR, "out of memory for a read parameter");                                     \
        return -1;                                                                                 \
    }
// -- the callback's arguments for parameter i --
#define RS_ARG_(i, t) RS_ARG_I_(i, RS_UNPAREN_C_ t)
#define RS_ARG_I_(i, x) RS_ARG_J_(i, x)
#define RS_ARG_J_(i, form, ...) RS_CAT_D_(RS_ARG_, form)(i)
#define RS_ARG_RS_P_ONE_(i) , rs_a##i
#define RS_ARG_RS_P_ARR_(i) , rs_a##i
#define RS_ARG_RS_P_VAR_(i) , rs_a##i, rs_c##i
#define RS_ARG_RS_P_STR_(i) , rs_a##i, rs_c##i

// -- a read function: data kind check, parameters, exact size, then the callback --
#define RS_KIND_OK_RS_KIND_BIN_(rs) (rs_get_read_data_kind(rs) == RS_BIN)
#define RS_KIND_OK_RS_KIND_UTF8_(rs) (rs_get_read_data_kind(rs) == RS_UTF8)
#define RS_KIND_OK_RS_KIND_ANY_(rs) true
#define RS_READ_FN_(name, kind, ...)                                                               \
    static int name(rs_t *rs, uint8_t const *p, size_t n) {                                       \
        (void)p;                                                                                   \
        if (!RS_CAT_C_(RS_KIND_OK_, kind)(rs)) {                                                   \
            return RS_CLOSE_WRONG_DATA_KIND;                                                       \
        }                                                                                          \
        size_t rs_off_ = 0;                                                                        \
        RS_CAT_C_(RS_PARAMS_, RS_NARG16_(__VA_ARGS__))(__VA_ARGS__)                                \
    }

// -- RS_APP's generators --
#define RS_GEN_(what, t) RS_GEN_I_(what, RS_UNPAREN_A_ t)
#define RS_GEN_I_(what, x) RS_GEN_J_(what, x)
#define RS_GEN_J_(what, tag, ...) RS_CAT_A_(what, tag)(__VA_ARGS__)

#define RS_INIT_FN_RS_K_INIT_(cb, ...)                                                             \
    static int rs_init_entry_(rs_t *rs) {                                                          \
        rs_cur_rs_ = rs;                                                                           \
        return cb(rs);                                                                             \
    }
#define RS_INIT_FN_RS_K_NONE_(...)
#define RS_INIT_PTR_RS_K_INIT_(...) rs_init_entry_
#define RS_INIT_PTR_RS_K_NONE_(...) NULL
#define RS_INIT_SIZE_RS_K_INIT_(cb, size, ...) (size)
#define RS_INIT_SIZE_RS_K_NONE_(...) 0

#define RS_OPEN_FN_RS_K_CB_(cb)                                                                    \
    static int rs_open_entry_(rs_t *rs) {                                                          \
        rs_cur_rs_ = rs;                                                                           \
        return cb(rs);                                                                             \
    }
#define RS_OPEN_FN_RS_K_NONE_(...)
#define RS_OPEN_PTR_RS_K_CB_(cb) rs_open_entry_
#define RS_OPEN_PTR_RS_K_NONE_(...) NULL
#define RS_CLOSE_FN_RS_K_CB_(cb)                                                                   \
    static int rs_close_entry_(rs_t *rs) {                                                         \
        rs_cur_rs_ = rs;                                                                           \
        return cb(rs);                                                                             \
    }
#define RS_CLOSE_FN_RS_K_NONE_(...)
#define RS_CLOSE_PTR_RS_K_CB_(cb) rs_close_entry_
#define RS_CLOSE_PTR_RS_K_NONE_(...) NULL

#define RS_TIMER_FN_RS_K_TIMER_(mode, cb, us)                                                      \
    static int rs_timer_entry_(rs_t *rs) {                                                         \
        rs_cur_rs_ = rs;                                                                           \
        return cb(rs);                                                                             \
    }
#define RS_TIMER_FN_RS_K_NONE_(...)
#define RS_UPGRADE_FN_RS_K_CB_(cb)                                                                 \
    static int rs_upgrade_entry_(rs_t *rs) {                                                       \
        rs_cur_rs_ = rs;                                                                           \
        return cb(rs);                                                                             \
    }
#define RS_UPGRADE_FN_RS_K_NONE_(...)
#define RS_UPGRADE_PTR_RS_K_CB_(cb) rs_upgrade_entry_
#define RS_UPGRADE_PTR_RS_K_NONE_(...) NULL
#define RS_TIMER_PTR_RS_K_TIMER_(mode, cb, us) rs_timer_entry_
#define RS_TIMER_PTR_RS_K_NONE_(...) NULL
#define RS_TIMER_MODEF_RS_K_TIMER_(mode, cb, us) (mode)
#define RS_TIMER_MODEF_RS_K_NONE_(...) RS_TIMER_MODE_NONE
#define RS_TIMER_US_RS_K_TIMER_(mode, cb, us) (us)
#define RS_TIMER_US_RS_K_NONE_(...) 0

#define RS_READ_FNS_RS_K_READ_(kind, ...)                                                          \
    RS_READ_FN_(rs_read_body_, kind, __VA_ARGS__)                                                  \
    static int rs_read_entry_(rs_t *rs, uint8_t const *p, size_t n) {                             \
        rs_cur_rs_ = rs;                                                                           \
        return rs_read_body_(rs, p, n);                                                            \
    }
#define RS_READ_FNS_RS_K_SWITCH_(...)                                                              \
    RS_CAT_B_(RS_CF_, RS_NARG255_(__VA_ARGS__))(__VA_ARGS__)                                       \
    static int rs_read_entry_(rs_t *rs, uint8_t const *p, size_t n) {                             \
        rs_cur_rs_ = rs;                                                                           \
        if (!n) {                                                                                  \
            return RS_CLOSE_WRONG_SIZE;                                                            \
        }                                                                                          \
        switch (p[0]) {                                                                            \
            RS_CAT_B_(RS_CS_, RS_NARG255_(__VA_ARGS__))(__VA_ARGS__)                               \
        default:                                                                                   \
            return RS_CLOSE_UNKNOWN_CASE;                                                          \
        }                                                                                          \
    }
#define RS_READ_FNS_RS_K_NONE_(...)
#define RS_READ_PTR_RS_K_READ_(...) rs_read_entry_
#define RS_READ_PTR_RS_K_SWITCH_(...) rs_read_entry_
#define RS_READ_PTR_RS_K_NONE_(...) NULL

// A switch case k: its read function, and its "case value: return ..." line.
#define RS_CASE_FN_(k, c) RS_CASE_FN_I_(k, RS_UNPAREN_B_ c)
#define RS_CASE_FN_I_(k, x) RS_CASE_FN_J_(k, x)
#define RS_CASE_FN_J_(k, kind, val, ...) RS_READ_FN_(rs_case_fn_##k##_, kind, __VA_ARGS__)
#define RS_CASE_SW_(k, c) RS_CASE_SW_I_(k, RS_UNPAREN_B_ c)
#define RS_CASE_SW_I_(k, x) RS_CASE_SW_J_(k, x)
#define RS_CASE_SW_J_(k, kind, val, ...)                                                           \
    case (val):                                                                                    \
        return rs_case_fn_##k##_(rs, p + 1, n - 1);

// RS_APP(init_m, open_m, read_m, close_m, timer_m[, upgrade_m]): the upgrade argument is
// optional (RS_UPGRADE(cb) or RS_UPGRADE_NONE), so apps written for the spec's five compile.
#define RS_APP(...) RS_APP_I_(__VA_ARGS__, RS_UPGRADE_NONE, ~)
#define RS_APP_I_(init_m, open_m, read_m, close_m, timer_m, upgrade_m, ...)                        \
    __attribute__((visibility("hidden"))) _Thread_local rs_t *rs_cur_rs_ = NULL;                  \
    RS_GEN_(RS_INIT_FN_, init_m)                                                                   \
    RS_GEN_(RS_OPEN_FN_, open_m)                                                                   \
    RS_GEN_(RS_READ_FNS_, read_m)                                                                  \
    RS_GEN_(RS_CLOSE_FN_, close_m)                                                                 \
    RS_GEN_(RS_TIMER_FN_, timer_m)                                                                 \
    RS_GEN_(RS_UPGRADE_FN_, upgrade_m)                                                             \
    __attribute__((visibility("default"))) struct rs_app_descriptor const                         \
        ringsocket_app_descriptor = {                                                              \
            .magic = RS_APP_MAGIC,                                                                 \
            .abi_version = RS_ABI_VERSION,                                                         \
            .struct_size = sizeof(struct rs_app_descriptor),                                       \
            .timer_mode = RS_GEN_(RS_TIMER_MODEF_, timer_m),                                       \
            .timer_interval_us = RS_GEN_(RS_TIMER_US_, timer_m),                                   \
            .app_data_size = RS_GEN_(RS_INIT_SIZE_, init_m),                                       \
            .init = RS_GEN_(RS_INIT_PTR_, init_m),                                                 \
            .open = RS_GEN_(RS_OPEN_PTR_, open_m),                                                 \
            .read = RS_GEN_(RS_READ_PTR_, read_m),                                                 \
            .close = RS_GEN_(RS_CLOSE_PTR_, close_m),                                              \
            .timer = RS_GEN_(RS_TIMER_PTR_, timer_m),                                              \
            .upgrade = RS_GEN_(RS_UPGRADE_PTR_, upgrade_m),                                        \
    }

// BEGIN GENERATED
// Counting arguments (one more than the limit is a compile error).
#define RS_NARG16_(...) RS_NARG16_I_(__VA_ARGS__, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, ~)
#define RS_NARG16_I_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, N, ...) N
#define RS_NARG255_(...) RS_NARG255_I_(__VA_ARGS__, 255, 254, 253, 252, 251, 250, 249, 248, 247, 246, 245, 244, 243, 242, 241, 240, 239, 238, 237, 236, 235, 234, 233, 232, 231, 230, 229, 228, 227, 226, 225, 224, 223, 222, 221, 220, 219, 218, 217, 216, 215, 214, 213, 212, 211, 210, 209, 208, 207, 206, 205, 204, 203, 202, 201, 200, 199, 198, 197, 196, 195, 194, 193, 192, 191, 190, 189, 188, 187, 186, 185, 184, 183, 182, 181, 180, 179, 178, 177, 176, 175, 174, 173, 172, 171, 170, 169, 168, 167, 166, 165, 164, 163, 162, 161, 160, 159, 158, 157, 156, 155, 154, 153, 152, 151, 150, 149, 148, 147, 146, 145, 144, 143, 142, 141, 140, 139, 138, 137, 136, 135, 134, 133, 132, 131, 130, 129, 128, 127, 126, 125, 124, 123, 122, 121, 120, 119, 118, 117, 116, 115, 114, 113, 112, 111, 110, 109, 108, 107, 106, 105, 104, 103, 102, 101, 100, 99, 98, 97, 96, 95, 94, 93, 92, 91, 90, 89, 88, 87, 86, 85, 84, 83, 82, 81, 80, 79, 78, 77, 76, 75, 74, 73, 72, 71, 70, 69, 68, 67, 66, 65, 64, 63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, ~)
#define RS_NARG255_I_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, _32, _33, _34, _35, _36, _37, _38, _39, _40, _41, _42, _43, _44, _45, _46, _47, _48, _49, _50, _51, _52, _53, _54, _55, _56, _57, _58, _59, _60, _61, _62, _63, _64, _65, _66, _67, _68, _69, _70, _71, _72, _73, _74, _75, _76, _77, _78, _79, _80, _81, _82, _83, _84, _85, _86, _87, _88, _89, _90, _91, _92, _93, _94, _95, _96, _97, _98, _99, _100, _101, _102, _103, _104, _105, _106, _107, _108, _109, _110, _111, _112, _113, _114, _115, _116, _117, _118, _119, _120, _121, _122, _123, _124, _125, _126, _127, _128, _129, _130, _131, _132, _133, _134, _135, _136, _137, _138, _139, _140, _141, _142, _143, _144, _145, _146, _147, _148, _149, _150, _151, _152, _153, _154, _155, _156, _157, _158, _159, _160, _161, _162, _163, _164, _165, _166, _167, _168, _169, _170, _171, _172, _173, _174, _175, _176, _177, _178, _179, _180, _181, _182, _183, _184, _185, _186, _187, _188, _189, _190, _191, _192, _193, _194, _195, _196, _197, _198, _199, _200, _201, _202, _203, _204, _205, _206, _207, _208, _209, _210, _211, _212, _213, _214, _215, _216, _217, _218, _219, _220, _221, _222, _223, _224, _225, _226, _227, _228, _229, _230, _231, _232, _233, _234, _235, _236, _237, _238, _239, _240, _241, _242, _243, _244, _245, _246, _247, _248, _249, _250, _251, _252, _253, _254, _255, N, ...) N
// A read function's body for a callback and k - 1 parameters.
#define RS_PARAMS_1(cb) if (rs_off_ != n) { return RS_CLOSE_WRONG_SIZE; } return cb(rs );
#define RS_PARAMS_2(cb, p1) RS_DEC_(1, 1, p1) if (rs_off_ != n) { return RS_CLOSE_WRONG_SIZE; } return cb(rs RS_ARG_(1, p1));
#define RS_PARAMS_3(cb, p1, p2) RS_DEC_(1, 2, p1) RS_DEC_(2, 2, p2) if (rs_off_ != n) { return RS_CLOSE_WRONG_SIZE; } return cb(rs RS_ARG_(1, p1) RS_ARG_(2, p2));
#define RS_PARAMS_4(cb, p1, p2, p3) RS_DEC_(1, 3, p1) RS_DEC_(2, 3, p2) RS_DEC_(3, 3, p3) if (rs_off_ != n) { return RS_CLOSE_WRONG_SIZE; } return cb(rs RS_ARG_(1, p1) RS_ARG_(2, p2) RS_ARG_(3, p3));
#define RS_PARAMS_5(cb, p1, p2, p3, p4) RS_DEC_(1, 4, p1) RS_DEC_(2, 4, p2) RS_DEC_(3, 4, p3) RS_DEC_(4, 4, p4) if (rs_off_ != n) { return RS_CLOSE_WRONG_SIZE; } return cb(rs RS_ARG_(1, p1) RS_ARG_(2, p2) RS_ARG_(3, p3) RS_ARG_(4, p4));
#define RS_PARAMS_6(cb, p1, p2, p3, p4, p5) RS_DEC_(1, 5, p1) RS_DEC_(2, 5, p2) RS_DEC_(3, 5, p3) RS_DEC_(4, 5, p4) RS_DEC_(5, 5, p5) if (rs_off_ != n) { return RS_CLOSE_WRONG_SIZE; } return cb(rs RS_ARG_(1, p1) RS_ARG_(2, p2) RS_ARG_(3, p3) RS_ARG_(4, p4) RS_ARG_(5, p5));
#define RS_PARAMS_7(cb, p1, p2, p3, p4, p5, p6) RS_DEC_(1, 6, p1) RS_DEC_(2, 6, p2) RS_DEC_(3, 6, p3) RS_DEC_(4, 6, p4) RS_DEC_(5, 6, p5) RS_DEC_(6, 6, p6) if (rs_off_ != n) { return RS_CLOSE_WRONG_SIZE; } return cb(rs RS_ARG_(1, p1) RS_ARG_(2, p2) RS_ARG_(3, p3) RS_ARG_(4, p4) RS_ARG_(5, p5) RS_ARG_(6, p6));
#define RS_PARAMS_8(cb, p1, p2, p3, p4, p5, p6, p7) RS_DEC_(1, 7, p1) RS_DEC_(2, 7, p2) RS_DEC_(3, 7, p3) RS_DEC_(4, 7, p4) RS_DEC_(5, 7, p5) RS_DEC_(6, 7, p6) RS_DEC_(7, 7, p7) if (rs_off_ != n) { return RS_CLOSE_WRONG_SIZE; } return cb(rs RS_ARG_(1, p1) RS_ARG_(2, p2) RS_ARG_(3, p3) RS_ARG_(4, p4) RS_ARG_(5, p5) RS_ARG_(6, p6) RS_ARG_(7, p7));
#define RS_PARAMS_9(cb, p1, p2, p3, p4, p5, p6, p7, p8) RS_DEC_(1, 8, p1) RS_DEC_(2, 8, p2) RS_DEC_(3, 8, p3) RS_DEC_(4, 8, p4) RS_DEC_(5, 8, p5) RS_DEC_(6, 8, p6) RS_DEC_(7, 8, p7) RS_DEC_(8, 8, p8) if (rs_off_ != n) { return RS_CLOSE_WRONG_SIZE; } return cb(rs RS_ARG_(1, p1) RS_ARG_(2, p2) RS_ARG_(3, p3) RS_ARG_(4, p4) RS_ARG_(5, p5) RS_ARG_(6, p6) RS_ARG_(7, p7) RS_ARG_(8, p8));
#define RS_PARAMS_10(cb, p1, p2, p3, p4, p5, p6, p7, p8, p9) RS_DEC_(1, 9, p1) RS_DEC_(2, 9, p2) RS_DEC_(3, 9, p3) RS_DEC_(4, 9, p4) RS_DEC_(5, 9, p5) RS_DEC_(6, 9, p6) RS_DEC_(7, 9, p7) RS_DEC_(8, 9, p8) RS_DEC_(9, 9, p9) if (rs_off_ != n) { return RS_CLOSE_WRONG_SIZE; } return cb(rs RS_ARG_(1, p1) RS_ARG_(2, p2) RS_ARG_(3, p3) RS_ARG_(4, p4) RS_ARG_(5, p5) RS_ARG_(6, p6) RS_ARG_(7, p7) RS_ARG_(8, p8) RS_ARG_(9, p9));
#define RS_PARAMS_11(cb, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10) RS_DEC_(1, 10, p1) RS_DEC_(2, 10, p2) RS_DEC_(3, 10, p3) RS_DEC_(4, 10, p4) RS_DEC_(5, 10, p5) RS_DEC_(6, 10, p6) RS_DEC_(7, 10, p7) RS_DEC_(8, 10, p8) RS_DEC_(9, 10, p9) RS_DEC_(10, 10, p10) if (rs_off_ != n) { return RS_CLOSE_WRONG_SIZE; } return cb(rs RS_ARG_(1, p1) RS_ARG_(2, p2) RS_ARG_(3, p3) RS_ARG_(4, p4) RS_ARG_(5, p5) RS_ARG_(6, p6) RS_ARG_(7, p7) RS_ARG_(8, p8) RS_ARG_(9, p9) RS_ARG_(10, p10));
#define RS_PARAMS_12(cb, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11) RS_DEC_(1, 11, p1) RS_DEC_(2, 11, p2) RS_DEC_(3, 11, p3) RS_DEC_(4, 11, p4) RS_DEC_(5, 11, p5) RS_DEC_(6, 11, p6) RS_DEC_(7, 11, p7) RS_DEC_(8, 11, p8) RS_DEC_(9, 11, p9) RS_DEC_(10, 11, p10) RS_DEC_(11, 11, p11) if (rs_off_ != n) { return RS_CLOSE_WRONG_SIZE; } return cb(rs RS_ARG_(1, p1) RS_ARG_(2, p2) RS_ARG_(3, p3) RS_ARG_(4, p4) RS_ARG_(5, p5) RS_ARG_(6, p6) RS_ARG_(7, p7) RS_ARG_(8, p8) RS_ARG_(9, p9) RS_ARG_(10, p10) RS_ARG_(11, p11));
#define RS_PARAMS_13(cb, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12) RS_DEC_(1, 12, p1) RS_DEC_(2, 12, p2) RS_DEC_(3, 12, p3) RS_DEC_(4, 12, p4) RS_DEC_(5, 12, p5) RS_DEC_(6, 12, p6) RS_DEC_(7, 12, p7) RS_DEC_(8, 12, p8) RS_DEC_(9, 12, p9) RS_DEC_(10, 12, p10) RS_DEC_(11, 12, p11) RS_DEC_(12, 12, p12) if (rs_off_ != n) { return RS_CLOSE_WRONG_SIZE; } return cb(rs RS_ARG_(1, p1) RS_ARG_(2, p2) RS_ARG_(3, p3) RS_ARG_(4, p4) RS_ARG_(5, p5) RS_ARG_(6, p6) RS_ARG_(7, p7) RS_ARG_(8, p8) RS_ARG_(9, p9) RS_ARG_(10, p10) RS_ARG_(11, p11) RS_ARG_(12, p12));
#define RS_PARAMS_14(cb, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13) RS_DEC_(1, 13, p1) RS_DEC_(2, 13, p2) RS_DEC_(3, 13, p3) RS_DEC_(4, 13, p4) RS_DEC_(5, 13, p5) RS_DEC_(6, 13, p6) RS_DEC_(7, 13, p7) RS_DEC_(8, 13, p8) RS_DEC_(9, 13, p9) RS_DEC_(10, 13, p10) RS_DEC_(11, 13, p11) RS_DEC_(12, 13, p12) RS_DEC_(13, 13, p13) if (rs_off_ != n) { return RS_CLOSE_WRONG_SIZE; } return cb(rs RS_ARG_(1, p1) RS_ARG_(2, p2) RS_ARG_(3, p3) RS_ARG_(4, p4) RS_ARG_(5, p5) RS_ARG_(6, p6) RS_ARG_(7, p7) RS_ARG_(8, p8) RS_ARG_(9, p9) RS_ARG_(10, p10) RS_ARG_(11, p11) RS_ARG_(12, p12) RS_ARG_(13, p13));
#define RS_PARAMS_15(cb, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13, p14) RS_DEC_(1, 14, p1) RS_DEC_(2, 14, p2) RS_DEC_(3, 14, p3) RS_DEC_(4, 14, p4) RS_DEC_(5, 14, p5) RS_DEC_(6, 14, p6) RS_DEC_(7, 14, p7) RS_DEC_(8, 14, p8) RS_DEC_(9, 14, p9) RS_DEC_(10, 14, p10) RS_DEC_(11, 14, p11) RS_DEC_(12, 14, p12) RS_DEC_(13, 14, p13) RS_DEC_(14, 14, p14) if (rs_off_ != n) { return RS_CLOSE_WRONG_SIZE; } return cb(rs RS_ARG_(1, p1) RS_ARG_(2, p2) RS_ARG_(3, p3) RS_ARG_(4, p4) RS_ARG_(5, p5) RS_ARG_(6, p6) RS_ARG_(7, p7) RS_ARG_(8, p8) RS_ARG_(9, p9) RS_ARG_(10, p10) RS_ARG_(11, p11) RS_ARG_(12, p12) RS_ARG_(13, p13) RS_ARG_(14, p14));
#define RS_PARAMS_16(cb, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13, p14, p15) RS_DEC_(1, 15, p1) RS_DEC_(2, 15, p2) RS_DEC_(3, 15, p3) RS_DEC_(4, 15, p4) RS_DEC_(5, 15, p5) RS_DEC_(6, 15, p6) RS_DEC_(7, 15, p7) RS_DEC_(8, 15, p8) RS_DEC_(9, 15, p9) RS_DEC_(10, 15, p10) RS_DEC_(11, 15, p11) RS_DEC_(12, 15, p12) RS_DEC_(13, 15, p13) RS_DEC_(14, 15, p14) RS_DEC_(15, 15, p15) if (rs_off_ != n) { return RS_CLOSE_WRONG_SIZE; } return cb(rs RS_ARG_(1, p1) RS_ARG_(2, p2) RS_ARG_(3, p3) RS_ARG_(4, p4) RS_ARG_(5, p5) RS_ARG_(6, p6) RS_ARG_(7, p7) RS_ARG_(8, p8) RS_ARG_(9, p9) RS_ARG_(10, p10) RS_ARG_(11, p11) RS_ARG_(12, p12) RS_ARG_(13, p13) RS_ARG_(14, p14) RS_ARG_(15, p15));
// Switch cases, last to first: their functions (RS_CF_) and switch lines (RS_CS_).
#define RS_CF_1(c) RS_CASE_FN_(1, c)
#define RS_CS_1(c) RS_CASE_SW_(1, c)
#define RS_CF_2(c, ...) RS_CASE_FN_(2, c) RS_CF_1(__VA_ARGS__)
#define RS_CS_2(c, ...) RS_CASE_SW_(2, c) RS_CS_1(__VA_ARGS__)
#define RS_CF_3(c, ...) RS_CASE_FN_(3, c) RS_CF_2(__VA_ARGS__)
#define RS_CS_3(c, ...) RS_CASE_SW_(3, c) RS_CS_2(__VA_ARGS__)
#define RS_CF_4(c, ...) RS_CASE_FN_(4, c) RS_CF_3(__VA_ARGS__)
#define RS_CS_4(c, ...) RS_CASE_SW_(4, c) RS_CS_3(__VA_ARGS__)
#define RS_CF_5(c, ...) RS_CASE_FN_(5, c) RS_CF_4(__VA_ARGS__)
#define RS_CS_5(c, ...) RS_CASE_SW_(5, c) RS_CS_4(__VA_ARGS__)
#define RS_CF_6(c, ...) RS_CASE_FN_(6, c) RS_CF_5(__VA_ARGS__)
#define RS_CS_6(c, ...) RS_CASE_SW_(6, c) RS_CS_5(__VA_ARGS__)
#define RS_CF_7(c, ...) RS_CASE_FN_(7, c) RS_CF_6(__VA_ARGS__)
#define RS_CS_7(c, ...) RS_CASE_SW_(7, c) RS_CS_6(__VA_ARGS__)
#define RS_CF_8(c, ...) RS_CASE_FN_(8, c) RS_CF_7(__VA_ARGS__)
#define RS_CS_8(c, ...) RS_CASE_SW_(8, c) RS_CS_7(__VA_ARGS__)
#define RS_CF_9(c, ...) RS_CASE_FN_(9, c) RS_CF_8(__VA_ARGS__)
#define RS_CS_9(c, ...) RS_CASE_SW_(9, c) RS_CS_8(__VA_ARGS__)
#define RS_CF_10(c, ...) RS_CASE_FN_(10, c) RS_CF_9(__VA_ARGS__)
#define RS_CS_10(c, ...) RS_CASE_SW_(10, c) RS_CS_9(__VA_ARGS__)
#define RS_CF_11(c, ...) RS_CASE_FN_(11, c) RS_CF_10(__VA_ARGS__)
#define RS_CS_11(c, ...) RS_CASE_SW_(11, c) RS_CS_10(__VA_ARGS__)
#define RS_CF_12(c, ...) RS_CASE_FN_(12, c) RS_CF_11(__VA_ARGS__)
#define RS_CS_12(c, ...) RS_CASE_SW_(12, c) RS_CS_11(__VA_ARGS__)
#define RS_CF_13(c, ...) RS_CASE_FN_(13, c) RS_CF_12(__VA_ARGS__)
#define RS_CS_13(c, ...) RS_CASE_SW_(13, c) RS_CS_12(__VA_ARGS__)
#define RS_CF_14(c, ...) RS_CASE_FN_(14, c) RS_CF_13(__VA_ARGS__)
#define RS_CS_14(c, ...) RS_CASE_SW_(14, c) RS_CS_13(__VA_ARGS__)
#define RS_CF_15(c, ...) RS_CASE_FN_(15, c) RS_CF_14(__VA_ARGS__)
#define RS_CS_15(c, ...) RS_CASE_SW_(15, c) RS_CS_14(__VA_ARGS__)
#define RS_CF_16(c, ...) RS_CASE_FN_(16, c) RS_CF_15(__VA_ARGS__)
#define RS_CS_16(c, ...) RS_CASE_SW_(16, c) RS_CS_15(__VA_ARGS__)
#define RS_CF_17(c, ...) RS_CASE_FN_(17, c) RS_CF_16(__VA_ARGS__)
#define RS_CS_17(c, ...) RS_CASE_SW_(17, c) RS_CS_16(__VA_ARGS__)
#define RS_CF_18(c, ...) RS_CASE_FN_(18, c) RS_CF_17(__VA_ARGS__)
#define RS_CS_18(c, ...) RS_CASE_SW_(18, c) RS_CS_17(__VA_ARGS__)
#define RS_CF_19(c, ...) RS_CASE_FN_(19, c) RS_CF_18(__VA_ARGS__)
#define RS_CS_19(c, ...) RS_CASE_SW_(19, c) RS_CS_18(__VA_ARGS__)
#define RS_CF_20(c, ...) RS_CASE_FN_(20, c) RS_CF_19(__VA_ARGS__)
#define RS_CS_20(c, ...) RS_CASE_SW_(20, c) RS_CS_19(__VA_ARGS__)
#define RS_CF_21(c, ...) RS_CASE_FN_(21, c) RS_CF_20(__VA_ARGS__)
#define RS_CS_21(c, ...) RS_CASE_SW_(21, c) RS_CS_20(__VA_ARGS__)
#define RS_CF_22(c, ...) RS_CASE_FN_(22, c) RS_CF_21(__VA_ARGS__)
#define RS_CS_22(c, ...) RS_CASE_SW_(22, c) RS_CS_21(__VA_ARGS__)
#define RS_CF_23(c, ...) RS_CASE_FN_(23, c) RS_CF_22(__VA_ARGS__)
#define RS_CS_23(c, ...) RS_CASE_SW_(23, c) RS_CS_22(__VA_ARGS__)
#define RS_CF_24(c, ...) RS_CASE_FN_(24, c) RS_CF_23(__VA_ARGS__)
#define RS_CS_24(c, ...) RS_CASE_SW_(24, c) RS_CS_23(__VA_ARGS__)
#define RS_CF_25(c, ...) RS_CASE_FN_(25, c) RS_CF_24(__VA_ARGS__)
#define RS_CS_25(c, ...) RS_CASE_SW_(25, c) RS_CS_24(__VA_ARGS__)
#define RS_CF_26(c, ...) RS_CASE_FN_(26, c) RS_CF_25(__VA_ARGS__)
#define RS_CS_26(c, ...) RS_CASE_SW_(26, c) RS_CS_25(__VA_ARGS__)
#define RS_CF_27(c, ...) RS_CASE_FN_(27, c) RS_CF_26(__VA_ARGS__)
#define RS_CS_27(c, ...) RS_CASE_SW_(27, c) RS_CS_26(__VA_ARGS__)
#define RS_CF_28(c, ...) RS_CASE_FN_(28, c) RS_CF_27(__VA_ARGS__)
#define RS_CS_28(c, ...) RS_CASE_SW_(28, c) RS_CS_27(__VA_ARGS__)
#define RS_CF_29(c, ...) RS_CASE_FN_(29, c) RS_CF_28(__VA_ARGS__)
#define RS_CS_29(c, ...) RS_CASE_SW_(29, c) RS_CS_28(__VA_ARGS__)
#define RS_CF_30(c, ...) RS_CASE_FN_(30, c) RS_CF_29(__VA_ARGS__)
#define RS_CS_30(c, ...) RS_CASE_SW_(30, c) RS_CS_29(__VA_ARGS__)
#define RS_CF_31(c, ...) RS_CASE_FN_(31, c) RS_CF_30(__VA_ARGS__)
#define RS_CS_31(c, ...) RS_CASE_SW_(31, c) RS_CS_30(__VA_ARGS__)
#define RS_CF_32(c, ...) RS_CASE_FN_(32, c) RS_CF_31(__VA_ARGS__)
#define RS_CS_32(c, ...) RS_CASE_SW_(32, c) RS_CS_31(__VA_ARGS__)
#define RS_CF_33(c, ...) RS_CASE_FN_(33, c) RS_CF_32(__VA_ARGS__)
#define RS_CS_33(c, ...) RS_CASE_SW_(33, c) RS_CS_32(__VA_ARGS__)
#define RS_CF_34(c, ...) RS_CASE_FN_(34, c) RS_CF_33(__VA_ARGS__)
#define RS_CS_34(c, ...) RS_CASE_SW_(34, c) RS_CS_33(__VA_ARGS__)
#define RS_CF_35(c, ...) RS_CASE_FN_(35, c) RS_CF_34(__VA_ARGS__)
#define RS_CS_35(c, ...) RS_CASE_SW_(35, c) RS_CS_34(__VA_ARGS__)
#define RS_CF_36(c, ...) RS_CASE_FN_(36, c) RS_CF_35(__VA_ARGS__)
#define RS_CS_36(c, ...) RS_CASE_SW_(36, c) RS_CS_35(__VA_ARGS__)
#define RS_CF_37(c, ...) RS_CASE_FN_(37, c) RS_CF_36(__VA_ARGS__)
#define RS_CS_37(c, ...) RS_CASE_SW_(37, c) RS_CS_36(__VA_ARGS__)
#define RS_CF_38(c, ...) RS_CASE_FN_(38, c) RS_CF_37(__VA_ARGS__)
#define RS_CS_38(c, ...) RS_CASE_SW_(38, c) RS_CS_37(__VA_ARGS__)
#define RS_CF_39(c, ...) RS_CASE_FN_(39, c) RS_CF_38(__VA_ARGS__)
#define RS_CS_39(c, ...) RS_CASE_SW_(39, c) RS_CS_38(__VA_ARGS__)
#define RS_CF_40(c, ...) RS_CASE_FN_(40, c) RS_CF_39(__VA_ARGS__)
#define RS_CS_40(c, ...) RS_CASE_SW_(40, c) RS_CS_39(__VA_ARGS__)
#define RS_CF_41(c, ...) RS_CASE_FN_(41, c) RS_CF_40(__VA_ARGS__)
#define RS_CS_41(c, ...) RS_CASE_SW_(41, c) RS_CS_40(__VA_ARGS__)
#define RS_CF_42(c, ...) RS_CASE_FN_(42, c) RS_CF_41(__VA_ARGS__)
#define RS_CS_42(c, ...) RS_CASE_SW_(42, c) RS_CS_41(__VA_ARGS__)
#define RS_CF_43(c, ...) RS_CASE_FN_(43, c) RS_CF_42(__VA_ARGS__)
#define RS_CS_43(c, ...) RS_CASE_SW_(43, c) RS_CS_42(__VA_ARGS__)
#define RS_CF_44(c, ...) RS_CASE_FN_(44, c) RS_CF_43(__VA_ARGS__)
#define RS_CS_44(c, ...) RS_CASE_SW_(44, c) RS_CS_43(__VA_ARGS__)
#define RS_CF_45(c, ...) RS_CASE_FN_(45, c) RS_CF_44(__VA_ARGS__)
#define RS_CS_45(c, ...) RS_CASE_SW_(45, c) RS_CS_44(__VA_ARGS__)
#define RS_CF_46(c, ...) RS_CASE_FN_(46, c) RS_CF_45(__VA_ARGS__)
#define RS_CS_46(c, ...) RS_CASE_SW_(46, c) RS_CS_45(__VA_ARGS__)
#define RS_CF_47(c, ...) RS_CASE_FN_(47, c) RS_CF_46(__VA_ARGS__)
#define RS_CS_47(c, ...) RS_CASE_SW_(47, c) RS_CS_46(__VA_ARGS__)
#define RS_CF_48(c, ...) RS_CASE_FN_(48, c) RS_CF_47(__VA_ARGS__)
#define RS_CS_48(c, ...) RS_CASE_SW_(48, c) RS_CS_47(__VA_ARGS__)
#define RS_CF_49(c, ...) RS_CASE_FN_(49, c) RS_CF_48(__VA_ARGS__)
#define RS_CS_49(c, ...) RS_CASE_SW_(49, c) RS_CS_48(__VA_ARGS__)
#define RS_CF_50(c, ...) RS_CASE_FN_(50, c) RS_CF_49(__VA_ARGS__)
#define RS_CS_50(c, ...) RS_CASE_SW_(50, c) RS_CS_49(__VA_ARGS__)
#define RS_CF_51(c, ...) RS_CASE_FN_(51, c) RS_CF_50(__VA_ARGS__)
#define RS_CS_51(c, ...) RS_CASE_SW_(51, c) RS_CS_50(__VA_ARGS__)
#define RS_CF_52(c, ...) RS_CASE_FN_(52, c) RS_CF_51(__VA_ARGS__)
#define RS_CS_52(c, ...) RS_CASE_SW_(52, c) RS_CS_51(__VA_ARGS__)
#define RS_CF_53(c, ...) RS_CASE_FN_(53, c) RS_CF_52(__VA_ARGS__)
#define RS_CS_53(c, ...) RS_CASE_SW_(53, c) RS_CS_52(__VA_ARGS__)
#define RS_CF_54(c, ...) RS_CASE_FN_(54, c) RS_CF_53(__VA_ARGS__)
#define RS_CS_54(c, ...) RS_CASE_SW_(54, c) RS_CS_53(__VA_ARGS__)
#define RS_CF_55(c, ...) RS_CASE_FN_(55, c) RS_CF_54(__VA_ARGS__)
#define RS_CS_55(c, ...) RS_CASE_SW_(55, c) RS_CS_54(__VA_ARGS__)
#define RS_CF_56(c, ...) RS_CASE_FN_(56, c) RS_CF_55(__VA_ARGS__)
#define RS_CS_56(c, ...) RS_CASE_SW_(56, c) RS_CS_55(__VA_ARGS__)
#define RS_CF_57(c, ...) RS_CASE_FN_(57, c) RS_CF_56(__VA_ARGS__)
#define RS_CS_57(c, ...) RS_CASE_SW_(57, c) RS_CS_56(__VA_ARGS__)
#define RS_CF_58(c, ...) RS_CASE_FN_(58, c) RS_CF_57(__VA_ARGS__)
#define RS_CS_58(c, ...) RS_CASE_SW_(58, c) RS_CS_57(__VA_ARGS__)
#define RS_CF_59(c, ...) RS_CASE_FN_(59, c) RS_CF_58(__VA_ARGS__)
#define RS_CS_59(c, ...) RS_CASE_SW_(59, c) RS_CS_58(__VA_ARGS__)
#define RS_CF_60(c, ...) RS_CASE_FN_(60, c) RS_CF_59(__VA_ARGS__)
#define RS_CS_60(c, ...) RS_CASE_SW_(60, c) RS_CS_59(__VA_ARGS__)
#define RS_CF_61(c, ...) RS_CASE_FN_(61, c) RS_CF_60(__VA_ARGS__)
#define RS_CS_61(c, ...) RS_CASE_SW_(61, c) RS_CS_60(__VA_ARGS__)
#define RS_CF_62(c, ...) RS_CASE_FN_(62, c) RS_CF_61(__VA_ARGS__)
#define RS_CS_62(c, ...) RS_CASE_SW_(62, c) RS_CS_61(__VA_ARGS__)
#define RS_CF_63(c, ...) RS_CASE_FN_(63, c) RS_CF_62(__VA_ARGS__)
#define RS_CS_63(c, ...) RS_CASE_SW_(63, c) RS_CS_62(__VA_ARGS__)
#define RS_CF_64(c, ...) RS_CASE_FN_(64, c) RS_CF_63(__VA_ARGS__)
#define RS_CS_64(c, ...) RS_CASE_SW_(64, c) RS_CS_63(__VA_ARGS__)
#define RS_CF_65(c, ...) RS_CASE_FN_(65, c) RS_CF_64(__VA_ARGS__)
#define RS_CS_65(c, ...) RS_CASE_SW_(65, c) RS_CS_64(__VA_ARGS__)
#define RS_CF_66(c, ...) RS_CASE_FN_(66, c) RS_CF_65(__VA_ARGS__)
#define RS_CS_66(c, ...) RS_CASE_SW_(66, c) RS_CS_65(__VA_ARGS__)
#define RS_CF_67(c, ...) RS_CASE_FN_(67, c) RS_CF_66(__VA_ARGS__)
#define RS_CS_67(c, ...) RS_CASE_SW_(67, c) RS_CS_66(__VA_ARGS__)
#define RS_CF_68(c, ...) RS_CASE_FN_(68, c) RS_CF_67(__VA_ARGS__)
#define RS_CS_68(c, ...) RS_CASE_SW_(68, c) RS_CS_67(__VA_ARGS__)
#define RS_CF_69(c, ...) RS_CASE_FN_(69, c) RS_CF_68(__VA_ARGS__)
#define RS_CS_69(c, ...) RS_CASE_SW_(69, c) RS_CS_68(__VA_ARGS__)
#define RS_CF_70(c, ...) RS_CASE_FN_(70, c) RS_CF_69(__VA_ARGS__)
#define RS_CS_70(c, ...) RS_CASE_SW_(70, c) RS_CS_69(__VA_ARGS__)
#define RS_CF_71(c, ...) RS_CASE_FN_(71, c) RS_CF_70(__VA_ARGS__)
#define RS_CS_71(c, ...) RS_CASE_SW_(71, c) RS_CS_70(__VA_ARGS__)
#define RS_CF_72(c, ...) RS_CASE_FN_(72, c) RS_CF_71(__VA_ARGS__)
#define RS_CS_72(c, ...) RS_CASE_SW_(72, c) RS_CS_71(__VA_ARGS__)
#define RS_CF_73(c, ...) RS_CASE_FN_(73, c) RS_CF_72(__VA_ARGS__)
#define RS_CS_73(c, ...) RS_CASE_SW_(73, c) RS_CS_72(__VA_ARGS__)
#define RS_CF_74(c, ...) RS_CASE_FN_(74, c) RS_CF_73(__VA_ARGS__)
#define RS_CS_74(c, ...) RS_CASE_SW_(74, c) RS_CS_73(__VA_ARGS__)
#define RS_CF_75(c, ...) RS_CASE_FN_(75, c) RS_CF_74(__VA_ARGS__)
#define RS_CS_75(c, ...) RS_CASE_SW_(75, c) RS_CS_74(__VA_ARGS__)
#define RS_CF_76(c, ...) RS_CASE_FN_(76, c) RS_CF_75(__VA_ARGS__)
#define RS_CS_76(c, ...) RS_CASE_SW_(76, c) RS_CS_75(__VA_ARGS__)
#define RS_CF_77(c, ...) RS_CASE_FN_(77, c) RS_CF_76(__VA_ARGS__)
#define RS_CS_77(c, ...) RS_CASE_SW_(77, c) RS_CS_76(__VA_ARGS__)
#define RS_CF_78(c, ...) RS_CASE_FN_(78, c) RS_CF_77(__VA_ARGS__)
#define RS_CS_78(c, ...) RS_CASE_SW_(78, c) RS_CS_77(__VA_ARGS__)
#define RS_CF_79(c, ...) RS_CASE_FN_(79, c) RS_CF_78(__VA_ARGS__)
#define RS_CS_79(c, ...) RS_CASE_SW_(79, c) RS_CS_78(__VA_ARGS__)
#define RS_CF_80(c, ...) RS_CASE_FN_(80, c) RS_CF_79(__VA_ARGS__)
#define RS_CS_80(c, ...) RS_CASE_SW_(80, c) RS_CS_79(__VA_ARGS__)
#define RS_CF_81(c, ...) RS_CASE_FN_(81, c) RS_CF_80(__VA_ARGS__)
#define RS_CS_81(c, ...) RS_CASE_SW_(81, c) RS_CS_80(__VA_ARGS__)
#define RS_CF_82(c, ...) RS_CASE_FN_(82, c) RS_CF_81(__VA_ARGS__)
#define RS_CS_82(c, ...) RS_CASE_SW_(82, c) RS_CS_81(__VA_ARGS__)
#define RS_CF_83(c, ...) RS_CASE_FN_(83, c) RS_CF_82(__VA_ARGS__)
#define RS_CS_83(c, ...) RS_CASE_SW_(83, c) RS_CS_82(__VA_ARGS__)
#define RS_CF_84(c, ...) RS_CASE_FN_(84, c) RS_CF_83(__VA_ARGS__)
#define RS_CS_84(c, ...) RS_CASE_SW_(84, c) RS_CS_83(__VA_ARGS__)
#define RS_CF_85(c, ...) RS_CASE_FN_(85, c) RS_CF_84(__VA_ARGS__)
#define RS_CS_85(c, ...) RS_CASE_SW_(85, c) RS_CS_84(__VA_ARGS__)
#define RS_CF_86(c, ...) RS_CASE_FN_(86, c) RS_CF_85(__VA_ARGS__)
#define RS_CS_86(c, ...) RS_CASE_SW_(86, c) RS_CS_85(__VA_ARGS__)
#define RS_CF_87(c, ...) RS_CASE_FN_(87, c) RS_CF_86(__VA_ARGS__)
#define RS_CS_87(c, ...) RS_CASE_SW_(87, c) RS_CS_86(__VA_ARGS__)
#define RS_CF_88(c, ...) RS_CASE_FN_(88, c) RS_CF_87(__VA_ARGS__)
#define RS_CS_88(c, ...) RS_CASE_SW_(88, c) RS_CS_87(__VA_ARGS__)
#define RS_CF_89(c, ...) RS_CASE_FN_(89, c) RS_CF_88(__VA_ARGS__)
#define RS_CS_89(c, ...) RS_CASE_SW_(89, c) RS_CS_88(__VA_ARGS__)
#define RS_CF_90(c, ...) RS_CASE_FN_(90, c) RS_CF_89(__VA_ARGS__)
#define RS_CS_90(c, ...) RS_CASE_SW_(90, c) RS_CS_89(__VA_ARGS__)
#define RS_CF_91(c, ...) RS_CASE_FN_(91, c) RS_CF_90(__VA_ARGS__)
#define RS_CS_91(c, ...) RS_CASE_SW_(91, c) RS_CS_90(__VA_ARGS__)
#define RS_CF_92(c, ...) RS_CASE_FN_(92, c) RS_CF_91(__VA_ARGS__)
#define RS_CS_92(c, ...) RS_CASE_SW_(92, c) RS_CS_91(__VA_ARGS__)
#define RS_CF_93(c, ...) RS_CASE_FN_(93, c) RS_CF_92(__VA_ARGS__)
#define RS_CS_93(c, ...) RS_CASE_SW_(93, c) RS_CS_92(__VA_ARGS__)
#define RS_CF_94(c, ...) RS_CASE_FN_(94, c) RS_CF_93(__VA_ARGS__)
#define RS_CS_94(c, ...) RS_CASE_SW_(94, c) RS_CS_93(__VA_ARGS__)
#define RS_CF_95(c, ...) RS_CASE_FN_(95, c) RS_CF_94(__VA_ARGS__)
#define RS_CS_95(c, ...) RS_CASE_SW_(95, c) RS_CS_94(__VA_ARGS__)
#define RS_CF_96(c, ...) RS_CASE_FN_(96, c) RS_CF_95(__VA_ARGS__)
#define RS_CS_96(c, ...) RS_CASE_SW_(96, c) RS_CS_95(__VA_ARGS__)
#define RS_CF_97(c, ...) RS_CASE_FN_(97, c) RS_CF_96(__VA_ARGS__)
#define RS_CS_97(c, ...) RS_CASE_SW_(97, c) RS_CS_96(__VA_ARGS__)
#define RS_CF_98(c, ...) RS_CASE_FN_(98, c) RS_CF_97(__VA_ARGS__)
#define RS_CS_98(c, ...) RS_CASE_SW_(98, c) RS_CS_97(__VA_ARGS__)
#define RS_CF_99(c, ...) RS_CASE_FN_(99, c) RS_CF_98(__VA_ARGS__)
#define RS_CS_99(c, ...) RS_CASE_SW_(99, c) RS_CS_98(__VA_ARGS__)
#define RS_CF_100(c, ...) RS_CASE_FN_(100, c) RS_CF_99(__VA_ARGS__)
#define RS_CS_100(c, ...) RS_CASE_SW_(100, c) RS_CS_99(__VA_ARGS__)
#define RS_CF_101(c, ...) RS_CASE_FN_(101, c) RS_CF_100(__VA_ARGS__)
#define RS_CS_101(c, ...) RS_CASE_SW_(101, c) RS_CS_100(__VA_ARGS__)
#define RS_CF_102(c, ...) RS_CASE_FN_(102, c) RS_CF_101(__VA_ARGS__)
#define RS_CS_102(c, ...) RS_CASE_SW_(102, c) RS_CS_101(__VA_ARGS__)
#define RS_CF_103(c, ...) RS_CASE_FN_(103, c) RS_CF_102(__VA_ARGS__)
#define RS_CS_103(c, ...) RS_CASE_SW_(103, c) RS_CS_102(__VA_ARGS__)
#define RS_CF_104(c, ...) RS_CASE_FN_(104, c) RS_CF_103(__VA_ARGS__)
#define RS_CS_104(c, ...) RS_CASE_SW_(104, c) RS_CS_103(__VA_ARGS__)
#define RS_CF_105(c, ...) RS_CASE_FN_(105, c) RS_CF_104(__VA_ARGS__)
#define RS_CS_105(c, ...) RS_CASE_SW_(105, c) RS_CS_104(__VA_ARGS__)
#define RS_CF_106(c, ...) RS_CASE_FN_(106, c) RS_CF_105(__VA_ARGS__)
#define RS_CS_106(c, ...) RS_CASE_SW_(106, c) RS_CS_105(__VA_ARGS__)
#define RS_CF_107(c, ...) RS_CASE_FN_(107, c) RS_CF_106(__VA_ARGS__)
#define RS_CS_107(c, ...) RS_CASE_SW_(107, c) RS_CS_106(__VA_ARGS__)
#define RS_CF_108(c, ...) RS_CASE_FN_(108, c) RS_CF_107(__VA_ARGS__)
#define RS_CS_108(c, ...) RS_CASE_SW_(108, c) RS_CS_107(__VA_ARGS__)
#define RS_CF_109(c, ...) RS_CASE_FN_(109, c) RS_CF_108(__VA_ARGS__)
#define RS_CS_109(c, ...) RS_CASE_SW_(109, c) RS_CS_108(__VA_ARGS__)
#define RS_CF_110(c, ...) RS_CASE_FN_(110, c) RS_CF_109(__VA_ARGS__)
#define RS_CS_110(c, ...) RS_CASE_SW_(110, c) RS_CS_109(__VA_ARGS__)
#define RS_CF_111(c, ...) RS_CASE_FN_(111, c) RS_CF_110(__VA_ARGS__)
#define RS_CS_111(c, ...) RS_CASE_SW_(111, c) RS_CS_110(__VA_ARGS__)
#define RS_CF_112(c, ...) RS_CASE_FN_(112, c) RS_CF_111(__VA_ARGS__)
#define RS_CS_112(c, ...) RS_CASE_SW_(112, c) RS_CS_111(__VA_ARGS__)
#define RS_CF_113(c, ...) RS_CASE_FN_(113, c) RS_CF_112(__VA_ARGS__)
#define RS_CS_113(c, ...) RS_CASE_SW_(113, c) RS_CS_112(__VA_ARGS__)
#define RS_CF_114(c, ...) RS_CASE_FN_(114, c) RS_CF_113(__VA_ARGS__)
#define RS_CS_114(c, ...) RS_CASE_SW_(114, c) RS_CS_113(__VA_ARGS__)
#define RS_CF_115(c, ...) RS_CASE_FN_(115, c) RS_CF_114(__VA_ARGS__)
#define RS_CS_115(c, ...) RS_CASE_SW_(115, c) RS_CS_114(__VA_ARGS__)
#define RS_CF_116(c, ...) RS_CASE_FN_(116, c) RS_CF_115(__VA_ARGS__)
#define RS_CS_116(c, ...) RS_CASE_SW_(116, c) RS_CS_115(__VA_ARGS__)
#define RS_CF_117(c, ...) RS_CASE_FN_(117, c) RS_CF_116(__VA_ARGS__)
#define RS_CS_117(c, ...) RS_CASE_SW_(117, c) RS_CS_116(__VA_ARGS__)
#define RS_CF_118(c, ...) RS_CASE_FN_(118, c) RS_CF_117(__VA_ARGS__)
#define RS_CS_118(c, ...) RS_CASE_SW_(118, c) RS_CS_117(__VA_ARGS__)
#define RS_CF_119(c, ...) RS_CASE_FN_(119, c) RS_CF_118(__VA_ARGS__)
#define RS_CS_119(c, ...) RS_CASE_SW_(119, c) RS_CS_118(__VA_ARGS__)
#define RS_CF_120(c, ...) RS_CASE_FN_(120, c) RS_CF_119(__VA_ARGS__)
#define RS_CS_120(c, ...) RS_CASE_SW_(120, c) RS_CS_119(__VA_ARGS__)
#define RS_CF_121(c, ...) RS_CASE_FN_(121, c) RS_CF_120(__VA_ARGS__)
#define RS_CS_121(c, ...) RS_CASE_SW_(121, c) RS_CS_120(__VA_ARGS__)
#define RS_CF_122(c, ...) RS_CASE_FN_(122, c) RS_CF_121(__VA_ARGS__)
#define RS_CS_122(c, ...) RS_CASE_SW_(122, c) RS_CS_121(__VA_ARGS__)
#define RS_CF_123(c, ...) RS_CASE_FN_(123, c) RS_CF_122(__VA_ARGS__)
#define RS_CS_123(c, ...) RS_CASE_SW_(123, c) RS_CS_122(__VA_ARGS__)
#define RS_CF_124(c, ...) RS_CASE_FN_(124, c) RS_CF_123(__VA_ARGS__)
#define RS_CS_124(c, ...) RS_CASE_SW_(124, c) RS_CS_123(__VA_ARGS__)
#define RS_CF_125(c, ...) RS_CASE_FN_(125, c) RS_CF_124(__VA_ARGS__)
#define RS_CS_125(c, ...) RS_CASE_SW_(125, c) RS_CS_124(__VA_ARGS__)
#define RS_CF_126(c, ...) RS_CASE_FN_(126, c) RS_CF_125(__VA_ARGS__)
#define RS_CS_126(c, ...) RS_CASE_SW_(126, c) RS_CS_125(__VA_ARGS__)
#define RS_CF_127(c, ...) RS_CASE_FN_(127, c) RS_CF_126(__VA_ARGS__)
#define RS_CS_127(c, ...) RS_CASE_SW_(127, c) RS_CS_126(__VA_ARGS__)
#define RS_CF_128(c, ...) RS_CASE_FN_(128, c) RS_CF_127(__VA_ARGS__)
#define RS_CS_128(c, ...) RS_CASE_SW_(128, c) RS_CS_127(__VA_ARGS__)
#define RS_CF_129(c, ...) RS_CASE_FN_(129, c) RS_CF_128(__VA_ARGS__)
#define RS_CS_129(c, ...) RS_CASE_SW_(129, c) RS_CS_128(__VA_ARGS__)
#define RS_CF_130(c, ...) RS_CASE_FN_(130, c) RS_CF_129(__VA_ARGS__)
#define RS_CS_130(c, ...) RS_CASE_SW_(130, c) RS_CS_129(__VA_ARGS__)
#define RS_CF_131(c, ...) RS_CASE_FN_(131, c) RS_CF_130(__VA_ARGS__)
#define RS_CS_131(c, ...) RS_CASE_SW_(131, c) RS_CS_130(__VA_ARGS__)
#define RS_CF_132(c, ...) RS_CASE_FN_(132, c) RS_CF_131(__VA_ARGS__)
#define RS_CS_132(c, ...) RS_CASE_SW_(132, c) RS_CS_131(__VA_ARGS__)
#define RS_CF_133(c, ...) RS_CASE_FN_(133, c) RS_CF_132(__VA_ARGS__)
#define RS_CS_133(c, ...) RS_CASE_SW_(133, c) RS_CS_132(__VA_ARGS__)
#define RS_CF_134(c, ...) RS_CASE_FN_(134, c) RS_CF_133(__VA_ARGS__)
#define RS_CS_134(c, ...) RS_CASE_SW_(134, c) RS_CS_133(__VA_ARGS__)
#define RS_CF_135(c, ...) RS_CASE_FN_(135, c) RS_CF_134(__VA_ARGS__)
#define RS_CS_135(c, ...) RS_CASE_SW_(135, c) RS_CS_134(__VA_ARGS__)
#define RS_CF_136(c, ...) RS_CASE_FN_(136, c) RS_CF_135(__VA_ARGS__)
#define RS_CS_136(c, ...) RS_CASE_SW_(136, c) RS_CS_135(__VA_ARGS__)
#define RS_CF_137(c, ...) RS_CASE_FN_(137, c) RS_CF_136(__VA_ARGS__)
#define RS_CS_137(c, ...) RS_CASE_SW_(137, c) RS_CS_136(__VA_ARGS__)
#define RS_CF_138(c, ...) RS_CASE_FN_(138, c) RS_CF_137(__VA_ARGS__)
#define RS_CS_138(c, ...) RS_CASE_SW_(138, c) RS_CS_137(__VA_ARGS__)
#define RS_CF_139(c, ...) RS_CASE_FN_(139, c) RS_CF_138(__VA_ARGS__)
#define RS_CS_139(c, ...) RS_CASE_SW_(139, c) RS_CS_138(__VA_ARGS__)
#define RS_CF_140(c, ...) RS_CASE_FN_(140, c) RS_CF_139(__VA_ARGS__)
#define RS_CS_140(c, ...) RS_CASE_SW_(140, c) RS_CS_139(__VA_ARGS__)
#define RS_CF_141(c, ...) RS_CASE_FN_(141, c) RS_CF_140(__VA_ARGS__)
#define RS_CS_141(c, ...) RS_CASE_SW_(141, c) RS_CS_140(__VA_ARGS__)
#define RS_CF_142(c, ...) RS_CASE_FN_(142, c) RS_CF_141(__VA_ARGS__)
#define RS_CS_142(c, ...) RS_CASE_SW_(142, c) RS_CS_141(__VA_ARGS__)
#define RS_CF_143(c, ...) RS_CASE_FN_(143, c) RS_CF_142(__VA_ARGS__)
#define RS_CS_143(c, ...) RS_CASE_SW_(143, c) RS_CS_142(__VA_ARGS__)
#define RS_CF_144(c, ...) RS_CASE_FN_(144, c) RS_CF_143(__VA_ARGS__)
#define RS_CS_144(c, ...) RS_CASE_SW_(144, c) RS_CS_143(__VA_ARGS__)
#define RS_CF_145(c, ...) RS_CASE_FN_(145, c) RS_CF_144(__VA_ARGS__)
#define RS_CS_145(c, ...) RS_CASE_SW_(145, c) RS_CS_144(__VA_ARGS__)
#define RS_CF_146(c, ...) RS_CASE_FN_(146, c) RS_CF_145(__VA_ARGS__)
#define RS_CS_146(c, ...) RS_CASE_SW_(146, c) RS_CS_145(__VA_ARGS__)
#define RS_CF_147(c, ...) RS_CASE_FN_(147, c) RS_CF_146(__VA_ARGS__)
#define RS_CS_147(c, ...) RS_CASE_SW_(147, c) RS_CS_146(__VA_ARGS__)
#define RS_CF_148(c, ...) RS_CASE_FN_(148, c) RS_CF_147(__VA_ARGS__)
#define RS_CS_148(c, ...) RS_CASE_SW_(148, c) RS_CS_147(__VA_ARGS__)
#define RS_CF_149(c, ...) RS_CASE_FN_(149, c) RS_CF_148(__VA_ARGS__)
#define RS_CS_149(c, ...) RS_CASE_SW_(149, c) RS_CS_148(__VA_ARGS__)
#define RS_CF_150(c, ...) RS_CASE_FN_(150, c) RS_CF_149(__VA_ARGS__)
#define RS_CS_150(c, ...) RS_CASE_SW_(150, c) RS_CS_149(__VA_ARGS__)
#define RS_CF_151(c, ...) RS_CASE_FN_(151, c) RS_CF_150(__VA_ARGS__)
#define RS_CS_151(c, ...) RS_CASE_SW_(151, c) RS_CS_150(__VA_ARGS__)
#define RS_CF_152(c, ...) RS_CASE_FN_(152, c) RS_CF_151(__VA_ARGS__)
#define RS_CS_152(c, ...) RS_CASE_SW_(152, c) RS_CS_151(__VA_ARGS__)
#define RS_CF_153(c, ...) RS_CASE_FN_(153, c) RS_CF_152(__VA_ARGS__)
#define RS_CS_153(c, ...) RS_CASE_SW_(153, c) RS_CS_152(__VA_ARGS__)
#define RS_CF_154(c, ...) RS_CASE_FN_(154, c) RS_CF_153(__VA_ARGS__)
#define RS_CS_154(c, ...) RS_CASE_SW_(154, c) RS_CS_153(__VA_ARGS__)
#define RS_CF_155(c, ...) RS_CASE_FN_(155, c) RS_CF_154(__VA_ARGS__)
#define RS_CS_155(c, ...) RS_CASE_SW_(155, c) RS_CS_154(__VA_ARGS__)
#define RS_CF_156(c, ...) RS_CASE_FN_(156, c) RS_CF_155(__VA_ARGS__)
#define RS_CS_156(c, ...) RS_CASE_SW_(156, c) RS_CS_155(__VA_ARGS__)
#define RS_CF_157(c, ...) RS_CASE_FN_(157, c) RS_CF_156(__VA_ARGS__)
#define RS_CS_157(c, ...) RS_CASE_SW_(157, c) RS_CS_156(__VA_ARGS__)
#define RS_CF_158(c, ...) RS_CASE_FN_(158, c) RS_CF_157(__VA_ARGS__)
#define RS_CS_158(c, ...) RS_CASE_SW_(158, c) RS_CS_157(__VA_ARGS__)
#define RS_CF_159(c, ...) RS_CASE_FN_(159, c) RS_CF_158(__VA_ARGS__)
#define RS_CS_159(c, ...) RS_CASE_SW_(159, c) RS_CS_158(__VA_ARGS__)
#define RS_CF_160(c, ...) RS_CASE_FN_(160, c) RS_CF_159(__VA_ARGS__)
#define RS_CS_160(c, ...) RS_CASE_SW_(160, c) RS_CS_159(__VA_ARGS__)
#define RS_CF_161(c, ...) RS_CASE_FN_(161, c) RS_CF_160(__VA_ARGS__)
#define RS_CS_161(c, ...) RS_CASE_SW_(161, c) RS_CS_160(__VA_ARGS__)
#define RS_CF_162(c, ...) RS_CASE_FN_(162, c) RS_CF_161(__VA_ARGS__)
#define RS_CS_162(c, ...) RS_CASE_SW_(162, c) RS_CS_161(__VA_ARGS__)
#define RS_CF_163(c, ...) RS_CASE_FN_(163, c) RS_CF_162(__VA_ARGS__)
#define RS_CS_163(c, ...) RS_CASE_SW_(163, c) RS_CS_162(__VA_ARGS__)
#define RS_CF_164(c, ...) RS_CASE_FN_(164, c) RS_CF_163(__VA_ARGS__)
#define RS_CS_164(c, ...) RS_CASE_SW_(164, c) RS_CS_163(__VA_ARGS__)
#define RS_CF_165(c, ...) RS_CASE_FN_(165, c) RS_CF_164(__VA_ARGS__)
#define RS_CS_165(c, ...) RS_CASE_SW_(165, c) RS_CS_164(__VA_ARGS__)
#define RS_CF_166(c, ...) RS_CASE_FN_(166, c) RS_CF_165(__VA_ARGS__)
#define RS_CS_166(c, ...) RS_CASE_SW_(166, c) RS_CS_165(__VA_ARGS__)
#define RS_CF_167(c, ...) RS_CASE_FN_(167, c) RS_CF_166(__VA_ARGS__)
#define RS_CS_167(c, ...) RS_CASE_SW_(167, c) RS_CS_166(__VA_ARGS__)
#define RS_CF_168(c, ...) RS_CASE_FN_(168, c) RS_CF_167(__VA_ARGS__)
#define RS_CS_168(c, ...) RS_CASE_SW_(168, c) RS_CS_167(__VA_ARGS__)
#define RS_CF_169(c, ...) RS_CASE_FN_(169, c) RS_CF_168(__VA_ARGS__)
#define RS_CS_169(c, ...) RS_CASE_SW_(169, c) RS_CS_168(__VA_ARGS__)
#define RS_CF_170(c, ...) RS_CASE_FN_(170, c) RS_CF_169(__VA_ARGS__)
#define RS_CS_170(c, ...) RS_CASE_SW_(170, c) RS_CS_169(__VA_ARGS__)
#define RS_CF_171(c, ...) RS_CASE_FN_(171, c) RS_CF_170(__VA_ARGS__)
#define RS_CS_171(c, ...) RS_CASE_SW_(171, c) RS_CS_170(__VA_ARGS__)
#define RS_CF_172(c, ...) RS_CASE_FN_(172, c) RS_CF_171(__VA_ARGS__)
#define RS_CS_172(c, ...) RS_CASE_SW_(172, c) RS_CS_171(__VA_ARGS__)
#define RS_CF_173(c, ...) RS_CASE_FN_(173, c) RS_CF_172(__VA_ARGS__)
#define RS_CS_173(c, ...) RS_CASE_SW_(173, c) RS_CS_172(__VA_ARGS__)
#define RS_CF_174(c, ...) RS_CASE_FN_(174, c) RS_CF_173(__VA_ARGS__)
#define RS_CS_174(c, ...) RS_CASE_SW_(174, c) RS_CS_173(__VA_ARGS__)
#define RS_CF_175(c, ...) RS_CASE_FN_(175, c) RS_CF_174(__VA_ARGS__)
#define RS_CS_175(c, ...) RS_CASE_SW_(175, c) RS_CS_174(__VA_ARGS__)
#define RS_CF_176(c, ...) RS_CASE_FN_(176, c) RS_CF_175(__VA_ARGS__)
#define RS_CS_176(c, ...) RS_CASE_SW_(176, c) RS_CS_175(__VA_ARGS__)
#define RS_CF_177(c, ...) RS_CASE_FN_(177, c) RS_CF_176(__VA_ARGS__)
#define RS_CS_177(c, ...) RS_CASE_SW_(177, c) RS_CS_176(__VA_ARGS__)
#define RS_CF_178(c, ...) RS_CASE_FN_(178, c) RS_CF_177(__VA_ARGS__)
#define RS_CS_178(c, ...) RS_CASE_SW_(178, c) RS_CS_177(__VA_ARGS__)
#define RS_CF_179(c, ...) RS_CASE_FN_(179, c) RS_CF_178(__VA_ARGS__)
#define RS_CS_179(c, ...) RS_CASE_SW_(179, c) RS_CS_178(__VA_ARGS__)
#define RS_CF_180(c, ...) RS_CASE_FN_(180, c) RS_CF_179(__VA_ARGS__)
#define RS_CS_180(c, ...) RS_CASE_SW_(180, c) RS_CS_179(__VA_ARGS__)
#define RS_CF_181(c, ...) RS_CASE_FN_(181, c) RS_CF_180(__VA_ARGS__)
#define RS_CS_181(c, ...) RS_CASE_SW_(181, c) RS_CS_180(__VA_ARGS__)
#define RS_CF_182(c, ...) RS_CASE_FN_(182, c) RS_CF_181(__VA_ARGS__)
#define RS_CS_182(c, ...) RS_CASE_SW_(182, c) RS_CS_181(__VA_ARGS__)
#define RS_CF_183(c, ...) RS_CASE_FN_(183, c) RS_CF_182(__VA_ARGS__)
#define RS_CS_183(c, ...) RS_CASE_SW_(183, c) RS_CS_182(__VA_ARGS__)
#define RS_CF_184(c, ...) RS_CASE_FN_(184, c) RS_CF_183(__VA_ARGS__)
#define RS_CS_184(c, ...) RS_CASE_SW_(184, c) RS_CS_183(__VA_ARGS__)
#define RS_CF_185(c, ...) RS_CASE_FN_(185, c) RS_CF_184(__VA_ARGS__)
#define RS_CS_185(c, ...) RS_CASE_SW_(185, c) RS_CS_184(__VA_ARGS__)
#define RS_CF_186(c, ...) RS_CASE_FN_(186, c) RS_CF_185(__VA_ARGS__)
#define RS_CS_186(c, ...) RS_CASE_SW_(186, c) RS_CS_185(__VA_ARGS__)
#define RS_CF_187(c, ...) RS_CASE_FN_(187, c) RS_CF_186(__VA_ARGS__)
#define RS_CS_187(c, ...) RS_CASE_SW_(187, c) RS_CS_186(__VA_ARGS__)
#define RS_CF_188(c, ...) RS_CASE_FN_(188, c) RS_CF_187(__VA_ARGS__)
#define RS_CS_188(c, ...) RS_CASE_SW_(188, c) RS_CS_187(__VA_ARGS__)
#define RS_CF_189(c, ...) RS_CASE_FN_(189, c) RS_CF_188(__VA_ARGS__)
#define RS_CS_189(c, ...) RS_CASE_SW_(189, c) RS_CS_188(__VA_ARGS__)
#define RS_CF_190(c, ...) RS_CASE_FN_(190, c) RS_CF_189(__VA_ARGS__)
#define RS_CS_190(c, ...) RS_CASE_SW_(190, c) RS_CS_189(__VA_ARGS__)
#define RS_CF_191(c, ...) RS_CASE_FN_(191, c) RS_CF_190(__VA_ARGS__)
#define RS_CS_191(c, ...) RS_CASE_SW_(191, c) RS_CS_190(__VA_ARGS__)
#define RS_CF_192(c, ...) RS_CASE_FN_(192, c) RS_CF_191(__VA_ARGS__)
#define RS_CS_192(c, ...) RS_CASE_SW_(192, c) RS_CS_191(__VA_ARGS__)
#define RS_CF_193(c, ...) RS_CASE_FN_(193, c) RS_CF_192(__VA_ARGS__)
#define RS_CS_193(c, ...) RS_CASE_SW_(193, c) RS_CS_192(__VA_ARGS__)
#define RS_CF_194(c, ...) RS_CASE_FN_(194, c) RS_CF_193(__VA_ARGS__)
#define RS_CS_194(c, ...) RS_CASE_SW_(194, c) RS_CS_193(__VA_ARGS__)
#define RS_CF_195(c, ...) RS_CASE_FN_(195, c) RS_CF_194(__VA_ARGS__)
#define RS_CS_195(c, ...) RS_CASE_SW_(195, c) RS_CS_194(__VA_ARGS__)
#define RS_CF_196(c, ...) RS_CASE_FN_(196, c) RS_CF_195(__VA_ARGS__)
#define RS_CS_196(c, ...) RS_CASE_SW_(196, c) RS_CS_195(__VA_ARGS__)
#define RS_CF_197(c, ...) RS_CASE_FN_(197, c) RS_CF_196(__VA_ARGS__)
#define RS_CS_197(c, ...) RS_CASE_SW_(197, c) RS_CS_196(__VA_ARGS__)
#define RS_CF_198(c, ...) RS_CASE_FN_(198, c) RS_CF_197(__VA_ARGS__)
#define RS_CS_198(c, ...) RS_CASE_SW_(198, c) RS_CS_197(__VA_ARGS__)
#define RS_CF_199(c, ...) RS_CASE_FN_(199, c) RS_CF_198(__VA_ARGS__)
#define RS_CS_199(c, ...) RS_CASE_SW_(199, c) RS_CS_198(__VA_ARGS__)
#define RS_CF_200(c, ...) RS_CASE_FN_(200, c) RS_CF_199(__VA_ARGS__)
#define RS_CS_200(c, ...) RS_CASE_SW_(200, c) RS_CS_199(__VA_ARGS__)
#define RS_CF_201(c, ...) RS_CASE_FN_(201, c) RS_CF_200(__VA_ARGS__)
#define RS_CS_201(c, ...) RS_CASE_SW_(201, c) RS_CS_200(__VA_ARGS__)
#define RS_CF_202(c, ...) RS_CASE_FN_(202, c) RS_CF_201(__VA_ARGS__)
#define RS_CS_202(c, ...) RS_CASE_SW_(202, c) RS_CS_201(__VA_ARGS__)
#define RS_CF_203(c, ...) RS_CASE_FN_(203, c) RS_CF_202(__VA_ARGS__)
#define RS_CS_203(c, ...) RS_CASE_SW_(203, c) RS_CS_202(__VA_ARGS__)
#define RS_CF_204(c, ...) RS_CASE_FN_(204, c) RS_CF_203(__VA_ARGS__)
#define RS_CS_204(c, ...) RS_CASE_SW_(204, c) RS_CS_203(__VA_ARGS__)
#define RS_CF_205(c, ...) RS_CASE_FN_(205, c) RS_CF_204(__VA_ARGS__)
#define RS_CS_205(c, ...) RS_CASE_SW_(205, c) RS_CS_204(__VA_ARGS__)
#define RS_CF_206(c, ...) RS_CASE_FN_(206, c) RS_CF_205(__VA_ARGS__)
#define RS_CS_206(c, ...) RS_CASE_SW_(206, c) RS_CS_205(__VA_ARGS__)
#define RS_CF_207(c, ...) RS_CASE_FN_(207, c) RS_CF_206(__VA_ARGS__)
#define RS_CS_207(c, ...) RS_CASE_SW_(207, c) RS_CS_206(__VA_ARGS__)
#define RS_CF_208(c, ...) RS_CASE_FN_(208, c) RS_CF_207(__VA_ARGS__)
#define RS_CS_208(c, ...) RS_CASE_SW_(208, c) RS_CS_207(__VA_ARGS__)
#define RS_CF_209(c, ...) RS_CASE_FN_(209, c) RS_CF_208(__VA_ARGS__)
#define RS_CS_209(c, ...) RS_CASE_SW_(209, c) RS_CS_208(__VA_ARGS__)
#define RS_CF_210(c, ...) RS_CASE_FN_(210, c) RS_CF_209(__VA_ARGS__)
#define RS_CS_210(c, ...) RS_CASE_SW_(210, c) RS_CS_209(__VA_ARGS__)
#define RS_CF_211(c, ...) RS_CASE_FN_(211, c) RS_CF_210(__VA_ARGS__)
#define RS_CS_211(c, ...) RS_CASE_SW_(211, c) RS_CS_210(__VA_ARGS__)
#define RS_CF_212(c, ...) RS_CASE_FN_(212, c) RS_CF_211(__VA_ARGS__)
#define RS_CS_212(c, ...) RS_CASE_SW_(212, c) RS_CS_211(__VA_ARGS__)
#define RS_CF_213(c, ...) RS_CASE_FN_(213, c) RS_CF_212(__VA_ARGS__)
#define RS_CS_213(c, ...) RS_CASE_SW_(213, c) RS_CS_212(__VA_ARGS__)
#define RS_CF_214(c, ...) RS_CASE_FN_(214, c) RS_CF_213(__VA_ARGS__)
#define RS_CS_214(c, ...) RS_CASE_SW_(214, c) RS_CS_213(__VA_ARGS__)
#define RS_CF_215(c, ...) RS_CASE_FN_(215, c) RS_CF_214(__VA_ARGS__)
#define RS_CS_215(c, ...) RS_CASE_SW_(215, c) RS_CS_214(__VA_ARGS__)
#define RS_CF_216(c, ...) RS_CASE_FN_(216, c) RS_CF_215(__VA_ARGS__)
#define RS_CS_216(c, ...) RS_CASE_SW_(216, c) RS_CS_215(__VA_ARGS__)
#define RS_CF_217(c, ...) RS_CASE_FN_(217, c) RS_CF_216(__VA_ARGS__)
#define RS_CS_217(c, ...) RS_CASE_SW_(217, c) RS_CS_216(__VA_ARGS__)
#define RS_CF_218(c, ...) RS_CASE_FN_(218, c) RS_CF_217(__VA_ARGS__)
#define RS_CS_218(c, ...) RS_CASE_SW_(218, c) RS_CS_217(__VA_ARGS__)
#define RS_CF_219(c, ...) RS_CASE_FN_(219, c) RS_CF_218(__VA_ARGS__)
#define RS_CS_219(c, ...) RS_CASE_SW_(219, c) RS_CS_218(__VA_ARGS__)
#define RS_CF_220(c, ...) RS_CASE_FN_(220, c) RS_CF_219(__VA_ARGS__)
#define RS_CS_220(c, ...) RS_CASE_SW_(220, c) RS_CS_219(__VA_ARGS__)
#define RS_CF_221(c, ...) RS_CASE_FN_(221, c) RS_CF_220(__VA_ARGS__)
#define RS_CS_221(c, ...) RS_CASE_SW_(221, c) RS_CS_220(__VA_ARGS__)
#define RS_CF_222(c, ...) RS_CASE_FN_(222, c) RS_CF_221(__VA_ARGS__)
#define RS_CS_222(c, ...) RS_CASE_SW_(222, c) RS_CS_221(__VA_ARGS__)
#define RS_CF_223(c, ...) RS_CASE_FN_(223, c) RS_CF_222(__VA_ARGS__)
#define RS_CS_223(c, ...) RS_CASE_SW_(223, c) RS_CS_222(__VA_ARGS__)
#define RS_CF_224(c, ...) RS_CASE_FN_(224, c) RS_CF_223(__VA_ARGS__)
#define RS_CS_224(c, ...) RS_CASE_SW_(224, c) RS_CS_223(__VA_ARGS__)
#define RS_CF_225(c, ...) RS_CASE_FN_(225, c) RS_CF_224(__VA_ARGS__)
#define RS_CS_225(c, ...) RS_CASE_SW_(225, c) RS_CS_224(__VA_ARGS__)
#define RS_CF_226(c, ...) RS_CASE_FN_(226, c) RS_CF_225(__VA_ARGS__)
#define RS_CS_226(c, ...) RS_CASE_SW_(226, c) RS_CS_225(__VA_ARGS__)
#define RS_CF_227(c, ...) RS_CASE_FN_(227, c) RS_CF_226(__VA_ARGS__)
#define RS_CS_227(c, ...) RS_CASE_SW_(227, c) RS_CS_226(__VA_ARGS__)
#define RS_CF_228(c, ...) RS_CASE_FN_(228, c) RS_CF_227(__VA_ARGS__)
#define RS_CS_228(c, ...) RS_CASE_SW_(228, c) RS_CS_227(__VA_ARGS__)
#define RS_CF_229(c, ...) RS_CASE_FN_(229, c) RS_CF_228(__VA_ARGS__)
#define RS_CS_229(c, ...) RS_CASE_SW_(229, c) RS_CS_228(__VA_ARGS__)
#define RS_CF_230(c, ...) RS_CASE_FN_(230, c) RS_CF_229(__VA_ARGS__)
#define RS_CS_230(c, ...) RS_CASE_SW_(230, c) RS_CS_229(__VA_ARGS__)
#define RS_CF_231(c, ...) RS_CASE_FN_(231, c) RS_CF_230(__VA_ARGS__)
#define RS_CS_231(c, ...) RS_CASE_SW_(231, c) RS_CS_230(__VA_ARGS__)
#define RS_CF_232(c, ...) RS_CASE_FN_(232, c) RS_CF_231(__VA_ARGS__)
#define RS_CS_232(c, ...) RS_CASE_SW_(232, c) RS_CS_231(__VA_ARGS__)
#define RS_CF_233(c, ...) RS_CASE_FN_(233, c) RS_CF_232(__VA_ARGS__)
#define RS_CS_233(c, ...) RS_CASE_SW_(233, c) RS_CS_232(__VA_ARGS__)
#define RS_CF_234(c, ...) RS_CASE_FN_(234, c) RS_CF_233(__VA_ARGS__)
#define RS_CS_234(c, ...) RS_CASE_SW_(234, c) RS_CS_233(__VA_ARGS__)
#define RS_CF_235(c, ...) RS_CASE_FN_(235, c) RS_CF_234(__VA_ARGS__)
#define RS_CS_235(c, ...) RS_CASE_SW_(235, c) RS_CS_234(__VA_ARGS__)
#define RS_CF_236(c, ...) RS_CASE_FN_(236, c) RS_CF_235(__VA_ARGS__)
#define RS_CS_236(c, ...) RS_CASE_SW_(236, c) RS_CS_235(__VA_ARGS__)
#define RS_CF_237(c, ...) RS_CASE_FN_(237, c) RS_CF_236(__VA_ARGS__)
#define RS_CS_237(c, ...) RS_CASE_SW_(237, c) RS_CS_236(__VA_ARGS__)
#define RS_CF_238(c, ...) RS_CASE_FN_(238, c) RS_CF_237(__VA_ARGS__)
#define RS_CS_238(c, ...) RS_CASE_SW_(238, c) RS_CS_237(__VA_ARGS__)
#define RS_CF_239(c, ...) RS_CASE_FN_(239, c) RS_CF_238(__VA_ARGS__)
#define RS_CS_239(c, ...) RS_CASE_SW_(239, c) RS_CS_238(__VA_ARGS__)
#define RS_CF_240(c, ...) RS_CASE_FN_(240, c) RS_CF_239(__VA_ARGS__)
#define RS_CS_240(c, ...) RS_CASE_SW_(240, c) RS_CS_239(__VA_ARGS__)
#define RS_CF_241(c, ...) RS_CASE_FN_(241, c) RS_CF_240(__VA_ARGS__)
#define RS_CS_241(c, ...) RS_CASE_SW_(241, c) RS_CS_240(__VA_ARGS__)
#define RS_CF_242(c, ...) RS_CASE_FN_(242, c) RS_CF_241(__VA_ARGS__)
#define RS_CS_242(c, ...) RS_CASE_SW_(242, c) RS_CS_241(__VA_ARGS__)
#define RS_CF_243(c, ...) RS_CASE_FN_(243, c) RS_CF_242(__VA_ARGS__)
#define RS_CS_243(c, ...) RS_CASE_SW_(243, c) RS_CS_242(__VA_ARGS__)
#define RS_CF_244(c, ...) RS_CASE_FN_(244, c) RS_CF_243(__VA_ARGS__)
#define RS_CS_244(c, ...) RS_CASE_SW_(244, c) RS_CS_243(__VA_ARGS__)
#define RS_CF_245(c, ...) RS_CASE_FN_(245, c) RS_CF_244(__VA_ARGS__)
#define RS_CS_245(c, ...) RS_CASE_SW_(245, c) RS_CS_244(__VA_ARGS__)
#define RS_CF_246(c, ...) RS_CASE_FN_(246, c) RS_CF_245(__VA_ARGS__)
#define RS_CS_246(c, ...) RS_CASE_SW_(246, c) RS_CS_245(__VA_ARGS__)
#define RS_CF_247(c, ...) RS_CASE_FN_(247, c) RS_CF_246(__VA_ARGS__)
#define RS_CS_247(c, ...) RS_CASE_SW_(247, c) RS_CS_246(__VA_ARGS__)
#define RS_CF_248(c, ...) RS_CASE_FN_(248, c) RS_CF_247(__VA_ARGS__)
#define RS_CS_248(c, ...) RS_CASE_SW_(248, c) RS_CS_247(__VA_ARGS__)
#define RS_CF_249(c, ...) RS_CASE_FN_(249, c) RS_CF_248(__VA_ARGS__)
#define RS_CS_249(c, ...) RS_CASE_SW_(249, c) RS_CS_248(__VA_ARGS__)
#define RS_CF_250(c, ...) RS_CASE_FN_(250, c) RS_CF_249(__VA_ARGS__)
#define RS_CS_250(c, ...) RS_CASE_SW_(250, c) RS_CS_249(__VA_ARGS__)
#define RS_CF_251(c, ...) RS_CASE_FN_(251, c) RS_CF_250(__VA_ARGS__)
#define RS_CS_251(c, ...) RS_CASE_SW_(251, c) RS_CS_250(__VA_ARGS__)
#define RS_CF_252(c, ...) RS_CASE_FN_(252, c) RS_CF_251(__VA_ARGS__)
#define RS_CS_252(c, ...) RS_CASE_SW_(252, c) RS_CS_251(__VA_ARGS__)
#define RS_CF_253(c, ...) RS_CASE_FN_(253, c) RS_CF_252(__VA_ARGS__)
#define RS_CS_253(c, ...) RS_CASE_SW_(253, c) RS_CS_252(__VA_ARGS__)
#define RS_CF_254(c, ...) RS_CASE_FN_(254, c) RS_CF_253(__VA_ARGS__)
#define RS_CS_254(c, ...) RS_CASE_SW_(254, c) RS_CS_253(__VA_ARGS__)
#define RS_CF_255(c, ...) RS_CASE_FN_(255, c) RS_CF_254(__VA_ARGS__)
#define RS_CS_255(c, ...) RS_CASE_SW_(255, c) RS_CS_254(__VA_ARGS__)
// END GENERATED

#endif // RINGSOCKET_H
