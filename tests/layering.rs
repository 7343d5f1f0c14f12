//! The dependency direction between the crate's modules, enforced: the rules are the
//! `layering-rules` block of `docs/architecture.md` (one line per top-level module saying which
//! other top-level modules it may import, plus sub-module bans); this test walks the module tree
//! from `src/lib.rs`, finds every `crate::…` and `super::…` path that leaves its top-level module
//! (grouped `use crate::{a, b::{c}}` included), and fails with `file:line` for each import the
//! rules do not allow. Test code (`#[cfg(test)]` modules and the files they declare) may import
//! anything: probe tests run against the simulator.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The rules: which top-level modules each top-level module may import, and banned edges between
/// sub-modules (`from` prefix → `to` prefix).
#[derive(Debug, Default)]
struct Rules {
    allowed: BTreeMap<String, BTreeSet<String>>,
    banned: Vec<(Vec<String>, Vec<String>)>,
}

/// One path in the source that names another module.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Import {
    line: usize,
    /// The absolute path of the importing module (`["probes", "kaas", "snapshot"]`).
    from: Vec<String>,
    /// The absolute path named, at most two segments (`["probes", "iaas"]`).
    to: Vec<String>,
}

/// Reads the rules from the fenced block after the `<!-- layering-rules -->` marker. Lines:
/// `module: a, b, c` (`*` allows everything, nothing after the colon allows nothing) and
/// `x::y not: z::w` (a banned edge between sub-modules).
fn parse_rules(doc: &str) -> Result<Rules, String> {
    let start = doc
        .find("<!-- layering-rules -->")
        .ok_or("docs/architecture.md: no <!-- layering-rules --> marker")?;
    let mut lines = doc[start..].lines().skip_while(|l| !l.starts_with("```"));
    lines.next();
    let mut rules = Rules::default();
    for line in lines.take_while(|l| !l.starts_with("```")) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let split = |s: &str| -> Vec<String> {
            s.split([',', ' '])
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect()
        };
        let segs = |s: &str| -> Vec<String> { s.trim().split("::").map(str::to_string).collect() };
        if let Some((from, to)) = line.split_once(" not:") {
            for target in split(to) {
                rules.banned.push((segs(from), segs(&target)));
            }
        } else if let Some((module, allowed)) = line.split_once(':') {
            let module = module.trim().to_string();
            if rules
                .allowed
                .insert(module.clone(), split(allowed).into_iter().collect())
                .is_some()
            {
                return Err(format!("layering rules: `{module}` listed twice"));
            }
        } else {
            return Err(format!("layering rules: cannot read `{line}`"));
        }
    }
    if rules.allowed.is_empty() {
        return Err("layering rules: empty block".into());
    }
    Ok(rules)
}

