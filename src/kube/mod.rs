//! Kubernetes API access for the KaaS probes. Knows no standard.
