//! The verdict on one found image, and what to write in its place:
//!
//! 1. parse the image as written (refused when it cannot be parsed);
//! 2. mirrors: the first matching rule moves it to its mirror;
//! 3. the rules (`rules::decide`) on the mirrored image; when pinning will
//!    be tried, the digest requirement waits for step 4 or 5. A refused image
//!    is never looked up;
//! 4. `signatures`: every rule whose image pattern matches the image as
//!    written (before mirroring: signatures live beside the image in its
//!    source registry) is verified by the host, at the image's digest when
//!    it names one, else at its tag (`:latest` when none is written). Any
//!    failure refuses the image. With `modifyImagesWithDigest` (or
//!    `digests.pin`) an image verified by tag is pinned to the digest that
//!    was verified, never to a digest from a second lookup (a tag can move
//!    between two lookups);
//! 5. `digests.pin`, for images no signature rule matched: an image without
//!    a digest is looked up (the registry, path and tag after mirroring,
//!    `:latest` when no tag is written) and pinned to `…:tag@digest`. A
//!    failed lookup is a warning (`attempt`) or a refusal (`required`).
//!
//! 6. `imageConfig`, for an image admitted so far that its `images` match
//!    (after mirrors): its manifest is read from the host at the digest
//!    the image was pinned to or names, else at its tag; then the OCI config
//!    of the image, or of every platform of a multi-platform image (those
//!    `platforms` names, each of which must be offered), and each must pass
//!    every rule of the section (labels, age, user). A failed read refuses
//!    the image, or warns (`onLookupFailure: allow`).
//!
//! 7. `vulnerabilities`, for an image admitted so far that its `images`
//!    match (as pulled): a fresh scan report under the limits, read from the
//!    cluster (`vulnerability_gate.rs`).
//!
//! An image that an `exemptImages` pattern matches (as written, or where a
//! mirror moved it) skips the registries, images, tags and digests rules of
//! steps 3 and 5, with a warning naming the exemption; signatures, mirrors,
//! pinning and image configs still apply.
//!
//! After pinning, the rules run again on the pinned image, so a digest in
//! `images.reject` refuses a tag that points to it. The rewritten image
//! keeps the user's spelling when only a digest is added (`nginx:1.25` →
//! `nginx:1.25@sha256:…`), and writes the implicit tag out (`nginx` →
//! `nginx:latest@sha256:…`) so readers see what was resolved. A mirrored
//! image is written in full
//! (`registry.corp.example/dockerhub/library/nginx:1.25`).

use crate::host::oci_manifest::{self, Entry, MAX_PLATFORMS, Manifest, Platform};
use crate::host::{HostCall, image_config, manifest_digest, sigstore};
use crate::references::image::{IMPLICIT_TAG, Image};
use crate::request::discovery::Found;
use crate::response::{Violation, shorten, subject};
use crate::rules::image_config::{ConfigRule, Failure};
use crate::rules::mirror::Mirrored;
use crate::rules::signatures::SignatureRule;
use crate::rules::{self, Pin, Policy, Reason};
use crate::vulnerability_gate::{Cluster, Verdict};

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

/// One found image on its way through the steps: as written, and as the
/// rules see it (mirrored).
struct Subject<'a, 'f> {
    found: &'a Found<'f>,
    written: &'a str,
    /// The image as written, normalized: what signature rules match.
    source: Image<'a>,
    /// Where a mirror moved it, and that image written out.
    moved: Option<(Image<'a>, String)>,
    /// The `exemptImages` pattern it matches: the registries, images, tags
    /// and digests rules do not apply.
    exempt: Option<String>,
    lookups: Lookups,
}

impl<'a> Subject<'a, '_> {
    /// The registries, images, tags and digests rules, unless exempt.
    fn decide(&self, policy: &Policy<'_>, image: &Image<'_>) -> Vec<Reason> {
        if self.exempt.is_some() { Vec::new() } else { rules::decide(policy, image) }
    }

    /// `digests.require` applies (the image is not exempt).
    fn requires_digest(&self, policy: &Policy<'_>) -> bool {
        policy.require_digest && self.exempt.is_none()
    }

