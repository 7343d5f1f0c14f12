//! The version policy's data: the release and CVE downloads (every GitHub page, the CVE feed and
//! each record, with body limits), the on-disk cache with fetch times, the snapshot built into the
//! binary, and the choice among them by age (never data older than
//! [`MAX_DATA_AGE_DAYS`](super::MAX_DATA_AGE_DAYS)). The decision itself is in the parent module.

use super::*;
use crate::kube::KaasOptions;

/// Release and CVE data with where it came from.
#[derive(Debug, Clone)]
pub struct PolicyData {
    /// Releases.
    pub releases: Vec<Release>,
    /// Critical CVEs.
    pub cves: Vec<CriticalCve>,
    /// How each part was obtained, for the evidence.
    pub provenance: Vec<Finding>,
}

/// A cached download.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cached<T> {
    fetched_at: DateTime<Utc>,
    data: T,
}

const RELEASES_CACHE: &str = "k8s-releases.json";
const CVES_CACHE: &str = "k8s-critical-cves.json";

fn read_cache<T: serde::de::DeserializeOwned>(dir: Option<&Path>, name: &str) -> Option<Cached<T>> {
    let text = std::fs::read_to_string(dir?.join(name)).ok()?;
    serde_json::from_str(&text).ok()
}

fn write_cache<T: Serialize>(dir: Option<&Path>, name: &str, fetched_at: DateTime<Utc>, data: &T) {
    let Some(dir) = dir else { return };
    let cached = Cached { fetched_at, data };
    if std::fs::create_dir_all(dir).is_ok()
        && let Ok(text) = serde_json::to_string(&cached)
    {
        let tmp = dir.join(format!("{name}.tmp"));
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, dir.join(name));
        }
    }
}

/// The snapshot built into the binary: (taken, releases, critical CVEs).
pub fn builtin_snapshot() -> Result<(NaiveDate, Vec<Release>, Vec<CriticalCve>), String> {
    let s = super::super::snapshot::parse(SNAPSHOT, super::super::snapshot::ORIGIN)?;
    Ok((s.taken, s.releases, s.critical_cves))
}

fn age_text(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let days = (now - then).num_days();
    match days {
        0 => "less than a day old".into(),
        1 => "1 day old".into(),
        d => format!("{d} days old"),
    }
}

fn http_client() -> Result<reqwest::Client, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(concat!("scs-check/", env!("CARGO_PKG_VERSION")))
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}

/// Downloads every page of the Kubernetes releases from the GitHub API. More pages than
/// [`KaasOptions::github_page_limit`], or a `next` link to a page already read, is an error:
/// the list would be incomplete.
pub async fn fetch_releases(options: &KaasOptions) -> Result<Vec<Release>, String> {
    let http = http_client()?;
    let mut url = format!(
        "{}/repos/kubernetes/kubernetes/releases?per_page=100",
        options.github_api.trim_end_matches('/')
    );
    let limit = options.github_page_limit.max(1);
    let mut seen = std::collections::HashSet::new();
    let mut all = Vec::new();
    for _page in 0..limit {
        if !seen.insert(url.clone()) {
            return Err(format!(
                "GET {url}: the `next` link points to a page already read; the release list would be incomplete"
            ));
        }
        let mut req = http
            .get(&url)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        if let Some(token) = &options.github_token {
            req = req.bearer_auth(token);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("GET {url}: {}", crate::kube::one_line(&e)))?;
        let status = resp.status();
        let next = resp
            .headers()
            .get("link")
            .and_then(|l| l.to_str().ok())
            .and_then(next_link);
        let body = read_json_limited(resp)
            .await
            .map_err(|e| format!("GET {url}: HTTP {status}, {e}"))?;
        let Some(items) = body.as_array() else {
            let msg = body["message"].as_str().unwrap_or("unexpected answer");
            let hint = if status.as_u16() == 403 || status.as_u16() == 429 {
                " (rate limited; set GITHUB_TOKEN)"
            } else {
                ""
            };
            return Err(format!("GET {url}: HTTP {status}: {msg}{hint}"));
        };
        if !status.is_success() {
            return Err(format!("GET {url}: HTTP {status}"));
        }
        all.extend(releases_from_github(items));
        match next {
            Some(n) if !items.is_empty() => url = n,
            _ => return Ok(all),
        }
    }
    Err(format!(
        "the GitHub release listing has more than {limit} pages (stopped before {url}); refusing an incomplete list"
    ))
}

