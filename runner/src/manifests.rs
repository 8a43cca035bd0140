//! Reads Kubernetes manifests: YAML (multi-document, as `helm template`
//! prints it) or JSON (one value, or several in a row), from files, folders
//! (their `.yaml`, `.yml` and `.json` files, sorted, recursively) and
//! standard input (`-`). Empty documents are skipped; a document that does
//! not parse is an error naming the file and the document's number.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

/// One parsed document and where it came from.
#[derive(Debug)]
pub struct Sourced {
    /// The file (or `-` for standard input).
    pub source: String,
    /// 1-based position of the document in its file.
    pub index: usize,
    pub value: Value,
    /// The line of the file where the document starts (1-based), and its
    /// text, for pointing at the line of a field (`locate.rs`).
    pub line: usize,
    pub text: String,
}

/// Reads every document of every input, in order.
pub fn read_inputs(inputs: &[String]) -> Result<Vec<Sourced>, String> {
    let mut out = Vec::new();
    for input in inputs {
        if input == "-" {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .map_err(|e| format!("-: cannot read standard input: {e}"))?;
            out.extend(parse_documents("-", &text)?);
            continue;
        }
        let path = Path::new(input);
        let files = if path.is_dir() { manifest_files(path)? } else { vec![path.to_path_buf()] };
        for file in files {
            let name = file.display().to_string();
            let text = std::fs::read_to_string(&file).map_err(|e| format!("{name}: cannot read: {e}"))?;
            out.extend(parse_documents(&name, &text)?);
        }
    }
    Ok(out)
}

