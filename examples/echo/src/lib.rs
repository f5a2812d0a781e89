//! Echo: every message goes back to its sender, with the same data kind.
//!
//! Build with `cargo build --release -p echo-app`, copy `target/release/libecho.so` to the
//! `app_path` in `ringsocket.json`, and connect to `ws://localhost:8080/echo`.

use app_abi::{Rs, rs_app};

fn echo(rs: &mut Rs, payload: &[u8]) {
    let kind = rs.read_data_kind();
    rs.w_bytes(payload);
    rs.to_cur(kind);
}

rs_app! {
    // Any data kind, any size (the daemon's max_ws_msg_size still applies); `net [u8; 0..]`
    // borrows the message without copying it.
    read: any echo(net [u8; 0..]),
}
