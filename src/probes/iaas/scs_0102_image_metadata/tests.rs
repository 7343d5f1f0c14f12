//! Tests of the scs-0102 rules (tables) and of the probe against the simulator.

use super::*;
use crate::probes::iaas::testing::TestCloud;
use crate::verdict::Verdict;
use chrono::TimeZone;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn image(v: Value) -> Image {
    let mut v = v;
    let m = v.as_object_mut().expect("object");
    m.entry("id").or_insert(json!("id-1"));
    m.entry("visibility").or_insert(json!("public"));
    serde_json::from_value(v).expect("image decodes")
}

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

#[test]
fn property_dates_like_python_strptime() {
    let ok: &[(&str, DateTime<Utc>)] = &[
        ("2024-05-01", at(2024, 5, 1, 0, 0, 0)),
        ("2024-5-1", at(2024, 5, 1, 0, 0, 0)),
        ("2024-01-01 10:00", at(2024, 1, 1, 10, 0, 0)),
        ("2024-01-01 10:00:07", at(2024, 1, 1, 10, 0, 7)),
        ("2024-01-01 7:5", at(2024, 1, 1, 7, 5, 0)),
        ("2024-01-01T10:00:00Z", at(2024, 1, 1, 10, 0, 0)),
        ("2024-01-01t10:00:00z", at(2024, 1, 1, 10, 0, 0)),
        ("2024-01-01   10:00", at(2024, 1, 1, 10, 0, 0)),
        ("2024-01- 5", at(2024, 1, 5, 0, 0, 0)),
        ("2024-02-29", at(2024, 2, 29, 0, 0, 0)),
    ];
    for (text, want) in ok {
        assert_eq!(parse_date(text), Some(*want), "{text:?} should parse");
    }
    let bad = [
        "",
        "2024-02-30",
        "2023-02-29",
        " 2024-01-01",
        "2024-01-01 ",
        "2024-01-01\n",
        "2024-01-01T10:00:00.5Z",
        "2024-01-01T10:00:00",
        "2024-01-01T10:00Z",
        "2024-01-01 10:00:00.123",
        "24-01-01",
        "02024-01-01",
        "2024-13-01",
        "2024-00-10",
        "2024-01-32",
        "2024-01-01 24:00",
        "2024-01-01 10:60",
        "2024-01-01 10:00:60",
        "2024/01/01",
        "20240101",
        "none",
    ];
    for text in bad {
        assert_eq!(parse_date(text), None, "{text:?} should be rejected");
    }
}

#[test]
fn created_at_takes_only_the_glance_format() {
    assert_eq!(
        parse_created_at("2024-03-04T05:06:07Z"),
        Some(at(2024, 3, 4, 5, 6, 7))
    );
    assert_eq!(parse_created_at("2024-03-04"), None);
    assert_eq!(parse_created_at("2024-03-04 05:06:07"), None);
}

#[test]
fn name_dates_and_marks() {
    assert_eq!(
        strptime("20240101", "%Y%m%d"),
        Some(at(2024, 1, 1, 0, 0, 0))
    );
    // Python reads one-digit days here too
    assert_eq!(
        strptime("2024111", "%Y%m%d"),
        Some(at(2024, 11, 1, 0, 0, 0))
    );
    let table = [
        ("Ubuntu 22.04 old", false, true),
        ("Ubuntu 22.04 prev", false, true),
        ("Ubuntu 22.04 20240101", false, true),
        ("Ubuntu 22.04 2024-01-01", false, true),
        ("Ubuntu 22.04 2024-02-30", false, false),
        ("Ubuntu 22.04 Old", false, false),
        ("Ubuntu 22.04", false, false),
        ("Ubuntu", false, false),
        ("Ubuntu", true, true),
        ("Ubuntu 22.04", true, true),
    ];
    for (name, hidden, want) in table {
        assert_eq!(is_marked(name, hidden), want, "{name:?} hidden={hidden}");
    }
}

