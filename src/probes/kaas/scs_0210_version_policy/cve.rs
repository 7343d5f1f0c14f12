//! Critical CVEs: the affected version ranges of a CVE record (`affected[].versions`, with
//! inclusive or exclusive upper bounds), whether its CVSS metrics make it critical, and the
//! critical ranges of a feed.

use super::{CRITICAL_SCORE, Version, parse_version};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::OnceLock;

/// A range of versions affected by a CVE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CveRange {
    /// Lowest affected version (inclusive).
    pub lower: VersionText,
    /// Upper bound; `None`: only `lower` is affected (unless `unbounded`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper: Option<VersionText>,
    /// Whether `upper` itself is affected.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inclusive: bool,
    /// No upper bound: every version from `lower` on is affected (CVE 5 `lessThan: "*"`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unbounded: bool,
}

/// A [`Version`] that reads and writes as text in data files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct VersionText(pub Version);

impl Serialize for VersionText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for VersionText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_version(&text)
            .map(VersionText)
            .map_err(serde::de::Error::custom)
    }
}

impl CveRange {
    /// A range; `upper < lower` is an error.
    pub fn new(lower: Version, upper: Option<Version>, inclusive: bool) -> Result<Self, String> {
        if let Some(up) = upper
            && up < lower
        {
            return Err(format!("upper bound {up} is below lower bound {lower}"));
        }
        Ok(CveRange {
            lower: VersionText(lower),
            upper: upper.map(VersionText),
            inclusive,
            unbounded: false,
        })
    }

    /// Every version from `lower` on.
    pub fn from(lower: Version) -> Self {
        CveRange {
            lower: VersionText(lower),
            upper: None,
            inclusive: false,
            unbounded: true,
        }
    }

    /// Whether `v` lies in the range.
    pub fn contains(&self, v: Version) -> bool {
        let lo = self.lower.0;
        if self.unbounded {
            return lo <= v;
        }
        match self.upper {
            None => v == lo,
            Some(VersionText(up)) if self.inclusive => lo <= v && v <= up,
            Some(VersionText(up)) => lo <= v && v < up,
        }
    }
}

impl fmt::Display for CveRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.unbounded {
            return write!(f, ">= {}", self.lower.0);
        }
        match self.upper {
            None => write!(f, "{}", self.lower.0),
            Some(up) => write!(
                f,
                "[{}, {}{}",
                self.lower.0,
                up.0,
                if self.inclusive { "]" } else { ")" }
            ),
        }
    }
}

/// An upper bound of a CVE 5 range: a version, or a pattern ending in `*` ("an arbitrarily
/// large number" in that position). `*` alone means no upper bound (`Ok(None)`); `1.28.*`
/// covers every 1.28 patch, so the least version above it is 1.29.0 (returned as an
/// exclusive bound, whatever the key was).
fn upper_bound(key: &str, text: &str, inclusive: bool) -> Result<Option<(Version, bool)>, String> {
    let t = text.trim();
    if t == "*" {
        return Ok(None);
    }
    if let Some(prefix) = t.strip_suffix(".*") {
        let parts: Vec<&str> = prefix.split('.').collect();
        let num = |p: &str| {
            p.parse::<u64>()
                .map_err(|_| format!("{key}: `{t}` is not a version pattern"))
        };
        let up = match parts.as_slice() {
            [a] => Version::new(num(a)? + 1, 0, 0),
            [a, b] => Version::new(num(a)?, num(b)? + 1, 0),
            _ => return Err(format!("{key}: `{t}` is not a version pattern")),
        };
        return Ok(Some((up, false)));
    }
    parse_version(t)
        .map(|v| Some((v, inclusive)))
        .map_err(|e| format!("{key}: {e}"))
}

