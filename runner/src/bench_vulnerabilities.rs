//! `registry-guard bench`, the vulnerability gate: one namespace holding
//! 5,000 trivy-operator reports of realistic sizes (0 to 49 findings each,
//! 25 on average, as trivy-operator writes them: id, severity, versions,
//! resource, title, link, score), and a Deployment of 3 images, each with 3
//! reports among them. A fresh instance per request, the host answering at
//! once (the list fixed, the digest lookup fixed): what the policy costs.
//!
//! Two answers: the List trimmed to the policy's `field_masks` (what hosts
//! from Kubewarden 1.33 send), and whole (older hosts). The time spent
//! reading the list is the request's time minus the same request without
//! the section: the host's copy of the answer into the guest, and the
//! guest's one pass over it; as bytes per second of the answer.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::capabilities::{Host, LIST_BY_NAMESPACE, MANIFEST_DIGEST};
use crate::host::PolicyModule;

/// Reports in the namespace.
const REPORTS: usize = 5_000;
const IMAGES: [&str; 3] = ["ghcr.io/acme/shop/api", "ghcr.io/acme/shop/cart", "ghcr.io/acme/shop/worker"];

/// The trivy-operator report `i`, for `repository` at `digest`, scanned at `scanned`.
fn report(i: usize, repository: &str, digest: &str, scanned: &str, findings: usize) -> Value {
    const SEVERITIES: [&str; 5] = ["LOW", "MEDIUM", "LOW", "HIGH", "UNKNOWN"];
    let vulnerabilities: Vec<Value> = (0..findings)
        .map(|j| {
            let id = format!("CVE-20{}-{}", 18 + (i + j) % 7, 10_000 + (i * 31 + j * 17) % 89_999);
            json!({
                "vulnerabilityID": id,
                "severity": SEVERITIES[(i + j) % SEVERITIES.len()],
                "fixedVersion": if j % 3 == 0 { String::new() } else { format!("{}.{}.{}-r{}", 1 + j % 4, j % 10, i % 20, j % 5) },
                "installedVersion": format!("{}.{}.{}-r0", 1 + j % 4, j % 10, i % 13),
                "resource": format!("lib{}", ["ssl3", "crypto3", "xml2", "curl", "expat", "zlib", "sqlite3"][j % 7]),
                "title": "a flaw was found that may allow a remote attacker to cause a denial of service",
                "primaryLink": format!("https://avd.aquasec.com/nvd/{}", id.to_lowercase()),
                "score": 5.5 + (j % 4) as f64,
                "target": "",
                "links": [],
            })
        })
        .collect();
    let name = format!("replicaset-app-{i:04}-7d9f8c6b5-app");
    json!({
        "apiVersion": "aquasecurity.github.io/v1alpha1",
        "kind": "VulnerabilityReport",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "uid": format!("8aa1a7cb-a319-4b93-850d-{:012}", i),
            "resourceVersion": format!("{}", 126_783_215 + i),
            "creationTimestamp": scanned,
            "labels": {
                "trivy-operator.container.name": "app",
                "trivy-operator.resource.kind": "ReplicaSet",
                "trivy-operator.resource.name": format!("app-{i:04}-7d9f8c6b5"),
                "trivy-operator.resource.namespace": "shop",
                "resource-spec-hash": "7cb64cb677",
            },
            "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": false, "controller": true,
                                 "kind": "ReplicaSet", "name": format!("app-{i:04}-7d9f8c6b5"),
                                 "uid": "aa345200-cf24-443a-8f11-ddb438ff8659"}],
        },
        "report": {
            "artifact": {"repository": repository.split_once('/').map_or(repository, |(_, r)| r), "tag": "1.0", "digest": digest},
            "registry": {"server": repository.split_once('/').map_or("docker.io", |(host, _)| host)},
            "os": {"family": "alpine", "name": "3.20.3"},
            "scanner": {"name": "Trivy", "vendor": "Aqua Security", "version": "0.58.1"},
            "summary": {"criticalCount": 0, "highCount": vulnerabilities.iter().filter(|v| v["severity"] == "HIGH").count(),
                        "mediumCount": 0, "lowCount": 0, "unknownCount": 0, "noneCount": 0},
            "updateTimestamp": scanned,
            "vulnerabilities": vulnerabilities,
        }
    })
}

