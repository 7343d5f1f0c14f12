//! Generator of the built-in KaaS release/CVE snapshot (`testcases/kaas/k8s-release-snapshot.yaml`),
//! run through `scripts/kaas-snapshot`. Online (the default) it reads every page of the
//! Kubernetes releases from the GitHub API (`GITHUB_TOKEN` raises the rate limit) and the
//! official Kubernetes CVE feed with each CVE record, exactly as `version-policy-check` does, and
//! writes the snapshot dated today. With `--taken YYYY-MM-DD` and saved inputs it converts those
//! instead: `--from DIR` (GitHub pages, feed and records in the layout of
//! `fixtures/kaas-snapshot/README.md`), or `--releases-github DIR` / `--releases-endoflife FILE`
//! (endoflife.date's release-data JSON) together with `--cve-records DIR` (CVE JSON 5 records)
//! and optionally `--cve-feed FILE` (without it every record in the directory is used).
//! `--note TEXT` appends TEXT (e.g. where the saved data came from) to the snapshot's `source`.
//!
//! Usage: `kaas_snapshot [saved inputs --taken YYYY-MM-DD [--note TEXT]] [-o FILE|-]` (default
//! output: the snapshot file in the repository).

use chrono::{NaiveDate, Utc};
use scs_check::kube::KaasOptions;
use scs_check::probes::kaas::scs_0210_version_policy::{fetch_cves, fetch_releases};
use scs_check::probes::kaas::snapshot;
use std::path::PathBuf;

fn usage() -> ! {
    eprintln!(
        "usage: kaas-snapshot [-o FILE|-]                      (download; needs internet)\n       \
         kaas-snapshot --from DIR --taken YYYY-MM-DD [--note TEXT] [-o FILE|-]\n       \
         kaas-snapshot (--releases-github DIR | --releases-endoflife FILE)\n                     \
         --cve-records DIR [--cve-feed FILE] --taken YYYY-MM-DD [--note TEXT] [-o FILE|-]"
    );
    std::process::exit(3)
}

fn fail(msg: &str) -> ! {
    eprintln!("kaas-snapshot: {msg}");
    std::process::exit(3)
}

#[tokio::main]
async fn main() {
    let mut from: Option<PathBuf> = None;
    let mut releases: Option<snapshot::ReleasesInput> = None;
    let mut cve_records: Option<PathBuf> = None;
    let mut cve_feed: Option<PathBuf> = None;
    let mut note: Option<String> = None;
    let mut taken: Option<NaiveDate> = None;
    let mut out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(snapshot::ORIGIN);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--from" => from = Some(args.next().unwrap_or_else(|| usage()).into()),
            "--releases-github" | "--releases-endoflife" => {
                let path: PathBuf = args.next().unwrap_or_else(|| usage()).into();
                if releases.is_some() {
                    fail("give one release source (--releases-github or --releases-endoflife)");
                }
                releases = Some(if a == "--releases-github" {
                    snapshot::ReleasesInput::GithubPages(path)
                } else {
                    snapshot::ReleasesInput::EndOfLife(path)
                });
            }
            "--cve-records" => cve_records = Some(args.next().unwrap_or_else(|| usage()).into()),
            "--cve-feed" => cve_feed = Some(args.next().unwrap_or_else(|| usage()).into()),
            "--note" => note = Some(args.next().unwrap_or_else(|| usage())),
            "--taken" => {
                let t = args.next().unwrap_or_else(|| usage());
                taken = Some(t.parse().unwrap_or_else(|e| {
                    eprintln!("kaas-snapshot: --taken {t}: {e}");
                    std::process::exit(3)
                }));
            }
            "-o" | "--output" => out = args.next().unwrap_or_else(|| usage()).into(),
            "-h" | "--help" => usage(),
            other => {
                eprintln!("kaas-snapshot: unknown argument `{other}`");
                usage()
            }
        }
    }
    let saved = match (from, releases, cve_records) {
        (Some(dir), None, None) if cve_feed.is_none() => Some((
            snapshot::SavedInputs {
                releases: snapshot::ReleasesInput::GithubPages(dir.join("releases")),
                cve_feed: Some(dir.join("cve-feed.json")),
                cve_records: dir.join("cve"),
            },
            format!("answers saved in {}", dir.display()),
        )),
        (Some(_), _, _) => fail("--from DIR cannot be combined with --releases-*/--cve-*"),
        (None, Some(releases), Some(records)) => {
            let rel = match &releases {
                snapshot::ReleasesInput::GithubPages(d) => {
                    format!("GitHub release pages in {}", d.display())
                }
                snapshot::ReleasesInput::EndOfLife(f) => {
                    format!("endoflife.date release-data {}", f.display())
                }
            };
            let cves = match &cve_feed {
                Some(feed) => format!(
                    "the CVE feed {} with the CVE JSON 5 records in {}",
                    feed.display(),
                    records.display()
                ),
                None => format!(
                    "the CVE JSON 5 records in {} (no CVE feed: only these records)",
                    records.display()
                ),
            };
            Some((
                snapshot::SavedInputs {
                    releases,
                    cve_feed,
                    cve_records: records,
                },
                format!("{rel} and {cves}"),
            ))
        }
        (None, None, None) if cve_feed.is_none() => None,
        _ => fail("saved inputs need a release source and --cve-records DIR"),
    };
    if saved.is_none() && (taken.is_some() || note.is_some()) {
        fail("--taken and --note apply to saved inputs only (a download is dated today)");
    }
    let result = match saved {
        Some((inputs, what)) => {
            let Some(taken) = taken else {
                fail("saved inputs need --taken YYYY-MM-DD (the day the data describes)")
            };
            let mut source = format!("converted by scripts/kaas-snapshot from {what}");
            if let Some(note) = &note {
                source.push_str("; ");
                source.push_str(note);
            }
            snapshot::from_saved(&inputs, taken, source)
        }
        None => {
            let options = KaasOptions {
                github_token: std::env::var("GITHUB_TOKEN").ok().filter(|t| !t.is_empty()),
                cache_dir: None,
                ..KaasOptions::default()
            };
            let now = Utc::now();
            let (releases, cves) = tokio::join!(fetch_releases(&options), fetch_cves(&options));
            match (releases, cves) {
                (Ok(releases), Ok(cves)) => {
                    let source = format!(
                        "generated by scripts/kaas-snapshot on {}: {}/repos/kubernetes/kubernetes/releases (every page), {} and the CVE records at {}/ID",
                        now.format("%Y-%m-%d %H:%M UTC"),
                        options.github_api,
                        options.cve_feed,
                        options.cve_record_base
                    );
                    let skipped = cves.skipped.clone();
                    Ok((
                        snapshot::build(now.date_naive(), source, releases, cves),
                        skipped,
                    ))
                }
                (Err(e), _) | (_, Err(e)) => Err(e),
            }
        }
    };
    let (snap, skipped) = result.unwrap_or_else(|e| {
        eprintln!("kaas-snapshot: {e}");
        std::process::exit(2)
    });
    for (id, why) in &skipped {
        eprintln!("kaas-snapshot: warning: CVE record {id} skipped: {why}");
    }
    let text = snapshot::render(&snap);
    if out.as_os_str() == "-" {
        print!("{text}");
    } else if let Err(e) = std::fs::write(&out, text) {
        eprintln!("kaas-snapshot: cannot write {}: {e}", out.display());
        std::process::exit(2)
    } else {
        eprintln!(
            "wrote {} ({} releases, {} critical CVEs, taken {})",
            out.display(),
            snap.releases.len(),
            snap.critical_cves.len(),
            snap.taken
        );
    }
}
