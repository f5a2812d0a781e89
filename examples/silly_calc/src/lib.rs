//! The spec's `silly_calc` example, in Rust: a binary message holding a network-order `i32`
//! and 1 to 10 network-order `u16`s; their sum goes as a network-order `i64` to every other
//! client, and the sender gets the text "笑笑?".
//!
//! The C original is `examples/silly_calc_c/silly_calc.c`; both behave the same.

use app_abi::{DataKind, Rs, rs_app};

fn silly_calc(rs: &mut Rs, i32: i32, arr: &[u16]) {
    let sum = i64::from(i32) + arr.iter().map(|&x| i64::from(x)).sum::<i64>();
    rs.w_i64_hton(sum);
    rs.to_every_except_cur(DataKind::Bin);
    rs.w_str("笑笑").w_u8(0x3F);
    rs.to_cur(DataKind::Text);
}

rs_app! {
    read: bin silly_calc(ntoh i32, ntoh [u16; 1..=10]),
}
