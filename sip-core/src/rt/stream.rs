//! Stream connections (TCP, TLS): one reader task framing messages by Content-Length
//! (RFC 3261 §18.3) and answering CRLF keep-alives (RFC 5626 §3.5.1), one writer task.

#![allow(clippy::disallowed_methods, reason = "the tokio shell owns the tasks")]

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use bytes::{Bytes, BytesMut};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::mpsc,
};
use tokio_rustls::{TlsAcceptor, TlsConnector, rustls::pki_types::ServerName};

use super::{Input, Internal};
use crate::{Flow, ParseErrorKind, header::Transport, parse_stream, transaction::ConnectionId};

pub(super) async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    tx: mpsc::Sender<Internal>,
    next_id: Arc<AtomicU64>,
    max: usize,
) {
    let transport = if acceptor.is_some() {
        Transport::Tls
    } else {
        Transport::Tcp
    };
    let Ok(local) = listener.local_addr() else {
        return;
    };
    loop {
        let (stream, remote) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let id = ConnectionId(next_id.fetch_add(1, Ordering::Relaxed));
        let (writer, queue) = mpsc::channel(256);
        let tx = tx.clone();
        let acceptor = acceptor.clone();
        let transport = transport.clone();
        tokio::spawn(async move {
            let flow = Flow {
                transport: transport.clone(),
                local,
                remote,
                connection: Some(id),
            };
            if tx
                .send(Internal::Connected {
                    id,
                    transport,
                    remote,
                    writer: writer.clone(),
                })
                .await
                .is_err()
            {
                return;
            }
            match acceptor {
                Some(a) => match a.accept(stream).await {
                    Ok(tls) => serve(tls, flow, writer, queue, tx, max).await,
                    Err(e) => {
                        tracing::debug!(%remote, error = %e, "TLS handshake failed");
                        let _ = tx.send(Internal::Closed(id)).await;
                    }
                },
                None => serve(stream, flow, writer, queue, tx, max).await,
            }
        });
    }
}

/// Opens a connection for messages already queued on `queue`.
pub(super) async fn connect(
    id: ConnectionId,
    transport: Transport,
    remote: SocketAddr,
    connector: Option<TlsConnector>,
    queue: mpsc::Receiver<Bytes>,
    tx: mpsc::Sender<Internal>,
    max: usize,
) {
    let stream = match TcpStream::connect(remote).await {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!(%remote, error = %e, "connect failed");
            let _ = tx.send(Internal::Unreachable(id, transport, remote)).await;
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    let Ok(local) = stream.local_addr() else {
        return;
    };
    let flow = Flow {
        transport: transport.clone(),
        local,
        remote,
        connection: Some(id),
    };
    // The writer of this connection is already registered; serve() needs a sender for pongs.
    let (pong_writer, pong_queue) = mpsc::channel(4);
    let merged = merge(queue, pong_queue);
    match connector {
        Some(c) => {
            let name = ServerName::IpAddress(remote.ip().into());
            match c.connect(name, stream).await {
                Ok(tls) => serve(tls, flow, pong_writer, merged, tx, max).await,
                Err(e) => {
                    tracing::debug!(%remote, error = %e, "TLS connect failed");
                    let _ = tx.send(Internal::Unreachable(id, transport, remote)).await;
                }
            }
        }
        None => serve(stream, flow, pong_writer, merged, tx, max).await,
    }
}

/// Two queues into one (the registered writer and the keep-alive pongs).
fn merge(mut a: mpsc::Receiver<Bytes>, mut b: mpsc::Receiver<Bytes>) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::channel(256);
    tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                m = a.recv() => m,
                m = b.recv() => m,
            };
            match next {
                Some(m) => {
                    if tx.send(m).await.is_err() {
                        return;
                    }
                }
                None => return,
            }
        }
    });
    rx
}

/// Runs a connection: writes what `queue` yields, reads and frames what arrives.
async fn serve<S>(
    stream: S,
    flow: Flow,
    writer: mpsc::Sender<Bytes>,
    mut queue: mpsc::Receiver<Bytes>,
    tx: mpsc::Sender<Internal>,
    max: usize,
) where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let id = flow
        .connection
        .expect("stream flows carry their connection");
    let (mut read, mut write) = tokio::io::split(stream);
    let write_task = tokio::spawn(async move {
        while let Some(data) = queue.recv().await {
            if write.write_all(&data).await.is_err() {
                break;
            }
        }
        let _ = write.shutdown().await;
    });
    let mut buf = BytesMut::with_capacity(8192);
    'read: loop {
        match read.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        loop {
            // RFC 5626 §3.5.1: a double CRLF is a ping, answered with one CRLF.
            if buf.starts_with(b"\r\n\r\n") {
                let _ = buf.split_to(4);
                let _ = writer.try_send(Bytes::from_static(b"\r\n"));
                continue;
            }
            if buf.as_ref() == b"\r\n" || buf.as_ref() == b"\r" {
                // A pong, or half a ping: wait for more.
                if buf.as_ref() == b"\r\n" {
                    buf.clear();
                }
                break;
            }
            match parse_stream(&mut buf, max) {
                Ok(Some(message)) => {
                    let input = Input::Message {
                        flow: flow.clone(),
                        message: Box::new(message),
                    };
                    if tx.send(Internal::Input(input)).await.is_err() {
                        break 'read;
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    let fatal = matches!(
                        error.kind,
                        ParseErrorKind::TooLarge | ParseErrorKind::Header(_)
                    );
                    let _ = tx
                        .send(Internal::Input(Input::ParseError {
                            flow: flow.clone(),
                            error,
                        }))
                        .await;
                    if fatal {
                        // Framing is lost: close the connection after the answer is written.
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        break 'read;
                    }
                }
            }
        }
    }
    drop(writer);
    write_task.abort();
    let _ = tx.send(Internal::Closed(id)).await;
}
