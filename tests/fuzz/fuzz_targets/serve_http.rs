//! `ceremonyd serve`'s request handling: the fuzz input is everything a client sends on
//! one connection. It is cut into request heads by `request::parse` and each head is
//! answered by `http::respond` (methods, paths, bodies refused, If-None-Match,
//! If-Modified-Since, /health, /metrics), a refused head by `http::refused`, as the
//! connection loop of `serve` does, against a fixed snapshot of the shape
//! `Snapshot::load` builds.
#![no_main]

use ceremony::daemon::serve::State;
use ceremony::daemon::serve::http::{Persist, refused, respond};
use ceremony::daemon::serve::request::{Parsed, parse};
use ceremony::daemon::serve::snapshot::{CrlInfo, Resource, Snapshot};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

const NOW: i64 = 1_780_000_000;

/// Most requests answered on one connection per input.
const MOST_REQUESTS: usize = 256;

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
                snapshot.resources.insert(
                    path.into(),
                    Resource::new(body.to_vec(), ctype, NOW - 3600, expires),
                );
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

fuzz_target!(|data: &[u8]| {
    let state = state();
    let snap = state.snapshot();
    let mut rest = data;
    let mut out = Vec::new();
    for _ in 0..MOST_REQUESTS {
        match parse(rest) {
            Parsed::Complete { head, len } => {
                let persist = respond(&state, &snap, &head, NOW, &mut out);
                assert!(len > 0 && len <= rest.len(), "a head is within the input");
                rest = &rest[len..];
                if persist == Persist::Close || head.has_body {
                    break;
                }
            }
            Parsed::Partial => break,
            Parsed::Refused(refusal) => {
                refused(&mut out, NOW, refusal);
                break;
            }
        }
    }
    std::hint::black_box(out);
});
