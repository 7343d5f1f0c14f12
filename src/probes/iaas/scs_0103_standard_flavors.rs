//! scs-0103 (standard flavors, v1): the 31 testcases `scs-0103-flavor-<name>`, one per standard
//! flavor. Each looks the flavor up (first by the extra spec `scs:name-v2`, then by the flavor's
//! own name) and compares vCPUs, RAM and root disk exactly and the required `scs:` extra specs.
//!
//! The expectations come from our own table `testcases/scs-0103-standard-flavors.yaml`, built
//! into the binary and validated when first used; a unit test checks it against the name →
//! spec conversion of [`crate::flavor_name::expected_specs`]. Where a standard flavor leaves the
//! disk type open, any valid disk type is accepted (see `docs/divergences.md`, "Flavor names").

use super::common::{self, FnProbe, abort_all};
use super::scs_0100_flavor_naming::{flavor_facts, flavor_label};
use crate::flavor_name::{self, Aspect, CpuType, DiskType, ExpectedSpecs, SpecValue};
use crate::openstack::models::Flavor;
use crate::probes::{Finding, Outcome, ProbeContext};
use futures::FutureExt;
use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

/// The table of standard flavors, as built into the binary.
pub const TABLE_YAML: &str = include_str!("../../../testcases/scs-0103-standard-flavors.yaml");

/// How the built-in table is named in errors.
pub const TABLE_ORIGIN: &str = "testcases/scs-0103-standard-flavors.yaml";

/// The prefix of every scs-0103 testcase id.
pub const TESTCASE_PREFIX: &str = "scs-0103-flavor-";

/// The value of `scs:disk0-type` in the table that means "any valid disk type".
const ANY_DISK_TYPE: &str = "any";

/// Whether the standard requires a flavor or only recommends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Must exist (module target `main`).
    Mandatory,
    /// Should exist (module target `recommended`).
    Recommended,
}

impl Status {
    /// `mandatory` or `recommended`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Mandatory => "mandatory",
            Status::Recommended => "recommended",
        }
    }
}

/// One standard flavor: what a cloud's flavor of this name must look like.
#[derive(Debug, Clone, PartialEq)]
pub struct StandardFlavor {
    /// The canonical name, e.g. `SCS-2V-4-20s`.
    pub name: String,
    /// Mandatory or recommended.
    pub status: Status,
    /// vCPUs, exactly.
    pub vcpus: u64,
    /// RAM in MiB, exactly.
    pub ram_mib: u64,
    /// Root disk in GB, exactly (0 = no root disk).
    pub disk_gb: u64,
    /// The required `scs:` extra specs.
    pub extra_specs: IndexMap<String, SpecValue>,
}

impl StandardFlavor {
    /// The testcase id: `scs-0103-flavor-` and the name without `SCS-`, in lower case.
    pub fn testcase(&self) -> String {
        testcase_for(&self.name)
    }

    /// The expectations in the form [`flavor_name::check_standard_flavor`] compares.
    pub fn expected(&self) -> ExpectedSpecs {
        ExpectedSpecs {
            name: self.name.clone(),
            cpus: self.vcpus,
            ram_gib: self.ram_mib as f64 / 1024.0,
            disk_gb: self.disk_gb,
            has_disk: self.disk_gb > 0,
            extra_specs: self.extra_specs.clone(),
        }
    }
}

/// The testcase id for a standard flavor name (`SCS-2V-4-20s` → `scs-0103-flavor-2v-4-20s`).
pub fn testcase_for(name: &str) -> String {
    let rest = name.strip_prefix(flavor_name::PREFIX).unwrap_or(name);
    format!("{TESTCASE_PREFIX}{}", rest.to_lowercase())
}

