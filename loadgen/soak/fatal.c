// The soak test's "fatal" app (loadgen/soak.sh compiles it: cc -shared -fPIC -I app-abi/include):
// echoes every message, text or binary, except the text "die", on which its read callback
// returns -1 (fatal). The daemon must then stop this app alone: its clients get 1011, its
// endpoints answer 503, and every other app keeps serving.
#include <string.h>

#include <ringsocket.h>

static int echo_or_die(rs_t *rs, uint8_t *bytes, size_t len) {
    if (len == 3 && memcmp(bytes, "die", 3) == 0) {
        return -1;
    }
    rs_w_p(rs, bytes, len);
    rs_to_cur(rs, rs_get_read_data_kind(rs));
    return 0;
}

RS_APP(
    RS_INIT_NONE,
    RS_OPEN_NONE,
    RS_READ_ANY(echo_or_die, RS_NET_STA(uint8_t, 0, 65536)),
    RS_CLOSE_NONE,
    RS_TIMER_NONE
);
