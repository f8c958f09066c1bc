//! Drawing a [`Screen`]. Works from 80x24 up; nothing is said by colour alone (every
//! state also has a marker or a word), and secrets are never drawn (PIN fields arrive
//! here already masked).

use super::screen::{Body, Completion, FieldView, Message, Screen};
use crate::engine::{Challenge, Hashed, Need, PinKind, Role, StepStatus, StepView};
use crate::preflight::group_hex;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

const PROGRESS_WIDTH: u16 = 30;

pub fn draw(frame: &mut Frame, screen: &Screen) {
    let [top, middle, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(10),
        Constraint::Length(2),
    ])
    .areas(frame.area());
    frame.render_widget(Paragraph::new(title_line(screen)), top);
    let [progress, main] =
        Layout::horizontal([Constraint::Length(PROGRESS_WIDTH), Constraint::Min(40)]).areas(middle);
    draw_progress(frame, screen, progress);
    match &screen.body {
        Body::Resume {
            done,
            next,
            work,
            torn,
        } => draw_resume(frame, main, *done, next, work, torn.as_deref()),
        Body::Step {
            step,
            need,
            fields,
            selected,
            words,
        } => {
            let error = match &screen.message {
                Some(Message::Error { what, next }) => Some((what.as_str(), next.as_str())),
                _ => None,
            };
            let input = Input {
                fields,
                selected: *selected,
                words: words.as_deref(),
                error,
                scroll: screen.scroll,
            };
            draw_step(frame, main, step, need, &input)
        }
        Body::Finished(done) => draw_finished(frame, main, done),
    }
    draw_footer(frame, screen, bottom);
    if screen.help {
        draw_help(frame, middle);
    }
    if screen.quitting {
        draw_quit(frame, middle);
    }
}

fn bold(text: impl Into<String>) -> Span<'static> {
    Span::styled(text.into(), Style::default().add_modifier(Modifier::BOLD))
}

fn title_line(screen: &Screen) -> Line<'static> {
    let mode = if screen.drill {
        " DRILL "
    } else {
        " CEREMONY "
    };
    Line::from(vec![
        Span::styled(
            mode,
            Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        ),
        Span::raw(" "),
        bold(screen.ceremony.clone()),
        Span::raw(format!("   {}", screen.clock)),
    ])
}

