//! Request heads, read from bytes: [`parse`] is a pure function (no I/O, no allocation)
//! over what a connection has received so far, so it can be fuzzed on its own. It keeps
//! only what `serve` answers with (method, path, version, keep-alive, whether a body
//! follows, the two validators) and refuses what RFC 9112 says a server must refuse
//! (obsolete line folding, whitespace before a colon, a bare CR, control characters).

/// Longest request head (request line and header fields) read; beyond it, 414 or 431.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    /// Any other token: answered 405.
    Other,
}

/// A complete request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head<'a> {
    pub method: Method,
    /// The path of the target, without the query (`/roots.pem`).
    pub path: &'a str,
    /// HTTP/1.0 (otherwise HTTP/1.1).
    pub http10: bool,
    /// The connection may stay open after the answer.
    pub keep_alive: bool,
    /// A body follows (`Transfer-Encoding`, or a `Content-Length` other than 0).
    pub has_body: bool,
    pub if_none_match: Option<&'a str>,
    pub if_modified_since: Option<&'a str>,
}

/// Why a head is refused; each has its status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 400: not HTTP/1.x syntax.
    BadRequest,
    /// 414: the request line alone is over [`MAX_HEAD_BYTES`].
    UriTooLong,
    /// 431: the head is over [`MAX_HEAD_BYTES`].
    HeadTooLarge,
    /// 505: HTTP/2 or later spoken as text.
    VersionNotSupported,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// A head of `len` bytes (leading empty lines included).
    Complete {
        head: Head<'a>,
        len: usize,
    },
    /// More bytes are needed.
    Partial,
    Refused(Refusal),
}

/// The first request head in `buf`.
pub fn parse(buf: &[u8]) -> Parsed<'_> {
    // RFC 9112 2.2: empty lines before a request line are ignored.
    let skip = buf
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    let mut lines = Lines {
        buf,
        pos: skip,
        limit: MAX_HEAD_BYTES.min(buf.len()),
    };
    let Some(first) = lines.next_line() else {
        return partial_or(buf, Refusal::UriTooLong);
    };
    let mut head = match request_line(first) {
        Ok(head) => head,
        Err(refusal) => return Parsed::Refused(refusal),
    };
    let mut connection = Connection::default();
    loop {
        let Some(line) = lines.next_line() else {
            return partial_or(buf, Refusal::HeadTooLarge);
        };
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = field(line) else {
            return Parsed::Refused(Refusal::BadRequest);
        };
        apply(&mut head, &mut connection, name, value);
    }
    head.keep_alive = if head.http10 {
        connection.keep_alive && !connection.close
    } else {
        !connection.close
    };
    Parsed::Complete {
        head,
        len: lines.pos,
    }
}

/// Incomplete so far: more bytes may finish it, unless the limit is reached.
fn partial_or(buf: &[u8], refusal: Refusal) -> Parsed<'_> {
    if buf.len() >= MAX_HEAD_BYTES {
        Parsed::Refused(refusal)
    } else {
        Parsed::Partial
    }
}

/// Lines ending in LF (a CR before it is dropped), within the first `limit` bytes.
struct Lines<'a> {
    buf: &'a [u8],
    pos: usize,
    limit: usize,
}

impl<'a> Lines<'a> {
    fn next_line(&mut self) -> Option<&'a [u8]> {
        let rest = &self.buf[self.pos..self.limit];
        let n = rest.iter().position(|b| *b == b'\n')?;
        self.pos += n + 1;
        let line = &rest[..n];
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }
}

fn request_line(line: &[u8]) -> Result<Head<'_>, Refusal> {
    let mut parts = line.split(|b| *b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::BadRequest);
    };
    let method = match method {
        b"GET" => Method::Get,
        b"HEAD" => Method::Head,
        m if !m.is_empty() && m.iter().all(|b| is_tchar(*b)) => Method::Other,
        _ => return Err(Refusal::BadRequest),
    };
    let http10 = match version {
        b"HTTP/1.1" => false,
        b"HTTP/1.0" => true,
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() && *major >= b'2' =>
        {
            return Err(Refusal::VersionNotSupported);
        }
        _ => return Err(Refusal::BadRequest),
    };
    Ok(Head {
        method,
        path: path_of(target).ok_or(Refusal::BadRequest)?,
        http10,
        keep_alive: false,
        has_body: false,
        if_none_match: None,
        if_modified_since: None,
    })
}

/// The path of an origin-form (`/a?b`), absolute-form (`http://h/a`) or `*` target.
fn path_of(target: &[u8]) -> Option<&str> {
    if target.is_empty() || !target.iter().all(|b| (0x21..0x7f).contains(b)) {
        return None;
    }
    let text = std::str::from_utf8(target).ok()?;
    let path = if text.starts_with('/') || text == "*" {
        text
    } else {
        let scheme = |s: &str| {
            text.get(..s.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(s))
                .then(|| &text[s.len()..])
        };
        let after = scheme("http://").or_else(|| scheme("https://"))?;
        after.find('/').map_or("/", |i| &after[i..])
    };
    Some(path.split(['?', '#']).next().unwrap_or(path))
}

