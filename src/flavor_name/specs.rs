//! What a flavor name promises, as numbers and extra specs: the name → expected-spec conversion
//! of scs-0103 (standard flavors, compared exactly) and the semantics check of scs-0100 (the
//! cloud may give more than the name promises, never less).

use super::{DiskType, FlavorName, check_name, format_ram, parse, parse_v1};
use indexmap::IndexMap;
use std::collections::BTreeMap;
use std::fmt;

/// At most this many `scs:diskN-type` entries are listed for a name (a name may claim any
/// number of disks; listing billions of keys helps no one).
pub const MAX_LISTED_DISKS: u64 = 64;

/// The expected value of one extra spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecValue {
    /// Must be present and equal to this string.
    Exact(String),
    /// Must be present and one of the disk types `ssd`, `nvme`, `hdd`, `network` (the name
    /// leaves the disk type open).
    AnyDiskType,
}

impl SpecValue {
    /// Whether `actual` (the flavor's value, if present) satisfies this expectation.
    pub fn accepts(&self, actual: Option<&str>) -> bool {
        match (self, actual) {
            (SpecValue::Exact(want), Some(have)) => want == have,
            (SpecValue::AnyDiskType, Some(have)) => {
                DiskType::ALL.iter().any(|t| t.extra_spec() == have)
            }
            (_, None) => false,
        }
    }

    /// The value the reference tooling would write (an open disk type becomes `network`).
    pub fn reference_value(&self) -> &str {
        match self {
            SpecValue::Exact(v) => v,
            SpecValue::AnyDiskType => DiskType::Network.extra_spec(),
        }
    }
}

impl fmt::Display for SpecValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecValue::Exact(v) => f.write_str(v),
            SpecValue::AnyDiskType => f.write_str("one of ssd, nvme, hdd, network"),
        }
    }
}

/// What a standard flavor with a given name must look like (scs-0103).
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedSpecs {
    /// The canonical name.
    pub name: String,
    /// vCPUs.
    pub cpus: u64,
    /// RAM in GiB.
    pub ram_gib: f64,
    /// Root disk size in GB as compared: the size of the disk part, 0 without a disk part or
    /// without a size.
    pub disk_gb: u64,
    /// Whether the name has a disk part at all.
    pub has_disk: bool,
    /// Expected extra specs, in the order `scs:cpu-type`, `scs:diskN-type`…, `scs:name-vN`….
    pub extra_specs: IndexMap<String, SpecValue>,
}

impl ExpectedSpecs {
    /// RAM in MiB as Nova reports it.
    pub fn ram_mib(&self) -> f64 {
        self.ram_gib * 1024.0
    }

    /// The extra specs as the reference tooling writes them (open disk types as `network`).
    pub fn reference_extra_specs(&self) -> IndexMap<String, String> {
        self.extra_specs
            .iter()
            .map(|(k, v)| (k.clone(), v.reference_value().to_string()))
            .collect()
    }
}

/// The name → expected-spec conversion: vCPUs, RAM, disk, `scs:cpu-type`, one
/// `scs:diskN-type` per disk (open types accept any valid type), and the name variants
/// `scs:name-v1`, `scs:name-v2`, … (v1 and v2 forms of the long and the short name,
/// deduplicated, longest first, v1 before v2 at equal length; the long v1 form is left out for
/// the `chy` hypervisor, which the v1 syntax does not know).
pub fn expected_specs(name: &FlavorName) -> ExpectedSpecs {
    let mut extra_specs = IndexMap::new();
    extra_specs.insert(
        "scs:cpu-type".to_string(),
        SpecValue::Exact(name.cpu_type.extra_spec().to_string()),
    );
    if let Some(disk) = &name.disk {
        for i in 0..disk.count.min(MAX_LISTED_DISKS) {
            let value = match disk.kind {
                Some(kind) => SpecValue::Exact(kind.extra_spec().to_string()),
                None => SpecValue::AnyDiskType,
            };
            extra_specs.insert(format!("scs:disk{i}-type"), value);
        }
    }
    for (i, variant) in name_variants(name).into_iter().enumerate() {
        extra_specs.insert(format!("scs:name-v{}", i + 1), SpecValue::Exact(variant));
    }
    ExpectedSpecs {
        name: name.to_string(),
        cpus: name.cpus,
        ram_gib: name.ram_gib,
        disk_gb: name.disk.and_then(|d| d.size_gb).unwrap_or(0),
        has_disk: name.disk.is_some(),
        extra_specs,
    }
}

