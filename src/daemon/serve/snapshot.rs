//! What `serve` answers with, loaded once from the current generation into memory: each
//! file with its strong ETag (SHA-256), Last-Modified and the heads of its 200 and 304
//! answers written out in advance, and the dates the metrics report. A new snapshot
//! replaces the old one whole when the generation changes or a replaced root's overlap
//! ends.

use super::httpdate::http_date;
use crate::daemon::error::DaemonError;
use crate::daemon::generation::{self, GenerationInfo, publish};
use crate::daemon::layout::CaDir;
use crate::fsutil::sha256_hex;
use std::collections::HashMap;
use std::path::Path;
use time::OffsetDateTime;

/// One servable file.
#[derive(Debug, Clone)]
pub struct Resource {
    pub body: Box<[u8]>,
    /// The strong validator, quotes included.
    pub etag: String,
    pub last_modified_unix: i64,
    /// For the CRL: nextUpdate, which sets `Expires` and bounds `max-age`.
    pub expires_unix: Option<i64>,
    /// Status line and the fields that do not change per request, `Content-Length`
    /// included; `Date` (and the CRL's `max-age`) are added per answer.
    pub ok_head: Box<[u8]>,
    /// The same for 304: validators and caching fields, no content fields.
    pub not_modified_head: Box<[u8]>,
}

impl Resource {
    pub fn new(body: Vec<u8>, ctype: &str, modified: i64, expires: Option<i64>) -> Resource {
        let etag = format!("\"{}\"", sha256_hex(&body));
        let mut caching = format!("ETag: {etag}\r\nLast-Modified: {}\r\n", http_date(modified));
        match expires {
            Some(at) => caching.push_str(&format!("Expires: {}\r\n", http_date(at))),
            None => caching.push_str("Cache-Control: no-cache\r\n"),
        }
        let ok_head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n{caching}",
            body.len()
        );
        Resource {
            body: body.into_boxed_slice(),
            etag,
            last_modified_unix: modified,
            expires_unix: expires,
            ok_head: ok_head.into_bytes().into_boxed_slice(),
            not_modified_head: format!("HTTP/1.1 304 Not Modified\r\n{caching}")
                .into_bytes()
                .into_boxed_slice(),
        }
    }
}

/// A served certificate, for the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub role: &'static str,
    pub serial: String,
    pub subject_cn: String,
    pub not_before: i64,
    pub not_after: i64,
}

/// The served CRL, for the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlInfo {
    pub number: u64,
    pub this_update: i64,
    pub next_update: i64,
}

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub generation: Option<u32>,
    /// When the generation was installed.
    pub installed_unix: Option<i64>,
    pub resources: HashMap<String, Resource>,
    pub certs: Vec<CertInfo>,
    pub crl: Option<CrlInfo>,
    /// Files that could not be served, as `(reason, file)`.
    pub errors: Vec<(String, String)>,
    /// The snapshot is stale from this instant (a replaced root's overlap ends).
    pub stale_at: Option<i64>,
}

const PEM: &str = "application/x-pem-file";
const TEXT: &str = "text/plain; charset=utf-8";

impl Snapshot {
    /// The current generation of `ca_dir`; an empty snapshot when none is installed.
    pub fn load(ca_dir: &Path, now: OffsetDateTime) -> Result<Snapshot, DaemonError> {
        let ca = CaDir::new(ca_dir);
        let Some(n) = ca.current()? else {
            return Ok(Snapshot::default());
        };
        let dir = ca.gen_dir(n);
        let info = GenerationInfo::load(&dir)?;
        let installed = OffsetDateTime::parse(
            &info.created,
            &time::format_description::well_known::Rfc3339,
        )
        .map_or(now.unix_timestamp(), OffsetDateTime::unix_timestamp);
        let mut s = Snapshot {
            generation: Some(n),
            installed_unix: Some(installed),
            ..Snapshot::default()
        };
        let publish_dir = dir.join(generation::PUBLISH);
        s.load_roots(&publish_dir, &info, now, installed);
        for (path, file, ctype) in [
            ("/intermediates.pem", publish::INTERMEDIATES, PEM),
            ("/ssh/user_ca.pub", publish::SSH_USER, TEXT),
            ("/ssh/host_ca.pub", publish::SSH_HOST, TEXT),
            ("/ssh/known_hosts", publish::KNOWN_HOSTS, TEXT),
        ] {
            if let Some(bytes) = s.read(&publish_dir, file) {
                if file == publish::INTERMEDIATES {
                    s.note_certs(&bytes, "intermediate", "intermediate-previous");
                }
                s.add(path, bytes, ctype, installed, None);
            }
        }
        s.load_crl(&publish_dir);
        Ok(s)
    }

