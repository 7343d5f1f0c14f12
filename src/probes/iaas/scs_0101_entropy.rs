//! scs-0101 (entropy): `scs-0101-entropy-avail` and `scs-0101-fips-test`, judged on the console
//! output of one virtual machine. **Creates resources**: network, subnet, router (with gateway
//! and interface) and a server booted from a volume; all are deleted again afterwards (server
//! first, network last), whatever happened.
//!
//! The image is chosen as the reference does (Debian beats Ubuntu beats others, newer releases
//! first), the flavor is the smallest with enough RAM (preferring flavors that allow hw_rng).
//! cloud-init prints marked lines (`_scs-test-<section>: <text>`) which are parsed per section.

use super::common::{FnProbe, abort_all, checked_snapshot};
use super::creating::{Check, leftover_findings, step_reason, wait_every, with_cleanup};
use crate::openstack::ledger::ResourceKind;
use crate::openstack::models::{Flavor, Image};
use crate::openstack::resources::{ResourceError, Session};
use crate::probes::{Finding, Outcome, ProbeContext};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures::future::BoxFuture;
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Testcase: `/proc/sys/kernel/random/entropy_avail` reads 256 in a fresh VM.
pub const ENTROPY_AVAIL: &str = "scs-0101-entropy-avail";
/// Testcase: `rngtest` finds at most 5 FIPS 140-2 failures in 1000 blocks.
pub const FIPS_TEST: &str = "scs-0101-fips-test";

/// The probe's name (also the key of `--probe-timeout`).
pub const PROBE_NAME: &str = "scs-0101-entropy";

/// Default overall budget (cloud seconds).
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(20 * 60);

/// The marker cloud-init prints before each result line.
pub const MARKER: &str = "_scs-test-";

/// The probe answering both testcases from one VM.
pub fn probe() -> Arc<FnProbe> {
    FnProbe::new(
        PROBE_NAME,
        vec![ENTROPY_AVAIL.into(), FIPS_TEST.into()],
        run,
    )
}

/// The preference key of an image: Debian (2, release) > Ubuntu (1, YYMM) > others (0, 0).
pub fn image_key(image: &Image) -> (u8, u32) {
    let distro = image.property("os_distro").map(|s| s.trim().to_lowercase());
    let version = image
        .property("os_version")
        .map(|s| s.trim().to_lowercase());
    let (Some(distro), Some(version)) = (distro, version) else {
        return (0, 0);
    };
    match distro.as_str() {
        "debian" => {
            if !version.is_empty() && version.chars().all(|c| c.is_ascii_digit()) {
                return (2, version.parse().unwrap_or(0));
            }
            let n = match version.as_str() {
                "buster" => 10,
                "bullseye" => 11,
                "bookworm" => 12,
                "trixie" => 13,
                _ => 0,
            };
            (2, n)
        }
        "ubuntu" => {
            let parts: Vec<&str> = version.split('.').collect();
            match parts.as_slice() {
                [a, b]
                    if a.len() == 2
                        && b.len() == 2
                        && a.chars().chain(b.chars()).all(|c| c.is_ascii_digit()) =>
                {
                    (1, format!("{a}{b}").parse().unwrap_or(0))
                }
                _ => (1, 0),
            }
        }
        _ => (0, 0),
    }
}

/// The image to boot: the maximum of [`image_key`], first in list order on ties.
pub fn choose_image(images: &[Image]) -> Option<&Image> {
    let mut best: Option<&Image> = None;
    for i in images {
        if best.is_none_or(|b| image_key(i) > image_key(b)) {
            best = Some(i);
        }
    }
    best
}

/// The flavor: enough RAM for the image; among flavors allowing hw_rng if there are any; the
/// minimum of `vcpus + ram/3 + disk/10` (first on ties).
pub fn choose_flavor<'a>(flavors: &'a [Flavor], image: &Image) -> Option<&'a Flavor> {
    let min_ram = image.min_ram.unwrap_or(0);
    let fit: Vec<&Flavor> = flavors.iter().filter(|f| f.ram >= min_ram).collect();
    let rng: Vec<&Flavor> = fit
        .iter()
        .copied()
        .filter(|f| {
            f.extra_specs
                .get("hw_rng:allowed")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        })
        .collect();
    let pool = if rng.is_empty() { fit } else { rng };
    let cost = |f: &Flavor| f.vcpus as f64 + f.ram as f64 / 3.0 + f.disk as f64 / 10.0;
    let mut best: Option<&Flavor> = None;
    for f in pool {
        if best.is_none_or(|b| cost(f) < cost(b)) {
            best = Some(f);
        }
    }
    best
}