    /// The image the rules see: mirrored when a mirror moved it.
    fn image(&self) -> &Image<'a> {
        self.moved.as_ref().map_or(&self.source, |(image, _)| image)
    }

    /// What to write in place of the image when nothing else changes it.
    fn mirrored(&self) -> Option<String> {
        self.moved.as_ref().map(|(_, written)| written.clone())
    }

    fn note(&self) -> Option<String> {
        self.moved.as_ref().map(|(_, m)| format!("mirrored to {:?}", shorten(m)))
    }

    fn refused(&self, note: Option<String>, reasons: &[Reason]) -> Outcome {
        Outcome::refused(self.found, Some(self.written), note, strings(reasons))
    }

    /// The image pinned to `digest`, checked by the rules again.
    fn pin(&self, policy: &Policy<'_>, digest: &str) -> Outcome {
        let image = self.image();
        let pinned = Image { tag: image.tag_for_rules(), digest: Some(digest), ..image.clone() };
        let reasons = self.decide(policy, &pinned);
        if !reasons.is_empty() {
            return self.refused(Some(format!("pinned to {:?}", shorten(&pinned.written()))), &reasons);
        }
        let rewrite = if self.moved.is_some() {
            pinned.written()
        } else {
            let tag = if image.tag.is_none() { format!(":{IMPLICIT_TAG}") } else { String::new() };
            format!("{}{tag}@{digest}", self.written)
        };
        Outcome { rewrite: Some(rewrite), ..Outcome::default() }
    }
}

/// Whether an image is looked up (signatures, pinning, image configs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookups {
    Made,
    /// An UPDATE's image that `oldObject` holds at the same field
    /// (`lookupsOnUpdate: changedImages`): only the static rules run.
    Skipped,
}

#[inline(never)]
pub fn evaluate(policy: &Policy<'_>, found: &Found<'_>, host: &mut HostCall<'_>) -> Outcome {
    evaluate_with(policy, found, Lookups::Made, &mut Cluster::default(), host)
}

/// `evaluate`, looking the image up or not; `cluster` is what the request
/// has read of the cluster so far (`vulnerabilities`).
#[inline(never)]
pub fn evaluate_with(
    policy: &Policy<'_>,
    found: &Found<'_>,
    lookups: Lookups,
    cluster: &mut Cluster<'_>,
    host: &mut HostCall<'_>,
) -> Outcome {
    let written = match &found.image {
        Err(problem) => return Outcome::refused(found, None, None, vec![problem.clone()]),
        Ok(written) => written.as_ref(),
    };
    // A parameter is replaced by its controller before the Pod is made;
    // the image is checked then, when the Pod rule is installed.
    if let Some(what) = found.unchecked {
        let shown = subject(&found.field, Some(written), None);
        let warning = format!(
            "{shown} is {what}, not an image: it is not checked here; registry-guard checks the image when the Pod that runs it is created"
        );
        return Outcome { warning: Some(warning), ..Outcome::default() };
    }
    let source = match Image::parse(written) {
        Ok(image) => image,
        Err(e) => return Outcome::refused(found, Some(written), None, vec![e.to_string()]),
    };
    let moved = match policy.mirrors.apply(&source) {
        Mirrored::Unchanged => None,
        Mirrored::Moved(moved) => {
            let text = moved.written();
            Some((moved, text))
        }
        Mirrored::Refused(why) => {
            return Outcome::refused(found, Some(written), None, strings(&[Reason::MirrorRefused(why)]));
        }
    };
    // Exempt when the image as written, or where a mirror moved it, matches.
    let exempt = policy.exempt.as_ref().and_then(|set| {
        set.find(&source).or_else(|| moved.as_ref().and_then(|(image, _)| set.find(image))).map(str::to_string)
    });
    let item = Subject { found, written, source, moved, exempt, lookups };
    let outcome = image_config(policy, &item, decided(policy, &item, host), host);
    let mut outcome = vulnerabilities(policy, &item, outcome, cluster, host);
    if let Some(rule) = &item.exempt
        && outcome.violation.is_none()
    {
        let shown = subject(&found.field, Some(written), item.note().as_deref());
        let warning =
            format!("{shown} is exempt from the registries, images, tags and digests rules (exemptImages: {rule:?})");
        outcome.warning = Some(match outcome.warning.take() {
            Some(earlier) => format!("{warning}; {earlier}"),
            None => warning,
        });
    }
    outcome
}