/// `name: value` with the value's surrounding whitespace removed.
fn field(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = line.iter().position(|b| *b == b':')?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() || !name.iter().all(|b| is_tchar(*b)) {
        return None; // obs-fold, whitespace before the colon, junk
    }
    if value
        .iter()
        .any(|b| (*b < 0x20 && *b != b'\t') || *b == 0x7f)
    {
        return None;
    }
    Some((name, value.trim_ascii()))
}

#[derive(Default)]
struct Connection {
    close: bool,
    keep_alive: bool,
}

fn apply<'a>(head: &mut Head<'a>, conn: &mut Connection, name: &[u8], value: &'a [u8]) {
    let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
    if is("content-length") {
        head.has_body |= value != b"0";
    } else if is("transfer-encoding") {
        head.has_body = true;
    } else if is("connection") {
        for token in value.split(|b| *b == b',').map(<[u8]>::trim_ascii) {
            conn.close |= token.eq_ignore_ascii_case(b"close");
            conn.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
        }
    } else if is("if-none-match") {
        head.if_none_match = head.if_none_match.or(std::str::from_utf8(value).ok());
    } else if is("if-modified-since") {
        head.if_modified_since = head.if_modified_since.or(std::str::from_utf8(value).ok());
    }
}

/// RFC 9110 token characters.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Head<'_> {
        match parse(text.as_bytes()) {
            Parsed::Complete { head, len } => {
                assert_eq!(len, text.len());
                head
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }

    fn refused(bytes: &[u8]) -> Refusal {
        match parse(bytes) {
            Parsed::Refused(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn complete_heads() {
        let h = head("GET /roots.pem?x=1 HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"e\"\r\n\r\n");
        assert_eq!(h.method, Method::Get);
        assert_eq!(h.path, "/roots.pem");
        assert!(h.keep_alive && !h.has_body && !h.http10);
        assert_eq!(h.if_none_match, Some("\"e\""));
        let h = head("\r\nHEAD http://x.example/crl HTTP/1.0\nConnection: Keep-Alive\n\n");
        assert_eq!(
            (h.method, h.path, h.http10, h.keep_alive),
            (Method::Head, "/crl", true, true)
        );
        assert!(!head("GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(!head("GET / HTTP/1.1\r\nconnection: x, close\r\n\r\n").keep_alive);
        assert!(head("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n").has_body);
        assert!(!head("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").has_body);
        assert!(head("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").has_body);
        assert_eq!(head("PUT / HTTP/1.1\r\n\r\n").method, Method::Other);
    }

    #[test]
    fn pipelined_and_partial() {
        let two = b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        let Parsed::Complete { head, len } = parse(two) else {
            panic!()
        };
        assert_eq!((head.path, len), ("/a", 19));
        assert_eq!(parse(b"GET /a HTTP/1.1\r\nHost: x\r\n"), Parsed::Partial);
        assert_eq!(parse(b""), Parsed::Partial);
        assert_eq!(parse(b"GE"), Parsed::Partial);
    }

    #[test]
    fn refusals() {
        assert_eq!(refused(b"GET /a\r\n\r\n"), Refusal::BadRequest);
        assert_eq!(refused(b"GET  /a HTTP/1.1\r\n\r\n"), Refusal::BadRequest);
        assert_eq!(
            refused(b"GET /a HTTP/2.0\r\n\r\n"),
            Refusal::VersionNotSupported
        );
        assert_eq!(
            refused(b"GET /a HTTP/1.1\r\nHost : x\r\n\r\n"),
            Refusal::BadRequest
        );
        assert_eq!(
            refused(b"GET /a HTTP/1.1\r\n folded\r\n\r\n"),
            Refusal::BadRequest
        );
        assert_eq!(
            refused(b"GET /a HTTP/1.1\r\nX: a\rb\r\n\r\n"),
            Refusal::BadRequest
        );
        assert_eq!(refused(b"GET /\x01 HTTP/1.1\r\n\r\n"), Refusal::BadRequest);
        let long_line = [b"GET /".as_slice(), &[b'a'; MAX_HEAD_BYTES]].concat();
        assert_eq!(refused(&long_line), Refusal::UriTooLong);
        let big = format!(
            "GET / HTTP/1.1\r\nX: {}\r\n\r\n",
            "a".repeat(MAX_HEAD_BYTES)
        );
        assert_eq!(refused(big.as_bytes()), Refusal::HeadTooLarge);
    }

    #[test]
    fn never_panics_on_prefixes() {
        let text = b"\r\nGET http://h/p?q HTTP/1.1\r\nA: b\r\nConnection: close\r\n\r\n";
        for n in 0..=text.len() {
            let _ = parse(&text[..n]);
        }
    }
}
