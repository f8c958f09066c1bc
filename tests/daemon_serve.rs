//! `ceremonyd serve` over loopback, asked with curl: bodies, content types, caching
//! headers, 304s, 404/405/413/431, a stalled request cut off, metrics equal to the dates
//! openssl reads from the certificates and the CRL, and a bundle dropped into the inbox
//! (after a tampered one, which is refused) served without a restart.

#[path = "daemon_support.rs"]
mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::*;

struct Resp {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

fn curl(url: &str, args: &[&str]) -> Resp {
    let head = args.contains(&"-I");
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-S", "--max-time", "10"]);
    if !head {
        cmd.args(["-D", "-"]);
    }
    let out = cmd.args(args).arg(url).output().unwrap();
    assert!(out.status.success(), "curl {url}: {}", text(&out));
    let raw = out.stdout;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers")
        + 4;
    let head_text = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head_text.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Resp {
        status,
        headers,
        body: raw[split..].to_vec(),
    }
}

/// `openssl ... -noout -<field>` as unix seconds ("notAfter=Nov 20 10:16:41 2036 GMT").
fn openssl_date(args: &[&str], file: &Path) -> i64 {
    let out = Command::new("openssl")
        .args(args)
        .arg("-in")
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let line = String::from_utf8(out.stdout).unwrap();
    let value = line.trim().split_once('=').unwrap().1.to_owned();
    let format = time::macros::format_description!(
        "[month repr:short] [day padding:space] [hour]:[minute]:[second] [year] GMT"
    );
    time::PrimitiveDateTime::parse(&value, format)
        .unwrap()
        .assume_utc()
        .unix_timestamp()
}

fn openssl_serial(file: &Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-serial", "-in"])
        .arg(file)
        .output()
        .unwrap();
    let line = String::from_utf8(out.stdout).unwrap();
    line.trim()
        .trim_start_matches("serial=")
        .to_ascii_lowercase()
        .trim_start_matches("00")
        .to_owned()
}

fn http_date(unix: i64) -> String {
    ceremony::daemon::serve::http_date(unix)
}

fn metric(body: &str, name_and_labels: &str) -> i64 {
    body.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name_and_labels} not in:\n{body}"))
        .parse()
        .unwrap()
}

struct Server {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    base: String,
}

