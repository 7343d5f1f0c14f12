//! The one in-memory model every scope-file format is read into.
//!
//! Field meanings follow the upstream format (scs-0003-v1); see `docs/scope-format.md`.

use chrono::NaiveDate;
use indexmap::IndexMap;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// The prefix of an `executable` that names built-in (native) probes instead of a program,
/// e.g. `executable: builtin:iaas`. Our extension of the format; see `docs/scope-format.md`.
pub const BUILTIN_PREFIX: &str = "builtin:";

/// A place in a source file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Which historical layout a scope file used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// 2023 to 2024-06: `versions → standards → checks`.
    A,
    /// 2024-06 to 2026-01: modules with `run`/`testcases`, tag-selector targets.
    B,
    /// Since 2026-01: `scripts`, `modules` with targets, `versions` with `include`, `timeline`.
    C,
}

/// Where a scope came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Built into the binary under this short name (`iaas`, `kaas`).
    Builtin(String),
    /// A file on disk.
    File(PathBuf),
    /// Downloaded from this http(s) URL.
    Url(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Builtin(name) => write!(f, "<built-in {name}>"),
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Url(url) => f.write_str(url),
        }
    }
}

/// How long a result stays valid in the compliance monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lifetime {
    /// Until the end of the next day.
    Day,
    /// Until the end of the next week (the default).
    #[default]
    Week,
    /// Until the end of the next month.
    Month,
    /// Until the end of the next quarter.
    Quarter,
    /// Until the end of the following month, one year later.
    Year,
}

impl Lifetime {
    /// Parses the scope-file word.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "day" => Lifetime::Day,
            "week" => Lifetime::Week,
            "month" => Lifetime::Month,
            "quarter" => Lifetime::Quarter,
            "year" => Lifetime::Year,
            _ => return None,
        })
    }

    /// The scope-file word.
    pub fn as_str(self) -> &'static str {
        match self {
            Lifetime::Day => "day",
            Lifetime::Week => "week",
            Lifetime::Month => "month",
            Lifetime::Quarter => "quarter",
            Lifetime::Year => "year",
        }
    }
}

/// A validity code of the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Validity {
    /// Can be certified against.
    Effective,
    /// Can be certified against, but is about to expire.
    Warn,
    /// Can be tested, not certified; need not be stable.
    Draft,
    /// Can be tested, not certified.
    Deprecated,
}

impl Validity {
    /// Parses the scope-file word.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "effective" => Validity::Effective,
            "warn" => Validity::Warn,
            "draft" => Validity::Draft,
            "deprecated" => Validity::Deprecated,
            _ => return None,
        })
    }

    /// The scope-file word.
    pub fn as_str(self) -> &'static str {
        match self {
            Validity::Effective => "effective",
            Validity::Warn => "warn",
            Validity::Draft => "draft",
            Validity::Deprecated => "deprecated",
        }
    }

    /// Whether a passing result on a version with this validity certifies the subject.
    pub fn certifies(self) -> bool {
        matches!(self, Validity::Effective | Validity::Warn)
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A loaded certificate scope.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Scope identity, keyed on by the monitor.
    pub uuid: String,
    /// Display name, e.g. "SCS-compatible IaaS".
    pub name: String,
    /// Address of the scope file, copied into reports.
    pub url: String,
    /// Names of the variables a run needs values for, in file order.
    pub variables: Vec<String>,
    /// Defaults of those variables that have one.
    pub defaults: IndexMap<String, String>,
    /// Scripts in file order; each lists the testcases it reports on.
    pub scripts: Vec<Script>,
    /// Every testcase, by id, in file order.
    pub testcases: IndexMap<String, Testcase>,
    /// Modules by id, in file order.
    pub modules: IndexMap<String, Module>,
    /// Versions in file order (newest first by convention).
    pub versions: Vec<Version>,
    /// Timeline entries in file order.
    pub timeline: Vec<TimelineEntry>,
    /// Where the scope came from.
    pub origin: Origin,
    /// The directory scripts run in and relative executables resolve against
    /// (`None` for built-in and downloaded scopes).
    pub base_dir: Option<PathBuf>,
    /// The format the file was written in.
    pub format: Format,
}

