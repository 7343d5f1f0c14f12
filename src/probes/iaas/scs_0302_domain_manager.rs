//! scs-0302 (domain manager role): `domain-manager-check`, a native port of the standard's
//! conformance test. Two domain managers, A (domain D1) and B (domain D2), log in with
//! domain-scoped password tokens from the clouds.yaml entries named by the variables
//! `domain_manager_a` and `domain_manager_b`; A then manages users, projects, groups and role
//! assignments in D1 (must be allowed) and tries the same in D2, on roles, and with the `admin`
//! role (must be refused). Every check is a finding naming the API call, the expectation and
//! the answer. Every object is created fresh (prefixed, in the ledger, cleaned up by the
//! manager of its domain); no negative check uses an object an earlier step deleted.
//!
//! The checks are one table (`cases` of `steps`: actor, call, expected answer, dependent
//! steps) that `runner` walks; this file logs the managers in and turns the findings into
//! the verdict.

mod cases;
mod runner;
mod steps;

use super::common::FnProbe;
use super::creating::leftover_findings;
use crate::openstack::config::{AuthType, CloudConfig, load_cloud};
use crate::openstack::resources::Session;
use crate::openstack::{Client, ClientOptions};
use crate::probes::{Finding, Outcome, ProbeContext};
use futures::future::BoxFuture;
use reqwest::Method;
use runner::{Book, Runner, call, role_id};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The testcase.
pub const TESTCASE: &str = "domain-manager-check";

/// Name of the probe (also the key of `--probe-timeout`).
pub const PROBE: &str = "scs-0302-domain-manager";

/// Default overall budget (cloud seconds).
pub const BUDGET: Duration = Duration::from_secs(3 * 60);

/// Variable naming the clouds.yaml entry of the manager of the first domain.
pub const VAR_A: &str = "domain_manager_a";
/// Variable naming the clouds.yaml entry of the manager of the second domain.
pub const VAR_B: &str = "domain_manager_b";

/// The role the standard names.
pub const MANAGER_ROLE: &str = "manager";

/// The probe answering `domain-manager-check`.
pub fn probe() -> Arc<FnProbe> {
    FnProbe::new(PROBE, vec![TESTCASE.into()], run)
}

/// A logged-in domain manager.
#[derive(Clone)]
struct Manager {
    /// `A` or `B`.
    who: &'static str,
    client: Client,
    domain_id: String,
}

/// Resolves the user id and domain id of a logged-in manager.
async fn whoami(c: &Client) -> Result<(String, String), String> {
    let uid = c
        .token()
        .user_id
        .clone()
        .ok_or_else(|| "the token names no user".to_string())?;
    let v = call(c, Method::GET, &format!("/users/{uid}"), None)
        .await
        .map_err(|e| format!("GET /v3/users/{uid} (own user): {e}"))?;
    let dom = v["user"]["domain_id"]
        .as_str()
        .ok_or_else(|| "the own user has no domain_id".to_string())?;
    Ok((uid, dom.to_string()))
}

/// All checks: the managers' tokens, the role lookups, then the table of [`cases::SECTIONS`];
/// `sa`/`sb` are the ledger sessions of A and B (each cleans up with its manager's token).
async fn exercise(book: &mut Book, a: &Manager, b: &Manager, sa: &Session, sb: &Session) {
    let (d1, d2) = (a.domain_id.as_str(), b.domain_id.as_str());
    for m in [a, b] {
        let roles = m.client.role_names();
        book.observe(
            "a role named `manager` is present and the domain manager's token carries it",
            &format!("{}: domain-scoped token (POST /v3/auth/tokens)", m.who),
            roles.iter().any(|r| r == MANAGER_ROLE),
            "roles include manager",
            format!("roles: [{}]", roles.join(", ")),
        );
    }
    if d1 == d2 {
        book.setup_failed(
            "the two managers",
            format!("both are in domain {d1}; the check needs two domains"),
        );
        return;
    }
    let Some(member) = role_id(
        book,
        a,
        "member",
        "managers can look up roles by name (identity:list_roles)",
    )
    .await
    else {
        return;
    };
    let admin = role_id(
        book,
        a,
        "admin",
        "managers can look up roles by name (identity:list_roles)",
    )
    .await;
    let mut ids = HashMap::from([
        ("d1", d1.to_string()),
        ("d2", d2.to_string()),
        ("member", member),
    ]);
    if let Some(admin) = admin {
        ids.insert("admin", admin);
    }
    let mut runner = Runner {
        book,
        a,
        b,
        sa,
        sb,
        ids,
    };
    for section in cases::SECTIONS {
        runner.run(section).await;
    }
}