fn list(items: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "VulnerabilityReportList",
                               "metadata": {"resourceVersion": "126790000"}, "items": items}))
    .expect("JSON serializes")
}

/// Times requests on fresh instances: `(module, host, payload)` sides →
/// each side's (median, p99).
pub type Compare<'c> =
    dyn Fn(&[(&PolicyModule, &Arc<Host>, &[u8])], usize) -> Result<Vec<(Duration, Duration)>, String> + 'c;

/// The lines of the bench's vulnerability section.
pub fn measure(ours: &PolicyModule, iterations: usize, compare: &Compare<'_>) -> Result<Vec<String>, String> {
    let digest = format!("sha256:{}", "2".repeat(64));
    let scanned = registry_guard::rules::image_config::rfc3339(registry_guard::rules::image_config::now() - 3_600);
    let items: Vec<Value> = (0..REPORTS)
        .map(|i| {
            // Reports 0, 1, 2 are of the Deployment's images (3 each: three
            // replicasets ran them); the others of other images.
            let repository =
                if i < 9 { IMAGES[i % 3].to_string() } else { format!("registry.corp.example/team/app-{i:04}") };
            report(i, &repository, &digest, &scanned, (i * 7_919) % 50)
        })
        .collect();
    let masks: Vec<&str> = registry_guard::host::vulnerability_reports::field_masks(
        registry_guard::rules::vulnerabilities::ReportKind::TrivyOperator,
    )
    .to_vec();
    let masked = list(items.iter().map(|item| crate::reports::masked(item, &masks)).collect());
    let whole = list(items);
    let answer_digest = format!(r#"{{"digest":"{digest}"}}"#);
    let host = |answer: &[u8]| {
        Arc::new(
            Host::default()
                .with_fixed_answer(MANIFEST_DIGEST, answer_digest.as_bytes())
                .with_fixed_answer(LIST_BY_NAMESPACE, answer),
        )
    };
    let (masked_host, whole_host, no_host) = (host(&masked), host(&whole), Arc::new(Host::default()));
    let containers: Vec<Value> = IMAGES
        .iter()
        .enumerate()
        .map(|(i, image)| json!({"name": format!("c{i}"), "image": format!("{image}:1.0")}))
        .collect();
    let object = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "shop", "namespace": "shop"},
                        "spec": {"template": {"spec": {"containers": containers}}}});
    let request = crate::admission::create_request(&object, "bench");
    let gate = json!({"vulnerabilities": {"reports": ["trivy-operator"], "maxAge": "168h", "limits": {"critical": 0, "high": 10}}});
    let payload =
        |settings: &Value| serde_json::to_vec(&json!({"request": request, "settings": settings})).expect("JSON");
    let (with_gate, without) = (payload(&gate), payload(&json!({})));
    let timings = compare(
        &[(ours, &masked_host, &with_gate), (ours, &whole_host, &with_gate), (ours, &no_host, &without)],
        iterations,
    )?;
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    let rate = |bytes: usize, with: Duration| {
        let reading = with.saturating_sub(timings[2].0).as_secs_f64();
        format!("{:.0} MB/s", bytes as f64 / 1e6 / reading.max(1e-9))
    };
    let mb = |bytes: usize| format!("{:.1} MB", bytes as f64 / 1e6);
    Ok(vec![
        format!(
            "vulnerabilities: a Deployment of 3 images, one namespace of {REPORTS} trivy-operator reports (fresh instance per request, {iterations} requests)"
        ),
        format!("{:<38} {:>11} {:>11} {:>11} {:>14}", "", "answer", "median", "p99", "reading"),
        format!(
            "{:<38} {:>11} {:>11} {:>11} {:>14}",
            "List trimmed by field_masks (1.33+)",
            mb(masked.len()),
            ms(timings[0].0),
            ms(timings[0].1),
            rate(masked.len(), timings[0].0)
        ),
        format!(
            "{:<38} {:>11} {:>11} {:>11} {:>14}",
            "List whole (hosts before 1.33)",
            mb(whole.len()),
            ms(timings[1].0),
            ms(timings[1].1),
            rate(whole.len(), timings[1].0)
        ),
        format!(
            "{:<38} {:>11} {:>11} {:>11}",
            "the same request, no vulnerabilities",
            "-",
            ms(timings[2].0),
            ms(timings[2].1)
        ),
    ])
}
