//! Plain HTTP downloads of documents (scope files, image specs): one GET with a time limit,
//! and one-line errors that carry the whole cause chain (refused connection, DNS, TLS, ...).
//! Also the TLS settings every HTTP client shares ([`lazy_roots_tls`]): the system's root
//! certificates are read at the first TLS handshake, not when a client is built.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Installs the ring crypto provider for rustls (idempotent; every HTTP client needs it once).
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The TLS settings reqwest builds by default (ring, TLS 1.2 and 1.3, the platform verifier
/// over the system's root certificates, SNI, ALPN `h2` then `http/1.1`), except that the root
/// certificates are loaded at the first certificate check instead of now. Loading and parsing
/// them costs about 10 ms of CPU, more than half of a whole run against a plain-`http` cloud
/// (e.g. each subject of `scs-check batch` against the simulator), which never needs them.
pub fn lazy_roots_tls() -> rustls::ClientConfig {
    install_crypto();
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let verifier = Arc::new(LazyRootsVerifier {
        provider: provider.clone(),
        inner: OnceLock::new(),
    });
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .expect("ring supports every rustls protocol version")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    tls
}

/// The platform verifier (as reqwest uses it), made at its first use.
#[derive(Debug)]
struct LazyRootsVerifier {
    provider: Arc<CryptoProvider>,
    inner: OnceLock<Result<rustls_platform_verifier::Verifier, rustls::Error>>,
}

impl LazyRootsVerifier {
    fn inner(&self) -> Result<&rustls_platform_verifier::Verifier, rustls::Error> {
        self.inner
            .get_or_init(|| rustls_platform_verifier::Verifier::new(self.provider.clone()))
            .as_ref()
            .map_err(|e| rustls::Error::General(format!("cannot load the root certificates: {e}")))
    }
}

impl ServerCertVerifier for LazyRootsVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner()?
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner()?.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner()?.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        // What the platform verifier answers, without loading the roots.
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Fetches a document with GET; a non-success status is an error. The error is one line
/// without the URL (callers name it).
pub async fn get_text(url: &str, timeout: Duration) -> Result<String, String> {
    install_crypto();
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .tls_backend_preconfigured(lazy_roots_tls())
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

    #[test]
    fn lazy_roots_tls_keeps_reqwests_alpn_and_loads_no_roots_up_front() {
        let tls = lazy_roots_tls();
        assert_eq!(tls.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
        assert!(tls.enable_sni);
        install_crypto();
        let verifier = LazyRootsVerifier {
            provider: CryptoProvider::get_default().unwrap().clone(),
            inner: OnceLock::new(),
        };
        // A ClientHello needs the schemes: still no roots read.
        assert!(!verifier.supported_verify_schemes().is_empty());
        assert!(verifier.inner.get().is_none());
        // The first certificate check loads them and judges: a broken certificate is refused.
        let name = ServerName::try_from("example.org").unwrap();
        let broken = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        let verdict = verifier.verify_server_cert(&broken, &[], &name, &[], UnixTime::now());
        assert!(verdict.is_err(), "{verdict:?}");
        assert!(verifier.inner.get().is_some());
    }

    #[tokio::test]
    async fn a_client_with_lazy_roots_speaks_plain_http() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                .await;
        });
        let text = get_text(&format!("http://127.0.0.1:{port}/"), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(text, "ok");
    }

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
