//! Tests of the image-spec format, spec selection, the scs-0104 rules, and the probe against
//! the simulator.

use super::*;
use crate::probes::iaas::testing::TestCloud;
use crate::verdict::Verdict;
use serde_json::json;
use std::collections::BTreeMap;

const V4_URL: &str = "https://raw.githubusercontent.com/SovereignCloudStack/standards/main/Tests/iaas/scs-0104-v1-images.yaml";
const V5_URL: &str = "https://raw.githubusercontent.com/SovereignCloudStack/standards/main/Tests/iaas/scs-0104-v1-images-v5.yaml";

/// The testcases of the scope modules (main and recommended) that use each spec.
const V4_IDS: &[&str] = &[
    "scs-0104-source-capi-1",
    "scs-0104-source-ubuntu-2204",
    "scs-0104-source-ubuntu-2004",
    "scs-0104-source-debian-12",
    "scs-0104-source-debian-11",
    "scs-0104-image-ubuntu-2204",
    "scs-0104-image-capi-1",
];
const V5_IDS: &[&str] = &[
    "scs-0104-source-capi-1",
    "scs-0104-source-capi-2",
    "scs-0104-source-ubuntu-2404",
    "scs-0104-source-ubuntu-2204",
    "scs-0104-source-ubuntu-2004",
    "scs-0104-source-debian-13",
    "scs-0104-source-debian-12",
    "scs-0104-source-debian-11",
    "scs-0104-image-ubuntu-2404",
    "scs-0104-image-capi-2",
    "scs-0104-image-debian-12",
];

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn image(name: &str, source: Option<&str>) -> Image {
    let mut v = json!({"id": format!("id-{name}"), "name": name, "visibility": "public"});
    if let Some(s) = source {
        v["image_source"] = json!(s);
    }
    serde_json::from_value(v).unwrap()
}

#[test]
fn builtin_specs_are_valid_and_cover_the_scope() {
    for (names, text) in BUILTIN_SPECS {
        let spec = parse_spec(text, names[0]).unwrap_or_else(|e| panic!("{e}"));
        assert!(spec.entries.len() >= 6);
    }
    let v4 = parse_spec(SPEC_V4, "v4").unwrap();
    let v5 = parse_spec(SPEC_V5, "v5").unwrap();
    for (spec, list) in [(&v4, V4_IDS), (&v5, V5_IDS)] {
        for id in list.iter() {
            let key = id
                .strip_prefix("scs-0104-source-")
                .or_else(|| id.strip_prefix("scs-0104-image-"))
                .unwrap();
            assert!(
                spec.entries.iter().any(|e| e.id == key),
                "{} lacks {key}",
                spec.origin
            );
            assert!(testcases().contains(&id.to_string()), "{id} not registered");
        }
    }
    let status =
        |spec: &ImageSpec, id: &str| spec.entries.iter().find(|e| e.id == id).unwrap().status;
    assert_eq!(status(&v4, "ubuntu-2204"), Status::Mandatory);
    assert_eq!(status(&v4, "capi-1"), Status::Recommended);
    assert_eq!(status(&v5, "ubuntu-2404"), Status::Mandatory);
    assert_eq!(status(&v5, "capi-2"), Status::Recommended);
    assert_eq!(status(&v5, "debian-12"), Status::Recommended);
    assert_eq!(status(&v5, "debian-13"), Status::Optional);
    assert!(
        !v4.entries
            .iter()
            .any(|e| e.id == "debian-13" || e.id == "ubuntu-2404")
    );
}

#[test]
fn default_ids() {
    let table = [
        ("Ubuntu 24.04", "ubuntu-2404"),
        ("Debian 12", "debian-12"),
        ("ubuntu-capi-image", "ubuntu-capi-image"),
        ("Alma  Linux 9", "alma-linux-9"),
    ];
    for (name, want) in table {
        assert_eq!(default_id(name), want);
    }
}

