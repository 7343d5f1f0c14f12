//! OpenStack API client: clouds.yaml discovery, Keystone v3, the catalog, paging, retries and the
//! per-run snapshot shared by all probes. Knows no standard.
