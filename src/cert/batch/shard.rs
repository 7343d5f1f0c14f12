//! `batch --shard I/N`: which subjects belong to one of several machines or pods.

use super::JobList;

/// One share of the subjects for one of several machines or pods (`batch --shard I/N`).
///
/// The rule: the distinct subject names of the selection, sorted by their bytes, are numbered
/// from 0; the subject numbered `k` belongs to shard `k mod N`, with every scope selected for
/// it. The shares are therefore as even as they can be (their sizes differ by at most one
/// subject), do not depend on the order of the configuration file or of `--subject`, and
/// together cover every subject exactly once, provided that all shards read the same
/// configuration with the same selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard's number, `0 <= index < count`.
    pub index: usize,
    /// How many shards there are.
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// Parses `I/N`; the errors are one line naming the value.
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("'{text}': {why}");
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| bad("expected I/N, such as 0/4 (shard I of N, counted from 0)"))?;
        let number = |part: &str, what: &str| {
            part.trim()
                .parse::<usize>()
                .map_err(|_| bad(&format!("{what} is not a whole number")))
        };
        let (index, count) = (number(i, "I")?, number(n, "N")?);
        if count == 0 {
            return Err(bad("N must be at least 1"));
        }
        if index >= count {
            return Err(bad(&format!(
                "I must be below N (the shards of {count} are numbered 0 to {})",
                count - 1
            )));
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// The subjects of `subjects` (any order, repeats allowed) that belong to this shard, sorted.
    pub fn subjects<'a>(&self, subjects: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
        let all: std::collections::BTreeSet<&str> = subjects.into_iter().collect();
        all.into_iter()
            .enumerate()
            .filter(|(k, _)| k % self.count == self.index)
            .map(|(_, s)| s)
            .collect()
    }
}

impl JobList {
    /// Keeps the jobs of this shard's subjects (see [`Shard`]), numbered anew in their order.
    pub fn shard(mut self, shard: Shard) -> JobList {
        let mine: std::collections::BTreeSet<String> = shard
            .subjects(self.jobs.iter().map(|j| j.subject.as_str()))
            .into_iter()
            .map(String::from)
            .collect();
        self.jobs.retain(|j| mine.contains(&j.subject));
        for (index, job) in self.jobs.iter_mut().enumerate() {
            job.index = index;
        }
        self
    }
}
