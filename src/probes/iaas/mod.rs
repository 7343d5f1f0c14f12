//! Native probes for the IaaS standards, one file per standard.

pub mod common;
pub mod scs_0102_image_metadata;
pub mod scs_0104_standard_images;
#[cfg(test)]
pub(crate) mod testing;

use super::Registry;

/// Registers every IaaS probe.
pub fn register(registry: &mut Registry) {
    registry.register(scs_0102_image_metadata::probe());
    registry.register(scs_0104_standard_images::probe());
}