fn draw_progress(frame: &mut Frame, screen: &Screen, area: Rect) {
    let mut lines: Vec<Line> = screen
        .steps
        .iter()
        .map(|(title, status)| {
            let (marker, time) = match status {
                StepStatus::Done(Some(d)) => ("[x]", format!("{:>5.1}s", d.as_secs_f64())),
                StepStatus::Done(None) => ("[x]", String::new()),
                StepStatus::Current => ("[>]", String::new()),
                StepStatus::Pending => ("[ ]", String::new()),
            };
            let width = PROGRESS_WIDTH as usize - 11;
            let short: String = title.chars().take(width).collect();
            let line = format!("{marker} {short:<width$}{time}");
            if matches!(status, StepStatus::Current) {
                Line::from(bold(line))
            } else {
                Line::from(line)
            }
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(format!(
        "transcript {}",
        &screen.head[..screen.head.len().min(12)]
    )));
    let block = Block::default().borders(Borders::RIGHT).title(" steps ");
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_resume(
    frame: &mut Frame,
    area: Rect,
    done: usize,
    next: &str,
    work: &str,
    torn: Option<&str>,
) {
    let mut lines = vec![
        Line::from(bold("Resume an interrupted ceremony")),
        Line::from(""),
        Line::from(format!(
            "The working folder {work} holds a transcript with {done} completed steps."
        )),
        Line::from(
            "Its hash chain was verified. Keys on the tokens are checked against it at login.",
        ),
        Line::from(""),
        Line::from(vec![
            Span::raw("The ceremony continues with: "),
            bold(next.to_string()),
        ]),
        Line::from(""),
        Line::from("Enter: continue    Ctrl-Q: quit"),
    ];
    if let Some(torn) = torn {
        lines.insert(4, Line::from(bold(torn.to_string())));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

/// What the lower panel of a step shows besides the question.
struct Input<'a> {
    fields: &'a [FieldView],
    selected: usize,
    words: Option<&'a [String]>,
    /// What failed and the next action, shown right above the fields.
    error: Option<(&'a str, &'a str)>,
    /// Rows scrolled up from the bottom when the step does not fit.
    scroll: u16,
}

fn draw_step(frame: &mut Frame, area: Rect, step: &StepView, need: &Need, input: &Input<'_>) {
    let header = vec![
        Line::from(bold(format!(
            "Step {} of {}: {}",
            step.index + 1,
            step.count,
            step.title
        ))),
        Line::from(Span::styled(
            format!("[{}] {}", step.kind, step.action),
            Style::default().add_modifier(Modifier::ITALIC),
        )),
    ];
    let text: Vec<Line> = step
        .text
        .trim()
        .lines()
        .map(|l| Line::from(l.to_string()))
        .collect();
    let mut panel = need_lines(need, input.selected, input.words);
    if let Some((what, next)) = input.error {
        panel.push(Line::from(vec![
            bold("ERROR: "),
            Span::raw(what.to_string()),
        ]));
        panel.push(Line::from(vec![
            bold("NEXT: "),
            Span::raw(next.to_string()),
        ]));
    }
    for field in input.fields {
        let cursor = if field.focused { "_" } else { "" };
        let marker = if field.focused { "> " } else { "  " };
        panel.push(Line::from(vec![
            Span::raw(format!("{marker}{}: ", field.label)),
            bold(format!("{}{cursor}", field.shown)),
        ]));
    }
    let head_h = wrapped_height(&header, area.width);
    let panel_total = wrapped_height(&panel, area.width);
    let text_h = wrapped_height(&text, area.width);
    if head_h + text_h + panel_total > area.height {
        let [head, rest] =
            Layout::vertical([Constraint::Length(head_h), Constraint::Min(0)]).areas(area);
        let wrap = Wrap { trim: false };
        frame.render_widget(Paragraph::new(header).wrap(wrap), head);
        draw_scrolled(frame, rest, [text, panel].concat(), input.scroll);
        return;
    }
    let [head, body, bottom] = Layout::vertical([
        Constraint::Length(head_h),
        Constraint::Min(0),
        Constraint::Length(panel_total),
    ])
    .areas(area);
    let wrap = Wrap { trim: false };
    frame.render_widget(Paragraph::new(header).wrap(wrap), head);
    frame.render_widget(Paragraph::new(text).wrap(wrap), body);
    frame.render_widget(Paragraph::new(panel).wrap(wrap), bottom);
}

/// A step taller than the pane: under its fixed title, one scrollable column of text and
/// question, showing its bottom (the question and fields) until PgUp moves it, with a
/// marker row saying what is hidden.
fn draw_scrolled(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>, scroll: u16) {
    let [marker, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let total = wrapped_height(&lines, area.width);
    let overflow = total.saturating_sub(rest.height);
    let up = scroll.min(overflow);
    let offset = overflow - up;
    let note = match (offset > 0, up > 0) {
        (true, true) => "^ PgUp: more above   v PgDn: back down to the question",
        (true, false) => "^ PgUp: more of this step above",
        (false, _) => "v PgDn: back down to the question",
    };
    frame.render_widget(Paragraph::new(Line::from(bold(note))), marker);
    let wrap = Wrap { trim: false };
    frame.render_widget(Paragraph::new(lines).wrap(wrap).scroll((offset, 0)), rest);
}

/// Rows `lines` take when word-wrapped at `width` columns, as the paragraph wraps them
/// (a word that does not fit moves to the next row), so that nothing below is pushed off.
fn wrapped_height(lines: &[Line], width: u16) -> u16 {
    let width = width.max(1) as usize;
    lines
        .iter()
        .map(|line| {
            let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
            word_wrap_rows(&text, width)
        })
        .sum()
}

fn word_wrap_rows(text: &str, width: usize) -> u16 {
    let mut rows = 1u16;
    let mut used = 0usize;
    for word in text.split(' ') {
        let len = word.chars().count();
        let needed = if used == 0 { len } else { used + 1 + len };
        if needed <= width {
            used = needed;
        } else if len <= width {
            rows += 1;
            used = len;
        } else {
            // A word longer than the row is broken across rows.
            rows += (len / width) as u16 + u16::from(used > 0);
            used = len % width;
        }
    }
    rows
}

fn need_lines(need: &Need, selected: usize, words: Option<&[String]>) -> Vec<Line<'static>> {
    match need {
        Need::Participant { role, duty } => vec![
            Line::from(bold(format!("The {} introduces themselves", role.name()))),
            Line::from(format!("Duty: {duty}")),
            Line::from("Name and initials go into the transcript; initials confirm every step."),
        ],
        Need::ChooseToken {
            token_role,
            expected_serial,
            description,
            tokens,
            taken,
            with_keys,
        } => token_lines(
            token_role,
            description,
            tokens,
            (taken, with_keys),
            expected_serial.as_deref(),
            selected,
        ),
        Need::TypeBack { by, challenge } => challenge_lines(*by, challenge, words),
        Need::Pin {
            token_role,
            serial,
            kind,
            rule,
            flags,
        } => {
            let mut out = vec![
                Line::from(bold(format!(
                    "Operator: type the {} of the {token_role} token {serial}",
                    kind.describe()
                ))),
                Line::from(format!("PIN state: {}", flags.describe())),
            ];
            if let Some(rule) = rule {
                out.push(Line::from(format!(
                    "Rule: {}; typed twice.",
                    rule.describe()
                )));
            }
            if *kind == PinKind::CurrentSo {
                out.push(Line::from(
                    "A new SmartCard-HSM comes with the factory SO PIN from its documentation.",
                ));
                out.push(Line::from(
                    "If an earlier attempt at this step was cut off, the SO PIN may already be the new one typed then.",
                ));
            }
            out.push(Line::from("The PIN is never shown, stored or logged."));
            out
        }
        Need::Confirm { role, facts } => {
            let mut out: Vec<Line> = facts
                .iter()
                .map(|(k, v)| Line::from(vec![Span::raw(format!("{k}: ")), bold(v.clone())]))
                .collect();
            out.push(Line::from(""));
            out.push(Line::from(bold(format!(
                "The {} confirms this step by typing their initials",
                role.name()
            ))));
            out
        }
        Need::Finished => Vec::new(),
    }
}

fn token_lines(
    role: &str,
    description: &str,
    tokens: &[crate::hsm::TokenInfo],
    (taken, with_keys): (&[String], &[String]),
    expected: Option<&str>,
    selected: usize,
) -> Vec<Line<'static>> {
    let mut out = vec![Line::from(bold(format!(
        "Choose the {role} token: {description}"
    )))];
    if let Some(serial) = expected {
        out.push(Line::from(bold(format!(
            "It must be the previous ceremony's: serial {serial}"
        ))));
    }
    out.push(Line::from(
        "Plugged-in tokens (rescanned continuously; Up/Down, Enter):",
    ));
    if tokens.is_empty() {
        out.push(Line::from("  (no token found: plug one in)"));
    }
    for (i, t) in tokens.iter().enumerate() {
        let marker = if i == selected { ">" } else { " " };
        let state = if expected == Some(t.serial.as_str()) {
            "PREVIOUS"
        } else if taken.contains(&t.serial) {
            "has a role"
        } else if with_keys.contains(&t.serial) {
            "IN USE"
        } else {
            "empty"
        };
        out.push(Line::from(format!(
            "{marker} {} {:<16} {:<12} {}",
            if i == selected { "[*]" } else { "[ ]" },
            t.serial,
            format!("({state})"),
            t.label,
        )));
    }
    out
}

fn challenge_lines(
    by: Role,
    challenge: &Challenge,
    words: Option<&[String]>,
) -> Vec<Line<'static>> {
    let who = by.name();
    match challenge {
        Challenge::SerialSuffix { serial, count } => vec![
            Line::from(format!("Chosen token: {serial}")),
            Line::from(bold(format!(
                "Witness: read the serial on the device or its bag and type its last {count} characters"
            ))),
        ],
        Challenge::EraseToken { serial, label } => vec![
            Line::from(bold(format!(
                "Token {serial} ({label}) is in use: it holds keys, or a PIN that may guard some."
            ))),
            Line::from("Initialising it ERASES everything on it, for good."),
            Line::from(bold(format!("The {who} types the full serial to erase it"))),
        ],
        Challenge::Authorise { phrase } => vec![
            Line::from(bold("This step changes a token or signs with a key.")),
            Line::from(format!("The {who} types, exactly:")),
            Line::from(bold(format!("  {phrase}"))),
        ],
        Challenge::FingerprintGroups {
            fingerprint,
            positions,
            of,
        } => fingerprint_lines(fingerprint, positions, words, *of),
    }
}

/// The fingerprint in numbered groups of four hex digits (four groups a row), then its
/// PGP words, two per group, labelled with the groups they spell.
fn fingerprint_lines(
    fingerprint: &str,
    positions: &[usize],
    words: Option<&[String]>,
    of: Hashed,
) -> Vec<Line<'static>> {
    let groups: Vec<&str> = (0..fingerprint.len() / 4)
        .map(|i| &fingerprint[i * 4..i * 4 + 4])
        .collect();
    let (heading, write) = match of {
        Hashed::Certificate => (
            "SHA-256, as `step certificate fingerprint` prints it:",
            "Operator: write it on the paper sheet, in groups.",
        ),
        Hashed::Seal => (
            "The bundle seal (SHA-256 of SHA256SUMS, as `sha256sum SHA256SUMS` prints it):",
            "Operator: write it by hand on the printed sheet, box \"Bundle seal\", in groups.",
        ),
    };
    let mut out = vec![Line::from(heading)];
    for (row, chunk) in groups.chunks(4).enumerate() {
        let cells: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, g)| format!("{:>2}:{g}", row * 4 + i + 1))
            .collect();
        out.push(Line::from(bold(format!("  {}", cells.join("  ")))));
    }
    if let Some(words) = words {
        for (row, chunk) in words.chunks(4).enumerate() {
            out.push(Line::from(format!(
                "  {:>2}-{:<2} {}",
                row * 2 + 1,
                row * 2 + 2,
                chunk.join(" ")
            )));
        }
    }
    let list: Vec<String> = positions.iter().map(|p| p.to_string()).collect();
    out.push(Line::from(write));
    out.push(Line::from(bold(format!(
        "Witness: type groups {} from the paper",
        list.join(", ")
    ))));
    out
}

