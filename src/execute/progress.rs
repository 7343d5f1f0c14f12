//! The progress display, a consumer of [`Event`]s. On a terminal (stderr is a tty and `CI` is
//! not set) it draws a progress bar over testcases naming the running items; otherwise it
//! prints one plain line per finished testcase, e.g. `[3/12] scs-0100-syntax-check PASS (0.4s)`.
//! With `verbose`, script output is echoed as `[SUBJECT] line`. Verdict words are coloured as
//! `--color` says for stderr ([`crate::terminal::colors_on`]). Plain lines carry the output
//! prefix of a run inside `batch` ([`crate::terminal::PrefixedStderr`]).

use super::ItemResult;
use super::runner::Event;
use crate::terminal as console;
use crate::verdict::Verdict;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use tokio::sync::mpsc::UnboundedReceiver;

enum Mode {
    Bar(ProgressBar),
    Plain(Box<dyn Write + Send>),
}

/// Shows the progress of a run on stderr.
pub struct Progress {
    mode: Mode,
    total: usize,
    done: usize,
    subject: String,
    verbose: bool,
    quiet: bool,
    running: BTreeMap<usize, String>,
    /// The latest status line of a long-running probe, shown beside the running items.
    status: Option<String>,
    /// Whether verdict words are coloured (`--color`, see [`crate::terminal`]).
    color: bool,
}

impl Progress {
    /// A display for `total_testcases` testcases (see [`crate::plan::Plan::testcase_count`]),
    /// choosing the bar or plain lines by looking at stderr and `CI`. `quiet` suppresses the
    /// progress itself; `verbose` echoes script output (also when quiet).
    pub fn new(total_testcases: usize, subject: &str, verbose: bool, quiet: bool) -> Self {
        // A run under an output prefix (a subject of `batch`) prints plain lines, as with CI.
        let tty = std::io::stderr().is_terminal()
            && std::env::var_os("CI").is_none()
            && console::output_prefix().is_none();
        if tty {
            let bar = ProgressBar::with_draw_target(
                Some(total_testcases as u64),
                if quiet {
                    ProgressDrawTarget::hidden()
                } else {
                    ProgressDrawTarget::stderr()
                },
            );
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {wide_msg}",
            ) {
                bar.set_style(style);
            }
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            Self::with_mode(Mode::Bar(bar), total_testcases, subject, verbose, quiet)
        } else {
            Self::plain(
                total_testcases,
                subject,
                verbose,
                quiet,
                Box::new(console::PrefixedStderr::new()),
            )
        }
        .colored(console::colors_on(console::Stream::Stderr))
    }

    /// The same display with verdict words coloured (or not).
    pub fn colored(mut self, color: bool) -> Self {
        self.color = color;
        self
    }

    /// A display that prints plain lines to `out` (CI logs, tests).
    pub fn plain(
        total_testcases: usize,
        subject: &str,
        verbose: bool,
        quiet: bool,
        out: Box<dyn Write + Send>,
    ) -> Self {
        Self::with_mode(Mode::Plain(out), total_testcases, subject, verbose, quiet)
    }

    fn with_mode(mode: Mode, total: usize, subject: &str, verbose: bool, quiet: bool) -> Self {
        Progress {
            mode,
            total,
            done: 0,
            subject: subject.to_string(),
            verbose,
            quiet,
            running: BTreeMap::new(),
            status: None,
            color: false,
        }
    }

    /// Consumes events until every sender is gone, then clears the bar.
    pub async fn consume(mut self, mut rx: UnboundedReceiver<Event>) {
        while let Some(event) = rx.recv().await {
            self.handle(&event);
        }
        self.finish();
    }

    /// Shows one event.
    pub fn handle(&mut self, event: &Event) {
        match event {
            Event::Started { index, label } => {
                self.running.insert(*index, label.clone());
                self.update_message();
            }
            Event::Line { line, .. } => {
                if self.verbose {
                    let text = format!("[{}] {line}", self.subject);
                    self.print(&text);
                }
            }
            Event::Status { line } => {
                let text = format!("[{}] {line}", self.subject);
                match &mut self.mode {
                    Mode::Bar(bar) if self.verbose => bar.println(text),
                    Mode::Bar(_) => {}
                    Mode::Plain(out) => {
                        if !self.quiet {
                            let _ = writeln!(out, "{text}");
                        }
                    }
                }
                self.status = Some(line.clone());
                self.update_message();
            }
            Event::Finished(result) => {
                self.running.remove(&result.index);
                let quiet = self.quiet;
                for (text, passed) in self.finished_lines(result) {
                    match &mut self.mode {
                        Mode::Plain(out) => {
                            if !quiet {
                                let _ = writeln!(out, "{text}");
                            }
                        }
                        Mode::Bar(bar) => {
                            bar.inc(1);
                            if !passed && !quiet {
                                bar.println(text);
                            }
                        }
                    }
                }
                self.update_message();
            }
        }
    }

    /// Removes the bar (plain mode: flushes).
    pub fn finish(&mut self) {
        match &mut self.mode {
            Mode::Bar(bar) => bar.finish_and_clear(),
            Mode::Plain(out) => {
                let _ = out.flush();
            }
        }
    }

    /// One line per testcase of a finished item, with whether it passed; advances the counter.
    fn finished_lines(&mut self, r: &ItemResult) -> Vec<(String, bool)> {
        let secs = format!("{:.1}s", r.duration.as_secs_f64());
        let mut lines = Vec::new();
        for o in &r.outcomes {
            self.done += 1;
            let mut text = format!(
                "[{}/{}] {} {} ({secs})",
                self.done, self.total, o.testcase, o.verdict
            );
            let passed = o.verdict == Verdict::Pass;
            if !passed && !o.reason.is_empty() {
                text.push_str(&format!(": {}", o.reason));
            }
            if self.color {
                text = console::paint_verdicts(&text);
            }
            lines.push((text, passed));
        }
        for (id, why) in &r.notes {
            self.done += 1;
            let text = format!(
                "[{}/{}] {id} MISSING ({secs}): {why}",
                self.done, self.total
            );
            match self.color {
                true => lines.push((console::paint_verdicts(&text), false)),
                false => lines.push((text, false)),
            }
        }
        lines
    }

    fn print(&mut self, text: &str) {
        match &mut self.mode {
            Mode::Plain(out) => {
                let _ = writeln!(out, "{text}");
            }
            Mode::Bar(bar) => bar.println(text),
        }
    }

    fn update_message(&mut self) {
        if let Mode::Bar(bar) = &self.mode {
            let names: Vec<&str> = self.running.values().map(String::as_str).collect();
            let mut message = names.join(", ");
            if let Some(status) = self.status.as_ref().filter(|_| !self.running.is_empty()) {
                message.push_str(" — ");
                message.push_str(status);
            }
            bar.set_message(message);
        }
    }
}
