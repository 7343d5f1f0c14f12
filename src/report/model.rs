//! The report data model: the fields the SCS compliance monitor reads (scs-0003, see
//! `upstream-runner.md` §3.1) in the monitor's order, plus our own evidence under `scs_check`
//! keys that the monitor ignores.
//!
//! Timestamps: `checked_at` is a naive UTC timestamp written as `YYYY-MM-DD HH:MM:SS.ffffff`.
//! The reference tool writes naive *local* time; we write UTC because the monitor compares with
//! its own clock and UTC is the only unambiguous choice (documented in the README).

use super::summary::{Totals, VersionSummary};
use crate::outcome::{Ending, Finding};
use crate::verdict::Verdict;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One report document: one scope run against one subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The scope the run was made against.
    pub spec: SpecRef,
    /// When the check ran (naive UTC; see the module documentation).
    #[serde(with = "naive_timestamp")]
    pub checked_at: NaiveDateTime,
    /// The date used for version selection (`-d`). Always written by us; tolerated missing.
    #[serde(default)]
    pub reference_date: Option<NaiveDate>,
    /// The subject label (an account of the monitor).
    pub subject: String,
    /// How the run was made and what every invocation produced.
    pub run: Run,
    /// Per-version results of the 2024-03..2026-01 report shape; never written by us (the monitor
    /// would read it instead of synthesising its `*` version), kept when reading old reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<IndexMap<String, IndexMap<String, LegacyResult>>>,
    /// Our summary block; absent in the reference tool's reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scs_check: Option<ScsCheckBlock>,
}

/// `spec`: identity of the scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecRef {
    /// Scope uuid: the monitor's key.
    pub uuid: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Address of the scope file.
    #[serde(default)]
    pub url: String,
}

/// `run`: the command line and the invocations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Report id (uuid4); the monitor rejects duplicates.
    pub uuid: String,
    /// Command-line arguments without the program name.
    #[serde(default, deserialize_with = "lenient::strings")]
    pub argv: Vec<String>,
    /// Only the `-a` assignments (not the defaults), in command-line order.
    #[serde(default, deserialize_with = "lenient::string_map")]
    pub assignment: IndexMap<String, String>,
    /// `--sections` value, or null.
    #[serde(default)]
    pub sections: Option<Vec<String>>,
    /// `-V` value, or null. When several `-V` were given, they are joined with `", "`; the exact
    /// list is in [`ScsCheckBlock::versions`].
    #[serde(default)]
    pub forced_version: Option<String>,
    /// `-t` regex, or null.
    #[serde(default)]
    pub forced_tests: Option<String>,
    /// Invocations by uuid; the monitor reads the results from here.
    #[serde(default)]
    pub invocations: IndexMap<String, Invocation>,
}