#[test]
fn replacement_names() {
    let table = [
        ("Ubuntu 22.04 20240101", Some("Ubuntu 22.04")),
        ("Ubuntu 22.04 old", Some("Ubuntu 22.04")),
        ("Ubuntu 22.04", Some("Ubuntu")),
        ("Ubuntu 22.04  old", Some("Ubuntu 22.04")),
        ("Ubuntu", None),
    ];
    for (name, want) in table {
        assert_eq!(replacement_name(name), want, "{name:?}");
    }
}

#[test]
fn recency_periods_have_ten_percent_slack() {
    let h = chrono::Duration::hours;
    let table = [
        ("yearly", Some(h(365 * 24) + h(365 * 24) / 10)),
        ("quarterly", Some(h(92 * 24) + h(92 * 24) / 10)),
        ("monthly", Some(h(31 * 24) + h(31 * 24) / 10)),
        ("weekly", Some(chrono::Duration::minutes(192 * 60 + 30))),
        ("daily", Some(chrono::Duration::minutes(27 * 60 + 30))),
        ("never", None),
        ("critical_bug", None),
        ("sometimes", None),
        ("", None),
    ];
    for (freq, want) in table {
        assert_eq!(allowed_age(freq), want, "{freq}");
    }
    assert_eq!(
        allowed_age("monthly").unwrap().num_seconds(),
        (34.1 * 86400.0) as i64
    );
}

fn aged(name: &str, built: &str, freq: &str, until: Option<&str>) -> Image {
    let mut v = json!({
        "name": name,
        "created_at": "2026-01-01T00:00:00Z",
        "image_build_date": built,
        "replace_frequency": freq,
    });
    if let Some(u) = until {
        v["provided_until"] = json!(u);
    }
    image(v)
}

#[test]
fn freshness_steps() {
    let now = at(2026, 3, 1, 0, 0, 0);
    let fine = |i: &Image| freshness(i, now) == Freshness::Fine;
    // 34 days old, monthly allows 34.1 days
    assert!(fine(&aged("A", "2026-01-26", "monthly", None)));
    // 35 days: outdated unless excused
    assert!(!fine(&aged(
        "A",
        "2026-01-25",
        "monthly",
        Some("2027-01-01")
    )));
    assert!(fine(&aged("A", "2026-01-25", "monthly", Some("none"))));
    assert!(fine(&aged("A", "2026-01-25", "monthly", Some("notice"))));
    assert!(fine(&aged(
        "A",
        "2026-01-25",
        "monthly",
        Some("2026-02-01")
    )));
    assert!(matches!(
        freshness(&aged("A", "2026-01-25", "monthly", None), now),
        Freshness::Outdated { .. }
    ));
    assert_eq!(
        freshness(&aged("A", "2026-01-25", "monthly", Some("soon")), now),
        Freshness::BadProvidedUntil("soon".into())
    );
    // no limit for never / critical_bug / unknown values
    assert!(fine(&aged("A", "2000-01-01", "never", None)));
    assert!(fine(&aged("A", "2000-01-01", "critical_bug", None)));
    assert!(fine(&aged("A", "2000-01-01", "sometimes", None)));
    // daily: 27.5 hours
    let now2 = at(2026, 1, 2, 3, 29, 0);
    assert_eq!(
        freshness(&aged("A", "2026-01-01", "daily", Some("2027-01-01")), now2),
        Freshness::Fine
    );
    let now3 = at(2026, 1, 2, 3, 31, 0);
    assert_ne!(
        freshness(&aged("A", "2026-01-01", "daily", Some("2027-01-01")), now3),
        Freshness::Fine
    );
    // an unusable build date falls back to the registration date
    let mut i = aged("A", "garbage", "monthly", Some("2027-01-01"));
    i.created_at = Some("2026-02-20T00:00:00Z".into());
    assert!(fine(&i));
}

