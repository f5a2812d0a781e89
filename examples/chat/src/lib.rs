//! Chat: every message goes to every other client, with join, leave and nickname notices.
//!
//! Text messages; the first byte picks the command (a `rs_app!` read switch):
//!
//! * `n<name>`: take a nickname, 1 to 32 bytes of UTF-8 without spaces or control characters.
//!   A taken name is refused with the reply `!taken <name>`.
//! * `m<text>`: say something (1 to 4096 bytes); the others get `<nick>: <text>`.
//! * `w` (nothing after it): who is here; the reply `!here <nick> <nick> …` lists every
//!   connected client (the asker included), sorted.
//!
//! Clients start as `guest<N>`. Everyone else sees `* <nick> joined`, `* <old> is now <new>`
//! and `* <nick> left`. Malformed commands close the client: an unknown command with 4902 and a
//! wrong size or kind with 4900/4901 (RingSocket's validation), a nickname with spaces or
//! control characters with [`BAD_NICK`].
//!
//! `README.md` beside this file documents the protocol for client authors; `web/` is a
//! browser client.

use std::collections::HashMap;

use app_abi::{ClientId, DataKind, Rs, Stop, rs_app, rs_log};

/// The close code for a nickname with spaces or control characters.
pub const BAD_NICK: u16 = 4001;

#[derive(Default)]
struct Chat {
    nicks: HashMap<ClientId, String>,
    guests: u64,
}

fn notice(rs: &mut Rs, text: &str, to_others_of: Option<ClientId>) {
    rs.w_str("* ").w_str(text);
    match to_others_of {
        Some(me) => rs.to_every_except_single(DataKind::Text, me),
        None => rs.to_every(DataKind::Text),
    };
}

fn open(rs: &mut Rs, chat: &mut Chat) {
    chat.guests += 1;
    let nick = format!("guest{}", chat.guests);
    let me = rs.client_id();
    rs.w_str("* you are ").w_str(&nick);
    rs.to_cur(DataKind::Text);
    notice(rs, &format!("{nick} joined"), Some(me));
    chat.nicks.insert(me, nick);
}

fn nick(rs: &mut Rs, chat: &mut Chat, name: &str) -> Result<(), Stop> {
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Stop::close(BAD_NICK));
    }
    let me = rs.client_id();
    if chat.nicks.iter().any(|(id, n)| n == name && *id != me) {
        rs.w_str("!taken ").w_str(name);
        rs.to_cur(DataKind::Text);
        return Ok(());
    }
    let old = chat.nicks.insert(me, name.to_owned()).unwrap_or_default();
    rs_log!(Info, "{old} is now {name}");
    notice(rs, &format!("{old} is now {name}"), None);
    Ok(())
}

fn say(rs: &mut Rs, chat: &mut Chat, text: &str) {
    let me = rs.client_id();
    let nick = chat.nicks.get(&me).map_or("?", String::as_str);
    rs.w_str(nick).w_str(": ").w_str(text);
    rs.to_every_except_cur(DataKind::Text);
}

fn who(rs: &mut Rs, chat: &mut Chat) {
    let mut nicks: Vec<&str> = chat.nicks.values().map(String::as_str).collect();
    nicks.sort_unstable();
    rs.w_str("!here");
    for nick in nicks {
        rs.w_str(" ").w_str(nick);
    }
    rs.to_cur(DataKind::Text);
}

fn close(rs: &mut Rs, chat: &mut Chat) {
    let me = rs.client_id();
    if let Some(nick) = chat.nicks.remove(&me) {
        notice(rs, &format!("{nick} left"), None);
    }
}

rs_app! {
    state: Chat = Chat::default(),
    open: open,
    read: switch {
        b'n' => text nick(str[1..=32]),
        b'm' => text say(str[1..=4096]),
        b'w' => text who(),
    },
    close: close,
}