#[test]
fn invalid_specs_are_rejected_with_position() {
    let table: &[(&str, &str)] = &[
        (
            "images:\n  - name: X\n    source: https://x/\n    colour: red\n",
            "colour",
        ),
        ("images:\n  - name: X\n", "source"),
        ("images:\n  - name: X\n    source: []\n", "`source` must be"),
        (
            "images:\n  - name: X\n    source: ['']\n",
            "`source` must be",
        ),
        (
            "images:\n  - name: ' '\n    source: https://x/\n",
            "`name` is empty",
        ),
        (
            "images:\n  - name: X\n    source: https://x/\n    status: required\n",
            "required",
        ),
        (
            "images:\n  - name: X\n    source: https://x/\n    name_scheme: 'x(['\n",
            "`name_scheme` is not a valid regular expression",
        ),
        (
            "images:\n  - name: Debian 12\n    source: https://x/\n  - name: debian 12\n    source: https://y/\n",
            "entry id `debian-12` is used twice",
        ),
        (
            "images:\n  - name: X\n    id: Capi_1\n    source: https://x/\n",
            "`id` \"Capi_1\"",
        ),
        ("images: []\n", "`images` is empty"),
        ("imagez: []\n", "imagez"),
        ("images: [\n", ""),
        ("- just a list\n", ""),
    ];
    for (text, needle) in table {
        let err = parse_spec(text, "my-spec.yaml").expect_err(text);
        let msg = err.to_string();
        assert!(msg.starts_with("image spec my-spec.yaml:"), "{msg}");
        assert!(msg.contains(needle), "{text:?}: {msg}");
        assert!(!msg.contains('\n'), "{msg}");
        let SpecError::Invalid { line, .. } = err else {
            panic!("{msg}")
        };
        assert!(line >= 1, "{text:?}: {msg}");
    }
    // the position points at the offending value
    let err = parse_spec(
        "images:\n  - name: X\n    source: https://x/\n    name_scheme: 'x(['\n",
        "f",
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("image spec f:4:"), "{err}");
}

#[test]
fn single_source_string_and_explicit_ids() {
    let spec = parse_spec(
        "images:\n  - name: My Image\n    id: mine\n    source: https://a/\n    status: recommended\n",
        "t",
    )
    .unwrap();
    let e = &spec.entries[0];
    assert_eq!(
        (e.id.as_str(), e.sources.clone()),
        ("mine", vec!["https://a/".to_string()])
    );
    assert_eq!(e.status, Status::Recommended);
}

#[test]
fn name_matching() {
    let v5 = parse_spec(SPEC_V5, "v5").unwrap();
    let entry = |id: &str| v5.entries.iter().find(|e| e.id == id).unwrap().clone();
    let imgs = [
        image("ubuntu-capi-image v1.33.4", None),
        image("ubuntu-capi-image-v1.34", None),
        image("ubuntu-capi-image-v1.34.1 beta", None),
        image("my ubuntu-capi-image-v1.34", None),
        image("ubuntu-capi-image-vX", None),
        image("Ubuntu 24.04", None),
        image("Ubuntu 24.04 old", None),
        image("ubuntu 24.04", None),
    ];
    let refs: Vec<&Image> = imgs.iter().collect();
    let names = |id: &str| -> Vec<String> {
        matching_images(&entry(id), &refs)
            .iter()
            .map(|i| image_name(i).to_string())
            .collect()
    };
    assert_eq!(names("capi-1"), vec!["ubuntu-capi-image v1.33.4"]);
    assert_eq!(
        names("capi-2"),
        vec!["ubuntu-capi-image-v1.34", "ubuntu-capi-image-v1.34.1 beta"]
    );
    assert_eq!(names("ubuntu-2404"), vec!["Ubuntu 24.04"]);
    // duplicate names: the last one listed counts
    let dup = [
        image(
            "Ubuntu 24.04",
            Some("https://cloud-images.ubuntu.com/noble/a"),
        ),
        image("Ubuntu 24.04", Some("https://elsewhere/")),
    ];
    let dup_refs: Vec<&Image> = dup.iter().collect();
    let m = matching_images(&entry("ubuntu-2404"), &dup_refs);
    assert_eq!(m.len(), 1);
    assert_eq!(
        m[0].property("image_source").as_deref(),
        Some("https://elsewhere/")
    );
}

