//! The fake `sonobuoy` executable and the results it reports, per fixture behaviour.

use std::path::{Path, PathBuf};

const FAKE_SONOBUOY: &str = include_str!("../../../fixtures/sonobuoy/fake-sonobuoy.sh");
const RESULTS_PASS: &str = include_str!("../../../fixtures/sonobuoy/results-pass.yaml");
const RESULTS_FAIL: &str = include_str!("../../../fixtures/sonobuoy/results-fail.yaml");
const RESULTS_OK_TO_FAIL: &str = include_str!("../../../fixtures/sonobuoy/results-ok-to-fail.yaml");
const RESULTS_BROKEN: &str = include_str!("../../../fixtures/sonobuoy/results-broken.yaml");
const RESULTS_EMPTY: &str = include_str!("../../../fixtures/sonobuoy/results-empty.yaml");
const RESULTS_TIMEOUT: &str = include_str!("../../../fixtures/sonobuoy/results-timeout.yaml");
const RESULTS_PLUGIN_ERROR: &str =
    include_str!("../../../fixtures/sonobuoy/results-plugin-error.yaml");
const RESULTS_NETPOL_FAIL: &str =
    include_str!("../../../fixtures/sonobuoy/results-netpol-fail.yaml");
const RESULTS_BOTH_FAIL: &str = include_str!("../../../fixtures/sonobuoy/results-both-fail.yaml");
const RESULTS_CONFORMANCE_FAIL: &str =
    include_str!("../../../fixtures/sonobuoy/results-conformance-fail.yaml");

/// Installs the fake `sonobuoy` into `dir` with the results named by `behaviour` (see
/// [`ClusterFixture::sonobuoy`](super::ClusterFixture::sonobuoy)) and returns the executable's path.
pub fn install_fake_sonobuoy(dir: &Path, behaviour: &str) -> std::io::Result<PathBuf> {
    let (mode, results) = match behaviour {
        "pass" => ("pass", RESULTS_PASS),
        "fail" => ("pass", RESULTS_FAIL),
        "ok-to-fail" => ("pass", RESULTS_OK_TO_FAIL),
        "broken" => ("pass", RESULTS_BROKEN),
        "empty" => ("pass", RESULTS_EMPTY),
        "timeout" => ("pass", RESULTS_TIMEOUT),
        "plugin-error" => ("pass", RESULTS_PLUGIN_ERROR),
        "netpol-fail" => ("pass", RESULTS_NETPOL_FAIL),
        "both-fail" => ("pass", RESULTS_BOTH_FAIL),
        "conformance-fail" => ("pass", RESULTS_CONFORMANCE_FAIL),
        other => (other, RESULTS_PASS),
    };
    std::fs::create_dir_all(dir)?;
    let bin = dir.join("sonobuoy");
    std::fs::write(&bin, FAKE_SONOBUOY)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755))?;
    }
    std::fs::write(dir.join("mode"), mode)?;
    std::fs::write(dir.join("sonobuoy_results.yaml"), results)?;
    Ok(bin)
}
