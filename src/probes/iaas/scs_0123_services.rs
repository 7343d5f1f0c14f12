//! scs-0123 (mandatory and supported IaaS services): the catalog checks
//! (`scs-0123-service-*`, `scs-0123-storage-apis`) and the S3 probe of v1 (`scs-0123-swift-s3`),
//! which sends one S3 `ListBuckets` request, signed with AWS Signature V4 and an access key that
//! cannot exist, to the host of the object-store endpoint. Nothing is created.

use super::common::{self, FnProbe, abort_all};
use super::sigv4;
use crate::openstack::{Catalog, Client};
use crate::probes::{Finding, Outcome, ProbeContext};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use reqwest::{Method, Url};
use std::sync::Arc;

/// Testcase: storage API (`volume`, `volumev3` or `block-storage`) in the catalog.
pub const STORAGE_APIS: &str = "scs-0123-storage-apis";
/// Testcase (v2): an `object-store-s3` entry in the catalog.
pub const SERVICE_S3: &str = "scs-0123-service-s3";
/// Testcase (v1): the object store's host answers S3 requests.
pub const SWIFT_S3: &str = "scs-0123-swift-s3";

/// Catalog testcases and the service types that satisfy each (exact type names, no aliases
/// beyond the ones listed).
pub const CATALOG_CHECKS: &[(&str, &[&str])] = &[
    ("scs-0123-service-compute", &["compute"]),
    ("scs-0123-service-identity", &["identity"]),
    ("scs-0123-service-image", &["image"]),
    ("scs-0123-service-network", &["network"]),
    ("scs-0123-service-load-balancer", &["load-balancer"]),
    ("scs-0123-service-placement", &["placement"]),
    (STORAGE_APIS, &["volume", "volumev3", "block-storage"]),
    (SERVICE_S3, &["object-store-s3"]),
];

/// The access key of the S3 probe; no real cloud has it.
pub const BOGUS_ACCESS_KEY: &str = "doesnotexist";
/// The signing region (what S3 clients use when none is configured).
pub const S3_REGION: &str = "us-east-1";
/// Error codes in the S3 answer that show a working S3 API rejecting the unknown key.
pub const ACCEPTED_ERRORS: [&str; 2] = ["InvalidAccessKeyId", "NoSuchKey"];

/// The probe answering every scs-0123 testcase.
pub fn probe() -> Arc<FnProbe> {
    let mut ids: Vec<String> = CATALOG_CHECKS
        .iter()
        .map(|(id, _)| id.to_string())
        .collect();
    ids.push(SWIFT_S3.into());
    FnProbe::new("scs-0123-services", ids, run)
}

/// Judges one catalog testcase: PASS iff one of `types` is in the catalog (an entry without
/// endpoints counts).
pub fn judge_catalog(id: &str, types: &[&str], catalog: &Catalog) -> Outcome {
    if let Some(found) = types.iter().find(|t| catalog.has_type(t)) {
        return Outcome::pass(id, format!("the catalog has a service of type \"{found}\""));
    }
    let wanted = types
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect::<Vec<_>>()
        .join(" or ");
    Outcome::fail(id, format!("the catalog has no service of type {wanted}")).with_evidence(vec![
        Finding::new(
            format!("service type {wanted}"),
            "missing from the service catalog",
        )
        .expected_actual(
            types.join(" | "),
            format!("catalog types: {}", catalog.types().join(", ")),
        ),
    ])
}

