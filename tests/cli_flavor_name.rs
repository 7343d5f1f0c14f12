//! `scs-check flavor-name` as a user runs it: explaining valid and invalid names (exit 0 / 1)
//! and `--check-cloud` against simulated clouds.

use assert_cmd::Command;
use predicates::prelude::*;

fn scs_check() -> Command {
    let mut cmd = Command::cargo_bin("scs-check").expect("binary is built");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd.env_remove("OS_CLOUD").env_remove("OS_AUTH_URL");
    cmd
}

#[test]
fn valid_names_are_explained_with_all_forms() {
    scs_check()
        .args(["flavor-name", "SCS-4C-16-2x200p_a1", "SCS-2V:4:10"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("SCS-4C-16-2x200p_a1: valid\n"))
        .stdout(predicate::str::contains(
            "  meaning:   4 dedicated cores, 16 GiB RAM, 2x 200 GB local high-performance NVMe disk",
        ))
        .stdout(predicate::str::contains("  short:     SCS-4C-16-2x200p_a\n"))
        .stdout(predicate::str::contains("  v1 form:   SCS-4C:16:2x200p-a1\n"))
        .stdout(predicate::str::contains("SCS-2V:4:10: tolerated"))
        .stdout(predicate::str::contains("  canonical: SCS-2V-4-10\n"));
}

#[test]
fn an_invalid_name_points_at_the_character_and_exits_1() {
    scs_check()
        .args(["flavor-name", "SCS-2V-4", "SCS-2C-4ou-10n"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("SCS-2V-4: valid\n"))
        .stdout(predicate::str::contains(
            "SCS-2C-4ou-10n: invalid\n  SCS-2C-4ou-10n\n           ^ at position 10 ('u'): the RAM flags must be written in the order 'u', 'o'\n",
        ));
}

#[test]
fn names_are_required_without_check_cloud() {
    scs_check()
        .args(["flavor-name"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("<NAME>"));
}

#[test]
fn check_cloud_on_the_compliant_simulation() {
    scs_check()
        .args([
            "flavor-name",
            "--check-cloud",
            "--simulate",
            "fixtures/clouds/compliant.yaml",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "cloud sim-compliant: 33 flavors, 32 with an SCS name\n",
        ))
        .stdout(
            predicate::str::is_match(r"(?m)^SCS-2V-4-20s +syntax: valid +semantics: ok$").unwrap(),
        )
        .stdout(predicate::str::contains("m1.small").not())
        .stdout(predicate::str::contains("summary: 0 invalid name(s)"));
}

#[test]
fn check_cloud_on_broken_flavors_names_each_problem() {
    scs_check()
        .args([
            "flavor-name",
            "--check-cloud",
            "--simulate",
            "fixtures/clouds/flavors-broken.yaml",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::is_match(r"(?m)^SCS-2-4 +syntax: INVALID +semantics: not checked\n    at position 6 \('-'\): expected a CPU type letter").unwrap())
        .stdout(predicate::str::is_match(r"(?m)^SCS-4V-8 +syntax: valid +semantics: FAIL\n    the flavor has 2 vCPUs, but the name promises 4$").unwrap())
        .stdout(predicate::str::contains(
            "    scs:cpu-type is \"crowded-core\", but the CPU letter V means \"shared-core\"\n",
        ))
        .stdout(predicate::str::contains(
            "summary: 1 invalid name(s), 3 flavor(s) giving less than the name promises, 2 with extra specs contradicting the name",
        ));
}

#[test]
fn check_cloud_without_a_cloud_says_how_to_configure_one() {
    let home = tempfile::tempdir().unwrap();
    scs_check()
        .env("HOME", home.path())
        .env_remove("OS_CLIENT_CONFIG_FILE")
        .current_dir(home.path())
        .args(["flavor-name", "--check-cloud"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("No OpenStack cloud is configured"));
}
