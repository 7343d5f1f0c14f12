//! Running one external script: spawn it in its own process group, stream its output line by
//! line, collect `ID: VERDICT` lines for the requested testcases, and stop the whole process
//! group on timeout or cancellation.

use super::protocol::parse_verdict_line;
use super::{Ending, Signals, fmt_secs};
use crate::plan::ScriptCommand;
use crate::probes::Outcome;
use crate::verdict::Verdict;
use std::collections::{BTreeMap, HashMap};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long a process group gets between SIGTERM and SIGKILL.
pub(crate) const KILL_GRACE: Duration = Duration::from_secs(2);
/// How long output is still read after the script exited (a background child may hold the
/// pipes open) or after the process group was killed.
const DRAIN: Duration = Duration::from_secs(2);
/// Reason of requested testcases the script did not report on.
pub const REASON_NO_RESULT: &str = "script printed no result";

/// What one script invocation produced.
#[derive(Debug, Clone)]
pub struct ScriptRun {
    /// Outcomes of requested testcases, in request order (ABORT for those cut off by a timeout,
    /// cancellation or launch failure).
    pub outcomes: Vec<Outcome>,
    /// Requested testcases the script did not report on, with the reason.
    pub notes: BTreeMap<String, String>,
    /// Exit code (127 when it could not start, `None` when killed by a signal).
    pub rc: Option<i32>,
    /// Captured stdout lines.
    pub stdout: Vec<String>,
    /// Captured stderr lines, plus the runner's own warnings about this script.
    pub stderr: Vec<String>,
    /// Log-level counters over both streams.
    pub signals: Signals,
    /// How it ended.
    pub ending: Ending,
}

/// Collects output and verdicts while a script runs.
struct Collector<'a, F: FnMut(bool, &str)> {
    requested: &'a [String],
    verdicts: HashMap<String, Verdict>,
    stdout: Vec<String>,
    stderr: Vec<String>,
    signals: Signals,
    on_line: F,
}

impl<F: FnMut(bool, &str)> Collector<'_, F> {
    fn line(&mut self, stderr: bool, line: String) {
        self.signals.count_line(&line);
        (self.on_line)(stderr, &line);
        if stderr {
            self.stderr.push(line);
            return;
        }
        if let Some((id, verdict)) = parse_verdict_line(&line) {
            if self.requested.contains(&id) {
                self.verdicts.insert(id, verdict);
            } else {
                self.line(true, format!("WARNING: ignoring invalid result id: {id}"));
            }
        }
        self.stdout.push(line);
    }
}

