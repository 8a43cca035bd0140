//! Executes the README: every ```yaml settings block must be accepted by the
//! built policy and give the verdicts its `<!-- … -->` line promises
//! (`allow: images` accepted unchanged, `deny: images` rejected,
//! `rewrite: image => image` accepted and rewritten, `warn: image` accepted
//! unchanged with a warning; digests come from examples/mutation/digests.yaml,
//! signatures from examples/signatures/sigstore.yaml, image configs from
//! examples/image-config/image-configs.yaml; for `vulnerabilities`
//! settings, digests and scan reports from examples/vulnerabilities, at the
//! time those are written for);
//! every ```yaml settings-invalid block must be refused with the message its
//! `<!-- error: … -->` line quotes; every ClusterAdmissionPolicy (```yaml
//! policy) must carry valid settings, and be mutating exactly when they mutate.

use registry_guard_e2e::{pod, policy, policy_for_vulnerabilities, policy_with_files, repo_root, request};
use serde_json::Value;

const DIGESTS: &str = "examples/mutation/digests.yaml";
const SIGSTORE: &str = "examples/signatures/sigstore.yaml";
const CONFIGS: &str = "examples/image-config/image-configs.yaml";

struct Block {
    line: usize,
    kind: String,
    text: String,
    /// The `<!-- … -->` line just above the block, without the markers.
    expectation: Option<String>,
}

fn blocks() -> Vec<Block> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let lines: Vec<&str> = readme.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if let Some(kind) = lines[i].strip_prefix("```yaml ") {
            let expectation = i
                .checked_sub(1)
                .and_then(|p| lines[p].strip_prefix("<!-- "))
                .and_then(|c| c.strip_suffix(" -->"))
                .map(str::to_string);
            let start = i;
            i += 1;
            let mut text = String::new();
            while i < lines.len() && lines[i] != "```" {
                text.push_str(lines[i]);
                text.push('\n');
                i += 1;
            }
            out.push(Block { line: start + 1, kind: kind.trim().to_string(), text, expectation });
        }
        i += 1;
    }
    out
}

fn yaml(block: &Block) -> Value {
    serde_yaml::from_str(&block.text).unwrap_or_else(|e| panic!("README.md:{}: {e}", block.line))
}

#[derive(Default)]
struct Expectation {
    allow: Vec<String>,
    deny: Vec<String>,
    /// (image, what it is rewritten to)
    rewrite: Vec<(String, String)>,
    warn: Vec<String>,
}

/// `allow: a b; deny: c d; rewrite: e => f; warn: g`.
fn expectation(text: &str) -> Expectation {
    let mut out = Expectation::default();
    for part in text.split(';') {
        let (kind, images) = part.trim().split_once(':').unwrap_or_else(|| panic!("unknown expectation {part:?}"));
        let images = images.split_whitespace().map(str::to_string);
        match kind {
            "allow" => out.allow.extend(images),
            "deny" => out.deny.extend(images),
            "warn" => out.warn.extend(images),
            "rewrite" => {
                let (from, to) = part.split_once(':').unwrap().1.split_once("=>").expect("rewrite: a => b");
                out.rewrite.push((from.trim().to_string(), to.trim().to_string()));
            }
            other => panic!("unknown expectation {other:?}"),
        }
    }
    out
}

/// The policy's answer for a Pod running `image`, with the README's digests
/// and signatures.
fn respond(settings: &Value, image: &str) -> registry_guard_runner::host::ValidationResponse {
    let policy = match settings.get("vulnerabilities") {
        Some(_) => policy_for_vulnerabilities(),
        None => policy_with_files(Some(DIGESTS), Some(SIGSTORE), Some(CONFIGS)),
    };
    policy.validate(&request("CREATE", &pod(&[image])), settings)
}

fn rewritten_image(response: &registry_guard_runner::host::ValidationResponse) -> Option<&str> {
    response.mutated_object.as_ref().map(|o| o["spec"]["containers"][0]["image"].as_str().unwrap())
}