/// The name variants in the order they become `scs:name-v1`, `scs:name-v2`, ….
fn name_variants(name: &FlavorName) -> Vec<String> {
    let short = name.short();
    let mut variants: Vec<String> = Vec::new();
    for (v, in_v1) in [
        (name.to_v1(), true),
        (name.to_v2(), false),
        (short.to_v1(), true),
        (short.to_v2(), false),
    ] {
        // The v1 syntax has no Cloud Hypervisor: such a "v1 name" would be no valid name.
        let invalid_v1 = in_v1 && name.hypervisor.is_some_and(|h| !h.in_v1());
        if !invalid_v1 && !variants.contains(&v) {
            variants.push(v);
        }
    }
    // Stable: at equal length the v1 form stays before the v2 form.
    variants.sort_by_key(|v| std::cmp::Reverse(v.chars().count()));
    variants
}

/// What the cloud reports about a flavor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlavorFacts {
    /// vCPUs.
    pub vcpus: u64,
    /// RAM in MiB.
    pub ram_mib: u64,
    /// Root disk in GB (0 = none).
    pub disk_gb: u64,
    /// Extra specs (all of them; only `scs:` keys are looked at).
    pub extra_specs: BTreeMap<String, String>,
}

/// What a problem is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Aspect {
    /// The vCPU count.
    Cpus,
    /// The RAM size.
    Ram,
    /// The root disk size.
    Disk,
    /// One extra spec (the key).
    ExtraSpec(String),
}

impl Aspect {
    /// Whether the aspect is one of the resources vCPU, RAM, disk (what scs-0100 compares).
    pub fn is_resource(&self) -> bool {
        !matches!(self, Aspect::ExtraSpec(_))
    }
}

/// One way in which a flavor contradicts its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What the problem is about.
    pub aspect: Aspect,
    /// The problem in words, naming expected and actual values.
    pub message: String,
    /// The expected value in words.
    pub expected: String,
    /// The actual value in words.
    pub actual: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

fn problem(aspect: Aspect, expected: String, actual: String, message: String) -> Problem {
    Problem {
        aspect,
        message,
        expected,
        actual,
    }
}

/// The scs-0100 semantics check: does the flavor give at least what its name promises?
///
/// Resources (aspects [`Aspect::Cpus`], [`Aspect::Ram`], [`Aspect::Disk`]; what the scs-0100
/// testcase compares): vCPUs ≥ the count; RAM ≥ 1024 × GiB − 51 MiB (the reference's rounding
/// to a tenth of a GiB); disk ≥ the size of the disk part (no disk part: nothing; a disk part
/// without a size: the cloud decides, nothing to compare; the multiplier is not compared).
///
/// Extra specs ([`Aspect::ExtraSpec`]; scs-0103 semantics: when present they must be true):
/// `scs:cpu-type` must match the CPU letter; `scs:diskN-type` for an existing disk must match
/// the disk letter or, when the name leaves it open, be a valid type; every `scs:name-vN` must
/// be a valid SCS name (v1 tolerated) whose resources the flavor also provides.
pub fn check_semantics(name: &FlavorName, facts: &FlavorFacts) -> Vec<Problem> {
    let mut problems = resource_problems(name, facts, "");
    let specs = &facts.extra_specs;
    if let Some(have) = specs.get("scs:cpu-type") {
        let want = name.cpu_type.extra_spec();
        if have != want {
            problems.push(problem(
                Aspect::ExtraSpec("scs:cpu-type".into()),
                want.into(),
                have.clone(),
                format!(
                    "scs:cpu-type is {have:?}, but the CPU letter {} means {want:?}",
                    name.cpu_type.letter()
                ),
            ));
        }
    }
    for (key, have) in specs {
        if let Some(index) = indexed_key(key, "scs:disk", "-type") {
            let Some(disk) = &name.disk else { continue };
            if index >= disk.count {
                continue;
            }
            let want = match disk.kind {
                Some(kind) => SpecValue::Exact(kind.extra_spec().to_string()),
                None => SpecValue::AnyDiskType,
            };
            if !want.accepts(Some(have)) {
                problems.push(problem(
                    Aspect::ExtraSpec(key.clone()),
                    want.to_string(),
                    have.clone(),
                    format!("{key} is {have:?}, expected {want}"),
                ));
            }
        } else if indexed_key(key, "scs:name-v", "").is_some() {
            let other = parse(have).or_else(|_| parse_v1(have));
            match other {
                Ok(other) => problems.extend(resource_problems(&other, facts, key)),
                Err(err) => problems.push(problem(
                    Aspect::ExtraSpec(key.clone()),
                    "a valid SCS flavor name".into(),
                    have.clone(),
                    format!("{key} is not a valid SCS flavor name: {err}"),
                )),
            }
        }
    }
    problems
}

