//! Readers and checks shared by the format readers: variables, includes, the timeline, and the
//! whole-scope checks run after a file has been read (timeline against `stabilized_at`, the
//! `main` target, duplicate timeline dates).

use super::load::Ctx;
use super::model::{Include, Module, Pos, Scope, TimelineEntry, Validity};
use super::yaml::{Node, Value};
use indexmap::IndexMap;
use std::collections::{HashMap, HashSet};

/// Positions of timeline codes, parallel to [`Scope::timeline`]: version name → position of
/// its code.
pub(crate) type TimelineMarks = Vec<IndexMap<String, Pos>>;

/// Reads `variables`: a list of names or single-key `{name: default}` mappings.
pub(crate) fn read_variables(
    cx: &mut Ctx,
    node: Option<&Node>,
) -> (Vec<String>, IndexMap<String, String>) {
    let mut names = Vec::new();
    let mut defaults = IndexMap::new();
    let Some(node) = node else {
        return (names, defaults);
    };
    let Some(items) = cx.seq(node, "`variables`") else {
        return (names, defaults);
    };
    let mut seen: HashSet<String> = HashSet::new();
    for item in items {
        let (name, pos) = match &item.value {
            Value::Str(s) => (s.clone(), item.pos),
            Value::Map(entries) if entries.len() == 1 => {
                let (k, v) = &entries[0];
                let Some(name) = cx.string(k, "variable name") else {
                    continue;
                };
                if let Some(default) = cx.scalar(v, &format!("default of variable `{name}`")) {
                    defaults.insert(name.clone(), default);
                }
                (name, k.pos)
            }
            other => {
                cx.error(
                    Some(item.pos),
                    format!(
                        "a variable must be a name or a single-key mapping `name: default`, found {}",
                        other.kind()
                    ),
                );
                continue;
            }
        };
        if !seen.insert(name.clone()) {
            cx.error(Some(pos), format!("duplicate variable `{name}`"));
            continue;
        }
        names.push(name);
    }
    (names, defaults)
}

/// Reads a module's `parameters`: a mapping name → description (or, as older documents
/// describe, a list of names).
pub(crate) fn read_parameters(cx: &mut Ctx, node: Option<&Node>) -> IndexMap<String, String> {
    let mut out = IndexMap::new();
    let Some(node) = node else {
        return out;
    };
    match &node.value {
        Value::Seq(items) => {
            for item in items {
                if let Some(name) = cx.string(item, "parameter name") {
                    out.insert(name, String::new());
                }
            }
        }
        _ => out = cx.string_map(node, "`parameters`"),
    }
    out
}

/// Reads a version's `include` list and checks each entry against the known modules: the
/// module must exist and the include must give a value for each declared parameter.
pub(crate) fn read_includes(
    cx: &mut Ctx,
    node: Option<&Node>,
    modules: &IndexMap<String, Module>,
    known_ids: &HashSet<String>,
) -> Vec<Include> {
    let mut out = Vec::new();
    let Some(node) = node else {
        return out;
    };
    let Some(items) = cx.seq(node, "`include`") else {
        return out;
    };
    for item in items {
        let (module, module_pos, parameters, param_pos) = match &item.value {
            Value::Str(s) => (s.clone(), item.pos, IndexMap::new(), HashMap::new()),
            Value::Map(_) => {
                if !cx.keys(item, "include", &["ref", "parameters"], &["ref"]) {
                    continue;
                }
                let Some((module, module_pos)) = cx.req_string(item, "ref") else {
                    continue;
                };
                let mut param_pos = HashMap::new();
                let params = match item.get("parameters") {
                    Some(p) => {
                        for (k, _) in p.as_map().unwrap_or(&[]) {
                            if let Some(name) = k.as_str() {
                                param_pos.insert(name.to_string(), k.pos);
                            }
                        }
                        cx.string_map(p, "`parameters`")
                    }
                    None => IndexMap::new(),
                };
                (module, module_pos, params, param_pos)
            }
            other => {
                cx.error(
                    Some(item.pos),
                    format!(
                        "an include must be a module id or a mapping with `ref`, found {}",
                        other.kind()
                    ),
                );
                continue;
            }
        };
        match modules.get(&module) {
            None if !known_ids.contains(&module) => {
                cx.error(
                    Some(module_pos),
                    format!("include names unknown module `{module}`"),
                );
            }
            None => {}
            Some(m) => {
                for name in m.parameters.keys() {
                    if !parameters.contains_key(name) {
                        cx.error(
                            Some(item.pos),
                            format!(
                                "include of module `{module}` gives no value for its parameter `{name}`"
                            ),
                        );
                    }
                }
                for name in parameters.keys() {
                    if !m.parameters.contains_key(name) {
                        cx.warn(
                            param_pos.get(name).copied().or(Some(item.pos)),
                            format!(
                                "include of module `{module}` sets parameter `{name}`, which the module does not declare"
                            ),
                        );
                    }
                }
            }
        }
        out.push(Include {
            module,
            parameters,
            pos: item.pos,
        });
    }
    out
}

