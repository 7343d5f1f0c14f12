//! `version-policy-check` (scs-0210-v2): the cluster's Kubernetes version must be on a
//! supported branch, and no newer patch of that branch may be older than 31 days (14 days when
//! the cluster's version is affected by a critical CVE; a warning from 2 days on).
//!
//! Inputs: the cluster's `/version`, the end-of-life table in `testcases/kaas/k8s-eol.yaml`,
//! the Kubernetes releases on GitHub (every page) and the official Kubernetes CVE feed with each
//! CVE record (an unreadable record is skipped with a warning). Downloads are cached on disk
//! with their fetch time; `--offline` (or a failed download) uses the cache or, offline only,
//! the snapshot built into the binary, but never data older than 31 days: that is ABORT with
//! the data's age. A minor newer than the end-of-life table is judged by the recency rules. The pure rules ([`parse_version`], [`CveRange`],
//! [`critical_ranges`], [`decide`]) are separate from the fetching so they can be table-tested:
//! downloads, cache, snapshot and the choice among them live in `data.rs`, the CVE ranges and
//! criticality in `cve.rs` (both re-exported here).

mod cve;
mod data;

pub use crate::kube::version::{Branch, Version, parse_cluster_version, parse_tag, parse_version};
use crate::probes::{Finding, Outcome, ProbeContext, Registry};
use crate::probes::{FnProbe, abort_all};
use crate::verdict::Verdict;
use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, Utc};
pub use cve::{CriticalCve, CveRange, VersionText, critical_ranges, is_critical, range_of};
pub use data::*;
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The testcase id.
pub const ID: &str = "version-policy-check";
/// A newer patch older than this fails the check.
pub const PATCH_DAYS: i64 = 31;
/// With a critical CVE on the cluster's version, a newer patch older than this fails.
pub const CVE_FAIL_DAYS: i64 = 14;
/// With a critical CVE, a newer patch older than this gives a warning.
pub const CVE_WARN_DAYS: i64 = 2;
/// Release or CVE data older than this (a cache, the built-in snapshot) is not used: ABORT.
pub const MAX_DATA_AGE_DAYS: i64 = 31;
/// CVSS base score from which a CVE counts as critical.
pub const CRITICAL_SCORE: f64 = 8.0;

const EOL_DATA: &str = include_str!("../../../testcases/kaas/k8s-eol.yaml");
const SNAPSHOT: &str = include_str!("../../../testcases/kaas/k8s-release-snapshot.yaml");

/// Registers the probe.
pub fn register(registry: &mut Registry) {
    registry.register(FnProbe::new(
        "scs-0210-version-policy",
        vec![ID.to_string()],
        |ctx, ids| run(ctx, ids).boxed(),
    ));
}

// ---------------------------------------------------------------------------------------------
// End of life

/// One row of the end-of-life table.
#[derive(Debug, Clone, PartialEq)]
pub struct EolEntry {
    /// The branch.
    pub branch: Branch,
    /// First day without support (UTC).
    pub eol: NaiveDate,
}

impl EolEntry {
    /// Whether the branch is still supported at `now` (before its EOL day, 00:00 UTC).
    pub fn supported_at(&self, now: DateTime<Utc>) -> bool {
        now.date_naive() < self.eol
    }
}

/// Parses an end-of-life table (`branches: [{branch: "1.30", eol: 2025-06-28}]`), strictly.
pub fn parse_eol(text: &str, origin: &str) -> Result<Vec<EolEntry>, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        branches: Vec<Row>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Row {
        branch: String,
        eol: NaiveDate,
    }
    let file: File = serde_saphyr::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
    file.branches
        .into_iter()
        .map(|row| {
            let v = parse_version(&row.branch).map_err(|e| format!("{origin}: branch {e}"))?;
            Ok(EolEntry {
                branch: v.branch(),
                eol: row.eol,
            })
        })
        .collect()
}

/// The end-of-life table built into the binary.
pub fn builtin_eol() -> Vec<EolEntry> {
    parse_eol(EOL_DATA, "testcases/kaas/k8s-eol.yaml").unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Releases and the decision

/// A published Kubernetes release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    /// The tag, e.g. `v1.30.2`.
    pub tag: String,
    /// When it was published.
    pub published: DateTime<Utc>,
    /// Draft or pre-release (ignored by the policy).
    #[serde(default)]
    pub prerelease: bool,
}

