//! Verdicts of single testcases and their aggregation over a target.
//!
//! The precedence FAIL > MISSING > ABORT > PASS (scs-0003-v2) lives here and nowhere else.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The result of one testcase as a probe or script reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    /// The requirement was verified to be violated.
    Fail,
    /// The check could not be completed (shown as DNF / inconclusive by the monitor).
    Abort,
    /// The requirement was verified to hold.
    Pass,
}

impl Verdict {
    /// The integer the compliance monitor stores: FAIL = -1, ABORT = 0, PASS = 1.
    pub fn as_int(self) -> i8 {
        match self {
            Verdict::Fail => -1,
            Verdict::Abort => 0,
            Verdict::Pass => 1,
        }
    }

    /// The inverse of [`Verdict::as_int`].
    pub fn from_int(value: i64) -> Option<Self> {
        match value {
            -1 => Some(Verdict::Fail),
            0 => Some(Verdict::Abort),
            1 => Some(Verdict::Pass),
            _ => None,
        }
    }

    /// Parses the wire word of the line protocol (`PASS`, `FAIL`, `ABORT`), case-insensitively.
    pub fn from_word(word: &str) -> Option<Self> {
        match word.to_ascii_uppercase().as_str() {
            "PASS" => Some(Verdict::Pass),
            "FAIL" => Some(Verdict::Fail),
            "ABORT" => Some(Verdict::Abort),
            _ => None,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Abort => "ABORT",
        })
    }
}

/// The aggregated result of a set of testcases (a target of a version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Aggregate {
    /// Some testcase failed.
    Fail,
    /// No failure, but some testcase has no result.
    Missing,
    /// No failure and nothing missing, but some testcase aborted.
    Abort,
    /// Every testcase passed (or the set is empty).
    Pass,
}

impl Aggregate {
    /// Combines the results of a set of testcases; `None` stands for a missing result.
    /// An empty set passes.
    pub fn of<I: IntoIterator<Item = Option<Verdict>>>(results: I) -> Aggregate {
        let (mut fail, mut missing, mut abort) = (false, false, false);
        for r in results {
            match r {
                Some(Verdict::Fail) => fail = true,
                None => missing = true,
                Some(Verdict::Abort) => abort = true,
                Some(Verdict::Pass) => {}
            }
        }
        if fail {
            Aggregate::Fail
        } else if missing {
            Aggregate::Missing
        } else if abort {
            Aggregate::Abort
        } else {
            Aggregate::Pass
        }
    }
}

impl fmt::Display for Aggregate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Aggregate::Pass => "PASS",
            Aggregate::Fail => "FAIL",
            Aggregate::Abort => "ABORT",
            Aggregate::Missing => "MISSING",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_fail_missing_abort_pass() {
        use Verdict::*;
        assert_eq!(Aggregate::of([]), Aggregate::Pass);
        assert_eq!(Aggregate::of([Some(Pass), Some(Pass)]), Aggregate::Pass);
        assert_eq!(Aggregate::of([Some(Pass), Some(Abort)]), Aggregate::Abort);
        assert_eq!(Aggregate::of([Some(Abort), None]), Aggregate::Missing);
        assert_eq!(
            Aggregate::of([None, Some(Fail), Some(Abort)]),
            Aggregate::Fail
        );
    }

    #[test]
    fn ints_round_trip() {
        for v in [Verdict::Pass, Verdict::Fail, Verdict::Abort] {
            assert_eq!(Verdict::from_int(v.as_int() as i64), Some(v));
        }
        assert_eq!(Verdict::from_int(2), None);
        assert_eq!(Verdict::from_word("pass"), Some(Verdict::Pass));
        assert_eq!(Verdict::from_word("passed"), None);
    }
}
