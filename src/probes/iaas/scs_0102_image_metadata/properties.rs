//! scs-0102 property rules: what is wrong with one image for one `scs-0102-prop-*` testcase
//! (allowed values, `min_disk`, image source, validity, hotfix hours, build date).

use super::dates::{parse_created_at, parse_date};
use super::{
    ARCHITECTURES, DISK_BUSES, FREQUENCIES, HASH_ALGOS, HYPERVISORS, OS_PURPOSES, RNG_MODELS,
    SOURCE_SCHEMES, object, one_of,
};
use crate::openstack::models::Image;
use crate::probes::Finding;
use chrono::{DateTime, Utc};

/// What is wrong with one image for one property testcase (`key` as in [`PROPERTY_KEYS`](super::PROPERTY_KEYS));
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
