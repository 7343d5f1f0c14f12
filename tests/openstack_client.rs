//! The OpenStack client driven through HTTP against the simulated cloud: auth variants,
//! catalog aliases, pagination, microversions, retries, timeouts, malformed answers, secret
//! redaction, the shared snapshot, stateful resources and the shipped fixtures.

use scs_check::openstack::config::{AuthType, ConfigEnv, load_cloud_with};
use scs_check::openstack::{Client, ClientOptions, OpenStackError, Secret, Snapshot};
use scs_check::sim::{Fixture, SimHandle, Simulator};
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

const PASSWORD: &str = "Recognisable-Pa55word-7f3q";

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/clouds")
}

fn fixture(extra: &str) -> Fixture {
    let text = format!("name: test\nuser:\n  password: {PASSWORD}\n{extra}");
    Fixture::from_yaml(&text, "<test>").unwrap()
}

fn fast() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(5),
        max_retries: 2,
        backoff: Duration::from_millis(5),
        max_retry_after: Duration::from_millis(10),
        ..ClientOptions::default()
    }
}

async fn start(extra: &str) -> SimHandle {
    Simulator::start(fixture(extra), None).await.unwrap()
}

async fn connect(sim: &SimHandle) -> Client {
    Client::connect_with(sim.cloud_config("t"), fast())
        .await
        .unwrap()
}

fn count(sim: &SimHandle, needle: &str) -> usize {
    sim.request_log()
        .iter()
        .filter(|l| l.contains(needle))
        .count()
}

const FLAVORS: &str = "flavors:\n  - {name: SCS-1V-4, vcpus: 1, ram: 4096, extra_specs: {'scs:cpu-type': shared-core}}\n  - {name: SCS-2V-8, vcpus: 2, ram: 8192, extra_specs: {'scs:cpu-type': shared-core}}\n  - {name: SCS-4V-16, vcpus: 4, ram: 16384}\n  - {name: tiny, vcpus: 1, ram: 512, is_public: false}\n  - {name: SCS-8V-32, vcpus: 8, ram: 32768}\n";

