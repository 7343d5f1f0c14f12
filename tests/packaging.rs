//! What ships around the binary, tested through it: the shell completion script completes for
//! real in bash, `man` writes roff pages (rendered without warnings when groff is there; `.ci/run`
//! installs it), and bad arguments give one line and exit 3.

mod common;
use common::isolated;
use std::process::Command as Process;

/// The bash completion script, from the binary.
fn bash_script(home: &std::path::Path) -> String {
    let out = isolated(home)
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The words bash offers after `line` (the last word being completed), with the script loaded,
/// as a user pressing TAB would get them.
fn complete(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source {}\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{}'\nCOMP_POINT=${{#COMP_LINE}}\n\
         _scs__check scs-check '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        quoted.join(" "),
        words.len() - 1,
        words.join(" "),
        words[words.len() - 1],
        words
            .get(words.len().wrapping_sub(2))
            .copied()
            .unwrap_or(""),
    );
    let out = Process::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .expect("bash runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_subcommands_and_flags() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("scs-check.bash");
    std::fs::write(&path, bash_script(home.path())).unwrap();

    let first = complete(&path, &["scs-check", ""]);
    for sub in [
        "run",
        "plan",
        "report",
        "completions",
        "man",
        "tempest-judge",
    ] {
        assert!(
            first.iter().any(|w| w == sub),
            "{sub} not offered: {first:?}"
        );
    }
    let run_flags = complete(&path, &["scs-check", "run", "--os-c"]);
    assert_eq!(run_flags, vec!["--os-cloud"]);
    let shells = complete(&path, &["scs-check", "completions", ""]);
    for shell in ["bash", "zsh", "fish"] {
        assert!(shells.iter().any(|w| w == shell), "{shells:?}");
    }
}

#[test]
fn man_prints_the_main_page_and_writes_one_page_per_command() {
    let home = tempfile::tempdir().unwrap();
    let out = isolated(home.path()).arg("man").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.lines().any(|l| l.starts_with(".TH scs-check 1")),
        "{page}"
    );

    let dir = home.path().join("man/man1");
    let out = isolated(home.path())
        .args(["man", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("man pages to"), "{stderr}");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.contains(&"scs-check.1".to_string()), "{names:?}");
    assert!(names.contains(&"scs-check-run.1".to_string()), "{names:?}");
    assert!(names.contains(&"scs-check-man.1".to_string()), "{names:?}");
    // The number the message gives is the number of files.
    assert!(
        stderr.contains(&format!("wrote {} man pages", names.len())),
        "{stderr}"
    );

    // Rendered as `man` would (preconv for the UTF-8 text), every page without a warning.
    if Process::new("groff").arg("--version").output().is_ok() {
        for name in &names {
            let out = Process::new("groff")
                .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
                .arg(dir.join(name))
                .output()
                .unwrap();
            assert!(out.status.success(), "{name}: {out:?}");
            assert!(
                out.stderr.is_empty(),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "groff is missing under CI (.ci/run installs groff-base)"
        );
    }
}

#[test]
fn bad_arguments_give_one_line_and_exit_3() {
    let home = tempfile::tempdir().unwrap();
    let out = isolated(home.path())
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid value 'tcsh'"), "{stderr}");

    // A file where the page directory should be.
    let file = home.path().join("taken");
    std::fs::write(&file, "").unwrap();
    let out = isolated(home.path())
        .args(["man", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: cannot create") && stderr.contains("taken"),
        "{stderr}"
    );
}

/// A JSON report of a simulated cloud whose flavors break scs-0100/0103 (FAIL verdicts).
fn failing_report(home: &std::path::Path) -> std::path::PathBuf {
    let fixture = common::repo().join("fixtures/clouds/flavors-broken.yaml");
    let report = home.join("report.json");
    let out = isolated(home)
        .args(["run", "iaas", "-V", "v4", "-t", "scs-0100", "--simulate"])
        .arg(&fixture)
        .arg("--json")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    report
}

/// `scs-check ARGS` on a pseudo-terminal (util-linux `script`), with the environment `env`;
/// returns what the terminal showed.
fn on_terminal(home: &std::path::Path, args: &str, env: &[(&str, &str)]) -> String {
    let bin = assert_cmd::cargo::cargo_bin("scs-check");
    let mut cmd = Process::new("script");
    cmd.args(["-qec", &format!("{} {args}", bin.display()), "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .current_dir(home);
    for (key, value) in env {
        cmd.env(key, value);
    }
    let out = cmd.output().expect("script runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const RED_FAIL: &str = "\x1b[1;31mFAIL\x1b[0m";

#[test]
fn verdicts_are_coloured_on_a_terminal_only_where_colour_is_wanted() {
    let home = tempfile::tempdir().unwrap();
    let report = failing_report(home.path());
    let args = format!("report {}", report.display());

    let shown = on_terminal(home.path(), &args, &[("TERM", "xterm")]);
    assert!(shown.contains(&format!("- main: {RED_FAIL} (")), "{shown}");
    assert!(shown.contains("\x1b[1;31mFAILED\x1b[0m:"), "{shown}");
    // Ids that contain no verdict word stay plain.
    assert!(shown.contains("- scs-0100-"), "{shown}");

    for env in [
        [("TERM", "xterm"), ("NO_COLOR", "1")],
        [("TERM", "xterm"), ("CI", "true")],
        [("TERM", "dumb"), ("X", "")],
    ] {
        let shown = on_terminal(home.path(), &args, &env);
        assert!(shown.contains("- main: FAIL ("), "{env:?}: {shown}");
        assert!(!shown.contains('\x1b'), "{env:?}: {shown}");
    }
    let never = on_terminal(home.path(), &format!("{args} --color never"), &[]);
    assert!(
        never.contains("- main: FAIL (") && !never.contains('\x1b'),
        "{never}"
    );

    // A pipe gets no colour, unless asked for with --color always.
    let piped = isolated(home.path())
        .arg("report")
        .arg(&report)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&piped.stdout).contains('\x1b'));
    let always = isolated(home.path())
        .args(["--color", "always", "report"])
        .arg(&report)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&always.stdout);
    assert!(text.contains(&format!("- main: {RED_FAIL} (")), "{text}");
    // Machine formats never get colour codes.
    let json = isolated(home.path())
        .args(["report", "--color", "always", "-f", "json"])
        .arg(&report)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&json.stdout).contains('\x1b'));
}

#[test]
fn run_progress_lines_and_summary_are_coloured_with_color_always() {
    let home = tempfile::tempdir().unwrap();
    let fixture = common::repo().join("fixtures/clouds/flavors-broken.yaml");
    let out = isolated(home.path())
        .args([
            "run", "iaas", "-V", "v4", "-t", "scs-0100", "--color", "always",
        ])
        .arg("--simulate")
        .arg(&fixture)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(
        progress
            .lines()
            .any(|l| l.starts_with("[1/") && l.contains(RED_FAIL)),
        "{progress}"
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains(&format!("- main: {RED_FAIL} (")),
        "{summary}"
    );
}

/// action.yml as a tree.
fn action() -> serde_json::Value {
    let text = std::fs::read_to_string(common::repo().join("action.yml")).unwrap();
    serde_saphyr::from_str(&text).expect("action.yml parses")
}

/// The names the script reads with `input NAME` inside the shell function `name`.
fn inputs_read_by(script: &str, function: &str) -> Vec<String> {
    let start = script
        .find(&format!("\n{function}() {{\n"))
        .unwrap_or_else(|| panic!("no function {function} in the script"));
    let body = &script[start..];
    let body = &body[..body.find("\n}\n").unwrap()];
    let mut names: Vec<String> = body
        .split("input ")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect();
    if body.contains("$(binary)") || body.contains("bin=$(binary)") {
        names.extend(inputs_read_by(script, "binary"));
    }
    names.sort();
    names.dedup();
    names
}

#[test]
fn the_action_hands_every_input_to_its_script_and_uploads_the_result() {
    let action = action();
    let script = std::fs::read_to_string(common::repo().join("scripts/action-run")).unwrap();
    assert_eq!(action["runs"]["using"], "composite");
    let inputs = action["inputs"].as_object().unwrap();
    let steps = action["runs"]["steps"].as_array().unwrap();
    for (name, input) in inputs {
        assert!(
            input["description"].as_str().is_some_and(|d| !d.is_empty()),
            "input {name} has no description"
        );
        let reference = format!("inputs.{name}");
        assert!(
            steps
                .iter()
                .any(|s| serde_json::to_string(s).unwrap().contains(&reference)),
            "input {name} is used by no step"
        );
    }
    for want in [
        "scope", "cloud", "versions", "tests", "report", "junit", "version",
    ] {
        assert!(inputs.contains_key(want), "no input {want}");
    }

    let mut modes = vec![];
    for step in steps {
        let Some(run) = step["run"].as_str() else {
            continue;
        };
        let mode = run
            .strip_prefix("bash \"$GITHUB_ACTION_PATH/scripts/action-run\" ")
            .unwrap_or_else(|| panic!("a step runs something else: {run}"));
        modes.push(mode.to_string());
        assert_eq!(step["shell"], "bash");
        let env = step["env"].as_object().unwrap();
        // Each INPUT_X is exactly the input x, never a computed value.
        let mut given: Vec<String> = vec![];
        for (var, value) in env {
            let name = var.strip_prefix("INPUT_").unwrap();
            let input = name.to_lowercase().replace('_', "-");
            assert!(inputs.contains_key(&input), "{var} names no input");
            assert_eq!(
                value.as_str().unwrap(),
                format!("${{{{ inputs.{input} }}}}")
            );
            given.push(name.to_string());
        }
        given.sort();
        // What the step gives is what its part of the script reads.
        assert_eq!(inputs_read_by(&script, mode), given, "step {mode}");
        // Inputs reach the script only through the environment, never spliced into its text.
        assert!(!run.contains("${{"), "{run}");
    }
    assert_eq!(modes, ["install", "run"]);

    // The result is uploaded even when the run failed, with the files the script names.
    let upload = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact@"))
        })
        .expect("an upload step");
    assert!(upload["if"].as_str().unwrap().contains("always()"));
    assert_eq!(upload["with"]["path"], "${{ steps.run.outputs.files }}");
    // Every output the action declares is one the script sets.
    for (name, output) in action["outputs"].as_object().unwrap() {
        assert_eq!(
            output["value"].as_str().unwrap(),
            format!("${{{{ steps.run.outputs.{name} }}}}")
        );
        assert!(script.contains(&format!("set_output {name} ")), "{name}");
    }
    assert!(script.contains("set_output files "));
}

/// One stage of the Containerfile: its base image, its name and its instructions (keyword,
/// arguments), continuation lines joined and comments dropped.
struct Stage {
    base: String,
    name: String,
    instructions: Vec<(String, String)>,
}

impl Stage {
    fn all(&self, keyword: &str) -> Vec<&str> {
        self.instructions
            .iter()
            .filter(|(k, _)| k == keyword)
            .map(|(_, a)| a.as_str())
            .collect()
    }
}

fn containerfile_stages() -> Vec<Stage> {
    let text = std::fs::read_to_string(common::repo().join("Containerfile")).unwrap();
    let mut joined = String::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        match line.strip_suffix('\\') {
            Some(head) => joined.push_str(head),
            None => {
                joined.push_str(line);
                joined.push('\n');
            }
        }
    }
    let mut stages: Vec<Stage> = vec![];
    for line in joined.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (keyword, args) = line.split_once(' ').unwrap_or((line, ""));
        let keyword = keyword.to_ascii_uppercase();
        if keyword == "FROM" {
            let words: Vec<&str> = args.split_whitespace().collect();
            assert!(
                words.len() == 3 && words[1].eq_ignore_ascii_case("AS"),
                "every stage is named: FROM {args}"
            );
            stages.push(Stage {
                base: words[0].to_string(),
                name: words[2].to_string(),
                instructions: vec![],
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push((keyword, args.trim().to_string()));
        } else {
            assert_eq!(keyword, "ARG", "only ARG may come before the first FROM");
        }
    }
    stages
}

/// The files the source embeds with include_str!/include_bytes!, relative to the repository.
fn embedded_files() -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    let mut dirs = vec![common::repo().join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for macro_name in ["include_str!(\"", "include_bytes!(\""] {
                for rest in text.split(macro_name).skip(1) {
                    let relative = &rest[..rest.find('"').unwrap()];
                    let file = path.parent().unwrap().join(relative);
                    let file = file.canonicalize().unwrap_or_else(|_| panic!("{file:?}"));
                    let repo = common::repo().canonicalize().unwrap();
                    out.push(file.strip_prefix(&repo).unwrap().to_path_buf());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn the_containerfile_builds_what_the_readme_says() {
    let stages = containerfile_stages();
    let names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["build", "extras", "runtime"]);
    let runtime = stages.last().unwrap();
    assert!(
        runtime
            .base
            .starts_with("gcr.io/distroless/static-debian12"),
        "the default stage is distroless/static: {}",
        runtime.base
    );

    // The build stage runs the build script CI runs, in /src, and copies what the build reads.
    let build = &stages[0];
    assert_eq!(build.all("WORKDIR"), ["/src"]);
    assert!(build.all("RUN").contains(&"scripts/build-static"));
    let copied: Vec<String> = build
        .all("COPY")
        .iter()
        .flat_map(|args| {
            let words: Vec<&str> = args.split_whitespace().collect();
            words[..words.len() - 1]
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    for needed in ["Cargo.toml", "Cargo.lock", "src", "scripts/build-static"] {
        assert!(copied.iter().any(|c| c == needed), "{needed} is not copied");
    }
    let embedded = embedded_files();
    assert!(embedded.len() > 5, "{embedded:?}");
    for file in &embedded {
        assert!(
            copied.iter().any(|c| file.starts_with(c)),
            "{} is embedded in the binary but not copied into the build",
            file.display()
        );
    }

    // The path the script builds is what the later stages copy and start.
    let script = std::fs::read_to_string(common::repo().join("scripts/build-static")).unwrap();
    let target = script
        .lines()
        .find_map(|l| l.strip_prefix("target="))
        .unwrap();
    assert!(script.contains("binary=\"target/$target/release/scs-check\""));
    let built = format!("/src/target/{target}/release/scs-check");
    for stage in &stages[1..] {
        let copy = format!("--from=build {built} /usr/local/bin/scs-check");
        assert!(
            stage.all("COPY").contains(&copy.as_str()),
            "{}: {:?}",
            stage.name,
            stage.all("COPY")
        );
        assert_eq!(
            stage.all("ENTRYPOINT"),
            ["[\"/usr/local/bin/scs-check\"]"],
            "{}",
            stage.name
        );
        assert_eq!(stage.all("WORKDIR"), ["/work"], "{}", stage.name);
    }
    let extras = stages[1].all("RUN").join(" ");
    for program in ["openssl", "tempest", "sonobuoy"] {
        assert!(extras.contains(program), "extras lacks {program}");
    }

    // The README's "Container image" section describes these stages and paths.
    let readme = std::fs::read_to_string(common::repo().join("README.md")).unwrap();
    let section = readme
        .split("\n## Container image\n")
        .nth(1)
        .expect("a Container image section")
        .split("\n## ")
        .next()
        .unwrap();
    for claim in [
        "`build`",
        "`runtime`",
        "`extras`",
        "--target extras",
        "scripts/build-static",
        "gcr.io/distroless/static-debian12:nonroot",
        "/usr/local/bin/scs-check",
        "`/work`",
        ".ci/static-build",
        "Not tested",
    ] {
        assert!(section.contains(claim), "README section lacks {claim}");
    }

    // .dockerignore keeps nothing of this out of the build context.
    let ignore = std::fs::read_to_string(common::repo().join(".dockerignore")).unwrap();
    for pattern in ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let embedded_paths = embedded.iter().map(|p| p.to_str().unwrap());
        for path in copied.iter().map(String::as_str).chain(embedded_paths) {
            let excluded = match pattern.strip_prefix('*') {
                Some(suffix) => path.ends_with(suffix) && !path.contains('/'),
                None => path == pattern || path.starts_with(&format!("{pattern}/")),
            };
            assert!(!excluded, ".dockerignore {pattern} excludes {path}");
        }
    }
}