/// Reads GitHub release objects (`tag_name`, `published_at`, `draft`, `prerelease`); drafts and
/// objects without a publication date are left out.
pub fn releases_from_github(items: &[serde_json::Value]) -> Vec<Release> {
    items
        .iter()
        .filter(|r| !r["draft"].as_bool().unwrap_or(false))
        .filter_map(|r| {
            let tag = r["tag_name"].as_str()?.to_string();
            let published = r["published_at"].as_str()?.parse::<DateTime<Utc>>().ok()?;
            Some(Release {
                tag,
                published,
                prerelease: r["prerelease"].as_bool().unwrap_or(false),
            })
        })
        .collect()
}

/// The verdict of the policy with its evidence and warnings.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// PASS or FAIL.
    pub verdict: Verdict,
    /// One line.
    pub reason: String,
    /// Offending releases and the like.
    pub findings: Vec<Finding>,
    /// Warnings (not supported branches ahead, CVE updates due soon).
    pub warnings: Vec<String>,
}

/// Applies scs-0210-v2 to a cluster version at `now`. `Err` = the check cannot decide (fewer
/// than two supported branches in the table).
pub fn decide(
    cluster: Version,
    now: DateTime<Utc>,
    eol: &[EolEntry],
    releases: &[Release],
    cves: &[CriticalCve],
) -> Result<Decision, String> {
    let supported: Vec<&EolEntry> = eol.iter().filter(|e| e.supported_at(now)).collect();
    let mut warnings = Vec::new();
    if supported.len() < 2 {
        return Err(format!(
            "the end-of-life table lists {} supported branch(es) on {}; it is out of date",
            supported.len(),
            now.date_naive()
        ));
    }
    if supported.len() < 3 {
        warnings.push(
            "the end-of-life table may not be up to date (fewer than three supported branches)"
                .into(),
        );
    }
    let branch = cluster.branch();
    let newest = eol.iter().map(|e| e.branch).max();
    let newer_than_table = newest.is_some_and(|n| branch > n);
    if newer_than_table {
        // scs-0210-v2 asks providers to offer the newest minor; a table that does not list it
        // yet is out of date, not the cluster. The recency rules below still apply.
        warnings.push(format!(
            "the end-of-life table is older than the cluster: its newest branch is {}, the cluster runs {branch}; judged by the patch and CVE rules only",
            newest.map(|b| b.to_string()).unwrap_or_default()
        ));
    }
    if !newer_than_table && !supported.iter().any(|e| e.branch == branch) {
        let known = eol.iter().find(|e| e.branch == branch);
        let (message, expected) = match known {
            Some(e) => (
                format!("branch {branch} reached end of life on {}", e.eol),
                supported_list(&supported),
            ),
            None => (
                format!("branch {branch} is not in the end-of-life table"),
                supported_list(&supported),
            ),
        };
        return Ok(Decision {
            verdict: Verdict::Fail,
            reason: format!("Kubernetes {cluster}: {message}"),
            findings: vec![
                Finding::new(format!("cluster version {cluster}"), message)
                    .expected_actual(format!("one of {expected}"), branch.to_string()),
            ],
            warnings,
        });
    }
    let affected: Vec<&CriticalCve> = cves
        .iter()
        .filter(|c| c.ranges.iter().any(|r| r.contains(cluster)))
        .collect();
    let mut findings = Vec::new();
    let mut newer: Vec<(Version, &Release)> = releases
        .iter()
        .filter(|r| !r.prerelease)
        .filter_map(|r| parse_tag(&r.tag).ok().map(|v| (v, r)))
        .filter(|(v, _)| v.branch() == branch && v.patch > cluster.patch)
        .collect();
    newer.sort_by_key(|(v, _)| *v);
    for (v, r) in &newer {
        let age = now - r.published;
        let days = age.num_seconds() as f64 / 86400.0;
        if age > ChronoDuration::days(PATCH_DAYS) {
            findings.push(
                Finding::new(
                    format!("release {v}"),
                    format!(
                        "published {} ({days:.1} days ago); the cluster still runs {cluster}",
                        r.published.format("%Y-%m-%d %H:%M UTC")
                    ),
                )
                .expected_actual(
                    format!("update within {PATCH_DAYS} days"),
                    format!("{days:.1} days"),
                ),
            );
            continue;
        }
        if !affected.is_empty() {
            let ids: Vec<&str> = affected.iter().map(|c| c.id.as_str()).collect();
            if age > ChronoDuration::days(CVE_FAIL_DAYS) {
                findings.push(
                    Finding::new(
                        format!("release {v}"),
                        format!(
                            "published {days:.1} days ago; {cluster} is affected by critical {}",
                            ids.join(", ")
                        ),
                    )
                    .expected_actual(
                        format!("update within {CVE_FAIL_DAYS} days"),
                        format!("{days:.1} days"),
                    ),
                );
            } else if age > ChronoDuration::days(CVE_WARN_DAYS) {
                warnings.push(format!(
                    "consider updating from {cluster} to {v} to avoid {}",
                    ids.join(", ")
                ));
            }
        }
    }
    if findings.is_empty() {
        let latest = newer
            .last()
            .map(|(v, _)| format!(", newest patch {v}"))
            .unwrap_or_else(|| ", no newer patch released".into());
        let branch_text = if newer_than_table {
            "is on a branch newer than the end-of-life table"
        } else {
            "is on a supported branch"
        };
        Ok(Decision {
            verdict: Verdict::Pass,
            reason: format!(
                "Kubernetes {cluster} {branch_text} and up to date{latest} ({} release(s) and {} critical CVE(s) checked)",
                releases.len(),
                cves.len()
            ),
            findings,
            warnings,
        })
    } else {
        Ok(Decision {
            verdict: Verdict::Fail,
            reason: format!(
                "Kubernetes {cluster} is behind: {} newer patch release(s) past the deadline",
                findings.len()
            ),
            findings,
            warnings,
        })
    }
}

