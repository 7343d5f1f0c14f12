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

use super::common::{self, FnProbe, abort_all};
use crate::openstack::models::Image;
use crate::probes::{Finding, Outcome, ProbeContext};
use chrono::{DateTime, NaiveDate, Utc};
use futures::FutureExt;
use regex::Regex;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};

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
    let images = listed_images(&images);
    // The recency rules fall back to the registration date: Glance always sends it.
    if let Err(reason) = common::require_image_fields(images.iter().copied(), &["created_at"]) {
        return abort_all(ids, &reason);
    }
    let now = ctx.clock.now();
    ids.iter().map(|id| judge(id, &images, now)).collect()
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

/// What is wrong with one image for one property testcase (`key` as in [`PROPERTY_KEYS`]);
/// empty when the image complies.
pub fn property_problems(key: &str, image: &Image, now: DateTime<Utc>) -> Vec<Finding> {
    // Called for every image and testcase: texts are only made for a problem.
    let obj = || object(image);
    let in_list = |prop: &str, allowed: &[&str], required: bool| -> Option<Finding> {
        match image.property_text(prop) {
            None if required => Some(
                Finding::new(obj(), format!("`{prop}` is missing"))
                    .expected_actual(format!("one of {}", one_of(allowed)), "(missing)"),
            ),
            None => None,
            Some(v) if allowed.contains(&v) => None,
            Some(v) => Some(
                Finding::new(
                    obj(),
                    format!("`{prop}` \"{v}\" is not one of {}", one_of(allowed)),
                )
                .expected_actual(format!("one of {}", one_of(allowed)), v),
            ),
        }
    };
    let present = |prop: &str| -> Option<Finding> {
        match image.property_text(prop).filter(|v| !v.is_empty()) {
            Some(_) => None,
            None => Some(
                Finding::new(obj(), format!("`{prop}` is missing or empty"))
                    .expected_actual("a non-empty value", "(missing)"),
            ),
        }
    };
    let found = match key {
        "architecture" => in_list("architecture", ARCHITECTURES, true),
        "hash_algo" => in_list("os_hash_algo", HASH_ALGOS, true),
        "os_purpose" => in_list("os_purpose", OS_PURPOSES, true),
        "replace_frequency" => in_list("replace_frequency", FREQUENCIES, true),
        "hw_disk_bus" => in_list("hw_disk_bus", DISK_BUSES, false),
        "hypervisor_type" => in_list("hypervisor_type", HYPERVISORS, false),
        "hw_rng_model" => in_list("hw_rng_model", RNG_MODELS, false),
        "os_version"
        | "os_distro"
        | "image_original_user"
        | "image_description"
        | "provided_until" => present(key),
        "min_disk" => min_disk_problem(image.min_disk, image.size)
            .map(|(msg, exp, act)| Finding::new(obj(), msg).expected_actual(exp, act)),
        "min_ram" => match image.min_ram {
            Some(n) if n > 0 => None,
            other => Some(
                Finding::new(obj(), "`min_ram` is missing or 0")
                    .expected_actual("RAM in MiB > 0", format!("{}", other.unwrap_or(0))),
            ),
        },
        "image_source" => match image.property_text("image_source") {
            Some(v) if valid_image_source(v) => None,
            other => {
                let actual = other.unwrap_or("(missing)");
                Some(
                        Finding::new(
                            obj(),
                            format!(
                                "`image_source` \"{actual}\" is neither `private` nor a URL with scheme {}",
                                one_of(SOURCE_SCHEMES)
                            ),
                        )
                        .expected_actual("private or an http(s)/ftp(s) URL", actual),
                    )
            }
        },
        "uuid_validity" => match image.property_text("uuid_validity") {
            None => None,
            Some(v) if valid_uuid_validity(v) => None,
            Some(v) => Some(
                Finding::new(obj(), format!("`uuid_validity` \"{v}\" is not valid"))
                    .expected_actual("none, notice, forever, last-N or a date", v),
            ),
        },
        "hotfix_hours" => match image.property_text("hotfix_hours") {
            Some(v) if !valid_hotfix_hours(v) => Some(
                Finding::new(
                    obj(),
                    format!("`hotfix_hours` \"{v}\" is not a number of hours"),
                )
                .expected_actual("decimal digits", v),
            ),
            _ => None,
        },
        "image_build_date" => return build_date_problems(image, now),
        _ => None,
    };
    found.into_iter().collect()
}