    fn read(&mut self, dir: &Path, file: &str) -> Option<Vec<u8>> {
        match crate::daemon::fsx::read_regular(&dir.join(file)) {
            Ok(b) => Some(b),
            Err(e) => {
                let missing = matches!(&e, DaemonError::Io { source, .. }
                    if source.kind() == std::io::ErrorKind::NotFound);
                if !missing {
                    self.errors.push(("read".into(), file.into()));
                }
                None
            }
        }
    }

    fn add(&mut self, path: &str, body: Vec<u8>, ctype: &str, modified: i64, expires: Option<i64>) {
        self.resources.insert(
            path.to_owned(),
            Resource::new(body, ctype, modified, expires),
        );
    }

    /// `/roots.pem` and `/root/<sha256>` for the current root and the replaced roots whose
    /// overlap has not ended.
    fn load_roots(&mut self, dir: &Path, info: &GenerationInfo, now: OffsetDateTime, at: i64) {
        let mut all = Vec::new();
        for (i, root) in info.roots.iter().enumerate() {
            let until = root.overlap_until.as_deref().map(|t| {
                OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .map_or(i64::MIN, OffsetDateTime::unix_timestamp)
            });
            if let Some(until) = until {
                if until <= now.unix_timestamp() {
                    continue;
                }
                self.stale_at = Some(self.stale_at.map_or(until, |s| s.min(until)));
            }
            let file = format!("{}/{}.crt", publish::ROOTS_DIR, root.sha256);
            let Some(pem) = self.read(dir, &file) else {
                self.errors.push(("missing".into(), file));
                continue;
            };
            let role = if i == 0 { "root" } else { "root-overlap" };
            self.note_certs(&pem, role, role);
            let text = String::from_utf8_lossy(&pem).into_owned();
            let json = serde_json::json!({ "ca": text }).to_string().into_bytes();
            self.add(
                &format!("/root/{}", root.sha256),
                json,
                "application/json",
                at,
                None,
            );
            all.extend_from_slice(&pem);
        }
        if !all.is_empty() {
            self.add("/roots.pem", all, PEM, at, None);
        }
    }

    fn load_crl(&mut self, dir: &Path) {
        let Some(der) = self.read(dir, publish::CRL) else {
            return;
        };
        let parsed = x509_parser::parse_x509_crl(&der).ok().and_then(|(_, crl)| {
            let tbs = &crl.tbs_cert_list;
            let next = tbs.next_update?.timestamp();
            let number = crl.crl_number().map(|n| {
                n.to_bytes_be()
                    .iter()
                    .fold(0u64, |a, b| a.wrapping_shl(8) | u64::from(*b))
            });
            Some(CrlInfo {
                number: number.unwrap_or(0),
                this_update: tbs.this_update.timestamp(),
                next_update: next,
            })
        });
        match parsed {
            Some(info) => {
                self.add(
                    "/crl",
                    der,
                    "application/pkix-crl",
                    info.this_update,
                    Some(info.next_update),
                );
                self.crl = Some(info);
            }
            None => self.errors.push(("parse".into(), publish::CRL.into())),
        }
    }

    /// Records every certificate of a PEM file: the first with `first`, the rest `rest`.
    fn note_certs(&mut self, pem: &[u8], first: &'static str, rest: &'static str) {
        let ders = crate::daemon::bundlefiles::pem_ders(pem);
        for (i, der) in ders.iter().enumerate() {
            match x509_parser::parse_x509_certificate(der) {
                Ok((_, cert)) => {
                    let tbs = &cert.tbs_certificate;
                    let cn = tbs
                        .subject
                        .iter_common_name()
                        .next()
                        .and_then(|c| c.as_str().ok())
                        .unwrap_or_default();
                    let serial = hex::encode(tbs.raw_serial());
                    self.certs.push(CertInfo {
                        role: if i == 0 { first } else { rest },
                        serial: serial.trim_start_matches("00").to_owned(),
                        subject_cn: cn.to_owned(),
                        not_before: tbs.validity.not_before.timestamp(),
                        not_after: tbs.validity.not_after.timestamp(),
                    });
                }
                Err(_) => self.errors.push(("parse".into(), first.into())),
            }
        }
    }
}