#[test]
fn source_prefixes_are_case_sensitive() {
    let p = vec![
        "https://cloud-images.ubuntu.com/releases/noble/".to_string(),
        "https://cloud-images.ubuntu.com/noble/".to_string(),
    ];
    assert!(source_allowed(
        "https://cloud-images.ubuntu.com/noble/current/x.img",
        &p
    ));
    assert!(source_allowed(
        "https://cloud-images.ubuntu.com/releases/noble/",
        &p
    ));
    assert!(!source_allowed(
        "https://cloud-images.ubuntu.com/Noble/x",
        &p
    ));
    assert!(!source_allowed(
        "http://cloud-images.ubuntu.com/noble/x",
        &p
    ));
    assert!(!source_allowed("", &p));
}

#[test]
fn judging_with_a_spec() {
    let v5 = parse_spec(SPEC_V5, "v5").unwrap();
    let imgs = [
        image("Ubuntu 22.04", Some("http://x")),
        image("Debian 12", None),
        image(
            "ubuntu-capi-image-v1.30",
            Some(
                "https://nbg1.your-objectstorage.com/osism/openstack-k8s-capi-images/ubuntu-2204-kube-v1.30/x.qcow2",
            ),
        ),
    ];
    let refs: Vec<&Image> = imgs.iter().collect();
    let o = judge("scs-0104-source-ubuntu-2204", &v5, &refs);
    assert_eq!(o.verdict, Verdict::Fail);
    assert_eq!(
        format!("{}: {}", o.evidence[0].object, o.evidence[0].message),
        "image \"Ubuntu 22.04\": image_source \"http://x\" is not a known source for Ubuntu 22.04"
    );
    let o = judge("scs-0104-source-debian-12", &v5, &refs);
    assert_eq!(o.verdict, Verdict::Fail);
    assert_eq!(
        o.evidence[0].message,
        "image_source \"\" is not a known source for Debian 12"
    );
    assert_eq!(
        judge("scs-0104-source-capi-2", &v5, &refs).verdict,
        Verdict::Pass
    );
    // nothing matches: nothing to check
    assert_eq!(
        judge("scs-0104-source-ubuntu-2404", &v5, &refs).verdict,
        Verdict::Pass
    );
    // presence
    let o = judge("scs-0104-image-ubuntu-2404", &v5, &refs);
    assert_eq!(o.verdict, Verdict::Fail);
    assert_eq!(o.evidence[0].object, "image spec entry `ubuntu-2404`");
    assert_eq!(
        judge("scs-0104-image-debian-12", &v5, &refs).verdict,
        Verdict::Pass
    );
    assert_eq!(
        judge("scs-0104-image-capi-2", &v5, &refs).verdict,
        Verdict::Pass
    );
    // an id the spec does not know
    let v4 = parse_spec(SPEC_V4, "v4").unwrap();
    let o = judge("scs-0104-source-capi-2", &v4, &refs);
    assert_eq!(o.verdict, Verdict::Abort);
    assert!(
        o.reason.contains("no entry with id `capi-2`"),
        "{}",
        o.reason
    );
}

