//! Answering one request from the current snapshot: GET and HEAD only, no request body,
//! unknown paths 404; every file with `ETag`, `Last-Modified` and `Cache-Control`, and
//! 304 for a matching `If-None-Match` (or, without it, `If-Modified-Since`). The CRL is
//! cacheable until its nextUpdate (`Expires`, `max-age`); the rest says `no-cache`, so
//! clients revalidate (cheaply, with a 304) and see a new generation at once.

use super::State;
use super::httpdate::{http_date, parse_http_date};
use super::snapshot::Resource;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Response, StatusCode};

pub type Body = Full<Bytes>;

/// The response to `method path` with `headers`, at `now` (unix seconds).
pub fn respond(
    state: &State,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    now: i64,
) -> Response<Body> {
    if method != Method::GET && method != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    if has_body(headers) {
        let mut r = plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "requests carry no body here\n",
        );
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return r;
    }
    let snapshot = state.snapshot();
    let mut response = match path {
        "/health" => health(snapshot.generation),
        "/metrics" => {
            let stats = state.stats();
            let body = super::metrics::render(&snapshot, &stats, now);
            let mut r = Response::new(Full::new(Bytes::from(body)));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        _ => match snapshot.resources.get(path) {
            Some(res) => file(res, headers, now),
            None => plain(StatusCode::NOT_FOUND, "not found\n"),
        },
    };
    if response.status() != StatusCode::NOT_MODIFIED {
        let len = hyper::body::Body::size_hint(response.body()).exact();
        if let Some(len) = len {
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        }
    }
    if method == Method::HEAD {
        // The headers of the GET answer, Content-Length included; no body.
        *response.body_mut() = Full::new(Bytes::new());
    }
    response
}

fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn health(generation: Option<u32>) -> Response<Body> {
    let (status, body) = match generation {
        Some(n) => (
            StatusCode::OK,
            format!("{{\"status\":\"ok\",\"generation\":{n}}}\n"),
        ),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "{\"status\":\"no generation installed\"}\n".to_owned(),
        ),
    };
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn file(res: &Resource, headers: &HeaderMap, now: i64) -> Response<Body> {
    let fresh = not_modified(res, headers);
    let body = if fresh {
        Full::new(Bytes::new())
    } else {
        Full::new(res.body.clone())
    };
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(header::ETAG, res.etag.clone());
    h.insert(header::LAST_MODIFIED, res.last_modified.clone());
    match res.expires_unix {
        Some(expires) => {
            let max_age = (expires - now).max(0);
            if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
                h.insert(header::CACHE_CONTROL, v);
            }
            if let Ok(v) = HeaderValue::from_str(&http_date(expires)) {
                h.insert(header::EXPIRES, v);
            }
        }
        None => {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        }
    }
    if fresh {
        *r.status_mut() = StatusCode::NOT_MODIFIED;
    } else {
        h.insert(header::CONTENT_TYPE, res.content_type.clone());
    }
    r
}

/// RFC 9110 13.2.2: If-None-Match decides when present; otherwise If-Modified-Since.
fn not_modified(res: &Resource, headers: &HeaderMap) -> bool {
    if let Some(inm) = headers.get(header::IF_NONE_MATCH) {
        let Ok(text) = inm.to_str() else { return false };
        let ours = res.etag.as_bytes();
        return text
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag).as_bytes() == ours);
    }
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_http_date)
        .is_some_and(|since| res.last_modified_unix <= since)
}
