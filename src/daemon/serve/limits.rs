//! Every fixed limit of `serve` in one place (the configurable ones are in
//! [`crate::daemon::config::ServeSettings`]: `max_connections`, `header_timeout_seconds`,
//! `idle_timeout_seconds`, `worker_threads`). Memory per connection is bounded by
//! [`MAX_HEAD_BYTES`] in and [`OUTPUT_FLUSH_BYTES`] plus one answer out; connections by
//! `max_connections` plus [`MAX_WAITING`].

use std::time::Duration;

pub use super::request::MAX_HEAD_BYTES;

/// The read buffer a connection starts with (and returns to once it is empty); it grows
/// by doubling up to [`MAX_HEAD_BYTES`] only for a head that needs it.
pub const INITIAL_READ_BYTES: usize = 1024;

/// Answers to pipelined requests are written out once this much is pending.
pub const OUTPUT_FLUSH_BYTES: usize = 16 * 1024;

/// While connections are being refused, a connection that has waited this long for its
/// peer (idle between requests, a head not yet complete, an answer not read) is closed.
pub const RECLAIM_GRACE: Duration = Duration::from_secs(1);

/// How often a waiting connection looks at the clock and at the refusals.
pub const CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// A connection beyond `max_connections` waits this long for a slot (time for idle
/// connections to pass [`RECLAIM_GRACE`] and give theirs up), then gets 503.
pub const ADMIT_WAIT: Duration = Duration::from_secs(3);

/// At most this many connections wait for a slot; further ones get 503 at once.
pub const MAX_WAITING: usize = 256;

/// After an answer that closes the connection, what the peer still sends is read and
/// dropped for at most this long...
pub const LINGER: Duration = Duration::from_secs(2);

/// ...and at most this many bytes.
pub const LINGER_BYTES: usize = 64 * 1024;

/// File descriptors kept free beyond the connections (listener, log, snapshot loads).
pub const SPARE_FDS: u64 = 64;
