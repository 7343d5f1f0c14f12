//! scs-check: a conformance test suite for the Sovereign Cloud Stack (SCS) standards.
//!
//! One run is a pipeline that can be read top to bottom:
//!
//! ```text
//! cli ──► spec::load ──► plan::resolve ──► execute::run ──► report::write
//! ```
//!
//! - [`spec`] reads scope files (all three historical formats) into one model and validates them.
//! - [`plan`] selects versions on a date, applies filters and variables, and lists the work.
//! - [`execute`] runs native probes and external scripts concurrently, with timeouts and cancellation.
//! - [`report`] turns results into the monitor's YAML report and JSON, JUnit and Markdown.
//! - [`cert`] signs, verifies and uploads reports, runs batches and computes score cards.
//! - [`deploy`] generates the Kubernetes manifests that run a batch in shards on a cluster.
//! - [`probes`] holds the native probes, registered by testcase id.
//! - [`outcome`] holds the result types probes and the executor produce and the report renders;
//!   [`exit`] maps a run's result to the exit code.
//! - [`openstack`] and [`kube`] are the API clients; [`sim`] the simulated cloud and cluster.
//! - [`retry`] is the one retry policy (attempts, backoff, `Retry-After`, deadline) of the
//!   OpenStack client, the report upload and the resource cleanup.
//!
//! Which module may import which is fixed in `docs/architecture.md` ("Layers") and enforced by
//! `tests/layering.rs`.

pub mod cert;
pub mod cli;
pub mod deploy;
pub mod execute;
pub mod exit;
pub mod flavor_name;
pub mod http;
pub mod kube;
pub mod openstack;
pub mod outcome;
pub mod plan;
pub mod probes;
pub mod report;
pub mod retry;
pub mod sim;
pub mod spec;
pub mod terminal;
pub mod verdict;