fn supported_list(list: &[&EolEntry]) -> String {
    list.iter()
        .map(|e| e.branch.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------------
// The probe

async fn run(ctx: &ProbeContext, ids: &[String]) -> Vec<Outcome> {
    let cluster = match ctx.services.kube() {
        Ok(c) => c.clone(),
        Err(e) => return abort_all(ids, &e),
    };
    let client = match cluster.client() {
        Ok(c) => c.clone(),
        Err(e) => return abort_all(ids, &e),
    };
    let now = ctx.clock.now();
    let work = async {
        let (version, data) =
            tokio::join!(client.apiserver_version(), load_data(&cluster.options, now));
        (version, data)
    };
    let (version, data) = tokio::select! {
        r = work => r,
        _ = ctx.cancel.cancelled() => return abort_all(ids, "interrupted"),
    };
    let outcome = match (version, data) {
        (Err(e), _) => Outcome::abort(
            ID,
            format!(
                "cannot read /version from {}: {}",
                cluster.server,
                crate::kube::one_line(&e)
            ),
        ),
        (_, Err(e)) => Outcome::abort(ID, e),
        (Ok(info), Ok(data)) => judge(&info.git_version, now, &data),
    };
    ids.iter()
        .map(|id| Outcome {
            testcase: id.clone(),
            ..outcome.clone()
        })
        .collect()
}

/// The outcome for a cluster's `gitVersion` with the given data.
pub fn judge(git_version: &str, now: DateTime<Utc>, data: &PolicyData) -> Outcome {
    let (version, note) = match parse_cluster_version(git_version) {
        Ok(v) => v,
        Err(e) => return Outcome::abort(ID, format!("cluster version: {e}")),
    };
    let eol = builtin_eol();
    match decide(version, now, &eol, &data.releases, &data.cves) {
        Err(e) => Outcome::abort(ID, e),
        Ok(d) => {
            let mut evidence = d.findings;
            for w in d.warnings {
                evidence.push(Finding::new("warning", w));
            }
            if let Some(n) = note {
                evidence.push(Finding::new(format!("cluster version {git_version}"), n));
            }
            evidence.extend(data.provenance.iter().cloned());
            Outcome {
                testcase: ID.into(),
                verdict: d.verdict,
                reason: d.reason,
                evidence,
            }
        }
    }
}