/// A table of standard flavors that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}:{line}:{column}: {message}")]
pub struct TableError {
    /// The file (or other origin) of the table.
    pub origin: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column (0 when unknown).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    flavors: Vec<Spanned<RawFlavor>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlavor {
    name: Spanned<String>,
    status: Spanned<String>,
    vcpus: Spanned<u64>,
    ram_mib: Spanned<u64>,
    #[serde(default)]
    disk_gb: Option<Spanned<u64>>,
    extra_specs: Spanned<IndexMap<String, Spanned<String>>>,
}

/// Parses and validates a table of standard flavors (the format is described at the top of
/// `testcases/scs-0103-standard-flavors.yaml`). Every entry must have a canonical, valid name
/// (unique, also as testcase id), a known status, positive vCPUs and RAM, a positive disk size
/// or none, and exactly the extra specs `scs:cpu-type`, `scs:name-v1`, `scs:name-v2` plus
/// `scs:disk0-type` for flavors with a disk, each with an allowed value.
pub fn parse_table(text: &str, origin: &str) -> Result<Vec<StandardFlavor>, TableError> {
    let raw: RawTable = serde_saphyr::from_str(text).map_err(|err| {
        let (line, column) = err
            .location()
            .map(|l| (l.line() as usize, l.column() as usize))
            .unwrap_or((0, 0));
        let text = err.without_snippet().to_string();
        TableError {
            origin: origin.to_string(),
            line,
            column,
            message: text.lines().next().unwrap_or("invalid YAML").to_string(),
        }
    })?;
    let fail = |at: &serde_saphyr::Location, message: String| TableError {
        origin: origin.to_string(),
        line: at.line() as usize,
        column: at.column() as usize,
        message,
    };
    if raw.flavors.is_empty() {
        return Err(TableError {
            origin: origin.to_string(),
            line: 0,
            column: 0,
            message: "the table lists no flavors".into(),
        });
    }
    let mut out = Vec::with_capacity(raw.flavors.len());
    let mut seen_ids = HashSet::new();
    for entry in &raw.flavors {
        let entry = &entry.value;
        let name = &entry.name.value;
        let at_name = &entry.name.referenced;
        let parsed = flavor_name::parse(name).map_err(|err| fail(at_name, err.to_string()))?;
        if parsed.to_v2() != *name {
            return Err(fail(
                at_name,
                format!(
                    "{name:?} is not written canonically (expected {:?})",
                    parsed.to_v2()
                ),
            ));
        }
        if !seen_ids.insert(testcase_for(name)) {
            return Err(fail(at_name, format!("{name:?} is listed twice")));
        }
        let status = match entry.status.value.as_str() {
            "mandatory" => Status::Mandatory,
            "recommended" => Status::Recommended,
            other => {
                return Err(fail(
                    &entry.status.referenced,
                    format!("status {other:?} is neither \"mandatory\" nor \"recommended\""),
                ));
            }
        };
        for (field, value) in [("vcpus", &entry.vcpus), ("ram_mib", &entry.ram_mib)] {
            if value.value == 0 {
                return Err(fail(
                    &value.referenced,
                    format!("{field} must be at least 1"),
                ));
            }
        }
        let disk_gb = match &entry.disk_gb {
            Some(disk) if disk.value == 0 => {
                return Err(fail(
                    &disk.referenced,
                    "disk_gb must be at least 1; leave it out for a flavor without root disk"
                        .into(),
                ));
            }
            Some(disk) => disk.value,
            None => 0,
        };
        let extra_specs = table_extra_specs(entry, name, disk_gb > 0, &fail)?;
        out.push(StandardFlavor {
            name: name.clone(),
            status,
            vcpus: entry.vcpus.value,
            ram_mib: entry.ram_mib.value,
            disk_gb,
            extra_specs,
        });
    }
    Ok(out)
}

/// Validates the `extra_specs` mapping of one table entry.
fn table_extra_specs(
    entry: &RawFlavor,
    name: &str,
    has_disk: bool,
    fail: &dyn Fn(&serde_saphyr::Location, String) -> TableError,
) -> Result<IndexMap<String, SpecValue>, TableError> {
    let specs = &entry.extra_specs;
    let mut required = vec!["scs:cpu-type", "scs:name-v1", "scs:name-v2"];
    if has_disk {
        required.push("scs:disk0-type");
    }
    let mut out = IndexMap::new();
    for (key, value) in &specs.value {
        let at = &value.referenced;
        let v = value.value.as_str();
        let spec = match key.as_str() {
            "scs:cpu-type" => {
                if !CpuType::ALL.iter().any(|t| t.extra_spec() == v) {
                    return Err(fail(at, format!("{v:?} is not a CPU type")));
                }
                SpecValue::Exact(v.to_string())
            }
            "scs:disk0-type" if has_disk => {
                if v == ANY_DISK_TYPE {
                    SpecValue::AnyDiskType
                } else if DiskType::ALL.iter().any(|t| t.extra_spec() == v) {
                    SpecValue::Exact(v.to_string())
                } else {
                    return Err(fail(
                        at,
                        format!("{v:?} is not a disk type (ssd, nvme, hdd, network or any)"),
                    ));
                }
            }
            "scs:disk0-type" => {
                return Err(fail(
                    at,
                    "scs:disk0-type is only allowed for a flavor with disk_gb".into(),
                ));
            }
            "scs:name-v1" => {
                if flavor_name::parse_v1(v).map(|n| n.to_v2()).as_deref() != Ok(name) {
                    return Err(fail(
                        at,
                        format!("{v:?} is not {name:?} in the v1 (colon) syntax"),
                    ));
                }
                SpecValue::Exact(v.to_string())
            }
            "scs:name-v2" => {
                if v != name {
                    return Err(fail(at, format!("scs:name-v2 must be the name {name:?}")));
                }
                SpecValue::Exact(v.to_string())
            }
            other => {
                return Err(fail(
                    at,
                    format!(
                        "unknown extra spec {other:?} (expected scs:cpu-type, scs:disk0-type, \
                         scs:name-v1, scs:name-v2)"
                    ),
                ));
            }
        };
        out.insert(key.clone(), spec);
    }
    for key in &required {
        if !specs.value.contains_key(*key) {
            return Err(fail(
                &specs.referenced,
                format!("extra_specs of {name:?} lack {key:?}"),
            ));
        }
    }
    Ok(out)
}

/// The built-in table of standard flavors (parsed once).
pub fn standard_flavors() -> Result<&'static [StandardFlavor], &'static TableError> {
    static TABLE: OnceLock<Result<Vec<StandardFlavor>, TableError>> = OnceLock::new();
    TABLE
        .get_or_init(|| parse_table(TABLE_YAML, TABLE_ORIGIN))
        .as_ref()
        .map(Vec::as_slice)
}

/// The probe answering every testcase of the built-in table.
pub fn probe() -> Arc<FnProbe> {
    // The table is checked by unit tests; should it ever be broken, the probe answers no ids
    // and the plan shows the testcases as not handled natively.
    let ids = standard_flavors()
        .map(|table| table.iter().map(StandardFlavor::testcase).collect())
        .unwrap_or_default();
    FnProbe::new("scs-0103-standard-flavors", ids, |ctx, ids| {
        run(ctx, ids).boxed()
    })
}

/// How a standard flavor was found in the cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// A flavor carries the extra spec `scs:name-v2` with the standard name.
    ByNameV2Spec,
    /// A flavor is called by the standard name (and no flavor claims it via `scs:name-v2`).
    ByName,
}

