//! The scs-0128 Tempest judge on our own result fixtures (`fixtures/tempest/`, subunit v2
//! written by python3-subunit, see `make-fixtures.py`): `tempest-judge` on files, directories
//! and stestr repositories.

use assert_cmd::Command;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn judge(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::cargo_bin("scs-check")
        .expect("binary is built")
        .current_dir(root())
        .arg("tempest-judge")
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

const LIST: &str = "fixtures/tempest/list.lst";

#[test]
fn pass_with_a_documented_skip() {
    let (code, out) = judge(&["fixtures/tempest/pass.subunit", "--list", LIST]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("passed: 3"), "{out}");
    assert!(
        out.contains("skipped: tempest.api.volume.test_volumes_get.VolumesGetTest.test_volume_create_get[id-00000000-0000-4000-8000-000000000004,smoke] (Cinder is not available.)"),
        "{out}"
    );
    assert!(out.contains("skipped in volume: 1"), "{out}");
    assert!(out.contains("verdict: PASS"), "{out}");
}

#[test]
fn setupclass_failure_fails_the_class_tests() {
    let (code, out) = judge(&["fixtures/tempest/fail.subunit", "--list", LIST]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("FAILED: tempest.api.image.v2.test_images.ImagesTest.test_delete_image[id-00000000-0000-4000-8000-000000000002] (setUpClass failed: tempest.lib.exceptions.ServerFault: Got server fault)"),
        "{out}"
    );
    assert!(out.contains("verdict: FAIL"), "{out}");
}

#[test]
fn nothing_ran_is_inconclusive() {
    let (code, out) = judge(&["fixtures/tempest/empty.subunit", "--list", LIST]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("missing: 4") && out.contains("verdict: ABORT"),
        "{out}"
    );
}

#[test]
fn areas_restrict_the_list() {
    // Only identity and image: the volume skip no longer counts.
    let (code, out) = judge(&[
        "fixtures/tempest/pass.subunit",
        "--list",
        LIST,
        "--areas",
        "identity,image",
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("listed: 2") && out.contains("skipped: 0"),
        "{out}"
    );
}

#[test]
fn junit_xml_and_stestr_repositories() {
    let (code, out) = judge(&["fixtures/tempest/results.xml", "--list", LIST]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("FAILED: tempest.api.network.test_networks.NetworksTest.test_list_networks"),
        "{out}"
    );

    // A workspace: the newest numbered run in .stestr/ counts.
    let ws = tempfile::tempdir().unwrap();
    let repo = ws.path().join(".stestr");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::copy(root().join("fixtures/tempest/fail.subunit"), repo.join("0")).unwrap();
    std::fs::copy(root().join("fixtures/tempest/pass.subunit"), repo.join("1")).unwrap();
    std::fs::write(repo.join("next-stream"), "2\n").unwrap();
    let (code, out) = judge(&[ws.path().to_str().unwrap(), "--list", LIST]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(".stestr/1"), "{out}");
}

#[test]
fn unreadable_results_are_an_error() {
    let (code, out) = judge(&["fixtures/tempest/list.lst", "--list", LIST]);
    assert_ne!(code, Some(0));
    assert!(out.contains("not a valid subunit v2 stream"), "{out}");
}

/// `run iaas -t scs-0128` end to end: the simulated cloud's catalog, our fake tempest, two
/// clouds.yaml entries; the progress line and the verdict in the output.
#[test]
fn run_selects_the_tempest_probe_with_t() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(
        root().join("fixtures/tempest/fake-tempest.sh"),
        bin.join("tempest"),
    )
    .unwrap();
    std::fs::copy(
        root().join("fixtures/tempest/fail.subunit"),
        bin.join("results.subunit"),
    )
    .unwrap();
    let clouds = dir.path().join("clouds.yaml");
    let entry = |name: &str, user: &str| {
        format!(
            "  {name}:\n    auth:\n      auth_url: http://127.0.0.1:5000/v3\n      username: {user}\n      password: pw-{user}\n      project_name: p-{user}\n      user_domain_name: Default\n      project_domain_name: Default\n"
        )
    };
    std::fs::write(
        &clouds,
        format!("clouds:\n{}{}", entry("prim", "alice"), entry("alt", "bob")),
    )
    .unwrap();
    let out = Command::cargo_bin("scs-check")
        .unwrap()
        .current_dir(root())
        .env("CI", "1")
        .args([
            "run",
            "iaas",
            "--simulate",
            "compliant",
            "-t",
            "scs-0128",
            "--tempest",
        ])
        .arg(bin.join("tempest"))
        .args(["-a", "tempest_primary=prim", "-a", "tempest_alt=alt", "-a"])
        .arg(format!("tempest_clouds_file={}", clouds.display()))
        .arg("-a")
        .arg(format!("tempest_test_list={}", root().join(LIST).display()))
        .arg("-a")
        .arg(format!(
            "tempest_workdir={}",
            dir.path().join("ws").display()
        ))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("scs-0128-tempest-e2e FAIL"), "{text}");
    assert!(text.contains("4 listed: 3 passed, 1 failed"), "{text}");
    assert!(!text.contains("pw-alice"), "no password in the output");
    assert!(
        text.contains("tempest 4/4: VolumesGetTest.test_volume_create_get ok"),
        "{text}"
    );
    // Only preview failed: main (nothing selected) decides the exit status.
    assert_eq!(out.status.code(), Some(0), "{text}");
}
