//! `imageConfig`: rules on what an image's own OCI config says: its labels,
//! when it was built, and the user it runs as (OpenShift ImagePolicy's label
//! rules, Sigstore policy-controller's maximum age, Kyverno's `imageData`).
//! The config comes from the host (`host/image_config.rs`); this module
//! decides on it.

use std::fmt;

use crate::references::image::Image;
use crate::rules::glob::Glob;
use crate::rules::image_pattern::ImageSet;

/// The compiled `imageConfig` section.
#[derive(Debug, Default)]
pub struct ConfigRule<'s> {
    /// `images`: the images the section applies to; every image when `None`.
    pub images: Option<ImageSet<'s>>,
    /// `labels.require`: each label present, its value matching.
    pub require: Vec<LabelRule<'s>>,
    /// `labels.reject`: refused when a label is present and matches.
    pub reject: Vec<LabelRule<'s>>,
    /// `maxAge`, in seconds, and as written.
    pub max_age: Option<(u64, &'s str)>,
    /// `user.nonRoot`.
    pub non_root: bool,
    /// `onLookupFailure: allow`: a failed lookup is a warning, not a refusal.
    pub allow_on_failure: bool,
    /// `platforms`: the platforms of a multi-platform image that are read
    /// (each must be offered); every image platform when empty.
    pub platforms: Vec<PlatformPattern<'s>>,
}

/// One `imageConfig.platforms` entry: `os/architecture`, which matches
/// every variant (`linux/arm64` matches `linux/arm64/v8`), or
/// `os/architecture/variant`, which matches that variant only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformPattern<'s> {
    pub written: &'s str,
    os: &'s str,
    architecture: &'s str,
    variant: Option<&'s str>,
}

impl<'s> PlatformPattern<'s> {
    /// Parses `os/architecture[/variant]`, each part lowercase letters,
    /// digits, `.`, `_` or `-` (as an index writes them).
    pub fn parse(written: &'s str) -> Result<Self, String> {
        let part_ok = |part: &str| {
            !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
        };
        let parts: Vec<&str> = written.split('/').collect();
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| part_ok(p)) {
            return Err(format!(
                "{written:?} is not a platform: write os/architecture or os/architecture/variant in lowercase (linux/amd64, linux/arm64/v8)"
            ));
        }
        Ok(PlatformPattern { written, os: parts[0], architecture: parts[1], variant: parts.get(2).copied() })
    }

    /// `platform` (from an index entry or a config) is one this names.
    pub fn matches(&self, os: &str, architecture: &str, variant: Option<&str>) -> bool {
        self.os == os && self.architecture == architecture && self.variant.is_none_or(|v| Some(v) == variant)
    }
}

#[derive(Debug)]
pub struct LabelRule<'s> {
    pub label: &'s str,
    pub pattern: &'s str,
    pub glob: Glob,
}

/// What the policy reads of an image's config.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Facts {
    /// `created`, as written (RFC 3339).
    pub created: Option<String>,
    /// `config.User`.
    pub user: Option<String>,
    /// `config.Labels`, in the config's order.
    pub labels: Vec<(String, String)>,
}

