//! scs-0104 (standard images): the image-spec file format (reading and strict validation), the
//! choice of spec from the include parameter `image_spec`, and one probe answering every
//! `scs-0104-source-<id>` and `scs-0104-image-<id>` testcase.
//!
//! The spec comes from the include parameter `image_spec` of the scope file (one work item per
//! spec): a built-in name or one of the upstream URLs our scope file uses (both served from the
//! copies in `testcases/`, so offline runs work), another http(s) URL (downloaded), or a path
//! relative to the working directory. The reference suite ignores the parameter and uses a copy
//! compiled into its code (see `docs/divergences.md`).

use super::common::{self, FnProbe, abort_all};
use super::scs_0102_image_metadata::{image_name, listed_images};
use crate::openstack::models::Image;
use crate::probes::{Finding, Outcome, ProbeContext};
use futures::FutureExt;
use regex::Regex;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The probe's name in the registry.
pub const PROBE_NAME: &str = "scs-0104-standard-images";

/// Entry ids with a `scs-0104-source-<id>` testcase.
pub const SOURCE_IDS: &[&str] = &[
    "capi-1",
    "capi-2",
    "ubuntu-2404",
    "ubuntu-2204",
    "ubuntu-2004",
    "debian-13",
    "debian-12",
    "debian-11",
    "debian-10",
];
/// Entry ids with a `scs-0104-image-<id>` testcase.
pub const IMAGE_IDS: &[&str] = &[
    "capi-1",
    "capi-2",
    "ubuntu-2404",
    "ubuntu-2204",
    "ubuntu-2004",
    "debian-13",
    "debian-12",
    "debian-11",
    "debian-10",
];

/// Our image spec for scope version v4 (module scs-0104-v1-1).
pub const SPEC_V4: &str = include_str!("../../../testcases/scs-0104-v1-images-v4.yaml");
/// Our image spec for scope versions v5.1 and next (module scs-0104-v1-2).
pub const SPEC_V5: &str = include_str!("../../../testcases/scs-0104-v1-images-v5.yaml");

/// Built-in specs: the names and URLs that resolve to them, and the text.
pub const BUILTIN_SPECS: &[(&[&str], &str)] = &[
    (
        &[
            "builtin:scs-0104-v1-images-v4",
            "https://raw.githubusercontent.com/SovereignCloudStack/standards/main/Tests/iaas/scs-0104-v1-images.yaml",
        ],
        SPEC_V4,
    ),
    (
        &[
            "builtin:scs-0104-v1-images-v5",
            "https://raw.githubusercontent.com/SovereignCloudStack/standards/main/Tests/iaas/scs-0104-v1-images-v5.yaml",
        ],
        SPEC_V5,
    ),
];

/// Every testcase id this probe answers.
pub fn testcases() -> Vec<String> {
    SOURCE_IDS
        .iter()
        .map(|id| format!("scs-0104-source-{id}"))
        .chain(IMAGE_IDS.iter().map(|id| format!("scs-0104-image-{id}")))
        .collect()
}

/// The scs-0104 probe.
pub fn probe() -> Arc<FnProbe> {
    FnProbe::new(PROBE_NAME, testcases(), |ctx, ids| run(ctx, ids).boxed())
}

// ---------------------------------------------------------------------------------------------
// Spec files.

/// What an image-spec entry requires of the cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// At least one matching image must exist.
    Mandatory,
    /// At least one matching image should exist.
    Recommended,
    /// Nothing is required beyond the allowed sources.
    Optional,
}

/// One entry of an image spec.
#[derive(Debug, Clone)]
pub struct SpecEntry {
    /// The id the testcases use (`scs-0104-source-<id>`).
    pub id: String,
    /// The image name, or the label of a class of images.
    pub name: String,
    /// For a class of images: the name pattern, matched from the first character of the name.
    pub name_scheme: Option<Regex>,
    /// Allowed prefixes of `image_source`.
    pub sources: Vec<String>,
    /// Mandatory, recommended or optional.
    pub status: Status,
}

/// A validated image spec.
#[derive(Debug, Clone)]
pub struct ImageSpec {
    /// Where the spec came from (file, URL or built-in name).
    pub origin: String,
    /// The entries in file order.
    pub entries: Vec<SpecEntry>,
}

