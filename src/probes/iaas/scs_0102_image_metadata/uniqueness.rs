//! scs-0102 uniqueness (`scs-0102-os_purpose-uniqueness`): at most one visible generic image
//! per architecture, distribution and version, and the verdict.

use super::{image_name, non_empty};
use crate::openstack::models::Image;
use crate::probes::{Finding, Outcome};
use std::collections::BTreeMap;

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

pub(super) fn judge_uniqueness(id: &str, images: &[&Image]) -> Outcome {
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