/// The reference suite's lookup of standard flavors over a flavor list: by the extra spec
/// `scs:name-v2` (a later flavor wins over an earlier one), then, for names no extra spec
/// claims, by the flavor name (names starting with `SCS-` only, exact match).
pub struct FlavorIndex<'a> {
    by_spec: HashMap<&'a str, &'a Flavor>,
    by_name: HashMap<&'a str, &'a Flavor>,
}

impl<'a> FlavorIndex<'a> {
    /// Indexes a flavor list.
    pub fn new(flavors: &'a [Flavor]) -> Self {
        let mut by_spec = HashMap::new();
        let mut by_name = HashMap::new();
        for flavor in flavors {
            if let Some(v2) = flavor.extra_specs.get("scs:name-v2") {
                by_spec.insert(v2.as_str(), flavor);
            }
            if flavor.name.starts_with(flavor_name::PREFIX) {
                by_name.insert(flavor.name.as_str(), flavor);
            }
        }
        FlavorIndex { by_spec, by_name }
    }

    /// The flavor standing for a standard name, and how it was found.
    pub fn find(&self, name: &str) -> Option<(&'a Flavor, Lookup)> {
        if let Some(flavor) = self.by_spec.get(name) {
            return Some((flavor, Lookup::ByNameV2Spec));
        }
        self.by_name
            .get(name)
            .map(|flavor| (*flavor, Lookup::ByName))
    }
}

