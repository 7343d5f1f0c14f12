//! Reader for format B (2024-06 to 2026-01): modules carry their own `run` entries and tagged
//! `testcases`; versions select testcases of their included modules with tag selectors such as
//! `main: mandatory` or `preview: a/b, c !d`. Also the selector grammar.

use super::format_c::{empty_scope, read_header, read_testcase, read_version_head, runner};
use super::load::Ctx;
use super::model::{Format, Lifetime, Module, Pos, Runner, Scope, Script, Version};
use super::validate::{check_scope, read_includes, read_parameters, read_timeline};
use super::yaml::Node;
use indexmap::IndexMap;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

const TOP_KEYS: &[&str] = &[
    "uuid",
    "name",
    "url",
    "variables",
    "modules",
    "timeline",
    "versions",
    "prerequisite",
];
const TOP_REQUIRED: &[&str] = &["uuid", "name", "url", "modules", "versions", "timeline"];
const MODULE_KEYS: &[&str] = &["id", "name", "url", "parameters", "run", "testcases"];
const RUN_KEYS: &[&str] = &["executable", "args", "env", "section"];
const TESTCASE_KEYS: &[&str] = &["id", "lifetime", "tags", "description"];
const VERSION_KEYS: &[&str] = &["version", "include", "targets", "stabilized_at"];

/// One atom of a selector: a tag that must be present (or, negated, absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Atom {
    /// `true` for `!tag`.
    pub negated: bool,
    /// The tag.
    pub tag: String,
}

/// A parsed tag selector: alternatives (`,`) of conjunctions (space) of disjunctions (`/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// Each alternative is a list of terms; each term a list of atoms of which one must hold.
    pub alternatives: Vec<Vec<Vec<Atom>>>,
}

impl Selector {
    /// Parses a selector string; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Selector, String> {
        let mut alternatives = Vec::new();
        for alt in text.split(',') {
            let mut terms = Vec::new();
            for term in alt.split_whitespace() {
                let mut atoms = Vec::new();
                for atom in term.split('/') {
                    let (negated, tag) = match atom.strip_prefix('!') {
                        Some(rest) => (true, rest),
                        None => (false, atom),
                    };
                    if tag.is_empty() || tag.contains('!') {
                        return Err(format!("invalid selector `{text}`: bad tag `{atom}`"));
                    }
                    atoms.push(Atom {
                        negated,
                        tag: tag.to_string(),
                    });
                }
                terms.push(atoms);
            }
            if terms.is_empty() {
                return Err(format!("invalid selector `{text}`: empty alternative"));
            }
            alternatives.push(terms);
        }
        Ok(Selector { alternatives })
    }

    /// Whether a testcase with these tags is selected.
    pub fn matches(&self, tags: &[String]) -> bool {
        self.alternatives.iter().any(|terms| {
            terms
                .iter()
                .all(|atoms| atoms.iter().any(|a| tags.contains(&a.tag) != a.negated))
        })
    }
}

/// What makes two `run` entries the same script: runner, args, env, section.
type RunKey = (
    Runner,
    Option<String>,
    IndexMap<String, String>,
    Option<String>,
);

/// A module's testcases with the tags this module gives them.
type ModuleCases = Vec<(String, Vec<String>)>;