/// Blanks comments and the contents of string and char literals, keeping line breaks, so that
/// only code is scanned.
fn strip_comments_and_literals(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let keep_newlines = |out: &mut String, s: &[char]| {
        for ch in s {
            if *ch == '\n' {
                out.push('\n');
            }
        }
    };
    let is_ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    while i < c.len() {
        let prev_ident = i > 0 && is_ident(c[i - 1]);
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let (mut depth, mut j) = (1, i + 2);
            while j < c.len() && depth > 0 {
                if c[j] == '/' && c.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 1;
                } else if c[j] == '*' && c.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 1;
                }
                j += 1;
            }
            keep_newlines(&mut out, &c[i..j.min(c.len())]);
            i = j;
        } else if c[i] == 'r'
            && !prev_ident
            && matches!(c.get(i + 1), Some('"') | Some('#'))
            && c[i + 1..].iter().find(|&&h| h != '#') == Some(&'"')
        {
            let hashes = c[i + 1..].iter().take_while(|&&h| h == '#').count();
            let body = i + 2 + hashes;
            let mut j = body;
            while j < c.len() {
                if c[j] == '"'
                    && c[j + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&h| h == '#')
                        .count()
                        == hashes
                {
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            keep_newlines(&mut out, &c[body..j.min(c.len())]);
            i = (j + 1 + hashes).min(c.len());
        } else if c[i] == '"' {
            let mut j = i + 1;
            while j < c.len() && c[j] != '"' {
                j += if c[j] == '\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            keep_newlines(&mut out, &c[i..j.min(c.len())]);
            i = j + 1;
        } else if c[i] == '\'' && c.get(i + 1) == Some(&'\\') {
            let mut j = i + 2;
            while j < c.len() && c[j] != '\'' {
                j += 1;
            }
            out.push_str("' '");
            i = j + 1;
        } else if c[i] == '\'' && c.get(i + 2) == Some(&'\'') {
            out.push_str("' '");
            i += 3;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// A `mod name;` declaration: the child's name, its `#[path]` if any, and whether it is test code.
struct ModDecl {
    name: String,
    path: Option<String>,
    test: bool,
}

/// The attribute lines (`#[...]`) directly above line `index`.
fn attributes_above(lines: &[&str], index: usize) -> Vec<String> {
    lines[..index]
        .iter()
        .rev()
        .map(|l| l.trim())
        .take_while(|l| l.starts_with("#["))
        .map(str::to_string)
        .collect()
}

/// The name declared by a `mod` line (`pub(crate) mod x;` → `x`) and whether it has a body.
fn mod_line(line: &str) -> Option<(String, bool)> {
    let t = line.trim();
    let t = match t.strip_prefix("pub") {
        Some(rest) if rest.starts_with('(') => rest.split_once(')')?.1.trim_start(),
        Some(rest) if rest.starts_with(' ') => rest.trim_start(),
        Some(_) => return None,
        None => t,
    };
    let rest = t.strip_prefix("mod ")?;
    if let Some(name) = rest.strip_suffix(';') {
        return Some((name.trim().to_string(), false));
    }
    let name = rest.strip_suffix('{')?.trim();
    Some((name.to_string(), true))
}

/// Splits a file into the code scanned for imports (test modules blanked) and its `mod name;`
/// declarations. `raw` gives the `#[path = "..."]` values that stripping literals removes.
fn scan_file(raw: &str, code: &str) -> (String, Vec<ModDecl>) {
    let raw_lines: Vec<&str> = raw.lines().collect();
    let lines: Vec<&str> = code.lines().collect();
    let mut kept = Vec::with_capacity(lines.len());
    let mut decls = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let attrs = attributes_above(&lines, i);
        let test = attrs.iter().any(|a| a == "#[cfg(test)]");
        match mod_line(lines[i]) {
            Some((_, true)) if test => {
                let indent = &lines[i][..lines[i].len() - lines[i].trim_start().len()];
                let close = format!("{indent}}}");
                while i < lines.len() && lines[i].trim_end() != close {
                    kept.push("");
                    i += 1;
                }
                if i < lines.len() {
                    kept.push("");
                }
            }
            Some((name, false)) => {
                let path = attributes_above(&raw_lines, i).iter().find_map(|a| {
                    let v = a.strip_prefix("#[path = \"")?.strip_suffix("\"]")?;
                    Some(v.to_string())
                });
                decls.push(ModDecl { name, path, test });
                kept.push(lines[i]);
            }
            _ => kept.push(lines[i]),
        }
        i += 1;
    }
    (kept.join("\n"), decls)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Star,
    Other,
}

fn tokenize(code: &str) -> Vec<(Token, usize)> {
    let c: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((Token::Ident(c[start..i].iter().collect()), line));
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push((Token::PathSep, line));
            i += 2;
        } else {
            let token = match ch {
                '{' => Token::Open,
                '}' => Token::Close,
                ',' => Token::Comma,
                '*' => Token::Star,
                _ => Token::Other,
            };
            out.push((token, line));
            i += 1;
        }
    }
    out
}

/// Reads a path tree starting at `pos` (after `prefix::`), pushing each absolute path named;
/// returns the position after it.
fn path_tree(
    tokens: &[(Token, usize)],
    mut pos: usize,
    prefix: Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    match tokens.get(pos).map(|t| &t.0) {
        Some(Token::Open) => {
            pos += 1;
            loop {
                match tokens.get(pos).map(|t| &t.0) {
                    None => return pos,
                    Some(Token::Close) => return pos + 1,
                    Some(Token::Comma) => pos += 1,
                    Some(_) => {
                        let next = path_tree(tokens, pos, prefix.clone(), out);
                        pos = if next == pos { pos + 1 } else { next };
                    }
                }
            }
        }
        Some(Token::Ident(name)) if name == "self" => {
            out.push(prefix);
            pos + 1
        }
        Some(Token::Ident(name)) => {
            let mut path = prefix;
            path.push(name.clone());
            if tokens.get(pos + 1).map(|t| &t.0) == Some(&Token::PathSep) {
                path_tree(tokens, pos + 2, path, out)
            } else {
                out.push(path);
                pos + 1
            }
        }
        Some(Token::Star) => {
            out.push(prefix);
            pos + 1
        }
        _ => pos,
    }
}

/// Every `crate::…` and `super::…` path in `code` of the module at `module`, resolved to an
/// absolute path; [`Import::to`] keeps its first two segments.
fn imports(module: &[String], code: &str) -> Vec<Import> {
    let tokens = tokenize(code);
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let after_sep = i > 0 && tokens[i - 1].0 == Token::PathSep;
        let sep_follows = tokens.get(i + 1).map(|t| &t.0) == Some(&Token::PathSep);
        let base = match &tokens[i].0 {
            Token::Ident(w) if w == "crate" && sep_follows => Some((Vec::new(), i + 2)),
            Token::Ident(w) if w == "super" && sep_follows && !after_sep => {
                let mut ups = 0;
                let mut j = i;
                while matches!(&tokens.get(j).map(|t| &t.0), Some(Token::Ident(w)) if w == "super")
                    && tokens.get(j + 1).map(|t| &t.0) == Some(&Token::PathSep)
                {
                    ups += 1;
                    j += 2;
                }
                (ups <= module.len()).then(|| (module[..module.len() - ups].to_vec(), j))
            }
            _ => None,
        };
        let Some((base, start)) = base else {
            i += 1;
            continue;
        };
        let line = tokens[i].1;
        let mut paths = Vec::new();
        let end = path_tree(&tokens, start, base, &mut paths);
        for to in paths.into_iter().filter(|p| !p.is_empty()) {
            found.push(Import {
                line,
                from: module.to_vec(),
                to: to.into_iter().take(2).collect(),
            });
        }
        i = end.max(i + 1);
    }
    found
}