/// `prefix` digits `suffix` → the number.
fn indexed_key(key: &str, prefix: &str, suffix: &str) -> Option<u64> {
    let digits = key.strip_prefix(prefix)?.strip_suffix(suffix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// vCPU, RAM and disk of the flavor against the name; `via` names the extra spec the name came
/// from (empty for the flavor's own name).
fn resource_problems(name: &FlavorName, facts: &FlavorFacts, via: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    let source = if via.is_empty() {
        String::new()
    } else {
        format!(" ({via} {name})")
    };
    let aspect = |a: Aspect| {
        if via.is_empty() {
            a
        } else {
            Aspect::ExtraSpec(via.to_string())
        }
    };
    if facts.vcpus < name.cpus {
        problems.push(problem(
            aspect(Aspect::Cpus),
            format!("at least {} vCPUs", name.cpus),
            format!("{} vCPUs", facts.vcpus),
            format!(
                "the flavor has {} vCPUs, but the name{source} promises {}",
                facts.vcpus, name.cpus
            ),
        ));
    }
    let need_mib = name.ram_mib() - 51.0;
    if (facts.ram_mib as f64) < need_mib {
        problems.push(problem(
            aspect(Aspect::Ram),
            format!("{} GiB (at least {need_mib} MiB)", format_ram(name.ram_gib)),
            format!("{} MiB", facts.ram_mib),
            format!(
                "the flavor has {} MiB RAM, but the name{source} promises {} GiB (at least {need_mib} MiB)",
                facts.ram_mib,
                format_ram(name.ram_gib)
            ),
        ));
    }
    if let Some(size) = name.disk.and_then(|d| d.size_gb)
        && facts.disk_gb < size
    {
        problems.push(problem(
            aspect(Aspect::Disk),
            format!("at least {size} GB"),
            format!("{} GB", facts.disk_gb),
            format!(
                "the flavor has a {} GB root disk, but the name{source} promises {size} GB",
                facts.disk_gb
            ),
        ));
    }
    problems
}

/// The scs-0103 comparison of a standard flavor: vCPUs, RAM (MiB = 1024 × GiB) and disk must
/// be exactly as expected, and every expected extra spec must be present and accepted
/// ([`SpecValue::accepts`]). Extra `scs:` keys that are not expected are ignored.
pub fn check_standard_flavor(expected: &ExpectedSpecs, facts: &FlavorFacts) -> Vec<Problem> {
    let mut problems = Vec::new();
    if facts.vcpus != expected.cpus {
        problems.push(problem(
            Aspect::Cpus,
            expected.cpus.to_string(),
            facts.vcpus.to_string(),
            format!("vcpus: {} should be {}", facts.vcpus, expected.cpus),
        ));
    }
    if facts.ram_mib as f64 != expected.ram_mib() {
        problems.push(problem(
            Aspect::Ram,
            format!("{} MiB", expected.ram_mib()),
            format!("{} MiB", facts.ram_mib),
            format!(
                "ram: {} MiB should be {} MiB",
                facts.ram_mib,
                expected.ram_mib()
            ),
        ));
    }
    if facts.disk_gb != expected.disk_gb {
        problems.push(problem(
            Aspect::Disk,
            format!("{} GB", expected.disk_gb),
            format!("{} GB", facts.disk_gb),
            format!(
                "disk: {} GB should be {} GB",
                facts.disk_gb, expected.disk_gb
            ),
        ));
    }
    for (key, want) in &expected.extra_specs {
        let have = facts.extra_specs.get(key).map(String::as_str);
        if !want.accepts(have) {
            let actual = have.map_or("missing".to_string(), |h| format!("{h:?}"));
            problems.push(problem(
                Aspect::ExtraSpec(key.clone()),
                want.to_string(),
                actual.clone(),
                format!("{key}: {actual} should be {want}"),
            ));
        }
    }
    problems
}

/// Convenience for probes: the semantics problems of a flavor by name, or `None` when the name
/// is not an acceptable SCS name (not `SCS-`, or invalid; the syntax check reports those).
pub fn semantics_of(name: &str, facts: &FlavorFacts) -> Option<Vec<Problem>> {
    check_name(name)
        .flavor()
        .map(|parsed| check_semantics(parsed, facts))
}
