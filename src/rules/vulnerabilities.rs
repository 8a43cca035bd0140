//! `vulnerabilities`: an image is admitted only with a fresh scan report
//! whose findings stay under the configured limits. The reports are read
//! from the cluster (`host/kubernetes.rs`, `host/vulnerability_reports.rs`);
//! this module matches them to the image and decides.
//!
//! The rules, in the order they are applied:
//!
//! 1. matching is by digest: the image's digest (written, pinned, or what
//!    its tag points to now) must be the report's digest, or, for a
//!    per-platform report, its index digest. A report for the same
//!    repository at another digest is stale (the tag moved since the scan)
//!    and never used;
//! 2. several matching reports: the newest scan decides; a report whose
//!    scan time cannot be known ranks below every dated one, and when no
//!    matching report has a known time the image is refused (fail closed);
//! 3. freshness: the scan must be at most `maxAge` old by the PolicyServer's
//!    clock, and not in the future (beyond `CLOCK_SKEW`);
//! 4. counting: a finding counts unless suppressed or VEX `not_affected`
//!    (`countSuppressed: true` counts them), unless it has no fixed version
//!    and `fixableOnly` is set, unless an exception that has not expired
//!    names it (an expired one is said in the message). When the report's
//!    summary counts more findings of a severity than its list holds, the
//!    findings not listed count too (no exception can name them);
//! 5. each count must be at most its limit.

use std::fmt;
use std::ops::Range;

use crate::references::image::Image;
use crate::rules::image_pattern::ImageSet;

/// The report kinds the gate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// aquasecurity trivy-operator's `aquasecurity.github.io/v1alpha1` `VulnerabilityReport`.
    TrivyOperator,
    /// Kubewarden sbomscanner's `storage.sbomscanner.kubewarden.io/v1alpha1` `VulnerabilityReport`.
    SbomScanner,
}

impl ReportKind {
    pub const ALL: [ReportKind; 2] = [ReportKind::TrivyOperator, ReportKind::SbomScanner];

    /// The name `vulnerabilities.reports` uses.
    pub fn setting(self) -> &'static str {
        match self {
            ReportKind::TrivyOperator => "trivy-operator",
            ReportKind::SbomScanner => "sbomscanner",
        }
    }

    pub fn api_version(self) -> &'static str {
        match self {
            ReportKind::TrivyOperator => "aquasecurity.github.io/v1alpha1",
            ReportKind::SbomScanner => "storage.sbomscanner.kubewarden.io/v1alpha1",
        }
    }

    pub fn kind(self) -> &'static str {
        "VulnerabilityReport"
    }
}

/// Severities, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Unknown,
}

impl Severity {
    pub const ALL: [Severity; 5] =
        [Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::Unknown];

    /// The name `limits` uses.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Unknown => "unknown",
        }
    }

    /// A scanner's severity (`CRITICAL`, any case); anything else is
    /// `unknown`, which `limits.unknown` bounds: never dropped.
    pub fn of(text: &str) -> Severity {
        Severity::ALL.into_iter().find(|s| text.eq_ignore_ascii_case(s.name())).unwrap_or(Severity::Unknown)
    }
}

/// `missingReport`: what an image without a usable report gets.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    #[default]
    Deny,
    Warn,
    Allow,
}

/// One `exceptions` entry.
#[derive(Debug)]
pub struct Exception<'s> {
    pub id: &'s str,
    /// The images it covers; every image the section applies to when `None`.
    pub images: Option<ImageSet<'s>>,
    /// The first instant (Unix seconds) it no longer applies, and as written.
    pub expires: Option<(i64, &'s str)>,
}

/// The compiled `vulnerabilities` section.
#[derive(Debug, Default)]
pub struct VulnerabilityRule<'s> {
    pub images: Option<ImageSet<'s>>,
    /// Which report kinds count; both by default.
    pub reports: Vec<ReportKind>,
    /// Where reports are read; the workload's namespace when empty.
    pub namespaces: Vec<&'s str>,
    /// `maxAge`, in seconds, and as written.
    pub max_age: Option<(u64, &'s str)>,
    /// `limits`, by `Severity` (worst first); `None`: no limit.
    pub limits: [Option<u64>; 5],
    pub fixable_only: bool,
    /// `countSuppressed`: suppressed and VEX not_affected findings count.
    pub count_suppressed: bool,
    pub exceptions: Vec<Exception<'s>>,
    pub missing_report: Missing,
}