#[test]
fn recency_replacement_lookup() {
    let now = at(2026, 3, 1, 0, 0, 0);
    let old = aged(
        "Debian 12 20251201",
        "2025-12-01",
        "monthly",
        Some("2027-01-01"),
    );
    let fresh = aged("Debian 12", "2026-02-25", "monthly", Some("2027-01-01"));
    let stale = aged("Debian 12", "2025-12-02", "monthly", Some("2027-01-01"));
    let unrelated = aged("Debian 11", "2026-02-25", "monthly", Some("2027-01-01"));

    assert!(recency_problems(&[&old, &fresh], now).is_empty());
    let p = recency_problems(&[&old, &unrelated], now);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].object, "image \"Debian 12 20251201\"");
    assert!(
        p[0].message.contains("without replacement"),
        "{}",
        p[0].message
    );
    assert_eq!(
        p[0].expected.as_deref(),
        Some("an image named \"Debian 12\"")
    );
    // the replacement is itself outdated: both are reported
    let p = recency_problems(&[&old, &stale], now);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p[0].message
            .contains("replacement \"Debian 12\" is outdated")
    );
    // duplicate names: the last one listed is the replacement
    assert!(recency_problems(&[&old, &stale, &fresh], now).len() == 1);
    assert_eq!(recency_problems(&[&old, &fresh, &stale], now).len(), 2);
    // unmarked names are said to be unmarked
    let unmarked = aged("Rocky 9", "2025-06-01", "monthly", Some("2027-01-01"));
    let p = recency_problems(&[&unmarked], now);
    assert!(p[0].message.contains("not marked"), "{}", p[0].message);
    // a name without a space cannot have a replacement
    let single = aged("Cirros", "2025-06-01", "monthly", None);
    let p = recency_problems(&[&single], now);
    assert!(
        p[0].expected
            .as_deref()
            .unwrap()
            .contains("no version suffix")
    );
    // an invalid provided_until on an outdated image is a problem of its own
    let bad = aged("Rocky 9 old", "2025-06-01", "monthly", Some("later"));
    let p = recency_problems(&[&bad], now);
    assert!(
        p[0].message
            .contains("provided_until` \"later\" is not valid")
    );
}

#[test]
fn uniqueness_grouping() {
    let g = |name: &str, arch: Option<&str>, distro: &str, version: &str, purpose: &str| {
        let mut v = json!({"name": name, "os_distro": distro, "os_version": version, "os_purpose": purpose});
        if let Some(a) = arch {
            v["architecture"] = json!(a);
        }
        image(v)
    };
    let a = g("Debian 12", Some("x86_64"), "debian", "12", "generic");
    let b = g(
        "Debian 12 minimal",
        Some("x86_64"),
        "debian",
        "12",
        "generic",
    );
    let c = g("Debian 12 arm", Some("aarch64"), "debian", "12", "generic");
    let d = g("Debian 12 k8s", Some("x86_64"), "debian", "12", "k8snode");
    let e = g(
        "Debian 12 no-version",
        Some("x86_64"),
        "debian",
        "",
        "generic",
    );
    let f = g("Debian 12.0", Some("x86_64"), "debian", "12.0", "generic");
    let mut community = g("Debian 12 c", Some("x86_64"), "debian", "12", "generic");
    community.visibility = Some("community".into());
    let mut hidden = g("Debian 12 h", Some("x86_64"), "debian", "12", "generic");
    hidden.os_hidden = true;
    let n1 = g("No arch 1", None, "alpine", "3", "generic");
    let n2 = g("No arch 2", None, "alpine", "3", "generic");

    assert!(duplicate_generic_groups(&[&a, &c, &d, &e, &f, &community, &hidden]).is_empty());
    let groups = duplicate_generic_groups(&[&a, &b, &c, &n1, &n2]);
    assert_eq!(groups.len(), 2);
    assert_eq!(
        groups[&("x86_64".into(), "debian".into(), "12".into())],
        vec!["Debian 12", "Debian 12 minimal"]
    );
    assert_eq!(
        groups[&(String::new(), "alpine".into(), "3".into())],
        vec!["No arch 1", "No arch 2"]
    );
}

