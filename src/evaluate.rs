//! The verdict on one found image, and what to write in its place:
//!
//! 1. parse the image as written (refused when it cannot be parsed);
//! 2. mirrors: the first matching rule moves it to its mirror;
//! 3. the rules (`rules::decide`) on the mirrored image; when pinning will
//!    be tried, the digest requirement waits for step 4. A refused image is
//!    never looked up;
//! 4. `digests.pin`: an image without a digest is looked up (the registry,
//!    path and tag after mirroring, `:latest` when no tag is written) and
//!    pinned to `…:tag@digest`; the rules run again on the pinned image, so a
//!    digest in `images.reject` refuses a tag that points to it. A failed
//!    lookup is a warning (`attempt`) or a refusal (`required`).
//!
//! The rewritten image keeps the user's spelling when only a digest is
//! added (`nginx:1.25` → `nginx:1.25@sha256:…`), and writes the implicit
//! tag out (`nginx` → `nginx:latest@sha256:…`) so readers see what was
//! resolved. A mirrored image is written in full
//! (`registry.corp.example/dockerhub/library/nginx:1.25`).

use crate::references::image::{IMPLICIT_TAG, Image};
use crate::references::reference;
use crate::request::discovery::Found;
use crate::response::{Violation, shorten, subject};
use crate::rules::mirror::Mirrored;
use crate::rules::{self, Pin, Policy, Reason};

/// Asks for the digest an image reference points to now: the host
/// capability in the policy, a fake in tests. `Err` is the host's error.
pub type Lookup<'l> = dyn FnMut(&str) -> Result<String, String> + 'l;

/// What the policy makes of one found image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub violation: Option<Violation>,
    /// The image to write in place of the one found, when it changes.
    pub rewrite: Option<String>,
    pub warning: Option<String>,
}

impl Outcome {
    fn refused(found: &Found<'_>, image: Option<&str>, note: Option<String>, reasons: Vec<String>) -> Self {
        let violation = Violation { field: found.field.clone(), image: image.map(str::to_string), note, reasons };
        Outcome { violation: Some(violation), ..Outcome::default() }
    }
}

fn strings(reasons: &[Reason]) -> Vec<String> {
    reasons.iter().map(ToString::to_string).collect()
}

pub fn evaluate(policy: &Policy<'_>, found: &Found<'_>, lookup: &mut Lookup<'_>) -> Outcome {
    let written = match &found.image {
        Err(problem) => return Outcome::refused(found, None, None, vec![problem.clone()]),
        Ok(written) => written.as_ref(),
    };
    let image = match Image::parse(written) {
        Ok(image) => image,
        Err(e) => return Outcome::refused(found, Some(written), None, vec![e.to_string()]),
    };
    let (image, mirrored) = match policy.mirrors.apply(&image) {
        Mirrored::Unchanged => (image, None),
        Mirrored::Moved(moved) => {
            let text = moved.written();
            (moved, Some(text))
        }
        Mirrored::Refused(why) => {
            return Outcome::refused(found, Some(written), None, strings(&[Reason::MirrorRefused(why)]));
        }
    };
    let mirror_note = || mirrored.as_ref().map(|m| format!("mirrored to {:?}", shorten(m)));

    let pin = policy.pin != Pin::Never && image.digest.is_none();
    let mut reasons = rules::decide(policy, &image);
    if pin {
        reasons.retain(|r| *r != Reason::DigestRequired);
    }
    if !reasons.is_empty() {
        return Outcome::refused(found, Some(written), mirror_note(), strings(&reasons));
    }
    if !pin {
        return Outcome { rewrite: mirrored, ..Outcome::default() };
    }

    // `registry/path:tag`, the implicit tag written out: what the host resolves.
    let query = image.to_string();
    match lookup(&query).and_then(|digest| checked_digest(&digest)) {
        Ok(digest) => {
            let tag = image.tag_for_rules();
            let pinned = Image { tag, digest: Some(&digest), ..image.clone() };
            let reasons = rules::decide(policy, &pinned);
            if !reasons.is_empty() {
                let note = format!("pinned to {:?}", shorten(&pinned.written()));
                return Outcome::refused(found, Some(written), Some(note), strings(&reasons));
            }
            let rewrite = if mirrored.is_some() {
                pinned.written()
            } else {
                let tag = if image.tag.is_none() { format!(":{IMPLICIT_TAG}") } else { String::new() };
                format!("{written}{tag}@{digest}")
            };
            Outcome { rewrite: Some(rewrite), ..Outcome::default() }
        }
        Err(error) => {
            let error = shorten(&error).into_owned();
            if policy.pin == Pin::Required {
                let reason = Reason::PinFailed { image: query, error };
                return Outcome::refused(found, Some(written), mirror_note(), strings(&[reason]));
            }
            let shown = subject(&found.field, Some(written), mirror_note().as_deref());
            let warning = format!("{shown} was not pinned (digests.pin: attempt): the digest of {query:?}: {error}");
            if policy.require_digest {
                let reasons = strings(&[Reason::DigestRequired]);
                let mut outcome = Outcome::refused(found, Some(written), mirror_note(), reasons);
                outcome.warning = Some(warning);
                return outcome;
            }
            Outcome { rewrite: mirrored, warning: Some(warning), ..Outcome::default() }
        }
    }
}