/// Why an image's config fails the section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    LabelMissing {
        label: String,
        pattern: String,
    },
    LabelMismatch {
        label: String,
        value: String,
        pattern: String,
    },
    LabelRejected {
        label: String,
        value: String,
        pattern: String,
    },
    TooOld {
        created: String,
        days: u64,
        max_age: String,
    },
    NoCreated {
        max_age: String,
    },
    BadCreated {
        created: String,
        max_age: String,
    },
    FromTheFuture {
        created: String,
        max_age: String,
    },
    Root {
        user: Option<String>,
    },
    /// `platforms` names a platform the image does not offer.
    PlatformMissing {
        platform: String,
        offered: String,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::LabelMissing { label, pattern } => {
                write!(f, "label {label:?} is missing; it must match {pattern:?} (imageConfig.labels.require)")
            }
            Failure::LabelMismatch { label, value, pattern } => {
                write!(f, "label {label:?} is {value:?}, which does not match {pattern:?} (imageConfig.labels.require)")
            }
            Failure::LabelRejected { label, value, pattern } => {
                write!(f, "label {label:?} is {value:?}, which matches {pattern:?} (imageConfig.labels.reject)")
            }
            Failure::TooOld { created, days, max_age } => {
                write!(f, "built {created}, {days} days ago, older than {max_age} (imageConfig.maxAge)")
            }
            Failure::NoCreated { max_age } => {
                write!(
                    f,
                    "its config has no creation time, so its age cannot be checked (imageConfig.maxAge: {max_age})"
                )
            }
            Failure::BadCreated { created, max_age } => write!(
                f,
                "its creation time {created:?} is not an RFC 3339 time, so its age cannot be checked (imageConfig.maxAge: {max_age})"
            ),
            Failure::FromTheFuture { created, max_age } => write!(
                f,
                "built {created}, later than now by this host's clock: the image or the clock is wrong (imageConfig.maxAge: {max_age})"
            ),
            Failure::Root { user: None } => {
                f.write_str("it sets no user, so it runs as root (imageConfig.user.nonRoot)")
            }
            Failure::Root { user: Some(user) } => {
                write!(f, "it runs as user {user:?}, which is root (imageConfig.user.nonRoot)")
            }
            Failure::PlatformMissing { platform, offered } => {
                write!(f, "it offers no {platform} image (imageConfig.platforms); it offers {offered}")
            }
        }
    }
}

/// How far in the future a `created` may be before it is refused: clocks
/// of build machines and nodes drift.
const CLOCK_SKEW: i64 = 300;

impl ConfigRule<'_> {
    /// The section applies to `image` (as the rules see it, after mirrors).
    pub fn applies_to(&self, image: &Image<'_>) -> bool {
        self.images.as_ref().is_none_or(|set| set.find(image).is_some())
    }

    /// Every rule of the section `facts` fail, `now` in Unix seconds.
    pub fn check(&self, facts: &Facts, now: i64) -> Vec<Failure> {
        let mut failures = Vec::new();
        let label = |name: &str| facts.labels.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        for rule in &self.require {
            match label(rule.label) {
                None => failures.push(Failure::LabelMissing { label: rule.label.into(), pattern: rule.pattern.into() }),
                Some(value) if !rule.glob.matches(value) => failures.push(Failure::LabelMismatch {
                    label: rule.label.into(),
                    value: value.into(),
                    pattern: rule.pattern.into(),
                }),
                Some(_) => {}
            }
        }
        for rule in &self.reject {
            if let Some(value) = label(rule.label).filter(|v| rule.glob.matches(v)) {
                failures.push(Failure::LabelRejected {
                    label: rule.label.into(),
                    value: value.into(),
                    pattern: rule.pattern.into(),
                });
            }
        }
        if let Some((limit, written)) = self.max_age {
            let max_age = written.to_string();
            match facts.created.as_deref() {
                None | Some("") => failures.push(Failure::NoCreated { max_age }),
                Some(created) => match unix_seconds(created) {
                    None => failures.push(Failure::BadCreated { created: created.into(), max_age }),
                    Some(built) if built > now.saturating_add(CLOCK_SKEW) => {
                        failures.push(Failure::FromTheFuture { created: created.into(), max_age })
                    }
                    Some(built) => {
                        let age = now.saturating_sub(built).max(0) as u64;
                        if age > limit {
                            failures.push(Failure::TooOld { created: created.into(), days: age / 86_400, max_age });
                        }
                    }
                },
            }
        }
        if self.non_root && is_root(facts.user.as_deref()) {
            failures.push(Failure::Root { user: facts.user.clone().filter(|u| !u.is_empty()) });
        }
        failures
    }
}

/// `config.User` runs as root: unset or empty (runtimes default to root),
/// or its user part (before `:`) is `root` or UID 0 (`0`, `00`). Other
/// names cannot be resolved here (the image's /etc/passwd is not read).
fn is_root(user: Option<&str>) -> bool {
    let user = user.unwrap_or_default();
    let name = user.split(':').next().unwrap_or_default();
    name.is_empty() || name == "root" || name.bytes().all(|b| b == b'0')
}

