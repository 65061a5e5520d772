#!/usr/bin/env python3
"""cors-wasm against Envoy's native CORS filter, side by side, on loopback.

Run through `./build.sh bench`, which builds both modules and installs Envoy, wrk, nginx,
binaryen and valgrind. Envoy runs with one worker pinned to CPU 0; wrk and the nginx upstream
share CPU 1.
Every variant's Envoy stays up for the whole run, and the variants are measured in turn,
round after round, so drift on a noisy machine spreads over all of them alike.

The headline number is Envoy's CPU time per request: utime + stime from /proc/<pid>/stat
over a wrk run, divided by the requests wrk completed. Requests/s and wrk's p50/p99 latency
are reported too, and the instructions Envoy runs per request, counted by valgrind's callgrind
for the native filter and the dynamic-module builds (deterministic, so finer than the CPU
rows). Results go to stdout, BENCHMARKS.md and bench/chart.svg.
"""

import argparse
import glob
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from bootstrap import bootstrap  # noqa: E402 (the tests' generator, found through ROOT)
APP = "https://app.example.com"
ENVOY_CPU, LOAD_CPU = "0", "1"

# The policy both filters enforce.
POLICY = {
    "name": "api",
    "allow_origins": [APP],
    "allow_methods": ["GET", "PUT", "DELETE"],
    "allow_headers": ["content-type", "authorization"],
    "expose_headers": ["x-request-id"],
    "allow_credentials": True,
    "max_age": 600,
}
NATIVE_POLICY = {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
    "allow_origin_string_match": [{"exact": APP}],
    "allow_methods": "GET, PUT, DELETE",
    "allow_headers": "content-type, authorization",
    "expose_headers": "x-request-id",
    "allow_credentials": True,
    "max_age": "600",
}

# The dynamic-module floor configured to answer with all the real filter's answers to POLICY
# hold (checked against them): what any dynamic-module filter pays to give those answers.
PREFLIGHT_ANSWER = [
    ["access-control-allow-credentials", "true"],
    ["access-control-allow-methods", "GET, PUT, DELETE"],
    ["access-control-allow-headers", "content-type, authorization"],
    ["access-control-max-age", "600"],
    ["vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"],
]
ACTUAL_ANSWER = [  # after Access-Control-Allow-Origin
    ["access-control-allow-credentials", "true"],
    ["access-control-expose-headers", "x-request-id"],
    ["vary", "Origin"],
]
WHOLE_ANSWER = "dynamic module floor, the whole answer"
WHOLE_ANSWER_CONFIG = {"preflight_headers": PREFLIGHT_ANSWER, "response_headers": ACTUAL_ANSWER}
MAIN_VARIANTS = ["no CORS", "native CORS", "no-op wasm", "wasm floor", "cors-wasm", "dynamic module floor",
                 WHOLE_ANSWER, "dynamic module"]
# The same two builds with `record_decisions: true`: what writing each decision to Envoy's
# filter state (for the access log) costs.
RECORDING = {"cors-wasm": "cors-wasm, record_decisions", "dynamic module": "dynamic module, record_decisions"}

SCENARIOS = {
    "actual": ("GET", {"Origin": APP}),
    # Same-origin GETs and calls from servers carry no Origin: still Vary, no CORS headers.
    "no Origin": ("GET", {}),
    "preflight": ("OPTIONS", {
        "Origin": APP,
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type",
    }),
}

