// A minimal C echo app for the end-to-end tests (tests/common/daemon.rs builds it with gcc):
// every message, text or binary, 0 bytes to 16 MiB, goes back to its sender unchanged.
#include <ringsocket.h>

static int echo(rs_t *rs, uint8_t *bytes, size_t len) {
    rs_w_p(rs, bytes, len);
    rs_to_cur(rs, rs_get_read_data_kind(rs));
    return 0;
}

RS_APP(
    RS_INIT_NONE,
    RS_OPEN_NONE,
    RS_READ_ANY(echo, RS_NET_STA(uint8_t, 0, 16777216)),
    RS_CLOSE_NONE,
    RS_TIMER_NONE
);