/// Steps 2-5 for a parsed image: the rules, signatures and pinning.
#[inline(never)]
fn decided(policy: &Policy<'_>, item: &Subject<'_, '_>, host: &mut HostCall<'_>) -> Outcome {
    let found = item.found;
    let written = item.written;
    let mut signers: Vec<&SignatureRule<'_>> = Vec::new();
    for rule in &policy.signatures {
        if item.lookups == Lookups::Made && rule.applies_to(&item.source) {
            signers.push(rule);
        }
    }

    // Pinned to a digest: the verified one when signature rules apply
    // (modifyImagesWithDigest or digests.pin), else the one looked up
    // (digests.pin); never an image that names a digest already.
    let pins = item.lookups == Lookups::Made
        && item.image().digest.is_none()
        && (policy.pin != Pin::Never || (policy.pin_verified && !signers.is_empty()));
    let mut reasons = item.decide(policy, item.image());
    if pins {
        reasons.retain(|r| *r != Reason::DigestRequired);
    }
    if !reasons.is_empty() {
        return item.refused(item.note(), &reasons);
    }
    if !signers.is_empty() {
        return verified(policy, item, &signers, pins, host);
    }
    if !pins {
        return Outcome { rewrite: item.mirrored(), ..Outcome::default() };
    }

    // `registry/path:tag`, the implicit tag written out: what the host resolves.
    let query = item.image().to_string();
    match manifest_digest::lookup(host, &query) {
        Ok(digest) => item.pin(policy, &digest),
        Err(error) => {
            let error = shorten(&error).into_owned();
            if policy.pin == Pin::Required {
                return item.refused(item.note(), &[Reason::PinFailed { image: query, error }]);
            }
            let shown = subject(&found.field, Some(written), item.note().as_deref());
            let warning = format!("{shown} was not pinned (digests.pin: attempt): the digest of {query:?}: {error}");
            if item.requires_digest(policy) {
                let mut outcome = item.refused(item.note(), &[Reason::DigestRequired]);
                outcome.warning = Some(warning);
                return outcome;
            }
            Outcome { rewrite: item.mirrored(), warning: Some(warning), ..Outcome::default() }
        }
    }
}

/// Step 6, `imageConfig`, for an image the steps before admitted: its
/// config is read at the digest it was pinned to (or names), else at its
/// tag, from where it is pulled (after mirrors), and must pass every rule
/// of the section. A multi-platform image is read platform by platform
/// (`configs_failures`).
#[inline(never)]
fn image_config(policy: &Policy<'_>, item: &Subject<'_, '_>, mut outcome: Outcome, host: &mut HostCall<'_>) -> Outcome {
    let Some(rule) = &policy.image_config else { return outcome };
    if outcome.violation.is_some() || item.lookups == Lookups::Skipped || !rule.applies_to(item.image()) {
        return outcome;
    }
    let rewritten = rewritten(&outcome);
    let pulled = rewritten.as_ref().unwrap_or(item.image());
    let note = || pulled_note(item, rewritten.as_ref());
    match configs_failures(rule, pulled, host) {
        Ok(reasons) if reasons.is_empty() => outcome,
        Ok(reasons) => item.refused(note(), &reasons),
        Err(Reason::ConfigLookupFailed { reference, platform, error }) if rule.allow_on_failure => {
            let shown = subject(&item.found.field, Some(item.written), note().as_deref());
            let platform = platform.map(|p| format!(" ({p})")).unwrap_or_default();
            let warning = format!(
                "{shown}: its image config was not checked (imageConfig.onLookupFailure: allow): {reference:?}{platform}: {error}"
            );
            outcome.warning = Some(match outcome.warning.take() {
                Some(earlier) => format!("{earlier}; {warning}"),
                None => warning,
            });
            outcome
        }
        Err(failed) => item.refused(note(), &[failed]),
    }
}

/// The image the node will pull, when the steps before rewrote it.
fn rewritten(outcome: &Outcome) -> Option<Image<'_>> {
    outcome.rewrite.as_deref().and_then(|r| Image::parse(r).ok())
}

