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
