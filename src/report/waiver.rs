//! Waivers for CI gating: a file of `{testcase, subject, reason, expires}` entries that lets a
//! known FAIL of one subject pass the CI gate until a date.
//!
//! A waiver never changes what is certified: the monitor's fields of a report (`run.invocations`
//! results) and our per-version summaries keep the real verdict. The waivers a run applied are
//! recorded in `scs_check.waivers` (which the monitor ignores); the human and CI formats
//! (console, Markdown, HTML, JUnit) show such a FAIL as WAIVED with the waiver's reason, and the
//! exit status of `run` counts it as passed ([`waived_summaries`]).
//!
//! Only FAIL is waivable. An ABORT says the check could not be made: waiving it would hide that
//! the cloud was not checked at all, and it is not a known violation anybody could accept.

use super::model::Report;
use super::summary::{TargetSummary, TestcaseSummary, VersionSummary, target_summary};
use crate::verdict::{Aggregate, Verdict};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One entry of a waiver file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiver {
    /// The testcase id it waives.
    pub testcase: String,
    /// The subject (`-s`) it is for.
    pub subject: String,
    /// Why the FAIL is accepted (shown wherever the testcase is).
    pub reason: String,
    /// The last day the waiver applies (inclusive, UTC).
    pub expires: NaiveDate,
    /// `FILE:LINE` of the entry, for messages.
    pub origin: String,
}

/// A waiver a run applied, as recorded in the report (`scs_check.waivers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedWaiver {
    /// The testcase whose FAIL it waived.
    pub testcase: String,
    /// The subject it is for.
    pub subject: String,
    /// Why the FAIL is accepted.
    pub reason: String,
    /// The last day the waiver applies.
    pub expires: NaiveDate,
}

/// The largest waiver file read.
const MAX_WAIVER_BYTES: u64 = 4 << 20;

/// Reads a waiver file. Errors are one line naming the file and, where known, the line.
pub fn load_waivers(path: &Path) -> Result<Vec<Waiver>, String> {
    let origin = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| format!("{origin}: {e}"))?;
    if meta.len() > MAX_WAIVER_BYTES {
        return Err(format!(
            "{origin}: {} bytes is too large for a waiver file",
            meta.len()
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{origin}: {e}"))?;
    parse_waivers(&text, &origin)
}

/// Parses a waiver file:
///
/// ```yaml
/// waivers:
///   - testcase: scs-0100-semantics-check
///     subject: mycloud
///     reason: "SCS-4V-8 is being replaced, ticket OPS-123"
///     expires: 2027-03-31
/// ```
///
/// Every key is required and no other key is allowed; `expires` is a date `YYYY-MM-DD`; a
/// second waiver for the same testcase and subject is an error.
pub fn parse_waivers(text: &str, origin: &str) -> Result<Vec<Waiver>, String> {
    use serde_saphyr::Spanned;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        waivers: Option<Vec<Spanned<Entry>>>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        testcase: Option<String>,
        subject: Option<String>,
        reason: Option<String>,
        expires: Option<String>,
    }
    if text.trim().is_empty() {
        return Err(format!("{origin}: empty waiver file (expected `waivers:`)"));
    }
    let file: File = serde_saphyr::from_str(text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(":{}:{}", l.line(), l.column()))
            .unwrap_or_default();
        let message = e.without_snippet().to_string();
        let message = message.lines().next().unwrap_or_default();
        let message = match message.rfind(" at line ") {
            Some(i) => &message[..i],
            None => message,
        };
        format!("{origin}{at}: {message}")
    })?;
    let mut out: Vec<Waiver> = vec![];
    for entry in file.waivers.unwrap_or_default() {
        let at = format!("{origin}:{}", entry.referenced.line());
        let e = entry.value;
        let field = |key: &str, value: Option<String>| -> Result<String, String> {
            match value.map(|v| v.trim().to_string()) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(format!("{at}: the waiver has no `{key}`")),
            }
        };
        let testcase = field("testcase", e.testcase)?;
        let subject = field("subject", e.subject)?;
        let reason = field("reason", e.reason)?;
        let expires_text = field("expires", e.expires)?;
        let expires = NaiveDate::parse_from_str(&expires_text, "%Y-%m-%d").map_err(|_| {
            format!("{at}: expires '{expires_text}' is not a date of the form YYYY-MM-DD")
        })?;
        if let Some(first) = out
            .iter()
            .find(|w| w.testcase == testcase && w.subject == subject)
        {
            return Err(format!(
                "{at}: a second waiver for {testcase} (subject {subject}); the first is at {}",
                first.origin
            ));
        }
        out.push(Waiver {
            testcase,
            subject,
            reason,
            expires,
            origin: at,
        });
    }
    Ok(out)
}

