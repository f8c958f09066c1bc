//! `ceremonyd serve`: HTTP/1.1 (hyper) from the installed generation, held in memory and
//! swapped whole when it changes, plus the inbox watcher on its own thread.
//!
//! Bounded: at most `max_connections` connections (the accept loop waits for a free
//! slot), request heads of at most 16 KiB read within `header_timeout_seconds`, a peer
//! idle for `idle_timeout_seconds` is dropped, GET/HEAD only and no request bodies.
//! Files: `snapshot` (what is served), `http` (answers), `metrics`, `httpdate`,
//! `inbox` (the watcher), `io` (the idle timeout).

mod http;
mod httpdate;
mod inbox;
mod io;
pub mod metrics;
pub mod snapshot;

pub use httpdate::{http_date, parse_http_date};

use super::config::Config;
use super::error::DaemonError;
use super::log;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics::ImportStats;
use snapshot::Snapshot;
use std::convert::Infallible;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use time::OffsetDateTime;

/// Shared between the connections and the watcher.
pub struct State {
    pub config: Config,
    snapshot: RwLock<Arc<Snapshot>>,
    stats: Mutex<ImportStats>,
    stop: AtomicBool,
}

impl State {
    pub fn new(config: Config, snapshot: Snapshot) -> State {
        let stats = ImportStats {
            last_unix: snapshot.installed_unix,
            last_ok: snapshot.generation.map(|_| true),
            ..ImportStats::default()
        };
        State {
            config,
            snapshot: RwLock::new(Arc::new(snapshot)),
            stats: Mutex::new(stats),
            stop: AtomicBool::new(false),
        }
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn replace(&self, s: Snapshot) {
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(s);
    }

    pub fn stats(&self) -> ImportStats {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Serves until SIGTERM or SIGINT.
pub fn run(config: Config) -> Result<(), DaemonError> {
    let ca_dir = config
        .ca
        .dir
        .clone()
        .ok_or_else(|| DaemonError::Serve("ca.dir is not set in the configuration".into()))?;
    let snapshot = Snapshot::load(&ca_dir, OffsetDateTime::now_utc())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.serve.worker_threads)
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| DaemonError::Serve(format!("starting the runtime: {e}")))?;
    let state = Arc::new(State::new(config, snapshot));
    let watcher = {
        let state = state.clone();
        std::thread::Builder::new()
            .name("inbox".into())
            .spawn(move || inbox::watch(state))
            .map_err(|e| DaemonError::Serve(format!("starting the inbox watcher: {e}")))?
    };
    let result = runtime.block_on(accept_loop(state.clone()));
    state.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = watcher.join();
    result
}

async fn accept_loop(state: Arc<State>) -> Result<(), DaemonError> {
    use tokio::signal::unix::{SignalKind, signal};
    let cfg = &state.config.serve;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| DaemonError::Serve(format!("bind {}: {e}", cfg.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| DaemonError::Serve(e.to_string()))?;
    let snap = state.snapshot();
    let generation = snap.generation.map_or(-1, i64::from);
    log::info(
        "serve.listening",
        &[("addr", &addr), ("generation", &generation)],
    );
    let slots = Arc::new(tokio::sync::Semaphore::new(cfg.max_connections));
    let sig = |k| signal(k).map_err(|e| DaemonError::Serve(format!("signal handler: {e}")));
    let (mut term, mut int) = (sig(SignalKind::terminate())?, sig(SignalKind::interrupt())?);
    loop {
        let next = async {
            let permit = slots.clone().acquire_owned().await;
            (permit, listener.accept().await)
        };
        let (permit, accepted) = tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            got = next => got,
        };
        let Ok(permit) = permit else { break };
        match accepted {
            Ok((stream, _peer)) => {
                let state = state.clone();
                tokio::spawn(async move {
                    connection(state, stream).await;
                    drop(permit);
                });
            }
            Err(e) => {
                log::warn("serve.accept_failed", &[("reason", &e)]);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    log::info("serve.stopping", &[("addr", &addr)]);
    Ok(())
}

async fn connection(state: Arc<State>, stream: tokio::net::TcpStream) {
    let cfg = &state.config.serve;
    let _ = stream.set_nodelay(true);
    let idle = Duration::from_secs(cfg.idle_timeout_seconds);
    serve_io(state, io::TimedIo::new(stream, idle)).await;
}

/// Serves HTTP/1.1 requests read from `io` until it ends or fails: every accepted
/// connection goes through here (over the idle-timeout stream); the fuzz target of the request
/// handling (`tests/fuzz`) feeds it bytes from memory.
pub async fn serve_io<I>(state: Arc<State>, io: I)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let cfg = &state.config.serve;
    let io = TokioIo::new(io);
    let service = {
        let state = state.clone();
        service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            let now = OffsetDateTime::now_utc().unix_timestamp();
            let response =
                http::respond(&state, req.method(), req.uri().path(), req.headers(), now);
            async move { Ok::<_, Infallible>(response) }
        })
    };
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(cfg.header_timeout_seconds))
        .max_buf_size(16 * 1024)
        .keep_alive(true)
        .serve_connection(io, service)
        .await;
}
