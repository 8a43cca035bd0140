//! Executes the README: every ```yaml settings block must be accepted by the
//! built policy and give the verdicts its `<!-- allow: …; deny: … -->` line
//! promises; every ```yaml settings-invalid block must be refused with the
//! message its `<!-- error: … -->` line quotes; the ClusterAdmissionPolicy
//! (```yaml policy) must carry valid settings.

use registry_guard_e2e::{evaluate, pod, policy, repo_root};
use serde_json::Value;

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

/// `allow: a b; deny: c d` → (["a", "b"], ["c", "d"]).
fn images(expectation: &str) -> (Vec<String>, Vec<String>) {
    let (mut allow, mut deny) = (Vec::new(), Vec::new());
    for part in expectation.split(';') {
        let part = part.trim();
        let (list, images) = if let Some(rest) = part.strip_prefix("allow:") {
            (&mut allow, rest)
        } else if let Some(rest) = part.strip_prefix("deny:") {
            (&mut deny, rest)
        } else {
            panic!("unknown expectation {part:?}");
        };
        list.extend(images.split_whitespace().map(str::to_string));
    }
    (allow, deny)
}

#[test]
fn readme_settings_examples_are_valid_and_decide_as_documented() {
    let examples: Vec<Block> = blocks().into_iter().filter(|b| b.kind == "settings").collect();
    assert!(examples.len() >= 12, "the README should keep its settings examples; found {}", examples.len());
    for block in examples {
        let settings = yaml(&block);
        let verdict = policy().validate_settings(&settings);
        assert!(verdict.valid, "README.md:{}: {:?}", block.line, verdict.message);
        let expectation = block
            .expectation
            .as_deref()
            .unwrap_or_else(|| panic!("README.md:{}: no <!-- allow/deny --> line", block.line));
        let (allow, deny) = images(expectation);
        assert!(!allow.is_empty() || !deny.is_empty(), "README.md:{}: nothing to check", block.line);
        for image in allow {
            let response = evaluate(&settings, &pod(&[&image]));
            assert!(response.accepted, "README.md:{}: {image} should be allowed: {:?}", block.line, response.message);
        }
        for image in deny {
            let response = evaluate(&settings, &pod(&[&image]));
            assert!(!response.accepted, "README.md:{}: {image} should be denied", block.line);
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
        let verdict = policy().validate_settings(&document["spec"]["settings"]);
        assert!(verdict.valid, "README.md:{}: {:?}", block.line, verdict.message);
    }
}
