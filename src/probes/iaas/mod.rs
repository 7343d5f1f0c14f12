//! Native probes for the IaaS standards, one file per standard.

pub mod common;
pub mod creating;
#[cfg(test)]
mod interruption_tests;
pub mod scs_0100_flavor_naming;
pub mod scs_0101_entropy;
pub mod scs_0102_image_metadata;
pub mod scs_0103_standard_flavors;
pub mod scs_0104_standard_images;
pub mod scs_0114_volume_types;
pub mod scs_0115_default_security_group_rules;
pub mod scs_0116_key_manager;
pub mod scs_0117_volume_backup;
pub mod scs_0123_services;
pub mod scs_0125_secure_connections;
pub mod scs_0128_tempest;
pub mod scs_0302_domain_manager;
pub mod sigv4;
pub mod subunit;
pub mod tempest_judge;
#[cfg(test)]
pub(crate) mod testing;

use super::Registry;

/// Registers every IaaS probe.
pub fn register(registry: &mut Registry) {
    registry.register(scs_0100_flavor_naming::probe());
    registry.register_creating(scs_0101_entropy::probe());
    registry.register(scs_0102_image_metadata::probe());
    registry.register(scs_0103_standard_flavors::probe());
    registry.register(scs_0104_standard_images::probe());
    registry.register(scs_0114_volume_types::probe());
    registry.register_creating(scs_0115_default_security_group_rules::probe());
    registry.register(scs_0116_key_manager::presence_probe());
    registry.register_creating(scs_0116_key_manager::permissions_probe());
    registry.register_creating(scs_0117_volume_backup::probe());
    registry.register(scs_0123_services::probe());
    registry.register(scs_0125_secure_connections::probe());
    registry.register_creating(scs_0302_domain_manager::probe());
    scs_0128_tempest::register(registry);
}
