//! Kubernetes version numbers: [`Version`] (`major.minor.patch`), its release [`Branch`], and the
//! parsers for the reference's strict syntax ([`parse_version`]), release tags ([`parse_tag`]) and
//! a cluster's `gitVersion` with vendor suffixes ([`parse_cluster_version`]). Shared by the
//! version-policy probe and the simulated cluster.

use std::fmt;

/// A Kubernetes version `major.minor.patch`; `1.2` equals `1.2.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major.
    pub major: u64,
    /// Minor.
    pub minor: u64,
    /// Patch.
    pub patch: u64,
}

impl Version {
    /// A version from its parts.
    pub const fn new(major: u64, minor: u64, patch: u64) -> Self {
        Version {
            major,
            minor,
            patch,
        }
    }
    /// The release branch `major.minor`.
    pub fn branch(&self) -> Branch {
        Branch {
            major: self.major,
            minor: self.minor,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// A release branch `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Branch {
    /// Major.
    pub major: u64,
    /// Minor.
    pub minor: u64,
}

impl fmt::Display for Branch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The reference's strict version syntax: trimmed, one optional leading `v`, build info after
/// `+` dropped, then exactly `int.int.int` (`int.int` is read as `int.int.0`).
pub fn parse_version(text: &str) -> Result<Version, String> {
    let t = text.trim();
    let t = t.strip_prefix('v').unwrap_or(t);
    let t = t.split('+').next().unwrap_or("");
    let parts: Vec<&str> = t.split('.').collect();
    let num = |s: &str| -> Result<u64, String> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "`{}` is not a version of the form X.Y.Z",
                text.trim()
            ));
        }
        s.parse::<u64>()
            .map_err(|_| format!("`{}`: number too large", text.trim()))
    };
    match parts.as_slice() {
        [a, b] => Ok(Version::new(num(a)?, num(b)?, 0)),
        [a, b, c] => Ok(Version::new(num(a)?, num(b)?, num(c)?)),
        _ => Err(format!(
            "`{}` is not a version of the form X.Y.Z",
            text.trim()
        )),
    }
}

/// The version of a release tag: the text before the first `-` (`v1.29.3-dev0` → 1.29.3).
pub fn parse_tag(tag: &str) -> Result<Version, String> {
    parse_version(tag.split('-').next().unwrap_or(""))
}

/// The cluster's `gitVersion`, also with vendor suffixes (`v1.31.2-eks-113cf36`,
/// `v1.30.4+k3s1`, `v1.29.8-gke.1031000`). Returns the version and, when a suffix was dropped
/// that the reference would have rejected, a note saying so. Pre-releases (`-alpha`, `-beta`,
/// `-rc`) stay an error: they come before the version they name.
pub fn parse_cluster_version(text: &str) -> Result<(Version, Option<String>), String> {
    if let Ok(v) = parse_version(text) {
        return Ok((v, None));
    }
    let t = text.trim();
    let core = t
        .strip_prefix('v')
        .unwrap_or(t)
        .split('+')
        .next()
        .unwrap_or("");
    let Some((base, suffix)) = core.split_once('-') else {
        return Err(format!("`{t}` is not a version of the form X.Y.Z"));
    };
    let lower = suffix.to_ascii_lowercase();
    if ["alpha", "beta", "rc"].iter().any(|p| {
        lower.starts_with(p)
            && lower[p.len()..].starts_with(|c: char| c == '.' || c.is_ascii_digit())
    }) {
        return Err(format!(
            "`{t}` is a pre-release; the version policy applies to released versions"
        ));
    }
    let v = parse_version(base).map_err(|_| format!("`{t}` is not a version of the form X.Y.Z"))?;
    Ok((
        v,
        Some(format!(
            "vendor suffix `-{suffix}` of `{t}` ignored; judged as {v} (the reference suite aborts here)"
        )),
    ))
}
