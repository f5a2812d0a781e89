//! `include/ringsocket.h` lays out every ABI struct exactly as the Rust definitions do: a C
//! program built with gcc prints each size and field offset, and they must match
//! `size_of`/`offset_of!` here (inside the crate, so private `rs_conf` fields are reachable).

use core::mem::offset_of;
use std::path::Path;
use std::process::Command;

use crate::abi::{rs_app_descriptor, rs_host_fns, rs_sockaddr, rs_t};
use crate::conf::{rs_conf, rs_conf_app, rs_conf_cert, rs_conf_endpoint, rs_conf_port};

macro_rules! layouts {
    ($($ty:ident { $($field:ident),* })*) => {{
        let mut rust = Vec::new();
        let mut c = String::new();
        $(
            rust.push(format!("{} size {}", stringify!($ty), size_of::<$ty>()));
            c += &format!(
                "printf(\"{} size %zu\\n\", sizeof(struct {}));\n",
                stringify!($ty), stringify!($ty)
            );
            $(
                rust.push(format!("{}.{} {}", stringify!($ty), stringify!($field), offset_of!($ty, $field)));
                c += &format!(
                    "printf(\"{}.{} %zu\\n\", offsetof(struct {}, {}));\n",
                    stringify!($ty), stringify!($field), stringify!($ty), stringify!($field)
                );
            )*
        )*
        (rust, c)
    }};
}

#[test]
fn c_header_layouts_match() {
    let (rust, printfs) = layouts! {
        rs_t { host, host_ctx, wbuf, wbuf_len, wbuf_cap, app_data }
        rs_app_descriptor { magic, abi_version, struct_size, timer_mode, timer_interval_us,
            app_data_size, init, open, read, close, timer, fini, upgrade }
        rs_host_fns { abi_version, struct_size, wbuf_reserve, send, close, close_cur, client_id,
            client_addr, endpoint_id, read_data_kind, conf, app_conf, log, request_target,
            request_header, request_query_param, request_cookie, set_subprotocol,
            set_client_data, client_data, subscribe, unsubscribe, publish }
        rs_sockaddr { family, port, flowinfo, scope_id, addr }
        rs_conf { struct_size, log_level, worker_c, fd_alloc_c, max_ws_msg_size,
            max_ws_frame_chain_size, realloc_multiplier, worker_rbuf_size, inbound_ring_buf_size,
            outbound_ring_buf_size, owrefs_elem_c, epoll_buf_elem_c, update_queue_size,
            shutdown_wait_http, shutdown_wait_ws, reserved, port_c, ports, cert_c, certs, app_c,
            apps, user, syslog_path, max_client_backlog, handshake_wait, ping_interval,
            pong_wait, reserved_tail }
        rs_conf_port { port_number, is_unencrypted, ipv4only, ipv6only,
            ipv4_is_embedded_in_ipv6, interface, ip_addr_c, ip_addrs }
        rs_conf_cert { hostname_c, hostnames, privkey_path, pubchain_path }
        rs_conf_app { name, app_path, wbuf_size, update_queue_size, no_open_cb, no_close_cb,
            endpoint_c, endpoints }
        rs_conf_endpoint { endpoint_id, url, allowed_origin_c, allowed_origins }
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::env::temp_dir().join(format!("rs-app-abi-layout-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let src = out.join("layout.c");
    let constants = "printf(\"magic %u version %u\\n\", RS_APP_MAGIC, RS_ABI_VERSION);\n";
    std::fs::write(
        &src,
        format!("#include <ringsocket.h>\nint main(void) {{\n{printfs}{constants}return 0;\n}}\n"),
    )
    .unwrap();
    let exe = out.join("layout");
    let status = Command::new("gcc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(dir.join("include"))
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| panic!("the C header tests need gcc on PATH: {e}"));
    assert!(status.success(), "gcc failed on {}", src.display());
    let printed = Command::new(&exe).output().unwrap();
    let printed = String::from_utf8(printed.stdout).unwrap();
    let mut lines: Vec<&str> = printed.lines().collect();
    let last = lines.pop().unwrap();
    assert_eq!(
        last,
        format!(
            "magic {} version {}",
            crate::abi::RS_APP_MAGIC,
            crate::abi::RS_ABI_VERSION
        )
    );
    assert_eq!(lines, rust);
    std::fs::remove_dir_all(&out).unwrap();
}

/// `struct rs_conf` only ever grows at its end: the offsets apps were built against stay where
/// they are (x86_64 and every other LP64 target). A new key is appended after `reserved_tail`
/// (or takes its place), read through `rs_conf::appended`, and added here.
#[cfg(target_pointer_width = "64")]
#[test]
fn rs_conf_offsets_are_frozen() {
    macro_rules! frozen {
        ($($field:ident @ $offset:literal),* $(,)?) => {$(
            assert_eq!(
                offset_of!(rs_conf, $field),
                $offset,
                concat!("rs_conf.", stringify!($field), " moved: append new fields at the end instead")
            );
        )*};
    }
    frozen! {
        struct_size @ 0, log_level @ 4, worker_c @ 8, fd_alloc_c @ 12, max_ws_msg_size @ 16,
        max_ws_frame_chain_size @ 24, realloc_multiplier @ 32, worker_rbuf_size @ 40,
        inbound_ring_buf_size @ 48, outbound_ring_buf_size @ 56, owrefs_elem_c @ 64,
        epoll_buf_elem_c @ 68, update_queue_size @ 72, shutdown_wait_http @ 76,
        shutdown_wait_ws @ 80, port_c @ 88, ports @ 96, cert_c @ 104, certs @ 112, app_c @ 120,
        apps @ 128, user @ 136, syslog_path @ 144, max_client_backlog @ 152,
        handshake_wait @ 160, ping_interval @ 164, pong_wait @ 168,
    }
    assert!(size_of::<rs_conf>() >= 176, "rs_conf shrank");
}
