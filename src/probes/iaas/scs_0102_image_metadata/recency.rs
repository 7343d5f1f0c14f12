//! scs-0102 recency (`scs-0102-image-recency`): allowed ages per `replace_frequency`, an
//! image's freshness, the marks of old versions and their replacements, and the verdict.

use super::dates::{NAME_DATE_FORMATS, parse_created_at, parse_date, strptime};
use super::{image_name, object};
use crate::openstack::models::Image;
use crate::probes::{Finding, Outcome};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// The allowed age of an image for a `replace_frequency`: 1.1 × the period (yearly 365 days,
/// quarterly 92 days, monthly 31 days, weekly 175 hours, daily 25 hours). `None`: no limit
/// (`never`, `critical_bug`, unknown values).
pub fn allowed_age(frequency: &str) -> Option<chrono::Duration> {
    let hours: i64 = match frequency {
        "yearly" => 365 * 24,
        "quarterly" => 92 * 24,
        "monthly" => 31 * 24,
        "weekly" => 175,
        "daily" => 25,
        _ => return None,
    };
    // 1.1 × period, exact in seconds
    Some(chrono::Duration::seconds(hours * 3600 * 11 / 10))
}

/// Where an image stands with respect to its update promise (steps 1–4 of the recency rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    /// Young enough, no update promise, or the promise is over or open-ended.
    Fine,
    /// Older than its `replace_frequency` allows while the promise holds.
    Outdated {
        /// What makes it outdated, in words.
        why: String,
    },
    /// `provided_until` is set but neither `none`, `notice` nor a date.
    BadProvidedUntil(String),
}

/// Steps 1–4: reference date (build date, else registration), allowed age, and the
/// `provided_until` promise (`none`/`notice` or a past date excuse an old image; a missing value
/// counts as a promise without end).
pub fn freshness(image: &Image, now: DateTime<Utc>) -> Freshness {
    let frequency = image.property_text("replace_frequency").unwrap_or_default();
    let Some(allowed) = allowed_age(frequency) else {
        return Freshness::Fine;
    };
    let reference = image
        .property_text("image_build_date")
        .and_then(parse_date)
        .or_else(|| image.created_at.as_deref().and_then(parse_created_at));
    let age_text = match reference {
        Some(t) if now - t <= allowed => return Freshness::Fine,
        Some(t) => format!(
            "built {} ({} days ago), more than the {:.1} days `replace_frequency` {frequency} allows",
            t.format("%Y-%m-%d"),
            (now - t).num_days(),
            allowed.num_seconds() as f64 / 86400.0
        ),
        None => {
            format!("has no valid build or registration date (`replace_frequency` {frequency})")
        }
    };
    match image.property("provided_until") {
        Some(v) if v == "none" || v == "notice" => Freshness::Fine,
        Some(v) => match parse_date(&v) {
            None => Freshness::BadProvidedUntil(v),
            Some(until) if now > until => Freshness::Fine,
            Some(_) => Freshness::Outdated {
                why: format!("{age_text}, while `provided_until` {v} still holds"),
            },
        },
        None => Freshness::Outdated {
            why: format!("{age_text}, and has no `provided_until`"),
        },
    }
}

/// Whether an image's name marks it as an old version: hidden, or the last space-separated word
/// is `old`, `prev` or a date (`YYYY-MM-DD` / `YYYYMMDD`).
pub fn is_marked(name: &str, hidden: bool) -> bool {
    if hidden {
        return true;
    }
    let Some((_, last)) = name.rsplit_once(' ') else {
        return false;
    };
    last == "old"
        || last == "prev"
        || NAME_DATE_FORMATS
            .iter()
            .any(|f| strptime(last, f).is_some())
}

/// The name of the image that should replace `name`: the name without its last word
/// (trailing spaces removed); `None` for names without a space.
pub fn replacement_name(name: &str) -> Option<&str> {
    name.rsplit_once(' ').map(|(head, _)| head.trim_end())
}

/// Images by name; for duplicate names the last one in listing order wins.
pub fn lookup<'a>(images: &[&'a Image]) -> HashMap<&'a str, &'a Image> {
    images
        .iter()
        .filter_map(|i| i.name.as_deref().map(|n| (n, *i)))
        .collect()
}

/// The recency problems of every listed image (empty when all comply).
pub fn recency_problems(images: &[&Image], now: DateTime<Utc>) -> Vec<Finding> {
    let by_name = lookup(images);
    let mut out = Vec::new();
    for image in images {
        let why = match freshness(image, now) {
            Freshness::Fine => continue,
            Freshness::BadProvidedUntil(v) => {
                out.push(
                    Finding::new(
                        object(image),
                        format!("is outdated and `provided_until` \"{v}\" is not valid"),
                    )
                    .expected_actual("none, notice or a date", v),
                );
                continue;
            }
            Freshness::Outdated { why } => why,
        };
        let name = image_name(image);
        let replacement = replacement_name(name).and_then(|r| by_name.get(r).map(|i| (r, *i)));
        match replacement {
            Some((_, r)) if freshness(r, now) == Freshness::Fine => {}
            Some((r, _)) => out.push(
                Finding::new(
                    object(image),
                    format!("{why}; its replacement \"{r}\" is outdated too"),
                )
                .expected_actual("an up-to-date replacement", format!("\"{r}\" outdated")),
            ),
            None => {
                let wanted = match replacement_name(name) {
                    Some(r) => format!("an image named \"{r}\""),
                    None => "a replacement (the name has no version suffix to drop)".into(),
                };
                let marked = if is_marked(name, image.os_hidden) {
                    ""
                } else {
                    " (its name is not marked as old either)"
                };
                out.push(
                    Finding::new(
                        object(image),
                        format!("{why}; outdated without replacement{marked}"),
                    )
                    .expected_actual(wanted, "none"),
                );
            }
        }
    }
    out
}

pub(super) fn judge_recency(id: &str, images: &[&Image], now: DateTime<Utc>) -> Outcome {
    let problems = recency_problems(images, now);
    if images.is_empty() {
        Outcome::pass(
            id,
            "0 public or community images: nothing to check for recency",
        )
    } else if problems.is_empty() {
        Outcome::pass(
            id,
            format!(
                "checked the age and replace_frequency of {} public or community image(s): none is outdated without replacement",
                images.len()
            ),
        )
    } else {
        Outcome::fail(
            id,
            format!(
                "{} image(s) outdated without a valid replacement",
                problems.len()
            ),
        )
        .with_evidence(problems)
    }
}
