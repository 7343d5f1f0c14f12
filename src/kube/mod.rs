//! Kubernetes API access for the KaaS probes: kubeconfig discovery (`--kubeconfig`,
//! `-a kubeconfig=PATH`, `KUBECONFIG`), context selection, the connected [`Cluster`] handle that
//! probes share, and the settings of the KaaS tools (the `sonobuoy` binary, where the version
//! policy gets its release and CVE data). Knows no standard.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use kube::Client;

pub mod version;

/// Why a cluster cannot be reached. Each message is one line naming the file or endpoint.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// No kubeconfig path from any source.
    #[error(
        "no kubeconfig: give one with --kubeconfig PATH, -a kubeconfig=PATH or the KUBECONFIG variable"
    )]
    NoKubeconfig,
    /// The kubeconfig file does not exist.
    #[error("kubeconfig {0}: no such file")]
    MissingFile(PathBuf),
    /// The kubeconfig file cannot be read or parsed.
    #[error("kubeconfig {path}: {message}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The requested (or current) context is not in the file.
    #[error("kubeconfig {path}: no context named `{context}` (contexts: {available})")]
    MissingContext {
        /// The file.
        path: PathBuf,
        /// The context asked for.
        context: String,
        /// The contexts the file has, comma-separated.
        available: String,
    },
    /// The file names no current context and none was given.
    #[error("kubeconfig {0}: no current-context set; choose one with --context NAME")]
    NoCurrentContext(PathBuf),
    /// The client could not be built (bad certificates, bad server URL, ...).
    #[error("kubeconfig {path}, context `{context}`: {message}")]
    Client {
        /// The file.
        path: PathBuf,
        /// The context.
        context: String,
        /// What failed.
        message: String,
    },
    /// The API server does not answer `/version`.
    #[error("API server {server} (context `{context}`) is unreachable: {message}")]
    Unreachable {
        /// The server URL.
        server: String,
        /// The context.
        context: String,
        /// What failed.
        message: String,
    },
}

/// Picks the kubeconfig path: the flag, then `-a kubeconfig=`, then `KUBECONFIG` (its first
/// entry when it lists several files).
pub fn kubeconfig_path(
    flag: Option<&Path>,
    assigned: Option<&str>,
    env: Option<&str>,
) -> Result<PathBuf, KubeError> {
    if let Some(path) = flag {
        return Ok(path.to_path_buf());
    }
    if let Some(path) = assigned.filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    if let Some(list) = env.filter(|p| !p.is_empty()) {
        let sep = if cfg!(windows) { ';' } else { ':' };
        if let Some(first) = list.split(sep).find(|p| !p.is_empty()) {
            return Ok(PathBuf::from(first));
        }
    }
    Err(KubeError::NoKubeconfig)
}

/// Receives progress lines of long-running KaaS checks (sonobuoy status).
pub type ProgressSink = std::sync::Arc<dyn Fn(String) + Send + Sync>;

/// Where the version policy gets its data and how the sonobuoy checks run. Defaults are the
/// public endpoints; tests and the simulator point them elsewhere.
#[derive(Clone)]
pub struct KaasOptions {
    /// Base URL of the GitHub API (`https://api.github.com`).
    pub github_api: String,
    /// Optional GitHub token (`GITHUB_TOKEN`), raises the rate limit.
    pub github_token: Option<String>,
    /// URL of the official Kubernetes CVE feed (JSON feed).
    pub cve_feed: String,
    /// Base URL of CVE records; the id is appended (`.../api/cve/CVE-2024-1234`).
    pub cve_record_base: String,
    /// At most this many pages of GitHub releases are read; a listing with more pages (or a
    /// `next` link that repeats a page) is an error, never a silently shortened list.
    pub github_page_limit: usize,
    /// Directory for cached downloads (`None`: no cache).
    pub cache_dir: Option<PathBuf>,
    /// Use the cache or the built-in snapshot; no downloads.
    pub offline: bool,
    /// The `sonobuoy` binary (`None`: look in PATH, then `~/.local/bin`).
    pub sonobuoy: Option<PathBuf>,
    /// Overall limit for one sonobuoy-driven check (`None`: the probe's own timeout).
    pub sonobuoy_timeout: Option<Duration>,
    /// How often `sonobuoy status --json` is polled while the run goes on.
    pub sonobuoy_poll: Duration,
    /// Where progress lines go (`None`: nowhere).
    pub progress: Option<ProgressSink>,
}