impl Server {
    fn start(config: &Path) -> Server {
        let mut child = ceremonyd()
            .args(["serve", "--config"])
            .arg(config)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(addr) = line
                    .split(" addr=")
                    .nth(1)
                    .filter(|_| line.contains("serve.listening"))
                {
                    let _ = tx.send(addr.split(' ').next().unwrap().to_owned());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("serve.listening in the log");
        Server {
            child,
            log,
            base: format!("http://{addr}"),
        }
    }

    fn get(&self, path: &str, args: &[&str]) -> Resp {
        curl(&format!("{}{path}", self.base), args)
    }

    fn wait_for(&self, what: &str, mut ok: impl FnMut(&Server) -> bool) {
        let start = Instant::now();
        while !ok(self) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn stop(mut self) -> Vec<String> {
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait().unwrap();
        assert!(status.success(), "serve exited with {status}");
        std::thread::sleep(Duration::from_millis(100));
        self.log.lock().unwrap().clone()
    }
}

#[test]
fn serves_trust_material_with_caching_metrics_and_inbox_pickup() {
    require("curl");
    require("openssl");
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let a1 = d.join("a1");
    let fp = rehearse("root-ceremony.toml", &a1, Some((&d.join("tokens"), None)));
    let a2 = d.join("a2");
    rehearse(
        "intermediate-rotation.toml",
        &a2,
        Some((&d.join("tokens"), Some(&a1))),
    );
    std::fs::create_dir_all(d.join("ca/config")).unwrap();
    std::fs::write(d.join("ca/config/ca.json"), phase1_ca_json()).unwrap();
    let out = ceremonyd()
        .arg("import")
        .arg(&a1)
        .args(["--root-fingerprint", &fp, "--allow-drill", "--ca-dir"])
        .arg(d.join("ca"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    std::fs::create_dir(d.join("inbox")).unwrap();
    let config = d.join("ceremonyd.toml");
    std::fs::write(
        &config,
        format!(
            "[ca]\ndir = \"{}\"\n[import]\nallow_drill = true\n[serve]\nlisten = \"127.0.0.1:0\"\n\
             inbox = \"{}\"\npoll_seconds = 1\nheader_timeout_seconds = 1\nidle_timeout_seconds = 2\n",
            d.join("ca").display(),
            d.join("inbox").display()
        ),
    )
    .unwrap();
    bad_config_is_reported(d);

    let server = Server::start(&config);
    files(&server, &a1, &fp);
    crl(&server, &a1);
    conditional(&server);
    errors(&server);
    metrics(&server, &a1);
    inbox(&server, d, &a1, &a2);
    let log = server.stop();
    assert!(
        log.iter().all(|l| l.starts_with("ts=")),
        "one key=value line per event:\n{log:?}"
    );
    assert!(
        log.iter().any(|l| l.contains("event=inbox.refused")),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l.contains("event=inbox.installed")),
        "{log:?}"
    );
}

fn squash(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).split_whitespace().collect()
}

fn files(s: &Server, bundle: &Path, fp: &str) {
    let roots = s.get("/roots.pem", &[]);
    assert_eq!(roots.status, 200);
    assert_eq!(roots.headers["content-type"], "application/x-pem-file");
    assert_eq!(
        squash(&roots.body),
        squash(&std::fs::read(bundle.join("root_ca.crt")).unwrap())
    );
    assert_eq!(
        roots.headers["etag"],
        format!("\"{}\"", ceremony::fsutil::sha256_hex(&roots.body))
    );
    assert_eq!(roots.headers["cache-control"], "no-cache");
    assert!(roots.headers["last-modified"].ends_with(" GMT"));
    let one = s.get(&format!("/root/{fp}"), &[]);
    assert_eq!(one.status, 200);
    assert_eq!(one.headers["content-type"], "application/json");
    let v: serde_json::Value = serde_json::from_slice(&one.body).unwrap();
    assert_eq!(v["ca"].as_str().unwrap().as_bytes(), roots.body.as_slice());
    assert_eq!(s.get(&format!("/root/{}", "0".repeat(64)), &[]).status, 404);
    let inter = s.get("/intermediates.pem", &[]);
    assert_eq!(
        squash(&inter.body),
        squash(&std::fs::read(bundle.join("intermediate_ca.crt")).unwrap())
    );
    for (path, file) in [
        ("/ssh/user_ca.pub", "ssh_user_ca.pub"),
        ("/ssh/host_ca.pub", "ssh_host_ca.pub"),
    ] {
        let r = s.get(path, &[]);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.body, std::fs::read(bundle.join(file)).unwrap(), "{path}");
        assert!(r.headers.contains_key("etag") && r.headers.contains_key("last-modified"));
    }
    let host = std::fs::read_to_string(bundle.join("ssh_host_ca.pub")).unwrap();
    let kh = s.get("/ssh/known_hosts", &[]);
    assert_eq!(
        String::from_utf8(kh.body).unwrap(),
        format!("@cert-authority * {}\n", host.trim())
    );
    let health = s.get("/health", &[]);
    assert_eq!(
        (health.status, health.body.as_slice()),
        (200, &b"{\"status\":\"ok\",\"generation\":1}\n"[..])
    );
    let head = s.get("/roots.pem", &["-I"]);
    assert_eq!(head.status, 200);
    assert_eq!(head.headers["content-length"], roots.body.len().to_string());
    assert_eq!(head.headers["etag"], roots.headers["etag"]);
    assert!(head.body.is_empty());
}

fn crl(s: &Server, bundle: &Path) {
    let file = bundle.join("root_ca.crl");
    let r = s.get("/crl", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "application/pkix-crl");
    assert_eq!(r.body, std::fs::read(&file).unwrap());
    let this = openssl_date(&["crl", "-inform", "DER", "-noout", "-lastupdate"], &file);
    let next = openssl_date(&["crl", "-inform", "DER", "-noout", "-nextupdate"], &file);
    assert_eq!(r.headers["last-modified"], http_date(this));
    assert_eq!(r.headers["expires"], http_date(next));
    let max_age: i64 = r.headers["cache-control"]
        .strip_prefix("public, max-age=")
        .unwrap()
        .parse()
        .unwrap();
    let left = next - time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(
        (left - 60..=left).contains(&max_age),
        "max-age {max_age}, {left} s to nextUpdate"
    );
    assert_eq!(
        r.headers["etag"],
        format!("\"{}\"", ceremony::fsutil::sha256_hex(&r.body))
    );
}

fn conditional(s: &Server) {
    let full = s.get("/crl", &[]);
    let (etag, modified) = (
        full.headers["etag"].clone(),
        full.headers["last-modified"].clone(),
    );
    let inm = format!("If-None-Match: {etag}");
    let r = s.get("/crl", &["-H", &inm]);
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.headers["etag"], etag);
    let ims = format!("If-Modified-Since: {modified}");
    assert_eq!(s.get("/crl", &["-H", &ims]).status, 304);
    let earlier = format!("If-Modified-Since: {}", http_date(0));
    assert_eq!(s.get("/crl", &["-H", &earlier]).status, 200);
    // If-None-Match decides when both are sent.
    assert_eq!(
        s.get("/crl", &["-H", "If-None-Match: \"other\"", "-H", &ims])
            .status,
        200
    );
    assert_eq!(
        s.get("/roots.pem", &["-H", "If-None-Match: W/\"x\", *"])
            .status,
        304
    );
}

