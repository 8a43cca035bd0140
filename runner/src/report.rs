//! `registry-guard check` output for CI pipelines: the closing summary, GitHub
//! Actions annotations (`--format github`) and JUnit XML (`--format junit`).
//! Each denial and warning points at the line of its field (the offending
//! `image:`), found in the document's text (`locate.rs`) from the line the
//! document starts on (`manifests.rs`).

use crate::check::Verdict;
use crate::locate;

/// `12 objects: 9 ok, 2 denied, 1 mutated, 3 warnings`.
pub fn summary(verdicts: &[Verdict]) -> String {
    let denied = verdicts.iter().filter(|v| !v.allowed).count();
    let mutated = verdicts.iter().filter(|v| v.allowed && v.patch.is_some()).count();
    let ok = verdicts.len() - denied - mutated;
    let warnings: usize = verdicts.iter().map(|v| v.warnings.len()).sum();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}: {ok} ok, {denied} denied, {mutated} mutated, {}",
        plural(verdicts.len(), "object"),
        plural(warnings, "warning")
    )
}

/// The parts of a rejection message, one per violation (`field "image":
/// reason; field: reason; … and N more`), each with its field.
fn violations(message: &str) -> Vec<(&str, &str)> {
    message.split("; ").map(|part| (field_of(part), part)).collect()
}

/// The field path a violation or warning starts with.
fn field_of(text: &str) -> &str {
    text.split([' ', ':']).next().unwrap_or_default()
}

/// The file line of `field` in the verdict's document: the document's own
/// line when the field cannot be found (a List item, JSON, a request).
pub fn line_of(verdict: &Verdict, field: &str) -> usize {
    locate::line_of(&verdict.text, field).map_or(verdict.line, |l| verdict.line + l - 1)
}

/// GitHub Actions workflow commands: `::error file=F,line=L::message` per
/// denial, `::warning` per warning, `::notice` per mutated object.
pub fn github(verdicts: &[Verdict]) -> Vec<String> {
    let mut out = Vec::new();
    for v in verdicts {
        let object = object_name(v);
        let at = |field: &str| format!("file={},line={}", property(&v.source), line_of(v, field));
        if let (false, Some(message)) = (v.allowed, &v.message) {
            for (field, violation) in violations(message) {
                out.push(format!(
                    "::error {},title=registry-guard denied {}::{}",
                    at(field),
                    property(&object),
                    data(violation)
                ));
            }
        }
        for warning in &v.warnings {
            out.push(format!("::warning {},title=registry-guard::{}", at(field_of(warning)), data(warning)));
        }
        if v.allowed && v.patch.is_some() {
            out.push(format!(
                "::notice file={},line={},title=registry-guard::{} would be mutated (mirrors or digest pins)",
                property(&v.source),
                v.line,
                data(&object)
            ));
        }
    }
    out
}

/// JUnit XML: one test suite, one test case per object, a failure per denial.
pub fn junit(verdicts: &[Verdict]) -> String {
    let failures = verdicts.iter().filter(|v| !v.allowed).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"registry-guard\" tests=\"{}\" failures=\"{failures}\">\n  <testsuite name=\"registry-guard check\" tests=\"{}\" failures=\"{failures}\">\n",
        verdicts.len(),
        verdicts.len()
    );
    for v in verdicts {
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" line=\"{}\"",
            xml(&v.source),
            xml(&object_name(v)),
            xml(&v.source),
            v.line
        ));
        let message = v.message.as_deref().unwrap_or("denied");
        let mut body = String::new();
        if !v.allowed {
            body.push_str(&format!("      <failure message=\"{}\">{}</failure>\n", xml(message), xml(message)));
        }
        if !v.warnings.is_empty() {
            body.push_str(&format!("      <system-out>{}</system-out>\n", xml(&v.warnings.join("\n"))));
        }
        if body.is_empty() {
            out.push_str("/>\n");
        } else {
            out.push_str(&format!(">\n{body}    </testcase>\n"));
        }
    }
    out.push_str("  </testsuite>\n</testsuites>");
    out
}

/// `Deployment prod/api`, as the text lines name objects.
fn object_name(v: &Verdict) -> String {
    let line = v.line();
    let rest = line.get(5..).unwrap_or_default();
    let end = rest.find(": ").unwrap_or(rest.len());
    rest[..end].trim_end_matches(" (mutated)").to_string()
}

/// A workflow command's message: `%`, CR and LF escaped.
fn data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A workflow command's property value: also `:` and `,`.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