fn draw_finished(frame: &mut Frame, area: Rect, done: &Completion) {
    let get = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let mut lines = vec![
        Line::from(bold("The ceremony is complete.")),
        Line::from(""),
        Line::from(vec![Span::raw("Bundle: "), bold(get(&done.bundle))]),
        Line::from("Seal (SHA-256 of SHA256SUMS):"),
    ];
    lines.extend(hex_rows(&get(&done.seal)));
    lines.push(Line::from("Root fingerprint:"));
    lines.extend(hex_rows(&get(&done.root)));
    if let Some(sheet) = &done.sheet {
        lines.push(Line::from(format!("Fingerprint sheet: {sheet}")));
        if done.can_print {
            lines.push(Line::from(bold("Press P to print the sheet.")));
        }
    }
    lines.extend([
        Line::from(""),
        Line::from(
            "Next: unmount the export stick, unplug both tokens, seal each in its \
             tamper-evident bag, write the bag numbers on the sheet, and sign it.",
        ),
        Line::from("Ctrl-Q: quit"),
    ]);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

/// 64 hex digits as two bold rows of eight groups.
fn hex_rows(hex: &str) -> Vec<Line<'static>> {
    let grouped = group_hex(hex);
    let groups: Vec<&str> = grouped.split(' ').collect();
    groups
        .chunks(8)
        .map(|row| Line::from(bold(format!("  {}", row.join(" ")))))
        .collect()
}