/// The manifest files below a folder, sorted.
fn manifest_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: cannot read folder: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.is_dir() {
            files.extend(manifest_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Parses a text of YAML documents, or of JSON values. A text that starts
/// like JSON (`{`, `[`) is read as JSON values, and when that fails, unless
/// the file is named `.json`, as YAML: flow-style YAML (`{registries:
/// {allow: [quay.io]}}`) starts the same way. A `.json` file stays JSON
/// (`{"a": }` is not JSON, though YAML reads it), and when both fail the
/// JSON error is the one reported.
pub fn parse_documents(source: &str, text: &str) -> Result<Vec<Sourced>, String> {
    if text.trim_start().starts_with(['{', '[']) {
        let mut out = Vec::new();
        for (i, value) in serde_json::Deserializer::from_str(text).into_iter::<Value>().enumerate() {
            let value = match value {
                Ok(value) => value,
                Err(e) => {
                    let json_error = format!("{source}: document {}: invalid JSON: {e}", i + 1);
                    if source.ends_with(".json") {
                        return Err(json_error);
                    }
                    return parse_yaml_documents(source, text).map_err(|_| json_error);
                }
            };
            if !value.is_null() {
                out.push(Sourced { source: source.to_string(), index: i + 1, value, line: 1, text: String::new() });
            }
        }
        return Ok(out);
    }
    parse_yaml_documents(source, text)
}

/// Parses a text of YAML documents.
fn parse_yaml_documents(source: &str, text: &str) -> Result<Vec<Sourced>, String> {
    let mut out = Vec::new();
    let spans = yaml_documents(text);
    for (i, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let value =
            Value::deserialize(document).map_err(|e| format!("{source}: document {}: invalid YAML: {e}", i + 1))?;
        if !value.is_null() {
            let (line, text) = spans.get(i).cloned().unwrap_or((1, String::new()));
            out.push(Sourced { source: source.to_string(), index: i + 1, value, line, text });
        }
    }
    Ok(out)
}

/// Where each YAML document of `text` starts (1-based line) and its text,
/// in the order serde_yaml reads them: a `---` line starts a document,
/// except the first one before any content, which starts the first.
fn yaml_documents(text: &str) -> Vec<(usize, String)> {
    let mut documents: Vec<(usize, String)> = vec![(1, String::new())];
    let mut has_content = false;
    for (n, line) in text.lines().enumerate() {
        let marker = line == "---" || line.starts_with("--- ") || line.starts_with("---\t");
        if marker {
            if has_content {
                documents.push((n + 2, String::new()));
            } else if let Some(last) = documents.last_mut() {
                // The explicit start of the current document.
                *last = (n + 2, String::new());
            }
            has_content = false;
            continue;
        }
        let trimmed = line.trim();
        if !trimmed.is_empty() && !trimmed.starts_with('#') && trimmed != "..." {
            has_content = true;
        }
        if let Some((_, document)) = documents.last_mut() {
            document.push_str(line);
            document.push('\n');
        }
    }
    documents
}

/// Reads a settings file (YAML or JSON) into the JSON the host sends.
pub fn read_settings(path: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: cannot read settings: {e}"))?;
    let documents = parse_documents(path, &text)?;
    match documents.len() {
        0 => Ok(Value::Object(Default::default())),
        1 => Ok(documents.into_iter().next().map(|d| d.value).unwrap_or_default()),
        n => Err(format!("{path}: settings must be one document, found {n}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Flow-style YAML starts like JSON: it is read as YAML when it is not
    /// JSON, and a text that is neither reports the JSON error.
    #[test]
    fn flow_style_yaml_is_not_refused_as_json() {
        let docs = parse_documents("s.yaml", "{registries: {allow: [quay.io, '*.corp.example']}}\n").unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].value, serde_json::json!({"registries": {"allow": ["quay.io", "*.corp.example"]}}));
        let json = parse_documents("s.json", r#"{"tags": {"reject": ["latest"]}}"#).unwrap();
        assert_eq!(json[0].value, serde_json::json!({"tags": {"reject": ["latest"]}}));
        let err = parse_documents("s.yaml", "{\"tags\": [}").unwrap_err();
        assert!(err.starts_with("s.yaml: document 1: invalid JSON: "), "{err}");
        // A .json file stays JSON, though YAML would read this.
        assert!(parse_documents("s.json", "{tags: {reject: [latest]}}").is_err());
    }

    #[test]
    fn documents_know_their_line() {
        let text = "# header\n---\napiVersion: v1\nkind: Pod\n---\n# Source: b.yaml\napiVersion: v1\nkind: Service\n";
        let docs = parse_documents("t.yaml", text).unwrap();
        assert_eq!(docs.iter().map(|d| (d.index, d.line)).collect::<Vec<_>>(), [(1, 3), (2, 6)]);
        assert!(docs[1].text.starts_with("# Source: b.yaml\napiVersion: v1\n"));
        let plain = parse_documents("t.yaml", "kind: Pod\n").unwrap();
        assert_eq!(plain[0].line, 1);
    }

    #[test]
    fn multi_document_yaml_with_helm_comments_and_empty_documents() {
        let text = "---\n# Source: chart/templates/a.yaml\napiVersion: v1\nkind: Pod\n---\n---\nkind: Service\n";
        let docs = parse_documents("t.yaml", text).unwrap();
        assert_eq!(
            docs.iter().map(|d| (d.index, d.value["kind"].as_str().unwrap())).collect::<Vec<_>>(),
            [(1, "Pod"), (3, "Service")]
        );
    }

    #[test]
    fn json_values_in_a_row() {
        let docs = parse_documents("t.json", "{\"kind\": \"A\"}\n{\"kind\": \"B\"}").unwrap();
        assert_eq!(docs.len(), 2);
    }

    #[test]
    fn invalid_documents_name_file_and_index() {
        let err = parse_documents("t.yaml", "kind: Pod\n---\nkind: [unclosed\n").unwrap_err();
        assert!(err.starts_with("t.yaml: document 2: invalid YAML"), "{err}");
        let err = parse_documents("t.json", "{\"a\": }").unwrap_err();
        assert!(err.starts_with("t.json: document 1: invalid JSON"), "{err}");
    }
}
