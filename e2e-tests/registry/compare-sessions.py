#!/usr/bin/env python3
"""Compares two kwctl host-call sessions: one kwctl recorded against a real
registry (--record-host-capabilities-interactions), one the runner wrote
from its fake files (registry-guard check --record-host-calls) for the same
request. They must ask the same questions in the same order, both answer or
both fail each one, and every field the policy reads in a real answer must
be in the fake's, of the same JSON type: so the fakes that every other test
relies on answer in the shapes real registries do.

    compare-sessions.py REAL FAKE

Sessions are read without a YAML library (CI has only the standard
library): the format is the fixed one kwctl and the runner write.
"""

import json
import re
import sys

# The fields the policy reads (src/host/*.rs), as key paths; `[]` is every
# element of a list.
READ = {
    "OciManifestDigest": ["digest"],
    "OciManifest": ["config", "manifests", "manifests[].digest", "manifests[].mediaType",
                    "manifests[].platform", "manifests[].platform.os", "manifests[].platform.architecture"],
    "OciManifestAndConfig": ["digest", "config", "config.created", "config.os", "config.architecture",
                             "config.config", "config.config.User", "config.config.Labels"],
}


def unquote(value):
    value = value.strip()
    if value.startswith("'") and value.endswith("'"):
        return value[1:-1].replace("''", "'")
    if value.startswith('"'):
        return json.loads(value)
    return value


def read(path):
    exchanges, current, in_request = [], None, False
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("- type: Exchange"):
            current = {}
            exchanges.append(current)
        elif line.startswith("  request: |"):
            in_request = True
        elif in_request and line.startswith("    !"):
            current["kind"] = line.strip()[1:]
        elif in_request and line.startswith("    image: "):
            current["image"] = unquote(line[len("    image: "):])
        elif line.startswith("  response:"):
            in_request = False
        elif line.startswith("    type: "):
            current["ok"] = line.strip() == "type: Success"
        elif line.startswith("    payload: "):
            current["answer"] = json.loads(unquote(line[len("    payload: "):]))
        elif line.startswith("    message: "):
            current["answer"] = unquote(line[len("    message: "):])
    return exchanges


def values(document, path):
    """The values at a key path (several under `[]`)."""
    found = [document]
    for part in re.split(r"\.", path):
        many = part.endswith("[]")
        key = part[:-2] if many else part
        nxt = []
        for value in found:
            if isinstance(value, dict) and key in value:
                item = value[key]
                if many and isinstance(item, list):
                    nxt.extend(item)
                elif not many:
                    nxt.append(item)
        found = nxt
    return found


def kind_of(value):
    return type(value).__name__ if value is not None else "null"


def main():
    real, fake = read(sys.argv[1]), read(sys.argv[2])
    problems = []
    asked_real = [(e.get("kind"), e.get("image")) for e in real]
    asked_fake = [(e.get("kind"), e.get("image")) for e in fake]
    if asked_real != asked_fake:
        problems.append(f"different questions:\n  real: {asked_real}\n  fake: {asked_fake}")
    for r, f in zip(real, fake):
        what = f"{r.get('kind')} {r.get('image')}"
        if r.get("ok") != f.get("ok"):
            problems.append(f"{what}: the real registry {'answered' if r.get('ok') else 'failed'}, the fake did not")
            continue
        if not r.get("ok"):
            continue
        for path in READ.get(r.get("kind"), []):
            real_values, fake_values = values(r["answer"], path), values(f["answer"], path)
            real_kinds = sorted({kind_of(v) for v in real_values if v is not None})
            fake_kinds = sorted({kind_of(v) for v in fake_values if v is not None})
            if real_kinds and real_kinds != fake_kinds:
                problems.append(f"{what}: {path} is {real_kinds} from the registry, {fake_kinds or 'absent'} from the fake")
    for problem in problems:
        print(problem)
    print(f"{len(real)} host calls compared, {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
