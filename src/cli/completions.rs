//! `scs-check completions SHELL` and `scs-check man`: shell completion scripts and roff man
//! pages generated from the clap definitions of [`super::Cli`], so they never drift from the
//! flags the binary accepts.

use super::{Cli, ExitStatus, console};
use anyhow::{Context, Result};
use clap::{Args, CommandFactory};
use std::path::{Path, PathBuf};

/// Flags of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// Flags of `man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command into DIR (`scs-check.1`, `scs-check-run.1`, ...) instead of
    /// printing the main page to standard output.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The program name the scripts complete.
const BIN: &str = "scs-check";

/// The completion script for `shell`, as text.
pub fn completion_script(shell: clap_complete::Shell) -> String {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN, &mut out);
    let script = String::from_utf8_lossy(&out).into_owned();
    match shell {
        clap_complete::Shell::Bash => fix_bash_state_names(&script),
        _ => script,
    }
}

/// clap_complete's bash script spells the state of a subcommand of a hyphenated program in two
/// ways: the loop over the words sets `scs__check__subcmd__run`, the arms that offer the flags
/// match `scs__subcmd__check__subcmd__run`, so no flag of a subcommand was ever offered
/// (upstream clap issue 6421, open). The arms are renamed to the loop's spelling.
fn fix_bash_state_names(script: &str) -> String {
    let sep = "__subcmd__";
    let wrong = format!("{}{sep}", BIN.replace('-', sep));
    let right = format!("{}{sep}", BIN.replace('-', "__"));
    script.replace(&wrong, &right)
}

/// The main man page (section 1) in roff: synopsis, options and the list of subcommands.
pub fn main_page() -> Result<String> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .context("cannot render the man page")?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Writes one man page per command (and subcommand) into `dir`, creating it; returns the files
/// written, main page first.
pub fn write_pages(dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Built, the subcommands carry display names such as `scs-check-run`, which name the pages.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut written = Vec::new();
    write_page_tree(&cmd, dir, &mut written)?;
    Ok(written)
}

/// Writes the page of `cmd` and of each of its visible subcommands (`scs-check-run.1` for
/// `scs-check run`, like git's pages).
fn write_page_tree(cmd: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> Result<()> {
    let man = clap_mangen::Man::new(cmd.clone());
    let path = dir.join(man.get_filename());
    let mut out = Vec::new();
    man.render(&mut out)
        .with_context(|| format!("cannot render the man page of {}", cmd.get_name()))?;
    std::fs::write(&path, out).with_context(|| format!("cannot write {}", path.display()))?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_page_tree(sub, dir, written)?;
    }
    Ok(())
}

/// `scs-check completions SHELL`: the script on standard output.
pub(crate) fn completions_cmd(args: CompletionsArgs) -> Result<ExitStatus> {
    console::print(&completion_script(args.shell));
    Ok(ExitStatus::Pass)
}

/// `scs-check man [--out DIR]`.
pub(crate) fn man_cmd(args: ManArgs) -> Result<ExitStatus> {
    match &args.out {
        None => console::print(&main_page()?),
        Some(dir) => {
            let written = write_pages(dir)?;
            eprintln!(
                "wrote {} man pages to {} (read one with: man -l {})",
                written.len(),
                dir.display(),
                written[0].display()
            );
        }
    }
    Ok(ExitStatus::Pass)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap_complete::Shell;

    /// The visible subcommands' names, from the clap definitions.
    fn subcommands() -> Vec<String> {
        Cli::command()
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| s.get_name().to_string())
            .collect()
    }

    #[test]
    fn bash_completion_offers_every_subcommand_and_run_flags() {
        let script = completion_script(Shell::Bash);
        assert!(script.contains("complete -F _scs__check"), "{script}");
        for name in subcommands() {
            assert!(script.contains(&name), "bash completion lacks {name}");
        }
        for flag in ["--os-cloud", "--junit", "--simulate", "--critical-only"] {
            assert!(script.contains(flag), "bash completion lacks {flag}");
        }
        // Every state the arms match is one the word loop can set (see fix_bash_state_names).
        assert!(!script.contains("scs__subcmd__check"), "{script}");
        assert!(script.contains("scs__check__subcmd__run)"), "{script}");
        // `completions` and `man` complete themselves too.
        assert!(subcommands().iter().any(|s| s == "completions"));
        assert!(subcommands().iter().any(|s| s == "man"));
    }

    #[test]
    fn every_shell_gets_a_script_naming_the_program() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            let script = completion_script(shell);
            assert!(script.contains("scs-check"), "{shell}: {script}");
            assert!(
                script.contains("tempest-judge"),
                "{shell} lacks a subcommand"
            );
        }
    }

    #[test]
    fn the_main_page_is_roff_with_a_title_and_the_subcommands() {
        let page = main_page().unwrap();
        // roff escapes the hyphen; the reader sees `flavor-name`.
        let text = page.replace("\\-", "-");
        assert!(
            page.starts_with(".ie \\n(.g") || page.contains("\n.TH "),
            "{page}"
        );
        let th = page.lines().find(|l| l.starts_with(".TH ")).unwrap();
        assert!(th.starts_with(".TH scs-check 1"), "{th}");
        assert!(page.contains(".SH NAME"));
        assert!(page.contains(".SH SYNOPSIS"));
        for name in subcommands() {
            assert!(text.contains(&name), "man page lacks {name}");
        }
    }

    #[test]
    fn out_dir_gets_one_page_per_command_with_its_flags() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_pages(dir.path()).unwrap();
        assert_eq!(written[0], dir.path().join("scs-check.1"));
        for name in subcommands() {
            assert!(
                dir.path().join(format!("scs-check-{name}.1")).is_file(),
                "no page for {name}"
            );
        }
        let run = std::fs::read_to_string(dir.path().join("scs-check-run.1")).unwrap();
        assert!(run.contains(".TH scs-check-run 1"), "{run}");
        assert!(run.contains("os\\-cloud"), "{run}");
        // Hidden flags stay hidden.
        assert!(!run.contains("ignore\\-unused\\-assignments"), "{run}");
    }
}