/// `scheme://host[:port]` of an endpoint URL (the path, e.g. Swift's `/v1/AUTH_...`, is dropped;
/// a URL without a path is used as it is).
pub fn s3_origin(endpoint: &str) -> Result<(String, String), String> {
    let url = Url::parse(endpoint).map_err(|e| format!("object-store endpoint {endpoint}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "object-store endpoint {endpoint}: scheme {} is not http or https",
            url.scheme()
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| format!("object-store endpoint {endpoint}: no host"))?;
    let authority = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    Ok((format!("{}://{authority}", url.scheme()), authority))
}

/// The headers of a signed `ListBuckets` (`GET /`) for `authority` at time `at`.
pub fn list_buckets_headers(authority: &str, at: DateTime<Utc>) -> Vec<(String, String)> {
    let amz_date = at.format("%Y%m%dT%H%M%SZ").to_string();
    let signed_headers = [
        ("host", authority),
        ("x-amz-content-sha256", sigv4::EMPTY_PAYLOAD_SHA256),
        ("x-amz-date", amz_date.as_str()),
    ];
    let signed = sigv4::sign(
        &sigv4::Request {
            method: "GET",
            path: "/",
            query: &[],
            headers: &signed_headers,
            payload_sha256: sigv4::EMPTY_PAYLOAD_SHA256,
        },
        sigv4::Credentials {
            access_key: BOGUS_ACCESS_KEY,
            secret_key: "",
        },
        S3_REGION,
        "s3",
        at,
    );
    vec![
        (
            "x-amz-content-sha256".into(),
            sigv4::EMPTY_PAYLOAD_SHA256.into(),
        ),
        ("x-amz-date".into(), signed.amz_date),
        ("Authorization".into(), signed.authorization),
    ]
}

/// Judges the answer of the S3 request as the reference suite does: an error naming
/// `InvalidAccessKeyId` or `NoSuchKey` shows a working S3 API (PASS); any other error FAIL;
/// success with a key that cannot exist is inconclusive (ABORT).
pub fn judge_s3_answer(origin: &str, answer: Result<u16, String>) -> Outcome {
    match answer {
        Ok(status) => Outcome::abort(
            SWIFT_S3,
            format!(
                "S3 ListBuckets at {origin} succeeded (HTTP {status}) with an access key that \
                 cannot exist; the answer proves nothing"
            ),
        ),
        Err(text) => {
            if let Some(code) = ACCEPTED_ERRORS.iter().find(|c| text.contains(*c)) {
                Outcome::pass(
                    SWIFT_S3,
                    format!("S3 at {origin} rejects the unknown access key ({code})"),
                )
            } else {
                Outcome::fail(
                    SWIFT_S3,
                    format!("S3 at {origin} did not reject the unknown access key as S3 does"),
                )
                .with_evidence(vec![
                    Finding::new(
                        format!("S3 endpoint {origin}"),
                        "ListBuckets with an unknown access key",
                    )
                    .expected_actual(format!("an {} error", ACCEPTED_ERRORS.join(" or ")), text),
                ])
            }
        }
    }
}

/// Runs `scs-0123-swift-s3`: PASS without an `object-store` entry (nothing to check), else one
/// signed `ListBuckets` to the object store's host, counted as service `s3`.
pub async fn swift_s3(client: &Client, catalog: &Catalog, at: DateTime<Utc>) -> Outcome {
    if !catalog.has_type("object-store") {
        return Outcome::pass(
            SWIFT_S3,
            "no object-store service in the catalog; nothing to check",
        );
    }
    let endpoint = match client.endpoint("object-store").await {
        Ok(e) => e,
        Err(err) => {
            return Outcome::abort(
                SWIFT_S3,
                format!("cannot find the object-store endpoint: {err}"),
            );
        }
    };
    let (origin, authority) = match s3_origin(&endpoint) {
        Ok(o) => o,
        Err(reason) => return Outcome::abort(SWIFT_S3, reason),
    };
    let headers = list_buckets_headers(&authority, at);
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let answer = client
        .send(
            "s3",
            Method::GET,
            &format!("{origin}/"),
            None,
            &headers,
            true,
            false,
        )
        .await
        .map(|r| r.status)
        .map_err(|e| e.to_string());
    judge_s3_answer(&origin, answer)
}

fn run<'a>(ctx: &'a ProbeContext, testcases: &'a [String]) -> BoxFuture<'a, Vec<Outcome>> {
    Box::pin(async move {
        let (snapshot, catalog) = match common::catalog(ctx).await {
            Ok(found) => found,
            Err(reason) => return abort_all(testcases, &reason),
        };
        let mut out = Vec::with_capacity(testcases.len());
        for id in testcases {
            let outcome = if id == SWIFT_S3 {
                swift_s3(snapshot.client(), &catalog, ctx.clock.now()).await
            } else if let Some((_, types)) = CATALOG_CHECKS.iter().find(|(c, _)| c == id) {
                judge_catalog(id, types, &catalog)
            } else {
                Outcome::abort(id, "not a testcase of the scs-0123 probe")
            };
            out.push(outcome);
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::iaas::testing::{TestCloud, outcome, verdict};
    use crate::verdict::Verdict;
    use chrono::TimeZone;

    fn all_ids() -> Vec<&'static str> {
        let mut ids: Vec<&str> = CATALOG_CHECKS.iter().map(|(id, _)| *id).collect();
        ids.push(SWIFT_S3);
        ids
    }

    #[test]
    fn origins() {
        let ok = |u: &str| s3_origin(u).unwrap();
        assert_eq!(
            ok("https://swift.example.com:8080/v1/AUTH_abc"),
            (
                "https://swift.example.com:8080".into(),
                "swift.example.com:8080".into()
            )
        );
        // No path at all: the reference's pattern fails here; we keep the origin.
        assert_eq!(
            ok("https://s3.example.com"),
            ("https://s3.example.com".into(), "s3.example.com".into())
        );
        // Default ports are not part of the Host header.
        assert_eq!(ok("https://h:443/x").1, "h");
        assert_eq!(ok("http://[::1]:9000/").1, "[::1]:9000");
        assert!(s3_origin("ftp://h/x").unwrap_err().contains("not http"));
        assert!(s3_origin("not a url").is_err());
    }

    #[test]
    fn signed_list_buckets() {
        let at = Utc.with_ymd_and_hms(2026, 9, 1, 12, 0, 0).unwrap();
        let h = list_buckets_headers("127.0.0.1:9000", at);
        assert_eq!(h[1], ("x-amz-date".into(), "20260901T120000Z".into()));
        let auth = &h[2].1;
        assert!(auth.starts_with(
            "AWS4-HMAC-SHA256 Credential=doesnotexist/20260901/us-east-1/s3/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="
        ));
        let sig = auth.rsplit('=').next().unwrap();
        assert_eq!(sig.len(), 64);
        // The host is signed: another host gives another signature.
        let other = list_buckets_headers("127.0.0.1:9001", at);
        assert_ne!(other[2].1, *auth);
    }

    #[test]
    fn s3_answer_table() {
        let o = "http://h";
        let table: &[(Result<u16, String>, Verdict)] = &[
            (
                Err("s3 GET /: HTTP 403: InvalidAccessKeyId: unknown".into()),
                Verdict::Pass,
            ),
            (
                Err("s3 GET /: HTTP 404: NoSuchKey: x".into()),
                Verdict::Pass,
            ),
            (
                Err("s3 GET /: HTTP 403: AccessDenied: Access Denied.".into()),
                Verdict::Fail,
            ),
            (
                Err("s3 GET /: HTTP 403: SignatureDoesNotMatch: x".into()),
                Verdict::Fail,
            ),
            (
                Err("s3 GET /: connection refused (after 4 attempt(s))".into()),
                Verdict::Fail,
            ),
            (Ok(200), Verdict::Abort),
        ];
        for (answer, want) in table {
            assert_eq!(
                judge_s3_answer(o, answer.clone()).verdict,
                *want,
                "{answer:?}"
            );
        }
    }

    #[tokio::test]
    async fn compliant_cloud_passes_everything() {
        let cloud = TestCloud::file("compliant.yaml").await;
        let ids = all_ids();
        let out = cloud.run(probe().as_ref(), &ids).await;
        for id in &ids {
            assert_eq!(verdict(&out, id), Verdict::Pass, "{:?}", outcome(&out, id));
        }
        assert!(
            outcome(&out, SWIFT_S3)
                .reason
                .contains("InvalidAccessKeyId")
        );
        // Exactly one S3 request, at the server root, carrying our signature.
        let log = cloud.sim.request_log();
        assert_eq!(
            log.iter().filter(|l| l.as_str() == "GET /").count(),
            1,
            "{log:?}"
        );
        assert_eq!(cloud.snapshot.request_counts().get("s3"), Some(&1));
    }

    #[tokio::test]
    async fn missing_services_fail_with_evidence() {
        let cloud = TestCloud::file("services-missing.yaml").await;
        let ids = all_ids();
        let out = cloud.run(probe().as_ref(), &ids).await;
        let failing = [
            "scs-0123-service-load-balancer",
            "scs-0123-service-placement",
            SERVICE_S3,
            SWIFT_S3,
        ];
        for id in &ids {
            let want = if failing.contains(id) {
                Verdict::Fail
            } else {
                Verdict::Pass
            };
            assert_eq!(verdict(&out, id), want, "{:?}", outcome(&out, id));
        }
        let lb = outcome(&out, "scs-0123-service-load-balancer");
        assert_eq!(lb.evidence[0].object, "service type \"load-balancer\"");
        let s3 = outcome(&out, SWIFT_S3);
        assert!(
            s3.evidence[0]
                .actual
                .as_deref()
                .unwrap()
                .contains("AccessDenied"),
            "{s3:?}"
        );
    }

    #[tokio::test]
    async fn storage_apis_accept_any_listed_type() {
        let cloud = TestCloud::yaml(
            "base: compliant.yaml\nservices: [identity, compute, image, network, volume]\n",
        )
        .await;
        let out = cloud.run(probe().as_ref(), &[STORAGE_APIS, SWIFT_S3]).await;
        assert_eq!(out[0].verdict, Verdict::Pass);
        assert!(out[0].reason.contains("\"volume\""));
        // No object-store: nothing to check.
        assert_eq!(out[1].verdict, Verdict::Pass);
        assert!(out[1].reason.contains("nothing to check"));
        assert_eq!(cloud.snapshot.request_counts().get("s3"), None);

        let cloud = TestCloud::yaml(
            "base: compliant.yaml\nservices: [identity, compute, image, network]\n",
        )
        .await;
        let out = cloud.run(probe().as_ref(), &[STORAGE_APIS]).await;
        assert_eq!(out[0].verdict, Verdict::Fail);
        assert_eq!(
            out[0].evidence[0].object,
            "service type \"volume\" or \"volumev3\" or \"block-storage\""
        );
    }

    #[tokio::test]
    async fn s3_success_with_bogus_key_aborts() {
        let cloud = TestCloud::yaml("base: compliant.yaml\ns3: {behaviour: list-buckets}\n").await;
        let out = cloud.run(probe().as_ref(), &[SWIFT_S3]).await;
        assert_eq!(out[0].verdict, Verdict::Abort);
        assert!(out[0].reason.contains("HTTP 200"), "{}", out[0].reason);
    }

    #[tokio::test]
    async fn s3_no_such_key_passes_and_plain_404_fails() {
        let cloud = TestCloud::yaml("base: compliant.yaml\ns3: {behaviour: no-such-key}\n").await;
        let out = cloud.run(probe().as_ref(), &[SWIFT_S3]).await;
        assert_eq!(out[0].verdict, Verdict::Pass, "{:?}", out[0]);
        let cloud = TestCloud::yaml("base: compliant.yaml\ns3: {behaviour: absent}\n").await;
        let out = cloud.run(probe().as_ref(), &[SWIFT_S3]).await;
        assert_eq!(out[0].verdict, Verdict::Fail, "{:?}", out[0]);
    }

    #[tokio::test]
    async fn s3_persistent_server_error_fails_as_in_reference() {
        let cloud = TestCloud::yaml(
            "base: compliant.yaml\nfaults:\n  - {service: s3, kind: status, status: 500}\n",
        )
        .await;
        let out = cloud.run(probe().as_ref(), &[SWIFT_S3]).await;
        assert_eq!(out[0].verdict, Verdict::Fail, "{:?}", out[0]);
        assert!(
            out[0].evidence[0]
                .actual
                .as_deref()
                .unwrap()
                .contains("HTTP 500")
        );
        // Retried like every idempotent request.
        assert_eq!(cloud.snapshot.request_counts().get("s3"), Some(&4));
    }

    #[tokio::test]
    async fn object_store_without_usable_endpoint_aborts() {
        let cloud = TestCloud::yaml(
            "base: compliant.yaml\nservices: [identity, compute, image, network, volumev3, {type: object-store, interfaces: [internal]}]\n",
        )
        .await;
        let out = cloud.run(probe().as_ref(), &[SWIFT_S3]).await;
        assert_eq!(out[0].verdict, Verdict::Abort);
        assert!(
            out[0].reason.contains("no object-store endpoint"),
            "{}",
            out[0].reason
        );
    }

    #[tokio::test]
    async fn endpoint_without_path_still_goes_to_that_host() {
        // The reference would fall back to AWS for such an endpoint; we ask the host itself.
        let fixture = "base: compliant.yaml\nservices: [identity, compute, image, network, volumev3, {type: object-store, url: \"\"}]\n";
        let cloud = TestCloud::yaml(fixture).await;
        let out = cloud.run(probe().as_ref(), &[SWIFT_S3]).await;
        assert_eq!(out[0].verdict, Verdict::Pass, "{:?}", out[0]);
        assert_eq!(cloud.snapshot.request_counts().get("s3"), Some(&1));
    }

    #[tokio::test]
    async fn admin_token_aborts_everything() {
        let cloud = TestCloud::file("admin-token.yaml").await;
        let ids = all_ids();
        let out = cloud.run(probe().as_ref(), &ids).await;
        for o in &out {
            assert_eq!(o.verdict, Verdict::Abort, "{o:?}");
            assert!(o.reason.contains("too high"));
        }
        assert_eq!(cloud.snapshot.request_counts().get("s3"), None);
    }
}