fn draw_footer(frame: &mut Frame, screen: &Screen, area: Rect) {
    let first = match &screen.message {
        // Errors of a step are drawn above its input fields; elsewhere here.
        Some(Message::Error { what, next }) if !matches!(screen.body, Body::Step { .. }) => {
            Line::from(vec![
                bold("ERROR: "),
                Span::raw(format!("{what} NEXT: {next}")),
            ])
        }
        Some(Message::Info(text)) => Line::from(format!("OK: {text}")),
        _ => Line::from(""),
    };
    let keys = Line::from("Enter: submit  Tab: next field  Esc: clear  F1: help  Ctrl-Q: quit");
    frame.render_widget(
        Paragraph::new(vec![first, keys]).wrap(Wrap { trim: true }),
        area,
    );
}

fn popup(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn draw_help(frame: &mut Frame, area: Rect) {
    let lines = vec![
        Line::from("Enter      submit the field / choose the token"),
        Line::from("Tab        next field (name, initials; PIN, again)"),
        Line::from("Up/Down    move in the token list"),
        Line::from("PgUp/PgDn  scroll a step taller than the screen"),
        Line::from("Backspace  delete a character; Esc clears the field"),
        Line::from("F1         this help (any key closes it)"),
        Line::from("Ctrl-Q     quit; the transcript keeps every completed"),
        Line::from("           step and the ceremony resumes later"),
        Line::from(""),
        Line::from("Every step needs both people's initials. Nothing is"),
        Line::from("retried by itself; PINs are never shown or stored."),
    ];
    let rect = popup(area, 60, 15);
    frame.render_widget(Clear, rect);
    let block = Block::default().borders(Borders::ALL).title(" help ");
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

fn draw_quit(frame: &mut Frame, area: Rect) {
    let lines = vec![
        Line::from(bold("Quit the ceremony now?")),
        Line::from("Completed steps are in the transcript; run the same"),
        Line::from("command again to resume. Y: quit   N: stay"),
    ];
    let rect = popup(area, 58, 5);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL)),
        rect,
    );
}