/// Runs `cmd` for the `requested` testcases. `on_line(stderr, line)` is called for every output
/// line as soon as it is read (and for the runner's own warnings about the script).
/// Never panics; every failure ends up in the returned [`ScriptRun`].
pub async fn run_script(
    cmd: &ScriptCommand,
    requested: &[String],
    timeout: Duration,
    cancel: &CancellationToken,
    on_line: impl FnMut(bool, &str),
) -> ScriptRun {
    let mut col = Collector {
        requested,
        verdicts: HashMap::new(),
        stdout: vec![],
        stderr: vec![],
        signals: Signals::default(),
        on_line,
    };

    let shown = match &cmd.interpreter {
        Some(i) => format!("{i} {}", cmd.program.display()),
        None => cmd.program.display().to_string(),
    };
    let mut command = match &cmd.interpreter {
        Some(interpreter) => {
            let mut c = Command::new(interpreter);
            c.arg(&cmd.program);
            c
        }
        None => Command::new(&cmd.program),
    };
    command
        .args(&cmd.args)
        .envs(cmd.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&cmd.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);

    let spawned = if cmd.cwd.is_dir() {
        command.spawn().map_err(|e| e.to_string())
    } else {
        Err(format!(
            "working directory {} does not exist",
            cmd.cwd.display()
        ))
    };
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            let reason = format!("cannot run {shown}: {e}");
            col.line(true, format!("CRITICAL: {reason}"));
            return ScriptRun {
                outcomes: requested
                    .iter()
                    .map(|id| Outcome::abort(id, reason.clone()))
                    .collect(),
                notes: BTreeMap::new(),
                rc: Some(127),
                stdout: col.stdout,
                stderr: col.stderr,
                signals: col.signals,
                ending: Ending::LaunchFailed,
            };
        }
    };
    let pgid = child.id().and_then(|id| i32::try_from(id).ok());

    let (tx, mut rx) = mpsc::unbounded_channel::<(bool, String)>();
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(tokio::spawn(read_lines(out, false, tx.clone())));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(tokio::spawn(read_lines(err, true, tx.clone())));
    }
    drop(tx);

    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut status: Option<std::process::ExitStatus> = None;
    let mut wait_failed = false;
    let mut readers_done = false;
    let mut drain_until: Option<Instant> = None;
    let ending = loop {
        if readers_done && (status.is_some() || wait_failed) {
            break Ending::Completed;
        }
        let drain = async move {
            match drain_until {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = cancel.cancelled() => break Ending::Cancelled,
            _ = &mut deadline => break Ending::TimedOut,
            msg = rx.recv(), if !readers_done => match msg {
                Some((stderr, line)) => col.line(stderr, line),
                None => readers_done = true,
            },
            st = child.wait(), if status.is_none() && !wait_failed => {
                match st {
                    Ok(st) => status = Some(st),
                    Err(_) => wait_failed = true,
                }
                drain_until = Some(Instant::now() + DRAIN);
            }
            _ = drain => break Ending::Completed,
        }
    };

    let cut_off = if ending == Ending::Completed {
        while let Ok((stderr, line)) = rx.try_recv() {
            col.line(stderr, line);
        }
        if !readers_done {
            // The script exited but something it started still holds the pipes open: stop
            // what is left of its process group.
            col.line(
                true,
                "WARNING: output still open after the script exited; stopping leftover processes"
                    .into(),
            );
            if let Some(pgid) = pgid {
                signal_group(pgid, libc::SIGTERM);
                tokio::time::sleep(Duration::from_millis(200)).await;
                signal_group(pgid, libc::SIGKILL);
            }
        }
        None
    } else {
        if let Some(pgid) = pgid {
            kill_group(pgid, &mut child, &mut status).await;
        }
        let why = match ending {
            Ending::TimedOut => format!("timed out after {}", fmt_secs(timeout)),
            _ => "interrupted".to_string(),
        };
        // Lines written before the kill still count.
        let until = Instant::now() + DRAIN;
        while !readers_done {
            match tokio::time::timeout_at(until, rx.recv()).await {
                Ok(Some((stderr, line))) => col.line(stderr, line),
                _ => readers_done = true,
            }
        }
        col.line(true, format!("CRITICAL: {why}; process group stopped"));
        Some(why)
    };
    for r in readers {
        r.abort();
    }
    finish(col, status, ending, cut_off)
}

fn finish<F: FnMut(bool, &str)>(
    col: Collector<'_, F>,
    status: Option<std::process::ExitStatus>,
    ending: Ending,
    cut_off: Option<String>,
) -> ScriptRun {
    let mut outcomes = Vec::new();
    let mut notes = BTreeMap::new();
    for id in col.requested {
        match col.verdicts.get(id) {
            Some(v) => outcomes.push(Outcome {
                testcase: id.clone(),
                verdict: *v,
                reason: format!("the script reported {v}"),
                evidence: vec![],
            }),
            None => match &cut_off {
                Some(why) => outcomes.push(Outcome::abort(id, why.clone())),
                None => {
                    notes.insert(id.clone(), REASON_NO_RESULT.to_string());
                }
            },
        }
    }
    ScriptRun {
        outcomes,
        notes,
        rc: status.and_then(|s| s.code()),
        stdout: col.stdout,
        stderr: col.stderr,
        signals: col.signals,
        ending,
    }
}

/// SIGTERM to the group, a grace period for the leader to exit, then SIGKILL to whatever is left.
async fn kill_group(
    pgid: i32,
    child: &mut tokio::process::Child,
    status: &mut Option<std::process::ExitStatus>,
) {
    signal_group(pgid, libc::SIGTERM);
    if status.is_none()
        && let Ok(Ok(st)) = tokio::time::timeout(KILL_GRACE, child.wait()).await
    {
        *status = Some(st);
    }
    signal_group(pgid, libc::SIGKILL);
    if status.is_none()
        && let Ok(Ok(st)) = tokio::time::timeout(KILL_GRACE, child.wait()).await
    {
        *status = Some(st);
    }
}

fn signal_group(pgid: i32, signal: libc::c_int) {
    if pgid > 1 {
        // SAFETY: killpg only sends a signal; an absent group yields ESRCH, which we ignore.
        unsafe {
            libc::killpg(pgid, signal);
        }
    }
}

/// Reads `reader` line by line (lossy UTF-8, without the line end) into `tx`.
async fn read_lines<R: AsyncRead + Unpin>(
    reader: R,
    stderr: bool,
    tx: mpsc::UnboundedSender<(bool, String)>,
) {
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                }
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
                let line = String::from_utf8_lossy(&buf).into_owned();
                if tx.send((stderr, line)).is_err() {
                    break;
                }
            }
        }
    }
}