/// The cloud-config user data: prints the entropy pool, an rngtest run, the rngd status and
/// the hardware RNG state, each line marked with its section, then the end marker.
pub fn user_data(os_distro: Option<&str>) -> String {
    let mut apt = String::new();
    match os_distro {
        Some("ubuntu") => {
            apt = "apt:\n  primary:\n    - arches: [default]\n      uri: http://az1.clouds.archive.ubuntu.com/ubuntu/\n".into();
        }
        Some("debian") => {
            apt = "apt:\n  primary:\n    - arches: [default]\n      uri: https://mirror.plusserver.com/debian/debian/\n  security:\n    - arches: [default]\n      uri: https://mirror.plusserver.com/debian/debian-security/\n".into();
        }
        _ => {}
    }
    let mark = |section: &str, cmd: &str| {
        format!("  - sh -c '({cmd}) 2>&1 | sed \"s/^/{MARKER}{section}: /\" > /dev/console'\n")
    };
    format!(
        "#cloud-config\n{apt}packages:\n  - rng-tools5\nbootcmd:\n  - systemctl mask serial-getty@ttyS0.service\nruncmd:\n{}{}{}{}  - echo {MARKER}end > /dev/console\nfinal_message: \"{MARKER}end\"\n",
        mark("entropy-avail", "cat /proc/sys/kernel/random/entropy_avail"),
        mark("fips-test", "head -c 2500032 /dev/random | rngtest -c 1000"),
        mark("rngd", "systemctl status rngd"),
        mark(
            "virtio-rng",
            "cat /sys/devices/virtual/misc/hw_random/rng_available; od -N 2 -An /dev/hwrng"
        ),
    )
}

/// Sections of marked console lines: text after the marker, split at the first `:`; lines
/// without `:` are skipped; payloads are trimmed.
pub fn parse_sections(console: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in console.lines() {
        let Some(pos) = line.find(MARKER) else {
            continue;
        };
        let rest = &line[pos + MARKER.len()..];
        let Some((section, payload)) = rest.split_once(':') else {
            continue;
        };
        out.entry(section.to_string())
            .or_default()
            .push(payload.trim().to_string());
    }
    out
}

/// `scs-0101-entropy-avail`: the first `entropy-avail` line must be exactly `256`.
pub fn judge_entropy(sections: &BTreeMap<String, Vec<String>>) -> Outcome {
    match sections.get("entropy-avail").and_then(|v| v.first()) {
        None => Outcome::abort(ENTROPY_AVAIL, "the console shows no entropy-avail section"),
        Some(v) if v == "256" => Outcome::pass(
            ENTROPY_AVAIL,
            "/proc/sys/kernel/random/entropy_avail in a fresh VM's console is 256 (a full pool)",
        ),
        Some(v) => Outcome::fail(ENTROPY_AVAIL, format!("entropy_avail is {v}, not 256"))
            .with_evidence(vec![
                Finding::new(
                    "/proc/sys/kernel/random/entropy_avail in a fresh VM",
                    "the kernel's entropy pool does not report full",
                )
                .expected_actual("256", v.clone()),
            ]),
    }
}

