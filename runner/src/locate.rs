//! Finds the line of a field path (`registries.allow[1]`,
//! `spec.template.spec.containers[0].image`) in a YAML document's text: the
//! playground shows each settings error at its line, and `check --format
//! github` puts each denial on the line of its `image:`. Block YAML only, by
//! indentation (what people type in the editor); in flow style (`{…}`,
//! `[…]`) or JSON the line of the deepest key found is given. `None` when
//! even the first key is not found.

/// A path's segments: keys and list indexes.
#[derive(Debug, PartialEq)]
enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').unwrap_or(after.len());
            let inner = &after[..end];
            match inner.parse() {
                Ok(i) => out.push(Segment::Index(i)),
                Err(_) => out.push(Segment::Key(inner.trim_matches('"'))),
            }
            rest = after.get(end + 1..).unwrap_or_default();
        } else {
            let rest_trimmed = rest.strip_prefix('.').unwrap_or(rest);
            let end = rest_trimmed.find(['.', '[']).unwrap_or(rest_trimmed.len());
            out.push(Segment::Key(&rest_trimmed[..end]));
            rest = &rest_trimmed[end..];
        }
    }
    out
}

/// The 1-based line of `path` in `text`.
pub fn line_of(text: &str, path: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |line: &str| line.len() - line.trim_start().len();
    let meaningful = |line: &str| !line.trim().is_empty() && !line.trim_start().starts_with('#');
    // The block being searched: lines after `from`, indented more than `parent`.
    let (mut from, mut parent, mut found) = (0usize, -1isize, None);
    for segment in segments(path) {
        let mut hit = None;
        let mut index = 0;
        for (n, line) in lines.iter().enumerate().skip(from) {
            if !meaningful(line) {
                continue;
            }
            let at = indent(line) as isize;
            // A `- ` item counts as indented past its dash.
            let body = line.trim_start();
            let (at, body) = match body.strip_prefix("- ") {
                Some(item) if matches!(segment, Segment::Key(_)) => (at + 2, item),
                _ => (at, body),
            };
            if n > from.saturating_sub(1) && at <= parent && found.is_some() {
                break;
            }
            match segment {
                Segment::Key(key) => {
                    let bare = body.strip_prefix(key).is_some_and(|r| r.trim_start().starts_with(':'));
                    let quoted =
                        body.strip_prefix(&format!("\"{key}\"")).is_some_and(|r| r.trim_start().starts_with(':'));
                    if (bare || quoted) && at > parent {
                        hit = Some((n, at));
                        break;
                    }
                }
                Segment::Index(i) => {
                    if body.starts_with("- ") || body == "-" {
                        if index == i {
                            hit = Some((n, at));
                            break;
                        }
                        index += 1;
                    }
                }
            }
        }
        match hit {
            Some((n, at)) => {
                found = Some(n + 1);
                from = n + 1;
                parent = at;
                if matches!(segment, Segment::Index(_)) {
                    // Keys of a `- key: v` item start on the item's own line.
                    from = n;
                }
            }
            // Flow style or JSON: the deepest key found.
            None => return found,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_keys_and_indexes() {
        assert_eq!(
            segments("imageConfig.labels.require[\"a.b\"]"),
            [Segment::Key("imageConfig"), Segment::Key("labels"), Segment::Key("require"), Segment::Key("a.b")]
        );
        assert_eq!(segments("mirrors[1].to"), [Segment::Key("mirrors"), Segment::Index(1), Segment::Key("to")]);
    }

    #[test]
    fn lines_of_block_yaml_paths() {
        let text = "# comment\nregistries:\n  allow:\n    - a.io\n    - b.io\ntags:\n  reject: [latest]\nmirrors:\n  - from: docker.io\n    to: x\n  - from: quay.io\n    to: y\n";
        assert_eq!(line_of(text, "registries"), Some(2));
        assert_eq!(line_of(text, "registries.allow[1]"), Some(5));
        assert_eq!(line_of(text, "tags.reject[0]"), Some(7));
        assert_eq!(line_of(text, "mirrors[1].to"), Some(12));
        assert_eq!(line_of(text, "mirrors[0].from"), Some(9));
        assert_eq!(line_of(text, "images.allow"), None);
        assert_eq!(line_of(text, ""), None);
    }
}