/// The `min_disk` rule: set and > 0, and (when the image has data) at least as large as the
/// image file (`min_disk · 2^30 ≥ size`). Returns (message, expected, actual) when violated.
///
/// An image without data (`size` null) is judged on `min_disk` alone (the reference aborts).
pub fn min_disk_problem(
    min_disk: Option<u64>,
    size: Option<u64>,
) -> Option<(String, String, String)> {
    let min_disk = match min_disk {
        Some(n) if n > 0 => n,
        other => {
            return Some((
                "`min_disk` is missing or 0".into(),
                "disk size in GiB > 0".into(),
                format!("{}", other.unwrap_or(0)),
            ));
        }
    };
    let size = size?;
    if u128::from(min_disk) << 30 < u128::from(size) {
        return Some((
            format!("`min_disk` {min_disk} GiB is smaller than the image ({size} bytes)"),
            format!("at least {} GiB", size.div_ceil(1 << 30)),
            format!("{min_disk} GiB"),
        ));
    }
    None
}

/// `image_source` is `private` or a URL whose scheme (the text before the first `://`) is
/// exactly one of [`SOURCE_SCHEMES`] (lower case).
pub fn valid_image_source(value: &str) -> bool {
    if value == "private" {
        return true;
    }
    match value.split_once("://") {
        Some((scheme, _)) => SOURCE_SCHEMES.contains(&scheme),
        None => false,
    }
}

/// `uuid_validity` is `none`, `notice`, `forever`, `last-N` (N decimal digits) or a date.
pub fn valid_uuid_validity(value: &str) -> bool {
    if matches!(value, "none" | "notice" | "forever") {
        return true;
    }
    if let Some(n) = value.strip_prefix("last-") {
        return !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
    }
    parse_date(value).is_some()
}

/// `hotfix_hours`, when set and non-empty, consists of decimal digits only.
pub fn valid_hotfix_hours(value: &str) -> bool {
    value.is_empty() || value.bytes().all(|b| b.is_ascii_digit())
}

/// The three checks on `image_build_date`: present and a date; not later than the registration
/// (`created_at`); and (or the registration date when the build date is unusable) not in the
/// future.
pub fn build_date_problems(image: &Image, now: DateTime<Utc>) -> Vec<Finding> {
    let obj = || object(image);
    let mut out = Vec::new();
    let raw = image.property_text("image_build_date");
    let built = raw.and_then(parse_date);
    let registered = image.created_at.as_deref().and_then(parse_created_at);
    match (&raw, built) {
        (_, Some(b)) => match registered {
            Some(r) if b > r => out.push(
                Finding::new(
                    obj(),
                    "`image_build_date` is later than the registration date (`created_at`)",
                )
                .expected_actual(
                    format!("not after {}", r.format("%Y-%m-%dT%H:%M:%SZ")),
                    raw.unwrap_or_default(),
                ),
            ),
            Some(_) => {}
            None => out.push(
                Finding::new(obj(), "`created_at` is missing or not a date").expected_actual(
                    "YYYY-MM-DDThh:mm:ssZ",
                    image
                        .created_at
                        .clone()
                        .unwrap_or_else(|| "(missing)".into()),
                ),
            ),
        },
        (value, None) => out.push(
            Finding::new(obj(), "`image_build_date` is missing or not a date").expected_actual(
                "YYYY-MM-DD or YYYY-MM-DD hh:mm[:ss]",
                value.unwrap_or("(missing)"),
            ),
        ),
    }
    if let Some(t) = built.or(registered)
        && t > now
    {
        out.push(
            Finding::new(obj(), "the build date lies in the future").expected_actual(
                format!("not after now ({})", now.format("%Y-%m-%dT%H:%M:%SZ")),
                t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            ),
        );
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Dates, parsed like Python's `time.strptime` in the reference.

/// The formats the reference tries, in order, for property dates.
pub const DATE_FORMATS: &[&str] = &[
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
];
/// The formats for a date as the last word of an image name.
pub const NAME_DATE_FORMATS: &[&str] = &["%Y-%m-%d", "%Y%m%d"];

fn strptime_regex(format: &str) -> Regex {
    let mut pattern = String::from("(?i)^");
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '%' {
            let field = match chars.next() {
                Some('Y') => r"(?P<Y>[0-9]{4})",
                Some('m') => r"(?P<m>1[0-2]|0[1-9]|[1-9])",
                Some('d') => r"(?P<d>3[01]|[12][0-9]|0[1-9]|[1-9]| [1-9])",
                Some('H') => r"(?P<H>2[0-3]|[01][0-9]|[0-9])",
                Some('M') => r"(?P<M>[0-5][0-9]|[0-9])",
                Some('S') => r"(?P<S>6[01]|[0-5][0-9]|[0-9])",
                // only our own formats reach here; an unknown directive matches nothing
                _ => "(?:$^)",
            };
            pattern.push_str(field);
        } else if c.is_whitespace() {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            pattern.push_str(r"\s+");
        } else {
            pattern.push_str(&regex::escape(&c.to_string()));
        }
    }
    Regex::new(&pattern).unwrap_or_else(|_| Regex::new("$^").expect("trivial regex"))
}

static DATE_REGEXES: LazyLock<HashMap<&'static str, Regex>> = LazyLock::new(|| {
    DATE_FORMATS
        .iter()
        .chain(NAME_DATE_FORMATS)
        .map(|f| (*f, strptime_regex(f)))
        .collect()
});

