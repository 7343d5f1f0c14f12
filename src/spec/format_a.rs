//! Reader for format A (2023 to 2024-06): `versions → standards → checks`, no modules, no
//! timeline. Each standard becomes a module (mandatory checks in `main`, optional ones in
//! `recommended`), each distinct check a script with one testcase, and the timeline is
//! synthesised from `stabilized_at` and `deprecated_at` (or the older `obsoleted_at`).

use super::format_c::{empty_scope, read_header, read_version_head, runner};
use super::load::Ctx;
use super::model::{
    Format, Include, Lifetime, Module, Pos, Runner, Scope, Script, Testcase, TimelineEntry,
    Validity, Version,
};
use super::validate::check_scope;
use super::yaml::Node;
use chrono::NaiveDate;
use indexmap::IndexMap;
use std::collections::{BTreeSet, HashMap};

const TOP_KEYS: &[&str] = &[
    "uuid",
    "name",
    "url",
    "variables",
    "versions",
    "prerequisite",
];
const TOP_REQUIRED: &[&str] = &["name", "url", "versions"];
const VERSION_KEYS: &[&str] = &[
    "version",
    "standards",
    "stabilized_at",
    "deprecated_at",
    "obsoleted_at",
];
const STANDARD_KEYS: &[&str] = &["name", "url", "condition", "checks", "check_tools"];
const CHECK_KEYS: &[&str] = &[
    "executable",
    "env",
    "args",
    "condition",
    "lifetime",
    "id",
    "section",
    "classification",
];

/// The date of the first synthesised timeline entry (every version a draft until stabilised).
pub const TIMELINE_START: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

type CheckKey = (Runner, Option<String>, IndexMap<String, String>);
/// Name, url and targets of a standard: identical standards of several versions share a module.
type ModuleContent = (String, Option<String>, IndexMap<String, Vec<String>>);

fn condition(cx: &mut Ctx, node: &Node, inherited: bool) -> bool {
    let Some(c) = node.get("condition") else {
        return inherited;
    };
    match cx.string(c, "condition").as_deref() {
        Some("mandatory") => true,
        Some("optional") => false,
        Some(other) => {
            cx.error(
                Some(c.pos),
                format!("unknown condition `{other}` (expected mandatory or optional)"),
            );
            inherited
        }
        None => inherited,
    }
}

