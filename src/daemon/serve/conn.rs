//! One connection: read, answer every complete request head that has arrived (pipelined
//! ones in one write), wait for the next. A head must be complete within
//! `header_timeout_seconds` of its first byte (else 408); a connection idle between
//! requests for `idle_timeout_seconds`, or a peer that reads no answer for as long, is
//! closed. Buffers are bounded ([`super::limits`]); a refused head (400, 414, 431, 505) or
//! a request with a body (413) is answered, then the connection closes.

use super::State;
use super::http::{self, Persist};
use super::io::{self, Clock, Wait};
use super::limits::{INITIAL_READ_BYTES, MAX_HEAD_BYTES, OUTPUT_FLUSH_BYTES};
use super::request::{self, Parsed};
use super::snapshot::Snapshot;
use super::unix_now;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Serves `stream` until it closes.
pub async fn serve(state: Arc<State>, stream: TcpStream) {
    let mut c = Conn::new(state, stream);
    if c.run().await == End::Linger {
        let Conn {
            stream,
            input,
            clock,
            state,
            ..
        } = &mut c;
        io::linger(stream, input, clock, state).await;
    }
}

/// What follows the last answer.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// Close now: the peer went away or stayed idle.
    Drop,
    /// Close after draining what the peer still sends.
    Linger,
}

/// After answering what was buffered.
enum Next {
    Read,
    /// Output is due before more is answered.
    Flush,
    Close,
}

struct Conn {
    state: Arc<State>,
    stream: TcpStream,
    clock: Clock,
    /// Received bytes not yet answered are `input[start..end]`.
    input: Vec<u8>,
    start: usize,
    end: usize,
    /// When the pending partial head began to arrive.
    head_since: Option<Instant>,
    output: Vec<u8>,
    snapshot: Arc<Snapshot>,
    version: u64,
    idle: Duration,
    header: Duration,
}

impl Conn {
    fn new(state: Arc<State>, stream: TcpStream) -> Conn {
        let (version, snapshot) = state.versioned_snapshot();
        Conn {
            idle: Duration::from_secs(state.config.serve.idle_timeout_seconds),
            header: Duration::from_secs(state.config.serve.header_timeout_seconds),
            state,
            stream,
            clock: Clock::new(),
            input: vec![0; INITIAL_READ_BYTES],
            start: 0,
            end: 0,
            head_since: None,
            output: Vec::new(),
            snapshot,
            version,
        }
    }

    async fn run(&mut self) -> End {
        loop {
            let next = self.answer_buffered();
            if !self.output.is_empty() && self.flush().await.is_err() {
                return End::Drop;
            }
            match next {
                Next::Close => return End::Linger,
                Next::Flush => continue,
                Next::Read => {}
            }
            match self.receive().await {
                Ok(0) => return End::Drop,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut && self.start < self.end => {
                    http::timed_out(&mut self.output, unix_now());
                    let _ = self.flush().await;
                    return End::Linger;
                }
                Err(_) => return End::Drop,
            }
        }
    }

    /// Answers every complete head in the input.
    fn answer_buffered(&mut self) -> Next {
        self.refresh_snapshot();
        let now = unix_now();
        loop {
            let pending = &self.input[self.start..self.end];
            match request::parse(pending) {
                Parsed::Partial => return Next::Read,
                Parsed::Refused(r) => {
                    http::refused(&mut self.output, now, r);
                    return Next::Close;
                }
                Parsed::Complete { head, len } => {
                    let persist =
                        http::respond(&self.state, &self.snapshot, &head, now, &mut self.output);
                    self.start += len;
                    self.head_since = None;
                    if persist == Persist::Close {
                        return Next::Close;
                    }
                    if self.output.len() >= OUTPUT_FLUSH_BYTES {
                        return Next::Flush;
                    }
                }
            }
        }
    }

    fn refresh_snapshot(&mut self) {
        if self.state.version() != self.version {
            (self.version, self.snapshot) = self.state.versioned_snapshot();
        }
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        let r = io::write_all(
            &mut self.stream,
            &self.output,
            &mut self.clock,
            &self.state,
            self.idle,
        )
        .await;
        self.output.clear();
        if self.output.capacity() > OUTPUT_FLUSH_BYTES {
            self.output = Vec::new();
        }
        r
    }

    /// Reads more input: within the header timeout when a head is under way, else within
    /// the idle timeout.
    async fn receive(&mut self) -> std::io::Result<usize> {
        self.make_room();
        let wait = if self.start < self.end {
            let since = *self.head_since.get_or_insert_with(Instant::now);
            let deadline = since + self.header;
            Some(Wait { since, deadline })
        } else {
            None
        };
        let idle = self.idle;
        let buf = &mut self.input[self.end..];
        let n = io::read(&mut self.stream, buf, &mut self.clock, &self.state, || {
            wait.unwrap_or_else(|| Wait::from_now(idle))
        })
        .await?;
        self.end += n;
        Ok(n)
    }

    /// Moves pending input to the front, grows the buffer for a long head (up to
    /// [`MAX_HEAD_BYTES`]) and shrinks it back once it is empty.
    fn make_room(&mut self) {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
            if self.input.len() > INITIAL_READ_BYTES {
                self.input = vec![0; INITIAL_READ_BYTES];
            }
        } else if self.end == self.input.len() {
            if self.start > 0 {
                self.input.copy_within(self.start..self.end, 0);
                (self.start, self.end) = (0, self.end - self.start);
            } else {
                let len = (self.input.len() * 2).min(MAX_HEAD_BYTES);
                self.input.resize(len, 0);
            }
        }
    }
}
