//! The schema check of the manifests `scs-check deploy` writes (and that its tests run on
//! them): every document must deserialize into its `k8s-openapi` type *and serialize back to
//! the same tree* (the typed deserializers ignore unknown fields; the round trip finds a
//! misspelt or misplaced one), and pass our own rules: names valid as DNS-1123, an explicit
//! `restartPolicy` of `Never` or `OnFailure`, an image and CPU/memory requests on every
//! container, mounts that name a volume of the pod, a valid cron schedule, and no secret
//! material inline (no `Secret` objects, no literal env values with secret-like names, no
//! private keys or secret files in a ConfigMap).

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::ConfigMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Whether `s` is a DNS-1123 label: 1 to 63 lowercase letters, digits and `-`, starting and
/// ending with a letter or digit.
pub fn is_dns_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Whether `s` is a DNS-1123 subdomain: at most 253 characters of labels joined by `.`.
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// Whether `s` is a Kubernetes quantity such as `250m`, `1.5`, `512Mi`, `2G` or `1e3`.
pub fn is_quantity(s: &str) -> bool {
    const SUFFIXES: [&str; 15] = [
        "", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n",
    ];
    let number_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(number_end);
    let number_ok = !number.is_empty()
        && number.matches('.').count() <= 1
        && number.chars().any(|c| c.is_ascii_digit());
    let exponent = |e: &str| {
        e.strip_prefix(['e', 'E'])
            .is_some_and(|d| d.trim_start_matches(['+', '-']).parse::<u32>().is_ok())
    };
    number_ok && (SUFFIXES.contains(&suffix) || exponent(suffix))
}

/// Checks a cron schedule as the CronJob controller reads it: five fields (minute, hour, day
/// of month, month, day of week) of numbers in range, `*`, lists, ranges and steps, month and
/// weekday names, or a macro (`@daily`, ...). `CRON_TZ=`/`TZ=` prefixes are refused: the time
/// zone is the CronJob's `timeZone`.
pub fn cron_schedule(schedule: &str) -> Result<(), String> {
    const MACROS: [&str; 7] = [
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ];
    if MACROS.contains(&schedule.trim()) {
        return Ok(());
    }
    if schedule.contains("TZ=") {
        return Err("no time zone in the schedule (the CronJob's timeZone is UTC)".into());
    }
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected five fields (minute hour day-of-month month day-of-week), found {}",
            fields.len()
        ));
    }
    const RANGES: [(&str, u32, u32); 5] = [
        ("minute", 0, 59),
        ("hour", 0, 23),
        ("day of month", 1, 31),
        ("month", 1, 12),
        ("day of week", 0, 7),
    ];
    for (field, (what, low, high)) in fields.iter().zip(RANGES) {
        for part in field.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((r, s)) => (r, Some(s)),
                None => (part, None),
            };
            if let Some(step) = step
                && step.parse::<u32>().map_or(true, |s| s == 0)
            {
                return Err(format!("{what}: step {step:?} is not a positive number"));
            }
            if range == "*" || range == "?" {
                continue;
            }
            for value in range.split('-') {
                let ok = match value.parse::<u32>() {
                    Ok(v) => (low..=high).contains(&v),
                    // Names (JAN, MON) are only valid in the month and weekday fields.
                    Err(_) => {
                        (what == "month" || what == "day of week")
                            && value.len() == 3
                            && value.chars().all(|c| c.is_ascii_alphabetic())
                    }
                };
                if !ok || value.is_empty() {
                    return Err(format!("{what}: {part:?} is not in {low}-{high}"));
                }
            }
        }
    }
    Ok(())
}

/// Checks the YAML documents of one manifest file; returns the problems (empty: it passes),
/// each naming the document's kind and name and the path of the field.
pub fn check_manifest(text: &str) -> Vec<String> {
    let docs: Vec<Value> = match serde_saphyr::from_str_multiple(text) {
        Ok(docs) => docs,
        Err(e) => return vec![format!("not YAML: {}", e.without_snippet())],
    };
    let mut problems = vec![];
    if docs.is_empty() {
        problems.push("no manifest in the file".to_string());
    }
    for doc in &docs {
        check_document(doc, &mut problems);
    }
    problems
}

