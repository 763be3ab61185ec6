//! The accept loop: HTTP/1 connections served by hyper, each held to the limits a server on a
//! shared machine needs, which `axum::serve` does not set:
//!
//! - a request's headers must arrive within [`Limits::timeout`] (a connection that sends
//!   nothing, or idles between requests, is closed then), so idle connections cannot hold the
//!   server's file descriptors;
//! - at most [`Limits::connections`] connections at once: more wait in the kernel's backlog
//!   until one closes, and a failed accept (out of file descriptors) is retried, never fatal;
//! - on shutdown, no new connection is accepted and those open finish their requests.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::Limits;

/// Serves `router` on `listener` until `shutdown` completes, then waits for the connections
/// open to finish.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(limits.connections.max(1)));
    // Dropped at shutdown: every connection is told to finish.
    let (stop, stopping) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors, or a connection reset before it was accepted:
                // wait a moment and go on.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let mut stopping = stopping.clone();
        let timeout = limits.timeout;
        tasks.spawn(async move {
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(timeout)
                .serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(slot);
        });
        // Finished connections are reaped as new ones come.
        while tasks.try_join_next().is_some() {}
    }
    drop(stop);
    while tasks.join_next().await.is_some() {}
}

/// How many connections at once: half the open-file limit (Linux's `/proc/self/limits`),
/// within 16..1024, so that the server never runs out of file descriptors for its own files
/// (a run to load, a drawing to save); 512 where the limit cannot be read.
pub(crate) fn connection_cap() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).map(str::to_string))
        })
        .and_then(|v| v.parse::<usize>().ok());
    soft.map_or(512, |n| (n / 2).clamp(16, 1024))
}