/// Why `import` breaks the rules, if it does.
fn violation(rules: &Rules, import: &Import) -> Option<String> {
    let from = import.from.first()?;
    let to = import.to.first()?;
    for (ban_from, ban_to) in &rules.banned {
        if import.from.starts_with(ban_from) && import.to.starts_with(ban_to) {
            return Some(format!(
                "{} imports {} (banned: {} must not import {})",
                import.from.join("::"),
                import.to.join("::"),
                ban_from.join("::"),
                ban_to.join("::")
            ));
        }
    }
    if from == to {
        return None;
    }
    let Some(allowed) = rules.allowed.get(from) else {
        return Some(format!(
            "module `{from}` has no line in the layering rules of docs/architecture.md"
        ));
    };
    if allowed.contains("*") || allowed.contains(to) {
        return None;
    }
    Some(format!(
        "`{from}` imports `{to}`; `{from}` may import only: {}",
        allowed.iter().cloned().collect::<Vec<_>>().join(", ")
    ))
}

/// Walks the module tree from `src/lib.rs`: (file, module path, is test code) for every file.
fn module_files(src: &Path) -> Vec<(PathBuf, Vec<String>, bool)> {
    let mut files = Vec::new();
    let mut todo = vec![(src.join("lib.rs"), Vec::<String>::new(), false)];
    while let Some((file, module, test)) = todo.pop() {
        let raw =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let code = strip_comments_and_literals(&raw);
        let (_, decls) = scan_file(&raw, &code);
        let stem = file.file_stem().unwrap().to_string_lossy().to_string();
        let dir = file.parent().unwrap().to_path_buf();
        let child_dir = if stem == "lib" || stem == "mod" {
            dir.clone()
        } else {
            dir.join(&stem)
        };
        for decl in decls {
            let mut child_module = module.clone();
            child_module.push(decl.name.clone());
            let child = match &decl.path {
                Some(p) => dir.join(p),
                None if child_dir.join(format!("{}.rs", decl.name)).exists() => {
                    child_dir.join(format!("{}.rs", decl.name))
                }
                None => child_dir.join(&decl.name).join("mod.rs"),
            };
            todo.push((child, child_module, test || decl.test));
        }
        files.push((file, module, test));
    }
    files
}

fn rules_from_doc() -> Rules {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
    parse_rules(&doc).unwrap_or_else(|e| panic!("{e}"))
}

fn check_source(rules: &Rules, module: &[String], raw: &str) -> Vec<(usize, String)> {
    let code = strip_comments_and_literals(raw);
    let (code, _) = scan_file(raw, &code);
    let mut found: Vec<(usize, String)> = imports(module, &code)
        .iter()
        .filter_map(|i| violation(rules, i).map(|v| (i.line, v)))
        .collect();
    found.dedup();
    found
}