fn check_document(doc: &Value, problems: &mut Vec<String>) {
    let kind = doc["kind"].as_str().unwrap_or_default();
    let name = doc["metadata"]["name"].as_str().unwrap_or_default();
    let at = format!(
        "{} {name:?}",
        if kind.is_empty() { "(no kind)" } else { kind }
    );
    let mut say = |what: String| problems.push(format!("{at}: {what}"));
    let (api_version, max_name) = match kind {
        "CronJob" => ("batch/v1", 52),
        "Job" => ("batch/v1", 63),
        "ConfigMap" => ("v1", 253),
        "Secret" => {
            say(
                "a Secret with its data in a manifest; Secrets are created with kubectl from \
                 files and only referred to"
                    .into(),
            );
            return;
        }
        other => {
            say(format!("kind {other:?} is not one the generator writes"));
            return;
        }
    };
    if doc["apiVersion"] != api_version {
        say(format!("apiVersion must be {api_version}"));
    }
    if !(is_dns_subdomain(name) && name.len() <= max_name) {
        say(format!(
            "metadata.name must be a DNS-1123 name of at most {max_name} characters"
        ));
    }
    if let Some(ns) = doc["metadata"].get("namespace")
        && !ns.as_str().is_some_and(is_dns_label)
    {
        say("metadata.namespace must be a DNS-1123 label".into());
    }
    let unknown = match kind {
        "CronJob" => round_trip::<CronJob>(doc),
        "Job" => round_trip::<Job>(doc),
        _ => round_trip::<ConfigMap>(doc),
    };
    for problem in unknown {
        say(problem);
    }
    secret_material(doc, "", &mut say);
    match kind {
        "CronJob" => {
            match doc["spec"]["schedule"].as_str() {
                Some(s) => {
                    if let Err(why) = cron_schedule(s) {
                        say(format!("spec.schedule: {why}"));
                    }
                }
                None => say("spec.schedule is missing".into()),
            }
            job_spec(
                &doc["spec"]["jobTemplate"]["spec"],
                "spec.jobTemplate.spec",
                &mut say,
            );
        }
        "Job" => job_spec(&doc["spec"], "spec", &mut say),
        _ => config_map(doc, &mut say),
    }
}

/// Deserializes into `T` and back; every field of `doc` that does not come back is unknown to
/// the type (or of the wrong type).
fn round_trip<T: DeserializeOwned + Serialize>(doc: &Value) -> Vec<String> {
    let typed: T = match serde_json::from_value(doc.clone()) {
        Ok(t) => t,
        Err(e) => return vec![format!("does not match the Kubernetes type: {e}")],
    };
    let back = serde_json::to_value(&typed).unwrap_or(Value::Null);
    let mut out = vec![];
    lost_fields(doc, &back, "", &mut out);
    out
}

fn lost_fields(original: &Value, back: &Value, path: &str, out: &mut Vec<String>) {
    match (original, back) {
        (Value::Object(o), Value::Object(b)) => {
            for (key, value) in o {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match b.get(key) {
                    Some(v) => lost_fields(value, v, &here, out),
                    None => out.push(format!("unknown field {here}")),
                }
            }
        }
        (Value::Array(o), Value::Array(b)) if o.len() == b.len() => {
            for (i, (x, y)) in o.iter().zip(b).enumerate() {
                lost_fields(x, y, &format!("{path}[{i}]"), out);
            }
        }
        (o, b) if o == b => {}
        // Numbers may come back as another JSON number type (1 vs 1.0).
        (Value::Number(x), Value::Number(y)) if x.as_f64() == y.as_f64() => {}
        _ => out.push(format!(
            "{path} does not keep its value through the Kubernetes type"
        )),
    }
}

