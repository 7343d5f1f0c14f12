//! The results a run produces and the report renders: a testcase's [`Outcome`] with its
//! [`Finding`]s (what probes and scripts return), and a work item's [`ItemResult`] with how it
//! [`Ending`] and its log [`Signals`] (what the executor returns). Both sides import these types
//! from here, so the report depends on neither `probes` nor `execute`.

use crate::verdict::Verdict;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// One observation behind a verdict: an object that was looked at and what is wrong (or right)
/// with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The object, e.g. `flavor "SCS-2V-4"` or `image "Ubuntu 22.04"`.
    pub object: String,
    /// What was found, in words.
    pub message: String,
    /// The expected value, where one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// The actual value, where one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
}

impl Finding {
    /// A finding without expected/actual values.
    pub fn new(object: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            object: object.into(),
            message: message.into(),
            expected: None,
            actual: None,
        }
    }

    /// Adds expected and actual values.
    pub fn expected_actual(
        mut self,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        self.expected = Some(expected.into());
        self.actual = Some(actual.into());
        self
    }
}

/// The verdict of one testcase with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Testcase id.
    pub testcase: String,
    /// The verdict.
    pub verdict: Verdict,
    /// One line saying why.
    pub reason: String,
    /// Structured details.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Finding>,
}

impl Outcome {
    /// A passing outcome.
    pub fn pass(testcase: impl Into<String>, reason: impl Into<String>) -> Self {
        Outcome {
            testcase: testcase.into(),
            verdict: Verdict::Pass,
            reason: reason.into(),
            evidence: vec![],
        }
    }
    /// A failing outcome.
    pub fn fail(testcase: impl Into<String>, reason: impl Into<String>) -> Self {
        Outcome {
            testcase: testcase.into(),
            verdict: Verdict::Fail,
            reason: reason.into(),
            evidence: vec![],
        }
    }
    /// An aborted (inconclusive) outcome.
    pub fn abort(testcase: impl Into<String>, reason: impl Into<String>) -> Self {
        Outcome {
            testcase: testcase.into(),
            verdict: Verdict::Abort,
            reason: reason.into(),
            evidence: vec![],
        }
    }
    /// Attaches evidence.
    pub fn with_evidence(mut self, evidence: Vec<Finding>) -> Self {
        self.evidence = evidence;
        self
    }
}

/// Counts of log lines by level, as the reference counts them (prefix test on the lower-cased line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signals {
    /// Lines starting with `info`.
    pub info: u32,
    /// Lines starting with `warning`.
    pub warning: u32,
    /// Lines starting with `error`.
    pub error: u32,
    /// Lines starting with `critical`.
    pub critical: u32,
}

/// How a work item ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// It ran to completion.
    Completed,
    /// It ran past its timeout and was stopped.
    TimedOut,
    /// The run was interrupted (Ctrl-C) before or while it ran.
    Cancelled,
    /// It could not be started (program missing, not executable, ...).
    LaunchFailed,
    /// It was not run at all (manual testcases, no probe).
    NotRun,
}

/// The result of one work item: what ran, how it ended, and the outcome of each testcase it
/// reported on.
#[derive(Debug, Clone)]
pub struct ItemResult {
    /// [`crate::plan::WorkItem::index`] of the item.
    pub index: usize,
    /// Fresh uuid4 identifying this invocation in the report.
    pub uuid: String,
    /// The command line as the report records it (`builtin:PROBE` for native probes).
    pub cmd: String,
    /// Outcomes of the requested testcases that got a verdict (missing ones are absent).
    pub outcomes: Vec<Outcome>,
    /// Requested testcases without an outcome (MISSING), with the reason, e.g.
    /// "script printed no result" or "manual testcase".
    pub notes: BTreeMap<String, String>,
    /// Exit code of a script (127 = could not launch; `None` for native probes and killed scripts).
    pub rc: Option<i32>,
    /// Captured stdout lines (scripts) or log lines (probes).
    pub stdout: Vec<String>,
    /// Captured stderr lines.
    pub stderr: Vec<String>,
    /// Log-level counters.
    pub signals: Signals,
    /// How it ended.
    pub ending: Ending,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// How long it took.
    pub duration: Duration,
}
