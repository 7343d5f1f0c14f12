//! Tests of the scs-0125 probe: parsing and judging units, and live scans of `openssl s_server`
//! endpoints on 127.0.0.1 with a throw-away CA made by the test, reached through a simulated
//! catalog. The live tests need the `openssl` executable: without it they are skipped, except under
//! `CI=true`, where they fail.

use super::scanner::find_on_path;
use super::*;
use crate::openstack::{Client, ClientOptions, Snapshot};
use crate::probes::iaas::testing::{TestCloud, outcome};
use crate::verdict::Verdict;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SAMPLE: &str = "CONNECTED(00000003)
---
Certificate chain
 0 s:CN = leaf
   i:CN = testca
   a:PKEY: rsaEncryption, 1024 (bit); sigalg: RSA-SHA256
   v:NotBefore: Dec  6 21:03:24 2026 GMT; NotAfter: Jan  5 21:03:24 2029 GMT
 1 s:CN = testca
   i:CN = testca
   a:PKEY: rsaEncryption, 4096 (bit); sigalg: RSA-SHA256
   v:NotBefore: Dec  6 21:03:24 2026 GMT; NotAfter: Jan  5 21:03:24 2030 GMT
---
Server Temp Key: DH, 1024 bits
---
New, TLSv1.2, Cipher is DHE-RSA-AES128-GCM-SHA256
Server public key is 1024 bit
Verify return code: 10 (certificate has expired)
";

#[test]
fn parses_s_client() {
    let h = parse_s_client(SAMPLE);
    assert!(h.connected && h.accepted());
    assert_eq!(h.protocol.as_deref(), Some("TLSv1.2"));
    assert_eq!(h.leaf_key, Some(("rsaEncryption".into(), 1024)));
    assert_eq!(h.temp_key, Some(("DH".into(), 1024)));
    assert_eq!(h.verify, Some((10, "certificate has expired".into())));
    assert!(matches!(judge_leaf_key(&h), Check::Problem { .. }));
    assert!(matches!(judge_verify(&h), Check::Problem { .. }));
    let Check::Problem { message, .. } = judge_lifespan(&h) else {
        panic!("lifespan")
    };
    assert!(
        message.contains("maximum_certificate_lifespan"),
        "{message}"
    );
    let refused = parse_s_client("CONNECTED(00000003)\n---\nNew, (NONE), Cipher is (NONE)\n");
    assert!(refused.connected && !refused.accepted());
    let missing = parse_s_client("");
    assert!(matches!(judge_verify(&missing), Check::Unchecked(_)));
    assert!(matches!(judge_leaf_key(&missing), Check::Unchecked(_)));
}

#[test]
fn sslv3_hello_shape() {
    let hello = sslv3_client_hello();
    assert_eq!(&hello[..3], &[0x16, 0x03, 0x00]);
    assert_eq!(
        u16::from_be_bytes([hello[3], hello[4]]) as usize,
        hello.len() - 5
    );
    assert_eq!(hello[5], 0x01);
    assert_eq!(&hello[9..11], &[0x03, 0x00]);
    let mut answer = vec![0x16, 0x03, 0x00, 0x00, 0x4a, 0x02, 0, 0, 0x46, 0x03, 0x00];
    assert!(is_sslv3_server_hello(&answer));
    answer[10] = 0x03; // a TLS 1.2 ServerHello is no SSLv3 acceptance
    assert!(!is_sslv3_server_hello(&answer));
    assert!(!is_sslv3_server_hello(&[0x15, 0x03, 0x00, 0, 2, 2, 70]));
    assert!(!is_sslv3_server_hello(b"HTTP/1.0 400 Bad"));
}

