//! How text for people looks: verdict words coloured on a terminal (`--color`) and counted
//! nouns in the right number ("1 version", "2 versions"), and the output prefix of a run that
//! `scs-check batch` runs inside its own process (every line such a run prints starts with
//! `[subject] `; see [`with_output_prefix`] and [`err_line`]). A foundation module: the console,
//! the progress lines and the summaries of every layer use it, and it imports nothing of ours.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU8, Ordering};

/// When verdict words (PASS, FAIL, ABORT, MISSING) are coloured: the global `--color` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set (non-empty), `CI` is set or `TERM` is `dumb`.
    #[default]
    Auto,
    /// Always, also into pipes and files, whatever the environment says.
    Always,
    /// Never.
    Never,
}

/// The stream a coloured text goes to.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    /// Standard output (summaries).
    Stdout,
    /// Standard error (progress lines).
    Stderr,
}

/// The `--color` choice of this process (an index into [`CHOICES`]).
static COLOR_CHOICE: AtomicU8 = AtomicU8::new(0);
const CHOICES: [ColorChoice; 3] = [ColorChoice::Auto, ColorChoice::Always, ColorChoice::Never];

/// Records the `--color` flag for the rest of the process.
pub fn set_color_choice(choice: ColorChoice) {
    let index = CHOICES.iter().position(|c| *c == choice).unwrap_or(0);
    COLOR_CHOICE.store(index as u8, Ordering::Relaxed);
}

/// Whether text for `stream` gets colours, from `--color`, whether the stream is a terminal,
/// and the environment. Lines of a run under an output prefix (a subject of a batch) are
/// plain, as a batch's child processes were (they ran with `CI=true`).
pub fn colors_on(stream: Stream) -> bool {
    if output_prefix().is_some() {
        return false;
    }
    let choice = CHOICES[usize::from(COLOR_CHOICE.load(Ordering::Relaxed)).min(2)];
    let terminal = match stream {
        Stream::Stdout => std::io::stdout().is_terminal(),
        Stream::Stderr => std::io::stderr().is_terminal(),
    };
    use_colors(choice, terminal, |key| std::env::var_os(key))
}

/// The decision of [`colors_on`], with the terminal test and the environment given. `auto`
/// follows the NO_COLOR convention (set and not empty: no colour), and stays plain in CI logs
/// and on terminals that cannot show colours (`TERM=dumb`).
fn use_colors(
    choice: ColorChoice,
    terminal: bool,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            terminal
                && env("NO_COLOR").is_none_or(|v| v.is_empty())
                && env("CI").is_none()
                && env("TERM").is_none_or(|v| v != "dumb")
        }
    }
}

/// The ANSI colour of a verdict word, or `None` for any other word.
fn verdict_color(word: &str) -> Option<&'static str> {
    match word {
        "PASS" | "PASSED" => Some("\x1b[32m"),
        "FAIL" | "FAILED" => Some("\x1b[1;31m"),
        "ABORT" | "ABORTED" => Some("\x1b[33m"),
        "MISSING" => Some("\x1b[35m"),
        _ => None,
    }
}

