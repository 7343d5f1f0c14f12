//! The one retry policy of the crate ([`RetryPolicy`]): how many attempts, the exponential
//! backoff between them (base delay doubled per retry, optionally capped), how long a server's
//! `Retry-After` is honoured, and the deadline a wait must end before. The callers decide which
//! failures are retryable: the OpenStack client's transport, the report upload to the
//! compliance monitor, and the waits of the resource cleanup all use it. A foundation module:
//! it imports nothing of ours.

use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// How a piece of work is retried. The delay before retry `n` (1 for the first retry) is
/// `base_delay * 2^(n-1)`, at most `max_delay`; a `Retry-After` from the server replaces it,
/// at most `max_retry_after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (at least 1); `None`: as many as the caller
    /// (or the deadline) allows.
    pub max_attempts: Option<u32>,
    /// The delay before the first retry; doubled for each further one.
    pub base_delay: Duration,
    /// The longest backoff delay (`None`: no cap).
    pub max_delay: Option<Duration>,
    /// The longest wait honoured from a server's `Retry-After` (`None`: `Retry-After` is not
    /// honoured; the backoff delay is used).
    pub max_retry_after: Option<Duration>,
    /// The time all attempts and waits together may take from [`RetryPolicy::start`]
    /// (`None`: no limit of its own).
    pub budget: Option<Duration>,
}

impl RetryPolicy {
    /// `max_attempts` attempts with a backoff starting at `base_delay` and doubling, no cap,
    /// `Retry-After` not honoured, no budget.
    pub fn exponential(max_attempts: u32, base_delay: Duration) -> RetryPolicy {
        RetryPolicy {
            max_attempts: Some(max_attempts.max(1)),
            base_delay,
            max_delay: None,
            max_retry_after: None,
            budget: None,
        }
    }

    /// The backoff delay before retry `retry` (1 for the first retry).
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        let delay = self.base_delay.saturating_mul(factor);
        match self.max_delay {
            Some(cap) => delay.min(cap),
            None => delay,
        }
    }

    /// Starts counting attempts now; the deadline is the policy's budget from now.
    pub fn start(&self) -> Retries {
        self.start_until(None)
    }

    /// Starts counting attempts now, with a deadline: the earlier of `deadline` (the
    /// caller's, e.g. a probe's time limit) and the policy's budget from now.
    pub fn start_until(&self, deadline: Option<Instant>) -> Retries {
        let own = self.budget.map(|b| Instant::now() + b);
        let deadline = match (own, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Retries {
            policy: self.clone(),
            attempts: 0,
            deadline,
        }
    }

    /// Runs `attempt` (given the attempt's number, from 1) until it succeeds, fails for good,
    /// or no retry is left (see [`Retries::next_wait`]); `on_retry` hears of each failure
    /// that is retried, with the attempt's number and the wait before the next one. The
    /// error of the last attempt comes back with the number of attempts made.
    pub async fn run<T, E, F, Fut>(
        &self,
        deadline: Option<Instant>,
        mut attempt: F,
        mut on_retry: impl FnMut(&E, u32, Duration),
    ) -> Result<T, Exhausted<E>>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, Failure<E>>>,
    {
        let mut retries = self.start_until(deadline);
        loop {
            let n = retries.begin();
            let (error, retry_after) = match attempt(n).await {
                Ok(v) => return Ok(v),
                Err(Failure::Final(error)) => return Err(Exhausted { error, attempts: n }),
                Err(Failure::Retryable { error, retry_after }) => (error, retry_after),
            };
            match retries.next_wait(retry_after) {
                Some(wait) => {
                    on_retry(&error, n, wait);
                    tokio::time::sleep(wait).await;
                }
                None => return Err(Exhausted { error, attempts: n }),
            }
        }
    }
}

/// How one attempt failed, as the caller judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure<E> {
    /// Worth another attempt; `retry_after` is the server's `Retry-After`, if it sent one.
    Retryable {
        /// What went wrong.
        error: E,
        /// The wait the server asked for.
        retry_after: Option<Duration>,
    },
    /// Not worth another attempt.
    Final(E),
}

impl<E> Failure<E> {
    /// A retryable failure without `Retry-After`.
    pub fn retryable(error: E) -> Failure<E> {
        Failure::Retryable {
            error,
            retry_after: None,
        }
    }
}

/// The error of the last attempt of [`RetryPolicy::run`] and how many attempts were made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exhausted<E> {
    /// The last attempt's error.
    pub error: E,
    /// Attempts made, the last one included.
    pub attempts: u32,
}

/// The attempts of one piece of work under a [`RetryPolicy`]: counts them and says how long
/// to wait before the next one, if there is a next one.
#[derive(Debug, Clone)]
pub struct Retries {
    policy: RetryPolicy,
    attempts: u32,
    deadline: Option<Instant>,
}

impl Retries {
    /// Counts the start of an attempt; returns its number (from 1).
    pub fn begin(&mut self) -> u32 {
        self.attempts += 1;
        self.attempts
    }

    /// Attempts begun so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Time left before the deadline (`None`: no deadline).
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// After a failed attempt the caller would retry: the wait before the next attempt, or
    /// `None` when there is none: the attempts are used up, or the wait would not end before
    /// the deadline (a wait that outlasts the deadline is no retry at all). `retry_after`
    /// (the server's `Retry-After`) replaces the backoff delay, capped at the policy's
    /// `max_retry_after`, when the policy honours it.
    pub fn next_wait(&self, retry_after: Option<Duration>) -> Option<Duration> {
        if self
            .policy
            .max_attempts
            .is_some_and(|max| self.attempts >= max)
        {
            return None;
        }
        let backoff = self.policy.backoff(self.attempts.max(1));
        let wait = match (retry_after, self.policy.max_retry_after) {
            (Some(asked), Some(cap)) => asked.min(cap),
            _ => backoff,
        };
        self.remaining()
            .is_none_or(|left| wait < left)
            .then_some(wait)
    }
}

