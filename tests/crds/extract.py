#!/usr/bin/env python3
"""Keeps the OpenAPI v3 schemas of upstream CRDs that tests/manifests.rs validates against.

    python3 tests/crds/extract.py SOURCE CRD_YAML KIND [KIND...]

writes tests/crds/<group>_<kind>.json for each KIND found in CRD_YAML (a file of one or more
CustomResourceDefinitions): the openAPIV3Schema of every served version, with the
`description` keywords removed (prose, a large part of the files, never used to validate)
and SOURCE (where CRD_YAML came from) noted. Needs PyYAML. The validation itself is in
tests/crds/validate.py.
"""
import hashlib
import json
import os
import sys

import yaml

# The keywords whose values are schemas, or maps or lists of schemas.
SCHEMA = ("additionalProperties", "items", "not")
SCHEMA_MAP = ("properties", "patternProperties", "definitions")
SCHEMA_LIST = ("allOf", "anyOf", "oneOf")


def without_descriptions(schema):
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "description":
            continue
        if key in SCHEMA:
            value = [without_descriptions(v) for v in value] if isinstance(value, list) else without_descriptions(value)
        elif key in SCHEMA_MAP:
            value = {name: without_descriptions(v) for name, v in value.items()}
        elif key in SCHEMA_LIST:
            value = [without_descriptions(v) for v in value]
        out[key] = value
    return out


def main():
    source, path, kinds = sys.argv[1], sys.argv[2], set(sys.argv[3:])
    with open(path, "rb") as f:
        raw = f.read()
    here = os.path.dirname(os.path.abspath(__file__))
    for crd in yaml.safe_load_all(raw):
        if not crd or crd.get("kind") != "CustomResourceDefinition":
            continue
        spec = crd["spec"]
        kind = spec["names"]["kind"]
        if kind not in kinds:
            continue
        kinds.discard(kind)
        kept = {
            "source": source,
            "source_sha256": hashlib.sha256(raw).hexdigest(),
            "group": spec["group"],
            "kind": kind,
            "versions": {
                v["name"]: without_descriptions(v["schema"]["openAPIV3Schema"])
                for v in spec["versions"]
                if v.get("served", True)
            },
        }
        out = os.path.join(here, f"{spec['group']}_{kind}.json")
        with open(out, "w") as f:
            json.dump(kept, f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"wrote {out}: {', '.join(kept['versions'])}")
    if kinds:
        sys.exit(f"not in {path}: {', '.join(sorted(kinds))}")


if __name__ == "__main__":
    main()
