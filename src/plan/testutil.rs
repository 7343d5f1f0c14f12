//! Test helper: builds [`Scope`] values by hand, without the spec loader.

use crate::spec::{
    Format, Include, Lifetime, Module, Origin, Pos, Runner, Scope, Script, Testcase, TimelineEntry,
    Validity, Version,
};
use chrono::NaiveDate;
use indexmap::IndexMap;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

/// Parses `YYYY-MM-DD`; panics on bad input (tests only).
pub(crate) fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

/// Builds a scope step by step.
pub(crate) struct ScopeBuilder {
    scope: Scope,
}

impl ScopeBuilder {
    /// An empty format-C scope from a file in `/nonexistent`.
    pub(crate) fn new() -> Self {
        ScopeBuilder {
            scope: Scope {
                uuid: "00000000-0000-4000-8000-000000000000".into(),
                name: "Test scope".into(),
                url: "file:///test.yaml".into(),
                variables: vec![],
                defaults: IndexMap::new(),
                scripts: vec![],
                testcases: IndexMap::new(),
                modules: IndexMap::new(),
                versions: vec![],
                timeline: vec![],
                origin: Origin::File(PathBuf::from("/nonexistent/test.yaml")),
                base_dir: Some(PathBuf::from("/nonexistent")),
                format: Format::C,
            },
        }
    }

    /// Sets the base directory.
    pub(crate) fn base_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.scope.base_dir = dir;
        self
    }

    /// Declares a variable, optionally with a default.
    pub(crate) fn variable(mut self, name: &str, default: Option<&str>) -> Self {
        self.scope.variables.push(name.into());
        if let Some(d) = default {
            self.scope.defaults.insert(name.into(), d.into());
        }
        self
    }

    /// Adds a script with testcases given as `(id, section)`.
    pub(crate) fn script(
        mut self,
        runner: Runner,
        args: Option<&str>,
        env: &[(&str, &str)],
        testcases: &[(&str, Option<&str>)],
    ) -> Self {
        let index = self.scope.scripts.len();
        let line = 10 * (index as u32 + 1);
        for (id, section) in testcases {
            self.scope.testcases.insert(
                id.to_string(),
                Testcase {
                    id: id.to_string(),
                    lifetime: Lifetime::Week,
                    section: section.map(str::to_string),
                    description: None,
                    url: None,
                    script: index,
                    tags: vec![],
                    pos: Pos { line, column: 1 },
                },
            );
        }
        self.scope.scripts.push(Script {
            runner,
            args: args.map(str::to_string),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            testcases: testcases.iter().map(|(id, _)| id.to_string()).collect(),
            pos: Pos { line, column: 3 },
        });
        self
    }

    /// Adds a module with `targets` (name → ids) and declared parameter names.
    pub(crate) fn module(mut self, id: &str, targets: &[(&str, &[&str])], params: &[&str]) -> Self {
        self.scope.modules.insert(
            id.to_string(),
            Module {
                id: id.to_string(),
                name: None,
                url: None,
                targets: targets
                    .iter()
                    .map(|(t, ids)| (t.to_string(), ids.iter().map(|s| s.to_string()).collect()))
                    .collect(),
                parameters: params
                    .iter()
                    .map(|p| (p.to_string(), format!("{p} description")))
                    .collect(),
                pos: Pos::default(),
            },
        );
        self
    }

    /// Adds a version including `(module, parameters)`; derives its targets.
    pub(crate) fn version(mut self, name: &str, includes: &[(&str, &[(&str, &str)])]) -> Self {
        let mut targets: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (module, _) in includes {
            if let Some(m) = self.scope.modules.get(*module) {
                for (t, ids) in &m.targets {
                    targets
                        .entry(t.clone())
                        .or_default()
                        .extend(ids.iter().cloned());
                }
            }
        }
        self.scope.versions.push(Version {
            name: name.to_string(),
            stabilized_at: None,
            includes: includes
                .iter()
                .map(|(m, params)| Include {
                    module: m.to_string(),
                    parameters: params
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                    pos: Pos::default(),
                })
                .collect(),
            targets: targets
                .into_iter()
                .map(|(t, ids)| (t, ids.into_iter().collect()))
                .collect(),
            pos: Pos::default(),
        });
        self
    }

    /// Adds a timeline entry.
    pub(crate) fn timeline(mut self, day: &str, versions: &[(&str, Validity)]) -> Self {
        self.scope.timeline.push(TimelineEntry {
            date: date(day),
            versions: versions.iter().map(|(v, c)| (v.to_string(), *c)).collect(),
            pos: Pos::default(),
        });
        self
    }

    /// The finished scope.
    pub(crate) fn build(self) -> Arc<Scope> {
        Arc::new(self.scope)
    }
}

/// What a [`TestProbe`] does when run.
#[derive(Clone, Debug)]
pub(crate) enum Behaviour {
    /// Passes every requested testcase (reason lists the parameters it saw).
    Pass,
    /// Sleeps this long (or until cancelled, when `obey_cancel`), then passes.
    Sleep {
        duration: std::time::Duration,
        obey_cancel: bool,
    },
    /// Panics with this message.
    Panic(&'static str),
    /// Returns no outcomes, plus one for an id nobody asked for.
    Omit,
}

/// A probe for tests.
pub(crate) struct TestProbe {
    pub(crate) name: String,
    pub(crate) ids: Vec<String>,
    pub(crate) behaviour: Behaviour,
}

impl TestProbe {
    /// A probe answering `ids`.
    pub(crate) fn new(name: &str, ids: &[&str], behaviour: Behaviour) -> Arc<Self> {
        Arc::new(TestProbe {
            name: name.into(),
            ids: ids.iter().map(|s| s.to_string()).collect(),
            behaviour,
        })
    }
}

impl crate::probes::Probe for TestProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn testcases(&self) -> Vec<String> {
        self.ids.clone()
    }
    fn run<'a>(
        &'a self,
        ctx: &'a crate::probes::ProbeContext,
        testcases: &'a [String],
    ) -> futures::future::BoxFuture<'a, Vec<crate::probes::Outcome>> {
        use crate::probes::Outcome;
        Box::pin(async move {
            match &self.behaviour {
                Behaviour::Pass => {}
                Behaviour::Sleep {
                    duration,
                    obey_cancel,
                } => {
                    if *obey_cancel {
                        tokio::select! {
                            _ = tokio::time::sleep(*duration) => {}
                            _ = ctx.cancel.cancelled() => {
                                return testcases
                                    .iter()
                                    .map(|t| Outcome::abort(t, "cancelled"))
                                    .collect();
                            }
                        }
                    } else {
                        tokio::time::sleep(*duration).await;
                    }
                }
                Behaviour::Panic(msg) => panic!("{msg}"),
                Behaviour::Omit => return vec![Outcome::pass("not-requested", "extra")],
            }
            testcases
                .iter()
                .map(|t| Outcome::pass(t, format!("params {:?}", ctx.parameters)))
                .collect()
        })
    }
}
