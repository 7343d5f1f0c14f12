//! The HTML report (`run --html`, `report -f html`) through the binary against the simulator:
//! the page is well-formed, self-contained, shows every testcase with its verdict and the
//! evidence of every non-PASS, and escapes what a cloud sent.

mod common;
use common::{isolated, repo};
use std::path::Path;

/// Elements that have no end tag in HTML.
const VOID: &[&str] = &["meta", "br", "hr", "img", "input", "link", "wbr"];

/// A small well-formedness check: every tag is closed in order (void elements excepted),
/// attribute values are double-quoted, `&` starts a known entity, there is no `<` in text,
/// and the document is `<!DOCTYPE html>` + one `<html>` element. Returns the first problem.
fn check_well_formed(page: &str) -> Result<(), String> {
    let rest = page
        .strip_prefix("<!DOCTYPE html>")
        .ok_or("no <!DOCTYPE html> at the start")?;
    let mut stack: Vec<String> = vec![];
    let mut seen_root = false;
    let mut i = 0;
    let bytes = rest.as_bytes();
    while i < bytes.len() {
        match bytes[i] {
            b'<' => {
                let end = rest[i..]
                    .find('>')
                    .map(|e| i + e)
                    .ok_or_else(|| format!("unclosed tag at byte {i}"))?;
                let tag = &rest[i + 1..end];
                if let Some(name) = tag.strip_prefix('/') {
                    let open = stack
                        .pop()
                        .ok_or_else(|| format!("</{name}> without an open tag"))?;
                    if open != name {
                        return Err(format!("</{name}> closes <{open}>"));
                    }
                } else {
                    let name: String = tag
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric())
                        .collect();
                    if name.is_empty() {
                        return Err(format!("bad tag <{tag}>"));
                    }
                    check_attributes(&tag[name.len()..]).map_err(|e| format!("<{tag}>: {e}"))?;
                    if stack.is_empty() {
                        if seen_root || name != "html" {
                            return Err(format!("<{name}> outside the <html> element"));
                        }
                        seen_root = true;
                    }
                    if !VOID.contains(&name.as_str()) {
                        stack.push(name);
                    }
                }
                i = end + 1;
            }
            b'&' => {
                let entity = rest[i..].split(';').next().unwrap_or("");
                let known = ["&amp", "&lt", "&gt", "&quot", "&#39"];
                if !known.contains(&entity) {
                    return Err(format!("bare & at byte {i}: {entity}"));
                }
                i += entity.len() + 1;
            }
            b'>' if !stack.is_empty() => return Err(format!("bare > in text at byte {i}")),
            _ => i += 1,
        }
    }
    if !stack.is_empty() {
        return Err(format!("unclosed elements: {stack:?}"));
    }
    if !seen_root {
        return Err("no <html> element".into());
    }
    Ok(())
}

/// Attributes must be `name="value"` with no `<` or `"` inside the value.
fn check_attributes(text: &str) -> Result<(), String> {
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (name, after) = rest.split_once('=').ok_or("attribute without a value")?;
        if name.trim().is_empty()
            || !name
                .trim()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(format!("bad attribute name {name:?}"));
        }
        let after = after.strip_prefix('"').ok_or("unquoted attribute value")?;
        let (value, tail) = after
            .split_once('"')
            .ok_or("unterminated attribute value")?;
        if value.contains('<') {
            return Err(format!("< inside attribute value {value:?}"));
        }
        rest = tail.trim_start();
    }
    Ok(())
}

