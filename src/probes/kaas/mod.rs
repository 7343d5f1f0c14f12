//! Native probes for the KaaS standards, one file per standard.

use super::Registry;

/// Registers every KaaS probe.
pub fn register(_registry: &mut Registry) {}
