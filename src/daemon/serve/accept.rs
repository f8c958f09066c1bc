//! Accepting connections under the cap. A connection takes one of `max_connections`
//! slots; when none is free it waits up to [`limits::ADMIT_WAIT`] (at most
//! [`limits::MAX_WAITING`] wait), and each refusal tells waiting connections that have
//! been idle or stalled for [`limits::RECLAIM_GRACE`] to give their slots up. A
//! connection that finds no slot is answered 503 with `Retry-After` and closed (it counts
//! among the waiting ones until it is).

use super::State;
use super::conn;
use super::http;
use super::io::{self, Clock};
use super::limits;
use crate::daemon::log;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Accepts until `stop` completes.
pub async fn accept_loop(state: Arc<State>, listener: TcpListener, stop: impl Future<Output = ()>) {
    let slots = Arc::new(Semaphore::new(state.config.serve.max_connections));
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            () = &mut stop => break,
            got = listener.accept() => got,
        };
        match accepted {
            Ok((stream, _peer)) => admit(&state, &slots, stream),
            Err(e) => {
                // Out of file descriptors or memory: wait for connections to end.
                log::warn("serve.accept_failed", &[("reason", &e)]);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

fn admit(state: &Arc<State>, slots: &Arc<Semaphore>, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    if let Ok(permit) = slots.clone().try_acquire_owned() {
        tokio::spawn(serve(state.clone(), stream, permit));
        return;
    }
    state.note_refusal();
    if state.waiting.fetch_add(1, Ordering::Relaxed) >= limits::MAX_WAITING {
        state.waiting.fetch_sub(1, Ordering::Relaxed);
        let mut out = Vec::new();
        http::busy(&mut out, super::unix_now());
        let _ = stream.try_write(&out);
        return;
    }
    let (state, slots) = (state.clone(), slots.clone());
    tokio::spawn(async move {
        match wait_for_slot(&state, slots).await {
            Some(permit) => {
                state.waiting.fetch_sub(1, Ordering::Relaxed);
                serve(state, stream, permit).await;
            }
            None => {
                refuse(&state, stream).await;
                state.waiting.fetch_sub(1, Ordering::Relaxed);
            }
        }
    });
}

/// A slot within [`limits::ADMIT_WAIT`]; while waiting, the refusal is renewed every
/// [`limits::CHECK_INTERVAL`], so connections that become idle meanwhile give theirs up.
async fn wait_for_slot(state: &State, slots: Arc<Semaphore>) -> Option<OwnedSemaphorePermit> {
    let deadline = tokio::time::Instant::now() + limits::ADMIT_WAIT;
    let acquire = slots.acquire_owned();
    tokio::pin!(acquire);
    loop {
        tokio::select! {
            got = &mut acquire => return got.ok(),
            () = tokio::time::sleep(limits::CHECK_INTERVAL) => {
                if tokio::time::Instant::now() >= deadline {
                    return None;
                }
                state.note_refusal();
            }
        }
    }
}

async fn serve(state: Arc<State>, stream: TcpStream, permit: OwnedSemaphorePermit) {
    conn::serve(state, stream).await;
    drop(permit);
}

/// 503, then a short linger so the answer is not lost to a reset.
async fn refuse(state: &State, mut stream: TcpStream) {
    let mut out = Vec::new();
    http::busy(&mut out, super::unix_now());
    let mut clock = Clock::new();
    let idle = Duration::from_secs(1);
    if io::write_all(&mut stream, &out, &mut clock, state, idle)
        .await
        .is_ok()
    {
        let mut scratch = [0u8; 512];
        io::linger(&mut stream, &mut scratch, &mut clock, state).await;
    }
}
