//! Plain HTTP downloads of documents (scope files, image specs): one GET with a time limit,
//! and one-line errors that carry the whole cause chain (refused connection, DNS, TLS, ...).

use std::time::Duration;

/// Installs the ring crypto provider for rustls (idempotent; every HTTP client needs it once).
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Fetches a document with GET; a non-success status is an error. The error is one line
/// without the URL (callers name it).
pub async fn get_text(url: &str, timeout: Duration) -> Result<String, String> {
    install_crypto();
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| format!("cannot build HTTP client: {e}"))?;
    let response = client.get(url).send().await.map_err(|e| {
        if e.is_timeout() {
            format!("timed out after {} s", timeout.as_secs())
        } else {
            error_chain(&e)
        }
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP status {status}"));
    }
    response
        .text()
        .await
        .map_err(|e| format!("cannot read response body: {}", error_chain(&e)))
}

/// An error and its sources, joined with `: ` on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refused_connection_is_one_line() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = get_text(
            &format!("http://127.0.0.1:{port}/x"),
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
        assert!(!err.contains('\n'), "{err}");
        assert!(err.to_lowercase().contains("connect"), "{err}");
    }
}