/// Loads the clouds.yaml entry named by `var` and checks that it can give a domain-scoped
/// password token.
fn manager_config(ctx: &ProbeContext, var: &str) -> Result<CloudConfig, String> {
    let name = ctx
        .variables
        .get(var)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            format!(
                "no clouds.yaml entry for the domain managers: set -a {VAR_A}=CLOUD -a {VAR_B}=CLOUD \
                 (missing: {var})"
            )
        })?;
    let cfg = load_cloud(Some(name)).map_err(|e| format!("{var}={name}: {e}"))?;
    check_manager_config(var, &cfg)?;
    Ok(cfg)
}

/// A manager's entry must use password auth and a domain scope (no project scope).
pub fn check_manager_config(var: &str, cfg: &CloudConfig) -> Result<(), String> {
    let name = &cfg.name;
    if cfg.auth_type != AuthType::Password {
        return Err(format!(
            "{var}={name}: the check needs password authentication (auth_type {} is not supported by the standard's test)",
            cfg.auth_type.as_str()
        ));
    }
    let a = &cfg.auth;
    if a.project_id.is_some() || a.project_name.is_some() {
        return Err(format!(
            "{var}={name}: the entry names a project; a domain manager needs a domain-scoped token \
             (set domain_name or domain_id, no project)"
        ));
    }
    if a.domain_id.is_none() && a.domain_name.is_none() {
        return Err(format!(
            "{var}={name}: the entry names no domain scope (set auth.domain_name or auth.domain_id)"
        ));
    }
    Ok(())
}

fn run<'a>(ctx: &'a ProbeContext, testcases: &'a [String]) -> BoxFuture<'a, Vec<Outcome>> {
    Box::pin(async move {
        let configs = manager_config(ctx, VAR_A).and_then(|a| Ok((a, manager_config(ctx, VAR_B)?)));
        let outcome = match configs {
            Err(reason) => Outcome::abort(TESTCASE, reason),
            Ok((a, b)) => Box::pin(judge(ctx, a, b, ClientOptions::default())).await,
        };
        testcases
            .iter()
            .map(|id| {
                if id == TESTCASE {
                    outcome.clone()
                } else {
                    Outcome::abort(id, "not a testcase of the scs-0302 domain manager probe")
                }
            })
            .collect()
    })
}

async fn login(
    who: &'static str,
    cfg: CloudConfig,
    options: ClientOptions,
) -> Result<Client, Outcome> {
    let name = cfg.name.clone();
    match Client::connect_with(cfg, options).await {
        Ok(c) => Ok(c),
        Err(e) => {
            let finding = Finding::new(
                format!("{who}: POST /v3/auth/tokens (domain scope, cloud {name})"),
                "the domain-scoped login was refused",
            )
            .expected_actual("a token", e.to_string());
            let reason = if e.status() == Some(401) {
                format!(
                    "domain manager {who} ({name}) cannot log in with a domain scope: wrong credentials, \
                     or the user holds no role (such as `manager`) on its domain; Keystone does not say which"
                )
            } else {
                format!("domain manager {who} ({name}) cannot log in: {e}")
            };
            Err(Outcome::abort(TESTCASE, reason).with_evidence(vec![finding]))
        }
    }
}

