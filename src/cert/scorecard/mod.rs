//! Score cards: each subject's status per scope and version, computed from stored reports the way
//! the SCS compliance monitor does (see `upstream-runner.md` §3.4–§3.5):
//!
//! 1. every report yields result rows (subject, scope, version, testcase, result, checked_at);
//!    reports without the old `versions` map give one pseudo-version `*` in which a later
//!    invocation overrides an earlier one;
//! 2. the newest row per (subject, scope, version, testcase) is kept;
//! 3. rows of testcases the scope does not know are ignored; a row expires at
//!    [`expiry`]`(checked_at, lifetime)`;
//! 4. the newest surviving row per testcase counts, whatever its version;
//! 5. the versions listed in the timeline entry in force on the date are evaluated per target
//!    (FAIL > MISSING > ABORT > PASS); a version's result is its `main` target's;
//! 6. the headline walks these versions in scope order, skipping drafts (unless `full`): every
//!    non-FAIL version is "passed", the first non-draft one wins and stops the walk; the headline
//!    result is that of the last version visited, its validity the winner's (else deprecated);
//! 7. the symbol: 🛑 FAIL, 🟧 MISSING, ✅* inconclusive (ABORT), ✅ PASS; a non-FAIL result shows
//!    🟧 when the validity is warn and 🛑 when deprecated; no data is `🛑 –`.
//!
//! This module computes; `render.rs` draws the result: a terminal table, Markdown, JSON and an
//! SVG badge per subject and scope (re-exported here).

mod render;

pub use render::{badge_file_name, render_badge, render_json, render_markdown, render_table, slug};

use crate::report::Report;
use crate::spec::{Lifetime, Scope, Validity};
use crate::verdict::{Aggregate, Verdict};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use indexmap::IndexMap;
use serde::Serialize;
use std::collections::BTreeMap;

/// The first instant at which a result checked at `checked_at` is no longer valid: the end of
/// the next day, week (Monday to Sunday), month or quarter; for `year`, day 1 of the month after
/// next, one year later.
pub fn expiry(checked_at: NaiveDateTime, lifetime: Lifetime) -> NaiveDateTime {
    let d = checked_at.date();
    let first_of = |year: i32, month0: i32| -> NaiveDate {
        let y = year + month0.div_euclid(12);
        let m = month0.rem_euclid(12) as u32 + 1;
        NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(NaiveDate::MAX)
    };
    let month0 = d.month0() as i32;
    let day = match lifetime {
        Lifetime::Day => d + Duration::days(2),
        Lifetime::Week => {
            d - Duration::days(i64::from(d.weekday().num_days_from_monday())) + Duration::days(14)
        }
        Lifetime::Month => first_of(d.year(), month0 + 2),
        Lifetime::Quarter => first_of(d.year(), month0 - month0 % 3 + 6),
        Lifetime::Year => first_of(d.year() + 1, month0 + 2),
    };
    day.and_time(NaiveTime::MIN)
}

/// One stored result, as the monitor keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultRow {
    /// The subject of the report.
    pub subject: String,
    /// The scope uuid.
    pub scope: String,
    /// The version (`*` for reports without the old `versions` map).
    pub version: String,
    /// The testcase id.
    pub testcase: String,
    /// The verdict.
    pub result: Verdict,
    /// When the report was made.
    #[serde(with = "crate::report::naive_timestamp")]
    pub checked_at: NaiveDateTime,
    /// The report's run uuid.
    pub report: String,
}