impl VulnerabilityRule<'_> {
    /// The section applies to `image` (as pulled, after mirrors).
    pub fn applies_to(&self, image: &Image<'_>) -> bool {
        self.images.as_ref().is_none_or(|set| set.find(image).is_some())
    }
}

/// When a report's scan happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scanned {
    /// Unix seconds, and the field it was read from.
    At(i64, &'static str),
    /// Not known, and why.
    Unknown(String),
}

/// What the gate reads of one report (the findings are read only for the
/// report that decides: `findings` is where its list stands in the answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub kind: ReportKind,
    pub namespace: String,
    pub name: String,
    /// `registry/path`, normalized as images are (`index.docker.io/nginx` is
    /// `docker.io/library/nginx`); `None` when it does not read as one (the
    /// report then matches nothing).
    pub repository: Option<String>,
    pub tag: Option<String>,
    pub digest: Option<String>,
    /// sbomscanner's `imageMetadata.indexDigest`, for a per-platform report.
    pub index_digest: Option<String>,
    pub platform: Option<String>,
    /// trivy-operator: `report.updateTimestamp`. sbomscanner: unknown until
    /// its ScanJob is read (`scan_job`).
    pub scanned: Scanned,
    /// sbomscanner: the `sbomscanner.kubewarden.io/scanjob-uid` label.
    pub scan_job: Option<String>,
    /// `report.summary`, by `Severity`.
    pub summary: [Option<u64>; 5],
    /// Where the findings list stands in the answer.
    pub findings: Range<usize>,
    /// Which of the gate's answers it was read from.
    pub source: usize,
}

impl Report {
    /// `VulnerabilityReport default/replicaset-app-app (trivy-operator)`.
    pub fn describe(&self) -> String {
        format!("{} {}/{} ({})", self.kind.kind(), self.namespace, self.name, self.kind.setting())
    }
}

/// One finding of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub id: String,
    pub severity: Severity,
    /// The first fixed version; `None` when there is no fix.
    pub fixed: Option<String>,
    /// Suppressed, or VEX `not_affected`.
    pub suppressed: bool,
}

/// `registry/path` of an image, as reports are keyed.
pub fn repository_of(image: &Image<'_>) -> String {
    match image.registry.port {
        Some(port) => format!("{}:{port}/{}", image.registry.host, image.path),
        None => format!("{}/{}", image.registry.host, image.path),
    }
}

/// The reports of `repository` split by `digest`: those that match it,
/// and the stale ones (another digest, or none).
pub fn matching<'r>(reports: &'r [Report], digest: &str) -> (Vec<&'r Report>, Vec<&'r Report>) {
    reports.iter().partition(|r| r.digest.as_deref() == Some(digest) || r.index_digest.as_deref() == Some(digest))
}

/// The newest of `reports` by scan time; `Err` lists why no time is known.
pub fn newest<'r>(reports: &[&'r Report]) -> Result<&'r Report, String> {
    let dated = reports.iter().filter_map(|r| match r.scanned {
        Scanned::At(t, _) => Some((t, *r)),
        Scanned::Unknown(_) => None,
    });
    // Ties: the first listed, so that the answer's order decides the same way each time.
    let mut best: Option<(i64, &Report)> = None;
    for (t, report) in dated {
        if best.is_none_or(|(b, _)| t > b) {
            best = Some((t, report));
        }
    }
    match best {
        Some((_, report)) => Ok(report),
        None => Err(reports
            .iter()
            .map(|r| match &r.scanned {
                Scanned::Unknown(why) => format!("{}: {why}", r.describe()),
                Scanned::At(..) => unreachable!("no report is dated"),
            })
            .collect::<Vec<_>>()
            .join("; ")),
    }
}

/// How far in the future a scan time may be: clocks drift.
pub const CLOCK_SKEW: i64 = 300;

/// Findings named in a message, at most.
const WORST_SHOWN: usize = 5;

/// Why the deciding report fails the section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    TooOld {
        age: u64,
        max_age: String,
    },
    FromTheFuture {
        at: String,
    },
    /// Counts over their limits: `(severity, count, limit)` for every limit
    /// set, the worst counted findings, how many more counted, and the
    /// expired exceptions that would have covered one.
    OverLimits {
        counts: Vec<(Severity, u64, u64)>,
        worst: Vec<Finding>,
        more: usize,
        expired: Vec<(String, String)>,
    },
}

