//! `tokio-tungstenite-echo --port PORT --workers N`: a tokio-tungstenite peer server for the
//! benchmark, on tokio's multi-thread runtime with `N` worker threads.
//!
//! * `/echo`: every data message back to its sender, as tokio-tungstenite's own echo example
//!   does it (`read.forward(write)`, which flushes whenever the input has nothing more ready,
//!   so a burst of pipelined messages is answered with few writes).
//! * `/broadcast`: every data message to every other client (like the chat example), as
//!   tokio-tungstenite's chat example does it: a shared map of per-client channels; each
//!   client's writer task feeds everything queued and then flushes once.
//!
//! Any other path is refused with 404. Pings, pongs and the close handshake are tungstenite's.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt, TryStreamExt, future};
use ringsocket_loadgen::ServerArgs;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;

/// The broadcast clients' outgoing queues, by client number.
type Peers = Arc<Mutex<HashMap<u64, mpsc::UnboundedSender<Message>>>>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Echo,
    Broadcast,
}

fn main() {
    let args = ServerArgs::from_env("tokio-tungstenite-echo");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(e) = runtime.block_on(serve(args.port)) {
        eprintln!("tokio-tungstenite-echo: {e}");
        std::process::exit(1);
    }
}

async fn serve(port: u16) -> std::io::Result<()> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    eprintln!("tokio-tungstenite-echo: listening on 127.0.0.1:{port}");
    let peers = Peers::default();
    let ids = Arc::new(AtomicU64::new(0));
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let peers = peers.clone();
        let id = ids.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            // Errors end that client only (the load generator may reset idle connections).
            let _ = client(stream, id, peers).await;
        });
    }
}

// tungstenite's handshake callback returns its (large) `ErrorResponse` by value.
#[allow(clippy::result_large_err)]
async fn client(
    stream: TcpStream,
    id: u64,
    peers: Peers,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    let mut endpoint = None;
    let route = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        endpoint = match request.uri().path() {
            "/echo" => Some(Endpoint::Echo),
            "/broadcast" => Some(Endpoint::Broadcast),
            _ => None,
        };
        if endpoint.is_some() {
            Ok(response)
        } else {
            let mut refusal = ErrorResponse::new(None);
            *refusal.status_mut() = StatusCode::NOT_FOUND;
            Err(refusal)
        }
    };
    let ws = tokio_tungstenite::accept_hdr_async(stream, route).await?;
    let (mut write, read) = ws.split();
    match endpoint {
        Some(Endpoint::Echo) => {
            read.try_filter(|m| future::ready(m.is_text() || m.is_binary()))
                .forward(write)
                .await
        }
        Some(Endpoint::Broadcast) => {
            let (tx, mut rx) = mpsc::unbounded_channel();
            peers.lock().expect("peers").insert(id, tx);
            let writer = tokio::spawn(async move {
                while let Some(message) = rx.recv().await {
                    write.feed(message).await?;
                    while let Ok(message) = rx.try_recv() {
                        write.feed(message).await?;
                    }
                    write.flush().await?;
                }
                Ok::<_, tokio_tungstenite::tungstenite::Error>(())
            });
            let result = read
                .try_for_each(|message| {
                    if message.is_text() || message.is_binary() {
                        for (other, tx) in peers.lock().expect("peers").iter() {
                            if *other != id {
                                let _ = tx.send(message.clone());
                            }
                        }
                    }
                    future::ready(Ok(()))
                })
                .await;
            peers.lock().expect("peers").remove(&id);
            writer.abort();
            result
        }
        None => Ok(()),
    }
}