impl Run {
    /// The versions forced with `-V`, split back into names.
    pub fn forced_versions(&self) -> Vec<String> {
        self.forced_version
            .as_deref()
            .map(|s| {
                s.split(", ")
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether a `-t`/`-S` filter made the run partial.
    pub fn is_partial(&self) -> bool {
        self.sections.is_some() || self.forced_tests.is_some()
    }
}

/// One script invocation or native probe run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invocation {
    /// Same uuid as the key.
    #[serde(default)]
    pub id: String,
    /// Rendered command line (`builtin:PROBE` for native probes).
    #[serde(default)]
    pub cmd: String,
    /// Testcase id → -1 (FAIL), 0 (ABORT), 1 (PASS). Never null.
    #[serde(default, deserialize_with = "lenient::results")]
    pub results: IndexMap<String, i8>,
    /// Exit code (0 for native probes, 127 = could not launch, -1 = killed).
    #[serde(default)]
    pub rc: i32,
    /// Captured stdout lines (log lines for native probes).
    #[serde(default, deserialize_with = "lenient::strings")]
    pub stdout: Vec<String>,
    /// Captured stderr lines.
    #[serde(default, deserialize_with = "lenient::strings")]
    pub stderr: Vec<String>,
    /// Lines starting with `info`.
    #[serde(default)]
    pub info: u32,
    /// Lines starting with `warning`.
    #[serde(default)]
    pub warning: u32,
    /// Lines starting with `error`.
    #[serde(default)]
    pub error: u32,
    /// Lines starting with `critical`.
    #[serde(default)]
    pub critical: u32,
    /// Overall result of the 2024-03..2026-01 report shape; read only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<i8>,
    /// Our evidence for this invocation; absent in the reference tool's reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scs_check: Option<InvocationEvidence>,
}

impl Invocation {
    /// The results as verdicts; values other than -1/0/1 are skipped.
    pub fn verdicts(&self) -> impl Iterator<Item = (&str, Verdict)> {
        self.results
            .iter()
            .filter_map(|(id, v)| Verdict::from_int(i64::from(*v)).map(|v| (id.as_str(), v)))
    }
}

/// A per-version, per-testcase entry of the old report shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyResult {
    /// -1/0/1; null stands for a missing result.
    #[serde(default)]
    pub result: Option<i8>,
    /// The uuid of the invocation that produced it.
    #[serde(default)]
    pub invocation: Option<String>,
}

/// Our evidence for one invocation (key `scs_check` inside the invocation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvocationEvidence {
    /// How it ended.
    pub ending: Ending,
    /// When it started (RFC 3339, UTC).
    pub started_at: DateTime<Utc>,
    /// How long it took, in seconds.
    pub duration_s: f64,
    /// Names of the versions whose targets this invocation served.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// Include parameters in force (native probes).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    /// Testcase id → reason and findings.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub testcases: IndexMap<String, TestcaseEvidence>,
    /// Requested testcases that got no verdict (MISSING) → why.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub missing: BTreeMap<String, String>,
}

/// The reason and findings behind one verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestcaseEvidence {
    /// One line saying why.
    pub reason: String,
    /// Structured details.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Finding>,
}

/// Our top-level summary block (key `scs_check`). Fields added later are optional so older
/// reports still read; unknown keys written by newer versions are kept in [`Self::extra`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScsCheckBlock {
    /// Tool name (`scs-check`).
    pub tool: String,
    /// Tool version.
    pub version: String,
    /// Whether `-t`/`-S` narrowed the testcases.
    #[serde(default)]
    pub partial: bool,
    /// The selected versions with validity, per-target aggregates and per-testcase results.
    #[serde(default)]
    pub versions: Vec<VersionSummary>,
    /// Counts over distinct testcases.
    #[serde(default)]
    pub totals: Totals,
    /// Number of API requests made, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    /// Every cloud resource the run created, and whether it was deleted again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<crate::openstack::resources::ResourceRecord>,
    /// The run tested the built-in simulator (`--simulate`), not a real cloud: such a report is
    /// no certificate (`sign` and `upload` refuse it). Written only when true.
    #[serde(default, skip_serializing_if = "is_false")]
    pub simulated: bool,
    /// The cloud's clouds.yaml entry turned TLS certificate verification off (`insecure: true`
    /// or `verify: false`). Written only when true.
    #[serde(default, skip_serializing_if = "is_false")]
    pub tls_verification_disabled: bool,
    /// The waivers (`--waivers`) that made a FAIL show as WAIVED in the human and CI formats.
    /// The verdicts themselves are unchanged: waivers never change what is certified.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<super::waiver::AppliedWaiver>,
    /// Set in a report merged by `scs-check rerun`: which run was rerun, when, and which
    /// testcases got new results (each also marked `rerun: true` in the version summaries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun: Option<RerunNote>,
    /// Keys we do not know (written by newer versions); kept on round trips.
    #[serde(flatten)]
    pub extra: IndexMap<String, serde_json::Value>,
}

