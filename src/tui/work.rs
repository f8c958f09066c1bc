//! Giving an answer to the engine off the UI thread. A key generation or a signature can
//! take seconds on a real token; meanwhile the screen keeps drawing a "working" frame
//! with the elapsed time, and keys typed are kept, to be handled in order afterwards:
//! characters go into the next question's field and Ctrl-Q asks to quit, but nothing
//! typed ahead is ever submitted (Enter is dropped), so no step is confirmed, and no PIN
//! sent again, before the people have seen the question. After an error nothing typed
//! ahead is kept.

use super::app::App;
use super::screen::{Message, Screen};
use super::view;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind};
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
    let failed = outcome.is_err();
    app.answered(outcome);
    keep_typed_ahead(keys, failed);
    Ok(true)
}

/// Keeps what may be replayed onto the next question: characters and Ctrl-Q, never
/// Enter; nothing after an error (the people must read it first).
fn keep_typed_ahead(keys: &mut VecDeque<KeyEvent>, failed: bool) {
    keys.retain(|k| !failed && matches!(k.code, KeyCode::Char(_) | KeyCode::Backspace));
}

/// The last frame before the work began, with what is being done and for how long.
pub fn working_frame(before: &Screen, what: &str, took: Duration, typed: usize) -> Screen {
    let mut frame = before.clone();
    let kept = match typed {
        0 => String::new(),
        _ => "; what is typed now goes into the next field, Enter is ignored".into(),
    };
    frame.message = Some(Message::Info(format!(
        "working: {what} ({:.1} s); the token is busy, wait for it{kept}",
        took.as_secs_f64()
    )));
    frame
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyModifiers;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn typed_ahead_characters_are_kept_and_never_submitted() {
        let mut keys: VecDeque<KeyEvent> = [
            key(KeyCode::Char('a')),
            key(KeyCode::Enter),
            key(KeyCode::Char('o')),
            KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL),
        ]
        .into();
        keep_typed_ahead(&mut keys, false);
        let codes: Vec<KeyCode> = keys.iter().map(|k| k.code).collect();
        assert_eq!(
            codes,
            [KeyCode::Char('a'), KeyCode::Char('o'), KeyCode::Char('q')]
        );
        keep_typed_ahead(&mut keys, true);
        assert!(keys.is_empty(), "nothing is kept after an error");
    }
}