/// A digest the host answered, checked as the reference grammar checks
/// digests: an answer that is not one is a failed lookup, never written
/// into an object.
fn checked_digest(digest: &str) -> Result<String, String> {
    match reference::parse(&format!("x@{digest}")) {
        Ok(_) => Ok(digest.to_string()),
        Err(_) => Err(format!(
            "the host answered {:?}, which is not a digest (sha256, sha384 or sha512, then lowercase hex)",
            shorten(digest)
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::settings;
    use serde_json::json;

    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn policy(settings: serde_json::Value) -> Policy<'static> {
        let text: &'static str = settings.to_string().leak();
        let document = Box::leak(Box::new(crate::request::json::Document::parse(text.as_bytes()).unwrap()));
        settings::compile(document).unwrap()
    }

    /// Evaluates `image` with a registry that knows only `docker.io/library/nginx:1.25`
    /// and `docker.io/library/nginx:latest`; returns the outcome and the lookups made.
    fn run(policy: &Policy, image: &str) -> (Outcome, Vec<String>) {
        let mut asked = Vec::new();
        let mut lookup = |query: &str| {
            asked.push(query.to_string());
            match query {
                "docker.io/library/nginx:1.25"
                | "docker.io/library/nginx:latest"
                | "registry.corp.example/dockerhub/library/nginx:1.25" => Ok(DIGEST.to_string()),
                "docker.io/library/broken:1" => Ok("not-a-digest".to_string()),
                _ => Err("manifest unknown".to_string()),
            }
        };
        let found = Found { field: "spec.containers[0].image".into(), image: Ok(Cow::Borrowed(image)), span: 0..0 };
        (evaluate(policy, &found, &mut lookup), asked)
    }

    fn message(outcome: &Outcome) -> String {
        crate::response::rejection_message(std::slice::from_ref(outcome.violation.as_ref().unwrap()))
    }

    #[test]
    fn without_pin_or_mirrors_nothing_is_rewritten_or_looked_up() {
        let (outcome, asked) = run(&policy(json!({})), "nginx:1.25");
        assert_eq!(outcome, Outcome::default());
        assert!(asked.is_empty());
    }

    #[test]
    fn attempt_pins_found_images_and_keeps_the_spelling() {
        let p = policy(json!({"digests": {"pin": "attempt"}}));
        assert_eq!(run(&p, "nginx:1.25").0.rewrite, Some(format!("nginx:1.25@{DIGEST}")));
        // The implicit tag is written out.
        assert_eq!(run(&p, "nginx").0.rewrite, Some(format!("nginx:latest@{DIGEST}")));
    }

    #[test]
    fn attempt_warns_and_leaves_the_image_when_the_lookup_fails() {
        let (outcome, asked) = run(&policy(json!({"digests": {"pin": "attempt"}})), "redis:7");
        assert_eq!(asked, ["docker.io/library/redis:7"]);
        assert_eq!((outcome.violation, outcome.rewrite), (None, None));
        assert_eq!(
            outcome.warning.unwrap(),
            "spec.containers[0].image \"redis:7\" was not pinned (digests.pin: attempt): the digest of \"docker.io/library/redis:7\": manifest unknown"
        );
    }

    #[test]
    fn required_rejects_with_the_image_field_and_host_error() {
        let (outcome, _) = run(&policy(json!({"digests": {"pin": "required"}})), "redis:7");
        assert_eq!(
            message(&outcome),
            "spec.containers[0].image \"redis:7\": its digest could not be looked up (digests.pin: required): \"docker.io/library/redis:7\": manifest unknown"
        );
    }

    #[test]
    fn an_answer_that_is_not_a_digest_is_a_failed_lookup() {
        let (outcome, _) = run(&policy(json!({"digests": {"pin": "required"}})), "broken:1");
        assert!(
            message(&outcome)
                .ends_with("the host answered \"not-a-digest\", which is not a digest (sha256, sha384 or sha512, then lowercase hex)"),
            "{}",
            message(&outcome)
        );
    }

    #[test]
    fn pinned_images_are_not_looked_up_or_touched() {
        let (outcome, asked) = run(&policy(json!({"digests": {"pin": "required"}})), &format!("redis@{DIGEST}"));
        assert_eq!((outcome, asked.len()), (Outcome::default(), 0));
    }

    #[test]
    fn refused_images_are_not_looked_up() {
        let p = policy(json!({"digests": {"pin": "required"}, "registries": {"allow": ["quay.io"]}}));
        let (outcome, asked) = run(&p, "nginx:1.25");
        assert!(asked.is_empty());
        assert!(message(&outcome).contains("registry \"docker.io\" is not allowed"));
    }

    #[test]
    fn require_is_met_by_pinning_and_not_by_a_failed_attempt() {
        let p = policy(json!({"digests": {"pin": "attempt", "require": true}}));
        assert!(run(&p, "nginx:1.25").0.violation.is_none());
        let (outcome, _) = run(&p, "redis:7");
        assert!(message(&outcome).contains("not pinned by digest"), "{}", message(&outcome));
        assert!(outcome.warning.is_some());
    }

    #[test]
    fn a_rejected_digest_refuses_the_tag_that_points_to_it() {
        let p = policy(json!({"digests": {"pin": "attempt"}, "images": {"reject": [format!("nginx@{DIGEST}")]}}));
        let (outcome, _) = run(&p, "nginx:1.25");
        assert!(
            message(&outcome).starts_with(&format!(
                "spec.containers[0].image \"nginx:1.25\" (pinned to \"docker.io/library/nginx:1.25@{DIGEST}\"): image"
            )),
            "{}",
            message(&outcome)
        );
    }

    #[test]
    fn mirrors_rewrite_before_the_rules_and_the_lookup() {
        let p = policy(json!({
            "registries": {"allow": ["registry.corp.example"]},
            "digests": {"pin": "required"},
            "mirrors": [{"from": "docker.io", "to": "registry.corp.example/dockerhub"}]
        }));
        let (outcome, asked) = run(&p, "nginx:1.25");
        assert_eq!(asked, ["registry.corp.example/dockerhub/library/nginx:1.25"]);
        assert_eq!(outcome.rewrite, Some(format!("registry.corp.example/dockerhub/library/nginx:1.25@{DIGEST}")));
        // Not mirrored, so not allowed; the message shows the image as written.
        let (outcome, asked) = run(&p, "quay.io/app:1");
        assert!(asked.is_empty());
        assert!(message(&outcome).starts_with("spec.containers[0].image \"quay.io/app:1\": registry \"quay.io\""));
    }

    #[test]
    fn messages_and_warnings_show_original_and_mirrored_images() {
        let mirrors = json!([{"from": "docker.io", "to": "registry.corp.example/dockerhub"}]);
        let p = policy(json!({"mirrors": mirrors, "tags": {"reject": ["latest"]}}));
        let (outcome, _) = run(&p, "redis");
        assert_eq!(
            message(&outcome),
            "spec.containers[0].image \"redis\" (mirrored to \"registry.corp.example/dockerhub/library/redis\"): tag \"latest\" (implicit: the image names neither tag nor digest) is rejected (tags.reject: \"latest\")"
        );
        let p = policy(json!({"mirrors": mirrors, "digests": {"pin": "attempt"}}));
        let (outcome, _) = run(&p, "redis:7");
        assert_eq!(outcome.rewrite.as_deref(), Some("registry.corp.example/dockerhub/library/redis:7"));
        assert_eq!(
            outcome.warning.unwrap(),
            "spec.containers[0].image \"redis:7\" (mirrored to \"registry.corp.example/dockerhub/library/redis:7\") was not pinned (digests.pin: attempt): the digest of \"registry.corp.example/dockerhub/library/redis:7\": manifest unknown"
        );
    }
}
