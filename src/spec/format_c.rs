//! Reader for the current format ("C", since 2026-01): top-level `scripts` with testcases,
//! `modules` with named targets, `versions` with `include`, and a `timeline`.
//! Also holds the pieces the older-format readers reuse (header, testcase, version head).

use super::load::Ctx;
use super::model::{
    BUILTIN_PREFIX, Format, Lifetime, Module, Pos, Runner, Scope, Script, Testcase, Version,
};
use super::validate::{check_scope, read_includes, read_parameters, read_timeline, read_variables};
use super::yaml::Node;
use chrono::NaiveDate;
use indexmap::IndexMap;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

const TOP_KEYS: &[&str] = &[
    "uuid",
    "name",
    "url",
    "versions",
    "prerequisite",
    "variables",
    "scripts",
    "modules",
    "timeline",
];
const TOP_REQUIRED: &[&str] = &["uuid", "name", "url", "modules", "versions", "timeline"];
const SCRIPT_KEYS: &[&str] = &["executable", "env", "args", "testcases"];
const TESTCASE_KEYS: &[&str] = &["id", "lifetime", "section", "description", "url"];
const MODULE_KEYS: &[&str] = &["id", "targets", "url", "name", "parameters"];
const VERSION_KEYS: &[&str] = &["version", "include", "targets", "stabilized_at"];

/// An empty scope of the given format, to be filled by a reader.
pub(crate) fn empty_scope(format: Format) -> Scope {
    Scope {
        uuid: String::new(),
        name: String::new(),
        url: String::new(),
        variables: Vec::new(),
        defaults: IndexMap::new(),
        scripts: Vec::new(),
        testcases: IndexMap::new(),
        modules: IndexMap::new(),
        versions: Vec::new(),
        timeline: Vec::new(),
        origin: super::model::Origin::Builtin(String::new()),
        base_dir: None,
        format,
    }
}

/// Reads `uuid`, `name`, `url`, `variables` and warns about `prerequisite`.
pub(crate) fn read_header(cx: &mut Ctx, root: &Node, scope: &mut Scope) {
    scope.uuid = cx.opt_string(root, "uuid").unwrap_or_default();
    scope.name = cx.opt_string(root, "name").unwrap_or_default();
    scope.url = cx.opt_string(root, "url").unwrap_or_default();
    let (variables, defaults) = read_variables(cx, root.get("variables"));
    scope.variables = variables;
    scope.defaults = defaults;
    if let Some(p) = root.get("prerequisite") {
        cx.warn(
            Some(p.pos),
            "`prerequisite` is not supported and is ignored",
        );
    }
}

/// Turns an `executable` value into a runner.
pub(crate) fn runner(cx: &mut Ctx, node: Option<&Node>) -> Runner {
    let Some(node) = node else {
        return Runner::Manual;
    };
    let Some(text) = cx.string(node, "executable") else {
        return Runner::Manual;
    };
    if let Some(name) = text.strip_prefix(BUILTIN_PREFIX) {
        if name.is_empty() {
            cx.error(
                Some(node.pos),
                format!("`{BUILTIN_PREFIX}` must be followed by the name of a probe set"),
            );
        }
        return Runner::Builtin(name.to_string());
    }
    if text.starts_with("http://") || text.starts_with("https://") {
        cx.error(
            Some(node.pos),
            format!("remote executable `{text}` is not supported (use a local path)"),
        );
    }
    if text.is_empty() {
        cx.error(Some(node.pos), "`executable` must not be empty");
    }
    let text = text.strip_prefix("file://").unwrap_or(&text).to_string();
    Runner::Executable(text)
}

/// Reads one testcase mapping. `seen` maps ids to where they were first declared; a repeat is
/// reported as a duplicate (unless `allow_repeat`, in which case `None` is returned silently
/// for the caller to merge).
#[allow(clippy::too_many_arguments)]
pub(crate) fn read_testcase(
    cx: &mut Ctx,
    node: &Node,
    allowed: &[&str],
    default_lifetime: Lifetime,
    script: usize,
    seen: &mut HashMap<String, Pos>,
) -> Option<Testcase> {
    if !cx.keys(node, "testcase", allowed, &["id"]) {
        return None;
    }
    let (id, id_pos) = cx.req_string(node, "id")?;
    if !cx.first_declaration(seen, "testcase id", &id, id_pos) {
        return None;
    }
    let lifetime = match node.get("lifetime") {
        None => default_lifetime,
        Some(l) => match cx.string(l, "lifetime") {
            None => default_lifetime,
            Some(word) => Lifetime::parse(&word).unwrap_or_else(|| {
                cx.error(
                    Some(l.pos),
                    format!(
                        "unknown lifetime `{word}` (expected day, week, month, quarter or year)"
                    ),
                );
                default_lifetime
            }),
        },
    };
    Some(Testcase {
        id,
        lifetime,
        section: cx.opt_string(node, "section"),
        description: cx.opt_string(node, "description"),
        url: cx.opt_string(node, "url"),
        script,
        tags: Vec::new(),
        pos: node.pos,
    })
}

/// Reads the `version` name and `stabilized_at` of a version mapping and checks the name is
/// unique. Returns `None` when the name is unusable.
pub(crate) fn read_version_head(
    cx: &mut Ctx,
    node: &Node,
    seen: &mut HashMap<String, Pos>,
    stabilized_key: &str,
) -> Option<(String, Option<NaiveDate>)> {
    let (name, pos) = match node.get("version") {
        Some(v) => (cx.scalar(v, "`version`")?, v.pos),
        None => return None,
    };
    if !cx.first_declaration(seen, "version", &name, pos) {
        return None;
    }
    let stabilized = node.get(stabilized_key).and_then(|d| {
        let date = cx.date(d, stabilized_key);
        if date.is_none() {
            cx.bad_stabilized.insert(name.clone());
        }
        date
    });
    Some((name, stabilized))
}

