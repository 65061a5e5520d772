#!/usr/bin/env python3
"""Validates Kubernetes manifests against the CRD schemas kept beside this file.

    validate.py FILE...

Every YAML document with `apiVersion` and `kind` is checked against the openAPIV3Schema of
its kind and version (tests/crds/<group>_<kind>.json), as `kubectl apply` with strict field
validation would: a field the schema does not name is an error (unless the schema keeps
unknown fields, as a plugin's free-form config does), and so is a kind or version with no
kept schema. Documents without apiVersion and kind (Envoy configs) are left alone.
Prints `ok FILE KIND NAME` per valid document, and every error with its path; exits 1 on
any error. Needs jsonschema and PyYAML (./build.sh test installs them into .venv).
"""
import json
import os
import sys

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))

# What the API server checks of every object's metadata, for the fields manifests use.
OBJECT_META = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "namespace": {"type": "string", "minLength": 1},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def strict(schema):
    """The schema with unknown fields refused wherever it names the fields an object has."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) if k != "properties" else {n: strict(s) for n, s in v.items()} for k, v in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def schema_of(api_version, kind, cache={}):
    """The strict schema of a kind and version (from tests/crds/<group>_<kind>.json), or None."""
    group, _, version = (api_version or "").rpartition("/")
    path = os.path.join(HERE, f"{group}_{kind}.json")
    if path not in cache:
        cache[path] = None
        if os.path.isfile(path):
            with open(path) as f:
                cache[path] = json.load(f)["versions"]
    versions = cache[path]
    if not versions or version not in versions:
        return None
    schema = strict(versions[version])
    schema["properties"].update(apiVersion={"type": "string"}, kind={"type": "string"}, metadata=OBJECT_META)
    return schema


def errors_of(document):
    api_version, kind = document.get("apiVersion"), document.get("kind")
    schema = schema_of(api_version, kind)
    if schema is None:
        return [f"no kept schema for apiVersion {api_version} kind {kind} (tests/crds/README.md says how to add one)"]
    validator = jsonschema.Draft4Validator(schema)
    return [
        f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
        for e in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]


def main():
    failed = False
    for path in sys.argv[1:]:
        with open(path) as f:
            documents = list(yaml.safe_load_all(f))
        for index, document in enumerate(documents):
            if not isinstance(document, dict) or not ("apiVersion" in document or "kind" in document):
                continue
            name = (document.get("metadata") or {}).get("name")
            errors = errors_of(document)
            for error in errors:
                print(f"error {path} document {index + 1} ({document.get('kind')} {name}): {error}")
            if errors:
                failed = True
            else:
                print(f"ok {path} {document['kind']} {name}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