/// `scs-0101-fips-test`: failures ≤ 5 PASS (4–5 leniently), more FAIL; no count ABORT.
pub fn judge_fips(sections: &BTreeMap<String, Vec<String>>) -> Outcome {
    let Some(lines) = sections.get("fips-test") else {
        return Outcome::abort(FIPS_TEST, "the console shows no fips-test section");
    };
    let text = lines.join("\n");
    let re = regex::Regex::new(r"failures:\s(\d+)").expect("valid regex");
    let Some(n) = re.captures(&text).and_then(|c| c[1].parse::<u64>().ok()) else {
        return Outcome::abort(FIPS_TEST, "rngtest printed no failure count (inconclusive)");
    };
    match n {
        0..=3 => Outcome::pass(
            FIPS_TEST,
            format!(
                "rngtest in a fresh VM: {n} FIPS 140-2 failures in 1000 blocks (at most 3 expected)"
            ),
        ),
        4..=5 => Outcome::pass(
            FIPS_TEST,
            format!(
                "rngtest in a fresh VM: {n} FIPS 140-2 failures in 1000 blocks (tolerated: above 3, at most 5)"
            ),
        ),
        _ => Outcome::fail(FIPS_TEST, format!("{n} FIPS 140-2 failures in 1000 blocks"))
            .with_evidence(vec![
                Finding::new(
                    "rngtest -c 1000 on /dev/random in a fresh VM",
                    "too many failures",
                )
                .expected_actual("at most 5 failures", n.to_string()),
            ]),
    }
}

/// Why the VM run did not give console output: `Abort` reasons.
async fn vm_console(session: Arc<Session>, image: Image, flavor: Flavor) -> Result<String, String> {
    let t = session.tracker().clone();
    let client = session.client().clone();
    let pace = t.pace();
    // Every problem setting up or reading the VM is ABORT: the standard is about entropy, not
    // about networks or servers (reasons say why the error proves nothing).
    let e = |what: &'static str| move |err: ResourceError| step_reason(what, &err);
    let net = session
        .create_via_post(
            ResourceKind::Network,
            &t.name("0101-net"),
            "network",
            "/networks",
            "network",
            json!({"network": {"name": t.name("0101-net")}}),
        )
        .await
        .map_err(e("creating the network"))?;
    let subnet = session
        .create_via_post(
            ResourceKind::Subnet,
            &t.name("0101-subnet"),
            "network",
            "/subnets",
            "subnet",
            json!({"subnet": {"name": t.name("0101-subnet"), "network_id": net, "ip_version": 4,
                "cidr": "10.1.0.0/24", "gateway_ip": "10.1.0.1", "enable_dhcp": true,
                "allocation_pools": [{"start": "10.1.0.100", "end": "10.1.0.199"}],
                "dns_nameservers": ["9.9.9.9"]}}),
        )
        .await
        .map_err(e("creating the subnet"))?;
    let external = client
        .list("network", "/networks?router:external=True", "networks")
        .await
        .map_err(|err| step_reason("listing external networks", &ResourceError::from(err)))?;
    let Some(ext) = external.first().and_then(|n| n["id"].as_str()) else {
        return Err("the cloud has no external network for a router gateway".into());
    };
    let router_name = t.name("0101-router");
    let router = session
        .create_via_post(
            ResourceKind::Router,
            &router_name,
            "network",
            "/routers",
            "router",
            json!({"router": {"name": router_name,
                "external_gateway_info": {"network_id": ext}}}),
        )
        .await
        .map_err(e("creating the router"))?;
    session
        .add_router_interface(&router_name, &router, &subnet)
        .await
        .map_err(e("adding the router interface"))?;
    // User data must be base64 (standard alphabet, padded).
    let user_data = STANDARD.encode(user_data(image.property("os_distro").as_deref()));
    let size = image.min_disk.unwrap_or(0).max(8);
    let server_name = t.name("0101-server");
    let server = session
        .create_via_post(
            ResourceKind::Server,
            &server_name,
            "compute",
            "/servers",
            "server",
            json!({"server": {"name": server_name, "flavorRef": flavor.id, "imageRef": "",
                "networks": [{"uuid": net}], "user_data": user_data,
                "block_device_mapping_v2": [{"boot_index": 0, "uuid": image.id,
                    "source_type": "image", "destination_type": "volume",
                    "volume_size": size, "delete_on_termination": true}]}}),
        )
        .await
        .map_err(e("creating the server"))?;
    let path = format!("/servers/{server}");
    wait_every(pace, 2.0, 500.0, "server", || {
        let client = client.clone();
        let path = path.clone();
        async move {
            let v = client.get_json("compute", &path).await?;
            let status = v["server"]["status"].as_str().unwrap_or("").to_string();
            Ok(match status.as_str() {
                "ACTIVE" => Check::Ready(()),
                "ERROR" => Check::Failed(format!(
                    "went to ERROR ({})",
                    v["server"]["fault"]["message"]
                        .as_str()
                        .unwrap_or("no fault message")
                )),
                _ => Check::Pending(format!("in status {status}")),
            })
        }
    })
    .await
    .map_err(e("booting the server"))?;
    let action = format!("/servers/{server}/action");
    wait_every(pace, 1.0, 300.0, "console output", || {
        let client = client.clone();
        let action = action.clone();
        async move {
            let v = client
                .request_json(
                    "compute",
                    Method::POST,
                    &action,
                    Some(&json!({"os-getConsoleOutput": {}})),
                )
                .await?;
            let out = v["output"].as_str().unwrap_or("").to_string();
            Ok(if out.contains("Failed to run module scripts-user") {
                Check::Failed("cloud-init failed to run the test commands".into())
            } else if out.contains(&format!("{MARKER}end")) {
                Check::Ready(out)
            } else {
                Check::Pending("without the end marker".into())
            })
        }
    })
    .await
    .map_err(e("reading the console"))
}