async fn run(ctx: &ProbeContext, ids: &[String]) -> Vec<Outcome> {
    let table = match standard_flavors() {
        Ok(table) => table,
        Err(err) => return abort_all(ids, &format!("the standard flavor table is broken: {err}")),
    };
    let flavors = match common::flavors(ctx).await {
        Ok(flavors) => flavors,
        Err(reason) => return abort_all(ids, &reason),
    };
    let index = FlavorIndex::new(&flavors);
    ids.iter()
        .map(|id| match table.iter().find(|f| f.testcase() == *id) {
            Some(standard) => judge(standard, &index),
            None => Outcome::abort(id, "not a standard flavor testcase of scs-0103"),
        })
        .collect()
}

/// One testcase: the cloud's flavor for `standard` (if any) against the expectations.
pub fn judge(standard: &StandardFlavor, index: &FlavorIndex<'_>) -> Outcome {
    let id = standard.testcase();
    let name = &standard.name;
    let Some((flavor, lookup)) = index.find(name) else {
        return Outcome::fail(
            &id,
            format!(
                "the {} standard flavor {name} is missing",
                standard.status.as_str()
            ),
        )
        .with_evidence(vec![Finding::new(
            flavor_label(name),
            format!("missing: no flavor has this name or the extra spec scs:name-v2={name}"),
        )]);
    };
    let object = match lookup {
        Lookup::ByName => flavor_label(&flavor.name),
        Lookup::ByNameV2Spec if flavor.name == *name => flavor_label(&flavor.name),
        Lookup::ByNameV2Spec => format!("{} (scs:name-v2 {name})", flavor_label(&flavor.name)),
    };
    let expected = standard.expected();
    let problems = flavor_name::check_standard_flavor(&expected, &flavor_facts(flavor));
    if problems.is_empty() {
        return Outcome::pass(
            &id,
            format!("{object} has the figures and extra specs of {name}"),
        );
    }
    let evidence: Vec<Finding> = problems
        .iter()
        .map(|problem| {
            let (what, want) = match &problem.aspect {
                Aspect::Cpus => ("vcpus".to_string(), problem.expected.clone()),
                Aspect::Ram => ("ram".to_string(), problem.expected.clone()),
                Aspect::Disk => ("disk".to_string(), problem.expected.clone()),
                Aspect::ExtraSpec(key) => {
                    let want = match expected.extra_specs.get(key) {
                        Some(SpecValue::Exact(v)) => format!("{v:?}"),
                        _ => problem.expected.clone(),
                    };
                    (key.clone(), want)
                }
            };
            Finding::new(
                object.clone(),
                format!("{what} is {}, expected {want}", problem.actual),
            )
        })
        .collect();
    let aspects: Vec<String> = evidence
        .iter()
        .filter_map(|f| f.message.split(' ').next().map(str::to_string))
        .collect();
    Outcome::fail(
        &id,
        format!(
            "{object} differs from the standard in {}",
            aspects.join(", ")
        ),
    )
    .with_evidence(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Verdict;
    use std::collections::BTreeMap;

    #[test]
    fn builtin_table_loads_with_31_flavors() {
        let table = standard_flavors().expect("built-in table is valid");
        assert_eq!(table.len(), 31);
        let mandatory = table
            .iter()
            .filter(|f| f.status == Status::Mandatory)
            .count();
        assert_eq!(mandatory, 15);
        assert_eq!(table[0].testcase(), "scs-0103-flavor-1v-4");
        assert!(
            table
                .iter()
                .any(|f| f.testcase() == "scs-0103-flavor-2v-4-20s")
        );
    }

    /// The table says the same as the name → spec conversion of the flavor-name library, except
    /// that it is independent data written from the standard.
    #[test]
    fn table_agrees_with_expected_specs() {
        for standard in standard_flavors().unwrap() {
            let parsed = flavor_name::parse(&standard.name).unwrap();
            assert_eq!(
                standard.expected(),
                flavor_name::expected_specs(&parsed),
                "{}",
                standard.name
            );
        }
    }

    /// Every table entry is a testcase of the built-in IaaS scope, in the target its status
    /// names, and the scope has no scs-0103 testcase the table lacks.
    #[test]
    fn table_matches_the_builtin_scope() {
        let scope = crate::spec::load_builtin("iaas").expect("built-in iaas scope");
        let mut in_scope: HashMap<String, String> = HashMap::new();
        for module in scope.modules.values() {
            for (target, ids) in &module.targets {
                for id in ids.iter().filter(|id| id.starts_with(TESTCASE_PREFIX)) {
                    in_scope.insert(id.clone(), target.clone());
                }
            }
        }
        let table = standard_flavors().unwrap();
        assert_eq!(in_scope.len(), table.len());
        for standard in table {
            let target = match standard.status {
                Status::Mandatory => "main",
                Status::Recommended => "recommended",
            };
            assert_eq!(
                in_scope.get(&standard.testcase()).map(String::as_str),
                Some(target),
                "{}",
                standard.name
            );
        }
    }

    fn error_of(text: &str) -> TableError {
        parse_table(text, "t.yaml").unwrap_err()
    }

    const GOOD: &str = "flavors:\n  - name: SCS-2V-4-20s\n    status: mandatory\n    vcpus: 2\n    ram_mib: 4096\n    disk_gb: 20\n    extra_specs:\n      scs:cpu-type: shared-core\n      scs:disk0-type: ssd\n      scs:name-v1: \"SCS-2V:4:20s\"\n      scs:name-v2: SCS-2V-4-20s\n";

    #[test]
    fn strict_validation_names_the_place() {
        assert_eq!(parse_table(GOOD, "t.yaml").unwrap().len(), 1);
        let cases = [
            ("status: mandatory", "status: optional", 3, "neither"),
            (
                "name: SCS-2V-4-20s",
                "name: SCS-02V-4-20s",
                2,
                "canonically",
            ),
            ("name: SCS-2V-4-20s", "name: SCS-2-4-20s", 2, "CPU type"),
            ("vcpus: 2", "vcpus: 0", 4, "at least 1"),
            ("disk_gb: 20", "disk_gb: 0", 6, "leave it out"),
            ("ssd", "fast", 9, "not a disk type"),
            ("shared-core", "shared", 8, "not a CPU type"),
            ("\"SCS-2V:4:20s\"", "\"SCS-2V:4:20\"", 10, "v1"),
            (
                "name-v2: SCS-2V-4-20s",
                "name-v2: SCS-2V-4",
                11,
                "must be the name",
            ),
            ("scs:cpu-type", "scs:cpu_type", 8, "unknown extra spec"),
            ("    vcpus: 2\n", "    vcpus: 2\n    cpus: 2\n", 5, "cpus"),
        ];
        for (from, to, line, needle) in cases {
            let err = error_of(&GOOD.replacen(from, to, 1));
            assert_eq!(err.line, line, "{from} -> {to}: {err}");
            assert!(err.column > 0, "{err}");
            assert!(err.message.contains(needle), "{from} -> {to}: {err}");
            assert!(err.to_string().starts_with("t.yaml:"), "{err}");
        }
        let missing = error_of(&GOOD.replace("      scs:disk0-type: ssd\n", ""));
        assert!(
            missing.message.contains("lack \"scs:disk0-type\""),
            "{missing}"
        );
        let no_disk = GOOD.replace("    disk_gb: 20\n", "");
        assert!(error_of(&no_disk).message.contains("only allowed"));
        let twice = format!("{GOOD}{}", GOOD.replacen("flavors:\n", "", 1));
        assert!(error_of(&twice).message.contains("listed twice"));
        assert!(error_of("flavors: []\n").message.contains("no flavors"));
        assert!(error_of("flavors: [").line > 0);
    }

    fn flavor(name: &str, vcpus: u64, ram: u64, disk: u64, specs: &[(&str, &str)]) -> Flavor {
        Flavor {
            id: name.to_string(),
            name: name.to_string(),
            vcpus,
            ram,
            disk,
            extra_specs: specs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            extra: Default::default(),
        }
    }

    fn standard(name: &str) -> &'static StandardFlavor {
        standard_flavors()
            .unwrap()
            .iter()
            .find(|f| f.name == name)
            .unwrap()
    }

    #[test]
    fn findings_name_the_flavor_and_the_difference() {
        let flavors = [flavor(
            "SCS-2V-4",
            2,
            4096,
            0,
            &[
                ("scs:cpu-type", "dedicated-core"),
                ("scs:name-v2", "SCS-2V-4"),
            ],
        )];
        let out = judge(standard("SCS-2V-4"), &FlavorIndex::new(&flavors));
        assert_eq!(out.verdict, Verdict::Fail);
        let lines: Vec<String> = out
            .evidence
            .iter()
            .map(|f| format!("{}: {}", f.object, f.message))
            .collect();
        assert_eq!(
            lines,
            [
                "flavor \"SCS-2V-4\": scs:cpu-type is \"dedicated-core\", expected \"shared-core\"",
                "flavor \"SCS-2V-4\": scs:name-v1 is missing, expected \"SCS-2V:4\"",
            ]
        );
        assert_eq!(
            out.reason,
            "flavor \"SCS-2V-4\" differs from the standard in scs:cpu-type, scs:name-v1"
        );
    }

    #[test]
    fn lookup_prefers_the_name_v2_spec_and_later_flavors() {
        let specs = [
            ("scs:cpu-type", "shared-core"),
            ("scs:name-v1", "SCS-1V:2"),
            ("scs:name-v2", "SCS-1V-2"),
        ];
        let flavors = [
            flavor("SCS-1V-2", 1, 1024, 0, &[]),
            flavor("small-early", 2, 2048, 0, &specs),
            flavor("small", 1, 2048, 0, &specs),
        ];
        let index = FlavorIndex::new(&flavors);
        let (found, how) = index.find("SCS-1V-2").unwrap();
        assert_eq!((found.name.as_str(), how), ("small", Lookup::ByNameV2Spec));
        let out = judge(standard("SCS-1V-2"), &index);
        assert_eq!(out.verdict, Verdict::Pass, "{out:?}");
        assert!(
            out.reason
                .starts_with("flavor \"small\" (scs:name-v2 SCS-1V-2)")
        );
        // A non-SCS name is never matched by name.
        let lower = [flavor("scs-1v-2", 1, 2048, 0, &specs[..2])];
        assert!(FlavorIndex::new(&lower).find("SCS-1V-2").is_none());
    }

    #[test]
    fn open_disk_type_accepts_any_valid_type() {
        let specs = |disk: &'static str| {
            vec![
                ("scs:cpu-type", "shared-core"),
                ("scs:disk0-type", disk),
                ("scs:name-v1", "SCS-1V:4:10"),
                ("scs:name-v2", "SCS-1V-4-10"),
            ]
        };
        for (disk, verdict) in [
            ("network", Verdict::Pass),
            ("ssd", Verdict::Pass),
            ("local", Verdict::Fail),
        ] {
            let flavors = [flavor("SCS-1V-4-10", 1, 4096, 10, &specs(disk))];
            let out = judge(standard("SCS-1V-4-10"), &FlavorIndex::new(&flavors));
            assert_eq!(out.verdict, verdict, "{disk}: {out:?}");
        }
    }
}