impl Scope {
    /// Looks a version up by name.
    pub fn version(&self, name: &str) -> Option<&Version> {
        self.versions.iter().find(|v| v.name == name)
    }
}

/// How a script's testcases are produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runner {
    /// An executable, as written in the file (relative to the scope file's directory).
    Executable(String),
    /// Native probes of this binary (`executable: builtin:NAME`).
    Builtin(String),
    /// No executable: the testcases are checked by hand.
    Manual,
}

/// A script: one executable (or the built-in probes, or nobody) and the testcases it reports.
#[derive(Debug, Clone)]
pub struct Script {
    /// What produces the verdicts.
    pub runner: Runner,
    /// The `args` template (substituted, then shell-split).
    pub args: Option<String>,
    /// Environment templates overlaid on the runner's environment.
    pub env: IndexMap<String, String>,
    /// Ids of the testcases this script reports on, in file order.
    pub testcases: Vec<String>,
    /// Where the script was declared.
    pub pos: Pos,
}

/// A testcase: the unit that gets a verdict.
#[derive(Debug, Clone)]
pub struct Testcase {
    /// Globally unique id.
    pub id: String,
    /// How long a result stays valid.
    pub lifetime: Lifetime,
    /// Free label used by `--sections` (`light`, `heavy`, ...).
    pub section: Option<String>,
    /// Short markdown description, shown for non-passing testcases.
    pub description: Option<String>,
    /// Documentation link.
    pub url: Option<String>,
    /// Index into [`Scope::scripts`].
    pub script: usize,
    /// Tags (format B only; used to resolve selector targets).
    pub tags: Vec<String>,
    /// Where the testcase was declared.
    pub pos: Pos,
}

/// A module: a named group of targets, roughly one standard version.
#[derive(Debug, Clone)]
pub struct Module {
    /// Unique id that versions include.
    pub id: String,
    /// Display name.
    pub name: Option<String>,
    /// Documentation link.
    pub url: Option<String>,
    /// Target name → testcase ids.
    pub targets: IndexMap<String, Vec<String>>,
    /// Parameter name → human description.
    pub parameters: IndexMap<String, String>,
    /// Where the module was declared.
    pub pos: Pos,
}

/// One inclusion of a module into a version, with parameter values.
#[derive(Debug, Clone)]
pub struct Include {
    /// Module id.
    pub module: String,
    /// Parameter values given with the include.
    pub parameters: IndexMap<String, String>,
    /// Where the include was written.
    pub pos: Pos,
}

/// A version of the scope.
#[derive(Debug, Clone)]
pub struct Version {
    /// Unique name, e.g. `v5.1` or `next`.
    pub name: String,
    /// When the version became stable; `None` for drafts.
    pub stabilized_at: Option<NaiveDate>,
    /// Modules included, in file order.
    pub includes: Vec<Include>,
    /// Derived: target name → sorted testcase ids, the union over all included modules.
    pub targets: BTreeMap<String, Vec<String>>,
    /// Where the version was declared.
    pub pos: Pos,
}

impl Version {
    /// The include parameters that apply to a testcase of this version
    /// (merged over every include whose module lists the testcase in some target).
    pub fn parameters_for(&self, scope: &Scope, testcase: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for inc in &self.includes {
            let Some(module) = scope.modules.get(&inc.module) else {
                continue;
            };
            if module
                .targets
                .values()
                .any(|ids| ids.iter().any(|id| id == testcase))
            {
                for (k, v) in &inc.parameters {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        out
    }
}

/// One dated row of the timeline: from `date` on (until a later entry), these versions have
/// these validity codes; versions not listed are deprecated.
#[derive(Debug, Clone)]
pub struct TimelineEntry {
    /// First day this entry applies.
    pub date: NaiveDate,
    /// Version name → validity code, in file order.
    pub versions: IndexMap<String, Validity>,
    /// Where the entry was declared.
    pub pos: Pos,
}