/// The note of a message about the image as pulled.
fn pulled_note(item: &Subject<'_, '_>, rewritten: Option<&Image<'_>>) -> Option<String> {
    match rewritten {
        Some(pulled) => Some(format!("pulled as {:?}", shorten(&pulled.written()))),
        None => item.note(),
    }
}

/// Step 7, `vulnerabilities`, for an image the steps before admitted, as
/// pulled (`vulnerability_gate.rs`).
#[inline(never)]
fn vulnerabilities(
    policy: &Policy<'_>,
    item: &Subject<'_, '_>,
    mut outcome: Outcome,
    cluster: &mut Cluster<'_>,
    host: &mut HostCall<'_>,
) -> Outcome {
    let Some(rule) = &policy.vulnerabilities else { return outcome };
    if outcome.violation.is_some() || item.lookups == Lookups::Skipped {
        return outcome;
    }
    let rewritten = rewritten(&outcome);
    let pulled = rewritten.as_ref().unwrap_or(item.image());
    if !rule.applies_to(pulled) {
        return outcome;
    }
    let note = pulled_note(item, rewritten.as_ref());
    match crate::vulnerability_gate::check(rule, pulled, cluster, host, rules::image_config::now()) {
        Verdict::Pass => outcome,
        Verdict::Refuse(said) => item.refused(note, &[Reason::Vulnerabilities(said)]),
        Verdict::Warn(said) => {
            let shown = subject(&item.found.field, Some(item.written), note.as_deref());
            let warning = format!("{shown}: {said}");
            outcome.warning = Some(match outcome.warning.take() {
                Some(earlier) => format!("{earlier}; {warning}"),
                None => warning,
            });
            outcome
        }
    }
}

/// Every way the configs of `pulled` fail `rule`, or the lookup that
/// failed (a `ConfigLookupFailed`).
///
/// The manifest is read first (`oci_manifest`): the config capability
/// answers one platform only (the host's own, asked by tag; some platform,
/// asked at an index digest), and an arm64 node would run a config nobody
/// checked. An image manifest: its config, at the same reference. An
/// index: each image entry's config at `repo@<entry digest>` (those
/// `rule.platforms` names, when set, each of which must be offered), every
/// failure named with its platform.
fn configs_failures(rule: &ConfigRule<'_>, pulled: &Image<'_>, host: &mut HostCall<'_>) -> Result<Vec<Reason>, Reason> {
    let repository = format!("{}/{}", pulled.registry, pulled.path);
    let reference = match pulled.digest {
        Some(digest) => format!("{repository}@{digest}"),
        None => pulled.to_string(),
    };
    let failed = |reference: &str, platform: Option<String>, error: String| Reason::ConfigLookupFailed {
        reference: reference.to_string(),
        platform,
        error: shorten(&error).into_owned(),
    };
    let now = rules::image_config::now();
    let manifest = oci_manifest::lookup(host, &reference).map_err(|e| failed(&reference, None, e))?;
    let entries = match manifest {
        Manifest::Image => {
            let answer = config_at(host, &reference, pulled.digest).map_err(|e| failed(&reference, None, e))?;
            let mut reasons = missing_platforms(rule, std::slice::from_ref(&answer.platform));
            reasons.extend(
                rule.check(&answer.facts, now)
                    .into_iter()
                    .map(|failure| Reason::ImageConfig { platform: None, failure }),
            );
            return Ok(reasons);
        }
        Manifest::Index(entries) => entries,
    };
    // An entry without a platform may be picked on any node: always read.
    let read: Vec<&Entry> = entries
        .iter()
        .filter(|entry| {
            rule.platforms.is_empty()
                || entry.platform.as_ref().is_none_or(|p| {
                    rule.platforms.iter().any(|pattern| pattern.matches(&p.os, &p.architecture, p.variant.as_deref()))
                })
        })
        .collect();
    if read.len() > MAX_PLATFORMS {
        let error = format!(
            "the index lists {} images, more than the {MAX_PLATFORMS} read: name the platforms your nodes run in imageConfig.platforms",
            read.len()
        );
        return Err(failed(&reference, None, error));
    }
    let platforms: Vec<Option<Platform>> = entries.iter().map(|e| e.platform.clone()).collect();
    let mut reasons = missing_platforms(rule, &platforms);
    for entry in read {
        let at = format!("{repository}@{}", entry.digest);
        let platform = Some(
            entry.platform.as_ref().map_or_else(|| format!("{} (no platform)", entry.digest), ToString::to_string),
        );
        let answer = config_at(host, &at, Some(&entry.digest)).map_err(|e| failed(&at, platform.clone(), e))?;
        reasons.extend(
            rule.check(&answer.facts, now)
                .into_iter()
                .map(|failure| Reason::ImageConfig { platform: platform.clone(), failure }),
        );
    }
    Ok(reasons)
}