/// A `Retry-After` header value: seconds, or an HTTP date (a date in the past is no wait).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return secs
            .is_finite()
            .then(|| Duration::from_secs_f64(secs.clamp(0.0, 86_400.0)));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let mut p = RetryPolicy::exponential(10, Duration::from_millis(500));
        let delays: Vec<_> = (1..=5).map(|n| p.backoff(n)).collect();
        assert_eq!(
            delays,
            [500, 1000, 2000, 4000, 8000].map(Duration::from_millis)
        );
        p.base_delay = secs(1);
        p.max_delay = Some(secs(15));
        let delays: Vec<_> = (1..=7).map(|n| p.backoff(n)).collect();
        assert_eq!(delays, [1, 2, 4, 8, 15, 15, 15].map(secs));
        // No overflow however many retries.
        assert_eq!(p.backoff(u32::MAX), secs(15));
        p.max_delay = None;
        assert_eq!(p.backoff(200), secs(u64::from(u32::MAX)));
    }

    #[tokio::test(start_paused = true)]
    async fn run_waits_the_backoff_between_attempts_and_gives_up_after_the_last() {
        let p = RetryPolicy::exponential(4, secs(2));
        let started = Instant::now();
        let mut waits = vec![];
        let tried = AtomicU32::new(0);
        let r: Result<(), _> = p
            .run(
                None,
                |n| {
                    tried.fetch_add(1, Ordering::SeqCst);
                    async move { Err(Failure::retryable(format!("attempt {n}"))) }
                },
                |e: &String, n, wait| waits.push((e.clone(), n, wait)),
            )
            .await;
        let e = r.unwrap_err();
        assert_eq!(e.attempts, 4);
        assert_eq!(e.error, "attempt 4");
        assert_eq!(tried.load(Ordering::SeqCst), 4);
        assert_eq!(
            waits,
            vec![
                ("attempt 1".to_string(), 1, secs(2)),
                ("attempt 2".to_string(), 2, secs(4)),
                ("attempt 3".to_string(), 3, secs(8)),
            ]
        );
        // Paused time advances exactly by the waits.
        assert_eq!(started.elapsed(), secs(14));
    }

    #[tokio::test(start_paused = true)]
    async fn a_final_failure_or_a_success_ends_at_once() {
        let p = RetryPolicy::exponential(5, secs(1));
        let r: Result<u32, Exhausted<&str>> = p
            .run(
                None,
                |n| async move {
                    if n < 3 {
                        Err(Failure::retryable("busy"))
                    } else {
                        Ok(n)
                    }
                },
                |_, _, _| {},
            )
            .await;
        assert_eq!(r, Ok(3));
        let r: Result<(), _> = p
            .run(
                None,
                |_| async { Err(Failure::Final("refused")) },
                |_, _, _| {},
            )
            .await;
        assert_eq!(
            r,
            Err(Exhausted {
                error: "refused",
                attempts: 1
            })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_up_to_its_cap() {
        let mut p = RetryPolicy::exponential(3, Duration::from_millis(500));
        p.max_retry_after = Some(secs(10));
        let mut r = p.start();
        r.begin();
        assert_eq!(r.next_wait(Some(secs(3))), Some(secs(3)));
        assert_eq!(r.next_wait(Some(secs(3600))), Some(secs(10)));
        assert_eq!(r.next_wait(None), Some(Duration::from_millis(500)));
        // A policy that does not honour it keeps its backoff.
        p.max_retry_after = None;
        let mut r = p.start();
        r.begin();
        assert_eq!(r.next_wait(Some(secs(3))), Some(Duration::from_millis(500)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_that_would_outlast_the_budget_is_no_retry() {
        let mut p = RetryPolicy::exponential(100, secs(1));
        p.budget = Some(secs(10));
        let started = Instant::now();
        let e = p
            .run(
                None,
                |_| async { Err::<(), _>(Failure::retryable(())) },
                |_, _, _| {},
            )
            .await
            .unwrap_err();
        // Waits 1 + 2 + 4 = 7 s fit; the next (8 s) would end after the budget.
        assert_eq!(e.attempts, 4);
        assert_eq!(started.elapsed(), secs(7));

        // The caller's deadline counts when it is earlier than the budget.
        let mut r = p.start_until(Some(Instant::now() + secs(3)));
        r.begin();
        assert_eq!(r.next_wait(None), Some(secs(1)));
        assert_eq!(r.next_wait(Some(secs(5))), Some(secs(1)));
        tokio::time::advance(secs(2)).await;
        assert_eq!(r.next_wait(None), None);
        assert_eq!(r.remaining(), Some(secs(1)));
    }

    #[test]
    fn attempts_are_counted_and_limited() {
        let p = RetryPolicy {
            max_attempts: None,
            ..RetryPolicy::exponential(1, secs(1))
        };
        let mut r = p.start();
        for _ in 0..50 {
            r.begin();
        }
        assert_eq!(r.attempts(), 50);
        assert!(r.next_wait(None).is_some(), "no attempt limit");
        let mut r = RetryPolicy::exponential(0, secs(1)).start();
        r.begin();
        assert_eq!(
            r.next_wait(None),
            None,
            "at least one attempt, and only one"
        );
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(parse_retry_after(" 3 "), Some(secs(3)));
        assert_eq!(parse_retry_after("-1"), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = (chrono::Utc::now() + chrono::Duration::seconds(30))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let wait = parse_retry_after(&later).unwrap();
        assert!(wait > secs(25) && wait <= secs(30));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