#[tokio::test]
async fn spec_selection() {
    // built-in names and the upstream URLs of the scope file need no network
    for (name, text) in [
        ("builtin:scs-0104-v1-images-v4", SPEC_V4),
        (V4_URL, SPEC_V4),
        ("builtin:scs-0104-v1-images-v5", SPEC_V5),
        (V5_URL, SPEC_V5),
    ] {
        let spec = load_spec(Some(name)).await.unwrap();
        assert_eq!(spec.origin, name);
        assert_eq!(
            spec.entries.len(),
            parse_spec(text, "x").unwrap().entries.len()
        );
    }
    assert_eq!(load_spec(None).await.unwrap_err(), SpecError::Missing);
    assert_eq!(load_spec(Some(" ")).await.unwrap_err(), SpecError::Missing);
    // a path relative to the working directory
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, "images:\n  - name: Mine 1\n    source: https://m/\n").unwrap();
    let spec = load_spec(Some(path.to_str().unwrap())).await.unwrap();
    assert_eq!(spec.entries[0].id, "mine-1");
    // the same text from the same place is parsed once; a changed file again
    let again = load_spec(Some(path.to_str().unwrap())).await.unwrap();
    assert!(Arc::ptr_eq(&spec, &again));
    std::fs::write(&path, "images:\n  - name: Mine 2\n    source: https://m/\n").unwrap();
    let changed = load_spec(Some(path.to_str().unwrap())).await.unwrap();
    assert_eq!(changed.entries[0].id, "mine-2");
    let spec = load_spec(Some("testcases/scs-0104-v1-images-v4.yaml"))
        .await
        .unwrap();
    assert_eq!(spec.entries[0].name, "Ubuntu 22.04");
    let missing = dir.path().join("nope.yaml");
    let err = load_spec(Some(missing.to_str().unwrap()))
        .await
        .unwrap_err();
    assert!(matches!(err, SpecError::Read { .. }), "{err}");
    assert!(err.to_string().contains("nope.yaml: cannot read"), "{err}");
    // a broken file names itself
    std::fs::write(&path, "images:\n  - name: X\n").unwrap();
    let err = load_spec(Some(path.to_str().unwrap())).await.unwrap_err();
    assert!(err.to_string().contains("spec.yaml:2:"), "{err}");
}

/// Serves one fixed HTTP response per connection on 127.0.0.1.
async fn serve_once(status: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/yaml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    tokio::spawn(async move {
        if let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let _ = sock.write_all(response.as_bytes()).await;
        }
    });
    format!("http://{addr}/spec.yaml")
}