/// The range of one `affected[].versions[]` entry of a CVE record, by the reference's rules,
/// plus the CVE 5 `*` patterns in `lessThan` / `lessThanOrEqual`: `{version: 1.30.0,
/// lessThan: "*"}` is every version from 1.30.0 on (the reference cannot read it and aborts).
pub fn range_of(entry: &serde_json::Value) -> Result<CveRange, String> {
    let field = |k: &str| entry.get(k).and_then(|v| v.as_str());
    let version = field("version").unwrap_or("");
    let lower = parse_version(version).ok();
    let upper = match (field("lessThanOrEqual"), field("lessThan")) {
        (Some(u), _) => match upper_bound("lessThanOrEqual", u, true)? {
            Some(b) => Some(b),
            None => return Ok(CveRange::from(lower.unwrap_or(Version::new(0, 0, 0)))),
        },
        (None, Some(u)) => match upper_bound("lessThan", u, false)? {
            Some(b) => Some(b),
            None => return Ok(CveRange::from(lower.unwrap_or(Version::new(0, 0, 0)))),
        },
        (None, None) => None,
    };
    match upper {
        Some((up, inclusive)) => {
            CveRange::new(lower.unwrap_or(Version::new(0, 0, 0)), Some(up), inclusive)
        }
        None => {
            if let Some(lo) = lower {
                return CveRange::new(lo, None, false);
            }
            if let Some(prefix) = version.trim().strip_suffix(".x") {
                // `1.28.x`: the reference makes an empty range out of this (see divergences).
                let v = parse_version(prefix).map_err(|e| format!("version: {e}"))?;
                return CveRange::new(v, Some(v), false);
            }
            if let Some((a, b)) = version.split_once(" - ") {
                let lo = parse_version(a).map_err(|e| format!("version: {e}"))?;
                let up = parse_version(b).map_err(|e| format!("version: {e}"))?;
                return CveRange::new(lo, Some(up), false);
            }
            Err(format!("cannot read the affected version `{version}`"))
        }
    }
}

fn cvss_key() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"[cC][vV][sS]{1,2}V\d").expect("valid regex"))
}

/// Whether a CVE's `metrics` list has a CVSS entry with a base score of 8 or more. A CVSS entry
/// without `baseScore` is an error.
pub fn is_critical(metrics: &serde_json::Value) -> Result<bool, String> {
    let Some(list) = metrics.as_array() else {
        return Err("`metrics` is not a list".into());
    };
    let mut critical = false;
    for entry in list {
        let Some(map) = entry.as_object() else {
            continue;
        };
        for (key, value) in map {
            if !cvss_key().is_match(key) {
                continue;
            }
            let score = value
                .get("baseScore")
                .and_then(|s| s.as_f64())
                .ok_or_else(|| format!("metric `{key}` has no numeric baseScore"))?;
            if score >= CRITICAL_SCORE {
                critical = true;
            }
        }
    }
    Ok(critical)
}

/// A critical CVE and the Kubernetes versions it affects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriticalCve {
    /// The CVE id.
    pub id: String,
    /// Affected ranges.
    pub ranges: Vec<CveRange>,
}

/// The affected Kubernetes ranges of a CVE record (CVE JSON 5), or `None` when the record is
/// not critical or lacks `containers.cna.metrics` / `containers.cna.affected` (skipped, as in
/// the reference).
pub fn critical_ranges(
    id: &str,
    record: &serde_json::Value,
) -> Result<Option<CriticalCve>, String> {
    let cna = &record["containers"]["cna"];
    let (Some(metrics), Some(affected)) = (cna.get("metrics"), cna.get("affected")) else {
        return Ok(None);
    };
    if !is_critical(metrics).map_err(|e| format!("{id}: {e}"))? {
        return Ok(None);
    }
    let mut ranges = Vec::new();
    for product in affected.as_array().into_iter().flatten() {
        if product.get("product").and_then(|p| p.as_str()) != Some("Kubernetes") {
            continue;
        }
        for entry in product
            .get("versions")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            if entry.get("status").and_then(|s| s.as_str()) != Some("affected") {
                continue;
            }
            ranges.push(range_of(entry).map_err(|e| format!("{id}: {e}"))?);
        }
    }
    Ok(Some(CriticalCve {
        id: id.to_string(),
        ranges,
    }))
}