#[test]
fn image_source_rule() {
    let ok = [
        "private",
        "https://",
        "https://x/y",
        "http://x",
        "ftp://x",
        "ftps://x",
    ];
    let bad = [
        "",
        "Private",
        "HTTPS://x",
        "s3://x",
        "http:/x",
        "x.org/http://y",
        "file:///x",
        "https//x",
    ];
    for v in ok {
        assert!(valid_image_source(v), "{v:?}");
    }
    for v in bad {
        assert!(!valid_image_source(v), "{v:?}");
    }
}

#[test]
fn uuid_validity_and_hotfix_hours() {
    for v in [
        "none",
        "notice",
        "forever",
        "last-3",
        "last-10",
        "2026-12-31",
        "2026-12-31 10:00",
    ] {
        assert!(valid_uuid_validity(v), "{v:?}");
    }
    for v in [
        "",
        "last-",
        "last-x",
        "last--1",
        "maybe",
        "Forever",
        "2026-02-30",
    ] {
        assert!(!valid_uuid_validity(v), "{v:?}");
    }
    for v in ["", "0", "72"] {
        assert!(valid_hotfix_hours(v), "{v:?}");
    }
    for v in ["soon", "-1", "1.5", " 7"] {
        assert!(!valid_hotfix_hours(v), "{v:?}");
    }
    // absent uuid_validity / hotfix_hours pass; empty uuid_validity fails
    let now = at(2026, 1, 1, 0, 0, 0);
    assert!(property_problems("uuid_validity", &image(json!({"name": "x"})), now).is_empty());
    assert!(property_problems("hotfix_hours", &image(json!({"name": "x"})), now).is_empty());
    assert_eq!(
        property_problems(
            "uuid_validity",
            &image(json!({"name": "x", "uuid_validity": ""})),
            now
        )
        .len(),
        1
    );
}

#[test]
fn min_disk_rule() {
    const GIB: u64 = 1 << 30;
    assert!(min_disk_problem(None, Some(GIB)).is_some());
    assert!(min_disk_problem(Some(0), Some(GIB)).is_some());
    assert!(min_disk_problem(Some(0), None).is_some());
    assert!(min_disk_problem(Some(8), Some(8 * GIB)).is_none());
    let (msg, expected, actual) = min_disk_problem(Some(8), Some(8 * GIB + 1)).unwrap();
    assert!(msg.contains("smaller than the image"), "{msg}");
    assert_eq!(
        (expected.as_str(), actual.as_str()),
        ("at least 9 GiB", "8 GiB")
    );
    // no data: only min_disk itself is judged
    assert!(min_disk_problem(Some(8), None).is_none());
}

#[test]
fn build_date_rule() {
    let now = at(2026, 3, 1, 0, 0, 0);
    let b = |built: Option<&str>, created: &str| {
        let mut v = json!({"name": "x", "created_at": created});
        if let Some(d) = built {
            v["image_build_date"] = json!(d);
        }
        build_date_problems(&image(v), now)
            .into_iter()
            .map(|f| f.message)
            .collect::<Vec<_>>()
    };
    assert!(b(Some("2026-01-01"), "2026-01-02T00:00:00Z").is_empty());
    assert!(b(Some("2026-01-02"), "2026-01-02T00:00:00Z").is_empty());
    assert!(
        b(Some("2026-01-02 00:00:01"), "2026-01-02T00:00:00Z")[0]
            .contains("later than the registration")
    );
    assert!(b(None, "2026-01-02T00:00:00Z")[0].contains("missing or not a date"));
    assert!(b(Some("2026-1-32"), "2026-01-02T00:00:00Z")[0].contains("missing or not a date"));
    let future = b(Some("2026-04-01"), "2026-04-02T00:00:00Z");
    assert_eq!(future.len(), 1);
    assert!(future[0].contains("future"));
    // invalid build date: the registration date is checked against now
    let both = b(Some("soon"), "2026-04-02T00:00:00Z");
    assert_eq!(both.len(), 2, "{both:?}");
}

