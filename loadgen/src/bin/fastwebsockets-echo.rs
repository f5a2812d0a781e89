//! `fastwebsockets-echo --port PORT --workers N`: a fastwebsockets peer server for the
//! benchmark, hyper's HTTP/1.1 server doing the upgrade, on tokio's multi-thread runtime with
//! `N` worker threads.
//!
//! * `/echo`: every data message back to its sender, as fastwebsockets' own echo example does
//!   it (a `FragmentCollector`, one `write_frame` per message).
//! * `/broadcast`: every data message to every other client (like the chat example): the
//!   connection is split, a shared map holds each client's outgoing channel, and each client's
//!   writer task writes everything queued into a `BufWriter` and then flushes once (so a burst
//!   costs one write per client, not one per message). Pongs and close replies the reader owes
//!   go through the same channel, in order.
//!
//! Any other path, or a request that is not an upgrade, is answered 404 / 400.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use fastwebsockets::{
    FragmentCollector, FragmentCollectorRead, Frame, OpCode, Payload, WebSocketError, upgrade,
};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use ringsocket_loadgen::ServerArgs;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// One frame to write: its opcode and payload.
type Out = (OpCode, Bytes);

/// The broadcast clients' outgoing queues, by client number.
type Peers = Arc<Mutex<HashMap<u64, mpsc::UnboundedSender<Out>>>>;

fn main() {
    let args = ServerArgs::from_env("fastwebsockets-echo");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(e) = runtime.block_on(serve(args.port)) {
        eprintln!("fastwebsockets-echo: {e}");
        std::process::exit(1);
    }
}

async fn serve(port: u16) -> std::io::Result<()> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    eprintln!("fastwebsockets-echo: listening on 127.0.0.1:{port}");
    let peers = Peers::default();
    let ids = Arc::new(AtomicU64::new(0));
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let (peers, ids) = (peers.clone(), ids.clone());
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let service = service_fn(move |req| route(req, peers.clone(), ids.clone()));
            // Errors end that client only (the load generator may reset idle connections).
            let _ = http1::Builder::new()
                .serve_connection(io, service)
                .with_upgrades()
                .await;
        });
    }
}

async fn route(
    mut req: Request<Incoming>,
    peers: Peers,
    ids: Arc<AtomicU64>,
) -> Result<Response<Empty<Bytes>>, WebSocketError> {
    let status = |code| {
        let mut response = Response::new(Empty::new());
        *response.status_mut() = code;
        Ok(response)
    };
    let broadcast = match req.uri().path() {
        "/echo" => false,
        "/broadcast" => true,
        _ => return status(StatusCode::NOT_FOUND),
    };
    if !upgrade::is_upgrade_request(&req) {
        return status(StatusCode::BAD_REQUEST);
    }
    let Ok((response, fut)) = upgrade::upgrade(&mut req) else {
        return status(StatusCode::BAD_REQUEST);
    };
    tokio::spawn(async move {
        let _ = if broadcast {
            let id = ids.fetch_add(1, Ordering::Relaxed);
            broadcast_client(fut, id, peers).await
        } else {
            echo_client(fut).await
        };
    });
    Ok(response)
}

async fn echo_client(fut: upgrade::UpgradeFut) -> Result<(), WebSocketError> {
    let mut ws = FragmentCollector::new(fut.await?);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => return Ok(()),
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
}

async fn broadcast_client(
    fut: upgrade::UpgradeFut,
    id: u64,
    peers: Peers,
) -> Result<(), WebSocketError> {
    let ws = fut.await?;
    let (read, mut write) = ws.split(|io| {
        let (r, w) = tokio::io::split(io);
        (r, tokio::io::BufWriter::new(w))
    });
    let mut read = FragmentCollectorRead::new(read);
    let (tx, mut rx) = mpsc::unbounded_channel::<Out>();
    peers.lock().expect("peers").insert(id, tx.clone());
    let writer = tokio::spawn(async move {
        while let Some((opcode, payload)) = rx.recv().await {
            let mut next = Some((opcode, payload));
            while let Some((opcode, payload)) = next {
                write
                    .write_frame(Frame::new(true, opcode, None, Payload::Borrowed(&payload)))
                    .await?;
                if opcode == OpCode::Close {
                    write.flush().await?;
                    return Ok(());
                }
                next = rx.try_recv().ok();
            }
            write.flush().await?;
        }
        Ok::<_, WebSocketError>(())
    });
    let mut owed = |frame: Frame<'_>| {
        let sent = tx.send((frame.opcode, Bytes::copy_from_slice(&frame.payload)));
        async move { sent.map_err(|_| "writer gone") }
    };
    let result = loop {
        let frame = match read.read_frame(&mut owed).await {
            Ok(frame) => frame,
            Err(e) => break Err(e),
        };
        match frame.opcode {
            OpCode::Close => break Ok(()),
            OpCode::Text | OpCode::Binary => {
                let payload = Bytes::copy_from_slice(&frame.payload);
                for (other, tx) in peers.lock().expect("peers").iter() {
                    if *other != id {
                        let _ = tx.send((frame.opcode, payload.clone()));
                    }
                }
            }
            _ => {}
        }
    };
    peers.lock().expect("peers").remove(&id);
    drop(tx);
    // Let the writer send the close reply (if any) and what is queued, then end.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), writer).await;
    result
}
