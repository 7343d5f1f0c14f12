//! AWS Signature Version 4 for a single HTTP request (header-based signing), as far as the
//! S3 probe of scs-0123 needs it: canonical request, string to sign, derived signing key and
//! the `Authorization` header. SHA-256 and HMAC come from `ring` (already used by rustls).
//!
//! The algorithm follows the AWS documentation: the canonical request is
//! `METHOD \n URI \n QUERY \n HEADERS \n \n SIGNED-HEADERS \n PAYLOAD-HASH`, the string to sign
//! is `AWS4-HMAC-SHA256 \n TIME \n SCOPE \n hex(sha256(canonical request))`, and the key is
//! derived by chaining HMAC-SHA256 over date, region, service and `aws4_request`.

use chrono::{DateTime, Utc};
use ring::{digest, hmac};

/// The SHA-256 of an empty payload, hex encoded (what a body-less GET sends as
/// `x-amz-content-sha256`).
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The key pair a request is signed with.
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    /// Access key id (sent in the clear in the credential scope).
    pub access_key: &'a str,
    /// Secret access key (only used to derive the signing key).
    pub secret_key: &'a str,
}

impl std::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// The parts of a request that enter the signature.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// HTTP method, e.g. `GET`.
    pub method: &'a str,
    /// Absolute path, not yet percent-encoded (e.g. `/` or `/test.txt`).
    pub path: &'a str,
    /// Query parameters, not yet percent-encoded; order does not matter.
    pub query: &'a [(&'a str, &'a str)],
    /// Headers to sign, including `host` (and, for S3, `x-amz-content-sha256`); `x-amz-date`
    /// is added by [`sign`] when absent.
    pub headers: &'a [(&'a str, &'a str)],
    /// Hex SHA-256 of the body (for S3 the same value as `x-amz-content-sha256`).
    pub payload_sha256: &'a str,
}

/// What signing produced: the headers to send and the intermediate values (for tests and
/// diagnostics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The canonical request text.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
    /// The hex signature.
    pub signature: String,
    /// The `Authorization` header value.
    pub authorization: String,
    /// The `x-amz-date` value (`YYYYMMDDTHHMMSSZ`).
    pub amz_date: String,
}

/// Hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&key, data).as_ref().to_vec()
}