#[tokio::test]
async fn spec_download() {
    let url = serve_once(
        "200 OK",
        "images:\n  - name: Remote 1\n    source: https://r/\n",
    )
    .await;
    let spec = load_spec(Some(&url)).await.unwrap();
    assert_eq!(spec.entries[0].id, "remote-1");
    let url = serve_once("404 Not Found", "gone").await;
    let err = load_spec(Some(&url)).await.unwrap_err();
    assert!(
        err.to_string().contains("cannot download: HTTP status 404"),
        "{err}"
    );
    // nothing listens on port 9 of localhost
    let err = load_spec(Some("http://127.0.0.1:9/spec.yaml"))
        .await
        .unwrap_err();
    assert!(matches!(err, SpecError::Download { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("image spec http://127.0.0.1:9/spec.yaml: cannot download: ")
    );
}

// ---------------------------------------------------------------------------------------------
// The probe through the real client against the simulator.

/// A simulated cloud for fixture text with the given include parameters. The clock is fixed at
/// the simulator's start, which is when it turned the fixture's relative dates (`@today-10d`)
/// into real ones.
async fn sim_cloud(fixture: &str, parameters: &[(&str, &str)]) -> TestCloud {
    let mut cloud = TestCloud::yaml(fixture).await;
    cloud.ctx.clock = crate::probes::Clock::fixed(chrono::Utc::now());
    cloud.ctx.parameters = parameters
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    cloud
}

async fn verdicts(fixture: &str, spec: &str, list: &[&str]) -> BTreeMap<String, Outcome> {
    let cloud = sim_cloud(fixture, &[("image_spec", spec)]).await;
    let wanted = ids(list);
    let out = run(&cloud.ctx, &wanted).await;
    assert_eq!(out.len(), wanted.len());
    out.into_iter().map(|o| (o.testcase.clone(), o)).collect()
}

#[tokio::test]
async fn compliant_cloud_passes_both_specs() {
    for (url, list) in [(V4_URL, V4_IDS), (V5_URL, V5_IDS)] {
        let out = verdicts("base: compliant.yaml\n", url, list).await;
        for (id, o) in &out {
            assert_eq!(o.verdict, Verdict::Pass, "{url} {id}: {}", o.reason);
        }
    }
}

#[tokio::test]
async fn images_broken_fails_what_its_header_says() {
    let text = std::fs::read_to_string("fixtures/clouds/images-broken.yaml").unwrap();
    let out = verdicts(&text, V5_URL, V5_IDS).await;
    for (id, o) in &out {
        let want = match id.as_str() {
            "scs-0104-image-ubuntu-2404" | "scs-0104-source-ubuntu-2204" => Verdict::Fail,
            _ => Verdict::Pass,
        };
        assert_eq!(o.verdict, want, "{id}: {}", o.reason);
    }
    let o = &out["scs-0104-source-ubuntu-2204"];
    assert_eq!(
        format!("{}: {}", o.evidence[0].object, o.evidence[0].message),
        "image \"Ubuntu 22.04\": image_source \"https://mirror.example.net/ubuntu/jammy.img\" \
         is not a known source for Ubuntu 22.04"
    );
    let v4 = verdicts(&text, V4_URL, V4_IDS).await;
    for (id, o) in &v4 {
        let want = if id == "scs-0104-source-ubuntu-2204" {
            Verdict::Fail
        } else {
            Verdict::Pass
        };
        assert_eq!(o.verdict, want, "{id}: {}", o.reason);
    }
}

#[tokio::test]
async fn foreign_capi_and_missing_images_fail() {
    let fixture = r#"
base: compliant.yaml
images:
  - name: ubuntu-capi-image-v1.34.1
    properties:
      image_source: https://example.org/capi/ubuntu-2404-kube-v1.34.1.qcow2
  - name: ubuntu-capi-image v1.33.4
    remove: true
  - name: Debian 12
    remove: true
  - name: Debian 13
    properties:
      image_source: https://cloud.debian.org/images/cloud/bookworm/latest/x.qcow2
"#;
    let out = verdicts(fixture, V5_URL, V5_IDS).await;
    let failing = [
        "scs-0104-source-capi-2",
        "scs-0104-source-debian-13",
        "scs-0104-image-debian-12",
    ];
    for (id, o) in &out {
        let want = if failing.contains(&id.as_str()) {
            Verdict::Fail
        } else {
            Verdict::Pass
        };
        assert_eq!(o.verdict, want, "{id}: {}", o.reason);
    }
    assert_eq!(
        out["scs-0104-source-capi-2"].evidence[0].object,
        "image \"ubuntu-capi-image-v1.34.1\""
    );
    let v4 = verdicts(fixture, V4_URL, &["scs-0104-image-capi-1"]).await;
    assert_eq!(v4["scs-0104-image-capi-1"].verdict, Verdict::Fail);
}

#[tokio::test]
async fn aborts() {
    // pre-flight
    let text = std::fs::read_to_string("fixtures/clouds/admin-token.yaml").unwrap();
    let out = verdicts(&text, V5_URL, V5_IDS).await;
    assert!(
        out.values()
            .all(|o| o.verdict == Verdict::Abort && o.reason.contains("too high"))
    );
    // the image listing fails persistently
    let out = verdicts(
        "base: compliant.yaml\nfaults:\n  - {service: image, method: GET, path: /images, kind: status, status: 500}\n",
        V4_URL,
        V4_IDS,
    )
    .await;
    for (id, o) in &out {
        assert_eq!(o.verdict, Verdict::Abort, "{id}");
        assert!(
            o.reason.starts_with("cannot list images: ") && o.reason.contains("500"),
            "{}",
            o.reason
        );
    }
    // an unusable spec
    let out = verdicts("base: compliant.yaml\n", "no/such/spec.yaml", V4_IDS).await;
    for o in out.values() {
        assert_eq!(o.verdict, Verdict::Abort);
        assert!(
            o.reason
                .starts_with("image spec no/such/spec.yaml: cannot read"),
            "{}",
            o.reason
        );
    }
    // no spec at all
    let cloud = sim_cloud("base: compliant.yaml\n", &[]).await;
    let out = run(&cloud.ctx, &ids(V4_IDS)).await;
    assert!(
        out.iter()
            .all(|o| o.verdict == Verdict::Abort && o.reason.contains("image_spec"))
    );
}
