//! Reads `vulnerabilities`: the gate on scan reports read from the cluster.
//!
//! ```yaml
//! vulnerabilities:
//!   images: ["ghcr.io/acme/*"]                 # optional; image patterns, after mirrors
//!   reports: [trivy-operator, sbomscanner]     # which report kinds count (default: both)
//!   namespaces: []                             # where reports live (default: the object's namespace)
//!   maxAge: 168h                               # s, m, h or d
//!   limits: {critical: 0, high: 5}             # most findings per severity; absent = no limit
//!   fixableOnly: false                         # count only findings with a fixed version
//!   countSuppressed: false                     # count suppressed and VEX not_affected findings
//!   exceptions:                                # findings that do not count
//!     - {id: CVE-2024-3094, images: ["ghcr.io/acme/legacy*"], expires: "2027-01-31"}
//!   missingReport: deny                        # deny | warn | allow
//! ```
//!
//! An exception's `expires` is a date (it applies through that day, UTC)
//! or an RFC 3339 time (it applies until then).

use super::{Document, Reader, describe, get};
use crate::rules::image_config::unix_seconds;
use crate::rules::vulnerabilities::{Exception, Missing, ReportKind, Severity, VulnerabilityRule};

const KEYS: &[&str] = &[
    "images",
    "reports",
    "namespaces",
    "maxAge",
    "limits",
    "fixableOnly",
    "countSuppressed",
    "exceptions",
    "missingReport",
];
const EXCEPTION_KEYS: &[&str] = &["id", "images", "expires"];
const LIMIT_KEYS: &[&str] = &["critical", "high", "medium", "low", "unknown"];