impl std::fmt::Debug for KaasOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KaasOptions")
            .field("github_api", &self.github_api)
            .field("cve_feed", &self.cve_feed)
            .field("cve_record_base", &self.cve_record_base)
            .field("github_page_limit", &self.github_page_limit)
            .field("cache_dir", &self.cache_dir)
            .field("offline", &self.offline)
            .field("sonobuoy", &self.sonobuoy)
            .finish()
    }
}

impl Default for KaasOptions {
    fn default() -> Self {
        KaasOptions {
            github_api: "https://api.github.com".into(),
            github_token: None,
            cve_feed:
                "https://kubernetes.io/docs/reference/issues-security/official-cve-feed/index.json"
                    .into(),
            cve_record_base: "https://cveawg.mitre.org/api/cve".into(),
            github_page_limit: 100,
            cache_dir: default_cache_dir(),
            offline: false,
            sonobuoy: None,
            sonobuoy_timeout: None,
            sonobuoy_poll: Duration::from_secs(30),
            progress: None,
        }
    }
}

/// `$XDG_CACHE_HOME/scs-check/kaas`, else `~/.cache/scs-check/kaas`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("scs-check").join("kaas"))
}

/// The cluster under test and the KaaS tool settings, shared by every KaaS probe of a run.
#[derive(Clone)]
pub struct Cluster {
    /// The API client (`None` when only the tools are configured, e.g. in `sonobuoy-judge`).
    pub client: Option<Client>,
    /// The kubeconfig file.
    pub kubeconfig: PathBuf,
    /// The context in use.
    pub context: String,
    /// The API server URL.
    pub server: String,
    /// Tool and data settings.
    pub options: KaasOptions,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("kubeconfig", &self.kubeconfig)
            .field("context", &self.context)
            .field("server", &self.server)
            .finish()
    }
}

impl Cluster {
    /// Loads the kubeconfig, selects `context` (default: the current one), builds a client and
    /// checks that the API server answers `/version`.
    pub async fn connect(
        kubeconfig: &Path,
        context: Option<&str>,
        options: KaasOptions,
    ) -> Result<Cluster, KubeError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        if !kubeconfig.exists() {
            return Err(KubeError::MissingFile(kubeconfig.to_path_buf()));
        }
        let file =
            kube::config::Kubeconfig::read_from(kubeconfig).map_err(|e| KubeError::BadFile {
                path: kubeconfig.to_path_buf(),
                message: one_line(&e),
            })?;
        let chosen = match context {
            Some(c) => c.to_string(),
            None => file
                .current_context
                .clone()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| KubeError::NoCurrentContext(kubeconfig.to_path_buf()))?,
        };
        if !file.contexts.iter().any(|c| c.name == chosen) {
            let names: Vec<&str> = file.contexts.iter().map(|c| c.name.as_str()).collect();
            return Err(KubeError::MissingContext {
                path: kubeconfig.to_path_buf(),
                context: chosen,
                available: if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                },
            });
        }
        let opts = kube::config::KubeConfigOptions {
            context: Some(chosen.clone()),
            ..Default::default()
        };
        let client_err = |message: String| KubeError::Client {
            path: kubeconfig.to_path_buf(),
            context: chosen.clone(),
            message,
        };
        let mut config = kube::Config::from_custom_kubeconfig(file, &opts)
            .await
            .map_err(|e| client_err(one_line(&e)))?;
        config.connect_timeout = Some(Duration::from_secs(10));
        config.read_timeout = Some(Duration::from_secs(60));
        let server = config.cluster_url.to_string();
        let client = Client::try_from(config).map_err(|e| client_err(one_line(&e)))?;
        if let Err(e) = client.apiserver_version().await {
            return Err(KubeError::Unreachable {
                server,
                context: chosen,
                message: one_line(&e),
            });
        }
        Ok(Cluster {
            client: Some(client),
            kubeconfig: kubeconfig.to_path_buf(),
            context: chosen,
            server,
            options,
        })
    }

    /// A handle without API access, for tools that only need the settings.
    pub fn offline(kubeconfig: PathBuf, options: KaasOptions) -> Cluster {
        Cluster {
            client: None,
            kubeconfig,
            context: String::new(),
            server: String::new(),
            options,
        }
    }

    /// The client, or the reason there is none.
    pub fn client(&self) -> Result<&Client, String> {
        self.client
            .as_ref()
            .ok_or_else(|| "no Kubernetes API client in this run".to_string())
    }
}

/// An error and its sources on one line.
pub fn one_line(err: &dyn std::error::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ").replace('\n', " ")
}