/// Why an image spec could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The file is not valid YAML or does not have the spec's shape.
    #[error("image spec {origin}:{line}:{column}: {message}")]
    Invalid {
        /// File, URL or built-in name.
        origin: String,
        /// Line (1-based; 0 when unknown).
        line: usize,
        /// Column (1-based; 0 when unknown).
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The file could not be read.
    #[error("image spec {origin}: cannot read: {message}")]
    Read {
        /// The path.
        origin: String,
        /// The OS error.
        message: String,
    },
    /// The URL could not be downloaded.
    #[error("image spec {origin}: cannot download: {message}")]
    Download {
        /// The URL.
        origin: String,
        /// What went wrong.
        message: String,
    },
    /// No spec was given.
    #[error(
        "no `image_spec` include parameter: the scope file must name an image spec \
         (a path, an http(s) URL, or builtin:scs-0104-v1-images-v4 / -v5)"
    )]
    Missing,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    images: Vec<Spanned<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    name: Spanned<String>,
    #[serde(default)]
    id: Option<Spanned<String>>,
    #[serde(default)]
    name_scheme: Option<Spanned<String>>,
    source: Spanned<OneOrMany>,
    #[serde(default)]
    status: Option<Status>,
}

/// The default entry id for an image name: lower case, dots removed, spaces turned into `-`
/// (`Ubuntu 24.04` → `ubuntu-2404`).
pub fn default_id(name: &str) -> String {
    name.to_lowercase()
        .replace('.', "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("-")
}

/// Parses and validates spec text; `origin` names it in errors.
pub fn parse_spec(text: &str, origin: &str) -> Result<ImageSpec, SpecError> {
    let invalid = |line: usize, column: usize, message: String| SpecError::Invalid {
        origin: origin.to_string(),
        line,
        column,
        message,
    };
    let at = |loc: &serde_saphyr::Location, message: String| {
        invalid(loc.line() as usize, loc.column() as usize, message)
    };
    let raw: RawSpec = serde_saphyr::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line() as usize, l.column() as usize))
            .unwrap_or((0, 0));
        let inner = e.without_snippet().to_string();
        let message = inner.lines().next().unwrap_or("invalid YAML").to_string();
        invalid(line, column, message)
    })?;
    if raw.images.is_empty() {
        return Err(invalid(1, 1, "`images` is empty".into()));
    }
    let id_pattern = Regex::new("^[a-z0-9][a-z0-9-]*$").expect("valid regex");
    let mut entries: Vec<SpecEntry> = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    for entry in raw.images {
        let loc = entry.referenced;
        let e = entry.value;
        let name = e.name.value.trim().to_string();
        if name.is_empty() {
            return Err(at(&e.name.referenced, "`name` is empty".into()));
        }
        let id = match &e.id {
            Some(id) => {
                if !id_pattern.is_match(&id.value) {
                    return Err(at(
                        &id.referenced,
                        format!(
                            "`id` \"{}\" must be lower-case letters, digits and `-`",
                            id.value
                        ),
                    ));
                }
                id.value.clone()
            }
            None => default_id(&name),
        };
        if let Some(previous) = seen.insert(id.clone(), name.clone()) {
            let place = e.id.as_ref().map(|i| i.referenced).unwrap_or(loc);
            return Err(at(
                &place,
                format!(
                    "entry id `{id}` is used twice (\"{previous}\" and \"{name}\"); give one an explicit `id`"
                ),
            ));
        }
        let name_scheme = match &e.name_scheme {
            Some(scheme) => Some(
                Regex::new(&format!("^(?:{})", scheme.value)).map_err(|err| {
                    let first = err.to_string();
                    let last = first.lines().last().unwrap_or("invalid").trim().to_string();
                    at(
                        &scheme.referenced,
                        format!("`name_scheme` is not a valid regular expression: {last}"),
                    )
                })?,
            ),
            None => None,
        };
        let sources = match e.source.value {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(list) => list,
        };
        if sources.is_empty() || sources.iter().any(|s| s.trim().is_empty()) {
            return Err(at(
                &e.source.referenced,
                "`source` must be one non-empty URL prefix or a non-empty list of them".into(),
            ));
        }
        entries.push(SpecEntry {
            id,
            name,
            name_scheme,
            sources,
            status: e.status.unwrap_or(Status::Optional),
        });
    }
    Ok(ImageSpec {
        origin: origin.to_string(),
        entries,
    })
}