/// testcase → (version, result word, reason, evidence lines) from a JSON report.
fn results(json: &serde_json::Value) -> Vec<(String, String, String, String, Vec<String>)> {
    let mut out = vec![];
    for version in json["scs_check"]["versions"].as_array().unwrap() {
        let name = version["name"].as_str().unwrap().to_string();
        for (id, tc) in version["testcases"].as_object().unwrap() {
            let result = tc["result"].as_str().unwrap_or("MISSING").to_string();
            let reason = tc["reason"].as_str().unwrap_or("").to_string();
            let mut evidence = vec![];
            if let Some(inv) = tc["invocation"].as_str() {
                let ev = &json["run"]["invocations"][inv]["scs_check"]["testcases"][id]["evidence"];
                for f in ev.as_array().into_iter().flatten() {
                    evidence.push(f["message"].as_str().unwrap().to_string());
                }
            }
            out.push((name.clone(), id.clone(), result, reason, evidence));
        }
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A run against a broken simulated cloud writing JSON and HTML.
fn broken_run(home: &Path) -> (String, serde_json::Value) {
    let fixture = repo().join("fixtures/clouds/flavors-broken.yaml");
    let output = isolated(home)
        .args([
            "run", "iaas", "-q", "-s", "demo", "--json", "r.json", "--html", "r.html",
        ])
        .arg("--simulate")
        .arg(&fixture)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("wrote r.html"), "{stderr}");
    let page = std::fs::read_to_string(home.join("r.html")).unwrap();
    let json =
        serde_json::from_str(&std::fs::read_to_string(home.join("r.json")).unwrap()).unwrap();
    (page, json)
}

#[test]
fn the_page_is_well_formed_self_contained_and_complete() {
    let home = tempfile::tempdir().unwrap();
    let (page, json) = broken_run(home.path());
    check_well_formed(&page).unwrap();
    // Nothing is loaded from elsewhere and no link leaves the page.
    for banned in ["src=", "href=\"http", "<script", "<link", "@import", "url("] {
        assert!(!page.contains(banned), "the page contains {banned}");
    }
    assert!(page.contains("<style>"));
    let results = results(&json);
    assert!(results.iter().any(|r| r.2 == "FAIL"), "{results:?}");
    for (version, id, result, reason, evidence) in &results {
        // Each version's table has a row with the id, the verdict badge and the reason.
        let section_start = page
            .find(&format!("<h2>{}", escape(version)))
            .unwrap_or_else(|| panic!("no section for {version}"));
        let section = &page[section_start..];
        let section = &section[..section.find("</section>").unwrap()];
        let row = section
            .lines()
            .find(|l| {
                l.starts_with("<tr class=\"r-")
                    && l.contains(&format!("<code>{}</code>", escape(id)))
            })
            .unwrap_or_else(|| panic!("no row for {id} in {version}"));
        assert!(
            row.contains(&format!(
                "class=\"verdict v-{}\">{result}<",
                result.to_lowercase()
            )),
            "{id}: {row}"
        );
        assert!(row.contains(&escape(reason)), "{id}: {row}");
        if result != "PASS" {
            // The evidence block of a non-PASS carries every finding.
            let block_start = section
                .find(&format!("<h4><code>{}</code>", escape(id)))
                .unwrap_or_else(|| panic!("no evidence block for {id} in {version}"));
            let block = &section[block_start..];
            let block = &block[..block.find("</div>").unwrap()];
            assert!(!evidence.is_empty(), "{id} has no findings in the JSON");
            for message in evidence {
                assert!(
                    block.contains(&escape(message)),
                    "{id}: {message} not in {block}"
                );
            }
        }
    }
    // The run's metadata.
    for fact in [
        "demo",
        "Simulated cloud",
        "yes: a simulated run is no certificate",
        "API requests",
        env!("CARGO_PKG_VERSION"),
    ] {
        assert!(page.contains(fact), "no {fact}");
    }
    let run_uuid = json["run"]["uuid"].as_str().unwrap();
    assert!(page.contains(run_uuid));
}

#[test]
fn what_a_cloud_sends_is_escaped() {
    let home = tempfile::tempdir().unwrap();
    let (_, mut json) = broken_run(home.path());
    // Put markup where a cloud or a label could: the subject and the findings and reasons.
    let evil = "<script>alert(\"x\")</script><img src=x onerror='alert(1)'> & </code>";
    json["subject"] = evil.into();
    let versions = json["scs_check"]["versions"].as_array_mut().unwrap();
    let mut touched = 0;
    for version in versions {
        for (_, tc) in version["testcases"].as_object_mut().unwrap() {
            if tc["result"] == "FAIL" {
                tc["reason"] = evil.into();
                touched += 1;
            }
        }
    }
    for (_, inv) in json["run"]["invocations"].as_object_mut().unwrap() {
        let testcases = inv
            .get_mut("scs_check")
            .and_then(|e| e.get_mut("testcases"))
            .and_then(|t| t.as_object_mut());
        for (_, tc) in testcases.into_iter().flatten() {
            let findings = tc.get_mut("evidence").and_then(|e| e.as_array_mut());
            for f in findings.into_iter().flatten() {
                f["object"] = evil.into();
            }
        }
    }
    assert!(touched > 0);
    std::fs::write(
        home.path().join("evil.json"),
        serde_json::to_string(&json).unwrap(),
    )
    .unwrap();
    let output = isolated(home.path())
        .args(["report", "evil.json", "-f", "html", "-o", "evil.html"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let page = std::fs::read_to_string(home.path().join("evil.html")).unwrap();
    check_well_formed(&page).unwrap();
    assert!(!page.contains("<script"));
    assert!(!page.contains("<img"));
    let escaped = escape(evil);
    assert!(page.contains(&format!("<title>{escaped}: ")));
    // Reasons in the rows and evidence blocks, objects in the findings.
    assert!(page.matches(&escaped).count() > 2 * touched, "{page}");
}

#[test]
fn the_checker_rejects_broken_pages() {
    let ok = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body><p>a &amp; b</p></body></html>\n";
    check_well_formed(ok).unwrap();
    for bad in [
        "<html><body></body></html>",
        "<!DOCTYPE html><html><body><p></body></html>",
        "<!DOCTYPE html><html><body><p>a & b</p></body></html>",
        "<!DOCTYPE html><html><body><p class=x></p></body></html>",
        "<!DOCTYPE html><html><body></body></html><p></p>",
        "<!DOCTYPE html><html><body>",
    ] {
        assert!(check_well_formed(bad).is_err(), "{bad}");
    }
}

#[test]
fn several_reports_are_refused_for_one_page() {
    let home = tempfile::tempdir().unwrap();
    broken_run(home.path());
    // Two YAML documents in one file (as batch writes them).
    let yaml = isolated(home.path())
        .args(["report", "r.json", "-f", "yaml"])
        .output()
        .unwrap();
    assert!(yaml.status.success());
    let text = String::from_utf8_lossy(&yaml.stdout).to_string();
    std::fs::write(home.path().join("two.yaml"), format!("{text}{text}")).unwrap();
    let output = isolated(home.path())
        .args(["report", "two.yaml", "-f", "html"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("two.yaml: holds 2 reports"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
