//! Reading from and writing to a peer with a deadline. A wait ends when its deadline
//! passes, or, when connections are being refused for want of a slot, once it has lasted
//! [`limits::RECLAIM_GRACE`]: an idle or stalled connection then gives its slot to a
//! client that has something to ask. One timer per connection, re-armed at most every
//! [`limits::CHECK_INTERVAL`] (not per request), keeps the clock cheap under load.

use super::State;
use super::limits;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Duration, Instant, Sleep};

/// One wait on the peer: since when, and until when at most.
#[derive(Debug, Clone, Copy)]
pub struct Wait {
    pub since: Instant,
    pub deadline: Instant,
}

impl Wait {
    pub fn from_now(limit: Duration) -> Wait {
        let since = Instant::now();
        Wait {
            since,
            deadline: since + limit,
        }
    }
}

/// A connection's timer.
pub struct Clock {
    sleep: Pin<Box<Sleep>>,
}

impl Clock {
    pub fn new() -> Clock {
        Clock {
            sleep: Box::pin(tokio::time::sleep(limits::CHECK_INTERVAL)),
        }
    }

    /// Ready when `wait` must end.
    fn poll_over(&mut self, cx: &mut Context<'_>, wait: &Wait, state: &State) -> Poll<()> {
        loop {
            let now = Instant::now();
            if now >= wait.deadline || state.reclaims(wait.since) {
                return Poll::Ready(());
            }
            let next = wait.deadline.min(now + limits::CHECK_INTERVAL);
            if self.sleep.is_elapsed() || self.sleep.deadline() > next {
                self.sleep.as_mut().reset(next);
            }
            if self.sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "peer too slow")
}

/// Reads what has arrived into `buf` (0: end of stream). `wait` is made when the read
/// first has to wait, so a request that is already there costs no clock reading.
pub async fn read(
    stream: &mut TcpStream,
    buf: &mut [u8],
    clock: &mut Clock,
    state: &State,
    mut wait: impl FnMut() -> Wait,
) -> io::Result<usize> {
    let mut made: Option<Wait> = None;
    poll_fn(|cx| {
        let mut rb = ReadBuf::new(buf);
        match Pin::new(&mut *stream).poll_read(cx, &mut rb) {
            Poll::Ready(r) => Poll::Ready(r.map(|()| rb.filled().len())),
            Poll::Pending => {
                let w = made.get_or_insert_with(&mut wait);
                clock.poll_over(cx, w, state).map(|()| Err(timed_out()))
            }
        }
    })
    .await
}

/// Writes all of `data`; a peer that reads nothing for `idle` fails it.
pub async fn write_all(
    stream: &mut TcpStream,
    mut data: &[u8],
    clock: &mut Clock,
    state: &State,
    idle: Duration,
) -> io::Result<()> {
    let mut made: Option<Wait> = None;
    while !data.is_empty() {
        let n = poll_fn(|cx| match Pin::new(&mut *stream).poll_write(cx, data) {
            Poll::Ready(r) => Poll::Ready(r),
            Poll::Pending => {
                let w = made.get_or_insert_with(|| Wait::from_now(idle));
                clock.poll_over(cx, w, state).map(|()| Err(timed_out()))
            }
        })
        .await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        made = None;
        data = &data[n..];
    }
    Ok(())
}

/// Closes the sending side (FIN after the answer), then reads and drops what the peer
/// still sends, for at most [`limits::LINGER`] and [`limits::LINGER_BYTES`]: closing with
/// unread input would reset the connection and could destroy the answer in flight.
pub async fn linger(stream: &mut TcpStream, scratch: &mut [u8], clock: &mut Clock, state: &State) {
    let _ = poll_fn(|cx| Pin::new(&mut *stream).poll_shutdown(cx)).await;
    let wait = Wait::from_now(limits::LINGER);
    let mut drained = 0;
    while drained < limits::LINGER_BYTES {
        match read(stream, scratch, clock, state, || wait).await {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}