impl Reader<'_> {
    /// The `vulnerabilities` section; `None` when absent, null or invalid.
    // Out of line: inlined, every section made `Reader::policy` one
    // function of 17 KB, the largest Cranelift compiles (`make
    // compile-profile`).
    #[inline(never)]
    pub(super) fn vulnerabilities<'d>(&mut self, value: &'d Document<'_>) -> Option<VulnerabilityRule<'d>> {
        let section = self.object("vulnerabilities", value, KEYS)?;
        let errors = self.errors.len();
        let mut rule = VulnerabilityRule { reports: ReportKind::ALL.to_vec(), ..VulnerabilityRule::default() };
        if let Some(images) = get(section, "images").filter(|v| !matches!(v, Document::Null)) {
            rule.images = self.non_empty_images("vulnerabilities.images", images);
        }
        if let Some(reports) = self.strings("vulnerabilities.reports", get(section, "reports")) {
            rule.reports = self.report_kinds(&reports);
        }
        for (i, ns) in self.strings("vulnerabilities.namespaces", get(section, "namespaces")).unwrap_or_default() {
            let at = format!("vulnerabilities.namespaces[{i}]");
            if !is_namespace(ns) {
                self.error(
                    &at,
                    format_args!("{ns:?} is not a namespace name (lowercase letters, digits and -, at most 63)"),
                );
            } else if rule.namespaces.contains(&ns) {
                self.error(&at, format_args!("{ns:?} is listed twice"));
            } else {
                rule.namespaces.push(ns);
            }
        }
        rule.max_age = self.max_age("vulnerabilities.maxAge", get(section, "maxAge"));
        if let Some(limits) = get(section, "limits")
            && let Some(limits) = self.object("vulnerabilities.limits", limits, LIMIT_KEYS)
        {
            for severity in Severity::ALL {
                let path = format!("vulnerabilities.limits.{}", severity.name());
                rule.limits[severity as usize] = match get(limits, severity.name()) {
                    None | Some(Document::Null) => None,
                    Some(Document::Number(n)) if n.parse::<u64>().is_ok() => n.parse().ok(),
                    Some(other) => {
                        self.error(&path, format_args!("expected a whole number from 0, found {}", describe(other)));
                        None
                    }
                };
            }
        }
        rule.fixable_only = self.boolean("vulnerabilities.fixableOnly", get(section, "fixableOnly"));
        rule.count_suppressed = self.boolean("vulnerabilities.countSuppressed", get(section, "countSuppressed"));
        rule.exceptions = self.exceptions(get(section, "exceptions"));
        rule.missing_report = match get(section, "missingReport") {
            None | Some(Document::Null) => Missing::Deny,
            Some(Document::String(s)) if s == "deny" => Missing::Deny,
            Some(Document::String(s)) if s == "warn" => Missing::Warn,
            Some(Document::String(s)) if s == "allow" => Missing::Allow,
            Some(other) => {
                self.error(
                    "vulnerabilities.missingReport",
                    format_args!("expected deny, warn or allow, found {}", describe(other)),
                );
                Missing::Deny
            }
        };
        if self.errors.len() > errors { None } else { Some(rule) }
    }

    /// `reports`: a non-empty list of distinct report kinds.
    fn report_kinds(&mut self, names: &[(usize, &str)]) -> Vec<ReportKind> {
        let mut kinds = Vec::new();
        if names.is_empty() {
            self.error(
                "vulnerabilities.reports",
                "is empty, so no report would count: name trivy-operator, sbomscanner or both",
            );
        }
        for &(i, name) in names {
            let at = format!("vulnerabilities.reports[{i}]");
            match ReportKind::ALL.into_iter().find(|k| k.setting() == name) {
                Some(kind) if kinds.contains(&kind) => self.error(&at, format_args!("{name:?} is listed twice")),
                Some(kind) => kinds.push(kind),
                None => self.error(&at, format_args!("expected trivy-operator or sbomscanner, found {name:?}")),
            }
        }
        kinds
    }

    /// `images` lists that must name something (an empty one would apply to nothing).
    fn non_empty_images<'d>(
        &mut self,
        path: &str,
        value: &'d Document<'_>,
    ) -> Option<crate::rules::image_pattern::ImageSet<'d>> {
        if matches!(value, Document::Array(items) if items.is_empty()) {
            self.error(path, "is empty, so it applies to no image: remove it, or name images");
            return None;
        }
        self.image_set(path, value)
    }

    fn exceptions<'d>(&mut self, value: Option<&'d Document<'_>>) -> Vec<Exception<'d>> {
        let path = "vulnerabilities.exceptions";
        let items = match value {
            None | Some(Document::Null) => return Vec::new(),
            Some(Document::Array(items)) => items,
            Some(other) => {
                self.error(path, format_args!("expected a list of {{id, images, expires}}, found {}", describe(other)));
                return Vec::new();
            }
        };
        let mut exceptions = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = format!("{path}[{i}]");
            let Some(entry) = self.object(&at, item, EXCEPTION_KEYS) else {
                if matches!(item, Document::Null) {
                    self.error(&at, "expected {id, images, expires}, found null");
                }
                continue;
            };
            let id = match get(entry, "id") {
                Some(Document::String(id)) if !id.trim().is_empty() => id.as_ref(),
                Some(other) => {
                    self.error(
                        &format!("{at}.id"),
                        format_args!("expected a finding id such as CVE-2024-3094, found {}", describe(other)),
                    );
                    continue;
                }
                None => {
                    self.error(&at, "has no id: name the finding, such as CVE-2024-3094");
                    continue;
                }
            };
            let images = match get(entry, "images") {
                None | Some(Document::Null) => None,
                Some(images) => self.non_empty_images(&format!("{at}.images"), images),
            };
            let expires = match get(entry, "expires") {
                None | Some(Document::Null) => None,
                Some(Document::String(text)) => match expiry(text) {
                    Some(end) => Some((end, text.as_ref())),
                    None => {
                        self.error(
                            &format!("{at}.expires"),
                            format_args!("{text:?} is not a date (2027-01-31) or an RFC 3339 time"),
                        );
                        None
                    }
                },
                Some(other) => {
                    self.error(
                        &format!("{at}.expires"),
                        format_args!("expected a date such as \"2027-01-31\", found {}", describe(other)),
                    );
                    None
                }
            };
            exceptions.push(Exception { id, images, expires });
        }
        exceptions
    }
}

/// The first instant an exception no longer applies: the day after a date
/// (it applies through that day, UTC), or an RFC 3339 time.
pub fn expiry(text: &str) -> Option<i64> {
    if text.len() == 10 {
        return unix_seconds(&format!("{text}T00:00:00Z")).map(|start| start + 86_400);
    }
    unix_seconds(text)
}

/// A Kubernetes namespace name: an RFC 1123 label.
fn is_namespace(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}
