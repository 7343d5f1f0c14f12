//! A test compliance monitor for the test files that upload (`#[path = "common/monitor.rs"]
//! mod monitor;`): `POST /reports` checked as the monitor checks it, with what it stored.

#![allow(dead_code)] // each test file uses what it needs

use assert_cmd::Command;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The monitor's state: the account (token, keys, the subjects it may report on) and what
/// reached it.
#[derive(Default)]
pub struct Monitor {
    /// The Basic-auth token it accepts.
    pub token: String,
    /// The subjects the account may upload reports for.
    pub subjects: Vec<String>,
    /// The account's public keys.
    pub keys: Vec<scs_check::cert::verify::Signer>,
    /// Answer the next request with a 500.
    pub fail_next: bool,
    /// Requests received.
    pub requests: usize,
    /// Run uuids of the stored reports, in arrival order.
    pub stored: Vec<String>,
    /// Subjects of the stored reports, in the same order.
    pub stored_subjects: Vec<String>,
}

/// The monitor shared with its server.
pub type Shared = Arc<Mutex<Monitor>>;

/// `POST /reports` as the monitor handles it: exact content type, Basic auth, signature
/// separator, SSHSIG verification with the account's keys, subject permission, 409 on a known
/// run uuid; plus a 500 when `fail_next` is set.
async fn post_reports(
    State(m): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let mut m = m.lock().unwrap();
    m.requests += 1;
    if std::mem::take(&mut m.fail_next) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "boom".into());
    }
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct != "application/x-signed-yaml" && ct != "application/x-signed-json" {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("unsupported {ct}"),
        );
    }
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Basic {}", m.token) {
        return (StatusCode::UNAUTHORIZED, "bad credentials".into());
    }
    const SEP: &[u8] = b"-----END SSH SIGNATURE-----\n&";
    let Some(at) = body.windows(SEP.len()).position(|w| w == SEP) else {
        return (StatusCode::UNAUTHORIZED, "missing signature".into());
    };
    let sig = std::str::from_utf8(&body[..at + SEP.len() - 1]).unwrap();
    let data = &body[at + SEP.len()..];
    if scs_check::cert::verify::verify_signature(data, sig, &m.keys, Some("mail@csp.eu"), "upload")
        .is_err()
    {
        return (StatusCode::UNAUTHORIZED, "verification failed".into());
    }
    let text = std::str::from_utf8(data).unwrap();
    let reports = scs_check::report::read_reports(text).unwrap();
    let mut fresh = Vec::new();
    let mut subjects = Vec::new();
    for r in &reports {
        if !m.subjects.contains(&r.subject) {
            return (StatusCode::UNAUTHORIZED, "Permission denied".into());
        }
        if m.stored.contains(&r.run.uuid) || fresh.contains(&r.run.uuid) {
            return (StatusCode::CONFLICT, "report already present".into());
        }
        fresh.push(r.run.uuid.clone());
        subjects.push(r.subject.clone());
    }
    m.stored.extend(fresh);
    m.stored_subjects.extend(subjects);
    (StatusCode::OK, "null".into())
}

/// Serves the monitor on a free local port; returns its `http://` URL.
pub async fn start_monitor(m: Shared) -> String {
    let app = axum::Router::new()
        .route("/reports", axum::routing::post(post_reports))
        .with_state(m);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/")
}

/// Creates a key (ours) and a token file; returns (key path, token path, monitor state).
pub fn account(dir: &Path, subject: &str) -> (PathBuf, PathBuf, Shared) {
    account_for(dir, &[subject])
}

/// [`account`] for an account that may report on several subjects (the first names the keys).
pub fn account_for(dir: &Path, subjects: &[&str]) -> (PathBuf, PathBuf, Shared) {
    let secret = dir.join("secret");
    Command::cargo_bin("scs-check")
        .expect("binary is built")
        .env("CI", "true")
        .env_remove("SCS_KEY_PASSPHRASE")
        .args(["keygen", subjects[0], "--dir"])
        .arg(&secret)
        .env("SCS_MONITOR_PASSWORD", "pw")
        .assert()
        .success();
    let public = std::fs::read_to_string(secret.join("keyfile.pub")).unwrap();
    let keys =
        scs_check::cert::verify::parse_signers(&format!("mail@csp.eu {public}"), Path::new("k"))
            .unwrap();
    let token = std::fs::read_to_string(secret.join("tokenfile")).unwrap();
    let m = Monitor {
        token,
        subjects: subjects.iter().map(|s| s.to_string()).collect(),
        keys,
        ..Default::default()
    };
    (
        secret.join("keyfile"),
        secret.join("tokenfile"),
        Arc::new(Mutex::new(m)),
    )
}