#[test]
fn targets_dedup_and_scheme() {
    let catalog: Catalog = serde_json::from_value(serde_json::json!([
        {"type": "compute", "endpoints": [
            {"interface": "public", "url": "https://api.example.com/compute"},
            {"interface": "internal", "url": "http://10.0.0.1:8774"}]},
        {"type": "image", "endpoints": [
            {"interface": "public", "url": "https://api.example.com:443/image"}]},
        {"type": "network", "endpoints": [
            {"interface": "public", "url": "http://api.example.com:9696"}]},
        {"type": "dns", "endpoints": [
            {"interface": "public", "url": "https://[2001:db8::1]:9001/"}]}
    ]))
    .unwrap();
    let (targets, bad) = public_targets(&catalog);
    assert_eq!(targets.len(), 2, "{targets:?}");
    assert_eq!(targets[1].authority(), "api.example.com:443");
    assert_eq!(targets[1].services.len(), 2);
    assert_eq!(targets[0].authority(), "[2001:db8::1]:9001");
    assert_eq!(bad.len(), 1);
    assert!(bad[0].object.contains("http://api.example.com:9696"));
    assert_eq!(bad[0].actual.as_deref(), Some("scheme http"));
    // Judged alone: the http URL FAILs, nothing to scan.
    let o = judge(bad, &[]);
    assert_eq!(o.verdict, Verdict::Fail);
    // No public endpoint at all: ABORT.
    assert_eq!(judge(vec![], &[]).verdict, Verdict::Abort);
}

// ---- live tests with openssl s_server ----

/// The openssl executable; `None` (skip) when missing, a panic under `CI=true`.
fn openssl() -> Option<PathBuf> {
    match find_on_path("openssl") {
        Some(p) => Some(p),
        None if std::env::var("CI").as_deref() == Ok("true") => {
            panic!(
                "openssl is missing: the scs-0125 TLS tests need it under CI (apt-get install openssl)"
            )
        }
        None => {
            eprintln!("skipped: openssl is not installed");
            None
        }
    }
}

fn run_ok(openssl: &Path, dir: &Path, args: &[&str]) {
    let out = Command::new(openssl)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

use std::path::Path;

/// A throw-away CA in `dir`, and leaves signed by it.
struct Pki {
    openssl: PathBuf,
    dir: tempfile::TempDir,
}

impl Pki {
    fn new(openssl: PathBuf) -> Pki {
        let dir = tempfile::tempdir().unwrap();
        run_ok(
            &openssl,
            dir.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "30",
                "-subj",
                "/CN=scs-check test CA",
            ],
        );
        Pki { openssl, dir }
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// A leaf `name` with an RSA key of `bits`, the SAN and a validity of `days` (-1: expired).
    fn leaf(&self, name: &str, bits: u32, san: &str, days: i32) {
        self.leaf_with(name, &["-newkey", &format!("rsa:{bits}")], san, days);
    }

    /// A leaf `name` with the given key options (`-newkey …`).
    fn leaf_with(&self, name: &str, key: &[&str], san: &str, days: i32) {
        let d = self.dir.path();
        std::fs::write(
            d.join(format!("{name}.ext")),
            format!("subjectAltName={san}\n"),
        )
        .unwrap();
        run_ok(
            &self.openssl,
            d,
            &[
                &["req", "-nodes", "-keyout", &format!("{name}.key")],
                &[
                    "-out",
                    &format!("{name}.csr"),
                    "-subj",
                    &format!("/CN={name}"),
                ],
                key,
            ]
            .concat(),
        );
        run_ok(
            &self.openssl,
            d,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &format!("{name}.crt"),
                "-days",
                &days.to_string(),
                "-extfile",
                &format!("{name}.ext"),
            ],
        );
    }

    /// Starts `openssl s_server` for leaf `name` with `args`; killed on drop.
    fn serve(&self, name: &str, args: &[&str]) -> Server {
        let port = free_port();
        let child = Command::new(&self.openssl)
            .args([
                "s_server",
                "-accept",
                &format!("127.0.0.1:{port}"),
                "-www",
                "-quiet",
                "-cert",
                &format!("{name}.crt"),
                "-key",
                &format!("{name}.key"),
            ])
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("s_server starts");
        let server = Server { child, port };
        wait_listening(port);
        server
    }
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_listening(port: u16) {
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on 127.0.0.1:{port}");
}

/// A TCP server that answers every connection with plain HTTP (not TLS).
fn plain_http() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut c in l.incoming().flatten() {
            let mut buf = [0u8; 512];
            let _ = c.read(&mut buf);
            let _ = c.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\n");
        }
    });
    port
}

fn intermediate() -> String {
    ALLOWED_CIPHERS.join(":")
}

fn compliant_args(ciphers: &str) -> Vec<String> {
    vec![
        "-min_protocol".into(),
        "TLSv1.2".into(),
        "-cipher".into(),
        ciphers.into(),
        "-ciphersuites".into(),
        "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256".into(),
    ]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(|s| s.as_str()).collect()
}

