//! Native probes for the IaaS standards, one file per standard.

pub mod common;
pub mod scs_0100_flavor_naming;
pub mod scs_0103_standard_flavors;

use super::Registry;

/// Registers every IaaS probe.
pub fn register(registry: &mut Registry) {
    registry.register(scs_0100_flavor_naming::probe());
    registry.register(scs_0103_standard_flavors::probe());
}
