//! The time budget of the work that sends requests ([`Budget`]): its deadline and cancellation,
//! carried in a task-local so that every request of a probe is cut at the probe's limits.

use crate::openstack::OpenStackError;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The time budget and cancellation of the work that sends requests (one native probe): each
/// request attempt and retry wait is cut at the deadline, and a cancelled token drops the
/// request in flight. The executor sets it around each probe ([`Budget::scope`]); requests
/// outside any scope are bounded only by [`ClientOptions`](super::ClientOptions).
#[derive(Debug, Clone, Default)]
pub struct Budget {
    /// When the work must have ended.
    pub deadline: Option<Instant>,
    /// Cancelled when the work is interrupted or timed out.
    pub cancel: Option<CancellationToken>,
}

tokio::task_local! {
    static BUDGET: Budget;
}

impl Budget {
    /// A budget ending at `deadline` (if any) and cancelled with `cancel`.
    pub fn new(deadline: Option<Instant>, cancel: CancellationToken) -> Budget {
        Budget {
            deadline,
            cancel: Some(cancel),
        }
    }

    /// Runs `f` under this budget (replacing any budget around it).
    pub async fn scope<F: std::future::Future>(self, f: F) -> F::Output {
        BUDGET.scope(self, f).await
    }

    /// The budget of the current task (unlimited outside any scope).
    pub fn current() -> Budget {
        BUDGET.try_with(Budget::clone).unwrap_or_default()
    }

    /// Runs `f` without the current budget: for a cleanup that must go on after the work was
    /// interrupted or timed out (it has limits of its own).
    pub async fn exempt<F: std::future::Future>(f: F) -> F::Output {
        Budget::default().scope(f).await
    }

    /// Time left; `None` when unlimited.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Why the work must stop now, if it must.
    pub fn stop_reason(&self) -> Option<&'static str> {
        if self.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
            Some("interrupted")
        } else if self.remaining() == Some(Duration::ZERO) {
            Some("time limit reached")
        } else {
            None
        }
    }

    /// Resolves when the work must stop (never for an unlimited budget), with the reason.
    pub async fn stopped(&self) -> &'static str {
        let cancelled = async {
            match &self.cancel {
                Some(c) => c.cancelled().await,
                None => std::future::pending().await,
            }
        };
        let expired = async {
            match self.deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = cancelled => "interrupted",
            _ = expired => "time limit reached",
        }
    }

    /// Runs `f` unless the budget runs out first; then [`OpenStackError::Stopped`] naming
    /// `service`, `method` and `path`.
    pub async fn guard<T, F>(
        &self,
        service: &str,
        method: &str,
        path: &str,
        f: F,
    ) -> Result<T, OpenStackError>
    where
        F: std::future::Future<Output = Result<T, OpenStackError>>,
    {
        let stopped = |reason: &str| OpenStackError::Stopped {
            service: service.into(),
            method: method.into(),
            path: path.into(),
            reason: reason.into(),
        };
        if let Some(reason) = self.stop_reason() {
            return Err(stopped(reason));
        }
        tokio::select! {
            biased;
            reason = self.stopped() => Err(stopped(reason)),
            r = f => r,
        }
    }
}
