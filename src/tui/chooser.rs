//! The first screen of `ceremony` without arguments: choose a checklist from a folder
//! and whether to run it for real or as a drill.

use crate::engine::Mode;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use std::io;
use std::path::{Path, PathBuf};

/// The checklists (`*.toml`) in `dir`, sorted.
pub fn checklists_in(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    found.sort();
    Ok(found)
}

/// Lets the people pick a checklist and a mode; `None` when they quit.
pub fn choose(dir: &Path) -> io::Result<Option<(PathBuf, Mode)>> {
    let files = checklists_in(dir)?;
    if files.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no checklists (*.toml) in {}", dir.display()),
        ));
    }
    let mut terminal = ratatui::try_init()?;
    let result = pick(&mut terminal, dir, &files);
    ratatui::restore();
    result
}

fn pick(
    terminal: &mut ratatui::DefaultTerminal,
    dir: &Path,
    files: &[PathBuf],
) -> io::Result<Option<(PathBuf, Mode)>> {
    let mut selected = 0usize;
    loop {
        terminal.draw(|frame| {
            let mut lines = vec![
                Line::from(Span::styled(
                    "ceremony: choose a checklist",
                    Style::default().add_modifier(Modifier::BOLD),
                )),
                Line::from(format!("from {}", dir.display())),
                Line::from(""),
            ];
            for (i, f) in files.iter().enumerate() {
                let marker = if i == selected { "> [*]" } else { "  [ ]" };
                let name = f
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                lines.push(Line::from(format!("{marker} {name}")));
            }
            lines.extend([
                Line::from(""),
                Line::from("Up/Down: choose   D: drill on throwaway SoftHSM2 tokens"),
                Line::from("C: the real ceremony on the plugged-in HSMs   Ctrl-Q: quit"),
            ]);
            frame.render_widget(
                Paragraph::new(lines).wrap(Wrap { trim: false }),
                frame.area(),
            );
        })?;
        let Event::Key(key) = event::read()? else {
            continue;
        };
        if key.kind != KeyEventKind::Press {
            continue;
        }
        match key.code {
            KeyCode::Up => selected = selected.saturating_sub(1),
            KeyCode::Down => selected = (selected + 1).min(files.len() - 1),
            KeyCode::Char('d') | KeyCode::Char('D') => {
                return Ok(Some((files[selected].clone(), Mode::Drill)));
            }
            KeyCode::Char('c') | KeyCode::Char('C')
                if !key.modifiers.contains(KeyModifiers::CONTROL) =>
            {
                return Ok(Some((files[selected].clone(), Mode::Ceremony)));
            }
            KeyCode::Char('q') | KeyCode::Char('c')
                if key.modifiers.contains(KeyModifiers::CONTROL) =>
            {
                return Ok(None);
            }
            _ => {}
        }
    }
}