/// The rows the monitor would store for one report.
pub fn rows_from_report(report: &Report) -> Vec<ResultRow> {
    let row = |version: &str, testcase: &str, result: Verdict| ResultRow {
        subject: report.subject.clone(),
        scope: report.spec.uuid.clone(),
        version: version.to_string(),
        testcase: testcase.to_string(),
        result,
        checked_at: report.checked_at,
        report: report.run.uuid.clone(),
    };
    if let Some(versions) = &report.versions {
        let mut out = Vec::new();
        for (name, results) in versions {
            for (id, r) in results {
                if let Some(v) = r.result.and_then(|v| Verdict::from_int(v.into())) {
                    out.push(row(name, id, v));
                }
            }
        }
        return out;
    }
    let mut merged: IndexMap<&str, Verdict> = IndexMap::new();
    for inv in report.run.invocations.values() {
        for (id, v) in inv.verdicts() {
            merged.insert(id, v);
        }
    }
    merged
        .into_iter()
        .map(|(id, v)| row(crate::report::PSEUDO_VERSION, id, v))
        .collect()
}

/// The colour symbol of a status cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Symbol {
    /// ✅: passes.
    Pass,
    /// ✅*: passes, with some testcase inconclusive (ABORT).
    Inconclusive,
    /// 🟧: something missing, or a version about to expire.
    Missing,
    /// 🛑: failing, deprecated, or no data.
    Fail,
}

impl Symbol {
    /// The monitor's text symbol.
    pub fn emoji(self) -> &'static str {
        match self {
            Symbol::Pass => "✅",
            Symbol::Inconclusive => "✅*",
            Symbol::Missing => "🟧",
            Symbol::Fail => "🛑",
        }
    }

    /// A word for plain-text contexts.
    pub fn word(self) -> &'static str {
        match self {
            Symbol::Pass => "PASS",
            Symbol::Inconclusive => "INCONCLUSIVE",
            Symbol::Missing => "MISSING",
            Symbol::Fail => "FAIL",
        }
    }

    /// Badge colour.
    pub fn color(self) -> &'static str {
        match self {
            Symbol::Pass => "#4c1",
            Symbol::Inconclusive => "#97ca00",
            Symbol::Missing => "#fe7d37",
            Symbol::Fail => "#e05d44",
        }
    }
}

/// One testcase's standing.
#[derive(Debug, Clone, Serialize)]
pub struct TestcaseStatus {
    /// The newest valid verdict; `None` when there is none (MISSING).
    pub result: Option<Verdict>,
    /// When that verdict was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<String>,
    /// When it stops counting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The report it comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
}

/// One version's standing.
#[derive(Debug, Clone, Serialize)]
pub struct VersionStatus {
    /// Version name.
    pub name: String,
    /// Validity on the score card's date.
    pub validity: &'static str,
    /// The `main` target's result (MISSING when the version has no `main`).
    pub result: Aggregate,
    /// Every target's result.
    pub targets: BTreeMap<String, Aggregate>,
}

/// One subject's standing in one scope.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectStatus {
    /// Subject name.
    pub subject: String,
    /// Scope uuid.
    pub scope: String,
    /// Scope display name.
    pub scope_name: String,
    /// The headline result (`None`: no data, or no version to show).
    pub result: Option<Aggregate>,
    /// The winner's validity, or `deprecated` when no version passes.
    pub validity: &'static str,
    /// The versions not failing, in walk order.
    pub passed: Vec<String>,
    /// `passed` with suffixes: `*` draft, `†` warn, `††` deprecated.
    pub passed_str: String,
    /// The colour symbol.
    pub symbol: Symbol,
    /// The cell text: symbol and `passed_str` (or `–`).
    pub text: String,
    /// The explicit versions, in scope order (drafts included).
    pub versions: Vec<VersionStatus>,
    /// Testcases of the scope's versions with their standing.
    pub testcases: BTreeMap<String, TestcaseStatus>,
    /// Result rows whose testcase the scope does not know (ignored, as the monitor does).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_testcases: Vec<String>,
    /// Number of results dropped because they expired.
    pub expired: usize,
}