/// Parses `text` with one strptime-style `format` (`%Y %m %d %H %M %S`, literal characters,
/// whitespace matching any run of whitespace, case-insensitive), like Python's `strptime`:
/// the match starts at the beginning and must consume the whole text; one-digit months, days,
/// hours, minutes and seconds are accepted; impossible dates and seconds above 59 are rejected.
/// The result is read as UTC.
pub fn strptime(text: &str, format: &str) -> Option<DateTime<Utc>> {
    let owned;
    let re = match DATE_REGEXES.get(format) {
        Some(re) => re,
        None => {
            owned = strptime_regex(format);
            &owned
        }
    };
    let caps = re.captures(text)?;
    if caps.get(0)?.end() != text.len() {
        return None;
    }
    let num = |name: &str| -> Option<u32> {
        match caps.name(name) {
            Some(m) => m.as_str().trim().parse().ok(),
            None => Some(0),
        }
    };
    let year = i32::try_from(num("Y")?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, num("m")?.max(1), num("d")?.max(1))?;
    let time = date.and_hms_opt(num("H")?, num("M")?, num("S")?)?;
    Some(time.and_utc())
}

/// A property date (`image_build_date`, `provided_until`, `uuid_validity`): the first of
/// [`DATE_FORMATS`] that parses, as UTC.
pub fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    DATE_FORMATS.iter().find_map(|f| strptime(text, f))
}

/// Glance's `created_at`: only `YYYY-MM-DDThh:mm:ssZ`.
pub fn parse_created_at(text: &str) -> Option<DateTime<Utc>> {
    strptime(text, DATE_FORMATS[0])
}

// ---------------------------------------------------------------------------------------------
// Recency.

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

fn judge_recency(id: &str, images: &[&Image], now: DateTime<Utc>) -> Outcome {
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

// ---------------------------------------------------------------------------------------------
// Uniqueness of generic images.

/// Groups of public, visible images with `os_purpose=generic` and non-empty `os_distro` and
/// `os_version`, keyed by (architecture or "", os_distro, os_version); only groups with two or
/// more images are returned, each with the image names in listing order.
pub fn duplicate_generic_groups(
    images: &[&Image],
) -> BTreeMap<(String, String, String), Vec<String>> {
    let mut groups: BTreeMap<(String, String, String), Vec<String>> = BTreeMap::new();
    for image in images {
        if image.visibility.as_deref() != Some("public") || image.os_hidden {
            continue;
        }
        if image.property("os_purpose").as_deref() != Some("generic") {
            continue;
        }
        let (Some(distro), Some(version)) = (
            non_empty(image.property("os_distro")),
            non_empty(image.property("os_version")),
        ) else {
            continue;
        };
        let arch = image.property("architecture").unwrap_or_default();
        groups
            .entry((arch, distro, version))
            .or_default()
            .push(image_name(image).to_string());
    }
    groups.retain(|_, names| names.len() >= 2);
    groups
}

fn judge_uniqueness(id: &str, images: &[&Image]) -> Outcome {
    let groups = duplicate_generic_groups(images);
    if groups.is_empty() {
        let generic = images
            .iter()
            .filter(|i| {
                i.visibility.as_deref() == Some("public")
                    && !i.os_hidden
                    && i.property("os_purpose").as_deref() == Some("generic")
            })
            .count();
        return Outcome::pass(
            id,
            if generic == 0 {
                "0 visible public images with os_purpose=generic: nothing to check".to_string()
            } else {
                format!(
                    "checked {generic} visible public generic image(s): at most one per architecture, distribution and version"
                )
            },
        );
    }
    let evidence = groups
        .iter()
        .map(|((arch, distro, version), names)| {
            let arch = if arch.is_empty() { "(none)" } else { arch };
            let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
            Finding::new(
                format!("images {}", quoted.join(", ")),
                format!(
                    "{} images have `os_purpose=generic` for {distro} {version} ({arch})",
                    names.len()
                ),
            )
            .expected_actual("1 generic image", names.len().to_string())
        })
        .collect();
    Outcome::fail(
        id,
        format!(
            "{} distribution version(s) have more than one generic image",
            groups.len()
        ),
    )
    .with_evidence(evidence)
}

#[cfg(test)]
mod tests;
