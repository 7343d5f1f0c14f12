//! The line protocol between scripts and the runner: `ID: VERDICT` lines on stdout, and the
//! log-level counting of every output line (upstream semantics, see the reference §2.3).

use super::Signals;
use crate::verdict::Verdict;

/// Parses one stdout line as a verdict line: split at the **last** `:`, the left part trimmed is
/// the testcase id, the right part trimmed and upper-cased must be `PASS`, `FAIL` or `ABORT`.
/// Anything else is not a verdict line.
///
/// `z: PASS: FAIL` gives `("z: PASS", Fail)`; `a: passed` gives `None`.
pub fn parse_verdict_line(line: &str) -> Option<(String, Verdict)> {
    let (id, word) = line.rsplit_once(':')?;
    // Unicode upper-casing, as Python's `str.upper` does.
    let verdict = match word.trim().to_uppercase().as_str() {
        "PASS" => Verdict::Pass,
        "FAIL" => Verdict::Fail,
        "ABORT" => Verdict::Abort,
        _ => return None,
    };
    Some((id.trim().to_string(), verdict))
}

/// The log level a line counts as: a prefix test on the lower-cased line, without trimming
/// (so `Errors: 0` counts as an error and `  ERROR` does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `info…`
    Info,
    /// `warning…`
    Warning,
    /// `error…`
    Error,
    /// `critical…`
    Critical,
}

/// The level of a line, if it has one.
pub fn level_of(line: &str) -> Option<Level> {
    let lower = line.to_lowercase();
    if lower.starts_with("info") {
        Some(Level::Info)
    } else if lower.starts_with("warning") {
        Some(Level::Warning)
    } else if lower.starts_with("error") {
        Some(Level::Error)
    } else if lower.starts_with("critical") {
        Some(Level::Critical)
    } else {
        None
    }
}

impl Signals {
    /// Counts one output line (stdout or stderr).
    pub fn count_line(&mut self, line: &str) {
        match level_of(line) {
            Some(Level::Info) => self.info += 1,
            Some(Level::Warning) => self.warning += 1,
            Some(Level::Error) => self.error += 1,
            Some(Level::Critical) => self.critical += 1,
            None => {}
        }
    }

    /// Adds another set of counters to this one.
    pub fn add(&mut self, other: &Signals) {
        self.info += other.info;
        self.warning += other.warning;
        self.error += other.error;
        self.critical += other.critical;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Verdict::*;

    #[test]
    fn verdict_line_table() {
        let rows: &[(&str, Option<(&str, Verdict)>)] = &[
            (
                "scs-0101-fips-test: PASS",
                Some(("scs-0101-fips-test", Pass)),
            ),
            ("x:fail", Some(("x", Fail))),
            ("z: PASS: FAIL", Some(("z: PASS", Fail))),
            ("a: passed", None),
            ("  spaced-id  :   Abort   ", Some(("spaced-id", Abort))),
            ("id: pAsS\r", Some(("id", Pass))),
            ("id:\tFAIL\t", Some(("id", Fail))),
            (": PASS", Some(("", Pass))),
            ("PASS", None),
            ("", None),
            ("id: DNF", None),
            ("id: MISS", None),
            ("id: PASS FAIL", None),
            ("id: PASS:", None),
            ("DEBUG: foo: pass", Some(("DEBUG: foo", Pass))),
            ("http://host:8080: ABORT", Some(("http://host:8080", Abort))),
            ("id: pa\u{17f}s", Some(("id", Pass))), // long s upper-cases to S, as in Python
            ("ünïcödé-id: FAIL", Some(("ünïcödé-id", Fail))),
            ("id : : ", None),
        ];
        for (line, want) in rows {
            let got = parse_verdict_line(line);
            let want = want.map(|(id, v)| (id.to_string(), v));
            assert_eq!(got, want, "line {line:?}");
        }
    }

    #[test]
    fn level_table() {
        let rows: &[(&str, Option<Level>)] = &[
            ("INFO: hi", Some(Level::Info)),
            ("info", Some(Level::Info)),
            ("Information", Some(Level::Info)),
            ("WARNING: x", Some(Level::Warning)),
            ("warn: x", None),
            ("Errors: 0", Some(Level::Error)),
            ("ERROR: boom", Some(Level::Error)),
            ("  ERROR: indented", None),
            ("CRITICAL: down", Some(Level::Critical)),
            ("Critical", Some(Level::Critical)),
            ("DEBUG: x", None),
            ("", None),
            ("id: PASS", None),
            ("error", Some(Level::Error)),
            ("[ERROR] bracketed", None),
        ];
        for (line, want) in rows {
            assert_eq!(level_of(line), *want, "line {line:?}");
        }
        let mut s = Signals::default();
        for (line, _) in rows {
            s.count_line(line);
        }
        assert_eq!(
            s,
            Signals {
                info: 3,
                warning: 1,
                error: 3,
                critical: 2
            }
        );
    }
}