/// Runs every check with the two managers' configurations (the testable core of the probe).
pub async fn judge(
    ctx: &ProbeContext,
    cfg_a: CloudConfig,
    cfg_b: CloudConfig,
    options: ClientOptions,
) -> Outcome {
    let tracker = ctx.services.tracker();
    let budget = tracker.probe_timeout(PROBE, BUDGET);
    let mut book = Book::default();
    let work = async {
        let ca = login("A", cfg_a, options.clone()).await?;
        let cb = login("B", cfg_b, options).await?;
        let mut managers = vec![];
        for (who, c) in [("A", ca), ("B", cb)] {
            match whoami(&c).await {
                Ok((_, domain_id)) => managers.push(Manager {
                    who,
                    client: c,
                    domain_id,
                }),
                Err(why) => {
                    // Reading the own user is allowed by Keystone's defaults (owner rule).
                    let refused = why.contains("HTTP 403");
                    let o = if refused {
                        Outcome::fail(TESTCASE, format!("{who} cannot read its own user: {why}"))
                    } else {
                        Outcome::abort(TESTCASE, format!("{who}: {why}"))
                    };
                    return Err(o);
                }
            }
        }
        Ok(managers)
    };
    let managers = tokio::select! {
        biased;
        _ = ctx.cancel.cancelled() => Err(Outcome::abort(TESTCASE, "interrupted")),
        r = work => r,
        _ = tokio::time::sleep(budget) => Err(Outcome::abort(TESTCASE, "the probe's time budget ran out while logging in")),
    };
    let managers = match managers {
        Ok(m) => m,
        Err(o) => return o,
    };
    let (a, b) = (&managers[0], &managers[1]);
    let sa = tracker.session(a.client.clone());
    let sb = tracker.session(b.client.clone());
    let stopped = tokio::select! {
        biased;
        _ = ctx.cancel.cancelled() => Some("interrupted".to_string()),
        _ = Box::pin(exercise(&mut book, a, b, &sa, &sb)) => None,
        _ = tokio::time::sleep(budget) => Some(format!(
            "the probe's time budget of {:.1} s ran out (resources cleaned up)", budget.as_secs_f64())),
    };
    let mut disposed = crate::openstack::Budget::exempt(sb.cleanup()).await;
    disposed.extend(crate::openstack::Budget::exempt(sa.cleanup()).await);
    let mut evidence = book.findings;
    evidence.extend(leftover_findings(&disposed));
    let total = book.passed + book.failed.len() + book.aborted.len();
    let outcome = if !book.failed.is_empty() {
        Outcome::fail(
            TESTCASE,
            format!(
                "{} of {total} checks broken: {}",
                book.failed.len(),
                book.failed.join("; ")
            ),
        )
    } else if let Some(why) = stopped {
        Outcome::abort(TESTCASE, why)
    } else if !book.aborted.is_empty() {
        Outcome::abort(
            TESTCASE,
            format!(
                "{} check(s) could not be made: {}",
                book.aborted.len(),
                book.aborted.join("; ")
            ),
        )
    } else {
        Outcome::pass(
            TESTCASE,
            format!("all {total} checks of the domain manager role hold"),
        )
    };
    outcome.with_evidence(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::iaas::testing::TestCloud;
    use crate::verdict::Verdict;

    /// A domain-scoped clouds.yaml entry for manager `s` (`a` or `b`) of the simulator.
    fn manager(cloud: &TestCloud, s: &str) -> CloudConfig {
        let mut c = CloudConfig::password(
            &format!("dm-{s}"),
            &cloud.sim.auth_url(),
            &format!("manager-{s}"),
            &format!("secret-{s}"),
            "",
            &format!("domain-{s}"),
        );
        c.auth.project_name = None;
        c.auth.project_domain_name = None;
        c.auth.domain_name = Some(format!("domain-{s}"));
        c
    }

    fn fast() -> ClientOptions {
        ClientOptions {
            backoff: Duration::from_millis(1),
            max_retry_after: Duration::from_millis(1),
            ..ClientOptions::default()
        }
    }

    async fn judged(fixture: &str) -> (TestCloud, Outcome) {
        let cloud = TestCloud::yaml(fixture).await;
        let o = judge(
            &cloud.ctx,
            manager(&cloud, "a"),
            manager(&cloud, "b"),
            fast(),
        )
        .await;
        (cloud, o)
    }

    fn nothing_left(cloud: &TestCloud, o: &Outcome) {
        let log = cloud.sim.request_log();
        assert!(
            !o.evidence.iter().any(|f| f.message.contains("left behind")),
            "{o:?}"
        );
        let created = log
            .iter()
            .filter(|l| l.starts_with("POST") && !l.contains("auth/tokens"))
            .count();
        assert!(created > 0, "the probe created objects");
    }

    #[tokio::test]
    async fn compliant_keystone_passes() {
        let (cloud, o) = judged("base: compliant.yaml\ndomain_manager: {}\n").await;
        assert_eq!(o.verdict, Verdict::Pass, "{o:#?}");
        assert!(
            o.evidence.len() > 30,
            "every check is a finding: {}",
            o.evidence.len()
        );
        assert!(
            o.evidence
                .iter()
                .all(|f| f.expected.is_some() && f.actual.is_some())
        );
        nothing_left(&cloud, &o);
        assert_domains_clean(&cloud).await;
    }

    /// Each manager sees only its own user and group-/project-free domains afterwards.
    async fn assert_domains_clean(cloud: &TestCloud) {
        for s in ["a", "b"] {
            let c = Client::connect_with(manager(cloud, s), fast())
                .await
                .unwrap();
            for kind in ["users", "projects", "groups"] {
                let v = c.get_json("identity", &format!("/{kind}")).await.unwrap();
                let names: Vec<&str> = v[kind]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|x| x["name"].as_str())
                    .collect();
                let want: Vec<String> = if kind == "users" {
                    vec![format!("manager-{s}")]
                } else {
                    vec![]
                };
                assert_eq!(names, want, "{kind} of domain-{s}");
            }
        }
    }

    #[tokio::test]
    async fn interrupted_run_aborts_and_cleans_up() {
        let cloud = TestCloud::yaml(
            "base: compliant.yaml\ndomain_manager: {}\nfaults:\n  - {service: identity, path: /groups, method: POST, kind: latency, delay_ms: 5000}\n",
        )
        .await;
        let cancel = cloud.ctx.cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(700)).await;
            cancel.cancel();
        });
        let o = Box::pin(judge(
            &cloud.ctx,
            manager(&cloud, "a"),
            manager(&cloud, "b"),
            fast(),
        ))
        .await;
        assert_eq!(o.verdict, Verdict::Abort, "{o:#?}");
        assert_eq!(o.reason, "interrupted");
        assert_domains_clean(&cloud).await;
    }

    #[tokio::test]
    async fn no_policy_fails() {
        let (_, o) = judged("base: compliant.yaml\ndomain_manager: {policy: none}\n").await;
        assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
        assert!(o.reason.contains("identity:list_roles"), "{}", o.reason);
    }

    #[tokio::test]
    async fn assignable_admin_fails_naming_the_rule() {
        let (_, o) =
            judged("base: compliant.yaml\ndomain_manager: {policy: admin-assignable}\n").await;
        assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
        assert!(
            o.reason
                .contains("is_domain_managed_role must not contain admin"),
            "{}",
            o.reason
        );
        assert!(
            o.reason
                .contains("PUT /v3/domains/D1/users/{own}/roles/admin"),
            "{}",
            o.reason
        );
        assert!(!o.reason.contains("create_user"), "{}", o.reason);
    }

    #[tokio::test]
    async fn user_creation_in_any_domain_fails_naming_the_rule() {
        let (cloud, o) =
            judged("base: compliant.yaml\ndomain_manager: {policy: create-user-any-domain}\n")
                .await;
        assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
        assert!(o.reason.contains("identity:create_user"), "{}", o.reason);
        assert!(
            o.reason.contains("POST /v3/users (domain_id of D2)"),
            "{}",
            o.reason
        );
        // The user A wrongly created in D2 was cleaned up by B.
        nothing_left(&cloud, &o);
        assert_domains_clean(&cloud).await;
    }

    #[tokio::test]
    async fn missing_manager_role_fails() {
        let (_, o) = judged("base: compliant.yaml\ndomain_manager: {manager_role: false}\n").await;
        assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
        assert!(
            o.reason.contains("a role named `manager` is present"),
            "{}",
            o.reason
        );
    }

    #[tokio::test]
    async fn wrong_password_aborts() {
        let cloud = TestCloud::yaml("base: compliant.yaml\ndomain_manager: {}\n").await;
        let mut b = manager(&cloud, "b");
        b.auth.password = Some(crate::openstack::Secret::new("wrong"));
        let o = Box::pin(judge(&cloud.ctx, manager(&cloud, "a"), b, fast())).await;
        assert_eq!(o.verdict, Verdict::Abort, "{o:#?}");
        assert!(
            o.reason.contains("cannot log in with a domain scope"),
            "{}",
            o.reason
        );
    }

    #[tokio::test]
    async fn server_errors_abort_and_clean_up() {
        let (cloud, o) = judged(
            "base: compliant.yaml\ndomain_manager: {}\nfaults:\n  - {service: identity, path: /groups, method: POST, kind: status, status: 503}\n",
        )
        .await;
        assert_eq!(o.verdict, Verdict::Abort, "{o:#?}");
        nothing_left(&cloud, &o);
        assert_domains_clean(&cloud).await;
    }

    #[tokio::test]
    async fn missing_variables_abort() {
        let cloud = TestCloud::yaml("base: compliant.yaml\n").await;
        let out = cloud.run(probe().as_ref(), &[TESTCASE]).await;
        assert_eq!(out[0].verdict, Verdict::Abort);
        assert!(
            out[0].reason.contains("-a domain_manager_a=CLOUD"),
            "{}",
            out[0].reason
        );
    }

    #[test]
    fn project_scoped_entries_are_refused() {
        let c = CloudConfig::password("x", "http://k", "u", "p", "proj", "d");
        let e = check_manager_config(VAR_A, &c).unwrap_err();
        assert!(e.contains("names a project"), "{e}");
    }
}
