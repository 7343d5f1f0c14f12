//! scs-0102 (image metadata): one probe answering every `scs-0102-prop-*` testcase,
//! `scs-0102-image-recency` and `scs-0102-os_purpose-uniqueness`.
//!
//! The image listing is read once (from the run's snapshot) and every requested testcase is
//! judged on it. Only images with visibility `public` or `community` count, as in the reference
//! suite. The rules are pure functions of an [`Image`] (and "now" from the injectable clock), so
//! they are table-tested without a cloud; dates are parsed exactly like the reference's Python
//! `strptime` calls (see [`parse_date`]).
//!
//! Divergences from the reference suite (recorded in `docs/divergences.md`): an image with
//! `min_disk` but without data (`size` null) is judged on `min_disk` alone instead of aborting the
//! testcase, and an outdated image without `provided_until` counts as still promised (it needs a
//! replacement) instead of aborting `scs-0102-image-recency`.
//!
//! This file holds the testcase list, the probe and the dispatch per testcase; the rules are in
//! `properties` (the `scs-0102-prop-*` testcases), `recency`, `uniqueness` and `dates`.

mod dates;
mod properties;
mod recency;
mod uniqueness;

pub use dates::{DATE_FORMATS, NAME_DATE_FORMATS, parse_created_at, parse_date, strptime};
pub use properties::{
    build_date_problems, min_disk_problem, property_problems, valid_hotfix_hours,
    valid_image_source, valid_uuid_validity,
};
use recency::judge_recency;
pub use recency::{
    Freshness, allowed_age, freshness, is_marked, lookup, recency_problems, replacement_name,
};
pub use uniqueness::duplicate_generic_groups;
use uniqueness::judge_uniqueness;

use super::common::{self, FnProbe, abort_all};
use crate::openstack::models::Image;
use crate::probes::{Outcome, ProbeContext};
use chrono::{DateTime, Utc};
use futures::FutureExt;
use std::sync::Arc;

/// The probe's name in the registry.
pub const PROBE_NAME: &str = "scs-0102-image-metadata";

/// The id of the recency testcase.
pub const RECENCY: &str = "scs-0102-image-recency";
/// The id of the uniqueness testcase.
pub const UNIQUENESS: &str = "scs-0102-os_purpose-uniqueness";

/// The property testcases (`scs-0102-prop-<key>`), by their key.
pub const PROPERTY_KEYS: &[&str] = &[
    "architecture",
    "hash_algo",
    "min_disk",
    "min_ram",
    "os_version",
    "os_distro",
    "os_purpose",
    "hw_disk_bus",
    "hypervisor_type",
    "hw_rng_model",
    "image_build_date",
    "image_original_user",
    "image_source",
    "image_description",
    "replace_frequency",
    "provided_until",
    "uuid_validity",
    "hotfix_hours",
];

/// Accepted `architecture` values.
pub const ARCHITECTURES: &[&str] = &["x86_64", "aarch64", "risc-v"];
/// Accepted `os_hash_algo` values.
pub const HASH_ALGOS: &[&str] = &["sha256", "sha512"];
/// Accepted `os_purpose` values (scs-0102-v2).
pub const OS_PURPOSES: &[&str] = &[
    "generic",
    "oldgeneric",
    "minimal",
    "k8snode",
    "gpu",
    "network",
    "custom",
];
/// Accepted `hw_disk_bus` values (when set).
pub const DISK_BUSES: &[&str] = &["virtio", "scsi"];
/// Accepted `hypervisor_type` values (when set).
pub const HYPERVISORS: &[&str] = &["qemu", "kvm", "xen", "hyper-v", "esxi"];
/// Accepted `hw_rng_model` values (when set).
pub const RNG_MODELS: &[&str] = &["virtio"];
/// Accepted `replace_frequency` values.
pub const FREQUENCIES: &[&str] = &[
    "never",
    "critical_bug",
    "yearly",
    "quarterly",
    "monthly",
    "weekly",
    "daily",
];
/// URL schemes accepted in `image_source`.
pub const SOURCE_SCHEMES: &[&str] = &["http", "https", "ftp", "ftps"];

/// Every testcase id this probe answers.
pub fn testcases() -> Vec<String> {
    let mut ids: Vec<String> = PROPERTY_KEYS
        .iter()
        .map(|k| format!("scs-0102-prop-{k}"))
        .collect();
    ids.push(RECENCY.to_string());
    ids.push(UNIQUENESS.to_string());
    ids
}

