//! OpenShift: `image.config.openshift.io/v1` Image (`registrySources`,
//! `allowedRegistriesForImport`) and an OpenShift 3 master config's
//! `imagePolicyConfig.allowedRegistriesForImport`.
//!
//! OpenShift's meaning (docs.redhat.com, "Image [config.openshift.io/v1]"
//! and "Image configuration resources"; openshift/api config/v1
//! types_image.go; the machine-config-operator writes the lists into each
//! node's containers policy.json):
//! - `registrySources.allowedRegistries`: when set, every other registry is
//!   refused for pulls; `blockedRegistries`: these are refused; only one of
//!   the two may be set. The fields are Go slices with `omitempty`: an empty
//!   list, `null` and a missing field are the same, no restriction.
//! - An entry is a host, `host:port`, a `*.domain` wildcard (any subdomain),
//!   a repository (that repository and every one below it, as policy.json
//!   scopes read it, at `/` boundaries), or a repository with a tag or digest
//!   (that image only).
//! - `allowedRegistriesForImport` limits image stream imports, not pulls;
//!   empty or missing: no restriction. An entry's port is 443, or 80 when
//!   `insecure`, unless the domain names one.
//! - Nothing switches a rule off: the Image resource is always enforced.

use serde_json::Value;

use super::{Imported, Rule, origin, strings};
use crate::manifests::Sourced;

impl Imported {
    pub(super) fn openshift_image(&mut self, sourced: &Sourced) {
        let from = origin(sourced);
        self.enforcement(&from, None);
        let spec = &sourced.value["spec"];
        self.allowed_for_import(&from, &spec["allowedRegistriesForImport"]);
        let sources = &spec["registrySources"];
        let allowed = strings(&sources["allowedRegistries"]);
        let blocked = strings(&sources["blockedRegistries"]);
        if !allowed.is_empty() && !blocked.is_empty() {
            self.untranslatable.push(format!(
                "{from}: registrySources sets both allowedRegistries and blockedRegistries, which OpenShift refuses: only the allowed list is imported"
            ));
        }
        if !allowed.is_empty() {
            let mut rules = Vec::new();
            for entry in allowed {
                let comment = format!("{from}: registrySources.allowedRegistries {entry:?}");
                rules.extend(registry_source(entry).into_iter().map(|(rule, why)| (rule, format!("{comment}{why}"))));
                if is_tagged(entry) && !entry.contains('@') {
                    // The pattern `repo:tag` also matches `repo:tag@digest`,
                    // whose content is the digest's, not the tag's: refused.
                    self.push_reject(
                        Rule::Image(format!("{entry}@*")),
                        format!("{comment}; the tag only, not the tag pinned to another digest"),
                    );
                }
            }
            self.push_allow(&from, rules);
        } else {
            for entry in blocked {
                let comment = format!("{from}: registrySources.blockedRegistries {entry:?}");
                for (rule, why) in registry_source(entry) {
                    self.push_reject(rule, format!("{comment}{why}"));
                }
            }
        }
        if sources.get("insecureRegistries").is_some() {
            self.note(format!("{from}: registrySources.insecureRegistries says how to pull, not what: not imported"));
        }
    }

    pub(super) fn openshift_master(&mut self, sourced: &Sourced) {
        let from = origin(sourced);
        self.enforcement(&from, None);
        self.allowed_for_import(&from, &sourced.value["imagePolicyConfig"]["allowedRegistriesForImport"]);
    }

    /// `allowedRegistriesForImport: [{domainName, insecure}]`: port 443, or 80
    /// when insecure, unless the domain names a port. Its own allow group:
    /// OpenShift applies it to imports, registry-guard to every image, so an
    /// image must pass it and `registrySources` both (stricter for pulls).
    fn allowed_for_import(&mut self, from: &str, list: &Value) {
        let Some(items) = list.as_array().filter(|items| !items.is_empty()) else { return };
        let mut rules = Vec::new();
        for item in items {
            let Some(domain) = item["domainName"].as_str() else {
                self.untranslatable.push(format!("{from}: allowedRegistriesForImport entry without domainName"));
                continue;
            };
            let insecure = item["insecure"].as_bool().unwrap_or(false);
            let has_port = domain.rsplit_once(':').is_some_and(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()));
            let host = if has_port || !insecure { domain.to_string() } else { format!("{domain}:80") };
            let why = if insecure && !has_port { " (insecure: port 80)" } else { "" };
            rules.push((
                Rule::Registry(host),
                format!("{from}: allowedRegistriesForImport {domain:?}{why}; OpenShift applies it to image imports, registry-guard to every image"),
            ));
        }
        self.push_allow(from, rules);
    }
}

/// One `registrySources` entry as the rules that mean the same: a host
/// (`quay.io`, `reg:5000`, `*.corp.example`) is a registry; a repository
/// (`reg1.io/myrepo`) is that repository and every one under it (OpenShift
/// writes it into policy.json as a scope, which matches at `/` boundaries:
/// `reg1.io/myrepo/app` yes, `reg1.io/myrepo-evil` no); a repository with a
/// tag or digest (`reg1.io/myrepo/myapp:latest`) is that image only.
pub(super) fn registry_source(entry: &str) -> Vec<(Rule, String)> {
    let Some((_, path)) = entry.split_once('/') else {
        return vec![(Rule::Registry(entry.to_string()), String::new())];
    };
    if is_tagged(entry) || path.contains('@') {
        return vec![(Rule::Image(entry.to_string()), "; a repository with a tag or digest: that image only".into())];
    }
    let path = path.trim_end_matches('/');
    let host = entry.split_once('/').map_or(entry, |(h, _)| h);
    vec![
        (Rule::Image(format!("{host}/{path}")), "; the repository itself".into()),
        (Rule::Image(format!("{host}/{path}/*")), "; and every repository under it".into()),
    ]
}

/// Whether a repository entry names a tag (a `:` in its last component).
fn is_tagged(entry: &str) -> bool {
    entry.split_once('/').is_some_and(|(_, path)| path.rsplit('/').next().unwrap_or(path).contains(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_sources_entries_mean_what_openshift_reads() {
        let rules = |entry| registry_source(entry).into_iter().map(|(r, _)| r).collect::<Vec<_>>();
        assert_eq!(rules("quay.io"), [Rule::Registry("quay.io".into())]);
        assert_eq!(rules("reg.example:5000"), [Rule::Registry("reg.example:5000".into())]);
        assert_eq!(rules("*.corp.example"), [Rule::Registry("*.corp.example".into())]);
        assert_eq!(
            rules("reg1.io/myrepo"),
            [Rule::Image("reg1.io/myrepo".into()), Rule::Image("reg1.io/myrepo/*".into())]
        );
        assert_eq!(rules("reg1.io/myrepo/myapp:latest"), [Rule::Image("reg1.io/myrepo/myapp:latest".into())]);
        assert_eq!(rules("reg:5000/app@sha256:abc"), [Rule::Image("reg:5000/app@sha256:abc".into())]);
    }
}