fn job_spec(spec: &Value, at: &str, say: &mut impl FnMut(String)) {
    if spec["completionMode"] == "Indexed" {
        for key in ["completions", "parallelism"] {
            if spec[key].as_i64().is_none_or(|n| n < 1) {
                say(format!("{at}.{key} must be at least 1 for an indexed Job"));
            }
        }
    }
    let pod = &spec["template"]["spec"];
    let at = format!("{at}.template.spec");
    match pod["restartPolicy"].as_str() {
        Some("Never") => {}
        Some("OnFailure") if spec.get("podFailurePolicy").is_none() => {}
        Some(other) => say(format!(
            "{at}.restartPolicy {other:?}: a Job's pods need Never (OnFailure without a podFailurePolicy)"
        )),
        None => say(format!(
            "{at}.restartPolicy is missing (Never or OnFailure)"
        )),
    }
    let volumes: Vec<&str> = pod["volumes"]
        .as_array()
        .map(|v| v.iter().filter_map(|v| v["name"].as_str()).collect())
        .unwrap_or_default();
    let containers = pod["containers"].as_array().cloned().unwrap_or_default();
    if containers.is_empty() {
        say(format!("{at}.containers is empty"));
    }
    for (i, c) in containers.iter().enumerate() {
        let at = format!("{at}.containers[{i}]");
        if !c["name"].as_str().is_some_and(is_dns_label) {
            say(format!("{at}.name must be a DNS-1123 label"));
        }
        if c["image"].as_str().is_none_or(|s| s.trim().is_empty()) {
            say(format!("{at}.image is not set"));
        }
        for resource in ["cpu", "memory"] {
            match c["resources"]["requests"][resource].as_str() {
                Some(q) if is_quantity(q) => {}
                Some(q) => say(format!(
                    "{at}.resources.requests.{resource} {q:?} is not a quantity"
                )),
                None => say(format!("{at}.resources.requests.{resource} is missing")),
            }
        }
        for m in c["volumeMounts"].as_array().into_iter().flatten() {
            let name = m["name"].as_str().unwrap_or_default();
            if !volumes.contains(&name) {
                say(format!(
                    "{at}: volumeMount {name:?} names no volume of the pod"
                ));
            }
        }
        for e in c["env"].as_array().into_iter().flatten() {
            let name = e["name"].as_str().unwrap_or_default();
            let upper = name.to_ascii_uppercase();
            if e.get("value").is_some()
                && ["PASSWORD", "TOKEN", "SECRET", "CREDENTIAL", "KEY"]
                    .iter()
                    .any(|w| upper.contains(w))
            {
                say(format!(
                    "{at}: env {name} has a literal value; secrets come from a Secret (valueFrom or a volume)"
                ));
            }
        }
    }
}

fn config_map(doc: &Value, say: &mut impl FnMut(String)) {
    let mut size = 0;
    for (key, value) in doc["data"].as_object().into_iter().flatten() {
        size += key.len() + value.as_str().map_or(0, str::len);
        let valid = !key.is_empty()
            && key.len() <= 253
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !valid {
            say(format!("data key {key:?} is not a valid ConfigMap key"));
        }
        let lower = key.to_ascii_lowercase();
        if ["keyfile", "tokenfile", "clouds.yaml", "secure.yaml"].contains(&lower.as_str())
            || lower.contains("kubeconfig")
        {
            say(format!(
                "data key {key:?} looks like a secret file; it belongs in a Secret"
            ));
        }
    }
    if size > 1 << 20 {
        say(format!(
            "data takes {size} bytes, more than the 1 MiB a ConfigMap holds"
        ));
    }
}

/// Any string that holds a private key or certificate key block.
fn secret_material(value: &Value, path: &str, say: &mut impl FnMut(String)) {
    match value {
        Value::String(s) if s.contains("PRIVATE KEY-----") || s.contains("BEGIN OPENSSH") => {
            say(format!("{path} holds a private key"));
        }
        Value::Object(map) => {
            for (k, v) in map {
                secret_material(v, &format!("{path}.{k}"), say);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                secret_material(v, &format!("{path}[{i}]"), say);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_quantities_and_schedules() {
        assert!(is_dns_label("scs-check-0"));
        for bad in ["", "-a", "a-", "A", "a_b", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
        assert!(is_dns_subdomain("a.b-c"));
        assert!(!is_dns_subdomain("a..b"));
        for good in ["250m", "1", "1.5", "512Mi", "2G", "1e3", "0.5Gi"] {
            assert!(is_quantity(good), "{good}");
        }
        for bad in ["", "Mi", "1.2.3", "12 Mi", "5MB", "-1"] {
            assert!(!is_quantity(bad), "{bad}");
        }
        for good in [
            "0 3 * * *",
            "*/15 1-5 1,15 JAN-MAR MON-FRI",
            "@daily",
            "0 0 * * 7",
        ] {
            assert_eq!(cron_schedule(good), Ok(()), "{good}");
        }
        for (bad, says) in [
            ("0 3 * *", "five fields"),
            ("60 3 * * *", "minute"),
            ("0 24 * * *", "hour"),
            ("0 3 0 * *", "day of month"),
            ("*/0 * * * *", "step"),
            ("CRON_TZ=UTC 0 3 * * *", "time zone"),
            ("0 3 MON * *", "day of month"),
        ] {
            let err = cron_schedule(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