/// The top-level note of a report merged by `scs-check rerun` (`scs_check.rerun`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RerunNote {
    /// The `run.uuid` of the report whose FAIL/ABORT/MISSING testcases were run again.
    pub of_run: String,
    /// When the rerun started (UTC). `checked_at` stays the original run's time, the older of
    /// the two, so the report never claims to be fresher than its oldest result.
    pub rerun_at: DateTime<Utc>,
    /// The testcases that were run again; their results in this report are the new ones.
    pub testcases: Vec<String>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Serde for [`NaiveDateTime`] as the monitor's `YYYY-MM-DD HH:MM:SS.ffffff`; reading also
/// accepts a `T` separator, no or fewer fraction digits and a UTC offset (converted to UTC).
pub mod naive_timestamp {
    use chrono::{DateTime, NaiveDateTime};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// The format we write.
    pub const FORMAT: &str = "%Y-%m-%d %H:%M:%S%.6f";

    /// Formats a timestamp the way reports carry it.
    pub fn format(ts: &NaiveDateTime) -> String {
        ts.format(FORMAT).to_string()
    }

    /// Parses the forms reports carry (see the module documentation).
    pub fn parse(text: &str) -> Option<NaiveDateTime> {
        let t = text.trim();
        for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
            if let Ok(ts) = NaiveDateTime::parse_from_str(t, f) {
                return Some(ts);
            }
        }
        let t2 = t.replacen(' ', "T", 1).replace(' ', "");
        let t2 = t2
            .strip_suffix(['Z', 'z'])
            .map_or(t2.clone(), |s| s.to_string() + "+00:00");
        for f in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
            if let Ok(ts) = DateTime::parse_from_str(&t2, f) {
                return Some(ts.naive_utc());
            }
        }
        None
    }

    /// Serializes as [`FORMAT`].
    pub fn serialize<S: Serializer>(ts: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(ts))
    }

    /// Deserializes with [`parse`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).ok_or_else(|| {
            D::Error::custom(format!(
                "invalid timestamp {text:?} (expected YYYY-MM-DD HH:MM:SS[.ffffff])"
            ))
        })
    }
}

/// Deserializers that accept any scalar where a string is expected (the reference tool's YAML
/// writer quotes such values, but hand-edited files may not).
mod lenient {
    use indexmap::IndexMap;
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        S(String),
        I(i64),
        U(u64),
        F(f64),
        B(bool),
    }

    impl From<Scalar> for String {
        fn from(s: Scalar) -> String {
            match s {
                Scalar::S(s) => s,
                Scalar::I(i) => i.to_string(),
                Scalar::U(u) => u.to_string(),
                Scalar::F(f) => f.to_string(),
                Scalar::B(b) => b.to_string(),
            }
        }
    }

    pub fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        let v = Option::<Vec<Scalar>>::deserialize(d)?;
        Ok(v.unwrap_or_default()
            .into_iter()
            .map(String::from)
            .collect())
    }

    /// A result value: -1, 0 or 1; anything else is an error naming the allowed values.
    struct ResultInt(i8);

    impl<'de> Deserialize<'de> for ResultInt {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl serde::de::Visitor<'_> for V {
                type Value = ResultInt;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a result of -1, 0 or 1")
                }
                fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ResultInt, E> {
                    match v {
                        -1..=1 => Ok(ResultInt(v as i8)),
                        _ => Err(E::custom(format!("result {v} is not -1, 0 or 1"))),
                    }
                }
                fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ResultInt, E> {
                    self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
                }
                fn visit_unit<E: serde::de::Error>(self) -> Result<ResultInt, E> {
                    Err(E::custom("result is null (must be -1, 0 or 1)"))
                }
                fn visit_none<E: serde::de::Error>(self) -> Result<ResultInt, E> {
                    self.visit_unit()
                }
            }
            d.deserialize_any(V)
        }
    }

    pub fn results<'de, D: Deserializer<'de>>(d: D) -> Result<IndexMap<String, i8>, D::Error> {
        let v = Option::<IndexMap<String, ResultInt>>::deserialize(d)?;
        Ok(v.unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect())
    }

    pub fn string_map<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<IndexMap<String, String>, D::Error> {
        let v = Option::<IndexMap<String, Scalar>>::deserialize(d)?;
        Ok(v.unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, String::from(v)))
            .collect())
    }
}