/// An age, `90d`: a positive whole number then one unit, `s`, `m`, `h` or
/// `d`; in seconds.
pub fn parse_age(text: &str) -> Result<u64, String> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let per_unit: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "" if digits > 0 => {
            return Err(format!("{text:?} has no unit; write it as {text}d, {text}h, {text}m or {text}s"));
        }
        _ => return Err(format!("{text:?} is not an age: a whole number then s, m, h or d (90d)")),
    };
    match number.parse::<u64>().ok().and_then(|n| n.checked_mul(per_unit)) {
        Some(0) => Err(format!("{text:?} is zero: every image would be too old")),
        Some(seconds) if seconds <= 100 * 365 * 86_400 => Ok(seconds),
        Some(_) | None if digits > 0 => Err(format!("{text:?} is longer than 100 years")),
        _ => Err(format!("{text:?} is not an age: a whole number then s, m, h or d (90d)")),
    }
}

/// An RFC 3339 time (`2025-01-03T10:00:00Z`, fractions and `+02:00` offsets
/// allowed) in Unix seconds; `None` when it is not one. Written here: a
/// date crate would add more to policy.wasm than the 40 lines this takes.
pub fn unix_seconds(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        if part.iter().all(u8::is_ascii_digit) { std::str::from_utf8(part).ok()?.parse().ok() } else { None }
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let hours = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let minutes = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = hours * 3_600 + minutes * 60;
            if *sign == b'+' { seconds } else { -seconds }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3_600 + minute * 60 + second - offset)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds as RFC 3339 in UTC, `2025-01-03T10:00:00Z` (Howard
/// Hinnant's `civil_from_days`): for the runner's fake configs and tests.
pub fn rfc3339(seconds: i64) -> String {
    let (days, secs) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// Now, in Unix seconds, from the host's clock (WASI `clock_time_get`); a
/// clock before 1970 reads as 0, which makes every image look built in the
/// future: refused, not admitted.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_in_unix_seconds() {
        for t in [0, 1_735_898_400, 1_709_164_800, 4_102_444_799] {
            assert_eq!(unix_seconds(&rfc3339(t)), Some(t));
        }
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_seconds("2025-01-03T10:00:00Z"), Some(1_735_898_400));
        assert_eq!(unix_seconds("2025-01-03T10:00:00.123456789Z"), Some(1_735_898_400));
        assert_eq!(unix_seconds("2025-01-03T12:00:00+02:00"), Some(1_735_898_400));
        assert_eq!(unix_seconds("2025-01-03T05:30:00-04:30"), Some(1_735_898_400));
        assert_eq!(unix_seconds("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        for bad in [
            "",
            "2025-01-03",
            "2025-01-03T10:00:00",
            "2025-13-03T10:00:00Z",
            "2023-02-29T00:00:00Z",
            "2025-01-03T24:00:00Z",
            "2025-01-03T10:00:00.Z",
            "2025-01-03T10:00:00+2:00",
            "2025-01-03T10:00:00+02:00x",
            "2025-01-0xT10:00:00Z",
            "+025-01-03T10:00:00Z",
        ] {
            assert_eq!(unix_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn ages_need_a_unit() {
        assert_eq!(parse_age("90d"), Ok(90 * 86_400));
        assert_eq!(parse_age("12h"), Ok(43_200));
        assert_eq!(parse_age("30m"), Ok(1_800));
        assert_eq!(parse_age("45s"), Ok(45));
        assert_eq!(parse_age("90").unwrap_err(), "\"90\" has no unit; write it as 90d, 90h, 90m or 90s");
        assert_eq!(parse_age("90w").unwrap_err(), "\"90w\" is not an age: a whole number then s, m, h or d (90d)");
        assert_eq!(parse_age("d").unwrap_err(), "\"d\" is not an age: a whole number then s, m, h or d (90d)");
        assert_eq!(parse_age("1.5d").unwrap_err(), "\"1.5d\" is not an age: a whole number then s, m, h or d (90d)");
        assert_eq!(parse_age("0d").unwrap_err(), "\"0d\" is zero: every image would be too old");
        assert_eq!(
            parse_age("99999999999999999999d").unwrap_err(),
            "\"99999999999999999999d\" is longer than 100 years"
        );
    }

    #[test]
    fn root_is_unset_root_or_uid_zero() {
        for user in [None, Some(""), Some("root"), Some("0"), Some("0:0"), Some("root:wheel"), Some("00:1000")] {
            assert!(is_root(user), "{user:?}");
        }
        for user in ["1000", "1000:0", "nobody", "app:app", "65532"] {
            assert!(!is_root(Some(user)), "{user}");
        }
    }

    fn rule() -> ConfigRule<'static> {
        ConfigRule {
            require: vec![LabelRule {
                label: "source",
                pattern: "https://github.com/acme/*",
                glob: Glob::new("https://github.com/acme/*"),
            }],
            reject: vec![LabelRule { label: "deprecated", pattern: "true", glob: Glob::new("true") }],
            max_age: Some((90 * 86_400, "90d")),
            non_root: true,
            ..ConfigRule::default()
        }
    }

    const NOW: i64 = 1_763_900_000; // 2025-11-23

    fn facts(created: Option<&str>, user: Option<&str>, labels: &[(&str, &str)]) -> Facts {
        Facts {
            created: created.map(str::to_string),
            user: user.map(str::to_string),
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn every_rule_is_checked_and_said() {
        let good = facts(Some("2025-11-01T00:00:00Z"), Some("1000"), &[("source", "https://github.com/acme/app")]);
        assert_eq!(rule().check(&good, NOW), []);
        let bad = facts(
            Some("2025-01-03T10:00:00Z"),
            Some("0"),
            &[("source", "https://github.com/evil/x"), ("deprecated", "true")],
        );
        let said: Vec<String> = rule().check(&bad, NOW).iter().map(ToString::to_string).collect();
        assert_eq!(
            said,
            [
                "label \"source\" is \"https://github.com/evil/x\", which does not match \"https://github.com/acme/*\" (imageConfig.labels.require)",
                "label \"deprecated\" is \"true\", which matches \"true\" (imageConfig.labels.reject)",
                "built 2025-01-03T10:00:00Z, 324 days ago, older than 90d (imageConfig.maxAge)",
                "it runs as user \"0\", which is root (imageConfig.user.nonRoot)",
            ]
        );
        let bare = facts(None, None, &[]);
        let said: Vec<String> = rule().check(&bare, NOW).iter().map(ToString::to_string).collect();
        assert_eq!(
            said,
            [
                "label \"source\" is missing; it must match \"https://github.com/acme/*\" (imageConfig.labels.require)",
                "its config has no creation time, so its age cannot be checked (imageConfig.maxAge: 90d)",
                "it sets no user, so it runs as root (imageConfig.user.nonRoot)",
            ]
        );
    }

    #[test]
    fn the_age_limit_is_inclusive_and_the_future_is_refused() {
        let rule = ConfigRule { max_age: Some((90 * 86_400, "90d")), ..ConfigRule::default() };
        let at = |seconds_ago: i64| {
            let created = NOW - seconds_ago;
            // Back to RFC 3339 through the days: only whole days are used here.
            assert_eq!(created % 86_400, NOW % 86_400);
            facts(Some(&rfc3339(created)), None, &[])
        };
        assert_eq!(rule.check(&at(90 * 86_400), NOW), []);
        assert_eq!(rule.check(&at(91 * 86_400), NOW).len(), 1);
        assert_eq!(rule.check(&facts(Some("2025-11-23T12:16:40Z"), None, &[]), NOW), []); // NOW + 200 s: skew
        assert!(matches!(
            rule.check(&facts(Some("2099-01-01T00:00:00Z"), None, &[]), NOW)[..],
            [Failure::FromTheFuture { .. }]
        ));
        assert!(matches!(rule.check(&facts(Some("yesterday"), None, &[]), NOW)[..], [Failure::BadCreated { .. }]));
    }
}