fn slug(name: &str) -> String {
    let mut out = String::new();
    for ch in name.chars() {
        if ch.is_ascii_alphanumeric() || ch == '.' {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Reads a format-A document.
pub(crate) fn read(cx: &mut Ctx, root: &Node) -> Option<Scope> {
    cx.keys(root, "the scope", TOP_KEYS, TOP_REQUIRED);
    let mut scope = empty_scope(Format::A);
    read_header(cx, root, &mut scope);

    // testcase id → the distinct checks seen under that id, with the id each was given
    let mut checks: HashMap<String, Vec<(CheckKey, String)>> = HashMap::new();
    // module content → id
    let mut module_ids: Vec<(ModuleContent, String)> = Vec::new();
    let mut deprecations: Vec<Option<NaiveDate>> = Vec::new();
    let mut seen_ver: HashMap<String, Pos> = HashMap::new();

    let versions = root.get("versions");
    for vnode in versions
        .and_then(|v| cx.seq(v, "`versions`"))
        .unwrap_or(&[])
    {
        if !cx.keys(vnode, "version", VERSION_KEYS, &["version", "standards"]) {
            continue;
        }
        let Some((vname, stabilized_at)) =
            read_version_head(cx, vnode, &mut seen_ver, "stabilized_at")
        else {
            continue;
        };
        let deprecated = match (vnode.get("deprecated_at"), vnode.get("obsoleted_at")) {
            (Some(d), Some(o)) => {
                cx.error(
                    Some(o.pos),
                    "give either `deprecated_at` or `obsoleted_at`, not both",
                );
                cx.date(d, "deprecated_at")
            }
            (Some(d), None) => cx.date(d, "deprecated_at"),
            (None, Some(o)) => cx.date(o, "obsoleted_at"),
            (None, None) => None,
        };
        let mut includes = Vec::new();
        let mut ids_here: HashMap<String, Pos> = HashMap::new();
        let standards = vnode
            .get("standards")
            .and_then(|s| cx.seq(s, "`standards`"))
            .unwrap_or(&[]);
        for snode in standards {
            if !cx.keys(snode, "standard", STANDARD_KEYS, &["name"]) {
                continue;
            }
            let Some((sname, _)) = cx.req_string(snode, "name") else {
                continue;
            };
            let surl = cx.opt_string(snode, "url");
            let mandatory_default = condition(cx, snode, true);
            let mut targets: IndexMap<String, Vec<String>> = IndexMap::new();
            let check_nodes = match (snode.get("checks"), snode.get("check_tools")) {
                (Some(c), Some(t)) => {
                    cx.error(
                        Some(t.pos),
                        "give either `checks` or `check_tools`, not both",
                    );
                    Some(c)
                }
                (c, t) => c.or(t),
            };
            for cnode in check_nodes
                .and_then(|c| cx.seq(c, "`checks`"))
                .unwrap_or(&[])
            {
                if !cx.keys(cnode, "check", CHECK_KEYS, &["id"]) {
                    continue;
                }
                let Some((id, id_pos)) = cx.req_string(cnode, "id") else {
                    continue;
                };
                if let Some(first) = ids_here.get(&id) {
                    cx.error(
                        Some(id_pos),
                        format!(
                            "duplicate check id `{id}` in version `{vname}` (first declared at {first})"
                        ),
                    );
                    continue;
                }
                ids_here.insert(id.clone(), id_pos);
                let mandatory = condition(cx, cnode, mandatory_default);
                let key: CheckKey = (
                    runner(cx, cnode.get("executable")),
                    cnode.get("args").and_then(|a| cx.scalar(a, "`args`")),
                    cnode
                        .get("env")
                        .map(|e| cx.string_map(e, "`env`"))
                        .unwrap_or_default(),
                );
                let lifetime = match cnode.get("lifetime") {
                    None => Lifetime::Day,
                    Some(l) => match cx.string(l, "lifetime") {
                        None => Lifetime::Day,
                        Some(word) => Lifetime::parse(&word).unwrap_or_else(|| {
                            cx.error(
                                Some(l.pos),
                                format!(
                                    "unknown lifetime `{word}` (expected day, week, month, quarter or year)"
                                ),
                            );
                            Lifetime::Day
                        }),
                    },
                };
                let section = cx
                    .opt_string(cnode, "section")
                    .or_else(|| cx.opt_string(cnode, "classification"))
                    .unwrap_or_else(|| lifetime.as_str().to_string());
                let variants = checks.entry(id.clone()).or_default();
                let assigned = match variants.iter().find(|(k, _)| *k == key) {
                    Some((_, assigned)) => assigned.clone(),
                    None => {
                        let assigned = if variants.is_empty() {
                            id.clone()
                        } else {
                            format!("{id}@{vname}")
                        };
                        variants.push((key.clone(), assigned.clone()));
                        let script = scope.scripts.len();
                        scope.scripts.push(Script {
                            runner: key.0,
                            args: key.1,
                            env: key.2,
                            testcases: vec![assigned.clone()],
                            pos: cnode.pos,
                        });
                        scope.testcases.insert(
                            assigned.clone(),
                            Testcase {
                                id: assigned.clone(),
                                lifetime,
                                section: Some(section),
                                description: Some(sname.clone()),
                                url: surl.clone(),
                                script,
                                tags: Vec::new(),
                                pos: cnode.pos,
                            },
                        );
                        assigned
                    }
                };
                let target = if mandatory { "main" } else { "recommended" };
                targets
                    .entry(target.to_string())
                    .or_default()
                    .push(assigned);
            }
            let content = (sname.clone(), surl.clone(), targets.clone());
            let module_id = match module_ids.iter().find(|(c, _)| *c == content) {
                Some((_, id)) => id.clone(),
                None => {
                    let base = slug(&sname);
                    let id = if module_ids.iter().any(|(_, id)| *id == base) {
                        format!("{base}@{vname}")
                    } else {
                        base
                    };
                    module_ids.push((content, id.clone()));
                    scope.modules.insert(
                        id.clone(),
                        Module {
                            id: id.clone(),
                            name: Some(sname),
                            url: surl,
                            targets,
                            parameters: IndexMap::new(),
                            pos: snode.pos,
                        },
                    );
                    id
                }
            };
            includes.push(Include {
                module: module_id,
                parameters: IndexMap::new(),
                pos: snode.pos,
            });
        }
        let targets = super::format_c::derive_targets(&includes, &scope.modules);
        deprecations.push(deprecated);
        scope.versions.push(Version {
            name: vname,
            stabilized_at,
            includes,
            targets,
            pos: vnode.pos,
        });
    }

    scope.timeline = synthesise_timeline(&scope.versions, &deprecations, root.pos);
    let marks = vec![IndexMap::new(); scope.timeline.len()];
    check_scope(cx, &scope, &marks);
    Some(scope)
}

/// Builds a timeline (newest entry first) from stabilisation and deprecation dates: a version is
/// a draft until `stabilized_at`, effective from then on, and unlisted (deprecated) from the day
/// after its deprecation date.
fn synthesise_timeline(
    versions: &[Version],
    deprecations: &[Option<NaiveDate>],
    pos: Pos,
) -> Vec<TimelineEntry> {
    let mut dates = BTreeSet::from([TIMELINE_START]);
    for (v, dep) in versions.iter().zip(deprecations) {
        dates.extend(v.stabilized_at);
        dates.extend(dep.and_then(|d| d.succ_opt()));
    }
    let mut out: Vec<TimelineEntry> = dates
        .into_iter()
        .map(|date| {
            let mut map = IndexMap::new();
            for (v, dep) in versions.iter().zip(deprecations) {
                if dep.is_some_and(|d| date > d) {
                    continue;
                }
                let validity = match v.stabilized_at {
                    Some(s) if s <= date => Validity::Effective,
                    _ => Validity::Draft,
                };
                map.insert(v.name.clone(), validity);
            }
            TimelineEntry {
                date,
                versions: map,
                pos,
            }
        })
        .collect();
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(
            slug("OpenStack Powered Compute v2022.11"),
            "openstack-powered-compute-v2022.11"
        );
        assert_eq!(slug("Flavor naming"), "flavor-naming");
    }
}