/// Reads `timeline`: entries `{date, versions: {name: code}}`. Unknown version names and codes
/// are reported here.
pub(crate) fn read_timeline(
    cx: &mut Ctx,
    node: Option<&Node>,
    version_names: &HashSet<String>,
) -> (Vec<TimelineEntry>, TimelineMarks) {
    let mut entries = Vec::new();
    let mut marks = Vec::new();
    let Some(node) = node else {
        return (entries, marks);
    };
    let Some(items) = cx.seq(node, "`timeline`") else {
        return (entries, marks);
    };
    let mut dates: HashMap<chrono::NaiveDate, Pos> = HashMap::new();
    for item in items {
        if !cx.keys(
            item,
            "timeline entry",
            &["date", "versions"],
            &["date", "versions"],
        ) {
            continue;
        }
        let date = item.get("date").and_then(|d| {
            let date = cx.date(d, "date")?;
            if let Some(first) = dates.get(&date) {
                cx.error(
                    Some(d.pos),
                    format!("duplicate timeline date {date} (first at {first})"),
                );
            } else {
                dates.insert(date, d.pos);
            }
            Some(date)
        });
        let mut versions = IndexMap::new();
        let mut codes = IndexMap::new();
        if let Some(vnode) = item.get("versions") {
            let entries_v = if vnode.is_null() {
                Some(&[][..])
            } else {
                cx.map(vnode, "`versions` of a timeline entry")
            };
            for (k, v) in entries_v.unwrap_or(&[]) {
                let Some(name) = cx.string(k, "version name") else {
                    continue;
                };
                if !version_names.contains(&name) {
                    cx.error(
                        Some(k.pos),
                        format!("timeline names unknown version `{name}`"),
                    );
                }
                let Some(code) = cx.string(v, "validity code") else {
                    continue;
                };
                match Validity::parse(&code) {
                    Some(validity) => {
                        versions.insert(name.clone(), validity);
                        codes.insert(name, v.pos);
                    }
                    None => cx.error(
                        Some(v.pos),
                        format!(
                            "unknown validity code `{code}` (expected effective, warn, draft or deprecated)"
                        ),
                    ),
                }
            }
        }
        if let Some(date) = date {
            entries.push(TimelineEntry {
                date,
                versions,
                pos: item.pos,
            });
            marks.push(codes);
        }
    }
    (entries, marks)
}

/// The checks that need the whole scope: a version must have a `main` target, and a version
/// may only be `effective` or `warn` in the timeline once it is stabilised.
pub(crate) fn check_scope(cx: &mut Ctx, scope: &Scope, marks: &TimelineMarks) {
    for version in &scope.versions {
        if !version.targets.contains_key("main") {
            cx.error(
                Some(version.pos),
                format!("version `{}` has no `main` target", version.name),
            );
        }
    }
    for (i, entry) in scope.timeline.iter().enumerate() {
        for (name, validity) in &entry.versions {
            if !validity.certifies() {
                continue;
            }
            let Some(version) = scope.version(name) else {
                continue;
            };
            if cx.bad_stabilized.contains(name) {
                continue;
            }
            let pos = marks
                .get(i)
                .and_then(|m| m.get(name))
                .copied()
                .unwrap_or(entry.pos);
            match version.stabilized_at {
                None => cx.error(
                    Some(pos),
                    format!(
                        "version `{name}` is `{validity}` from {} but has no `stabilized_at`",
                        entry.date
                    ),
                ),
                Some(stable) if stable > entry.date => cx.error(
                    Some(pos),
                    format!(
                        "version `{name}` is `{validity}` from {} but is only stabilized at {stable}",
                        entry.date
                    ),
                ),
                Some(_) => {}
            }
        }
    }
}