#[test]
fn readme_settings_examples_are_valid_and_decide_as_documented() {
    let examples: Vec<Block> = blocks().into_iter().filter(|b| b.kind == "settings").collect();
    assert!(examples.len() >= 12, "the README should keep its settings examples; found {}", examples.len());
    for block in examples {
        let settings = yaml(&block);
        let verdict = policy().validate_settings(&settings);
        assert!(verdict.valid, "README.md:{}: {:?}", block.line, verdict.message);
        let expectation_text = block
            .expectation
            .as_deref()
            .unwrap_or_else(|| panic!("README.md:{}: no <!-- allow/deny --> line", block.line));
        let Expectation { allow, deny, rewrite, warn } = expectation(expectation_text);
        let line = block.line;
        assert!(allow.len() + deny.len() + rewrite.len() + warn.len() > 0, "README.md:{line}: nothing to check");
        for image in allow {
            let response = respond(&settings, &image);
            assert!(response.accepted, "README.md:{line}: {image} should be allowed: {:?}", response.message);
            assert_eq!(rewritten_image(&response), None, "README.md:{line}: {image} should not be rewritten");
        }
        for image in deny {
            let response = respond(&settings, &image);
            assert!(!response.accepted, "README.md:{line}: {image} should be denied");
        }
        for (image, expected) in rewrite {
            let response = respond(&settings, &image);
            assert!(response.accepted, "README.md:{line}: {image} should be allowed: {:?}", response.message);
            // Rewritten to itself: accepted with no mutation.
            let expected = (expected != image).then_some(expected.as_str());
            assert_eq!(rewritten_image(&response), expected, "README.md:{line}: {image}");
        }
        for image in warn {
            let response = respond(&settings, &image);
            assert!(response.accepted, "README.md:{line}: {image} should be allowed: {:?}", response.message);
            let warnings = response.warnings.unwrap_or_default();
            assert!(warnings.len() == 1 && warnings[0].contains(&image), "README.md:{line}: {image}: {warnings:?}");
        }
    }
}

#[test]
fn readme_invalid_settings_examples_are_refused_with_the_quoted_message() {
    let examples: Vec<Block> = blocks().into_iter().filter(|b| b.kind == "settings-invalid").collect();
    assert!(!examples.is_empty());
    for block in examples {
        let expected = block
            .expectation
            .as_deref()
            .and_then(|e| e.strip_prefix("error: "))
            .unwrap_or_else(|| panic!("README.md:{}: no <!-- error: … --> line", block.line));
        let verdict = policy().validate_settings(&yaml(&block));
        assert!(!verdict.valid, "README.md:{}: accepted", block.line);
        assert_eq!(verdict.message.as_deref(), Some(expected), "README.md:{}", block.line);
    }
}

#[test]
fn readme_cluster_admission_policy_has_valid_settings() {
    let policies: Vec<Block> = blocks().into_iter().filter(|b| b.kind == "policy").collect();
    assert!(!policies.is_empty());
    for block in policies {
        let document = yaml(&block);
        assert_eq!(document["kind"], "ClusterAdmissionPolicy", "README.md:{}", block.line);
        let settings = &document["spec"]["settings"];
        let verdict = policy().validate_settings(settings);
        assert!(verdict.valid, "README.md:{}: {:?}", block.line, verdict.message);
        let mutates = settings.get("mirrors").is_some()
            || settings["digests"].get("pin").is_some_and(|pin| pin != "never")
            || (settings.get("signatures").is_some() && settings["modifyImagesWithDigest"] != false);
        assert_eq!(document["spec"]["mutating"], mutates, "README.md:{}: spec.mutating", block.line);
    }
}

/// `images: field field; warn: field`: the fields denied under
/// `registries.allow: []`, and the fields warned about.
fn found_expectation(block: &Block) -> (Vec<String>, Vec<String>) {
    let text =
        block.expectation.as_deref().unwrap_or_else(|| panic!("README.md:{}: no <!-- images: --> line", block.line));
    let (mut images, mut warn) = (Vec::new(), Vec::new());
    for part in text.split(';') {
        let (kind, fields) = part.trim().split_once(':').unwrap();
        let fields = fields.split_whitespace().map(str::to_string);
        match kind {
            "images" => images.extend(fields),
            "warn" => warn.extend(fields),
            other => panic!("README.md:{}: unknown expectation {other:?}", block.line),
        }
    }
    (images, warn)
}

/// The "Where images are found" examples (and imageFields'): every image
/// the README says is found is denied under `registries.allow: []`, and
/// nothing else; the warned fields are warned about.
#[test]
fn readme_objects_have_exactly_the_images_it_lists() {
    let mut image_fields = None;
    let mut checked = 0;
    for block in blocks() {
        if block.kind == "settings"
            && let Some(fields) = yaml(&block).get("imageFields")
        {
            image_fields = Some(fields.clone());
        }
        if block.kind != "object" {
            continue;
        }
        let line = block.line;
        let (images, warn) = found_expectation(&block);
        let mut settings = serde_json::json!({"registries": {"allow": []}});
        if let Some(fields) = &image_fields {
            settings["imageFields"] = fields.clone();
        }
        let response = policy().validate(&request("CREATE", &yaml(&block)), &settings);
        let message = response.message.clone().unwrap_or_default();
        assert_eq!(response.accepted, images.is_empty(), "README.md:{line}: {message}");
        // Compared as sets: the test's JSON maps sort keys, so the message's
        // order is not the YAML's.
        let mut denied: Vec<&str> = if message.is_empty() {
            Vec::new()
        } else {
            message.split("; ").map(|v| v.split(' ').next().unwrap()).collect()
        };
        denied.sort_unstable();
        let mut images = images;
        images.sort_unstable();
        assert_eq!(denied, images, "README.md:{line}: {message}");
        let warnings = response.warnings.unwrap_or_default();
        let warned: Vec<&str> = warnings.iter().map(|w| w.split(' ').next().unwrap()).collect();
        assert_eq!(warned, warn, "README.md:{line}: {warnings:?}");
        checked += 1;
    }
    assert!(checked >= 8, "the README should keep its object examples; found {checked}");
}

