//! Chat: every message goes to every other client, with join, leave and nickname notices.
//!
//! Text messages; the first byte picks the command (a `rs_app!` read switch):
//!
//! * `n<name>`: take a nickname, 1 to 32 bytes of UTF-8 without spaces or control characters.
//!   A taken name is refused with the reply `!taken <name>`.
//! * `m<text>`: say something (1 to 4096 bytes); the others get `<nick>: <text>`.
//! * `w` (nothing after it): who is here; the reply `!here <nick> <nick> …` lists every
//!   connected client (the asker included), sorted.
//! * `j<room>` / `l<room>`: join / leave a room (1 to 64 bytes without spaces; a topic);
//!   `t<room> <text>`: say something in a room: every member gets `#<room> <nick>: <text>`
//!   (the sender too when it is a member). A bad room name closes with [`BAD_ROOM`].
//!
//! Clients start as `guest<N>`. Everyone else sees `* <nick> joined`, `* <old> is now <new>`
//! and `* <nick> left`. Malformed commands close the client: an unknown command with 4902 and a
//! wrong size or kind with 4900/4901 (RingSocket's validation), a nickname with spaces or
//! control characters with [`BAD_NICK`].
//!
//! Members: a client that brings a token (`?token=…` in the URL, or a `token` cookie) from
//! the list in the environment variable `CHAT_TOKENS` (`token:nick,token:nick,…`; default
//! `demo-token:demo`) starts with that token's nickname instead of a guest name (the upgrade
//! callback checks it and attaches the nickname as the client's data). Endpoints with an
//! `endpoint_id` of 100 or more are for members only: no token is a 401, an unknown one a 403.
//! An unknown token on the other endpoints is a 403 too (a typo should not go unnoticed).
//!
//! `README.md` beside this file documents the protocol for client authors; `web/` is a
//! browser client.

use std::collections::HashMap;

use app_abi::{ClientId, DataKind, Rs, Stop, Upgrade, rs_app, rs_log};

/// The close code for a nickname with spaces or control characters.
pub const BAD_NICK: u16 = 4001;
/// The close code for a bad room name (or a room message without text).
pub const BAD_ROOM: u16 = 4002;

/// Endpoints with this id or above are for members only.
pub const MEMBERS_ONLY_FROM: u16 = 100;
/// The tokens without `CHAT_TOKENS`.
pub const DEMO_TOKENS: &str = "demo-token:demo";

#[derive(Default)]
struct Chat {
    nicks: HashMap<ClientId, String>,
    guests: u64,
    /// Token → nickname.
    tokens: HashMap<String, String>,
}

fn init(_rs: &mut Rs) -> Result<Chat, String> {
    let list = std::env::var("CHAT_TOKENS").unwrap_or_else(|_| DEMO_TOKENS.into());
    let mut tokens = HashMap::new();
    for entry in list.split(',').filter(|e| !e.trim().is_empty()) {
        let (token, nick) = entry
            .trim()
            .split_once(':')
            .ok_or_else(|| format!("CHAT_TOKENS: {entry:?} is not token:nick"))?;
        if !valid_nick(nick) {
            return Err(format!("CHAT_TOKENS: {nick:?} is not a valid nickname"));
        }
        tokens.insert(token.to_owned(), nick.to_owned());
    }
    Ok(Chat {
        tokens,
        ..Chat::default()
    })
}

fn valid_nick(name: &str) -> bool {
    (1..=32).contains(&name.len()) && !name.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Checks a member's token before the upgrade; the nickname it names becomes the client's
/// data, which `open` takes.
fn upgrade(rs: &mut Rs, chat: &mut Chat) -> Upgrade {
    let from_query = rs.query_param("token").map(<[u8]>::to_vec);
    let token = from_query.or_else(|| rs.cookie("token").map(<[u8]>::to_vec));
    let members_only = rs.endpoint_id() >= MEMBERS_ONLY_FROM;
    let Some(token) = token else {
        if members_only {
            rs.w_str("members only: add ?token=... or a token cookie");
            return Upgrade::reject(401);
        }
        return Upgrade::Accept;
    };
    match chat.tokens.get(String::from_utf8_lossy(&token).as_ref()) {
        Some(nick) => {
            rs.set_client_data(nick.as_bytes());
            Upgrade::Accept
        }
        None => {
            rs.w_str("unknown token");
            Upgrade::reject(403)
        }
    }
}

fn notice(rs: &mut Rs, text: &str, to_others_of: Option<ClientId>) {
    rs.w_str("* ").w_str(text);
    match to_others_of {
        Some(me) => rs.to_every_except_single(DataKind::Text, me),
        None => rs.to_every(DataKind::Text),
    };
}

fn open(rs: &mut Rs, chat: &mut Chat) {
    let member = rs
        .client_data()
        .and_then(|d| std::str::from_utf8(d).ok())
        .filter(|nick| !chat.nicks.values().any(|n| n == nick))
        .map(str::to_owned);
    let nick = member.unwrap_or_else(|| {
        chat.guests += 1;
        format!("guest{}", chat.guests)
    });
    let me = rs.client_id();
    rs.w_str("* you are ").w_str(&nick);
    rs.to_cur(DataKind::Text);
    notice(rs, &format!("{nick} joined"), Some(me));
    chat.nicks.insert(me, nick);
}

fn nick(rs: &mut Rs, chat: &mut Chat, name: &str) -> Result<(), Stop> {
    if !valid_nick(name) {
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

/// Room names: 1 to 64 bytes without whitespace or control characters (they are topics).
fn valid_room(room: &str) -> bool {
    (1..=64).contains(&room.len()) && !room.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn join(rs: &mut Rs, _chat: &mut Chat, room: &str) -> Result<(), Stop> {
    if !valid_room(room) {
        return Err(Stop::close(BAD_ROOM));
    }
    let me = rs.client_id();
    rs.subscribe(me, room.as_bytes());
    Ok(())
}

fn part(rs: &mut Rs, _chat: &mut Chat, room: &str) -> Result<(), Stop> {
    if !valid_room(room) {
        return Err(Stop::close(BAD_ROOM));
    }
    let me = rs.client_id();
    rs.unsubscribe(me, room.as_bytes());
    Ok(())
}

/// `t<room> <text>`: to everyone in the room (the sender too, if it is in it).
fn talk(rs: &mut Rs, chat: &mut Chat, line: &str) -> Result<(), Stop> {
    let Some((room, text)) = line
        .split_once(' ')
        .filter(|(r, t)| valid_room(r) && !t.is_empty())
    else {
        return Err(Stop::close(BAD_ROOM));
    };
    let me = rs.client_id();
    let nick = chat.nicks.get(&me).map_or("?", String::as_str);
    rs.w_str("#")
        .w_str(room)
        .w_str(" ")
        .w_str(nick)
        .w_str(": ")
        .w_str(text);
    rs.publish(DataKind::Text, room.as_bytes());
    Ok(())
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
    state: Chat,
    init: init,
    upgrade: upgrade,
    open: open,
    read: switch {
        b'n' => text nick(str[1..=32]),
        b'm' => text say(str[1..=4096]),
        b'w' => text who(),
        b'j' => text join(str[1..=64]),
        b'l' => text part(str[1..=64]),
        b't' => text talk(str[3..=4160]),
    },
    close: close,
}
