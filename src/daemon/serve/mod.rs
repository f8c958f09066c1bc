//! `ceremonyd serve`: HTTP/1.1 from the installed generation, held in memory and
//! swapped whole when it changes, plus the inbox watcher on its own thread.
//!
//! A small server of its own (GET and HEAD of a few files need no general HTTP stack):
//! `request` (the pure head parser), `http` (answers), `conn` (one connection), `accept`
//! (the connection cap), `io` (deadlines), `limits` (every fixed limit), `snapshot` (what
//! is served), `metrics`, `httpdate`, `inbox` (the watcher). Bounded: at most
//! `max_connections` connections, heads of at most 16 KiB within
//! `header_timeout_seconds`, idle peers dropped after `idle_timeout_seconds`, no bodies.

mod accept;
mod conn;
pub mod http;
mod httpdate;
mod inbox;
mod io;
pub mod limits;
pub mod metrics;
pub mod request;
pub mod snapshot;

pub use httpdate::{http_date, parse_http_date};

use super::config::Config;
use super::error::DaemonError;
use super::log;
use metrics::ImportStats;
use snapshot::Snapshot;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use time::OffsetDateTime;
use tokio::time::Instant;

/// Shared between the connections and the watcher.
pub struct State {
    pub config: Config,
    snapshot: RwLock<Arc<Snapshot>>,
    /// Bumped at each snapshot swap: connections keep theirs until it changes.
    version: AtomicU64,
    stats: Mutex<ImportStats>,
    stop: AtomicBool,
    /// Connections waiting for a slot (see `accept`).
    waiting: AtomicUsize,
    /// Milliseconds after `started` of the last refusal (0: none yet).
    refused_at: AtomicU64,
    started: Instant,
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
            version: AtomicU64::new(0),
            stats: Mutex::new(stats),
            stop: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
            refused_at: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The snapshot and the version it was swapped in as.
    fn versioned_snapshot(&self) -> (u64, Arc<Snapshot>) {
        let guard = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
        (self.version.load(Ordering::Acquire), guard.clone())
    }

    fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    fn replace(&self, s: Snapshot) {
        let mut guard = self.snapshot.write().unwrap_or_else(|e| e.into_inner());
        *guard = Arc::new(s);
        self.version.fetch_add(1, Ordering::AcqRel);
    }

    fn millis(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.started).as_millis() as u64 + 1
    }

    /// A connection found no free slot.
    fn note_refusal(&self) {
        self.refused_at
            .store(self.millis(Instant::now()), Ordering::Relaxed);
    }

    /// Whether a wait that began at `since` must give its slot up: a connection was
    /// refused after it had lasted `limits::RECLAIM_GRACE`.
    fn reclaims(&self, since: Instant) -> bool {
        let refused = self.refused_at.load(Ordering::Relaxed);
        refused != 0 && refused >= self.millis(since + limits::RECLAIM_GRACE)
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
    raise_fd_limit(config.serve.max_connections);
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
    let result = runtime.block_on(listen(state.clone()));
    state.stop.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    result
}

async fn listen(state: Arc<State>) -> Result<(), DaemonError> {
    use tokio::signal::unix::{SignalKind, signal};
    let listen = state.config.serve.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| DaemonError::Serve(format!("bind {listen}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| DaemonError::Serve(e.to_string()))?;
    let generation = state.snapshot().generation.map_or(-1, i64::from);
    log::info(
        "serve.listening",
        &[("addr", &addr), ("generation", &generation)],
    );
    let sig = |k| signal(k).map_err(|e| DaemonError::Serve(format!("signal handler: {e}")));
    let (mut term, mut int) = (sig(SignalKind::terminate())?, sig(SignalKind::interrupt())?);
    let stop = async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
    };
    accept::accept_loop(state, listener, stop).await;
    log::info("serve.stopping", &[("addr", &addr)]);
    Ok(())
}

/// Raises the soft limit on open files to the hard one (as Go programs do), and warns
/// when even that cannot hold `max_connections` plus the waiting ones.
fn raise_fd_limit(max_connections: usize) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0;
    if ok && lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: as above.
        let _ = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
        // SAFETY: as above.
        let _ = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    }
    let need = (max_connections + limits::MAX_WAITING) as u64 + limits::SPARE_FDS;
    if ok && lim.rlim_cur < need {
        log::warn(
            "serve.fd_limit",
            &[("open_files", &lim.rlim_cur), ("needed", &need)],
        );
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