fn errors(s: &Server) {
    assert_eq!(s.get("/nope", &[]).status, 404);
    assert_eq!(s.get("/roots.pem/", &[]).status, 404);
    let post = s.get("/roots.pem", &["-X", "POST"]);
    assert_eq!(post.status, 405);
    assert_eq!(post.headers["allow"], "GET, HEAD");
    assert_eq!(
        s.get("/roots.pem", &["-X", "GET", "--data", "x"]).status,
        413
    );
    let big = format!("X-Big: {}", "a".repeat(20_000));
    assert_eq!(s.get("/roots.pem", &["-H", &big]).status, 431);
    // A request head that never completes is cut off by the header timeout.
    let addr = s.base.trim_start_matches("http://");
    let mut slow = std::net::TcpStream::connect(addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    slow.write_all(b"GET /roots.pem HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 512];
    let n = slow.read(&mut buf).unwrap_or(0);
    assert!(
        n == 0 || String::from_utf8_lossy(&buf[..n]).contains("408"),
        "connection not closed"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    // An idle kept-alive connection is closed too.
    let mut idle = std::net::TcpStream::connect(addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut all = Vec::new();
    let _ = idle.read_to_end(&mut all);
    assert!(
        String::from_utf8_lossy(&all).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&all)
    );
}

fn metrics(s: &Server, bundle: &Path) {
    let r = s.get("/metrics", &[]);
    assert_eq!(r.status, 200);
    assert!(r.headers["content-type"].starts_with("text/plain; version=0.0.4"));
    let body = String::from_utf8(r.body).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for (role, file, cn) in [
        ("root", "root_ca.crt", "CCAT Observatory Root CA"),
        (
            "intermediate",
            "intermediate_ca.crt",
            "CCAT Observatory Intermediate CA",
        ),
    ] {
        let path = bundle.join(file);
        let labels = format!(
            "{{role=\"{role}\",serial=\"{}\",subject_CN=\"{cn}\"}}",
            openssl_serial(&path)
        );
        let not_after = openssl_date(&["x509", "-noout", "-enddate"], &path);
        let not_before = openssl_date(&["x509", "-noout", "-startdate"], &path);
        assert_eq!(
            metric(
                &body,
                &format!("ceremony_cert_not_after_timestamp_seconds{labels}")
            ),
            not_after
        );
        assert_eq!(
            metric(
                &body,
                &format!("ceremony_cert_not_before_timestamp_seconds{labels}")
            ),
            not_before
        );
        assert_eq!(
            metric(&body, &format!("x509_cert_not_after{labels}")),
            not_after
        );
        assert_eq!(metric(&body, &format!("x509_cert_expired{labels}")), 0);
        let left = metric(&body, &format!("ceremony_cert_expires_in_seconds{labels}"));
        assert!(
            (not_after - now - 60..=not_after - now).contains(&left),
            "{left}"
        );
    }
    let crl = bundle.join("root_ca.crl");
    let next = openssl_date(&["crl", "-inform", "DER", "-noout", "-nextupdate"], &crl);
    assert_eq!(
        metric(
            &body,
            "ceremony_crl_next_update_timestamp_seconds{number=\"1\"}"
        ),
        next
    );
    assert_eq!(metric(&body, "x509_crl_next_update{number=\"1\"}"), next);
    assert_eq!(metric(&body, "ceremony_generation"), 1);
    assert_eq!(metric(&body, "ceremony_last_import_success"), 1);
    assert!(body.contains("# TYPE ceremony_cert_not_after_timestamp_seconds gauge"));
}

fn inbox(s: &Server, d: &Path, a1: &Path, a2: &Path) {
    let before = s.get("/intermediates.pem", &[]);
    // A tampered bundle first: refused, nothing changes.
    let bad = d.join("inbox/tampered");
    copy_tree(a2, &bad);
    let mut bytes = std::fs::read(bad.join("root_ca.crl")).unwrap();
    bytes[40] ^= 1;
    std::fs::write(bad.join("root_ca.crl"), bytes).unwrap();
    s.wait_for("the refusal", |s| {
        metric(
            &String::from_utf8(s.get("/metrics", &[]).body).unwrap(),
            "ceremony_imports_total{result=\"refused\"}",
        ) == 1
    });
    let body = String::from_utf8(s.get("/metrics", &[]).body).unwrap();
    assert_eq!(metric(&body, "ceremony_last_import_success"), 0);
    assert_eq!(metric(&body, "ceremony_generation"), 1);
    // The real one: picked up and served without a restart.
    copy_tree(a2, &d.join("inbox/a2"));
    s.wait_for("generation 2", |s| {
        s.get("/health", &[]).body.ends_with(b"\"generation\":2}\n")
    });
    let after = s.get("/intermediates.pem", &[]);
    assert_ne!(after.headers["etag"], before.headers["etag"]);
    let text = squash(&after.body);
    assert!(text.contains(&squash(
        &std::fs::read(a2.join("intermediate_ca.crt")).unwrap()
    )));
    assert!(
        text.contains(&squash(
            &std::fs::read(a1.join("intermediate_ca.crt")).unwrap()
        )),
        "superseded, still valid"
    );
    assert_eq!(
        s.get("/crl", &[]).body,
        std::fs::read(a2.join("root_ca.crl")).unwrap()
    );
    let body = String::from_utf8(s.get("/metrics", &[]).body).unwrap();
    assert_eq!(
        metric(&body, "ceremony_imports_total{result=\"installed\"}"),
        1
    );
    assert_eq!(metric(&body, "ceremony_last_import_success"), 1);
    assert_eq!(metric(&body, "ceremony_crl_number{number=\"2\"}"), 2);
    assert!(body.contains("role=\"intermediate-previous\""), "{body}");
}

fn bad_config_is_reported(d: &Path) {
    let bad = d.join("bad.toml");
    std::fs::write(
        &bad,
        "[serve]\nlisten = \"nowhere\"\nport = 80\n[ca]\ndir = \"relative\"\n",
    )
    .unwrap();
    let out = ceremonyd()
        .args(["serve", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let t = text(&out);
    for path in ["ca.dir: ", "serve.port: unknown key", "serve.listen: "] {
        assert!(t.contains(path), "{path:?} missing:\n{t}");
    }
}

/// A CA folder with the root-ceremony drill installed, and a serve configuration for it
/// with `serve_extra` appended to `[serve]`.
fn served_ca(d: &Path, serve_extra: &str) -> std::path::PathBuf {
    let bundle = d.join("bundle");
    let fp = rehearse("root-ceremony.toml", &bundle, None);
    std::fs::create_dir_all(d.join("ca/config")).unwrap();
    std::fs::write(d.join("ca/config/ca.json"), phase1_ca_json()).unwrap();
    let out = ceremonyd()
        .arg("import")
        .arg(&bundle)
        .args(["--root-fingerprint", &fp, "--allow-drill", "--ca-dir"])
        .arg(d.join("ca"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let config = d.join("ceremonyd.toml");
    std::fs::write(
        &config,
        format!(
            "[ca]\ndir = \"{}\"\n[serve]\nlisten = \"127.0.0.1:0\"\n{serve_extra}",
            d.join("ca").display()
        ),
    )
    .unwrap();
    config
}

fn connect(s: &Server) -> std::net::TcpStream {
    let c = std::net::TcpStream::connect(s.base.trim_start_matches("http://")).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c
}

/// Reads one answer (head and `Content-Length` body) off a kept-alive connection.
fn answer(c: &mut std::net::TcpStream) -> (String, Vec<u8>) {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        let n = c.read(&mut byte).unwrap();
        assert_eq!(n, 1, "closed after {:?}", String::from_utf8_lossy(&raw));
        raw.push(byte[0]);
    }
    let head = String::from_utf8(raw).unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0; len];
    c.read_exact(&mut body).unwrap();
    (head, body)
}

/// Everything until the server closes; panics if it does not within the read timeout.
fn until_closed(c: &mut std::net::TcpStream) -> String {
    let mut all = Vec::new();
    c.read_to_end(&mut all)
        .expect("the server closes the connection");
    String::from_utf8_lossy(&all).into_owned()
}

fn get(c: &mut std::net::TcpStream, path: &str) -> (String, Vec<u8>) {
    c.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
        .unwrap();
    answer(c)
}

#[test]
fn limits_answer_and_close() {
    let tmp = tempfile::tempdir().unwrap();
    let config = served_ca(tmp.path(), "header_timeout_seconds = 2\n");
    let server = Server::start(&config);

    // A head over 16 KiB: 431, then the connection closes.
    let mut c = connect(&server);
    let big = format!(
        "GET /roots.pem HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    c.write_all(big.as_bytes()).unwrap();
    let text = until_closed(&mut c);
    assert!(text.starts_with("HTTP/1.1 431 "), "{text}");
    assert!(text.contains("\r\nConnection: close\r\n"), "{text}");

    // A request line over 16 KiB: 414.
    let mut c = connect(&server);
    c.write_all(format!("GET /{} HTTP/1.1\r\n", "a".repeat(20_000)).as_bytes())
        .unwrap();
    assert!(until_closed(&mut c).starts_with("HTTP/1.1 414 "));

    // A body announced (and partly sent): 413, closed, the body never read.
    let mut c = connect(&server);
    c.write_all(b"GET /roots.pem HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\nxxxx")
        .unwrap();
    let text = until_closed(&mut c);
    assert!(text.starts_with("HTTP/1.1 413 "), "{text}");

    // Not HTTP: 400 and closed; pipelined requests: answered in order on one connection.
    let mut c = connect(&server);
    c.write_all(b"hello\r\n\r\n").unwrap();
    assert!(until_closed(&mut c).starts_with("HTTP/1.1 400 "));
    let mut c = connect(&server);
    c.write_all(b"GET /health HTTP/1.1\r\n\r\nHEAD /roots.pem HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (h1, b1) = answer(&mut c);
    assert!(h1.starts_with("HTTP/1.1 200 ") && b1.ends_with(b"\"generation\":1}\n"));
    let h2 = {
        let mut raw = Vec::new();
        let mut byte = [0u8; 1];
        while !raw.ends_with(b"\r\n\r\n") {
            c.read_exact(&mut byte).unwrap();
            raw.push(byte[0]);
        }
        String::from_utf8(raw).unwrap()
    };
    assert!(
        h2.starts_with("HTTP/1.1 200 ") && h2.contains("Content-Length: "),
        "{h2}"
    );
    let rest = until_closed(&mut c);
    assert!(rest.starts_with("HTTP/1.1 404 "), "{rest}");
    server.stop();
}

#[test]
fn a_slow_client_is_cut_while_a_fast_one_is_answered() {
    let tmp = tempfile::tempdir().unwrap();
    let config = served_ca(tmp.path(), "header_timeout_seconds = 2\n");
    let server = Server::start(&config);
    let mut slow = connect(&server);
    let mut slow_reader = slow.try_clone().unwrap();
    // The slow client: one byte of a head that never ends, every 200 ms.
    let cut = std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        let text = format!("GET /roots.pem HTTP/1.1\r\nX-Slow: {}", "a".repeat(200));
        for b in text.bytes() {
            if slow.write_all(&[b]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let n = slow_reader.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    });
    // Meanwhile a fast client is answered, on one connection and on new ones.
    let mut fast = connect(&server);
    let mut answered = 0;
    while !cut.is_finished() {
        let (head, body) = get(&mut fast, "/roots.pem");
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        assert!(body.starts_with(b"-----BEGIN CERTIFICATE-----"));
        let (head, _) = get(&mut connect(&server), "/health");
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        answered += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    let slow_got = cut.join().unwrap();
    assert!(
        slow_got.is_empty() || slow_got.starts_with("HTTP/1.1 408 "),
        "{slow_got}"
    );
    assert!(answered > 0);
    server.stop();
}

#[test]
fn connections_over_the_cap_are_refused_and_serving_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let config = served_ca(
        tmp.path(),
        "max_connections = 4\nidle_timeout_seconds = 60\n",
    );
    let server = Server::start(&config);
    // Four busy kept-alive connections take every slot.
    let busy = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let holders: Vec<_> = (0..4)
        .map(|_| {
            let mut c = connect(&server);
            assert!(get(&mut c, "/health").0.starts_with("HTTP/1.1 200 "));
            let busy = busy.clone();
            std::thread::spawn(move || {
                while busy.load(std::sync::atomic::Ordering::Relaxed) {
                    assert!(get(&mut c, "/roots.pem").0.starts_with("HTTP/1.1 200 "));
                    std::thread::sleep(Duration::from_millis(100));
                }
                c
            })
        })
        .collect();
    // A fifth waits for a slot, finds none, and is told so before being closed.
    let mut fifth = connect(&server);
    fifth
        .write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let text = until_closed(&mut fifth);
    assert!(text.starts_with("HTTP/1.1 503 "), "{text}");
    assert!(text.contains("\r\nRetry-After: 1\r\n"), "{text}");
    // The busy connections were answered all along.
    busy.store(false, std::sync::atomic::Ordering::Relaxed);
    let mut held: Vec<_> = holders.into_iter().map(|h| h.join().unwrap()).collect();
    // ...until they have been idle for a while: then a newcomer gets a slot from them.
    std::thread::sleep(Duration::from_millis(1500));
    let mut newcomer = connect(&server);
    let (head, _) = get(&mut newcomer, "/roots.pem");
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let closed = held
        .iter_mut()
        .map(until_closed)
        .filter(String::is_empty)
        .count();
    assert_eq!(closed, 4, "idle connections give their slots up");
    drop(newcomer);
    // And the server goes on serving.
    let r = server.get("/roots.pem", &[]);
    assert_eq!(r.status, 200);
    server.stop();
}