#[test]
fn allowed_values_and_presence() {
    let now = at(2026, 1, 1, 0, 0, 0);
    let p = |key: &str, v: Value| property_problems(key, &image(v), now).len();
    assert_eq!(
        p(
            "architecture",
            json!({"name": "x", "architecture": "x86_64"})
        ),
        0
    );
    assert_eq!(
        p(
            "architecture",
            json!({"name": "x", "architecture": "riscv64"})
        ),
        1
    );
    assert_eq!(p("architecture", json!({"name": "x"})), 1);
    assert_eq!(
        p("hash_algo", json!({"name": "x", "os_hash_algo": "sha256"})),
        0
    );
    assert_eq!(
        p("hash_algo", json!({"name": "x", "os_hash_algo": null})),
        1
    );
    assert_eq!(
        p("hash_algo", json!({"name": "x", "hash_algo": "sha512"})),
        1
    );
    assert_eq!(p("hw_disk_bus", json!({"name": "x"})), 0);
    assert_eq!(
        p("hw_disk_bus", json!({"name": "x", "hw_disk_bus": "ide"})),
        1
    );
    assert_eq!(
        p(
            "hypervisor_type",
            json!({"name": "x", "hypervisor_type": "hyper-v"})
        ),
        0
    );
    assert_eq!(
        p(
            "hypervisor_type",
            json!({"name": "x", "hypervisor_type": "vmware"})
        ),
        1
    );
    assert_eq!(
        p(
            "hw_rng_model",
            json!({"name": "x", "hw_rng_model": "virtio"})
        ),
        0
    );
    assert_eq!(
        p(
            "hw_rng_model",
            json!({"name": "x", "hw_rng_model": "random"})
        ),
        1
    );
    assert_eq!(
        p(
            "os_purpose",
            json!({"name": "x", "os_purpose": "oldgeneric"})
        ),
        0
    );
    assert_eq!(p("os_purpose", json!({"name": "x"})), 1);
    assert_eq!(
        p(
            "replace_frequency",
            json!({"name": "x", "replace_frequency": "weekly"})
        ),
        0
    );
    assert_eq!(p("replace_frequency", json!({"name": "x"})), 1);
    assert_eq!(p("min_ram", json!({"name": "x", "min_ram": 32})), 0);
    assert_eq!(p("min_ram", json!({"name": "x", "min_ram": 0})), 1);
    for key in [
        "os_version",
        "os_distro",
        "image_original_user",
        "image_description",
        "provided_until",
    ] {
        assert_eq!(p(key, json!({"name": "x", key: "v"})), 0, "{key}");
        assert_eq!(p(key, json!({"name": "x", key: ""})), 1, "{key}");
        assert_eq!(p(key, json!({"name": "x"})), 1, "{key}");
    }
}