/// Applies the waivers to a report: every waiver for the report's subject whose testcase FAILs
/// in some version and that has not expired on `today` is recorded in `scs_check.waivers`.
/// Nothing else in the report changes. Returns the warnings: expired waivers, waivers of this
/// subject that matched no FAIL (an ABORT is named as such: it is not waivable), and a file
/// whose waivers are all for other subjects.
pub fn apply_waivers(report: &mut Report, waivers: &[Waiver], today: NaiveDate) -> Vec<String> {
    let mut warnings = vec![];
    let mut applied = vec![];
    let results = |id: &str| -> Vec<Option<Verdict>> {
        report
            .scs_check
            .as_ref()
            .map(|b| {
                b.versions
                    .iter()
                    .filter_map(|v| v.testcases.get(id).map(|t| t.result))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mine: Vec<&Waiver> = waivers
        .iter()
        .filter(|w| w.subject == report.subject)
        .collect();
    if mine.is_empty() && !waivers.is_empty() {
        let mut subjects: Vec<&str> = waivers.iter().map(|w| w.subject.as_str()).collect();
        subjects.dedup();
        warnings.push(format!(
            "no waiver is for subject {} (the waivers are for: {})",
            report.subject,
            subjects.join(", ")
        ));
    }
    for w in mine {
        let found = results(&w.testcase);
        let what = format!("{}: the waiver for {}", w.origin, w.testcase);
        if w.expires < today {
            if found.contains(&Some(Verdict::Fail)) {
                warnings.push(format!("{what} expired on {}; the FAIL counts", w.expires));
            } else {
                warnings.push(format!("{what} expired on {}", w.expires));
            }
            continue;
        }
        if found.contains(&Some(Verdict::Fail)) {
            applied.push(AppliedWaiver {
                testcase: w.testcase.clone(),
                subject: w.subject.clone(),
                reason: w.reason.clone(),
                expires: w.expires,
            });
        } else if found.contains(&Some(Verdict::Abort)) {
            warnings.push(format!(
                "{what} is unused: the testcase is ABORT, which cannot be waived (it was not \
                 checked)"
            ));
        } else if found.is_empty() {
            warnings.push(format!("{what} is unused: the run has no such testcase"));
        } else {
            warnings.push(format!("{what} is unused: the testcase did not fail"));
        }
    }
    if let Some(block) = report.scs_check.as_mut() {
        block.waivers = applied;
    }
    warnings
}

/// The waiver that turns this testcase's result into WAIVED, if any: the result is FAIL and the
/// report recorded a waiver for the testcase.
pub(crate) fn waiver_for<'a>(
    report: &'a Report,
    id: &str,
    result: Option<Verdict>,
) -> Option<&'a AppliedWaiver> {
    if result != Some(Verdict::Fail) {
        return None;
    }
    report
        .scs_check
        .as_ref()?
        .waivers
        .iter()
        .find(|w| w.testcase == id)
}

/// The word a human format shows for a result: `WAIVED` for a waived FAIL, otherwise
/// `PASS`/`FAIL`/`ABORT`/`MISSING`.
pub(crate) fn shown_word(report: &Report, id: &str, tc: &TestcaseSummary) -> &'static str {
    if waiver_for(report, id, tc.result).is_some() {
        "WAIVED"
    } else {
        super::text::result_word(tc.result)
    }
}