/// Writes a minimal kubeconfig for a plain-HTTP API server without authentication (the
/// simulator) and returns its text.
pub fn kubeconfig_for(server: &str, context: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {context}\n  cluster:\n    server: {server}\n\
         contexts:\n- name: {context}\n  context:\n    cluster: {context}\n    user: {context}\n    namespace: default\n\
         current-context: {context}\nusers:\n- name: {context}\n  user: {{}}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny HTTP CONNECT proxy on 127.0.0.1 (threads, no runtime); returns its URL and the
    /// number of tunnels it opened.
    pub(crate) fn connect_proxy() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tunnels = count.clone();
        std::thread::spawn(move || {
            for inbound in listener.incoming() {
                let Ok(mut inbound) = inbound else { return };
                let tunnels = tunnels.clone();
                std::thread::spawn(move || {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                        if inbound.read_exact(&mut byte).is_err() {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&head).to_string();
                    let target = head
                        .strip_prefix("CONNECT ")
                        .and_then(|r| r.split_whitespace().next());
                    let Some(Ok(outbound)) = target.map(std::net::TcpStream::connect) else {
                        let _ = inbound.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
                        return;
                    };
                    tunnels.fetch_add(1, Ordering::SeqCst);
                    let _ = inbound.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
                    let (mut a, mut b) =
                        (inbound.try_clone().unwrap(), outbound.try_clone().unwrap());
                    let (mut inbound, mut outbound) = (inbound, outbound);
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut a, &mut outbound);
                        let _ = outbound.shutdown(std::net::Shutdown::Write);
                    });
                    let _ = std::io::copy(&mut b, &mut inbound);
                    let _ = inbound.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        (url, count)
    }

    /// Issue 11 (5.6): a kubeconfig with `proxy-url` (the same code path as `HTTPS_PROXY`)
    /// connects through the proxy instead of failing with "requires the disabled feature
    /// kube/http-proxy".
    #[tokio::test]
    async fn kubeconfig_proxy_url_connects_through_the_proxy() {
        let fixture = crate::sim::cluster::ClusterFixture::from_yaml(
            "name: proxied\nversion: v1.35.3\n",
            "t",
        )
        .unwrap();
        let sim = crate::sim::cluster::ClusterHandle::start(fixture, None)
            .await
            .unwrap();
        let (proxy, tunnels) = connect_proxy();
        let text = sim.kubeconfig().replace(
            &format!("    server: {}\n", sim.url()),
            &format!("    server: {}\n    proxy-url: {proxy}\n", sim.url()),
        );
        assert!(text.contains("proxy-url"), "{text}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kc.yaml");
        std::fs::write(&path, text).unwrap();
        let cluster = Cluster::connect(&path, None, KaasOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let info = cluster.client().unwrap().apiserver_version().await.unwrap();
        assert_eq!(info.git_version, "v1.35.3");
        assert!(
            tunnels.load(std::sync::atomic::Ordering::SeqCst) >= 1,
            "the requests went through the proxy"
        );
        sim.shutdown().await;
    }

    #[test]
    fn kubeconfig_path_precedence() {
        let p = kubeconfig_path(Some(Path::new("/a")), Some("/b"), Some("/c")).unwrap();
        assert_eq!(p, PathBuf::from("/a"));
        let p = kubeconfig_path(None, Some("/b"), Some("/c")).unwrap();
        assert_eq!(p, PathBuf::from("/b"));
        let p = kubeconfig_path(None, None, Some(":/c:/d")).unwrap();
        assert_eq!(p, PathBuf::from("/c"));
        assert!(matches!(
            kubeconfig_path(None, Some(""), None),
            Err(KubeError::NoKubeconfig)
        ));
    }

    #[tokio::test]
    async fn clear_errors_for_missing_file_context_and_server() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.yaml");
        let err = Cluster::connect(&missing, None, KaasOptions::default())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no such file"), "{err}");

        let path = dir.path().join("kc.yaml");
        // A port nobody listens on: bind and drop.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::fs::write(
            &path,
            kubeconfig_for(&format!("http://127.0.0.1:{port}"), "c1"),
        )
        .unwrap();
        let err = Cluster::connect(&path, Some("other"), KaasOptions::default())
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("no context named `other`") && err.to_string().contains("c1"),
            "{err}"
        );
        let err = Cluster::connect(&path, None, KaasOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, KubeError::Unreachable { .. }), "{err}");
        assert!(err.to_string().contains("unreachable"), "{err}");

        std::fs::write(&path, "clusters: [").unwrap();
        let err = Cluster::connect(&path, None, KaasOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, KubeError::BadFile { .. }), "{err}");
    }
}
