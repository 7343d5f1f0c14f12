//! Native probes for the IaaS standards, one file per standard.

pub mod common;

use super::Registry;

/// Registers every IaaS probe.
pub fn register(_registry: &mut Registry) {}