/// A score card over a set of reports.
#[derive(Debug, Clone, Serialize)]
pub struct Scorecard {
    /// The instant expiry is judged at (naive, same clock as `checked_at`).
    #[serde(with = "crate::report::naive_timestamp")]
    pub at: NaiveDateTime,
    /// The date the timeline is read on.
    pub date: NaiveDate,
    /// Whether drafts count for the headline (the monitor's `_full` views).
    pub full: bool,
    /// One entry per subject and scope, by subject then scope name.
    pub entries: Vec<SubjectStatus>,
    /// Scope uuids found in reports that no given scope has.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_scopes: Vec<String>,
}

/// Computes the score card of `reports` at instant `at`, with the timeline read on `date`.
pub fn compute(
    reports: &[Report],
    scopes: &[Scope],
    at: NaiveDateTime,
    date: NaiveDate,
    full: bool,
) -> Scorecard {
    // Steps 1-2: newest row per (subject, scope, version, testcase); on equal timestamps the
    // later report wins.
    let mut newest: IndexMap<(String, String, String, String), ResultRow> = IndexMap::new();
    for report in reports {
        for row in rows_from_report(report) {
            let key = (
                row.subject.clone(),
                row.scope.clone(),
                row.version.clone(),
                row.testcase.clone(),
            );
            match newest.get(&key) {
                Some(prev) if prev.checked_at > row.checked_at => {}
                _ => {
                    newest.insert(key, row);
                }
            }
        }
    }
    let mut unknown_scopes = Vec::new();
    let mut groups: BTreeMap<(String, String), Vec<ResultRow>> = BTreeMap::new();
    for row in newest.into_values() {
        if !scopes.iter().any(|s| s.uuid == row.scope) {
            if !unknown_scopes.contains(&row.scope) {
                unknown_scopes.push(row.scope.clone());
            }
            continue;
        }
        groups
            .entry((row.subject.clone(), row.scope.clone()))
            .or_default()
            .push(row);
    }
    let mut entries: Vec<SubjectStatus> = groups
        .into_iter()
        .map(|((subject, uuid), rows)| {
            let scope = scopes
                .iter()
                .find(|s| s.uuid == uuid)
                .expect("grouped by known scope");
            status(&subject, scope, &rows, at, date, full)
        })
        .collect();
    entries.sort_by(|a, b| (&a.subject, &a.scope_name).cmp(&(&b.subject, &b.scope_name)));
    Scorecard {
        at,
        date,
        full,
        entries,
        unknown_scopes,
    }
}

