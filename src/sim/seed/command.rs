//! `scs-check seed`: the safety checks (only a Keystone on a loopback address counts as a test
//! bed unless forced; deletions only with `--yes`), the list of what seeding would delete, and
//! the run that prints each change and the summary.

use super::images::{list_all_images, match_images};
use super::{SeedError, SeedOptions, SeedSummary, api, seed, str_of};
use crate::openstack::Client;
use crate::openstack::OpenStackError;
use crate::sim::fixture::Fixture;
use serde_json::Value;
use std::collections::HashSet;

/// The safety switches of `scs-check seed`: seeding deletes every flavor, image and volume
/// type the fixture does not name, so it acts only on what is clearly a test bed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Safety {
    /// `--yes`: the user confirmed the deletions.
    pub yes: bool,
    /// `--force`: seed even a cloud whose Keystone is not on a loopback address.
    pub force: bool,
    /// `--dry-run`: only say what would be deleted.
    pub dry_run: bool,
}

/// Whether `auth_url` points at this machine (`localhost`, `127.0.0.0/8`, `::1`).
pub fn is_loopback_url(auth_url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(auth_url) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            let name = host.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    }
}

/// `scs-check seed FIXTURE --os-cloud CLOUD --yes`: loads the fixture (a file, or `compliant`
/// for the built-in one), refuses a cloud whose Keystone is not on a loopback address (unless
/// `force`), logs in to `cloud` from clouds.yaml (or `OS_CLOUD`), lists what seeding would
/// delete and prints it; then seeds only with `yes` and not `dry_run`. Prints one line per
/// change and a summary through `println` (the command line passes its pipe-safe writer; the
/// simulator does not depend on the command line).
pub async fn command(
    fixture: &str,
    cloud: Option<&str>,
    project: Option<&str>,
    safety: Safety,
    println: fn(&str),
) -> Result<SeedSummary, SeedError> {
    let loaded = if !std::path::Path::new(fixture).exists() && fixture == "compliant" {
        Fixture::from_yaml(
            include_str!("../../../fixtures/clouds/compliant.yaml"),
            "<built-in compliant cloud>",
        )?
    } else {
        Fixture::load(fixture)?
    };
    let config = crate::openstack::load_cloud(cloud)
        .map_err(|e| SeedError::Connect(OpenStackError::Config(e)))?;
    let auth_url = config.auth.auth_url.clone();
    if !safety.force && !is_loopback_url(&auth_url) {
        return Err(SeedError::Refused(format!(
            "seed deletes every flavor, image and volume type the fixture does not name; \
             {auth_url} is not a loopback address, so this does not look like a test bed \
             (add --force if it is one)"
        )));
    }
    let client = Client::connect(config).await.map_err(SeedError::Connect)?;
    let doomed = planned_deletions(&client, &loaded).await?;
    if doomed.is_empty() {
        println(&format!("{auth_url}: nothing to delete"));
    } else {
        println(&format!(
            "{auth_url}: seeding deletes {} the fixture \"{}\" does not name:",
            crate::terminal::count(doomed.len(), "object"),
            loaded.name
        ));
        for item in &doomed {
            println(&format!("  {item}"));
        }
    }
    if safety.dry_run {
        println("dry run: nothing was changed");
        return Ok(SeedSummary::default());
    }
    if !safety.yes && !doomed.is_empty() {
        return Err(SeedError::Refused(format!(
            "not seeding {auth_url} without --yes (it deletes the {} listed above)",
            crate::terminal::count(doomed.len(), "object")
        )));
    }
    if !safety.yes {
        return Err(SeedError::Refused(format!(
            "not seeding {auth_url} without --yes"
        )));
    }
    let options = SeedOptions {
        project: project.map(str::to_string),
    };
    let summary = seed(&client, &loaded, &options).await?;
    for (verb, list) in [
        ("deleted", &summary.deleted),
        ("created", &summary.created),
        ("updated", &summary.updated),
    ] {
        for item in list {
            println(&format!("{verb} {item}"));
        }
    }
    for note in &summary.notes {
        println(&format!("note: {note}"));
    }
    println(&format!("seeded fixture \"{}\": {summary}", loaded.name));
    Ok(summary)
}

/// What [`seed`] would delete on this cloud (it only lists): flavors and volume types the
/// fixture does not name, and images that match no image of the fixture.
pub async fn planned_deletions(
    client: &Client,
    fixture: &Fixture,
) -> Result<Vec<String>, SeedError> {
    let mut out = Vec::new();
    let flavors = client
        .list("compute", "/flavors/detail?is_public=None", "flavors")
        .await
        .map_err(api("list flavors"))?;
    let wanted: HashSet<&str> = fixture.flavors.iter().map(|f| f.name.as_str()).collect();
    for e in &flavors {
        let name = str_of(e, "name");
        if !wanted.contains(name.as_str()) {
            out.push(format!("flavor {name}"));
        }
    }
    let existing = list_all_images(client).await?;
    let used = match_images(&existing, &fixture.images, chrono::Utc::now());
    for (e, used) in existing.iter().zip(used) {
        if !used {
            out.push(format!("image {}", str_of(e, "name")));
        }
    }
    let listing = client
        .get_json("block-storage", "/types?is_public=None")
        .await
        .map_err(api("list volume types"))?;
    let wanted: HashSet<&str> = fixture
        .volume_types
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    for e in listing
        .get("volume_types")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = str_of(e, "name");
        if !wanted.contains(name.as_str()) {
            out.push(format!("volume type {name}"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_keystones_count_as_test_beds() {
        for url in [
            "http://127.0.0.1:5000/v3",
            "http://127.9.9.9/identity",
            "https://localhost:5000/v3",
            "http://[::1]:5000/v3",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "https://keystone.example.com:5000/v3",
            "http://10.0.0.1:5000",
            "http://localhost.example.com/",
            "not a url",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }
}