fn run<'a>(ctx: &'a ProbeContext, testcases: &'a [String]) -> BoxFuture<'a, Vec<Outcome>> {
    Box::pin(async move {
        let snapshot = match checked_snapshot(ctx).await {
            Ok(s) => s,
            Err(reason) => return abort_all(testcases, &reason),
        };
        let (images, flavors) =
            match tokio::try_join!(super::common::images(ctx), super::common::flavors(ctx)) {
                Ok(listings) => listings,
                Err(reason) => return abort_all(testcases, &reason),
            };
        let Some(image) = choose_image(&images).cloned() else {
            return abort_all(testcases, "no image to boot a test VM from");
        };
        let Some(flavor) = choose_flavor(&flavors, &image).cloned() else {
            return abort_all(
                testcases,
                &format!(
                    "no flavor has enough RAM ({} MiB) for the image {}",
                    image.min_ram.unwrap_or(0),
                    image.name.as_deref().unwrap_or(&image.id)
                ),
            );
        };
        let guarded = with_cleanup(
            ctx,
            snapshot.client().clone(),
            PROBE_NAME,
            DEFAULT_BUDGET,
            move |s| vm_console(s, image, flavor),
        )
        .await;
        let leftovers = leftover_findings(&guarded.disposed);
        let (entropy, fips) = match &guarded.result {
            Err(stopped) => (
                Outcome::abort(ENTROPY_AVAIL, stopped.to_string()),
                Outcome::abort(FIPS_TEST, stopped.to_string()),
            ),
            Ok(Err(why)) => (
                Outcome::abort(ENTROPY_AVAIL, why.clone()),
                Outcome::abort(FIPS_TEST, why.clone()),
            ),
            Ok(Ok(console)) => {
                let sections = parse_sections(console);
                (judge_entropy(&sections), judge_fips(&sections))
            }
        };
        testcases
            .iter()
            .map(|id| {
                let mut o = match id.as_str() {
                    ENTROPY_AVAIL => entropy.clone(),
                    FIPS_TEST => fips.clone(),
                    _ => return Outcome::abort(id, "not a testcase of the scs-0101 probe"),
                };
                o.evidence.extend(leftovers.iter().cloned());
                o
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openstack::resources::prefixed_names;
    use crate::probes::iaas::testing::{TestCloud, verdict};
    use crate::verdict::Verdict;

    const IDS: [&str; 2] = [ENTROPY_AVAIL, FIPS_TEST];

    async fn nothing_left(cloud: &TestCloud) {
        let left = prefixed_names(cloud.snapshot.client(), "_scs-")
            .await
            .unwrap();
        assert!(left.is_empty(), "left behind: {left:?}");
        // The boot volume (unnamed, deleted with the server) is gone too.
        let vols = cloud
            .snapshot
            .client()
            .list("block-storage", "/volumes/detail", "volumes")
            .await
            .unwrap();
        assert!(vols.is_empty(), "{vols:?}");
    }

    fn image(distro: &str, version: &str) -> Image {
        serde_json::from_value(json!({"id": format!("{distro}-{version}"),
            "os_distro": distro, "os_version": version}))
        .unwrap()
    }

    #[test]
    fn image_choice_prefers_newest_debian() {
        let imgs = vec![
            image("ubuntu", "24.04"),
            image("debian", "bookworm"),
            image("Debian ", "13"),
            image("debian", "12"),
            image("fedora", "40"),
        ];
        assert_eq!(choose_image(&imgs).unwrap().id, "Debian -13");
        assert_eq!(image_key(&image("ubuntu", "22.04")), (1, 2204));
        assert_eq!(image_key(&image("ubuntu", "jammy")), (1, 0));
        assert!(choose_image(&[]).is_none());
    }

    #[test]
    fn flavor_choice_prefers_rng_then_smallest() {
        let f = |id: &str, vcpus: u64, ram: u64, rng: bool| -> Flavor {
            let specs = if rng {
                json!({"hw_rng:allowed": "True"})
            } else {
                json!({})
            };
            serde_json::from_value(
                json!({"id": id, "vcpus": vcpus, "ram": ram, "disk": 0, "extra_specs": specs}),
            )
            .unwrap()
        };
        let mut img = image("debian", "13");
        img.min_ram = Some(1024);
        let flavors = vec![
            f("tiny", 1, 512, true),
            f("a", 2, 4096, false),
            f("b", 4, 8192, true),
        ];
        assert_eq!(choose_flavor(&flavors, &img).unwrap().id, "b");
        let flavors = vec![
            f("tiny", 1, 512, true),
            f("a", 2, 4096, false),
            f("c", 1, 2048, false),
        ];
        assert_eq!(choose_flavor(&flavors, &img).unwrap().id, "c");
        assert!(choose_flavor(&flavors[..1], &img).is_none());
    }

    #[test]
    fn console_judgement() {
        let s = parse_sections(
            "noise\n_scs-test-entropy-avail: 256\n_scs-test-fips-test: rngtest: FIPS 140-2 failures: 5\n_scs-test-nocolon\n",
        );
        assert_eq!(judge_entropy(&s).verdict, Verdict::Pass);
        let f = judge_fips(&s);
        assert_eq!(f.verdict, Verdict::Pass);
        assert!(f.reason.contains("tolerated"));
        let s = parse_sections("_scs-test-entropy-avail: 255\n_scs-test-fips-test: failures:  7\n");
        assert_eq!(judge_entropy(&s).verdict, Verdict::Fail);
        assert_eq!(
            judge_fips(&s).verdict,
            Verdict::Abort,
            "two spaces: no count"
        );
        let s = parse_sections("_scs-test-fips-test: failures: 6\n");
        assert_eq!(judge_fips(&s).verdict, Verdict::Fail);
        assert_eq!(judge_entropy(&s).verdict, Verdict::Abort);
    }

    #[test]
    fn user_data_installs_the_tools_per_distribution() {
        let ud = user_data(Some("debian"));
        assert!(ud.starts_with("#cloud-config\n"));
        assert!(ud.contains("_scs-test-entropy-avail: "));
        assert!(ud.contains("debian-security"));
        assert!(
            !user_data(Some("Debian")).contains("apt:"),
            "exact match only"
        );
    }

    #[tokio::test]
    async fn compliant_cloud_passes_and_cleans_up() {
        let cloud = TestCloud::file("compliant.yaml").await;
        let out = cloud.run(probe().as_ref(), &IDS).await;
        assert_eq!(verdict(&out, ENTROPY_AVAIL), Verdict::Pass, "{out:?}");
        assert_eq!(verdict(&out, FIPS_TEST), Verdict::Pass, "{out:?}");
        let creates = cloud
            .sim
            .request_log()
            .iter()
            .filter(|l| *l == "POST /compute/v2.1/servers")
            .count();
        assert_eq!(creates, 1, "one VM for both testcases");
        nothing_left(&cloud).await;
        let kinds: Vec<ResourceKind> = cloud
            .ctx
            .services
            .tracker()
            .records()
            .iter()
            .map(|r| r.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                ResourceKind::Network,
                ResourceKind::Subnet,
                ResourceKind::Router,
                ResourceKind::RouterInterface,
                ResourceKind::Server
            ]
        );
        // Deleted in dependency order: server before router interface before network.
        let log = cloud.sim.request_log();
        let pos = |needle: &str| log.iter().position(|l| l.contains(needle)).unwrap();
        assert!(pos("DELETE /compute/v2.1/servers/") < pos("remove_router_interface"));
        assert!(pos("remove_router_interface") < pos("DELETE /network/v2.0/routers/"));
        assert!(pos("DELETE /network/v2.0/subnets/") < pos("DELETE /network/v2.0/networks/"));
    }

    #[tokio::test]
    async fn poor_entropy_fails() {
        let cloud = TestCloud::file("vm-and-backup-broken.yaml").await;
        let out = cloud.run(probe().as_ref(), &IDS).await;
        assert_eq!(verdict(&out, ENTROPY_AVAIL), Verdict::Fail, "{out:?}");
        assert_eq!(verdict(&out, FIPS_TEST), Verdict::Fail, "{out:?}");
        nothing_left(&cloud).await;
    }

    #[tokio::test]
    async fn server_error_aborts_and_cleans_up() {
        let cloud =
            TestCloud::yaml("base: compliant.yaml\ntiming: {server_final_status: ERROR}\n").await;
        let out = cloud.run(probe().as_ref(), &IDS).await;
        assert_eq!(verdict(&out, ENTROPY_AVAIL), Verdict::Abort, "{out:?}");
        assert!(out[0].reason.contains("No valid host"), "{}", out[0].reason);
        nothing_left(&cloud).await;
    }

    #[tokio::test]
    async fn cloud_init_failure_aborts() {
        let cloud = TestCloud::yaml(
            "base: compliant.yaml\ntiming:\n  console_output: \"2025 cloud-init[1]: Failed to run module scripts-user\\n\"\n  console_after: 0\n",
        )
        .await;
        let out = cloud.run(probe().as_ref(), &IDS).await;
        assert_eq!(verdict(&out, FIPS_TEST), Verdict::Abort, "{out:?}");
        assert!(out[1].reason.contains("cloud-init"), "{}", out[1].reason);
        nothing_left(&cloud).await;
    }

    #[tokio::test]
    async fn delete_failing_once_is_retried() {
        let cloud = TestCloud::yaml(
            "base: compliant.yaml\nfaults:\n  - {service: network, method: DELETE, path: /networks/, kind: status, status: 409, times: 1}\n  - {service: compute, method: DELETE, kind: status, status: 409, times: 1}\n",
        )
        .await;
        let out = cloud.run(probe().as_ref(), &IDS).await;
        assert_eq!(verdict(&out, ENTROPY_AVAIL), Verdict::Pass, "{out:?}");
        nothing_left(&cloud).await;
        assert!(cloud.requests_matching("DELETE /network/v2.0/networks/") >= 2);
    }

    #[tokio::test]
    async fn no_external_network_aborts_and_cleans_up() {
        let cloud =
            TestCloud::yaml("base: compliant.yaml\nnetwork: {external_networks: []}\n").await;
        let out = cloud.run(probe().as_ref(), &IDS).await;
        assert_eq!(verdict(&out, ENTROPY_AVAIL), Verdict::Abort, "{out:?}");
        assert!(
            out[0].reason.contains("external network"),
            "{}",
            out[0].reason
        );
        nothing_left(&cloud).await;
    }

    #[tokio::test]
    async fn server_quota_aborts() {
        let cloud = TestCloud::yaml("base: compliant.yaml\nquotas: {servers: 0}\n").await;
        let out = cloud.run(probe().as_ref(), &IDS).await;
        assert_eq!(verdict(&out, ENTROPY_AVAIL), Verdict::Abort, "{out:?}");
        assert!(
            out[0].reason.contains("Quota exceeded"),
            "{}",
            out[0].reason
        );
        nothing_left(&cloud).await;
    }
}
