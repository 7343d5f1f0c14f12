//! Version selection: which versions of a scope are valid on the reference date (the
//! timeline entry in force), and which versions a run selects (the valid ones, or those `-V`
//! forces).

use super::{PlanError, Selection};
use crate::spec::{Scope, TimelineEntry, Validity};
use chrono::NaiveDate;

/// Validity of every version on `date`, as the reference's `annotate_validity` computes it:
/// the timeline entry with the greatest date not after `date` applies; listed versions get their
/// code, the others are deprecated without an explicit code. Without such an entry every version
/// is implicitly deprecated. Returns `(name, validity, explicit)` in scope order.
pub fn annotate_validity(
    scope: &Scope,
    date: NaiveDate,
) -> Vec<(String, Validity, Option<Validity>)> {
    let entry = applicable_entry(&scope.timeline, date);
    scope
        .versions
        .iter()
        .map(|v| {
            let explicit = entry.and_then(|e| e.versions.get(&v.name).copied());
            (
                v.name.clone(),
                explicit.unwrap_or(Validity::Deprecated),
                explicit,
            )
        })
        .collect()
}

/// The timeline entry in force on `date` (greatest date ≤ `date`; on equal dates the first in
/// file order), independent of the order the file lists them in.
pub fn applicable_entry(timeline: &[TimelineEntry], date: NaiveDate) -> Option<&TimelineEntry> {
    let mut best: Option<&TimelineEntry> = None;
    for entry in timeline.iter().filter(|e| e.date <= date) {
        if best.is_none_or(|b| entry.date > b.date) {
            best = Some(entry);
        }
    }
    best
}

/// The versions to run, in scope order, with their validity on `date`.
pub(super) fn choose_versions(
    scope: &Scope,
    selection: &Selection,
    date: NaiveDate,
) -> Result<Vec<(String, Validity, Option<Validity>)>, PlanError> {
    let annotated = annotate_validity(scope, date);
    if !selection.forced_versions.is_empty() {
        for name in &selection.forced_versions {
            if scope.version(name).is_none() {
                return Err(PlanError::UnknownVersion {
                    name: name.clone(),
                    known: scope.versions.iter().map(|v| v.name.clone()).collect(),
                });
            }
        }
        return Ok(annotated
            .into_iter()
            .filter(|(name, _, _)| selection.forced_versions.contains(name))
            .collect());
    }
    let chosen: Vec<_> = annotated
        .into_iter()
        .filter(|(_, _, explicit)| explicit.is_some())
        .collect();
    if chosen.is_empty() {
        let detail = if scope.timeline.is_empty() {
            "the timeline has no entries".to_string()
        } else {
            let mut dates: Vec<NaiveDate> = scope.timeline.iter().map(|e| e.date).collect();
            dates.sort();
            let list = dates
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            match applicable_entry(&scope.timeline, date) {
                None => format!("the first timeline entry is later; entries: {list}"),
                Some(e) => format!(
                    "the entry of {} lists no version of this scope; entries: {list}",
                    e.date
                ),
            }
        };
        return Err(PlanError::NoValidVersion { date, detail });
    }
    Ok(chosen)
}
