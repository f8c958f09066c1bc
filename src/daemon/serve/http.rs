//! Answers, appended to a connection's output buffer: GET and HEAD only, no request body,
//! unknown paths 404; every file with `ETag`, `Last-Modified` and `Cache-Control`, and
//! 304 for a matching `If-None-Match` (or, without it, `If-Modified-Since`). The CRL is
//! cacheable until its nextUpdate (`Expires`, `max-age`); the rest says `no-cache`, so
//! clients revalidate (cheaply, with a 304) and see a new generation at once. Files are
//! answered from heads written in advance ([`super::snapshot::Resource`]): per request
//! only `Date` (cached per second) and the connection fields are added, nothing allocated.

use super::State;
use super::httpdate::{date_field, parse_http_date};
use super::request::{Head, Method, Refusal};
use super::snapshot::{Resource, Snapshot};
use std::io::Write;

/// Whether the connection stays open after an answer, and how to say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persist {
    /// HTTP/1.1 keep-alive: nothing to say.
    Open,
    /// HTTP/1.0 keep-alive: `Connection: keep-alive`.
    Open10,
    /// `Connection: close`, then the connection is closed.
    Close,
}

impl Persist {
    fn of(head: &Head) -> Persist {
        match (head.keep_alive && !head.has_body, head.http10) {
            (false, _) => Persist::Close,
            (true, false) => Persist::Open,
            (true, true) => Persist::Open10,
        }
    }
}

/// Appends the answer to `head` at `now` (unix seconds); says whether to keep the
/// connection open.
pub fn respond(
    state: &State,
    snap: &Snapshot,
    head: &Head,
    now: i64,
    out: &mut Vec<u8>,
) -> Persist {
    let persist = Persist::of(head);
    let bodyless = head.method == Method::Head;
    if head.method == Method::Other {
        plain(
            out,
            now,
            persist,
            "405 Method Not Allowed",
            "Allow: GET, HEAD\r\n",
            b"only GET and HEAD\n",
            false,
        );
    } else if head.has_body {
        plain(
            out,
            now,
            persist,
            "413 Content Too Large",
            "",
            b"requests carry no body here\n",
            bodyless,
        );
    } else {
        match head.path {
            "/health" => health(out, now, persist, snap.generation, bodyless),
            "/metrics" => {
                let body = super::metrics::render(snap, &state.stats(), now);
                let ctype = "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\nCache-Control: no-store\r\n";
                answer(
                    out,
                    now,
                    persist,
                    "200 OK",
                    ctype,
                    body.as_bytes(),
                    bodyless,
                );
            }
            path => match snap.resources.get(path) {
                Some(res) => file(out, now, persist, res, head, bodyless),
                None => plain(
                    out,
                    now,
                    persist,
                    "404 Not Found",
                    "",
                    b"not found\n",
                    bodyless,
                ),
            },
        }
    }
    persist
}

/// The answer to a head that could not be read; the connection closes after it.
pub fn refused(out: &mut Vec<u8>, now: i64, refusal: Refusal) {
    let (status, text): (&str, &[u8]) = match refusal {
        Refusal::BadRequest => ("400 Bad Request", b"bad request\n"),
        Refusal::UriTooLong => ("414 URI Too Long", b"request line too long\n"),
        Refusal::HeadTooLarge => (
            "431 Request Header Fields Too Large",
            b"request head over 16 KiB\n",
        ),
        Refusal::VersionNotSupported => ("505 HTTP Version Not Supported", b"HTTP/1.1 only\n"),
    };
    plain(out, now, Persist::Close, status, "", text, false);
}

/// 408: a request head did not arrive within the header timeout.
pub fn timed_out(out: &mut Vec<u8>, now: i64) {
    plain(
        out,
        now,
        Persist::Close,
        "408 Request Timeout",
        "",
        b"request head too slow\n",
        false,
    );
}

/// 503: every connection slot is taken.
pub fn busy(out: &mut Vec<u8>, now: i64) {
    let retry = "Retry-After: 1\r\n";
    plain(
        out,
        now,
        Persist::Close,
        "503 Service Unavailable",
        retry,
        b"too many connections\n",
        false,
    );
}

fn plain(
    out: &mut Vec<u8>,
    now: i64,
    p: Persist,
    status: &str,
    extra: &str,
    text: &[u8],
    bodyless: bool,
) {
    let fields = "Content-Type: text/plain; charset=utf-8\r\n";
    let _ = write!(out, "HTTP/1.1 {status}\r\n{fields}{extra}");
    body(out, now, p, text, bodyless);
}

fn answer(
    out: &mut Vec<u8>,
    now: i64,
    p: Persist,
    status: &str,
    fields: &str,
    text: &[u8],
    bodyless: bool,
) {
    let _ = write!(out, "HTTP/1.1 {status}\r\n{fields}");
    body(out, now, p, text, bodyless);
}

/// `Content-Length`, the end of the head, and the body unless it is a HEAD answer.
fn body(out: &mut Vec<u8>, now: i64, p: Persist, text: &[u8], bodyless: bool) {
    let _ = write!(out, "Content-Length: {}\r\n", text.len());
    end_head(out, now, p);
    if !bodyless {
        out.extend_from_slice(text);
    }
}

/// `Date`, the connection field when one is due, and the empty line.
fn end_head(out: &mut Vec<u8>, now: i64, p: Persist) {
    date_field(now, out);
    out.extend_from_slice(match p {
        Persist::Open => b"\r\n".as_slice(),
        Persist::Open10 => b"Connection: keep-alive\r\n\r\n",
        Persist::Close => b"Connection: close\r\n\r\n",
    });
}

fn health(out: &mut Vec<u8>, now: i64, p: Persist, generation: Option<u32>, bodyless: bool) {
    let fields = "Content-Type: application/json\r\nCache-Control: no-store\r\n";
    match generation {
        Some(n) => {
            let text = format!("{{\"status\":\"ok\",\"generation\":{n}}}\n");
            answer(out, now, p, "200 OK", fields, text.as_bytes(), bodyless);
        }
        None => {
            let text = b"{\"status\":\"no generation installed\"}\n";
            answer(
                out,
                now,
                p,
                "503 Service Unavailable",
                fields,
                text,
                bodyless,
            );
        }
    }
}

fn file(out: &mut Vec<u8>, now: i64, p: Persist, res: &Resource, head: &Head, bodyless: bool) {
    let fresh = not_modified(res, head);
    out.extend_from_slice(if fresh {
        &res.not_modified_head
    } else {
        &res.ok_head
    });
    if let Some(expires) = res.expires_unix {
        let _ = write!(
            out,
            "Cache-Control: public, max-age={}\r\n",
            (expires - now).max(0)
        );
    }
    end_head(out, now, p);
    if !fresh && !bodyless {
        out.extend_from_slice(&res.body);
    }
}

/// RFC 9110 13.2.2: If-None-Match decides when present; otherwise If-Modified-Since.
fn not_modified(res: &Resource, head: &Head) -> bool {
    if let Some(inm) = head.if_none_match {
        return inm
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == res.etag);
    }
    head.if_modified_since
        .and_then(parse_http_date)
        .is_some_and(|since| res.last_modified_unix <= since)
}