/// Largest body accepted from GitHub, the CVE feed or a CVE record (the real ones are far
/// smaller); a larger answer is an error instead of unbounded memory.
pub const MAX_BODY_BYTES: usize = 32 << 20;

/// Reads a JSON body of at most [`MAX_BODY_BYTES`].
async fn read_json_limited(mut resp: reqwest::Response) -> Result<serde_json::Value, String> {
    let mut buf = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("body cannot be read: {}", crate::kube::one_line(&e)))?
    {
        if buf.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(format!("body larger than {} MiB", MAX_BODY_BYTES >> 20));
        }
        buf.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&buf).map_err(|e| format!("body is not JSON: {e}"))
}

/// The `rel="next"` URL of a `Link` header.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

/// The critical CVEs of a download, and the records that were skipped with the reason.
#[derive(Debug, Clone, Default)]
pub struct CveDownload {
    /// Critical CVEs, sorted by id.
    pub cves: Vec<CriticalCve>,
    /// (CVE id, why its record was skipped).
    pub skipped: Vec<(String, String)>,
}

/// Downloads the CVE feed and every CVE record (at most 5 at a time) and keeps the critical
/// ones. A record that cannot be loaded or read (404, not JSON, an unreadable version range) is
/// skipped with its reason; only a feed that cannot be read fails the download.
pub async fn fetch_cves(options: &KaasOptions) -> Result<CveDownload, String> {
    use futures::StreamExt;
    let http = http_client()?;
    let feed_url = &options.cve_feed;
    let get_json = |url: String| {
        let http = http.clone();
        async move {
            let resp = http
                .get(&url)
                .send()
                .await
                .map_err(|e| format!("GET {url}: {}", crate::kube::one_line(&e)))?;
            let status = resp.status();
            if !status.is_success() {
                return Err(format!("GET {url}: HTTP {status}"));
            }
            read_json_limited(resp)
                .await
                .map_err(|e| format!("GET {url}: {e}"))
        }
    };
    let feed = get_json(feed_url.clone()).await?;
    let ids = feed_ids(&feed).map_err(|e| format!("GET {feed_url}: {e}"))?;
    let base = options.cve_record_base.trim_end_matches('/').to_string();
    let results: Vec<(String, Result<Option<CriticalCve>, String>)> = futures::stream::iter(ids)
        .map(|id| {
            let url = format!("{base}/{id}");
            let fetch = get_json(url);
            async move {
                let r = match fetch.await {
                    Ok(record) => critical_ranges(&id, &record),
                    Err(e) => Err(e),
                };
                (id, r)
            }
        })
        .buffer_unordered(5)
        .collect()
        .await;
    Ok(collect_cves(results))
}

/// The CVE ids of the official feed (`items[].id`).
pub fn feed_ids(feed: &serde_json::Value) -> Result<Vec<String>, String> {
    Ok(feed["items"]
        .as_array()
        .ok_or("no `items` list")?
        .iter()
        .filter_map(|i| i["id"].as_str().map(str::to_string))
        .collect())
}

/// Sorts per-record results into the critical CVEs and the skipped records.
pub fn collect_cves(results: Vec<(String, Result<Option<CriticalCve>, String>)>) -> CveDownload {
    let mut out = CveDownload::default();
    for (id, r) in results {
        match r {
            Ok(Some(c)) => out.cves.push(c),
            Ok(None) => {}
            Err(e) => out.skipped.push((id, e)),
        }
    }
    out.cves.sort_by(|a, b| a.id.cmp(&b.id));
    out.skipped.sort();
    out
}