/// The scs-0102 probe.
pub fn probe() -> Arc<FnProbe> {
    FnProbe::new(PROBE_NAME, testcases(), |ctx, ids| run(ctx, ids).boxed())
}

async fn run(ctx: &ProbeContext, ids: &[String]) -> Vec<Outcome> {
    let images = match common::images(ctx).await {
        Ok(images) => images,
        Err(reason) => return abort_all(ids, &reason),
    };
    // The recency rules fall back to the registration date: Glance always sends it.
    let listed = listed_images(&images);
    if let Err(reason) = common::require_image_fields(listed.iter().copied(), &["created_at"]) {
        return abort_all(ids, &reason);
    }
    let now = ctx.clock.now();
    if listed.len() < JUDGE_APART_FROM {
        return ids.iter().map(|id| judge(id, &listed, now)).collect();
    }
    drop(listed);
    judge_on_threads(images, ids, now).await
}

/// From how many listed images on the testcases are judged on threads of their own.
const JUDGE_APART_FROM: usize = 500;

/// Judges the testcases on blocking threads, one lane per core, testcases dealt round-robin:
/// 16 testcases over thousands of images are some 15 ms of CPU, which should neither hold a
/// worker of the async runtime nor wait for one core while others are idle. Outcomes come back
/// in the order of `ids`; a lane that stops (a panic) makes its testcases ABORT.
async fn judge_on_threads(
    images: Arc<Vec<Image>>,
    ids: &[String],
    now: DateTime<Utc>,
) -> Vec<Outcome> {
    let lanes = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, ids.len().max(1));
    let tasks: Vec<_> = (0..lanes)
        .map(|lane| {
            let images = images.clone();
            let mine: Vec<(usize, String)> = ids
                .iter()
                .enumerate()
                .filter(|(i, _)| i % lanes == lane)
                .map(|(i, id)| (i, id.clone()))
                .collect();
            tokio::task::spawn_blocking(move || {
                let listed = listed_images(&images);
                mine.into_iter()
                    .map(|(i, id)| (i, judge(&id, &listed, now)))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; ids.len()];
    for task in tasks {
        if let Ok(judged) = task.await {
            for (i, outcome) in judged {
                outcomes[i] = Some(outcome);
            }
        }
    }
    ids.iter()
        .zip(outcomes)
        .map(|(id, outcome)| {
            outcome.unwrap_or_else(|| Outcome::abort(id, "internal error: the judging stopped"))
        })
        .collect()
}

/// The images the reference judges: visibility `public` or `community`, in listing order.
pub fn listed_images(all: &[Image]) -> Vec<&Image> {
    all.iter()
        .filter(|i| matches!(i.visibility.as_deref(), Some("public" | "community")))
        .collect()
}

/// Judges one testcase id on the listed images at `now`.
pub fn judge(id: &str, images: &[&Image], now: DateTime<Utc>) -> Outcome {
    if id == RECENCY {
        return judge_recency(id, images, now);
    }
    if id == UNIQUENESS {
        return judge_uniqueness(id, images);
    }
    let Some(key) = id.strip_prefix("scs-0102-prop-") else {
        return Outcome::abort(id, "not an scs-0102 testcase");
    };
    if !PROPERTY_KEYS.contains(&key) {
        return Outcome::abort(id, format!("unknown image property testcase `{key}`"));
    }
    let mut evidence = Vec::new();
    let mut offenders = 0;
    for image in images {
        let problems = property_problems(key, image, now);
        if !problems.is_empty() {
            offenders += 1;
        }
        evidence.extend(problems);
    }
    if images.is_empty() {
        Outcome::pass(
            id,
            format!("0 public or community images: nothing to check for `{key}`"),
        )
    } else if offenders == 0 {
        Outcome::pass(
            id,
            format!(
                "checked `{key}` on {} public or community image(s): all valid",
                images.len()
            ),
        )
    } else {
        Outcome::fail(
            id,
            format!(
                "{offenders} of {} public images have a missing or invalid `{key}`",
                images.len()
            ),
        )
        .with_evidence(evidence)
    }
}

/// The display name of an image (its id when it has no name).
pub fn image_name(image: &Image) -> &str {
    image.name.as_deref().unwrap_or(&image.id)
}

fn object(image: &Image) -> String {
    format!("image \"{}\"", image_name(image))
}

fn one_of(list: &[&str]) -> String {
    list.join(", ")
}

/// A property value that is missing, null or the empty string counts as absent.
fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests;