/// Derives a version's targets: per target name, the sorted union over the included modules.
pub(crate) fn derive_targets(
    includes: &[super::model::Include],
    modules: &IndexMap<String, Module>,
) -> BTreeMap<String, Vec<String>> {
    let mut sets: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for inc in includes {
        if let Some(m) = modules.get(&inc.module) {
            for (target, ids) in &m.targets {
                sets.entry(target.clone())
                    .or_default()
                    .extend(ids.iter().cloned());
            }
        }
    }
    sets.into_iter()
        .map(|(k, v)| (k, v.into_iter().collect()))
        .collect()
}

/// Reads a format-C document.
pub(crate) fn read(cx: &mut Ctx, root: &Node) -> Option<Scope> {
    cx.keys(root, "the scope", TOP_KEYS, TOP_REQUIRED);
    let mut scope = empty_scope(Format::C);
    read_header(cx, root, &mut scope);

    // scripts and their testcases
    let mut seen_tc: HashMap<String, Pos> = HashMap::new();
    if let Some(node) = root.get("scripts") {
        for item in cx.seq(node, "`scripts`").unwrap_or(&[]) {
            if !cx.keys(item, "script", SCRIPT_KEYS, &["testcases"]) {
                continue;
            }
            let index = scope.scripts.len();
            let runner = runner(cx, item.get("executable"));
            let args = item.get("args").and_then(|a| cx.scalar(a, "`args`"));
            let env = item
                .get("env")
                .map(|e| cx.string_map(e, "`env`"))
                .unwrap_or_default();
            let mut ids = Vec::new();
            if let Some(tcs) = item.get("testcases") {
                for tc in cx.seq(tcs, "`testcases`").unwrap_or(&[]) {
                    if let Some(t) =
                        read_testcase(cx, tc, TESTCASE_KEYS, Lifetime::Week, index, &mut seen_tc)
                    {
                        ids.push(t.id.clone());
                        scope.testcases.insert(t.id.clone(), t);
                    }
                }
            }
            scope.scripts.push(Script {
                runner,
                args,
                env,
                testcases: ids,
                pos: item.pos,
            });
        }
    }
    let declared: HashSet<String> = seen_tc.keys().cloned().collect();

    // modules
    let mut seen_mod: HashMap<String, Pos> = HashMap::new();
    if let Some(node) = root.get("modules") {
        for item in cx.seq(node, "`modules`").unwrap_or(&[]) {
            if !cx.keys(item, "module", MODULE_KEYS, &["id"]) {
                continue;
            }
            let Some((id, id_pos)) = cx.req_string(item, "id") else {
                continue;
            };
            if !cx.first_declaration(&mut seen_mod, "module id", &id, id_pos) {
                continue;
            }
            let mut targets = IndexMap::new();
            if let Some(tnode) = item.get("targets") {
                let entries = if tnode.is_null() {
                    Some(&[][..])
                } else {
                    cx.map(tnode, "`targets`")
                };
                for (k, v) in entries.unwrap_or(&[]) {
                    let Some(target) = cx.string(k, "target name") else {
                        continue;
                    };
                    let mut list = Vec::new();
                    for t in cx.seq(v, &format!("target `{target}`")).unwrap_or(&[]) {
                        let Some(tc) = cx.string(t, "testcase id") else {
                            continue;
                        };
                        if !declared.contains(&tc) {
                            cx.error(
                                Some(t.pos),
                                format!(
                                    "target `{target}` of module `{id}` names undeclared testcase `{tc}`"
                                ),
                            );
                        }
                        list.push(tc);
                    }
                    targets.insert(target, list);
                }
            }
            let module = Module {
                id: id.clone(),
                name: cx.opt_string(item, "name"),
                url: cx.opt_string(item, "url"),
                targets,
                parameters: read_parameters(cx, item.get("parameters")),
                pos: item.pos,
            };
            scope.modules.insert(id, module);
        }
    }
    let known_modules: HashSet<String> = seen_mod.keys().cloned().collect();

    // versions
    let mut seen_ver: HashMap<String, Pos> = HashMap::new();
    if let Some(node) = root.get("versions") {
        for item in cx.seq(node, "`versions`").unwrap_or(&[]) {
            if !cx.keys(item, "version", VERSION_KEYS, &["version", "include"]) {
                continue;
            }
            let Some((name, stabilized_at)) =
                read_version_head(cx, item, &mut seen_ver, "stabilized_at")
            else {
                continue;
            };
            if let Some(t) = item.get("targets") {
                cx.warn(
                    Some(t.pos),
                    "`targets` of a version is ignored in this format (targets come from the included modules)",
                );
            }
            let includes = read_includes(cx, item.get("include"), &scope.modules, &known_modules);
            let targets = derive_targets(&includes, &scope.modules);
            scope.versions.push(Version {
                name,
                stabilized_at,
                includes,
                targets,
                pos: item.pos,
            });
        }
    }
    let version_names: HashSet<String> = seen_ver.keys().cloned().collect();
    let (timeline, marks) = read_timeline(cx, root.get("timeline"), &version_names);
    scope.timeline = timeline;
    check_scope(cx, &scope, &marks);
    Some(scope)
}
