//! The terminal front end of `ceremony`: the operator and the witness walk through the
//! checklist here. Elm-shaped: [`app::App`] holds the state and updates it from keys,
//! [`screen::Screen`] is the plain view model, [`view`] draws it. The TUI never talks to
//! PKCS#11; it only answers the engine's prompts.

pub mod app;
pub mod chooser;
mod field;
pub mod screen;
pub mod view;
mod work;

use crate::engine::Engine;
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

/// How often the clock and the token list refresh.
const TICK: Duration = Duration::from_millis(500);

/// Runs the ceremony in the terminal until it is finished and left, or the people quit.
/// The terminal is restored on return, on error and on panic. Returns the engine (for
/// a summary) and whether the ceremony was finished.
pub fn run(engine: Engine, work: String) -> io::Result<(Engine, bool)> {
    let mut app = app::App::new(engine, work);
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, &mut app);
    ratatui::restore();
    result?;
    let finished = app.finished();
    Ok((app.into_engine(), finished))
}

fn event_loop(terminal: &mut ratatui::DefaultTerminal, app: &mut app::App) -> io::Result<()> {
    let mut last_tick = Instant::now();
    // Keys typed while the engine worked, handled in order before any new one.
    let mut typed = VecDeque::new();
    while !app.quit {
        let screen = app.screen();
        terminal.draw(|frame| view::draw(frame, &screen))?;
        if work::run_pending(terminal, app, &mut typed)? {
            continue;
        }
        if let Some(key) = typed.pop_front() {
            app.update(app::Msg::Key(key));
            continue;
        }
        let wait = TICK.saturating_sub(last_tick.elapsed());
        if event::poll(wait)? {
            match event::read()? {
                Event::Key(key) if key.kind == KeyEventKind::Press => {
                    app.update(app::Msg::Key(key))
                }
                _ => {}
            }
        }
        if last_tick.elapsed() >= TICK {
            app.update(app::Msg::Tick);
            last_tick = Instant::now();
        }
    }
    Ok(())
}