/// The built-in spec text for a name or URL, if there is one.
pub fn builtin_spec(name: &str) -> Option<&'static str> {
    BUILTIN_SPECS
        .iter()
        .find(|(names, _)| names.contains(&name))
        .map(|(_, text)| *text)
}

/// Loads the spec named by the `image_spec` parameter: a built-in name or mapped URL, an
/// http(s) URL (downloaded, 30 s timeout), or a path relative to the working directory. A
/// file or download is read every time; only its parsing is shared by the runs of this
/// process that read the same text.
pub async fn load_spec(reference: Option<&str>) -> Result<Arc<ImageSpec>, SpecError> {
    let reference = reference
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .ok_or(SpecError::Missing)?;
    if let Some(text) = builtin_spec(reference) {
        return parse_spec_shared(text, reference);
    }
    if reference.starts_with("http://") || reference.starts_with("https://") {
        let text = download(reference).await?;
        return parse_spec_shared(&text, reference);
    }
    let text = std::fs::read_to_string(reference).map_err(|e| SpecError::Read {
        origin: reference.to_string(),
        message: e.to_string(),
    })?;
    parse_spec_shared(&text, reference)
}

/// How many parsed specs [`parse_spec_shared`] keeps.
const SHARED_SPECS: usize = 8;

/// [`parse_spec`], shared by every run of this process that reads the same text from the same
/// place (the subjects of an in-process `batch`): parsing the YAML and building the name
/// patterns was a good part of a subject's work. Keeps the last [`SHARED_SPECS`] results.
fn parse_spec_shared(text: &str, origin: &str) -> Result<Arc<ImageSpec>, SpecError> {
    type Parsed = ((String, String), Result<Arc<ImageSpec>, SpecError>);
    static PARSED: Mutex<Vec<Parsed>> = Mutex::new(Vec::new());
    let lock = || PARSED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, parsed)) = lock().iter().find(|((o, t), _)| o == origin && t == text) {
        return parsed.clone();
    }
    let parsed = parse_spec(text, origin).map(Arc::new);
    let mut cache = lock();
    if cache.len() >= SHARED_SPECS {
        let _evicted = cache.remove(0);
    }
    cache.push(((origin.to_string(), text.to_string()), parsed.clone()));
    parsed
}

async fn download(url: &str) -> Result<String, SpecError> {
    crate::http::get_text(url, Duration::from_secs(30))
        .await
        .map_err(|message| SpecError::Download {
            origin: url.to_string(),
            message,
        })
}

// ---------------------------------------------------------------------------------------------
// Rules.

/// Images by name over the listed images; with duplicate names the last one wins.
fn image_lookup<'a>(images: &[&'a Image]) -> Vec<&'a Image> {
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    let mut kept: Vec<Option<&Image>> = Vec::new();
    for image in images {
        let Some(name) = image.name.as_deref() else {
            continue;
        };
        if let Some(&i) = by_name.get(name) {
            kept[i] = None;
        }
        by_name.insert(name, kept.len());
        kept.push(Some(image));
    }
    kept.into_iter().flatten().collect()
}

/// The images an entry refers to: with a name scheme every image whose name matches it from the
/// start (trailing text allowed); otherwise the image with exactly that name. Duplicate names
/// count once (the last one listed).
pub fn matching_images<'a>(entry: &SpecEntry, images: &[&'a Image]) -> Vec<&'a Image> {
    matching_distinct(entry, &image_lookup(images))
}

/// [`matching_images`] over images whose names are already distinct (from [`image_lookup`]),
/// so that a run judging many entries deduplicates the listing once.
fn matching_distinct<'a>(entry: &SpecEntry, distinct: &[&'a Image]) -> Vec<&'a Image> {
    distinct
        .iter()
        .copied()
        .filter(|i| {
            let name = i.name.as_deref().unwrap_or_default();
            match &entry.name_scheme {
                Some(re) => re.is_match(name),
                None => name == entry.name,
            }
        })
        .collect()
}

/// Whether an `image_source` value starts (case-sensitively) with one of the allowed prefixes.
pub fn source_allowed(source: &str, prefixes: &[String]) -> bool {
    prefixes.iter().any(|p| source.starts_with(p.as_str()))
}

fn describe(entry: &SpecEntry) -> String {
    match &entry.name_scheme {
        Some(re) => {
            let text = re.as_str();
            let scheme = text
                .strip_prefix("^(?:")
                .and_then(|t| t.strip_suffix(')'))
                .unwrap_or(text);
            format!("images whose name matches `{scheme}`")
        }
        None => format!("image \"{}\"", entry.name),
    }
}

