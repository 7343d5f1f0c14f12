//! The external programs that some probes orchestrate (Tempest, Sonobuoy): finding them (the
//! path the user configured, else the first match in `PATH`, else the extra places a tool's own
//! installer uses; one lookup, so every such probe reports a missing tool the same way), and
//! stopping a run of one with everything it spawned (its process group).

use std::path::{Path, PathBuf};

/// The binary `name`: `configured` when given (it must exist), else `name` in a `PATH`
/// directory, else `name` in one of `extra_dirs`. The error names where it looked and ends
/// with `install_hint`.
pub fn find_tool(
    name: &str,
    configured: Option<&Path>,
    extra_dirs: &[(&str, PathBuf)],
    install_hint: &str,
) -> Result<PathBuf, String> {
    if let Some(p) = configured {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(format!(
                "{name} binary {} not found; {install_hint}",
                p.display()
            ))
        };
    }
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    if let Some(found) = path_dirs
        .iter()
        .chain(extra_dirs.iter().map(|(_, dir)| dir))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
    {
        return Ok(found);
    }
    let places: Vec<&str> = std::iter::once("PATH")
        .chain(extra_dirs.iter().map(|(shown, _)| *shown))
        .collect();
    Err(format!(
        "{name} not found in {}; {install_hint}",
        places.join(" or ")
    ))
}

/// Starts `cmd` (the tool at `bin`, its arguments and output pipes already set) with no
/// standard input, killed when dropped, as the leader of its own process group, so that
/// [`kill_group`] stops everything it spawns. The error names the binary.
pub fn spawn_in_own_group(
    cmd: &mut tokio::process::Command,
    bin: &Path,
) -> Result<tokio::process::Child, String> {
    cmd.stdin(std::process::Stdio::null()).kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    cmd.spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))
}

/// Kills the process group `pgid` with SIGKILL: a tool started as the leader of its own group
/// (`process_group(0)`) goes with everything it spawned. Nothing happens off Unix.
pub fn kill_group(pgid: u32) {
    #[cfg(unix)]
    // SAFETY: killpg only sends a signal to the process group we created for the child.
    unsafe {
        libc::killpg(pgid as libc::pid_t, libc::SIGKILL);
    }
    #[cfg(not(unix))]
    let _ = pgid;
}

/// Kills the process group that `child` leads (see [`kill_group`]); nothing when it has ended.
pub fn kill_child_group(child: &tokio::process::Child) {
    if let Some(pid) = child.id() {
        kill_group(pid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_extra_dirs_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("some-tool-xyz");
        std::fs::write(&tool, "").unwrap();
        assert_eq!(find_tool("x", Some(&tool), &[], "hint"), Ok(tool.clone()));
        let err = find_tool("x", Some(&dir.path().join("nope")), &[], "hint").unwrap_err();
        assert!(
            err.starts_with("x binary ") && err.ends_with("not found; hint"),
            "{err}"
        );
        let extra = [("~/extra", dir.path().to_path_buf())];
        assert_eq!(find_tool("some-tool-xyz", None, &extra, "hint"), Ok(tool));
        let err = find_tool("no-such-tool-xyz", None, &extra, "hint").unwrap_err();
        assert_eq!(err, "no-such-tool-xyz not found in PATH or ~/extra; hint");
    }
}