/// The config at `reference`, whose manifest must be `digest` when one is
/// asked: an answer for another digest is a failed lookup.
fn config_at(host: &mut HostCall<'_>, reference: &str, digest: Option<&str>) -> Result<image_config::Answer, String> {
    let answer = image_config::lookup(host, reference)?;
    match digest {
        Some(asked) if answer.digest != asked => {
            Err(format!("the host answered the config of {}, not of the digest asked", answer.digest))
        }
        _ => Ok(answer),
    }
}

/// `platforms` the image does not offer: each one named must match one of
/// `offered` (an index's entries, or a single image's config).
fn missing_platforms(rule: &ConfigRule<'_>, offered: &[Option<Platform>]) -> Vec<Reason> {
    let named: Vec<String> = offered.iter().flatten().map(ToString::to_string).collect();
    let offered_text = || if named.is_empty() { "no named platform".to_string() } else { named.join(", ") };
    rule.platforms
        .iter()
        .filter(|pattern| {
            !offered.iter().flatten().any(|p| pattern.matches(&p.os, &p.architecture, p.variant.as_deref()))
        })
        .map(|pattern| Reason::ImageConfig {
            platform: None,
            failure: Failure::PlatformMissing { platform: pattern.written.to_string(), offered: offered_text() },
        })
        .collect()
}

/// Step 4: every signature rule that applies must verify the image as
/// written (normalized), all at one digest; then the image is pinned to that
/// digest when `pins`.
#[inline(never)]
fn verified(
    policy: &Policy<'_>,
    item: &Subject<'_, '_>,
    signers: &[&SignatureRule<'_>],
    pins: bool,
    host: &mut HostCall<'_>,
) -> Outcome {
    // At the digest when the image names one (what the runtime pulls), else
    // at its tag (`:latest` written out).
    let source = &item.source;
    let reference = match source.digest {
        Some(digest) => format!("{}/{}@{digest}", source.registry, source.path),
        None => source.to_string(),
    };
    let mut failures = Vec::new();
    let mut digest: Option<String> = None;
    for rule in signers {
        let outcome = sigstore::verify(host, &reference, rule).and_then(|verified| match (&digest, source.digest) {
            (_, Some(written)) if verified != written => {
                Err(format!("the host verified {verified}, not the digest the image names"))
            }
            (Some(earlier), _) if *earlier != verified => Err(format!(
                "verified at {verified}, but at {earlier} for another rule: the tag moved while it was checked"
            )),
            _ => Ok(verified),
        });
        match outcome {
            Ok(verified) => digest = Some(verified),
            Err(error) => failures.push(Reason::NotSigned {
                reference: reference.clone(),
                rule: rule.to_string(),
                error: shorten(&error).into_owned(),
            }),
        }
    }
    if !failures.is_empty() {
        return item.refused(item.note(), &failures);
    }
    match digest {
        Some(digest) if pins => return item.pin(policy, &digest),
        _ => {}
    }
    if item.requires_digest(policy) && item.image().digest.is_none() {
        return item.refused(item.note(), &[Reason::DigestRequired]);
    }
    Outcome { rewrite: item.mirrored(), ..Outcome::default() }
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
        let found = Found::new("spec.containers[0].image".into(), Ok(Cow::Borrowed(image)), 0..0);
        let outcome = evaluate(policy, &found, &mut crate::host::manifest_digest::answering(&mut lookup));
        (outcome, asked)
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