/// A duration in words: `3 days 4 hours`, `5 hours 2 minutes`, `40 seconds`.
pub fn age_words(seconds: u64) -> String {
    let unit = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let (days, hours, minutes) = (seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => unit(seconds, "second"),
        (0, 0, m) => unit(m, "minute"),
        (0, h, 0) => unit(h, "hour"),
        (0, h, m) => format!("{} {}", unit(h, "hour"), unit(m, "minute")),
        (d, 0, _) => unit(d, "day"),
        (d, h, _) => format!("{} {}", unit(d, "day"), unit(h, "hour")),
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::TooOld { age, max_age } => {
                write!(f, "the scan is {} old, older than {max_age} (vulnerabilities.maxAge)", age_words(*age))
            }
            Failure::FromTheFuture { at } => write!(
                f,
                "the scan is dated {at}, later than now by the PolicyServer's clock: the report or the clock is wrong (vulnerabilities.maxAge)"
            ),
            Failure::OverLimits { counts, worst, more, expired } => {
                f.write_str("findings over vulnerabilities.limits: ")?;
                for (i, (severity, count, limit)) in counts.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    let over = if count > limit { " (over)" } else { "" };
                    write!(f, "{sep}{} {count} of at most {limit}{over}", severity.name())?;
                }
                if !worst.is_empty() {
                    f.write_str("; worst: ")?;
                    for (i, finding) in worst.iter().enumerate() {
                        let sep = if i == 0 { "" } else { ", " };
                        let fixed = match &finding.fixed {
                            Some(version) => format!("fixed in {}", crate::response::shorten_to(version, 40)),
                            None => "no fix".to_string(),
                        };
                        write!(
                            f,
                            "{sep}{} {} ({fixed})",
                            crate::response::shorten_to(&finding.id, 60),
                            finding.severity.name()
                        )?;
                    }
                    if *more > 0 {
                        write!(f, " and {more} more")?;
                    }
                }
                for (id, expires) in expired.iter().take(WORST_SHOWN) {
                    write!(
                        f,
                        "; the exception for {} expired on {expires}, so it no longer applies",
                        crate::response::shorten_to(id, 60)
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl VulnerabilityRule<'_> {
    /// The age rules on the deciding report, `now` in Unix seconds.
    pub fn check_age(&self, scanned: i64, at: &str, now: i64) -> Option<Failure> {
        if scanned > now + CLOCK_SKEW {
            return Some(Failure::FromTheFuture { at: at.to_string() });
        }
        let age = now.saturating_sub(scanned).max(0) as u64;
        match self.max_age {
            Some((max, written)) if age > max => Some(Failure::TooOld { age, max_age: written.to_string() }),
            _ => None,
        }
    }

    /// The limits on the deciding report's findings (of `image`, as the
    /// section sees it), its `summary` bounding the counts from below.
    pub fn check_findings(
        &self,
        image: &Image<'_>,
        findings: &[Finding],
        summary: &[Option<u64>; 5],
        now: i64,
    ) -> Option<Failure> {
        let mut counted: Vec<&Finding> = Vec::new();
        let mut listed = [0u64; 5];
        let mut expired: Vec<(String, String)> = Vec::new();
        for finding in findings {
            listed[finding.severity as usize] += 1;
            if finding.suppressed && !self.count_suppressed {
                continue;
            }
            if self.fixable_only && finding.fixed.is_none() {
                continue;
            }
            let mut excepted = false;
            for exception in self.exceptions.iter().filter(|e| e.id == finding.id) {
                if exception.images.as_ref().is_some_and(|set| set.find(image).is_none()) {
                    continue;
                }
                match exception.expires {
                    Some((end, written)) if now >= end => {
                        if !expired.iter().any(|(id, _)| id == exception.id) {
                            expired.push((exception.id.to_string(), written.to_string()));
                        }
                    }
                    _ => excepted = true,
                }
            }
            if !excepted {
                counted.push(finding);
            }
        }
        let mut counts = [0u64; 5];
        for finding in &counted {
            counts[finding.severity as usize] += 1;
        }
        // Findings the summary counts but the list does not hold.
        for severity in Severity::ALL {
            let i = severity as usize;
            if let Some(summarized) = summary[i] {
                counts[i] += summarized.saturating_sub(listed[i]);
            }
        }
        let limits: Vec<(Severity, u64, u64)> = Severity::ALL
            .into_iter()
            .filter_map(|s| self.limits[s as usize].map(|limit| (s, counts[s as usize], limit)))
            .collect();
        if limits.iter().all(|(_, count, limit)| count <= limit) {
            return None;
        }
        // The worst first: by severity, those with a fix before those
        // without; a pass per (severity, fix) rather than a sort (whose
        // code policy.wasm would carry for this one message).
        let over: Vec<Severity> = limits.iter().filter(|(_, c, l)| c > l).map(|(s, _, _)| *s).collect();
        let relevant = counted.iter().filter(|f| over.contains(&f.severity)).count();
        let mut worst: Vec<Finding> = Vec::new();
        for severity in &over {
            for fixed in [true, false] {
                let next = counted.iter().filter(|f| f.severity == *severity && f.fixed.is_some() == fixed);
                worst.extend(next.take(WORST_SHOWN - worst.len()).map(|f| (*f).clone()));
            }
        }
        let more = relevant - worst.len();
        Some(Failure::OverLimits { counts: limits, worst, more, expired })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_000_000;

    fn finding(id: &str, severity: Severity, fixed: Option<&str>, suppressed: bool) -> Finding {
        Finding { id: id.into(), severity, fixed: fixed.map(str::to_string), suppressed }
    }

    fn rule(limits: [Option<u64>; 5]) -> VulnerabilityRule<'static> {
        VulnerabilityRule { limits, reports: ReportKind::ALL.to_vec(), ..VulnerabilityRule::default() }
    }

    fn image() -> Image<'static> {
        Image::parse("ghcr.io/acme/app:1").unwrap()
    }

    fn report(name: &str, digest: Option<&str>, index: Option<&str>, scanned: Scanned) -> Report {
        Report {
            kind: ReportKind::TrivyOperator,
            namespace: "default".into(),
            name: name.into(),
            repository: Some("ghcr.io/acme/app".into()),
            tag: Some("1".into()),
            digest: digest.map(str::to_string),
            index_digest: index.map(str::to_string),
            platform: None,
            scanned,
            scan_job: None,
            summary: [None; 5],
            findings: 0..0,
            source: 0,
        }
    }

    #[test]
    fn severities_read_in_any_case_and_strangers_are_unknown() {
        assert_eq!(Severity::of("CRITICAL"), Severity::Critical);
        assert_eq!(Severity::of("High"), Severity::High);
        assert_eq!(Severity::of("NEGLIGIBLE"), Severity::Unknown);
        assert_eq!(Severity::of(""), Severity::Unknown);
    }

    #[test]
    fn matching_is_by_digest_or_index_digest_and_the_rest_is_stale() {
        let reports = [
            report("a", Some("sha256:a"), None, Scanned::At(1, "t")),
            report("b", Some("sha256:b"), Some("sha256:i"), Scanned::At(1, "t")),
            report("c", None, None, Scanned::At(1, "t")),
        ];
        let names = |v: Vec<&Report>| v.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
        let (m, stale) = matching(&reports, "sha256:a");
        assert_eq!((names(m), names(stale)), (vec!["a".to_string()], vec!["b".to_string(), "c".to_string()]));
        let (m, _) = matching(&reports, "sha256:i");
        assert_eq!(names(m), ["b"]);
    }

    #[test]
    fn the_newest_dated_report_decides_and_undated_ones_never_do() {
        let old = report("old", None, None, Scanned::At(10, "t"));
        let new = report("new", None, None, Scanned::At(20, "t"));
        let unknown = report("unknown", None, None, Scanned::Unknown("its ScanJob is gone".into()));
        assert_eq!(newest(&[&old, &new, &unknown]).unwrap().name, "new");
        assert_eq!(newest(&[&unknown, &old]).unwrap().name, "old");
        assert_eq!(
            newest(&[&unknown]).unwrap_err(),
            "VulnerabilityReport default/unknown (trivy-operator): its ScanJob is gone"
        );
    }

    #[test]
    fn ages_are_inclusive_and_the_future_is_refused() {
        let r = VulnerabilityRule { max_age: Some((168 * 3600, "168h")), ..rule([None; 5]) };
        assert_eq!(r.check_age(NOW - 168 * 3600, "t", NOW), None);
        assert_eq!(
            r.check_age(NOW - 169 * 3600, "t", NOW).unwrap().to_string(),
            "the scan is 7 days 1 hour old, older than 168h (vulnerabilities.maxAge)"
        );
        assert_eq!(r.check_age(NOW + 200, "t", NOW), None);
        assert_eq!(
            r.check_age(NOW + 3600, "2026-12-01T00:00:00Z", NOW).unwrap().to_string(),
            "the scan is dated 2026-12-01T00:00:00Z, later than now by the PolicyServer's clock: the report or the clock is wrong (vulnerabilities.maxAge)"
        );
        // Without maxAge, only the future is refused.
        assert_eq!(rule([None; 5]).check_age(0, "t", NOW), None);
    }

    #[test]
    fn counts_against_each_limit_with_the_worst_findings() {
        let r = rule([Some(0), Some(1), None, None, None]);
        let findings = [
            finding("CVE-3", Severity::High, None, false),
            finding("CVE-1", Severity::Critical, Some("1.2.3"), false),
            finding("CVE-2", Severity::High, Some("2.0"), false),
            finding("CVE-4", Severity::Low, None, false),
        ];
        assert_eq!(
            r.check_findings(&image(), &findings, &[None; 5], NOW).unwrap().to_string(),
            "findings over vulnerabilities.limits: critical 1 of at most 0 (over), high 2 of at most 1 (over); worst: CVE-1 critical (fixed in 1.2.3), CVE-2 high (fixed in 2.0), CVE-3 high (no fix)"
        );
        assert_eq!(
            rule([Some(1), Some(2), None, None, None]).check_findings(&image(), &findings, &[None; 5], NOW),
            None
        );
    }

    #[test]
    fn suppressed_unfixable_and_excepted_findings_do_not_count() {
        let findings = [
            finding("CVE-S", Severity::Critical, Some("1"), true),
            finding("CVE-N", Severity::Critical, None, false),
            finding("CVE-E", Severity::Critical, Some("1"), false),
        ];
        let mut r = rule([Some(0), None, None, None, None]);
        r.fixable_only = true;
        r.exceptions = vec![Exception { id: "CVE-E", images: None, expires: Some((NOW + 1, "2026-12-01")) }];
        assert_eq!(r.check_findings(&image(), &findings, &[None; 5], NOW), None);
        // Suppressed ones count when asked.
        r.count_suppressed = true;
        assert!(r.check_findings(&image(), &findings, &[None; 5], NOW).unwrap().to_string().contains("CVE-S critical"));
    }

    #[test]
    fn expired_exceptions_do_not_apply_and_are_said() {
        let findings = [finding("CVE-E", Severity::Critical, Some("1"), false)];
        let mut r = rule([Some(0), None, None, None, None]);
        r.exceptions = vec![Exception { id: "CVE-E", images: None, expires: Some((NOW, "2026-11-30")) }];
        assert_eq!(
            r.check_findings(&image(), &findings, &[None; 5], NOW).unwrap().to_string(),
            "findings over vulnerabilities.limits: critical 1 of at most 0 (over); worst: CVE-E critical (fixed in 1); the exception for CVE-E expired on 2026-11-30, so it no longer applies"
        );
    }

    #[test]
    fn exceptions_cover_only_their_images() {
        let mut set = ImageSet::default();
        set.insert("ghcr.io/acme/legacy*").unwrap();
        set.finish(0);
        let mut r = rule([Some(0), None, None, None, None]);
        r.exceptions = vec![Exception { id: "CVE-E", images: Some(set), expires: None }];
        let findings = [finding("CVE-E", Severity::Critical, None, false)];
        assert!(r.check_findings(&image(), &findings, &[None; 5], NOW).is_some());
        let legacy = Image::parse("ghcr.io/acme/legacy-db:1").unwrap();
        assert_eq!(r.check_findings(&legacy, &findings, &[None; 5], NOW), None);
    }

    #[test]
    fn a_summary_larger_than_the_list_counts_the_unlisted_findings() {
        let r = rule([Some(0), None, None, None, None]);
        let summary = [Some(3), None, None, None, None];
        let findings = [finding("CVE-1", Severity::Critical, None, false)];
        assert!(
            r.check_findings(&image(), &findings, &summary, NOW)
                .unwrap()
                .to_string()
                .starts_with("findings over vulnerabilities.limits: critical 3 of at most 0 (over)")
        );
    }

    #[test]
    fn many_findings_are_bounded_in_the_message() {
        let findings: Vec<Finding> =
            (0..1000).map(|i| finding(&format!("CVE-{i}"), Severity::Critical, None, false)).collect();
        let message = rule([Some(0), None, None, None, None])
            .check_findings(&image(), &findings, &[None; 5], NOW)
            .unwrap()
            .to_string();
        assert!(message.ends_with("CVE-4 critical (no fix) and 995 more"), "{message}");
    }

    #[test]
    fn ages_in_words() {
        assert_eq!(age_words(40), "40 seconds");
        assert_eq!(age_words(3600 * 5 + 120), "5 hours 2 minutes");
        assert_eq!(age_words(86_400 * 3 + 3600 * 4 + 5), "3 days 4 hours");
        assert_eq!(age_words(86_400), "1 day");
    }
}