/// Reads a format-B document.
pub(crate) fn read(cx: &mut Ctx, root: &Node) -> Option<Scope> {
    cx.keys(root, "the scope", TOP_KEYS, TOP_REQUIRED);
    let mut scope = empty_scope(Format::B);
    read_header(cx, root, &mut scope);

    let mut script_keys: Vec<RunKey> = Vec::new();
    let mut cases: HashMap<String, ModuleCases> = HashMap::new();
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

            // run entries become scripts; identical entries of different modules share one
            let mut my_scripts = Vec::new();
            let mut section = None;
            if let Some(run) = item.get("run") {
                for r in cx.seq(run, "`run`").unwrap_or(&[]) {
                    if !cx.keys(r, "run entry", RUN_KEYS, &["executable"]) {
                        continue;
                    }
                    let key = (
                        runner(cx, r.get("executable")),
                        r.get("args").and_then(|a| cx.scalar(a, "`args`")),
                        r.get("env")
                            .map(|e| cx.string_map(e, "`env`"))
                            .unwrap_or_default(),
                        cx.opt_string(r, "section"),
                    );
                    if section.is_none() {
                        section = key.3.clone();
                    }
                    my_scripts.push(script_index(&mut scope, &mut script_keys, key, r.pos));
                }
            }
            let mut my_cases = Vec::new();
            if let Some(tcs) = item.get("testcases") {
                let tcs = cx.seq(tcs, "`testcases`").unwrap_or(&[]);
                if my_scripts.is_empty() && !tcs.is_empty() {
                    let key = (Runner::Manual, None, IndexMap::new(), None);
                    my_scripts.push(script_index(&mut scope, &mut script_keys, key, item.pos));
                }
                let mut seen_here: HashMap<String, Pos> = HashMap::new();
                for tc in tcs {
                    let Some(mut t) = read_testcase(
                        cx,
                        tc,
                        TESTCASE_KEYS,
                        Lifetime::Week,
                        my_scripts[0],
                        &mut seen_here,
                    ) else {
                        continue;
                    };
                    let mut tags = Vec::new();
                    if let Some(tn) = tc.get("tags") {
                        for tag in cx.seq(tn, "`tags`").unwrap_or(&[]) {
                            if let Some(tag) = cx.string(tag, "tag") {
                                tags.push(tag);
                            }
                        }
                    }
                    for &s in &my_scripts {
                        if !scope.scripts[s].testcases.contains(&t.id) {
                            scope.scripts[s].testcases.push(t.id.clone());
                        }
                    }
                    my_cases.push((t.id.clone(), tags.clone()));
                    if !scope.testcases.contains_key(&t.id) {
                        t.tags = tags;
                        if t.section.is_none() {
                            t.section = section.clone();
                        }
                        scope.testcases.insert(t.id.clone(), t);
                    }
                }
            }
            cases.insert(id.clone(), my_cases);
            let module = Module {
                id: id.clone(),
                name: cx.opt_string(item, "name"),
                url: cx.opt_string(item, "url"),
                targets: IndexMap::new(),
                parameters: read_parameters(cx, item.get("parameters")),
                pos: item.pos,
            };
            scope.modules.insert(id, module);
        }
    }
    let known_modules: HashSet<String> = seen_mod.keys().cloned().collect();

    let mut seen_ver: HashMap<String, Pos> = HashMap::new();
    let mut module_targets: HashMap<String, BTreeMap<String, BTreeSet<String>>> = HashMap::new();
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
            let includes = read_includes(cx, item.get("include"), &scope.modules, &known_modules);
            let mut targets: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            if let Some(tnode) = item.get("targets") {
                for (k, v) in cx.map(tnode, "`targets`").unwrap_or(&[]) {
                    let Some(target) = cx.string(k, "target name") else {
                        continue;
                    };
                    let Some(text) = cx.string(v, "selector") else {
                        continue;
                    };
                    // the target exists even when its selector is broken (no follow-up errors)
                    let set = targets.entry(target.clone()).or_default();
                    let selector = match Selector::parse(&text) {
                        Ok(s) => s,
                        Err(msg) => {
                            cx.error(Some(v.pos), msg);
                            continue;
                        }
                    };
                    for inc in &includes {
                        for (tc, tags) in cases.get(&inc.module).map(Vec::as_slice).unwrap_or(&[]) {
                            if selector.matches(tags) {
                                set.insert(tc.clone());
                                module_targets
                                    .entry(inc.module.clone())
                                    .or_default()
                                    .entry(target.clone())
                                    .or_default()
                                    .insert(tc.clone());
                            }
                        }
                    }
                }
            }
            scope.versions.push(Version {
                name,
                stabilized_at,
                includes,
                targets: targets
                    .into_iter()
                    .map(|(k, v)| (k, v.into_iter().collect()))
                    .collect(),
                pos: item.pos,
            });
        }
    }
    // a module's targets in the model: what the versions including it select from it
    for (id, targets) in module_targets {
        if let Some(m) = scope.modules.get_mut(&id) {
            m.targets = targets
                .into_iter()
                .map(|(k, v)| (k, v.into_iter().collect()))
                .collect();
        }
    }
    let version_names: HashSet<String> = seen_ver.keys().cloned().collect();
    let (timeline, marks) = read_timeline(cx, root.get("timeline"), &version_names);
    scope.timeline = timeline;
    check_scope(cx, &scope, &marks);
    Some(scope)
}

fn script_index(scope: &mut Scope, keys: &mut Vec<RunKey>, key: RunKey, pos: Pos) -> usize {
    if let Some(i) = keys.iter().position(|k| *k == key) {
        return i;
    }
    keys.push(key.clone());
    scope.scripts.push(Script {
        runner: key.0,
        args: key.1,
        env: key.2,
        testcases: Vec::new(),
        pos,
    });
    scope.scripts.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn selector_table() {
        let table: &[(&str, &[&str], bool)] = &[
            ("mandatory", &["mandatory"], true),
            ("mandatory", &["recommended"], false),
            ("mandatory", &[], false),
            ("a/b", &["b"], true),
            ("a/b", &["c"], false),
            ("a b", &["a"], false),
            ("a b", &["a", "b"], true),
            ("a, b", &["b"], true),
            ("!a", &[], true),
            ("!a", &["a"], false),
            ("a !b", &["a", "b"], false),
            ("a !b", &["a"], true),
            ("a/!b", &[], true),
            ("a b/c, !d", &["a", "c"], true),
            ("a b/c, !d", &["a", "d"], false),
            ("a b/c, !d", &["x"], true),
            (
                "domain-manager/availability-zones/service-apis-docs",
                &["availability-zones"],
                true,
            ),
        ];
        for (text, tc_tags, expected) in table {
            let s = Selector::parse(text).unwrap();
            assert_eq!(
                s.matches(&tags(tc_tags)),
                *expected,
                "{text} on {tc_tags:?}"
            );
        }
    }

    #[test]
    fn selector_structure() {
        let s = Selector::parse("a b/!c, d").unwrap();
        assert_eq!(s.alternatives.len(), 2);
        assert_eq!(s.alternatives[0].len(), 2);
        assert_eq!(
            s.alternatives[0][1],
            vec![
                Atom {
                    negated: false,
                    tag: "b".into()
                },
                Atom {
                    negated: true,
                    tag: "c".into()
                }
            ]
        );
    }

    #[test]
    fn selector_errors() {
        assert_eq!(
            Selector::parse("a,,b").unwrap_err(),
            "invalid selector `a,,b`: empty alternative"
        );
        assert_eq!(
            Selector::parse("a//b").unwrap_err(),
            "invalid selector `a//b`: bad tag ``"
        );
        assert_eq!(
            Selector::parse("!").unwrap_err(),
            "invalid selector `!`: bad tag `!`"
        );
        assert_eq!(
            Selector::parse("").unwrap_err(),
            "invalid selector ``: empty alternative"
        );
    }
}