/// `scs-0104-source-<id>`: every matching image comes from an allowed source.
pub fn judge_source(id: &str, entry: &SpecEntry, images: &[&Image]) -> Outcome {
    source_outcome(id, entry, &matching_images(entry, images))
}

fn source_outcome(id: &str, entry: &SpecEntry, matched: &[&Image]) -> Outcome {
    if matched.is_empty() {
        return Outcome::pass(
            id,
            format!("no {} present, nothing to check", describe(entry)),
        );
    }
    let evidence: Vec<Finding> = matched
        .iter()
        .filter_map(|image| {
            let source = image.property_text("image_source").unwrap_or_default();
            if source_allowed(source, &entry.sources) {
                return None;
            }
            Some(
                Finding::new(
                    format!("image \"{}\"", image_name(image)),
                    format!(
                        "image_source \"{source}\" is not a known source for {}",
                        entry.name
                    ),
                )
                .expected_actual(
                    format!("starts with {}", entry.sources.join(" or ")),
                    source,
                ),
            )
        })
        .collect();
    if evidence.is_empty() {
        Outcome::pass(
            id,
            format!(
                "checked image_source of {} matching image(s): all from allowed sources",
                matched.len()
            ),
        )
    } else {
        Outcome::fail(
            id,
            format!(
                "{} of {} matching image(s) ({}) come from a source the image spec does not allow",
                evidence.len(),
                matched.len(),
                describe(entry)
            ),
        )
        .with_evidence(evidence)
    }
}

/// `scs-0104-image-<id>`: at least one image matches the entry.
pub fn judge_presence(id: &str, entry: &SpecEntry, images: &[&Image]) -> Outcome {
    presence_outcome(id, entry, &matching_images(entry, images))
}

fn presence_outcome(id: &str, entry: &SpecEntry, matched: &[&Image]) -> Outcome {
    if matched.is_empty() {
        return Outcome::fail(id, format!("no {} in the image list", describe(entry)))
            .with_evidence(vec![
                Finding::new(
                    format!("image spec entry `{}`", entry.id),
                    format!("no public {} found", describe(entry)),
                )
                .expected_actual("at least one image", "none"),
            ]);
    }
    let names: Vec<String> = matched
        .iter()
        .map(|i| format!("\"{}\"", image_name(i)))
        .collect();
    Outcome::pass(id, format!("found the image(s) {}", names.join(", ")))
}

/// Judges one testcase id with a loaded spec.
pub fn judge(id: &str, spec: &ImageSpec, images: &[&Image]) -> Outcome {
    judge_distinct(id, spec, &image_lookup(images))
}

/// [`judge`] over images whose names are already distinct (from [`image_lookup`]).
fn judge_distinct(id: &str, spec: &ImageSpec, distinct: &[&Image]) -> Outcome {
    let (kind, key) = if let Some(k) = id.strip_prefix("scs-0104-source-") {
        ("source", k)
    } else if let Some(k) = id.strip_prefix("scs-0104-image-") {
        ("image", k)
    } else {
        return Outcome::abort(id, "not an scs-0104 testcase");
    };
    let Some(entry) = spec.entries.iter().find(|e| e.id == key) else {
        return Outcome::abort(
            id,
            format!(
                "image spec {} has no entry with id `{key}` (add `id: {key}` to the entry meant)",
                spec.origin
            ),
        );
    };
    let matched = matching_distinct(entry, distinct);
    match kind {
        "source" => source_outcome(id, entry, &matched),
        _ => presence_outcome(id, entry, &matched),
    }
}

async fn run(ctx: &ProbeContext, ids: &[String]) -> Vec<Outcome> {
    let spec = match load_spec(ctx.parameters.get("image_spec").map(String::as_str)).await {
        Ok(spec) => spec,
        Err(err) => return abort_all(ids, &err.to_string()),
    };
    let images = match common::images(ctx).await {
        Ok(images) => images,
        Err(reason) => return abort_all(ids, &reason),
    };
    // Every testcase looks at the same images: deduplicate their names once.
    let distinct = image_lookup(&listed_images(&images));
    ids.iter()
        .map(|id| judge_distinct(id, &spec, &distinct))
        .collect()
}

#[cfg(test)]
mod tests;