#[test]
fn only_public_and_community_images_count() {
    let mut a = image(json!({"name": "a"}));
    let mut b = image(json!({"name": "b"}));
    let c = image(json!({"name": "c", "visibility": "community"}));
    a.visibility = Some("private".into());
    b.visibility = Some("shared".into());
    let all = [a, b, c];
    let listed = listed_images(&all);
    assert_eq!(listed.len(), 1);
    assert_eq!(image_name(listed[0]), "c");
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

async fn verdicts(fixture: &str) -> BTreeMap<String, Outcome> {
    let cloud = sim_cloud(fixture, &[]).await;
    let ids = testcases();
    let out = run(&cloud.ctx, &ids).await;
    assert_eq!(out.len(), ids.len());
    out.into_iter().map(|o| (o.testcase.clone(), o)).collect()
}

fn evidence_lines(o: &Outcome) -> Vec<String> {
    o.evidence
        .iter()
        .map(|f| format!("{}: {}", f.object, f.message))
        .collect()
}

#[tokio::test]
async fn compliant_cloud_passes_everything() {
    let out = verdicts("base: compliant.yaml\n").await;
    for (id, o) in &out {
        assert_eq!(o.verdict, Verdict::Pass, "{id}: {}", o.reason);
    }
}

#[tokio::test]
async fn images_broken_fails_what_its_header_says() {
    let text = std::fs::read_to_string("fixtures/clouds/images-broken.yaml").unwrap();
    let out = verdicts(&text).await;
    let failing = [
        (
            "scs-0102-prop-architecture",
            "image \"Fedora 41\": `architecture` \"amd64\"",
        ),
        (
            "scs-0102-prop-hash_algo",
            "image \"Fedora 41\": `os_hash_algo` \"md5\"",
        ),
        (
            "scs-0102-prop-min_disk",
            "image \"Fedora 41\": `min_disk` is missing or 0",
        ),
        (
            "scs-0102-prop-min_ram",
            "image \"Fedora 41\": `min_ram` is missing or 0",
        ),
        (
            "scs-0102-prop-os_purpose",
            "image \"Fedora 41\": `os_purpose` \"desktop\"",
        ),
        (
            "scs-0102-prop-hw_disk_bus",
            "image \"Fedora 41\": `hw_disk_bus` \"ide\"",
        ),
        (
            "scs-0102-prop-image_source",
            "image \"Fedora 41\": `image_source` \"download.fedoraproject.org",
        ),
        (
            "scs-0102-prop-image_original_user",
            "image \"Fedora 41\": `image_original_user` is missing",
        ),
        (
            "scs-0102-prop-replace_frequency",
            "image \"Fedora 41\": `replace_frequency` \"sometimes\"",
        ),
        (
            "scs-0102-prop-uuid_validity",
            "image \"Fedora 41\": `uuid_validity` \"maybe\"",
        ),
        (
            "scs-0102-prop-hotfix_hours",
            "image \"Fedora 41\": `hotfix_hours` \"soon\"",
        ),
        ("scs-0102-image-recency", "image \"Rocky 9\": built "),
        (
            "scs-0102-os_purpose-uniqueness",
            "images \"Debian 12\", \"Debian 12 (minimal)\": 2 images",
        ),
    ];
    for (id, line) in failing {
        let o = &out[id];
        assert_eq!(o.verdict, Verdict::Fail, "{id}: {}", o.reason);
        let lines = evidence_lines(o);
        assert_eq!(lines.len(), 1, "{id}: {lines:?}");
        assert!(lines[0].starts_with(line), "{id}: {lines:?}");
    }
    for (id, o) in &out {
        if !failing.iter().any(|(f, _)| f == id) {
            assert_eq!(o.verdict, Verdict::Pass, "{id}: {}", o.reason);
        }
    }
}

const OTHER_FAULTS: &str = r#"
base: compliant.yaml
images:
  - name: Odd 1
    min_disk: 8
    min_ram: 512
    size: null
    os_hash_algo: null
    created_at: "@now-2d"
    properties:
      architecture: x86_64
      hypervisor_type: vmware
      hw_rng_model: random
      os_purpose: custom
      image_build_date: "@today+3d"
      image_original_user: root
      image_source: private
      replace_frequency: never
      os_distro: ""
"#;

#[tokio::test]
async fn other_property_faults_fail() {
    let out = verdicts(OTHER_FAULTS).await;
    let failing = [
        (
            "scs-0102-prop-os_version",
            "image \"Odd 1\": `os_version` is missing or empty",
        ),
        (
            "scs-0102-prop-os_distro",
            "image \"Odd 1\": `os_distro` is missing or empty",
        ),
        (
            "scs-0102-prop-hypervisor_type",
            "image \"Odd 1\": `hypervisor_type` \"vmware\"",
        ),
        (
            "scs-0102-prop-hw_rng_model",
            "image \"Odd 1\": `hw_rng_model` \"random\"",
        ),
        (
            "scs-0102-prop-image_build_date",
            "image \"Odd 1\": `image_build_date` is later than the registration",
        ),
        (
            "scs-0102-prop-image_description",
            "image \"Odd 1\": `image_description` is missing",
        ),
        (
            "scs-0102-prop-provided_until",
            "image \"Odd 1\": `provided_until` is missing",
        ),
        (
            "scs-0102-prop-hash_algo",
            "image \"Odd 1\": `os_hash_algo` is missing",
        ),
    ];
    for (id, line) in failing {
        let o = &out[id];
        assert_eq!(o.verdict, Verdict::Fail, "{id}: {}", o.reason);
        let lines = evidence_lines(o);
        assert!(lines[0].starts_with(line), "{id}: {lines:?}");
    }
    // the future build date is reported as well
    let bd = evidence_lines(&out["scs-0102-prop-image_build_date"]);
    assert_eq!(bd.len(), 2, "{bd:?}");
    assert!(bd[1].contains("future"));
    // an image without data is judged on min_disk alone (the reference aborts here)
    assert_eq!(out["scs-0102-prop-min_disk"].verdict, Verdict::Pass);
    // never replaced: not outdated
    assert_eq!(out["scs-0102-image-recency"].verdict, Verdict::Pass);
}

#[tokio::test]
async fn outdated_image_without_provided_until_fails_instead_of_aborting() {
    let out = verdicts(
        r#"
base: compliant.yaml
images:
  - name: Debian 12
    created_at: "@now-60d"
    properties:
      image_build_date: "@today-61d"
      provided_until: null
"#,
    )
    .await;
    let o = &out["scs-0102-image-recency"];
    assert_eq!(o.verdict, Verdict::Fail, "{}", o.reason);
    let lines = evidence_lines(o);
    assert!(
        lines[0].starts_with("image \"Debian 12\": built "),
        "{lines:?}"
    );
    assert!(lines[0].contains("has no `provided_until`"), "{lines:?}");
    assert_eq!(out["scs-0102-prop-provided_until"].verdict, Verdict::Fail);
}

#[tokio::test]
async fn admin_token_aborts_everything() {
    let text = std::fs::read_to_string("fixtures/clouds/admin-token.yaml").unwrap();
    let out = verdicts(&text).await;
    for (id, o) in &out {
        assert_eq!(o.verdict, Verdict::Abort, "{id}");
        assert!(o.reason.contains("too high"), "{id}: {}", o.reason);
    }
}

#[tokio::test]
async fn persistent_image_listing_error_aborts_everything() {
    let out = verdicts(
        "base: compliant.yaml\nfaults:\n  - {service: image, method: GET, path: /images, kind: status, status: 500}\n",
    )
    .await;
    for (id, o) in &out {
        assert_eq!(o.verdict, Verdict::Abort, "{id}");
        assert!(
            o.reason.starts_with("cannot list images: "),
            "{id}: {}",
            o.reason
        );
        assert!(o.reason.contains("500"), "{id}: {}", o.reason);
    }
}

#[tokio::test]
async fn no_cloud_aborts_with_the_reason() {
    let ctx = ProbeContext {
        services: crate::probes::Services {
            openstack: None,
            openstack_error: Some("cannot authenticate: HTTP 401".into()),
            ..Default::default()
        },
        variables: BTreeMap::new(),
        parameters: BTreeMap::new(),
        clock: crate::probes::Clock::fixed(at(2026, 1, 1, 0, 0, 0)),
        cancel: tokio_util::sync::CancellationToken::new(),
        timeout: std::time::Duration::from_secs(5),
    };
    let ids = vec![RECENCY.to_string(), "scs-0102-prop-min_ram".to_string()];
    let out = run(&ctx, &ids).await;
    assert_eq!(out.len(), 2);
    assert!(
        out.iter()
            .all(|o| o.verdict == Verdict::Abort && o.reason.contains("401"))
    );
}

/// The regex-free path of `strptime` gives what the regex gives on every fixed-width text it
/// takes: all formats, fields just inside and outside their ranges, letters in either case.
#[test]
fn the_fixed_width_dates_agree_with_the_regex() {
    use super::dates::{DATE_FORMATS, NAME_DATE_FORMATS, fixed_width, strptime_by_regex};
    let two = |n: u32| format!("{n:02}");
    let months: Vec<String> = [0, 1, 2, 9, 10, 12, 13, 19, 20].map(two).to_vec();
    let days: Vec<String> = [0, 1, 9, 10, 28, 29, 30, 31, 32, 40].map(two).to_vec();
    let hours: Vec<String> = [0, 9, 19, 23, 24, 29, 30].map(two).to_vec();
    let minutes: Vec<String> = [0, 9, 59, 60, 61, 62, 70].map(two).to_vec();
    let mut checked = 0;
    for format in DATE_FORMATS.iter().chain(NAME_DATE_FORMATS) {
        for year in ["2024", "2023", "0000"] {
            for month in &months {
                for day in &days {
                    for (h, mi, sec) in hours
                        .iter()
                        .flat_map(|h| minutes.iter().map(move |m| (h, m, m)))
                    {
                        let text = format
                            .replace("%Y", year)
                            .replace("%m", month)
                            .replace("%d", day)
                            .replace("%H", h)
                            .replace("%M", mi)
                            .replace("%S", sec);
                        for text in [text.clone(), text.to_lowercase()] {
                            let fast = fixed_width(&text, format)
                                .unwrap_or_else(|| panic!("{text:?} ({format}) is fixed width"));
                            assert_eq!(fast, strptime_by_regex(&text, format), "{text:?} {format}");
                            checked += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 10_000, "{checked}");
    // Other shapes are left to the regex.
    for (text, format) in [
        ("2024-5-1", "%Y-%m-%d"),
        ("2024-01-01  10:00", "%Y-%m-%d %H:%M"),
        ("2024-01- 5", "%Y-%m-%d"),
        ("2024-01-01T10:00:00.5Z", "%Y-%m-%dT%H:%M:%SZ"),
        ("2024111", "%Y%m%d"),
        ("2024-01-01 ", "%Y-%m-%d"),
    ] {
        assert_eq!(fixed_width(text, format), None, "{text:?}");
    }
}

/// The separator pre-check refuses only what the regex refuses too.
#[test]
fn the_separator_check_refuses_only_what_the_regex_refuses() {
    use super::dates::{DATE_FORMATS, NAME_DATE_FORMATS, strptime_by_regex};
    let texts = [
        "2024-05-01",
        "2024-5-1",
        "2024-01-01 10:00",
        "2024-01-01   10:00",
        "2024-01-01\t10:00:07",
        "2024-01-01T10:00:00Z",
        "2024-01-01t10:00:00z",
        "2024-01- 5",
        "20240101",
        "2024111",
        "2024/01/01",
        "",
        "none",
        "24.04",
        "202",
        "2024",
        "2O24-01-01",
        "Ubuntu",
    ];
    for format in DATE_FORMATS.iter().chain(NAME_DATE_FORMATS) {
        for text in texts {
            assert_eq!(
                strptime(text, format),
                strptime_by_regex(text, format),
                "{text:?} {format}"
            );
        }
    }
}

/// Many images are judged on threads; the outcomes are those of judging one testcase after
/// the other, in the order of the ids, failures and their evidence included.
#[tokio::test]
async fn judging_on_threads_gives_the_sequential_outcomes() {
    let images: Vec<Image> = (0..JUDGE_APART_FROM + 100)
        .map(|i| {
            image(json!({
                "id": format!("id-{i}"),
                "name": format!("Image {i}"),
                "created_at": "2024-01-01T00:00:00Z",
                "min_disk": 1 + i % 3,
                "min_ram": 512,
                "architecture": if i % 97 == 0 { "sparc" } else { "x86_64" },
                "os_hash_algo": "sha512",
                "image_build_date": if i % 89 == 0 { "yesterday" } else { "2023-12-31" },
                "visibility": if i % 5 == 0 { "private" } else { "public" },
            }))
        })
        .collect();
    let ids = testcases();
    let now = Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap();
    let listed = listed_images(&images);
    let sequential: Vec<Outcome> = ids.iter().map(|id| judge(id, &listed, now)).collect();
    let threaded = judge_on_threads(Arc::new(images.clone()), &ids, now).await;
    assert_eq!(threaded, sequential);
    let failed = |id: &str| {
        threaded
            .iter()
            .find(|o| o.testcase == id)
            .is_some_and(|o| o.verdict == Verdict::Fail)
    };
    assert!(failed("scs-0102-prop-architecture"));
    assert!(failed("scs-0102-prop-image_build_date"));
}