/// Steps 3-7 for one subject and scope.
fn status(
    subject: &str,
    scope: &Scope,
    rows: &[ResultRow],
    at: NaiveDateTime,
    date: NaiveDate,
    full: bool,
) -> SubjectStatus {
    let mut unknown = Vec::new();
    let mut expired = 0;
    let mut best: BTreeMap<&str, (&ResultRow, NaiveDateTime)> = BTreeMap::new();
    for row in rows {
        let Some(tc) = scope.testcases.get(&row.testcase) else {
            if !unknown.contains(&row.testcase) {
                unknown.push(row.testcase.clone());
            }
            continue;
        };
        let until = expiry(row.checked_at, tc.lifetime);
        if at >= until {
            expired += 1;
            continue;
        }
        match best.get(row.testcase.as_str()) {
            Some((prev, _)) if prev.checked_at > row.checked_at => {}
            _ => {
                best.insert(&row.testcase, (row, until));
            }
        }
    }
    let listed = crate::plan::applicable_entry(&scope.timeline, date).map(|e| &e.versions);
    let mut testcases = BTreeMap::new();
    let mut versions = Vec::new();
    for version in &scope.versions {
        let Some(validity) = listed.and_then(|l| l.get(&version.name)).copied() else {
            continue;
        };
        let mut targets = BTreeMap::new();
        for (target, ids) in &version.targets {
            let results = ids
                .iter()
                .map(|id| best.get(id.as_str()).map(|(r, _)| r.result));
            targets.insert(target.clone(), Aggregate::of(results));
            for id in ids {
                testcases
                    .entry(id.clone())
                    .or_insert_with(|| match best.get(id.as_str()) {
                        Some((r, until)) => TestcaseStatus {
                            result: Some(r.result),
                            checked_at: Some(crate::report::naive_timestamp::format(&r.checked_at)),
                            expires_at: Some(crate::report::naive_timestamp::format(until)),
                            report: Some(r.report.clone()),
                        },
                        None => TestcaseStatus {
                            result: None,
                            checked_at: None,
                            expires_at: None,
                            report: None,
                        },
                    });
            }
        }
        versions.push((
            VersionStatus {
                name: version.name.clone(),
                validity: validity.as_str(),
                result: targets.get("main").copied().unwrap_or(Aggregate::Missing),
                targets,
            },
            validity,
        ));
    }

    // Step 6: the headline.
    let mut passed: Vec<(String, Validity)> = Vec::new();
    let mut winner: Option<Validity> = None;
    let mut last: Option<Aggregate> = None;
    for (v, validity) in &versions {
        if *validity == Validity::Draft && !full {
            continue;
        }
        last = Some(v.result);
        if v.result != Aggregate::Fail {
            passed.push((v.name.clone(), *validity));
            if *validity != Validity::Draft {
                winner = Some(*validity);
                break;
            }
        }
    }
    let no_data = best.is_empty();
    let result = if no_data { None } else { last };
    let validity = winner.unwrap_or(Validity::Deprecated);
    let passed_str = passed
        .iter()
        .map(|(name, v)| {
            let suffix = match v {
                Validity::Draft => "*",
                Validity::Warn => "†",
                Validity::Deprecated => "††",
                Validity::Effective => "",
            };
            format!("{name}{suffix}")
        })
        .collect::<Vec<_>>()
        .join(", ");
    let symbol = match result {
        None | Some(Aggregate::Fail) => Symbol::Fail,
        Some(r) => match validity {
            Validity::Deprecated => Symbol::Fail,
            Validity::Warn => Symbol::Missing,
            _ => match r {
                Aggregate::Missing => Symbol::Missing,
                Aggregate::Abort => Symbol::Inconclusive,
                _ => Symbol::Pass,
            },
        },
    };
    let shown = if no_data || passed_str.is_empty() {
        "–".to_string()
    } else {
        passed_str.clone()
    };
    SubjectStatus {
        subject: subject.to_string(),
        scope: scope.uuid.clone(),
        scope_name: scope.name.clone(),
        result,
        validity: validity.as_str(),
        passed: passed.into_iter().map(|(n, _)| n).collect(),
        text: format!("{} {shown}", symbol.emoji()),
        passed_str,
        symbol,
        versions: versions.into_iter().map(|(v, _)| v).collect(),
        testcases,
        unknown_testcases: unknown,
        expired,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> NaiveDateTime {
        crate::report::naive_timestamp::parse(s).unwrap()
    }

    /// Every boundary listed in the reference document, plus the instant just before each.
    #[test]
    fn expiry_boundaries() {
        let cases = [
            (Lifetime::Day, "2025-01-01 12:00:00", "2025-01-03 00:00:00"),
            (Lifetime::Day, "2025-12-31 23:59:59", "2026-01-02 00:00:00"),
            (Lifetime::Week, "2025-01-01 00:00:00", "2025-01-13 00:00:00"),
            (Lifetime::Week, "2025-01-06 00:00:00", "2025-01-20 00:00:00"),
            (Lifetime::Week, "2025-01-05 23:59:59", "2025-01-13 00:00:00"),
            (
                Lifetime::Month,
                "2025-01-15 08:00:00",
                "2025-03-01 00:00:00",
            ),
            (
                Lifetime::Month,
                "2025-11-30 08:00:00",
                "2026-01-01 00:00:00",
            ),
            (
                Lifetime::Month,
                "2025-12-01 00:00:00",
                "2026-02-01 00:00:00",
            ),
            (
                Lifetime::Quarter,
                "2025-01-01 00:00:00",
                "2025-07-01 00:00:00",
            ),
            (
                Lifetime::Quarter,
                "2025-03-31 23:00:00",
                "2025-07-01 00:00:00",
            ),
            (
                Lifetime::Quarter,
                "2025-05-10 00:00:00",
                "2025-10-01 00:00:00",
            ),
            (
                Lifetime::Quarter,
                "2025-10-01 00:00:00",
                "2026-04-01 00:00:00",
            ),
            (
                Lifetime::Quarter,
                "2025-12-31 00:00:00",
                "2026-04-01 00:00:00",
            ),
            (Lifetime::Year, "2025-01-20 00:00:00", "2026-03-01 00:00:00"),
            (Lifetime::Year, "2025-11-02 00:00:00", "2027-01-01 00:00:00"),
            (Lifetime::Year, "2025-12-31 00:00:00", "2027-02-01 00:00:00"),
        ];
        for (lifetime, checked, until) in cases {
            assert_eq!(
                expiry(ts(checked), lifetime),
                ts(until),
                "{lifetime:?} {checked}"
            );
        }
    }

    pub(super) const SCOPE: &str = r#"
name: Card scope
uuid: 11111111-2222-4333-8444-555555555555
url: https://example.invalid/card.yaml
scripts:
  - executable: ./x.sh
    testcases:
      - id: t-day
        lifetime: day
      - id: t-week
      - id: t-month
        lifetime: month
      - id: t-quarter
        lifetime: quarter
      - id: t-year
        lifetime: year
      - id: t-new
modules:
  - id: m-old
    targets:
      main: [t-day, t-week, t-month, t-quarter, t-year]
  - id: m-new
    targets:
      main: [t-week, t-new]
      preview: [t-year]
versions:
  - version: v3
    include: [m-new]
  - version: v2
    stabilized_at: 2025-01-01
    include: [m-new]
  - version: v1
    stabilized_at: 2024-01-01
    include: [m-old]
timeline:
  - date: 2025-06-01
    versions:
      v3: draft
      v2: effective
      v1: warn
  - date: 2025-09-01
    versions:
      v3: draft
      v2: effective
      v1: deprecated
"#;

    fn scope() -> Scope {
        crate::spec::load_str(SCOPE, crate::spec::Origin::Builtin("card".into()), None).unwrap()
    }

    fn report(subject: &str, checked: &str, results: &[(&str, i8)]) -> Report {
        let mut text = format!(
            "---\nspec:\n  uuid: 11111111-2222-4333-8444-555555555555\nchecked_at: {checked}\nsubject: {subject}\nrun:\n  uuid: {}\n  invocations:\n    i1:\n      id: i1\n      results:\n",
            uuid::Uuid::new_v4()
        );
        for (id, v) in results {
            text.push_str(&format!("        {id}: {v}\n"));
        }
        crate::report::read_reports(&text).unwrap().remove(0)
    }

    fn card(reports: &[Report], at: &str, full: bool) -> Scorecard {
        let at = ts(at);
        compute(reports, &[scope()], at, at.date(), full)
    }

    const ALL_PASS: &[(&str, i8)] = &[
        ("t-day", 1),
        ("t-week", 1),
        ("t-month", 1),
        ("t-quarter", 1),
        ("t-year", 1),
        ("t-new", 1),
    ];

    #[test]
    fn effective_pass_wins_and_stops_the_walk() {
        let c = card(
            &[report("a", "2025-07-01 10:00:00", ALL_PASS)],
            "2025-07-02 00:00:00",
            false,
        );
        let e = &c.entries[0];
        assert_eq!(e.result, Some(Aggregate::Pass));
        assert_eq!(e.passed, vec!["v2"]);
        assert_eq!(e.text, "✅ v2");
        assert_eq!(e.validity, "effective");
        // The draft is evaluated but not part of the headline.
        assert_eq!(
            e.versions
                .iter()
                .map(|v| v.name.as_str())
                .collect::<Vec<_>>(),
            ["v3", "v2", "v1"]
        );
    }

    #[test]
    fn drafts_count_only_in_the_full_view() {
        let c = card(
            &[report("a", "2025-07-01 10:00:00", ALL_PASS)],
            "2025-07-02 00:00:00",
            true,
        );
        assert_eq!(c.entries[0].passed_str, "v3*, v2");
        assert_eq!(c.entries[0].text, "✅ v3*, v2");
    }

    #[test]
    fn warn_version_is_orange_with_dagger() {
        // v2 fails (t-new), v1 passes but is in warn: 🟧 v1†.
        let mut r = ALL_PASS.to_vec();
        r[5] = ("t-new", -1);
        let c = card(
            &[report("a", "2025-07-01 10:00:00", &r)],
            "2025-07-02 00:00:00",
            false,
        );
        let e = &c.entries[0];
        assert_eq!(e.result, Some(Aggregate::Pass));
        assert_eq!(e.validity, "warn");
        assert_eq!(e.symbol, Symbol::Missing);
        assert_eq!(e.text, "🟧 v1†");
    }

    #[test]
    fn deprecated_version_is_red_with_double_dagger() {
        let mut r = ALL_PASS.to_vec();
        r[5] = ("t-new", -1);
        let c = card(
            &[report("a", "2025-09-02 10:00:00", &r)],
            "2025-09-03 00:00:00",
            false,
        );
        let e = &c.entries[0];
        assert_eq!(e.validity, "deprecated");
        assert_eq!(e.symbol, Symbol::Fail);
        assert_eq!(e.text, "🛑 v1††");
    }

    #[test]
    fn all_failing_is_red_dash_and_last_result_counts() {
        let c = card(
            &[report(
                "a",
                "2025-07-01 10:00:00",
                &[("t-new", -1), ("t-day", -1)],
            )],
            "2025-07-02 00:00:00",
            false,
        );
        let e = &c.entries[0];
        assert_eq!(e.result, Some(Aggregate::Fail));
        assert_eq!(e.validity, "deprecated");
        assert_eq!(e.text, "🛑 –");
    }

    #[test]
    fn missing_and_abort_symbols() {
        let c = card(
            &[report("a", "2025-07-01 10:00:00", &[("t-week", 1)])],
            "2025-07-02 00:00:00",
            false,
        );
        assert_eq!(c.entries[0].result, Some(Aggregate::Missing));
        assert_eq!(c.entries[0].text, "🟧 v2");
        let c = card(
            &[report(
                "a",
                "2025-07-01 10:00:00",
                &[("t-week", 1), ("t-new", 0)],
            )],
            "2025-07-02 00:00:00",
            false,
        );
        assert_eq!(c.entries[0].result, Some(Aggregate::Abort));
        assert_eq!(c.entries[0].text, "✅* v2");
    }

    #[test]
    fn newest_result_per_testcase_wins_and_expired_ones_drop() {
        let old = report("a", "2025-07-01 10:00:00", &[("t-week", -1), ("t-new", 1)]);
        let new = report("a", "2025-07-02 10:00:00", &[("t-week", 1)]);
        // Order of the files does not matter: the newer result counts.
        let c = card(&[new.clone(), old.clone()], "2025-07-03 00:00:00", false);
        assert_eq!(c.entries[0].text, "✅ v2");
        // Week results from Tue 2025-07-01 / Wed 07-02 expire on Mon 2025-07-14.
        let c = card(&[old.clone(), new.clone()], "2025-07-13 23:59:59", false);
        assert_eq!(c.entries[0].result, Some(Aggregate::Pass));
        let c = card(&[old, new], "2025-07-14 00:00:00", false);
        // The older t-week row was superseded before expiry: two rows expire.
        assert_eq!(c.entries[0].expired, 2);
        assert_eq!(c.entries[0].result, None);
        assert_eq!(c.entries[0].text, "🛑 –");
    }

    #[test]
    fn each_lifetime_expires_at_its_boundary() {
        // Checked Wed 2025-07-02: day → 07-04, week → 07-14, month → 09-01,
        // quarter (Q3) → 2026-01-01, year → 2026-09-01.
        let r = report("a", "2025-07-02 10:00:00", ALL_PASS);
        for (id, until) in [
            ("t-day", "2025-07-04 00:00:00"),
            ("t-week", "2025-07-14 00:00:00"),
            ("t-month", "2025-09-01 00:00:00"),
            ("t-quarter", "2026-01-01 00:00:00"),
            ("t-year", "2026-09-01 00:00:00"),
        ] {
            let before = ts(until) - Duration::seconds(1);
            let c = compute(
                std::slice::from_ref(&r),
                &[scope()],
                before,
                before.date(),
                false,
            );
            assert!(
                c.entries[0].testcases[id].result.is_some(),
                "{id} before {until}"
            );
            assert_eq!(
                c.entries[0].testcases[id].expires_at.as_deref(),
                Some(&*format!("{until}.000000"))
            );
            let c = compute(
                std::slice::from_ref(&r),
                &[scope()],
                ts(until),
                ts(until).date(),
                false,
            );
            assert!(
                c.entries[0]
                    .testcases
                    .get(id)
                    .is_none_or(|t| t.result.is_none()),
                "{id} at {until}"
            );
        }
    }

    #[test]
    fn unknown_scopes_and_testcases_are_reported() {
        let mut r = report(
            "a",
            "2025-07-01 10:00:00",
            &[("t-week", 1), ("old-check", 1)],
        );
        let c = card(std::slice::from_ref(&r), "2025-07-02 00:00:00", false);
        assert_eq!(c.entries[0].unknown_testcases, vec!["old-check"]);
        r.spec.uuid = "other".into();
        let c = card(&[r], "2025-07-02 00:00:00", false);
        assert!(c.entries.is_empty());
        assert_eq!(c.unknown_scopes, vec!["other"]);
    }

    #[test]
    fn later_invocation_overrides_earlier_in_one_report() {
        let text = "---\nspec: {uuid: u}\nchecked_at: 2025-07-01 00:00:00\nsubject: s\nrun:\n  uuid: r\n  invocations:\n    a: {results: {t: -1}}\n    b: {results: {t: 1}}\n";
        let r = crate::report::read_reports(text).unwrap().remove(0);
        let rows = rows_from_report(&r);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].result, Verdict::Pass);
        assert_eq!(rows[0].version, "*");
    }

    #[test]
    fn renderers() {
        let reports = [
            report("alpha", "2025-07-01 10:00:00", ALL_PASS),
            report(
                "beta",
                "2025-07-01 10:00:00",
                &[("t-new", -1), ("t-week", -1)],
            ),
        ];
        let c = card(&reports, "2025-07-02 00:00:00", false);
        let md = render_markdown(&c);
        assert_eq!(
            md,
            "| Subject | Card scope |\n|---|---|\n| alpha | ✅ v2 |\n| beta | 🛑 – |\n"
        );
        let table = render_table(&c);
        assert!(
            table.contains("alpha") && table.contains("✅ v2 [PASS]"),
            "{table}"
        );
        let json: serde_json::Value = serde_json::from_str(&render_json(&c)).unwrap();
        assert_eq!(json["entries"][1]["symbol"], "fail");
        let svg = render_badge(&c.entries[0]);
        assert!(svg.starts_with("<svg") && svg.contains("pass v2") && svg.contains("#4c1"));
        assert_eq!(badge_file_name(&c.entries[0]), "alpha--Card-scope.svg");
    }
}