/// The extra `rules` of "Deploying it" name only kinds that the "Where
/// images are found" table lists for their group (plus OpenShift's
/// DeploymentConfig, a pod template kind).
#[test]
fn readme_extra_rules_name_kinds_the_policy_reads() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let mut kinds: Vec<(String, String)> = Vec::new();
    for row in readme.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        for group in cells[1].split(", ").map(|g| g.trim_matches('`')) {
            for kind in cells[2].split(", ") {
                kinds.push((group.to_string(), kind.trim().to_string()));
            }
        }
    }
    kinds.push(("apps.openshift.io".into(), "DeploymentConfig".into()));
    let block = blocks().into_iter().find(|b| b.kind == "rules").expect("a ```yaml rules block");
    let rules = yaml(&block);
    let mut listed = 0;
    for rule in rules.as_array().unwrap() {
        assert_eq!(rule["operations"], serde_json::json!(["CREATE", "UPDATE"]), "README.md:{}", block.line);
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                let (group, resource) = (group.as_str().unwrap(), resource.as_str().unwrap());
                let known = kinds.iter().any(|(g, k)| {
                    let plural = if k.ends_with('y') { format!("{}ies", &k[..k.len() - 1]) } else { format!("{k}s") };
                    g == group && plural.to_lowercase() == resource
                });
                assert!(known, "README.md:{}: {group}/{resource} is not a kind the policy reads", block.line);
                listed += 1;
            }
        }
    }
    assert!(listed >= 20, "{listed}");
}

/// The import examples (```yaml import, one per source): imported with
/// nothing left untranslated, accepted by the policy, and deciding as their
/// `<!-- import: [mode: M;] allow: …; deny: … -->` line says (`mode:` runs
/// `--as-policy` and checks the mode printed).
#[test]
fn readme_import_examples_import_and_decide_as_documented() {
    use registry_guard_runner::import::{Imported, Options};
    let mut kinds = Vec::new();
    for block in blocks().into_iter().filter(|b| b.kind == "import") {
        let line = block.line;
        let text = block.expectation.as_deref().and_then(|e| e.strip_prefix("import: "));
        let text = text.unwrap_or_else(|| panic!("README.md:{line}: no <!-- import: … --> line"));
        let (mut mode, mut rest) = (None, Vec::new());
        for part in text.split(';') {
            match part.trim().strip_prefix("mode: ") {
                Some(m) => mode = Some(m.to_string()),
                None => rest.push(part),
            }
        }
        let Expectation { allow, deny, .. } = expectation(&rest.join(";"));
        let documents = registry_guard_runner::manifests::parse_documents("README.md", &block.text).unwrap();
        kinds.extend(documents.iter().map(|d| d.value["kind"].as_str().unwrap_or("settings").to_string()));
        let options = Options { as_policy: mode.as_ref().map(|_| "imported".to_string()) };
        let imported = Imported::read_with(&documents, &options);
        assert!(imported.untranslatable.is_empty(), "README.md:{line}: {:?}", imported.untranslatable);
        let settings = imported.settings();
        assert!(policy().validate_settings(&settings).valid, "README.md:{line}");
        if let Some(mode) = mode {
            let resource: Value = serde_yaml::from_str(&imported.policy_yaml("imported")).unwrap();
            assert_eq!(resource["spec"]["mode"], mode.as_str(), "README.md:{line}");
            assert_eq!(resource["spec"]["settings"], settings, "README.md:{line}");
        }
        assert!(!allow.is_empty() || !deny.is_empty(), "README.md:{line}: nothing to check");
        for image in allow {
            let response = respond(&settings, &image);
            assert!(response.accepted, "README.md:{line}: {image} should be allowed: {:?}", response.message);
        }
        for image in deny {
            assert!(!respond(&settings, &image).accepted, "README.md:{line}: {image} should be denied");
        }
    }
    for kind in
        ["ClusterPolicy", "K8sAllowedRepos", "Image", "settings", "ClusterAdmissionPolicy", "ClusterImagePolicy"]
    {
        assert!(kinds.iter().any(|k| k == kind), "the README's import section should keep an example of {kind}");
    }
}