# The same requests with the headers a browser sends besides (Chrome 131's for a fetch() with
# credentials, its cookie included): `./build.sh bench instructions` counts them too, since
# what a read of the whole request map costs grows with the headers.
BROWSER_HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Accept": "*/*",
    "Accept-Language": "en-US,en;q=0.9",
    "Referer": APP + "/",
    "Sec-Fetch-Dest": "empty",
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Site": "cross-site",
    "sec-ch-ua": '"Chromium";v="131", "Not_A Brand";v="24"',
    "sec-ch-ua-mobile": "?0",
    "sec-ch-ua-platform": '"Linux"',
    "Cookie": "session=0f3c9a7e5b2d4c1a8e6f0b9d7c5a3e1f; theme=dark; _ga=GA1.1.1234567890.1733500000",
}
BROWSER_SCENARIOS = {
    "actual, a browser's headers": ("GET", {"Origin": APP, **BROWSER_HEADERS}),
    "preflight, a browser's headers": ("OPTIONS", {
        "Origin": APP,
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type",
        **{k: v for k, v in BROWSER_HEADERS.items() if k != "Cookie"},
    }),
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Every process the benchmark starts, stopped on exit whatever happens."""

    def __init__(self):
        self.children = []

    def start(self, args, log, env=None):
        child = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        self.children.append(child)
        return child

    def __enter__(self):
        return self

    def __exit__(self, *_):
        for child in self.children:
            child.kill()
            child.wait()


def start_nginx(procs, workdir):
    port = free_port()
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""
daemon off; master_process off; worker_processes 1;
pid {workdir}/nginx.pid; error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {workdir}; proxy_temp_path {workdir}; fastcgi_temp_path {workdir};
  uwsgi_temp_path {workdir}; scgi_temp_path {workdir};
  keepalive_requests 10000000;
  server {{ listen 127.0.0.1:{port}; location / {{ return 200 "ok\\n"; }} }}
}}
""")
    procs.start(["taskset", "-c", LOAD_CPU, "nginx", "-c", conf, "-p", workdir], open(os.path.join(workdir, "nginx.out"), "w"))
    wait_for_port(port)
    return port


def wait_for_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port} after {timeout}s")


def wasm_filter(module, policy):
    config = {
        "name": "bench",
        "root_id": "bench",
        "vm_config": {"vm_id": "bench", "runtime": "envoy.wasm.runtime.v8", "code": {"local": {"filename": module}}},
    }
    if policy is not None:
        config["configuration"] = {"@type": "type.googleapis.com/google.protobuf.Struct", "value": policy}
    return {"name": "envoy.filters.http.wasm", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm", "config": config}}


def dynamic_module_filter(policy):
    """A build of cors-wasm's dynamic module, libcors_wasm.so, found through
    ENVOY_DYNAMIC_MODULES_SEARCH_PATH (each variant's Envoy has its own)."""
    return {"name": "envoy.filters.http.dynamic_modules", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter",
        "dynamic_module_config": {"name": "cors_wasm"},
        "filter_name": "cors",
        "filter_config": {"@type": "type.googleapis.com/google.protobuf.Struct", "value": policy}}}


def envoy_config(filters, upstream_port, routes=None, vhost_extra=None, max_headers_kb=None):
    manager = {"max_request_headers_kb": max_headers_kb} if max_headers_kb else None
    return bootstrap(filters, upstream_port, routes, virtual_host=vhost_extra, connection_manager=manager)


class Envoy:
    def __init__(self, procs, envoy_bin, name, config, workdir, instance=0, modules=None, wrapper=None, workers=1,
                 cpus=ENVOY_CPU):
        self.name = name
        self.dir = os.path.join(workdir, re.sub(r"[^a-z0-9]+", "-", name.lower()) + f"-{instance}")
        os.makedirs(self.dir)
        path = os.path.join(self.dir, "envoy.json")
        with open(path, "w") as f:
            json.dump(config, f)
        self.log = os.path.join(self.dir, "envoy.log")
        admin_file = os.path.join(self.dir, "admin")
        started = time.time()
        self.process = procs.start(
            ["taskset", "-c", cpus] + (wrapper or []) +
            [envoy_bin, "-c", path, "--concurrency", str(workers),
             "--disable-hot-restart", "-l", "info", "--admin-address-path", admin_file],
            open(self.log, "w"), env={**os.environ, "ENVOY_DYNAMIC_MODULES_SEARCH_PATH": modules or ""})
        self.admin, self.port = self._wait_ready(admin_file)
        self.startup_seconds = time.time() - started

    def _wait_ready(self, admin_file, timeout=300):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"Envoy ({self.name}) exited:\n{open(self.log).read()[-3000:]}")
            try:
                admin = open(admin_file).read().strip().rsplit(":", 1)[1]
                with urllib.request.urlopen(f"http://127.0.0.1:{admin}/listeners?format=json", timeout=2) as r:
                    listeners = json.load(r)["listener_statuses"]
                port = listeners[0]["local_address"]["socket_address"]["port_value"]
                if port:
                    return admin, port
            except (OSError, ValueError, KeyError, IndexError):
                pass
            time.sleep(0.05)
        raise SystemExit(f"Envoy ({self.name}) not ready after {timeout}s")

    def cpu_seconds(self):
        fields = open(f"/proc/{self.process.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mib(self):
        for line in open(f"/proc/{self.process.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stat(self, name):
        """A stat's value; Envoy may or may not show the `wasmcustom.` prefix of wasm metrics."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin}/stats?filter={re.escape(name)}", timeout=5) as r:
            text = r.read().decode()
        match = re.search(rf"^(?:wasmcustom\.)?{re.escape(name)}: (\d+)$", text, re.M)
        return int(match.group(1)) if match else None

    def configure_ms(self):
        match = re.search(r"configured \d+ polic\w+ in ([0-9.]+) ms", open(self.log).read())
        return float(match.group(1)) if match else None


def wrk_script(workdir, scenario, method, headers):
    path = os.path.join(workdir, re.sub(r"[^a-z0-9]+", "-", scenario.lower()) + ".lua")
    with open(path, "w") as f:
        f.write(f'wrk.method = "{method}"\n')
        for name, value in headers.items():
            f.write(f'wrk.headers["{name}"] = "{value}"\n')
    return path


def run_wrk(envoy, script, seconds, connections, path="/"):
    before = envoy.cpu_seconds()
    out = subprocess.run(
        ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script,
         f"http://127.0.0.1:{envoy.port}{path}"],
        capture_output=True, text=True, check=True).stdout
    cpu = envoy.cpu_seconds() - before
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors or "Socket errors" in out:
        raise SystemExit(f"wrk saw failed requests against {envoy.name}:\n{out}")
    return {
        "us_per_request": cpu / requests * 1e6,
        "rps": float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1)),
        "p50_us": latency_us(out, "50%"),
        "p99_us": latency_us(out, "99%"),
    }


def latency_us(out, percentile):
    value, unit = re.search(rf"{re.escape(percentile)}\s+([0-9.]+)(us|ms|s)\b", out).groups()
    return float(value) * {"us": 1, "ms": 1e3, "s": 1e6}[unit]


def check_answers(envoy):
    """Each variant must really do what it is measured doing."""
    def call(method, headers):
        request = urllib.request.Request(f"http://127.0.0.1:{envoy.port}/", method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, r.headers
    status, headers = call(*SCENARIOS["actual"])
    cors = headers.get("access-control-allow-origin")
    expected = {"no CORS": None, "no-op wasm": None}.get(envoy.name, APP)
    # Candidates may be probes that do part of the work on purpose: only their status counts.
    if status != 200 or (cors != expected and (envoy.name in MAIN_VARIANTS or envoy.name in RECORDING.values())):
        raise SystemExit(f"{envoy.name}: actual request answered {status} with allow-origin {cors!r}")


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envoy", required=True)
    parser.add_argument("--module", required=True, help="the module as ./build.sh makes it")
    parser.add_argument("--compiled", required=True, help="the compiler's output, before wasm-opt")
    parser.add_argument("--noop", required=True)
    parser.add_argument("--floor", required=True, help="bench/noop built with its `floor` feature")
    parser.add_argument("--dynamic-module", required=True, help="libcors_wasm.so, the Envoy dynamic module")
    parser.add_argument("--dynamic-module-floor", required=True,
                        help="the dynamic module built with --cfg cors_wasm_bench_floor")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--instances", type=int, default=2, help="Envoy processes per variant")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--out", default=os.path.join(ROOT, "BENCHMARKS.md"))
    parser.add_argument("--soak", type=int, default=180, help="seconds of sustained mixed load on cors-wasm (0: none)")
    parser.add_argument("--candidate", action="append", default=[], metavar="NAME=PATH",
                        help="another build of cors-wasm (a .wasm, or a .so named libcors_wasm.so), measured beside "
                             "the others (A/B work; with --memory-only, beside the wasm floor and cors-wasm only); repeatable")
    parser.add_argument("--fuel", help="a table from examples/fuel.rs to include in the report")
    parser.add_argument("--quick", action="store_true", help="skip the policy-size variants")
    parser.add_argument("--memory-only", action="store_true",
                        help="only the memory table (RSS at 1 and 4 workers), written into --out's memory section")
    parser.add_argument("--memory-rounds", type=int, default=3, help="Envoys per variant and worker count")
    parser.add_argument("--instructions-only", action="store_true",
                        help="only callgrind's instructions per request of the wasm floor, cors-wasm and each "
                             "--candidate module, side by side in one run; printed, not written")
    parser.add_argument("--keep-dumps", metavar="DIR",
                        help="with --instructions-only: keep callgrind's dumps in DIR, for callgrind_annotate")
    args = parser.parse_args()

    # Stopped (Ctrl-C, kill), it still stops every process it started: Processes' exit runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = tempfile.mkdtemp(prefix="cors-wasm-bench-")
    try:
        with Processes() as procs:
            if args.instructions_only:
                counts = count_wasm_instructions(procs, args, start_nginx(procs, workdir), workdir)
            elif args.memory_only:
                memory = measure_memory(procs, args, start_nginx(procs, workdir), workdir)
            else:
                results = measure(procs, args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.instructions_only:
        print("\n".join(candidate_instruction_lines(counts)))
    elif args.memory_only and args.candidate:
        print("\n".join(candidate_memory_lines(memory)))
    elif args.memory_only:
        lines = memory_lines(memory, args)
        print("\n".join(lines))
        write_memory_section(lines, args.out)
    else:
        report(results, args)


def measure(procs, args, workdir):
    upstream = start_nginx(procs, workdir)
    native_vhost = {"typed_per_filter_config": {"envoy.filters.http.cors": NATIVE_POLICY}}
    native_filter = {"name": "envoy.filters.http.cors", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"}}
    dynamic = {"policies": [POLICY]}
    recording = {"policies": [POLICY], "record_decisions": True}
    variants = [
        ("no CORS", envoy_config([], upstream), None),
        ("native CORS", envoy_config([native_filter], upstream, vhost_extra=native_vhost), None),
        ("no-op wasm", envoy_config([wasm_filter(args.noop, None)], upstream), None),
        ("wasm floor", envoy_config([wasm_filter(args.floor, None)], upstream), None),
        ("cors-wasm", envoy_config([wasm_filter(args.module, {"policies": [POLICY]})], upstream), None),
        ("dynamic module floor", envoy_config([dynamic_module_filter(dynamic)], upstream), args.dynamic_module_floor),
        (WHOLE_ANSWER, envoy_config([dynamic_module_filter(dict(dynamic, **WHOLE_ANSWER_CONFIG))], upstream),
         args.dynamic_module_floor),
        ("dynamic module", envoy_config([dynamic_module_filter(dynamic)], upstream), args.dynamic_module),
        (RECORDING["cors-wasm"], envoy_config([wasm_filter(args.module, recording)], upstream), None),
        (RECORDING["dynamic module"], envoy_config([dynamic_module_filter(recording)], upstream),
         args.dynamic_module),
    ]
    for candidate in args.candidate:
        name, path = candidate.split("=", 1)
        if path.endswith(".so"):
            variants.append((name, envoy_config([dynamic_module_filter(dynamic)], upstream), path))
        else:
            filters = [wasm_filter(os.path.abspath(path), {"policies": [POLICY]})]
            variants.append((name, envoy_config(filters, upstream), None))
    # Several processes per variant: identical Envoys differ by a few µs per request (where
    # code and data land in memory), so one process per variant would be a draw.
    envoys = [Envoy(procs, args.envoy, name, config, workdir, i, library and os.path.dirname(os.path.abspath(library)))
              for i in range(args.instances) for name, config, library in variants]
    scaling = [] if args.quick else scaling_envoys(procs, args, upstream, workdir)
    for envoy in envoys + [e for e, _ in scaling]:
        check_answers_at(envoy, scaling)
    scripts = {name: wrk_script(workdir, name, *spec) for name, spec in SCENARIOS.items()}

    runs = {(e.name, s): [] for e in envoys for s in SCENARIOS}
    scale_runs = {e.name: [] for e, _ in scaling}
    for round_number in range(args.rounds):
        print(f"round {round_number + 1}/{args.rounds}", file=sys.stderr)
        for envoy in envoys:
            for scenario, script in scripts.items():
                runs[(envoy.name, scenario)].append(run_wrk(envoy, script, args.seconds, args.connections))
        for envoy, path in scaling:
            scale_runs[envoy.name].append(run_wrk(envoy, scripts["actual"], args.seconds, args.connections, path))
    long_lists = [] if args.quick else time_long_lists(procs, args, upstream, workdir)
    long_origins = time_long_origins(procs, args, upstream, workdir)
    instructions = count_instructions(procs, args, upstream, workdir)
    wasm_instructions = count_wasm_instructions(procs, args, upstream, workdir)
    memory = measure_memory(procs, args, upstream, workdir)
    cors_wasm = next(e for e in envoys if e.name == "cors-wasm")
    soak = run_soak(cors_wasm, workdir, args.soak, args.connections) if args.soak else []
    return {
        "long_lists": long_lists,
        "long_origins": long_origins,
        "instructions": instructions,
        "wasm_instructions": wasm_instructions,
        "memory": memory,
        "soak": soak,
        "runs": runs,
        "scale_runs": scale_runs,
        "rss": {e.name: e.rss_mib() for e in envoys},
        "configure_ms": {e.name: e.configure_ms() for e, _ in scaling},
        "sizes": module_sizes(args.module, args.compiled, workdir),
        "noop_size": os.path.getsize(args.noop),
        "versions": versions(args.envoy),
    }


SOAK_SCRIPT = """
local requests = {}
function init(args)
  requests[1] = wrk.format("GET", "/", {["Origin"] = "%(app)s"})
  requests[2] = wrk.format("OPTIONS", "/", {["Origin"] = "%(app)s",
    ["Access-Control-Request-Method"] = "PUT", ["Access-Control-Request-Headers"] = "content-type"})
  requests[3] = wrk.format("GET", "/", {["Origin"] = "https://evil.example"})
  requests[4] = wrk.format("GET", "/", {})
end
local i = 0
function request()
  i = i %% #requests + 1
  return requests[i]
end
""" % {"app": APP}


def run_soak(envoy, workdir, seconds, connections, segment=15):
    """Mixed load (allowed, preflight, denied, no Origin) in segments, sampling memory after each."""
    script = os.path.join(workdir, "soak.lua")
    with open(script, "w") as f:
        f.write(SOAK_SCRIPT)
    samples, served = [], 0
    for elapsed in range(segment, seconds + 1, segment):
        print(f"soak {elapsed}/{seconds} s", file=sys.stderr)
        out = subprocess.run(
            ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{segment}s", "-s", script,
             f"http://127.0.0.1:{envoy.port}/"], capture_output=True, text=True, check=True).stdout
        if re.search(r"Non-2xx or 3xx responses|Socket errors", out):
            raise SystemExit(f"the soak saw failed requests:\n{out}")
        served += int(re.search(r"(\d+) requests in", out).group(1))
        samples.append({"seconds": elapsed, "requests": served, "rss_mib": envoy.rss_mib(),
                        "module_bytes": envoy.stat("cors_wasm.memory_bytes")})
    return samples


def check_answers_at(envoy, scaling):
    paths = {e.name: p for e, p in scaling}
    if envoy.name not in paths:
        check_answers(envoy)
        return
    request = urllib.request.Request(f"http://127.0.0.1:{envoy.port}{paths[envoy.name]}", headers={"Origin": APP})
    with urllib.request.urlopen(request, timeout=5) as r:
        if r.headers.get("access-control-allow-origin") != APP:
            raise SystemExit(f"{envoy.name}: the origin was not allowed")


def scaling_envoys(procs, args, upstream, workdir):
    """cors-wasm with larger policies; the request's origin is always the last one listed."""
    def policies(origins):
        return {"policies": [dict(POLICY, allow_origins=origins)]}
    others = [f"https://app{i}.example.net" for i in range(9999)]
    wildcards = [f"https://*.tenant{i}.example.org" for i in range(999)] + ["https://*.example.com"]
    by_route = {"policies": [dict(POLICY, name=f"r{i}", match={"routes": [f"r{i}"]}) for i in range(100)]}
    routes = [{"name": f"r{i}", "match": {"prefix": f"/r{i}/"}, "route": {"cluster": "upstream"}} for i in range(100)]
    cases = [
        ("1 exact origin", policies([APP]), None, "/"),
        ("100 exact origins", policies(others[:99] + [APP]), None, "/"),
        ("10,000 exact origins", policies(others + [APP]), None, "/"),
        ("1,000 wildcard patterns", policies(wildcards), None, "/"),
        ("100 policies by route", by_route, routes, "/r99/x"),
    ]
    return [
        (Envoy(procs, args.envoy, name, envoy_config([wasm_filter(args.module, config)], upstream, routes), workdir, i),
         path)
        for i in range(args.instances) for name, config, routes, path in cases
    ]


LONG_LISTS = [("10 names", "content-type, ", 10), ("1,000 names", "content-type, ", 1000),
              ("10,000 names", "content-type, ", 10000), ("100,000 commas", ",", 100000)]


def time_long_lists(procs, args, upstream, workdir, requests=2000):
    """Preflights whose Access-Control-Request-Headers is long: the cost must grow linearly.
    wrk refuses requests with over 80 KB of headers, so a plain keep-alive client sends these."""
    config = envoy_config([wasm_filter(args.module, {"policies": [POLICY]})], upstream, max_headers_kb=1024)
    envoy = Envoy(procs, args.envoy, "cors-wasm, 1 MiB headers", config, workdir)
    results = []
    for name, element, times in LONG_LISTS:
        request = (f"OPTIONS / HTTP/1.1\r\nhost: x\r\norigin: {APP}\r\n"
                   f"access-control-request-method: PUT\r\n"
                   f"access-control-request-headers: {element * times}\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", envoy.port)) as conn:
            before = envoy.cpu_seconds()
            for _ in range(requests):
                conn.sendall(request)
                if not read_response_head(conn).startswith(b"HTTP/1.1 204"):
                    raise SystemExit(f"a preflight with {name} was not allowed")
            results.append((name, (envoy.cpu_seconds() - before) / requests * 1e6))
    return results


# The review's `.*[a-z]{1,1000}[a-z]{1,1000}` as large as the regex size limit now allows (the
# same constant as tests/hostile.rs): about the most regex-lite states live at once.
WORST_REGEX = ".*[a-z]{1,11}[a-z]{1,11}"
# The longest Origin a regex still sees: a 32-byte scheme and a 253-byte host; and one of
# 58 KB, which is refused before any regex sees it.
LONGEST_ORIGIN = "a" * 32 + "://" + ".".join(["a" * 63] * 3 + ["a" * 61])
LONG_ORIGINS = [("an ordinary Origin", APP, "204"), ("288 bytes, the longest a regex sees", LONGEST_ORIGIN, "204"),
                ("58 KB (refused by the cap)", "a" * 58000 + "://x.example.org", "403")]


def time_long_origins(procs, args, upstream, workdir, requests=1000):
    """Preflights whose Origin is long, against a policy whose only regex is the worst allowed:
    what one long Origin costs a worker, for both builds."""
    policy = {"policies": [{"name": "worst", "allow_origin_regexes": [WORST_REGEX], "allow_methods": ["PUT"]}]}
    builds = [("cors-wasm", wasm_filter(args.module, policy)), ("dynamic module", dynamic_module_filter(policy))]
    modules = os.path.dirname(os.path.abspath(args.dynamic_module))
    results = []
    for build, filter_config in builds:
        envoy = Envoy(procs, args.envoy, f"{build}, worst regex", envoy_config([filter_config], upstream), workdir,
                      modules=modules)
        for name, origin, status in LONG_ORIGINS:
            request = (f"OPTIONS / HTTP/1.1\r\nhost: x\r\norigin: {origin}\r\n"
                       f"access-control-request-method: PUT\r\n\r\n").encode()
            with socket.create_connection(("127.0.0.1", envoy.port)) as conn:
                before = envoy.cpu_seconds()
                for _ in range(requests):
                    conn.sendall(request)
                    if not read_response_head(conn).startswith(f"HTTP/1.1 {status}".encode()):
                        raise SystemExit(f"{build}: a preflight with {name} was not answered {status}")
                results.append((build, name, (envoy.cpu_seconds() - before) / requests * 1e6))
    return results


# Memory as a mesh operator reads it: every pod runs its own Envoy, which loads the module once
# and runs one VM per worker. RSS at 1 and at 4 workers gives the fixed cost and the cost per
# extra VM; each variant is compared with its floor (the least any filter of its kind does).
MEMORY_WORKERS = (1, 4)
MEMORY_REQUESTS = 300
MEMORY_FLOORS = {"no CORS": None, "native CORS": "no CORS", "no-op wasm": "no CORS", "wasm floor": "no-op wasm",
                 "cors-wasm": "wasm floor", "dynamic module floor": "no CORS",
                 "dynamic module": "dynamic module floor"}


def memory_variants(args, upstream):
    if args.candidate:
        return candidate_memory_variants(args, upstream)
    native_vhost = {"typed_per_filter_config": {"envoy.filters.http.cors": NATIVE_POLICY}}
    native_filter = {"name": "envoy.filters.http.cors", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"}}
    dynamic = envoy_config([dynamic_module_filter({"policies": [POLICY]})], upstream)
    return [
        ("no CORS", envoy_config([], upstream), None),
        ("native CORS", envoy_config([native_filter], upstream, vhost_extra=native_vhost), None),
        ("no-op wasm", envoy_config([wasm_filter(args.noop, None)], upstream), None),
        ("wasm floor", envoy_config([wasm_filter(args.floor, None)], upstream), None),
        ("cors-wasm", envoy_config([wasm_filter(args.module, {"policies": [POLICY]})], upstream), None),
        ("dynamic module floor", dynamic, args.dynamic_module_floor),
        ("dynamic module", dynamic, args.dynamic_module),
    ]


def candidate_memory_variants(args, upstream):
    """`--memory-only --candidate NAME=PATH`: the wasm floor, cors-wasm and each candidate
    module, for A/B work on what a change costs per Envoy (about a minute for three)."""
    modules = [("cors-wasm", args.module)] + [c.split("=", 1) for c in args.candidate]
    return [("wasm floor", envoy_config([wasm_filter(args.floor, None)], upstream), None)] + [
        (name, envoy_config([wasm_filter(path, {"policies": [POLICY]})], upstream), None)
        for name, path in modules]


def candidate_memory_lines(samples):
    """Medians per variant and worker count, printed only: BENCHMARKS.md stays as it is."""
    lines = ["| variant | workers | RSS MiB | over the floor | in use | held | JIT code |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for (name, workers), runs in sorted(samples.items(), key=lambda item: item[0][::-1]):
        rss, in_use, held, code = (statistics.median(run[key] for run in runs)
                                   for key in ("rss", "in_use", "held", "code"))
        floor = statistics.median(run["rss"] for run in samples[("wasm floor", workers)])
        lines.append(f"| {name} | {workers} | {rss:.1f} | {rss - floor:+.1f} | {in_use:.1f} | {held:.1f} | {code:.1f} |")
    return lines


def measure_memory(procs, args, upstream, workdir):
    """Each variant's Envoy at 1 and 4 workers, one at a time on both CPUs, a few hundred
    requests after start (actual and preflight, over new connections so that every worker
    serves some), then its memory; `args.memory_rounds` Envoys of each, interleaved."""
    samples = {}
    for round_number in range(args.memory_rounds):
        print(f"memory round {round_number + 1}/{args.memory_rounds}", file=sys.stderr)
        for workers in MEMORY_WORKERS:
            for name, config, library in memory_variants(args, upstream):
                envoy = Envoy(procs, args.envoy, name, config, workdir, f"{workers}w{round_number}",
                              library and os.path.dirname(os.path.abspath(library)), workers=workers,
                              cpus=f"{ENVOY_CPU},{LOAD_CPU}")
                check_answers(envoy)
                send_mixed(envoy, MEMORY_REQUESTS)
                time.sleep(1)
                samples.setdefault((name, workers), []).append(memory_sample(envoy))
                envoy.process.kill()
                envoy.process.wait()
    return samples


def send_mixed(envoy, requests, per_connection=10):
    for sent in range(0, requests, per_connection):
        conn = http.client.HTTPConnection("127.0.0.1", envoy.port, timeout=30)
        for i in range(per_connection):
            method, headers = SCENARIOS["preflight" if (sent + i) % 2 else "actual"]
            conn.request(method, "/", headers=headers)
            conn.getresponse().read()
        conn.close()


def memory_sample(envoy):
    """RSS, and where it is: Envoy's allocator (tcmalloc; /memory says what the program holds
    and what the allocator keeps besides, freed but not given back) and V8's machine code
    (the anonymous executable mappings)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{envoy.admin}/memory", timeout=5) as r:
        allocator = json.load(r)
    code_kb = 0
    mapping = None
    for line in open(f"/proc/{envoy.process.pid}/smaps"):
        fields = line.split()
        if re.match(r"^[0-9a-f]+-[0-9a-f]+$", fields[0]):
            mapping = fields
        elif fields[0] == "Rss:" and len(mapping) == 5 and "x" in mapping[1]:
            code_kb += int(fields[1])
    mib = 1 << 20
    return {"rss": envoy.rss_mib(), "in_use": int(allocator["allocated"]) / mib,
            "held": (int(allocator["heap_size"]) - int(allocator["allocated"])) / mib, "code": code_kb / 1024}


def memory_lines(samples, args):
    if not samples:
        return []
    def median(name, workers, key):
        return statistics.median(s[key] for s in samples[(name, workers)])
    low, high = MEMORY_WORKERS
    lines = [
        "## Memory in a mesh (RSS per Envoy)",
        "",
        f"Each variant's Envoy at {low} and {high} workers, on both CPUs, after {MEMORY_REQUESTS} requests "
        f"(actual and preflight) over new connections; medians of {args.memory_rounds} Envoys each, started one "
        f"at a time (`./build.sh bench memory` runs this table alone). Per extra VM: the slope from {low} to "
        f"{high} workers (one VM per worker). Over its floor: against the least a filter of its kind "
        "does (the wasm floor for cors-wasm, the dynamic module floor for the dynamic module, the no-op "
        "for the wasm floor, no filter for the others: the no-op's is what V8 costs). Envoy's allocator, "
        "tcmalloc, at 1 worker: what the program holds (in use) and what "
        "it keeps freed without giving it back (held); JIT code: V8's machine code for the module.",
        "",
        f"This run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, cors-wasm's module "
        f"{os.path.getsize(args.module):,} bytes, Envoy {versions(args.envoy)['envoy']}.",
        "",
        f"| variant | RSS MiB, {low} worker | RSS MiB, {high} workers | per extra VM | over its floor, {low} | "
        f"over its floor, {high} | in use | held | JIT code |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, floor in MEMORY_FLOORS.items():
        one, many = median(name, low, "rss"), median(name, high, "rss")
        over = (f"{one - median(floor, low, 'rss'):+.1f} | {many - median(floor, high, 'rss'):+.1f}"
                if floor else "n/a | n/a")
        lines.append(f"| {name} | {one:.1f} | {many:.1f} | {(many - one) / (high - low):.2f} | {over} | "
                     f"{median(name, low, 'in_use'):.1f} | {median(name, low, 'held'):.1f} | "
                     f"{median(name, low, 'code'):.1f} |")
    return lines + [""]


def write_memory_section(lines, path):
    """`./build.sh bench memory`: the memory section of BENCHMARKS.md replaced, the rest kept."""
    text = open(path).read() if os.path.exists(path) else ""
    section = "\n".join(lines)
    match = re.search(r"^## Memory in a mesh.*?(?=^## |\Z)", text, re.M | re.S)
    if not match:  # where a full run puts it
        match = re.search(r"^(?=## Instructions Envoy runs)|\Z", text, re.M)
    text = text[:match.start()] + section + "\n" + text[match.end():]
    with open(path, "w") as f:
        f.write(text)


CALLBACK = "envoy_dynamic_module_callback_"
HOOK = "envoy_dynamic_module_on_"


def count_instructions(procs, args, upstream, workdir, requests=2000):
    """Instructions Envoy runs per request, counted by valgrind's callgrind: the same on every
    run, so the small differences the CPU rows cannot resolve show here. For the dynamic
    module, split into Envoy's work behind the ABI's callbacks and the module's own code (its
    hooks, less the callbacks they call)."""
    for tool in ("valgrind", "callgrind_control", "callgrind_annotate"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing: install the Debian package valgrind (./build.sh bench does)")
    native_vhost = {"typed_per_filter_config": {"envoy.filters.http.cors": NATIVE_POLICY}}
    native_filter = {"name": "envoy.filters.http.cors", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"}}
    dynamic = envoy_config([dynamic_module_filter({"policies": [POLICY]})], upstream)
    full = envoy_config([dynamic_module_filter(dict({"policies": [POLICY]}, **WHOLE_ANSWER_CONFIG))], upstream)
    variants = [
        ("native CORS", envoy_config([native_filter], upstream, vhost_extra=native_vhost), None),
        ("dynamic module floor", dynamic, args.dynamic_module_floor),
        (WHOLE_ANSWER, full, args.dynamic_module_floor),
        ("dynamic module", dynamic, args.dynamic_module),
    ]
    counts, answers = callgrind_counts(procs, args, variants, workdir, requests)
    check_full_answer(answers)
    return counts


def count_wasm_instructions(procs, args, upstream, workdir, requests=2000):
    """The same count for the wasm floor and cors-wasm, side by side in one run: V8's machine
    code is counted like Envoy's own. With --instructions-only, each wasm --candidate too."""
    modules = [("cors-wasm", args.module)]
    if args.instructions_only:
        modules += [c.split("=", 1) for c in args.candidate]
    variants = [("wasm floor", envoy_config([wasm_filter(args.floor, None)], upstream), None)] + [
        (name, envoy_config([wasm_filter(os.path.abspath(path), {"policies": [POLICY]})], upstream), None)
        for name, path in modules]
    scenarios = list(SCENARIOS) + list(BROWSER_SCENARIOS) if args.instructions_only else ["actual", "preflight"]
    return callgrind_counts(procs, args, variants, workdir, requests, scenarios)[0]


def candidate_instruction_lines(counts):
    """`--instructions-only`: each variant's instructions per request against the floor's."""
    lines = ["| scenario | variant | instructions per request | x wasm floor | more than the floor |",
             "|---|---|---:|---:|---:|"]
    for scenario in list(SCENARIOS) + list(BROWSER_SCENARIOS):
        floor = counts[("wasm floor", scenario)]["total"]
        for (name, counted), split in counts.items():
            if counted == scenario:
                lines.append(f"| {scenario} | {name} | {split['total']:,.0f} | {split['total'] / floor:.3f} | "
                             f"{split['total'] - floor:+,.0f} |")
    return lines


def callgrind_counts(procs, args, variants, workdir, requests, scenarios=("actual", "preflight")):
    """Instructions per request of each variant (name, config, library), actual and preflight,
    and the answers each gave."""
    counts = {}
    answers = {}
    for name, config, library in variants:
        print(f"callgrind: {name}", file=sys.stderr)
        out = os.path.join(workdir, re.sub(r"[^a-z0-9]+", "-", name.lower()) + ".callgrind")
        envoy = Envoy(procs, args.envoy, name + ", callgrind", config, workdir,
                      modules=library and os.path.dirname(os.path.abspath(library)),
                      wrapper=["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"])
        conn = http.client.HTTPConnection("127.0.0.1", envoy.port, timeout=120)

        def send(method, headers, times):
            for _ in range(times):
                conn.request(method, "/", headers=headers)
                response = conn.getresponse()
                response.read()
            return response

        for scenario in scenarios:
            method, headers = {**SCENARIOS, **BROWSER_SCENARIOS}[scenario]
            answers[(name, scenario)] = send(method, headers, 200).getheaders()  # and warm up
            subprocess.run(["callgrind_control", "--instr=on", str(envoy.process.pid)], check=True, capture_output=True)
            send(method, headers, requests)
            subprocess.run(["callgrind_control", "--instr=off", str(envoy.process.pid)], check=True, capture_output=True)
            # A dump holds what was counted since the last one.
            before = set(glob.glob(out + ".*"))
            subprocess.run(["callgrind_control", "--dump", str(envoy.process.pid)], check=True, capture_output=True)
            dump = wait_for_new_file(out + ".*", before)
            counts[(name, scenario)] = {k: v / requests for k, v in callgrind_split(dump).items()}
            if getattr(args, "keep_dumps", None):
                os.makedirs(args.keep_dumps, exist_ok=True)
                suffix = scenario.replace(" ", "-")
                shutil.copy(dump, os.path.join(args.keep_dumps, os.path.basename(out) + f".{suffix}"))
        conn.close()
        envoy.process.kill()
        envoy.process.wait()
    return counts, answers


def wait_for_new_file(pattern, before, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        new = set(glob.glob(pattern)) - before
        if new:
            path = new.pop()
            time.sleep(1)  # written whole before callgrind_control returns, but be sure
            return path
        time.sleep(0.2)
    raise SystemExit(f"callgrind wrote no dump matching {pattern}")


def callgrind_split(path):
    """Total instructions in a dump, and for a dynamic module its callbacks' and hooks' inclusive costs."""
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                          capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"^\s*([\d,]+) \(100\.0+%\)\s+PROGRAM TOTALS", text, re.M).group(1).replace(",", ""))
    split = {"total": total, "callbacks": 0, "hooks": 0}
    for cost, function in re.findall(r"^\s*([\d,]+) \([^)]*\)\s+\S*?:(envoy_dynamic_module_\w+) ", text, re.M):
        kind = "callbacks" if function.startswith(CALLBACK) else "hooks" if function.startswith(HOOK) else None
        if kind:
            split[kind] += int(cost.replace(",", ""))
    return split


def check_full_answer(answers):
    """The whole-answer floor must answer as the real filter does."""
    def cors_part(headers):
        return sorted((k.lower(), v) for k, v in headers
                      if k.lower().startswith("access-control-") or k.lower() == "vary")
    for scenario in ("actual", "preflight"):
        floor = cors_part(answers[(WHOLE_ANSWER, scenario)])
        real = cors_part(answers[("dynamic module", scenario)])
        if floor != real:
            raise SystemExit(f"{scenario}: the whole-answer floor answers {floor}, the dynamic module {real}: "
                             "update PREFLIGHT_ANSWER or ACTUAL_ANSWER")


def read_response_head(conn):
    """One bodiless response (an answered preflight): the bytes up to the blank line."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        chunk = conn.recv(1)
        if not chunk:
            raise SystemExit("Envoy closed the connection")
        head += chunk
    return head


def module_sizes(module, compiled, workdir):
    """The module's size, the compiler's output's, and the module's after another
    `wasm-opt -O3` as build.sh runs it (which should gain little: ./build.sh already runs it)."""
    again = os.path.join(workdir, "again.wasm")
    flags = ["--enable-bulk-memory", "--enable-sign-ext", "--enable-nontrapping-float-to-int",
             "--enable-mutable-globals", "--enable-multivalue", "--enable-reference-types"]
    subprocess.run(["wasm-opt", "-O3", "--one-caller-inline-max-function-size", "0", *flags, module, "-o", again],
                   check=True)
    return {"built": os.path.getsize(module), "compiled": os.path.getsize(compiled),
            "again": os.path.getsize(again)}


def versions(envoy_bin):
    def first_line(args):
        try:
            return subprocess.run(args, capture_output=True, text=True).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "unknown"
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown")
    envoy = first_line([envoy_bin, "--version"]).split("version:")[-1].strip()
    return {
        "machine": f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}",
        "envoy": envoy,
        "rustc": first_line(["rustc", "--version"]),
        "wrk": first_line(["wrk", "--version"]) or "wrk",
        "nginx": subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip(),
    }


def report(results, args):
    runs = results["runs"]
    lines = [
        "# Benchmarks",
        "",
        "cors-wasm against Envoy's native CORS filter, side by side in one run (`./build.sh bench`).",
        f"Envoy with one worker pinned to CPU {ENVOY_CPU}; wrk (1 thread, {args.connections} connections) "
        f"and an nginx upstream on CPU {LOAD_CPU}; {args.instances} Envoy processes per variant, "
        f"{args.rounds} interleaved rounds of {args.seconds} s per process and scenario; medians over all. "
        "CPU is Envoy's utime + stime from /proc over the requests served.",
        "",
        "| scenario | variant | Envoy CPU µs/request | × native | requests/s | × native | p50 µs | p99 µs |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    summary = {}
    for scenario in SCENARIOS:
        native = runs[("native CORS", scenario)]
        for variant in MAIN_VARIANTS + list(RECORDING.values()) + [c.split("=", 1)[0] for c in args.candidate]:
            r = runs[(variant, scenario)]
            cpu, rps = median_of(r, "us_per_request"), median_of(r, "rps")
            summary[(variant, scenario)] = cpu
            lines.append(
                f"| {scenario} | {variant} | {cpu:.1f} | {cpu / median_of(native, 'us_per_request'):.2f} | "
                f"{rps:,.0f} | {rps / median_of(native, 'rps'):.2f} | {median_of(r, 'p50_us'):.0f} | "
                f"{median_of(r, 'p99_us'):.0f} |")
    overhead = summary[("cors-wasm", "actual")] - summary[("no CORS", "actual")]
    floor = summary[("no-op wasm", "actual")] - summary[("no CORS", "actual")]
    scale = {name: median_of(r, "us_per_request") for name, r in results["scale_runs"].items()}
    one = scale.get("1 exact origin")
    lines += [
        "",
        "![Envoy CPU per request](bench/chart.svg)",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---:|---|",
        target_row("actual: cors-wasm / native ≤ 1.10", summary[("cors-wasm", "actual")] / summary[("native CORS", "actual")], 1.10),
        target_row("preflight: cors-wasm / native ≤ 1.25", summary[("cors-wasm", "preflight")] / summary[("native CORS", "preflight")], 1.25),
        target_row("overhead over no CORS / no-op wasm's ≤ 1.5", overhead / floor if floor > 0 else float("inf"), 1.5),
    ]
    # The same ratios for the least any wasm CORS filter does (bench/noop, `floor`): the bound.
    least = summary[("wasm floor", "actual")] - summary[("no CORS", "actual")]
    bound_rows = [
        ("actual: wasm floor / native", summary[("wasm floor", "actual")] / summary[("native CORS", "actual")]),
        ("preflight: wasm floor / native",
         summary[("wasm floor", "preflight")] / summary[("native CORS", "preflight")]),
        ("overhead: wasm floor's / no-op wasm's", least / floor if floor > 0 else float("inf")),
    ]
    lines += [f"| (bound) {label} | {value:.2f} | n/a |" for label, value in bound_rows]
    # What cors-wasm adds to the least a wasm CORS filter must do: its own share.
    for scenario in ("actual", "preflight"):
        lines.append(target_row(f"{scenario}: cors-wasm / wasm floor ≤ 1.10",
                                summary[("cors-wasm", scenario)] / summary[("wasm floor", scenario)], 1.10))
    # The dynamic module runs without a VM: it is held to Envoy's own filter. Its bound is the
    # least any dynamic-module CORS filter does (the `cors_wasm_bench_floor` build), and its own share
    # is what it adds to that.
    for scenario in ("actual", "preflight"):
        lines.append(target_row(f"{scenario}: dynamic module / native ≤ 1.05",
                                summary[("dynamic module", scenario)] / summary[("native CORS", scenario)], 1.05))
    for scenario in ("actual", "preflight"):
        value = summary[("dynamic module floor", scenario)] / summary[("native CORS", scenario)]
        lines.append(f"| (bound) {scenario}: dynamic module floor / native | {value:.2f} | n/a |")
    for scenario in ("actual", "preflight"):
        value = summary[(WHOLE_ANSWER, scenario)] / summary[("native CORS", scenario)]
        lines.append(f"| (bound) {scenario}: {WHOLE_ANSWER} / native | {value:.2f} | n/a |")
    for scenario in ("actual", "preflight"):
        lines.append(target_row(f"{scenario}: dynamic module / dynamic module floor ≤ 1.05",
                                summary[("dynamic module", scenario)] / summary[("dynamic module floor", scenario)],
                                1.05))
    # The same ratios counted in instructions (callgrind): free of the machine's noise.
    counts = results["instructions"]
    for scenario in ("actual", "preflight"):
        native = counts[("native CORS", scenario)]["total"]
        for variant in (WHOLE_ANSWER, "dynamic module"):
            kind = "(instructions)" if variant == "dynamic module" else "(bound, instructions)"
            lines.append(f"| {kind} {scenario}: {variant} / native | "
                         f"{counts[(variant, scenario)]['total'] / native:.3f} | n/a |")
    wasm_counts = results["wasm_instructions"]
    for scenario in ("actual", "preflight"):
        value = wasm_counts[("cors-wasm", scenario)]["total"] / wasm_counts[("wasm floor", scenario)]["total"]
        lines.append(f"| (instructions) {scenario}: cors-wasm / wasm floor ≤ 1.03 | {value:.3f} | "
                     f"{'yes' if value <= 1.03 else 'no'} |")
    for build, recorded in RECORDING.items():
        for scenario in ("actual", "preflight"):
            value = summary[(recorded, scenario)] / summary[(build, scenario)]
            lines.append(f"| (cost) {scenario}: {recorded} / {build} | {value:.2f} | n/a |")
    if one:
        lines.append(target_row("10,000 origins / 1 origin ≤ 1.05", scale["10,000 exact origins"] / one, 1.05))
    fuel = fuel_per_actual_request(args.fuel)
    if "10,000 exact origins" in fuel and "1 exact origin" in fuel:
        # The same ratio as work inside the module: deterministic, free of the machine's noise.
        lines.append(target_row("10,000 origins / 1 origin ≤ 1.05 (wasm instructions, fuel)",
                                fuel["10,000 exact origins"] / fuel["1 exact origin"], 1.05))
    worst = [cpu for build, name, cpu in results["long_origins"] if build == "cors-wasm" and name.startswith("288")]
    if worst:
        lines.append(target_row("longest Origin a regex sees, worst regex allowed (cors-wasm) ≤ 1000 µs",
                                worst[0], 1000, unit=" µs"))
    lines += [
        target_row("module ≤ 384 KiB (built; a ceiling)", results["sizes"]["built"] / 1024, 384, unit=" KiB"),
        "",
    ]
    if one:
        lines += [
            "## Cost as the policy grows (actual GET, cors-wasm)",
            "",
            "| policy | Envoy CPU µs/request | × 1 origin | configure time |",
            "|---|---:|---:|---:|",
        ]
        for name, cpu in scale.items():
            configure = results["configure_ms"].get(name)
            shown = f"{configure:.1f} ms" if configure is not None else "n/a"
            lines.append(f"| {name} | {cpu:.1f} | {cpu / one:.2f} | {shown} |")
    sizes = results["sizes"]
    lines += [
        "",
        "## Size and memory",
        "",
        f"- module: {sizes['built']:,} bytes, as `./build.sh` makes it: the compiler's "
        f"{sizes['compiled']:,} bytes through `wasm-opt -O3` without inlining into one caller "
        f"(another pass: {sizes['again']:,}); "
        f"the no-op filter, SDK alone, made the same way: {results['noop_size']:,} bytes",
        "- Envoy RSS after the run: " + ", ".join(f"{k} {v:.0f} MiB" for k, v in results["rss"].items()),
        "",
    ] + memory_lines(results["memory"], args) + instruction_lines(results["instructions"]) + \
        wasm_instruction_lines(results["wasm_instructions"]) + fuel_lines(args.fuel) + \
        long_list_lines(results["long_lists"]) + \
        long_origin_lines(results["long_origins"]) + \
        soak_lines(results["soak"]) + [
        "## Machine and versions",
        "",
    ] + [f"- {k}: {v}" for k, v in results["versions"].items()] + [""]
    analysis = os.path.join(ROOT, "bench", "analysis.md")
    if os.path.exists(analysis):
        lines += [open(analysis).read()]
    text = "\n".join(lines)
    print(text)
    with open(args.out, "w") as f:
        f.write(text)
    with open(os.path.join(ROOT, "bench", "chart.svg"), "w") as f:
        f.write(chart(summary))


def instruction_lines(counts):
    if not counts:
        return []
    lines = [
        "## Instructions Envoy runs per request (callgrind)",
        "",
        "Counted by valgrind's callgrind over 2,000 keep-alive requests per scenario, after 200 to warm",
        "up: the whole Envoy process in user space (not the kernel's socket work, which the CPU rows",
        "include), the same on every run to about 0.1 %. For the dynamic-module builds, \"behind the",
        "callbacks\" is the inclusive cost of the ABI's `envoy_dynamic_module_callback_*` functions the",
        "module calls (header reads and writes; for a preflight, the answer's trip down Envoy's encoder",
        "chain to the socket), and \"module's own\" is its hooks less those calls.",
        "",
        "| scenario | variant | instructions/request | × native | behind the callbacks | module's own |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for scenario in ("actual", "preflight"):
        native = counts[("native CORS", scenario)]["total"]
        for (name, counted), split in counts.items():
            if counted != scenario:
                continue
            modular = name != "native CORS"
            behind = f"{split['callbacks']:,.0f}" if modular else "n/a"
            own = f"{split['hooks'] - split['callbacks']:,.0f}" if modular else "n/a"
            lines.append(f"| {scenario} | {name} | {split['total']:,.0f} | {split['total'] / native:.3f} | "
                         f"{behind} | {own} |")
    return lines + [""]


def wasm_instruction_lines(counts):
    if not counts:
        return []
    lines = [
        "### The wasm module against the wasm floor, counted the same way",
        "",
        "Envoy's own work and V8's machine code for the module alike, in one run.",
        "",
        "| scenario | wasm floor | cors-wasm | × floor | more per request |",
        "|---|---:|---:|---:|---:|",
    ]
    for scenario in ("actual", "preflight"):
        floor, module = counts[("wasm floor", scenario)]["total"], counts[("cors-wasm", scenario)]["total"]
        lines.append(f"| {scenario} | {floor:,.0f} | {module:,.0f} | {module / floor:.3f} | {module - floor:,.0f} |")
    return lines + [""]


def fuel_per_actual_request(path):
    """The actual-request column of examples/fuel.rs's table, by policy."""
    if not path or not os.path.exists(path):
        return {}
    rows = (line.split("|") for line in open(path) if line.startswith("| "))
    return {cells[1].strip(): int(cells[3]) for cells in rows if len(cells) > 3 and cells[3].strip().isdigit()}


def fuel_lines(path):
    if not path or not os.path.exists(path):
        return []
    return [
        "## Work inside the module (wasmtime fuel, `./build.sh fuel`)",
        "",
        "About one unit per wasm instruction, for one whole request (context created, request and",
        "response headers, end of stream) through the test harness; the same on any machine.",
        "",
        open(path).read().strip(),
        "",
    ]


def long_list_lines(results):
    if not results:
        return []
    lines = [
        "## Long `Access-Control-Request-Headers` (allowed preflights, cors-wasm)",
        "",
        "Envoy's header limit raised to 1 MiB; the cost includes Envoy reading the header.",
        "",
        "| requested | Envoy CPU µs/request |",
        "|---|---:|",
    ]
    return lines + [f"| {name} | {cpu:.1f} |" for name, cpu in results] + [""]


def long_origin_lines(results):
    if not results:
        return []
    lines = [
        "## Long `Origin` against the worst regex allowed (preflights)",
        "",
        f"One policy whose only origin rule is `allow_origin_regexes: [\"{WORST_REGEX}\"]`, the review's "
        "`.*[a-z]{1,1000}[a-z]{1,1000}` as large as the 2 KiB regex size limit allows. An Origin over "
        "300 bytes, or with a scheme over 32, is refused before any regex sees it.",
        "",
        "| Origin | cors-wasm: Envoy CPU µs/request | dynamic module: Envoy CPU µs/request |",
        "|---|---:|---:|",
    ]
    cost = {(build, name): cpu for build, name, cpu in results}
    for name, _, _ in LONG_ORIGINS:
        lines.append(f"| {name} | {cost[('cors-wasm', name)]:.1f} | {cost[('dynamic module', name)]:.1f} |")
    return lines + [""]


def soak_lines(samples):
    if not samples:
        return []
    lines = [
        "## Soak",
        "",
        f"cors-wasm under sustained mixed load (allowed and preflight requests, a denied origin, no "
        f"Origin) for {samples[-1]['seconds']} s, sampled every {samples[0]['seconds']} s; no request failed.",
        "",
        "| seconds | requests served | Envoy RSS MiB | module linear memory bytes |",
        "|---:|---:|---:|---:|",
    ]
    lines += [f"| {s['seconds']} | {s['requests']:,} | {s['rss_mib']:.1f} | {s['module_bytes']:,} |" for s in samples]
    return lines + [""]


def target_row(label, value, limit, unit=""):
    return f"| {label} | {value:.2f}{unit} | {'yes' if value <= limit else 'no'} |"


def chart(summary):
    """Grouped horizontal bars: Envoy CPU µs/request per variant, for each scenario."""
    colors = {"no CORS": "#9aa5b1", "native CORS": "#3e7cb1", "no-op wasm": "#c3a85a", "wasm floor": "#e0a040",
              "cors-wasm": "#d9534f", "dynamic module floor": "#a3d9a5", "dynamic module": "#5cb85c"}
    top = max(summary.values()) * 1.15
    bar, gap, left, width = 18, 6, 150, 460
    rows = []
    y = 30
    for scenario in SCENARIOS:
        rows.append(f'<text x="10" y="{y + 12}" font-weight="bold">{scenario}</text>')
        y += 20
        for variant, color in colors.items():
            value = summary[(variant, scenario)]
            length = value / top * width
            rows.append(f'<text x="{left - 8}" y="{y + 13}" text-anchor="end">{variant}</text>')
            rows.append(f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{bar}" fill="{color}"/>')
            rows.append(f'<text x="{left + length + 6:.1f}" y="{y + 13}">{value:.1f} µs</text>')
            y += bar + gap
        y += 14
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{y}" '
            f'font-family="sans-serif" font-size="12">\n'
            f'<text x="10" y="16" font-size="14">Envoy CPU per request (lower is better)</text>\n'
            + "\n".join(rows) + "\n</svg>\n")


if __name__ == "__main__":
    main()
