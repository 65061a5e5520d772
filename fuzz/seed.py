#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ from the conformance table (tests/conformance/*.json): its
configurations as JSON text, as a Struct's bytes and their Gateway API `cors` fields; its
requests as the decision target's fields, as `--request` lines and as curl commands; and
the HAR files of tests/har/ and the Envoy configs of envoy/ for the checker's readers, and
the sources of tests/import/ for its importers.
Files are named by their content's sha1, as libFuzzer names what it keeps."""

import hashlib
import json
import pathlib
import shlex
import struct
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"


def varint(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def struct_value(value):
    """google.protobuf.Value: null 1, number 2, string 3, bool 4, struct 5, list 6."""
    if value is None:
        return bytes([1 << 3, 0])
    if isinstance(value, bool):
        return bytes([4 << 3, int(value)])
    if isinstance(value, (int, float)):
        return bytes([2 << 3 | 1]) + struct.pack("<d", float(value))
    if isinstance(value, str):
        return field(3, value.encode())
    if isinstance(value, dict):
        return field(5, struct_bytes(value))
    return field(6, b"".join(field(1, struct_value(v)) for v in value))


def struct_bytes(obj):
    return b"".join(field(1, field(1, k.encode()) + field(2, struct_value(v))) for k, v in obj.items())


def unescape(text):
    """`\\xHH` is the byte HH, as in the table."""
    out, i = bytearray(), 0
    raw = text.encode()
    while i < len(raw):
        if raw[i : i + 2] == b"\\x" and len(raw) >= i + 4:
            try:
                out.append(int(raw[i + 2 : i + 4], 16))
                i += 4
                continue
            except ValueError:
                pass
        out.append(raw[i])
        i += 1
    return bytes(out)


def tables():
    for path in sorted((ROOT / "tests" / "conformance").glob("*.json")):
        yield json.loads(path.read_text())


def cors_fields(value):
    if isinstance(value, dict):
        if "cors" in value:
            yield value["cors"]
        for inner in value.values():
            yield from cors_fields(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from cors_fields(inner)


def configs():
    for table in tables():
        if "config" in table:
            yield table["config"]
        for case in table["cases"]:
            if "config" in case:
                yield case["config"]


def requests():
    for table in tables():
        for case in table["cases"]:
            request = case.get("request")
            headers = request and request.get("headers", [])
            if request and all(isinstance(v, str) for _, v in headers):
                yield request, [(n.lower(), unescape(v)) for n, v in headers]


def decision_fields(request, headers):
    named = ["origin", "access-control-request-method", "access-control-request-headers",
             "access-control-request-private-network"]
    values = dict(headers)
    fields = [request.get("method", "GET").encode(), request.get("path", "/").lstrip("/").encode()]
    fields += [values.get(name, b"") for name in named]
    fields.append(request.get("route", "default").encode())
    return b"\n".join(fields)


def url(request):
    return f"https://{request.get('authority', 'api.example.com')}{request.get('path', '/')}"


def check_lines(request, headers):
    lines = [f"{request.get('method', 'GET')} {url(request)}"]
    lines += [f"{n}: {v.decode('utf-8', 'replace')}" for n, v in headers]
    return "\n".join(lines).encode()


def curl(request, headers):
    words = ["curl", url(request), "-X", request.get("method", "GET")]
    for name, value in headers:
        words += ["-H", f"{name}: {value.decode('utf-8', 'replace')}"]
    return " ".join(shlex.quote(w) for w in words).encode()


# The Gateway API's own examples of an HTTPCORSFilter, beside those in the table.
GATEWAY_EXAMPLES = [
    {"allowOrigins": ["https://a.example.com", "https://*.example.com", "http://localhost:*"],
     "allowMethods": ["GET", "PUT", "DELETE"], "allowHeaders": ["x-a", "content-type"],
     "exposeHeaders": ["x-b"], "allowCredentials": True, "maxAge": 600},
    {"allowOrigins": ["*"], "allowMethods": ["*"], "allowHeaders": ["*"], "exposeHeaders": ["*"]},
]


def seeds():
    for cors in GATEWAY_EXAMPLES:
        yield "config_cors_dialect", json.dumps(cors).encode()
    for config in configs():
        text = config if isinstance(config, str) else json.dumps(config)
        yield "config_json", text.encode()
        if isinstance(config, dict):
            yield "config_struct", struct_bytes(config)
        for cors in cors_fields(config):
            yield "config_cors_dialect", json.dumps(cors).encode()
    for request, headers in requests():
        yield "decision", decision_fields(request, headers)
        yield "check_request", check_lines(request, headers)
        yield "check_curl", curl(request, headers)
    for har in sorted((ROOT / "tests" / "har").glob("*.har")):
        yield "check_har", har.read_bytes()
    for config in sorted((ROOT / "envoy").glob("*.yaml")):
        yield "check_envoy_config", config.read_bytes()
    # `import`: the first byte picks the source, as cors_wasm::host::import::SOURCES orders them.
    for pick, source in enumerate(["envoy", "istio", "express"]):
        for file in sorted((ROOT / "tests" / "import" / source).glob("*")):
            yield "import", bytes([pick]) + file.read_bytes()


def main():
    written = 0
    for target, data in seeds():
        folder = CORPUS / target
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / hashlib.sha1(data).hexdigest()
        if not path.exists():
            path.write_bytes(data)
            written += 1
    print(f"seeded {written} new inputs into {CORPUS}", file=sys.stderr)


if __name__ == "__main__":
    main()