/// Gets the release and CVE data: downloaded (and cached), or from the cache when offline or
/// when a download fails, or (offline only) from the built-in snapshot.
pub async fn load_data(options: &KaasOptions, now: DateTime<Utc>) -> Result<PolicyData, String> {
    let dir = options.cache_dir.as_deref();
    let mut provenance = Vec::new();
    let (releases, cves) = if options.offline {
        (None, None)
    } else {
        let (r, c) = tokio::join!(fetch_releases(options), fetch_cves(options));
        let c = c.map(|d| {
            for (id, why) in d.skipped {
                provenance.push(Finding::new(
                    format!("CVE record {id}"),
                    format!("warning: skipped, the record cannot be read: {why}"),
                ));
            }
            d.cves
        });
        (Some(r), Some(c))
    };
    let releases = settle(
        DataSet {
            label: "release data",
            what: "the Kubernetes releases",
            noun: "releases",
        },
        &options.github_api,
        RELEASES_CACHE,
        releases,
        || builtin_snapshot().map(|(taken, list, _)| (taken, list)),
        (dir, now, &mut provenance),
    )?;
    let cves = settle(
        DataSet {
            label: "CVE data",
            what: "the Kubernetes CVE data",
            noun: "critical CVEs",
        },
        &options.cve_feed,
        CVES_CACHE,
        cves,
        || builtin_snapshot().map(|(taken, _, list)| (taken, list)),
        (dir, now, &mut provenance),
    )?;
    Ok(PolicyData {
        releases,
        cves,
        provenance,
    })
}

/// Names of one downloaded data set, for the provenance findings and errors.
struct DataSet {
    /// Object of the provenance finding, e.g. `release data`.
    label: &'static str,
    /// What the error says could not be had.
    what: &'static str,
    /// What the download counts.
    noun: &'static str,
}

/// One data set from its download (`None` when offline), else the cache, else (offline only)
/// the built-in snapshot; records where it came from in `provenance`.
fn settle<T: Serialize + serde::de::DeserializeOwned>(
    set: DataSet,
    source: &str,
    cache: &str,
    downloaded: Option<Result<Vec<T>, String>>,
    snapshot: impl FnOnce() -> Result<(NaiveDate, Vec<T>), String>,
    (dir, now, provenance): (Option<&Path>, DateTime<Utc>, &mut Vec<Finding>),
) -> Result<Vec<T>, String> {
    let failure = match downloaded {
        Some(Ok(list)) => {
            write_cache(dir, cache, now, &list);
            let text = format!("downloaded from {source} ({} {})", list.len(), set.noun);
            provenance.push(Finding::new(set.label, text));
            return Ok(list);
        }
        Some(Err(e)) => Some(e),
        None => None,
    };
    let why = match &failure {
        Some(e) => format!("download failed ({e}); "),
        None => "offline; ".into(),
    };
    if let Some(cached) = read_cache::<Vec<T>>(dir, cache) {
        let fetched = cached.fetched_at.format("%Y-%m-%d %H:%M UTC");
        let age = age_text(now, cached.fetched_at);
        if now - cached.fetched_at > ChronoDuration::days(MAX_DATA_AGE_DAYS) {
            return Err(format!(
                "{}: {why}the cache fetched {fetched} is {age}, older than {MAX_DATA_AGE_DAYS} days; \
                 stale data cannot show a compliant version (run online to refresh it)",
                set.label
            ));
        }
        let text = format!("{why}using the cache fetched {fetched} ({age})");
        provenance.push(Finding::new(set.label, text));
        return Ok(cached.data);
    }
    if let Some(e) = failure {
        return Err(format!("cannot get {} and no cache exists: {e}", set.what));
    }
    let (taken, list) = snapshot()?;
    let days = (now.date_naive() - taken).num_days();
    if days > MAX_DATA_AGE_DAYS {
        return Err(format!(
            "{}: offline, no cache: the built-in snapshot of {taken} is {days} days old, older than \
             {MAX_DATA_AGE_DAYS} days; stale data cannot show a compliant version (run online once \
             to fill the cache)",
            set.label
        ));
    }
    let text =
        format!("offline, no cache: using the built-in snapshot of {taken} ({days} days old)");
    provenance.push(Finding::new(set.label, text));
    Ok(list)
}