/// The signing key for a day, region and service.
pub fn signing_key(secret_key: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac_sha256(format!("AWS4{secret_key}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// Percent-encodes per the SigV4 rules: unreserved characters (`A-Z a-z 0-9 - _ . ~`) stay,
/// everything else becomes `%XY` (upper-case hex) byte by byte; `/` stays when `keep_slash`.
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn canonical_header_value(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Signs `req` at time `at` for `region` and `service` (S3 paths are encoded once, as S3
/// expects).
pub fn sign(
    req: &Request<'_>,
    creds: Credentials<'_>,
    region: &str,
    service: &str,
    at: DateTime<Utc>,
) -> Signed {
    let amz_date = at.format("%Y%m%dT%H%M%SZ").to_string();
    let date = at.format("%Y%m%d").to_string();

    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), canonical_header_value(v)))
        .collect();
    if !headers.iter().any(|(k, _)| k == "x-amz-date") {
        headers.push(("x-amz-date".into(), amz_date.clone()));
    }
    // Sorted by name, and a repeated header's values by value: they are joined with commas in
    // that sorted order, not in the order given (AWS keeps the given order; no caller here
    // repeats a header, so the signatures agree).
    headers.sort();
    let mut merged: Vec<(String, String)> = vec![];
    for (k, v) in headers {
        match merged.last_mut() {
            Some((last, value)) if *last == k => {
                value.push(',');
                value.push_str(&v);
            }
            _ => merged.push((k, v)),
        }
    }
    let canonical_headers: String = merged.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = merged
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");

    let mut query: Vec<(String, String)> = req
        .query
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    query.sort();
    let canonical_query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");

    let path = if req.path.is_empty() { "/" } else { req.path };
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        uri_encode(path, true),
        canonical_query,
        canonical_headers,
        signed_headers,
        req.payload_sha256
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let key = signing_key(creds.secret_key, &date, region, service);
    let signature = hex(&hmac_sha256(&key, string_to_sign.as_bytes()));
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        creds.access_key
    );
    Signed {
        canonical_request,
        string_to_sign,
        signature,
        authorization,
        amz_date,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn empty_payload_hash() {
        assert_eq!(sha256_hex(b""), EMPTY_PAYLOAD_SHA256);
    }

    /// The "GET Object" example of the S3 SigV4 documentation (header-based auth, single
    /// chunk): example key pair, bucket `examplebucket`, 2013-05-24, us-east-1.
    #[test]
    fn aws_s3_get_object_example() {
        let at = Utc.with_ymd_and_hms(2013, 5, 24, 0, 0, 0).unwrap();
        let headers = [
            ("Host", "examplebucket.s3.amazonaws.com"),
            ("Range", "bytes=0-9"),
            ("x-amz-content-sha256", EMPTY_PAYLOAD_SHA256),
            ("x-amz-date", "20130524T000000Z"),
        ];
        let req = Request {
            method: "GET",
            path: "/test.txt",
            query: &[],
            headers: &headers,
            payload_sha256: EMPTY_PAYLOAD_SHA256,
        };
        let creds = Credentials {
            access_key: "AKIAIOSFODNN7EXAMPLE",
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        };
        let signed = sign(&req, creds, "us-east-1", "s3", at);
        assert_eq!(
            signed.canonical_request,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n\
             x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
             x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            signed.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n\
             7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"
        );
        assert_eq!(
            signed.signature,
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        assert_eq!(
            signed.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    /// The general SigV4 example of the AWS documentation: IAM `ListUsers`, 2015-08-30.
    #[test]
    fn aws_iam_list_users_example() {
        let at = Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0).unwrap();
        let headers = [
            (
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            ("Host", "iam.amazonaws.com"),
        ];
        let req = Request {
            method: "GET",
            path: "/",
            query: &[("Version", "2010-05-08"), ("Action", "ListUsers")],
            headers: &headers,
            payload_sha256: EMPTY_PAYLOAD_SHA256,
        };
        let creds = Credentials {
            access_key: "AKIDEXAMPLE",
            secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        };
        assert_eq!(
            hex(&signing_key(
                creds.secret_key,
                "20150830",
                "us-east-1",
                "iam"
            )),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
        let signed = sign(&req, creds, "us-east-1", "iam", at);
        assert_eq!(
            sha256_hex(signed.canonical_request.as_bytes()),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        assert_eq!(
            signed.signature,
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn encoding_rules() {
        assert_eq!(uri_encode("a b/c~d", true), "a%20b/c~d");
        assert_eq!(uri_encode("a b/c", false), "a%20b%2Fc");
        assert_eq!(uri_encode("ä", false), "%C3%A4");
        assert_eq!(canonical_header_value("  a   b  c "), "a b c");
    }

    /// What the comment in `sign` says: names are lower-cased and sorted, and a repeated
    /// header's values are joined with commas in sorted order, not in the order given.
    #[test]
    fn repeated_headers_are_joined_in_sorted_order() {
        let at = Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0).unwrap();
        let headers = [
            ("Host", "example.amazonaws.com"),
            ("My-Header1", "value4"),
            ("My-Header1", "value1"),
        ];
        let req = Request {
            method: "GET",
            path: "/",
            query: &[],
            headers: &headers,
            payload_sha256: EMPTY_PAYLOAD_SHA256,
        };
        let creds = Credentials {
            access_key: "AKIDEXAMPLE",
            secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        };
        let signed = sign(&req, creds, "us-east-1", "service", at);
        assert!(
            signed
                .canonical_request
                .contains("host:example.amazonaws.com\nmy-header1:value1,value4\nx-amz-date:20150830T123600Z\n"),
            "{}",
            signed.canonical_request
        );
    }
}