#[tokio::test]
async fn password_auth_roles_and_catalog_aliases() {
    let sim = start("").await;
    let c = connect(&sim).await;
    assert_eq!(c.role_names(), vec!["member", "reader"]);
    assert_eq!(c.token().project_name.as_deref(), Some("scs-test"));
    assert!(c.catalog().has_type("key-manager"));
    let bs = c.endpoint("block-storage").await.unwrap();
    assert!(
        bs.ends_with(&format!(
            "/volume/v3/{}",
            c.token().project_id.as_deref().unwrap()
        )),
        "{bs}"
    );
    assert_eq!(c.endpoint("volumev3").await.unwrap(), bs);
    assert_eq!(c.endpoint("volume").await.unwrap(), bs);
    // unversioned catalog URLs are resolved through the version documents
    assert!(
        c.endpoint("network")
            .await
            .unwrap()
            .ends_with("/network/v2.0")
    );
    assert!(c.endpoint("image").await.unwrap().ends_with("/image/v2"));
    assert!(
        c.endpoint("key-manager")
            .await
            .unwrap()
            .ends_with("/key-manager/v1")
    );
    let e = c.endpoint("dns").await.unwrap_err();
    assert!(matches!(e, OpenStackError::NoEndpoint { .. }));
    assert!(e.to_string().contains("no dns endpoint"), "{e}");
    let counts = c.request_counts();
    assert_eq!(counts.get("identity"), Some(&1), "{counts:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn application_credential_and_token_auth() {
    let sim = start(
        "application_credentials:\n  - {id: ac1, name: ci, secret: acsecret, roles: [member]}\n",
    )
    .await;
    let mut cfg = sim.cloud_config("t");
    cfg.auth_type = AuthType::ApplicationCredential;
    cfg.auth.application_credential_id = Some("ac1".into());
    cfg.auth.application_credential_secret = Some(Secret::new("acsecret"));
    let c = Client::connect_with(cfg.clone(), fast()).await.unwrap();
    assert_eq!(c.role_names(), vec!["member"]);
    // by name with user
    cfg.auth.application_credential_id = None;
    cfg.auth.application_credential_name = Some("ci".into());
    Client::connect_with(cfg.clone(), fast()).await.unwrap();
    // token auth with the token just issued
    let mut tcfg = sim.cloud_config("t");
    tcfg.auth_type = AuthType::Token;
    tcfg.auth.token = Some(c.token().value.clone());
    tcfg.auth.password = None;
    let t = Client::connect_with(tcfg, fast()).await.unwrap();
    assert!(t.catalog().has_type("compute"));
    // a wrong secret is a clear 401 naming Keystone
    cfg.auth.application_credential_secret = Some(Secret::new("wrong"));
    let e = Client::connect_with(cfg, fast()).await.unwrap_err();
    let s = e.to_string();
    assert_eq!(e.status(), Some(401), "{s}");
    assert!(s.starts_with("identity POST /identity/v3/auth/tokens: HTTP 401: The request you have made requires authentication."), "{s}");
}

#[tokio::test]
async fn project_scope_by_id_and_unversioned_auth_url() {
    let sim = start("").await;
    let mut cfg = sim.cloud_config("t");
    cfg.auth.project_name = None;
    cfg.auth.project_id = Some("5c5e0000000000000000000000000002".into());
    cfg.auth.auth_url = format!("{}/identity", sim.base_url());
    let c = Client::connect_with(cfg.clone(), fast()).await.unwrap();
    assert_eq!(c.token().project_name.as_deref(), Some("scs-test"));
    cfg.auth.project_id = Some("other".into());
    assert_eq!(
        Client::connect_with(cfg, fast())
            .await
            .unwrap_err()
            .status(),
        Some(401)
    );
}

#[tokio::test]
async fn clouds_yaml_from_simulator_round_trips() {
    let sim = start("").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("clouds.yaml");
    std::fs::write(&file, sim.clouds_yaml("sim-test")).unwrap();
    let env = ConfigEnv {
        vars: [(
            "OS_CLIENT_CONFIG_FILE".to_string(),
            file.display().to_string(),
        )]
        .into(),
        cwd: Some(dir.path().join("nowhere")),
        home: None,
        system_dir: None,
    };
    let cfg = load_cloud_with(Some("sim-test"), &env).unwrap();
    assert_eq!(cfg.region_name.as_deref(), Some("RegionOne"));
    let c = Client::connect_with(cfg, fast()).await.unwrap();
    assert!(!c.role_names().is_empty());
}

#[tokio::test]
async fn pagination_follows_links_with_small_pages() {
    let sim = start(&format!(
        "page_size: {{compute: 2, image: 3, block-storage: 1, key-manager: 2}}\n{FLAVORS}\
         images:\n{}volume_types:\n  - {{name: a}}\n  - {{name: b}}\n  - {{name: c}}\n",
        (0..8)
            .map(|i| format!("  - {{name: img{i}}}\n"))
            .collect::<String>()
    ))
    .await;
    let c = connect(&sim).await;
    let snap = Snapshot::new(c.clone());
    let flavors = snap.flavors().await.unwrap();
    assert_eq!(flavors.len(), 5, "is_public=None lists private flavors too");
    assert_eq!(count(&sim, "/flavors/detail"), 3);
    assert!(
        sim.request_log()
            .iter()
            .any(|l| l.contains("/flavors/detail?is_public=None&limit=1000"))
    );
    let images = snap.images().await.unwrap();
    assert_eq!(images.len(), 8);
    assert_eq!(count(&sim, "GET /image/v2/images"), 3);
    assert_eq!(snap.volume_types().await.unwrap().len(), 3);
    // Three full pages of one, then the empty page a full page's next link leads to (as
    // Cinder does; recorded from the real test bed).
    assert_eq!(count(&sim, "/types"), 4, "{:?}", sim.request_log());
    // Barbican pages by offset
    for i in 0..5 {
        c.request_json(
            "key-manager",
            reqwest::Method::POST,
            "/secrets",
            Some(&json!({"name": format!("s{i}")})),
        )
        .await
        .unwrap();
    }
    let secrets = c.list("key-manager", "/secrets", "secrets").await.unwrap();
    assert_eq!(secrets.len(), 5);
    assert!(
        sim.request_log()
            .iter()
            .any(|l| l.contains("/secrets?limit=100"))
    );
}

#[tokio::test]
async fn microversion_261_brings_extra_specs_inline() {
    let sim = start(FLAVORS).await;
    let c = connect(&sim).await;
    assert_eq!(
        c.compute_microversion().await.unwrap().as_deref(),
        Some("2.61")
    );
    let snap = Snapshot::new(c);
    let f = snap.flavors().await.unwrap();
    assert_eq!(
        f[0].extra_specs.get("scs:cpu-type").map(String::as_str),
        Some("shared-core")
    );
    assert_eq!(count(&sim, "os-extra_specs"), 0);
}

#[tokio::test]
async fn old_compute_needs_one_extra_specs_request_per_flavor() {
    let sim = start(&format!(
        "compute: {{min_version: '2.1', max_version: '2.53'}}\n{FLAVORS}"
    ))
    .await;
    let c = connect(&sim).await;
    assert_eq!(
        c.compute_microversion().await.unwrap().as_deref(),
        Some("2.53")
    );
    let snap = Snapshot::new(c);
    let f = snap.flavors().await.unwrap();
    assert_eq!(
        f[1].extra_specs.get("scs:cpu-type").map(String::as_str),
        Some("shared-core")
    );
    assert_eq!(count(&sim, "os-extra_specs"), 5);
}

#[tokio::test]
async fn a_500_then_200_succeeds() {
    let sim = start(&format!(
        "{FLAVORS}faults:\n  - {{service: compute, path: /flavors/detail, kind: status, status: 500, times: 1}}\n"
    ))
    .await;
    let c = connect(&sim).await;
    let before = c.request_counts().get("compute").copied().unwrap_or(0);
    let snap = Snapshot::new(c.clone());
    assert_eq!(snap.flavors().await.unwrap().len(), 5);
    assert_eq!(count(&sim, "/flavors/detail"), 2);
    assert!(c.request_counts()["compute"] >= before + 2);
}

#[tokio::test]
async fn a_429_is_retried() {
    let sim = start("volume_types: [{name: a}]\nfaults:\n  - {service: block-storage, kind: rate-limit, times: 2}\n").await;
    let c = connect(&sim).await;
    let snap = Snapshot::new(c);
    assert_eq!(snap.volume_types().await.unwrap().len(), 1);
    assert_eq!(count(&sim, "/types"), 3);
}

#[tokio::test]
async fn a_persistent_500_fails_clearly() {
    let sim = start(&format!(
        "{FLAVORS}faults:\n  - {{service: compute, path: /flavors, kind: status, status: 500}}\n"
    ))
    .await;
    let c = connect(&sim).await;
    let snap = Snapshot::new(c);
    let e = snap.flavors().await.unwrap_err();
    let s = e.to_string();
    assert_eq!(e.status(), Some(500));
    assert!(s.starts_with("compute GET /compute/v2.1/flavors/detail?is_public=None&limit=1000: HTTP 500: Injected fault"), "{s}");
    assert!(s.contains("after 3 attempts"), "{s}");
    assert_eq!(count(&sim, "/flavors/detail"), 3, "1 try + 2 retries");
    // the failure is memoised: no new request
    assert!(snap.flavors().await.is_err());
    assert_eq!(count(&sim, "/flavors/detail"), 3);
}

#[tokio::test]
async fn a_404_is_not_retried_and_carries_the_api_message() {
    let sim = start("").await;
    let c = connect(&sim).await;
    let e = c.get_json("compute", "/flavors/nope").await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert!(
        e.to_string().contains("Flavor nope could not be found."),
        "{e}"
    );
    assert_eq!(count(&sim, "/flavors/nope"), 1);
    let e = c.get_json("network", "/networks/nope").await.unwrap_err();
    assert!(
        e.to_string()
            .starts_with("network GET /network/v2.0/networks/nope: HTTP 404"),
        "{e}"
    );
}

#[tokio::test]
async fn timeouts_are_bounded() {
    let sim =
        start("images: [{name: a}]\nfaults:\n  - {service: image, path: /images, kind: timeout}\n")
            .await;
    let opts = ClientOptions {
        timeout: Duration::from_millis(300),
        max_retries: 1,
        ..fast()
    };
    let c = Client::connect_with(sim.cloud_config("t"), opts)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let e = Snapshot::new(c).images().await.unwrap_err();
    assert!(
        matches!(e, OpenStackError::Timeout { attempts: 2, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("image GET /image/v2/images"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(3));
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_json_and_wrong_content_type() {
    let sim = start(
        "images: [{name: a}]\nvolume_types: [{name: a}]\nfaults:\n  - {service: image, path: /images, kind: malformed-json}\n  - {service: block-storage, path: /types, kind: wrong-content-type}\n",
    )
    .await;
    let c = connect(&sim).await;
    let snap = Snapshot::new(c);
    let e = snap.images().await.unwrap_err();
    assert!(matches!(e, OpenStackError::Decode { .. }));
    assert!(e.to_string().contains("not valid JSON"), "{e}");
    let e = snap.volume_types().await.unwrap_err();
    assert!(e.to_string().contains("content type \"text/html"), "{e}");
}

#[tokio::test]
async fn latency_fault_delays_but_succeeds() {
    let sim =
        start("images: [{name: a}]\nfaults:\n  - {service: image, kind: latency, delay_ms: 200}\n")
            .await;
    let c = connect(&sim).await;
    let t = std::time::Instant::now();
    assert_eq!(Snapshot::new(c).images().await.unwrap().len(), 1);
    assert!(t.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn the_simulator_tells_its_work_and_the_latency_it_waited() {
    let sim =
        start("images: [{name: a}]\nfaults:\n  - {service: image, kind: latency, delay_ms: 30}\n")
            .await;
    let c = connect(&sim).await;
    // The two headers of one GET, in microseconds: (latency waited, work).
    let timings = async |service: &str, path: &str| {
        let resp = c
            .request(service, reqwest::Method::GET, path, None)
            .await
            .unwrap();
        let micros = |header: &str| {
            resp.headers
                .get(header)
                .map(|v| v.to_str().unwrap().parse::<u64>().unwrap())
        };
        (micros("x-sim-delay-us"), micros("x-sim-server-time-us"))
    };
    let (waited, worked) = timings("image", "/images").await;
    let waited = waited.expect("a delayed answer says how long");
    assert!((30_000..1_000_000).contains(&waited), "{waited} us");
    let worked = worked.unwrap();
    assert!(
        worked < 30_000,
        "the latency is not counted as work: {worked} us"
    );
    let (waited, worked) = timings("compute", "/flavors").await;
    assert_eq!(waited, None, "no latency, no header");
    assert!(worked.is_some());
}

#[tokio::test]
async fn the_password_never_shows() {
    let sim = start(FLAVORS).await;
    let mut cfg = sim.cloud_config("t");
    let ok = Client::connect_with(cfg.clone(), fast()).await.unwrap();
    let snap = Snapshot::new(ok.clone());
    snap.flavors().await.unwrap();
    let mut texts = vec![
        format!("{cfg:?}"),
        format!("{ok:?}"),
        format!("{snap:?}"),
        format!("{:?}", ok.token()),
        format!("{:?}", ok.request_counts()),
    ];
    cfg.auth.password = Some(Secret::new(format!("{PASSWORD}-wrong")));
    let e = Client::connect_with(cfg.clone(), fast()).await.unwrap_err();
    texts.push(e.to_string());
    texts.push(format!("{e:?}"));
    // a broken clouds.yaml holding the password
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("clouds.yaml");
    std::fs::write(
        &file,
        format!("clouds:\n  c:\n    auth:\n      password: {PASSWORD}\n      auth_url: [\n"),
    )
    .unwrap();
    let env = ConfigEnv {
        vars: [(
            "OS_CLIENT_CONFIG_FILE".to_string(),
            file.display().to_string(),
        )]
        .into(),
        ..ConfigEnv::default()
    };
    texts.push(load_cloud_with(Some("c"), &env).unwrap_err().to_string());
    std::fs::write(&file, format!("clouds:\n  c:\n    auth:\n      password: {PASSWORD}\n      auth_url: ftp://x\n      username: u\n      user_domain_name: d\n")).unwrap();
    texts.push(load_cloud_with(Some("c"), &env).unwrap_err().to_string());
    for t in &texts {
        assert!(!t.contains(PASSWORD), "password leaked: {t}");
    }
    assert!(texts[0].contains("***"));
}

#[tokio::test]
async fn concurrent_snapshot_access_issues_one_request_per_listing() {
    let sim = start(&format!(
        "{FLAVORS}images: [{{name: a}}, {{name: b}}]\nvolume_types: [{{name: a}}]\nfaults:\n  - {{service: '*', kind: latency, delay_ms: 50}}\n"
    ))
    .await;
    let c = connect(&sim).await;
    let snap = Snapshot::new(c);
    let mut tasks = vec![];
    for _ in 0..16 {
        let s = snap.clone();
        tasks.push(tokio::spawn(async move {
            let (f, i, v, r) = tokio::join!(s.flavors(), s.images(), s.volume_types(), s.roles());
            (
                f.unwrap().len(),
                i.unwrap().len(),
                v.unwrap().len(),
                r.unwrap().len(),
            )
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), (5, 2, 1, 2));
    }
    assert_eq!(count(&sim, "/flavors/detail"), 1);
    assert_eq!(count(&sim, "GET /image/v2/images"), 1);
    assert_eq!(count(&sim, "/types"), 1);
    let counts = snap.request_counts();
    assert_eq!(counts.get("block-storage"), Some(&1), "{counts:?}");
    assert_eq!(
        counts.get("image"),
        Some(&1),
        "the listing at the conventional /v2 path, no version discovery: {counts:?}"
    );
}

#[tokio::test]
async fn stateful_resources_and_transitions() {
    let sim = start(&format!(
        "{FLAVORS}timing: {{server_active_after: 0.2, volume_available_after: 0.1, backup_available_after: 0.1, console_output: \"_scs-test-entropy-avail: 256\\n_scs-test-end\\n\"}}\n"
    ))
    .await;
    let c = connect(&sim).await;
    use reqwest::Method;
    let net = c
        .request_json(
            "network",
            Method::POST,
            "/networks",
            Some(&json!({"network": {"name": "_scs-0101-net"}})),
        )
        .await
        .unwrap();
    let net_id = net["network"]["id"].as_str().unwrap().to_string();
    let ext = c
        .get_json("network", "/networks?router:external=True")
        .await
        .unwrap();
    assert_eq!(ext["networks"].as_array().unwrap().len(), 1);
    let router = c
        .request_json(
            "network",
            Method::POST,
            "/routers",
            Some(&json!({"router": {"name": "_scs-0101-router"}})),
        )
        .await
        .unwrap();
    let rid = router["router"]["id"].as_str().unwrap();
    let subnet = c
        .request_json(
            "network",
            Method::POST,
            "/subnets",
            Some(&json!({"subnet": {"name": "_scs-0101-subnet", "network_id": net_id}})),
        )
        .await
        .unwrap();
    let subnet_id = subnet["subnet"]["id"].as_str().unwrap();
    c.request_json(
        "network",
        Method::PUT,
        &format!("/routers/{rid}/add_router_interface"),
        Some(&json!({"subnet_id": subnet_id})),
    )
    .await
    .unwrap();
    let fid = c.get_json("compute", "/flavors/detail").await.unwrap()["flavors"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let srv = c.request_json("compute", Method::POST, "/servers", Some(&json!({"server": {"name": "_scs-0101-server", "flavorRef": fid, "networks": [{"uuid": net_id}]}}))).await.unwrap();
    let sid = srv["server"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        c.get_json("compute", &format!("/servers/{sid}"))
            .await
            .unwrap()["server"]["status"],
        "BUILD"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        c.get_json("compute", &format!("/servers/{sid}"))
            .await
            .unwrap()["server"]["status"],
        "ACTIVE"
    );
    let out = c
        .request_json(
            "compute",
            Method::POST,
            &format!("/servers/{sid}/action"),
            Some(&json!({"os-getConsoleOutput": {"length": null}})),
        )
        .await
        .unwrap();
    assert!(
        out["output"]
            .as_str()
            .unwrap()
            .contains("_scs-test-entropy-avail: 256")
    );
    c.request("compute", Method::DELETE, &format!("/servers/{sid}"), None)
        .await
        .unwrap();
    assert_eq!(
        c.get_json("compute", &format!("/servers/{sid}"))
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );
    // volumes and backups
    let vol = c
        .request_json(
            "block-storage",
            Method::POST,
            "/volumes",
            Some(&json!({"volume": {"name": "scs-test-volume", "size": 1}})),
        )
        .await
        .unwrap();
    assert_eq!(vol["volume"]["status"], "creating");
    let vid = vol["volume"]["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let b = c
        .request_json(
            "block-storage",
            Method::POST,
            "/backups",
            Some(&json!({"backup": {"name": "scs-test-volume-backup", "volume_id": vid}})),
        )
        .await
        .unwrap();
    let bid = b["backup"]["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        c.get_json("block-storage", &format!("/backups/{bid}"))
            .await
            .unwrap()["backup"]["status"],
        "available"
    );
    c.request_json(
        "block-storage",
        Method::POST,
        &format!("/backups/{bid}/restore"),
        Some(&json!({"restore": {"name": "scs-test-restored-backup"}})),
    )
    .await
    .unwrap();
    let vols = c
        .list("block-storage", "/volumes/detail", "volumes")
        .await
        .unwrap();
    assert_eq!(vols.len(), 2);
    // security groups get the configured rules; default-sg-rules absent means 404
    let sg = c
        .request_json(
            "network",
            Method::POST,
            "/security-groups",
            Some(&json!({"security_group": {"name": "scs-test-default-sg"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        sg["security_group"]["security_group_rules"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        c.get_json("network", "/default-security-group-rules")
            .await
            .unwrap_err()
            .status(),
        Some(404)
    );
    // S3 at the server root
    let s3 = c
        .send(
            "s3",
            Method::GET,
            &format!("{}/", sim.base_url()),
            None,
            &[],
            true,
            false,
        )
        .await
        .unwrap_err();
    assert!(s3.to_string().contains("InvalidAccessKeyId"), "{s3}");
}

#[tokio::test]
async fn barbican_permissions_follow_the_fixture() {
    let sim = start("key_manager: {member_can_list: false, member_can_create: false}\n").await;
    let c = connect(&sim).await;
    let e = c
        .list("key-manager", "/secrets", "secrets")
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403));
    assert!(e.to_string().contains("not allowed"), "{e}");
}

#[tokio::test]
async fn shipped_fixtures_load_and_serve() {
    let mut names = vec![];
    for entry in std::fs::read_dir(fixture_dir()).unwrap() {
        let path = entry.unwrap().path();
        let f = Fixture::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let text = std::fs::read_to_string(&path).unwrap();
        if f.name != "compliant" {
            assert!(
                text.starts_with("# "),
                "{}: explain the expected verdicts at the top",
                path.display()
            );
        }
        names.push(f.name);
    }
    assert!(names.len() >= 8, "{names:?}");
    let compliant = Fixture::load(fixture_dir().join("compliant.yaml")).unwrap();
    assert_eq!(
        compliant
            .flavors
            .iter()
            .filter(|f| f.name.starts_with("SCS-"))
            .count(),
        32
    );
    let sim = Simulator::start(compliant, None).await.unwrap();
    let c = connect(&sim).await;
    let snap = Snapshot::new(c);
    let images = snap.images().await.unwrap();
    let u = images
        .iter()
        .find(|i| i.name.as_deref() == Some("Ubuntu 22.04"))
        .unwrap();
    assert_eq!(u.property("os_version").as_deref(), Some("22.04"));
    assert_eq!(u.property("os_hash_algo").as_deref(), Some("sha512"));
    // YAML merge keys carry the shared properties
    assert_eq!(u.property("architecture").as_deref(), Some("x86_64"));
    assert!(
        u.property("image_source")
            .unwrap()
            .starts_with("https://cloud-images.ubuntu.com/releases/jammy/")
    );
    assert_eq!(u.min_disk, Some(8));
    assert!(!u.property("image_build_date").unwrap().starts_with('@'));
    let zed = Fixture::load(fixture_dir().join("zed-legacy.yaml")).unwrap();
    assert!(zed.network.default_security_group_rules.is_none());
    assert_eq!(zed.compute.max_version, "2.53");
    assert_eq!(zed.volume_types.len(), 2);
    assert_eq!(zed.images.len(), 8, "images come from the base");
    let missing = Fixture::load(fixture_dir().join("services-missing.yaml")).unwrap();
    assert_eq!(missing.services.len(), 6);
    let broken = Fixture::load(fixture_dir().join("flavors-broken.yaml")).unwrap();
    assert!(!broken.flavors.iter().any(|f| f.name == "SCS-8V-32"));
    let f = broken
        .flavors
        .iter()
        .find(|f| f.name == "SCS-2V-4-20s")
        .unwrap();
    assert!(!f.extra_specs.contains_key("scs:disk0-type"));
    assert_eq!(
        f.extra_specs.get("scs:cpu-type").map(String::as_str),
        Some("shared-core")
    );
}

#[tokio::test]
async fn large_fixture_lists_in_few_requests() {
    let large = Fixture::load(fixture_dir().join("large.yaml")).unwrap();
    assert!(large.flavors.len() >= 500, "{}", large.flavors.len());
    assert_eq!(large.images.len(), 5000);
    let sim = Simulator::start(large, None).await.unwrap();
    let c = connect(&sim).await;
    let snap = Snapshot::new(c);
    let (f, i) = tokio::join!(snap.flavors(), snap.images());
    assert_eq!(f.unwrap().len(), 501);
    assert_eq!(i.unwrap().len(), 5000);
    assert_eq!(count(&sim, "/flavors/detail"), 6);
    // 25 full pages of 200, then the empty page the last full page links to (as Glance does).
    assert_eq!(count(&sim, "GET /image/v2/images"), 26);
}

#[tokio::test]
async fn a_closed_port_is_a_clear_transport_error() {
    let sim = start("").await;
    let cfg = sim.cloud_config("t");
    sim.shutdown().await;
    let e = Client::connect_with(cfg, fast()).await.unwrap_err();
    let s = e.to_string();
    assert!(
        matches!(e, OpenStackError::Transport { attempts: 3, .. }),
        "{e:?}"
    );
    assert!(
        s.starts_with("identity POST /identity/v3/auth/tokens: cannot connect"),
        "{s}"
    );
}
