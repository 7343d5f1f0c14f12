//! Native probes for the KaaS standards, one file per standard: the version policy
//! (scs-0210-v2), the sonobuoy-driven conformance (scs-0201) and networking (scs-0219) checks,
//! and the informational node-distribution (scs-0214-v2) and default-storage-class (scs-0211)
//! probes; the built-in release/CVE snapshot and its generation.

use super::Registry;

pub mod scs_0201_cncf_conformance;
pub mod scs_0210_version_policy;
pub mod scs_0211_default_storage_class;
pub mod scs_0214_node_distribution;
pub mod scs_0219_networking;
pub mod snapshot;
pub mod sonobuoy;
#[cfg(test)]
mod tests;

/// Registers every KaaS probe.
pub fn register(registry: &mut Registry) {
    // cncf-k8s-conformance (scs-0201) and kaas-networking-check (scs-0219): one probe, one
    // Sonobuoy pass for both.
    registry.register_creating(sonobuoy::probe());
    scs_0210_version_policy::register(registry);
    scs_0211_default_storage_class::register(registry);
    scs_0214_node_distribution::register(registry);
}