/// `text` with every verdict word that stands alone (not part of an id such as `PASS-1` or a
/// longer word) wrapped in its colour.
pub fn paint_verdicts(text: &str) -> String {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(start) = rest.find(is_word) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail.find(|c: char| !is_word(c)).unwrap_or(tail.len());
        let word = &tail[..end];
        match verdict_color(word) {
            Some(color) => {
                out.push_str(color);
                out.push_str(word);
                out.push_str("\x1b[0m");
            }
            None => out.push_str(word),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `n` and the noun in the right number: `count(1, "version")` is "1 version", `count(2,
/// "version")` "2 versions" (nouns that add `s`; see [`noun`]).
pub fn count(n: usize, singular: &str) -> String {
    format!("{n} {}", noun(n, singular))
}

/// The noun alone in the number `n` calls for: "testcase" for 1, "testcases" otherwise.
pub fn noun(n: usize, singular: &str) -> String {
    if n == 1 {
        singular.to_string()
    } else {
        format!("{singular}s")
    }
}

tokio::task_local! {
    /// The prefix of every line the current run prints (`[subject] `), set by
    /// [`with_output_prefix`] for the runs `scs-check batch` runs in its own process.
    static OUTPUT_PREFIX: String;
}

/// Runs `work` with every line it prints through this module (and [`prefix_lines`]) starting
/// with `prefix`. Task-locals are not inherited by `tokio::spawn`: a task the work spawns that
/// prints must be wrapped again (with [`output_prefix`]).
pub async fn with_output_prefix<F: std::future::Future>(prefix: String, work: F) -> F::Output {
    OUTPUT_PREFIX.scope(prefix, work).await
}

/// The output prefix of the current task, if it runs under one.
pub fn output_prefix() -> Option<String> {
    OUTPUT_PREFIX.try_with(Clone::clone).ok()
}

/// `text` with the current output prefix in front of every line (unchanged without a prefix).
pub fn prefix_lines(text: &str) -> String {
    match output_prefix() {
        Some(prefix) => with_prefix(&prefix, text),
        None => text.to_string(),
    }
}

/// `text` with `prefix` in front of every line (a last line without a line end included).
fn with_prefix(prefix: &str, text: &str) -> String {
    let mut out = String::with_capacity(text.len() + prefix.len() * 4);
    for line in text.split_inclusive('\n') {
        out.push_str(prefix);
        out.push_str(line);
    }
    out
}

/// Writes `text` and a line end to standard error, every line behind the current output
/// prefix, in one write under the stream's lock, so that the lines of runs printing at once
/// never mix within a line. What `eprintln!` is for the code a batch runs in its process.
pub fn err_line(text: &str) {
    let mut line = prefix_lines(text);
    line.push('\n');
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// A writer to standard error that writes whole lines only, each behind the output prefix that
/// was current when it was made (for the progress display, which runs in a task of its own).
pub struct PrefixedStderr {
    prefix: String,
    pending: Vec<u8>,
}

impl PrefixedStderr {
    /// A writer with the current output prefix (none: lines go out as they are).
    pub fn new() -> Self {
        PrefixedStderr {
            prefix: output_prefix().unwrap_or_default(),
            pending: Vec::new(),
        }
    }

    /// Writes the complete lines gathered so far (and with `all`, the rest too).
    fn write_lines(&mut self, all: bool) -> std::io::Result<()> {
        let end = match self.pending.iter().rposition(|b| *b == b'\n') {
            Some(i) => i + 1,
            None if all && !self.pending.is_empty() => self.pending.len(),
            None => return Ok(()),
        };
        let text = String::from_utf8_lossy(&self.pending[..end]).into_owned();
        let mut lines = with_prefix(&self.prefix, &text);
        if !lines.ends_with('\n') {
            lines.push('\n');
        }
        self.pending.drain(..end);
        std::io::stderr().lock().write_all(lines.as_bytes())
    }
}

impl Default for PrefixedStderr {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for PrefixedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        self.write_lines(false)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.write_lines(false)
    }
}

impl Drop for PrefixedStderr {
    fn drop(&mut self) {
        let _ = self.write_lines(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An environment of the given variables.
    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<std::ffi::OsString> {
        move |key| vars.iter().find(|(k, _)| *k == key).map(|(_, v)| v.into())
    }

    #[test]
    fn auto_colours_only_a_terminal_without_no_color_ci_or_dumb_term() {
        use ColorChoice::*;
        let term = [("TERM", "xterm-256color")];
        assert!(use_colors(Auto, true, env(&term)));
        assert!(use_colors(Auto, true, env(&[])));
        assert!(!use_colors(Auto, false, env(&term)), "a pipe");
        assert!(!use_colors(Auto, true, env(&[("NO_COLOR", "1")])));
        // NO_COLOR set but empty does not count (the convention's wording).
        assert!(use_colors(Auto, true, env(&[("NO_COLOR", "")])));
        assert!(!use_colors(Auto, true, env(&[("CI", "true")])));
        assert!(!use_colors(Auto, true, env(&[("TERM", "dumb")])));
        // The flag wins over the environment and the stream.
        assert!(use_colors(
            Always,
            false,
            env(&[("NO_COLOR", "1"), ("CI", "1")])
        ));
        assert!(!use_colors(Never, true, env(&term)));
    }

    #[test]
    fn verdict_words_are_painted_ids_and_other_words_are_not() {
        let painted =
            paint_verdicts("- main: FAIL (3 passed, 1 failed)\nFAILED:\n- scs-PASS-1: ok\n");
        assert_eq!(
            painted,
            "- main: \x1b[1;31mFAIL\x1b[0m (3 passed, 1 failed)\n\x1b[1;31mFAILED\x1b[0m:\n\
             - scs-PASS-1: ok\n"
        );
        let line = paint_verdicts("[2/9] scs-0100 ABORT (0.1s): x; PASSING MISSING PASS");
        assert_eq!(
            line,
            "[2/9] scs-0100 \x1b[33mABORT\x1b[0m (0.1s): x; PASSING \x1b[35mMISSING\x1b[0m \
             \x1b[32mPASS\x1b[0m"
        );
        // Nothing to paint: the text comes back as it was (multi-byte text included).
        assert_eq!(paint_verdicts("größe — PASSt"), "größe — PASSt");
    }

    #[tokio::test]
    async fn lines_get_the_prefix_of_their_task() {
        assert_eq!(prefix_lines("a\nb\n"), "a\nb\n");
        let inside = with_output_prefix("[s1] ".into(), async {
            assert!(!colors_on(Stream::Stderr), "prefixed lines are plain");
            (prefix_lines("a\nb\n"), prefix_lines("last"))
        })
        .await;
        assert_eq!(inside, ("[s1] a\n[s1] b\n".into(), "[s1] last".into()));
        assert_eq!(output_prefix(), None);
    }

    #[test]
    fn counts_use_the_singular_for_one() {
        assert_eq!(count(1, "version"), "1 version");
        assert_eq!(count(0, "version"), "0 versions");
        assert_eq!(count(2, "item"), "2 items");
        assert_eq!(noun(1, "testcase"), "testcase");
    }
}