/// The summaries with every waived FAIL counted as PASS and the targets recomputed: what the
/// exit status and the human formats' target lines go by. Without waivers, the summaries as
/// they are.
pub fn waived_summaries(report: &Report, summaries: &[VersionSummary]) -> Vec<VersionSummary> {
    summaries
        .iter()
        .map(|v| {
            let mut v = v.clone();
            for (id, tc) in v.testcases.iter_mut() {
                if waiver_for(report, id, tc.result).is_some() {
                    tc.result = Some(Verdict::Pass);
                }
            }
            for target in v.targets.values_mut() {
                *target = target_summary(&target.testcases, &v.testcases);
            }
            v
        })
        .collect()
}

/// The word a human format shows for a target, and how many of its testcases are waived FAILs.
/// Without waived testcases, the target's result. With them, the result the target has when
/// they count as passed, and `WAIVED` when that is a PASS (the real result is FAIL).
pub(crate) fn shown_target(
    report: &Report,
    version: &VersionSummary,
    target: &TargetSummary,
) -> (String, usize) {
    let waived = waived_count(report, version, &target.testcases);
    if waived == 0 {
        return (target.result.to_string(), 0);
    }
    let mut testcases = version.testcases.clone();
    for (id, tc) in testcases.iter_mut() {
        if waiver_for(report, id, tc.result).is_some() {
            tc.result = Some(Verdict::Pass);
        }
    }
    let effective = target_summary(&target.testcases, &testcases).result;
    let word = if effective == Aggregate::Pass {
        "WAIVED".to_string()
    } else {
        effective.to_string()
    };
    (word, waived)
}

/// One line about a waiver: `waived until 2027-03-31: REASON`.
pub(crate) fn waiver_line(waiver: &AppliedWaiver) -> String {
    format!("waived until {}: {}", waiver.expires, waiver.reason)
}

/// How many of a target's testcases are waived FAILs.
pub(crate) fn waived_count(report: &Report, version: &VersionSummary, ids: &[String]) -> usize {
    ids.iter()
        .filter(|id| {
            version
                .testcases
                .get(id.as_str())
                .is_some_and(|tc| waiver_for(report, id, tc.result).is_some())
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Waiver>, String> {
        parse_waivers(text, "w.yaml")
    }

    #[test]
    fn a_good_file_parses_with_lines() {
        let w = parse(
            "waivers:\n  - testcase: a\n    subject: s\n    reason: r\n    expires: 2027-01-31\n  \
             - testcase: b\n    subject: s\n    reason: \"known: OPS-1\"\n    expires: '2027-02-01'\n",
        )
        .unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].origin, "w.yaml:2");
        assert_eq!(w[1].origin, "w.yaml:6");
        assert_eq!(w[1].reason, "known: OPS-1");
        assert_eq!(w[1].expires, NaiveDate::from_ymd_opt(2027, 2, 1).unwrap());
        assert!(parse("waivers: []\n").unwrap().is_empty());
    }

    #[test]
    fn malformed_files_are_one_line_with_file_and_line() {
        let cases = [
            (
                "waivers:\n  - testcase: a\n    subject: s\n    expires: 2027-01-31\n",
                "w.yaml:2: the waiver has no `reason`",
            ),
            (
                "waivers:\n  - testcase: a\n    subject: s\n    reason: r\n    expires: soon\n",
                "w.yaml:2: expires 'soon' is not a date",
            ),
            (
                "waivers:\n  - testcase: a\n    subject: s\n    reason: r\n    expires: 2027-01-31\n    owner: me\n",
                "w.yaml:6",
            ),
            ("waiver:\n  - testcase: a\n", "w.yaml:1"),
            (
                "waivers:\n  - testcase: a\n    subject: s\n    reason: r\n    expires: 2027-01-31\n  - testcase: a\n    subject: s\n    reason: r2\n    expires: 2027-01-31\n",
                "w.yaml:6: a second waiver for a (subject s); the first is at w.yaml:2",
            ),
            ("waivers: [\n", "w.yaml:"),
            ("", "w.yaml: empty waiver file"),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err();
            assert!(err.starts_with(want), "{text:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
}
