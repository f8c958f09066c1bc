//! `ceremonyd serve`'s request handling: the fuzz input is everything a client sends on
//! one connection, fed through `daemon::serve::serve_io` (hyper's HTTP/1.1 with serve's
//! settings and its `respond`: methods, paths, bodies refused, If-None-Match,
//! If-Modified-Since, /health, /metrics) while the answers are read back. The snapshot
//! served is a fixed one of the shape `Snapshot::load` builds. The runtime's clock is
//! paused, so hyper's header timeout fires at once instead of waiting.
#![no_main]

use bytes::Bytes;
use ceremony::daemon::serve::snapshot::{CrlInfo, Resource, Snapshot};
use ceremony::daemon::serve::{State, http_date, serve_io};
use hyper::header::HeaderValue;
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NOW: i64 = 1_780_000_000;

fn resource(
    body: &'static [u8],
    ctype: &'static str,
    modified: i64,
    expires: Option<i64>,
) -> Resource {
    let etag = format!("\"{}\"", ceremony::fsutil::sha256_hex(body));
    Resource {
        body: Bytes::from_static(body),
        content_type: HeaderValue::from_static(ctype),
        etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"x\"")),
        last_modified: HeaderValue::from_str(&http_date(modified))
            .unwrap_or(HeaderValue::from_static("x")),
        last_modified_unix: modified,
        expires_unix: expires,
    }
}

fn state() -> Arc<State> {
    static STATE: OnceLock<Arc<State>> = OnceLock::new();
    STATE
        .get_or_init(|| {
            let config = ceremony::daemon::config::parse_str(
                "[ca]\ndir = \"/nonexistent/ca\"\n[serve]\nheader_timeout_seconds = 1\n",
            )
            .unwrap_or_default();
            let mut snapshot = Snapshot {
                generation: Some(3),
                installed_unix: Some(NOW - 3600),
                ..Snapshot::default()
            };
            let pem = b"-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n";
            for (path, body, ctype, expires) in [
                ("/roots.pem", &pem[..], "application/x-pem-file", None),
                ("/root/00ff", b"{\"ca\":\"\"}", "application/json", None),
                (
                    "/intermediates.pem",
                    &pem[..],
                    "application/x-pem-file",
                    None,
                ),
                (
                    "/ssh/user_ca.pub",
                    b"ecdsa-sha2-nistp256 AAAA\n",
                    "text/plain; charset=utf-8",
                    None,
                ),
                (
                    "/crl",
                    b"\x30\x00",
                    "application/pkix-crl",
                    Some(NOW + 86_400),
                ),
            ] {
                snapshot
                    .resources
                    .insert(path.into(), resource(body, ctype, NOW - 3600, expires));
            }
            snapshot.crl = Some(CrlInfo {
                number: 7,
                this_update: NOW - 3600,
                next_update: NOW + 86_400,
            });
            snapshot.errors.push(("parse".into(), "crl.der".into()));
            Arc::new(State::new(config, snapshot))
        })
        .clone()
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap_or_else(|e| panic!("a tokio runtime: {e}"))
    })
}

fuzz_target!(|data: &[u8]| {
    let state = state();
    runtime().block_on(async move {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let served = tokio::spawn(serve_io(state, server));
        let (mut rx, mut tx) = tokio::io::split(&mut client);
        let send = async {
            let _ = tx.write_all(data).await;
            let _ = tx.shutdown().await;
        };
        let receive = async {
            let mut answers = Vec::new();
            let _ = rx.read_to_end(&mut answers).await;
            answers
        };
        let (_, answers) = tokio::join!(send, receive);
        let _ = served.await;
        std::hint::black_box(answers);
    });
});