/// A simulated cloud whose catalog lists `services` (`type`, URL) as public endpoints, with a
/// client whose clouds.yaml entry carries `cacert`.
async fn cloud(services: &[(&str, String)], cacert: Option<PathBuf>) -> TestCloud {
    let mut yaml = String::from("services:\n");
    for (t, url) in services {
        yaml.push_str(&format!(
            "  - {{type: {t}, url: \"{url}\", interfaces: [public]}}\n"
        ));
    }
    let mut tc = TestCloud::yaml(&yaml).await;
    let mut cfg = tc.sim.cloud_config("sim");
    cfg.cacert = cacert;
    let client = Client::connect_with(cfg, ClientOptions::default())
        .await
        .expect("client");
    tc.ctx.services.openstack = Some(Snapshot::new(client));
    tc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliant_endpoint_passes_with_cacert_and_fails_without() {
    let Some(openssl) = openssl() else { return };
    let pki = Pki::new(openssl);
    pki.leaf("good", 2048, "IP:127.0.0.1", 30);
    pki.leaf_with(
        "ecdsa",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
        "IP:127.0.0.1",
        90,
    );
    let good = pki.serve("good", &strs(&compliant_args(&intermediate())));
    let ecdsa = pki.serve("ecdsa", &strs(&compliant_args(&intermediate())));
    let url = |p: &str| format!("https://127.0.0.1:{}/{p}", good.port);
    let services = [
        ("identity", url("v3")),
        ("compute", url("v2.1")),
        ("image", format!("https://127.0.0.1:{}/", ecdsa.port)),
    ];

    let tc = cloud(&services, Some(pki.ca())).await;
    let out = tc.run(&*probe(), &[TESTCASE]).await;
    let o = outcome(&out, TESTCASE);
    assert_eq!(o.verdict, Verdict::Pass, "{o:#?}");
    assert!(o.reason.starts_with("2 public endpoint(s)"), "{}", o.reason);

    // The same endpoint without the clouds.yaml cacert: the private CA does not verify.
    let tc = cloud(&services, None).await;
    let out = tc.run(&*probe(), &[TESTCASE]).await;
    let o = outcome(&out, TESTCASE);
    assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
    assert_eq!(o.evidence.len(), 2, "{o:#?}");
    assert!(
        o.evidence[0]
            .message
            .contains("certificate_path_validation")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_endpoints_fail_each_named() {
    let Some(openssl) = openssl() else { return };
    let pki = Pki::new(openssl);
    pki.leaf("good", 2048, "IP:127.0.0.1", 30);
    pki.leaf("expired", 2048, "IP:127.0.0.1", -1);
    pki.leaf("wrongname", 2048, "DNS:wrong.example", 30);
    pki.leaf("small", 1024, "IP:127.0.0.1", 30);
    let cbc = format!("{}:ECDHE-RSA-AES128-SHA:@SECLEVEL=0", intermediate());
    let tls10 = pki.serve(
        "good",
        &["-min_protocol", "TLSv1", "-no_tls1_1", "-cipher", &cbc],
    );
    let tls11 = pki.serve("good", &["-min_protocol", "TLSv1.1", "-cipher", &cbc]);
    let weak = pki.serve(
        "good",
        &strs(&compliant_args(&format!("{}:AES128-SHA", intermediate()))),
    );
    let expired = pki.serve("expired", &strs(&compliant_args(&intermediate())));
    let wrongname = pki.serve("wrongname", &strs(&compliant_args(&intermediate())));
    let small = pki.serve(
        "small",
        &strs(&compliant_args(&format!("{}:@SECLEVEL=0", intermediate()))),
    );
    pki.leaf("longlived", 2048, "IP:127.0.0.1", 800);
    let longlived = pki.serve("longlived", &strs(&compliant_args(&intermediate())));
    let ccm = pki.serve(
        "good",
        &[
            "-min_protocol",
            "TLSv1.2",
            "-cipher",
            &intermediate(),
            "-ciphersuites",
            "TLS_AES_128_CCM_SHA256:TLS_AES_128_GCM_SHA256",
        ],
    );
    let good = pki.serve("good", &strs(&compliant_args(&intermediate())));
    let not_tls = plain_http();
    let https = |p: u16| format!("https://127.0.0.1:{p}/");
    let services = [
        ("tls10", https(tls10.port)),
        ("tls11", https(tls11.port)),
        ("weak", https(weak.port)),
        ("expired", https(expired.port)),
        ("wrongname", https(wrongname.port)),
        ("small", https(small.port)),
        ("longlived", https(longlived.port)),
        ("ccm", https(ccm.port)),
        ("good", https(good.port)),
        ("nottls", https(not_tls)),
        ("plain", format!("http://127.0.0.1:{not_tls}/")),
    ];
    let tc = cloud(&services, Some(pki.ca())).await;
    let out = tc.run(&*probe(), &[TESTCASE]).await;
    let o = outcome(&out, TESTCASE);
    assert_eq!(o.verdict, Verdict::Fail, "{o:#?}");
    let about = |t: &str, port: u16| -> Vec<String> {
        let object = format!("public endpoint 127.0.0.1:{port} ({t})");
        o.evidence
            .iter()
            .filter(|f| f.object == object)
            .map(|f| f.message.clone())
            .collect()
    };
    let has = |t: &str, port: u16, needle: &str| {
        let msgs = about(t, port);
        assert!(
            msgs.iter().any(|m| m.contains(needle)),
            "{t}: no finding with {needle:?} in {msgs:#?}"
        );
        msgs
    };
    let m = has("tls10", tls10.port, "accepts TLSv1.0");
    assert!(!m.iter().any(|m| m.contains("TLSv1.1")), "{m:#?}");
    let m = has("tls11", tls11.port, "accepts TLSv1.1");
    assert!(!m.iter().any(|m| m.contains("TLSv1.0")), "{m:#?}");
    let m = has("weak", weak.port, "ciphers:");
    assert_eq!(m.len(), 1, "{m:#?}");
    let f = o
        .evidence
        .iter()
        .find(|f| f.object.contains(&format!(":{} ", weak.port)))
        .unwrap();
    assert!(
        f.actual.as_deref().unwrap().contains("AES128-SHA"),
        "{f:#?}"
    );
    let m = has("expired", expired.port, "certificate has expired");
    assert_eq!(m.len(), 1, "{m:#?}");
    let m = has("wrongname", wrongname.port, "mismatch");
    assert_eq!(m.len(), 1, "{m:#?}");
    // OpenSSL sizes its automatic DH group by the key, so this server also offers DHE with a
    // 1024-bit group: a second, real problem of the same endpoint.
    let m = has("small", small.port, "rsa_key_size");
    has("small", small.port, "1024-bit DH key");
    assert_eq!(m.len(), 2, "{m:#?}");
    let m = has("longlived", longlived.port, "maximum_certificate_lifespan");
    assert_eq!(m.len(), 1, "{m:#?}");
    let m = has("ccm", ccm.port, "ciphersuites:");
    assert_eq!(m.len(), 1, "{m:#?}");
    assert!(about("good", good.port).is_empty(), "{o:#?}");
    has("nottls", not_tls, "does not speak TLS");
    assert!(
        o.evidence.iter().any(|f| f.object
            == format!("public endpoint http://127.0.0.1:{not_tls}/ (plain)")
            && f.message.contains("not https")),
        "{o:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_or_no_openssl_is_abort() {
    // A closed port: the endpoint cannot be checked (ABORT), which is not PASS.
    let closed = free_port();
    let tc = cloud(
        &[("identity", format!("https://127.0.0.1:{closed}/"))],
        None,
    )
    .await;
    let catalog = tc.snapshot.catalog().await.unwrap();
    let scanner = Scanner {
        openssl: None,
        cacert: None,
        step_timeout: Duration::from_secs(5),
    };
    let o = check_catalog(&catalog, &scanner).await;
    assert_eq!(o.verdict, Verdict::Abort, "{o:#?}");
    assert!(o.reason.contains("TCP connect"), "{}", o.reason);

    // Something listens, but openssl is missing: the openssl checks are ABORT with the reason.
    let port = plain_http();
    let tc = cloud(&[("identity", format!("https://127.0.0.1:{port}/"))], None).await;
    let catalog = tc.snapshot.catalog().await.unwrap();
    let o = check_catalog(&catalog, &scanner).await;
    assert_eq!(o.verdict, Verdict::Abort, "{o:#?}");
    assert!(
        o.reason.contains("openssl executable was not found"),
        "{}",
        o.reason
    );
}