#[test]
fn the_source_tree_respects_the_layers() {
    let rules = rules_from_doc();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = module_files(&root.join("src"));
    assert!(
        files.len() > 80,
        "module walk found only {} files",
        files.len()
    );
    let mut problems = Vec::new();
    let mut edges = BTreeSet::new();
    for (file, module, test) in &files {
        if *test || module.is_empty() {
            continue;
        }
        let raw = std::fs::read_to_string(file).unwrap();
        let code = strip_comments_and_literals(&raw);
        let (code, _) = scan_file(&raw, &code);
        for import in imports(module, &code) {
            if import.from[0] != import.to[0] {
                edges.insert((import.from[0].clone(), import.to[0].clone()));
            }
            if let Some(why) = violation(&rules, &import) {
                let shown = file.strip_prefix(root).unwrap_or(file);
                let problem = format!("{}:{}: {why}", shown.display(), import.line);
                if problems.last() != Some(&problem) {
                    problems.push(problem);
                }
            }
        }
    }
    // The scan sees real imports (guards against a scanner that finds nothing).
    for edge in [
        ("report", "outcome"),
        ("probes", "openstack"),
        ("cli", "execute"),
    ] {
        assert!(
            edges.contains(&(edge.0.to_string(), edge.1.to_string())),
            "expected {} -> {} among {edges:?}",
            edge.0,
            edge.1
        );
    }
    assert!(
        problems.is_empty(),
        "imports against the layering rules:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_top_level_module_has_a_rule() {
    let rules = rules_from_doc();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tops: BTreeSet<String> = module_files(&root.join("src"))
        .into_iter()
        .filter(|(_, m, _)| m.len() == 1)
        .map(|(_, m, _)| m[0].clone())
        .collect();
    let listed: BTreeSet<String> = rules.allowed.keys().cloned().collect();
    assert_eq!(
        tops, listed,
        "top-level modules vs. the rules in docs/architecture.md"
    );
    for allowed in rules.allowed.values() {
        for to in allowed {
            assert!(
                to == "*" || tops.contains(to),
                "rule names unknown module `{to}`"
            );
        }
    }
}

fn fake_rules() -> Rules {
    parse_rules(
        "<!-- layering-rules -->\n```text\nverdict:\nreport: verdict, outcome\nprobes: verdict\n\
         cli: *\ncert: report\nexecute:\noutcome:\nsim:\nprobes::kaas not: probes::iaas\n```\n",
    )
    .unwrap()
}

fn module(path: &str) -> Vec<String> {
    path.split("::").map(str::to_string).collect()
}

#[test]
fn a_lower_layer_importing_a_higher_one_is_caught() {
    let rules = fake_rules();
    let bad = check_source(
        &rules,
        &module("cert::batch"),
        "use crate::cli::ExitStatus;\n",
    );
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(bad[0].0, 1);
    assert!(bad[0].1.contains("`cert` imports `cli`;"), "{}", bad[0].1);

    let grouped =
        "//! doc\nuse crate::{\n    verdict::Verdict,\n    report::{Report, model::X},\n};\n";
    let bad = check_source(&rules, &module("probes::iaas::x"), grouped);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(
        bad[0].1.contains("`probes` imports `report`"),
        "{}",
        bad[0].1
    );

    let climbing = "fn f() { super::super::super::execute::run(); }\n";
    let bad = check_source(&rules, &module("probes::kaas::x"), climbing);
    assert!(bad[0].1.contains("`probes` imports `execute`"), "{bad:?}");

    let sideways = "use super::super::iaas::common::FnProbe;\n";
    let bad = check_source(&rules, &module("probes::kaas::x"), sideways);
    assert!(bad[0].1.contains("banned"), "{bad:?}");

    let inline = "let v = crate::report::build(x);\n";
    assert_eq!(check_source(&rules, &module("sim"), inline).len(), 1);

    let unknown = check_source(
        &rules,
        &module("newthing::x"),
        "use crate::verdict::Verdict;\n",
    );
    assert!(
        unknown[0].1.contains("no line in the layering rules"),
        "{unknown:?}"
    );
}

#[test]
fn allowed_paths_comments_strings_and_test_modules_are_not_violations() {
    let rules = fake_rules();
    let fine = r##"//! Mentions crate::cli in a doc comment.
use crate::{outcome::Finding, verdict::Verdict};
use super::model::Report;
pub(crate) fn f() -> &'static str {
    let _c = '{';
    /* crate::cli::run() */
    let _s = "crate::cli::x";
    let _r = r#"crate::execute"#;
    "crate::sim"
}

#[cfg(test)]
mod tests {
    use crate::sim::Simulator;
    use crate::execute::run;
}

fn after_tests() -> crate::verdict::Verdict { todo!() }
"##;
    assert_eq!(check_source(&rules, &module("report::build"), fine), vec![]);
    // The same import outside the test module is caught, on its own line.
    let outside = format!("{fine}fn g() {{ crate::execute::run(); }}\n");
    let bad = check_source(&rules, &module("report::build"), &outside);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(bad[0].0, fine.lines().count() + 1);
}

#[test]
fn test_only_files_are_found_through_cfg_test_declarations() {
    let raw = "mod a;\n#[cfg(test)]\n#[path = \"a_tests.rs\"]\nmod tests;\npub(crate) mod b;\n";
    let code = strip_comments_and_literals(raw);
    let (_, decls) = scan_file(raw, &code);
    let shown: Vec<(String, Option<String>, bool)> = decls
        .into_iter()
        .map(|d| (d.name, d.path, d.test))
        .collect();
    assert_eq!(
        shown,
        vec![
            ("a".to_string(), None, false),
            ("tests".to_string(), Some("a_tests.rs".to_string()), true),
            ("b".to_string(), None, false),
        ]
    );
}
