//! Topics against the real serving core: clients on both workers join and leave rooms, a
//! publish reaches exactly the room's members (once each, in order), a closed member is gone
//! from every room, and `/metrics` counts the subscriptions.

mod common;

use std::net::SocketAddr;

use app_abi::host::App;
use app_abi::{DataKind, Rs, SendStatus, rs_app};
use common::{Client, Upgrade, test_spec, wait_until};
use ringsocket_daemon::server::{AppSource, AppSpec, EndpointSpec, Server};

const HOST: &str = "127.0.0.1";

/// `j<room>`, `l<room>`, `p<room> <text>`; `w` answers the client's worker.
fn rooms(rs: &mut Rs, payload: &[u8]) {
    let me = rs.client_id();
    let text = std::str::from_utf8(payload).unwrap();
    let (cmd, arg) = text.split_at(1);
    let status = match cmd {
        "j" => rs.subscribe(me, arg.as_bytes()),
        "l" => rs.unsubscribe(me, arg.as_bytes()),
        "p" => {
            let (room, said) = arg.split_once(' ').unwrap();
            rs.w_str(room).w_str(": ").w_str(said);
            rs.publish(DataKind::Text, room.as_bytes())
        }
        _ => {
            rs.w_str(&me.worker().to_string());
            rs.to_cur(DataKind::Text)
        }
    };
    assert_eq!(status, SendStatus::Sent);
}

rs_app! {
    static ROOMS;
    read: text rooms(net [u8; 1..]),
}

fn start() -> (Server, SocketAddr) {
    // SAFETY: made by `rs_app!`.
    let app = unsafe { App::from_static("rooms", &ROOMS) }.unwrap();
    let spec = test_spec(vec![AppSpec {
        name: "rooms".into(),
        source: AppSource::Loaded(app),
        endpoints: vec![EndpointSpec {
            id: 0,
            host: HOST.into(),
            path: "/rooms".into(),
            ..EndpointSpec::default()
        }],
        no_open_cb: false,
        no_close_cb: false,
    }]);
    let server = Server::start(spec).expect("the server starts");
    let addr = server.local_addrs()[0];
    (server, addr)
}

fn connect(addr: SocketAddr) -> Client {
    let host = format!("{HOST}:{}", addr.port());
    Client::try_connect(addr, &host, "/rooms", Upgrade::default()).unwrap()
}

/// Clients until both workers have `n` each (SO_REUSEPORT spreads them at random).
fn on_both_workers(addr: SocketAddr, n: usize) -> [Vec<Client>; 2] {
    let mut by_worker: [Vec<Client>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..200 {
        if by_worker.iter().all(|w| w.len() >= n) {
            break;
        }
        let mut c = connect(addr);
        c.text("w");
        let w: usize = c.recv_text().parse().unwrap();
        if by_worker[w].len() < n {
            by_worker[w].push(c);
        }
    }
    assert!(
        by_worker.iter().all(|w| w.len() >= n),
        "the workers did not both get clients"
    );
    by_worker
}

#[test]
fn a_publish_reaches_exactly_the_rooms_members_on_every_worker() {
    let (server, addr) = start();
    let [mut w0, mut w1] = on_both_workers(addr, 2);
    let (mut a, mut c) = (w0.remove(0), w0.remove(0));
    let (mut b, mut d) = (w1.remove(0), w1.remove(0));
    for (client, room) in [(&mut a, "lobby"), (&mut b, "lobby"), (&mut c, "dev")] {
        client.text(&format!("j{room}"));
        // A client's own messages keep their order (other clients' may overtake them: they
        // come through other rings): the reply means the join was handled.
        client.text("w");
        client.recv_text();
    }
    // The publisher need not be a member.
    for i in 0..50 {
        d.text(&format!("plobby m{i}"));
    }
    for member in [&mut a, &mut b] {
        for i in 0..50 {
            assert_eq!(member.recv_text(), format!("lobby: m{i}"));
        }
    }
    c.text("w");
    assert_eq!(
        c.recv_text(),
        "0",
        "c got nothing from lobby before its own reply"
    );
    wait_until("the subscriptions gauge", || {
        common::sample(&server.metrics().render(), "ringsocket_topic_subscriptions") == 3
    });
    // b leaves; a closes: nobody is left in lobby but the new member d.
    b.text("llobby");
    b.text("w");
    assert_eq!(b.recv_text(), "1");
    a.close(1000);
    a.recv_close();
    a.expect_eof();
    d.text("jlobby");
    d.text("plobby after");
    assert_eq!(d.recv_text(), "lobby: after");
    b.text("w");
    assert_eq!(b.recv_text(), "1", "b left and got nothing");
    c.text("pdev to c");
    assert_eq!(c.recv_text(), "dev: to c");
    wait_until("the subscriptions gauge after the close", || {
        common::sample(&server.metrics().render(), "ringsocket_topic_subscriptions") == 2
    });
}
