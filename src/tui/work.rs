//! Giving an answer to the engine off the UI thread. A key generation or a signature can
//! take seconds on a real token; meanwhile the screen keeps drawing a "working" frame
//! with the elapsed time, and keys typed are kept, to be handled in order afterwards.

use super::app::App;
use super::screen::{Message, Screen};
use super::view;
use ratatui::crossterm::event::{self, Event, KeyEvent, KeyEventKind};
use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

/// How often the working frame is drawn; the first comes this long after the answer
/// (most answers take microseconds and show none).
const FRAME: Duration = Duration::from_millis(100);
/// How often the worker and the keyboard are looked at: the bound on the delay this
/// adds to an answer that is quick.
const POLL: Duration = Duration::from_millis(5);

/// Runs the app's pending answer, if any, on a worker thread; returns whether there was
/// one. Keys pressed while it runs go to the back of `keys`.
pub fn run_pending(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    keys: &mut VecDeque<KeyEvent>,
) -> io::Result<bool> {
    let snapshot = app.screen();
    let what = app.working_on();
    let Some((engine, answer)) = app.take_pending() else {
        return Ok(false);
    };
    let started = Instant::now();
    let outcome = std::thread::scope(|scope| -> io::Result<_> {
        let worker = scope.spawn(move || engine.answer(answer));
        let mut next_frame = started + FRAME;
        while !worker.is_finished() {
            let now = Instant::now();
            if now >= next_frame {
                let frame = working_frame(&snapshot, &what, started.elapsed(), keys.len());
                terminal.draw(|f| view::draw(f, &frame))?;
                next_frame = now + FRAME;
            }
            if event::poll(POLL.min(next_frame.saturating_duration_since(now)))?
                && let Event::Key(key) = event::read()?
                && key.kind == KeyEventKind::Press
            {
                keys.push_back(key);
            }
        }
        Ok(worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })?;
    app.answered(outcome);
    Ok(true)
}

/// The last frame before the work began, with what is being done and for how long.
pub fn working_frame(before: &Screen, what: &str, took: Duration, typed: usize) -> Screen {
    let mut frame = before.clone();
    let kept = match typed {
        0 => String::new(),
        1 => "; 1 key typed meanwhile is kept".into(),
        n => format!("; {n} keys typed meanwhile are kept"),
    };
    frame.message = Some(Message::Info(format!(
        "working: {what} ({:.1} s); the token is busy, wait for it{kept}",
        took.as_secs_f64()
    )));
    frame
}
