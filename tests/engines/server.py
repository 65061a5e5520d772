#!/usr/bin/env python3
"""The engines page's server (tests/engines.rs): the page itself, and the upstream Envoy and
cors-wasm stand in front of.

    python3 tests/engines/server.py [--port 0]

Page: GET / (index.html), GET /engines.js, POST /results, printed as one line
"pages: results {...}" (as demo/pages.py does, so the tests read both alike).

Upstream (reached through Envoy, on another origin than the page):
    /raw/...       no policy matches it: this server writes the CORS headers itself, from the
                   query (acao=origin reflects the Origin; acac, acah, acam, aceh as given),
                   on the preflight and on the actual response: the answers cors-wasm would
                   never send, which only browsers judge
    /redirect/go   307 to the URL in ?to=
    anything else  200
Every answer carries x-custom: visible and the body {"origin": <the request's Origin>,
"authorization": <whether it had one>}; every request is printed as
"server: METHOD PATH origin=... request-headers=<Access-Control-Request-Headers>".
"""

import argparse
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
PAGE_FILES = {"/": ("index.html", "text/html"), "/engines.js": ("engines.js", "text/javascript")}
RAW_HEADERS = {
    "acao": "access-control-allow-origin",
    "acac": "access-control-allow-credentials",
    "acah": "access-control-allow-headers",
    "acam": "access-control-allow-methods",
    "aceh": "access-control-expose-headers",
}


class Server(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        path = urlsplit(self.path).path
        if path in PAGE_FILES:
            name, content_type = PAGE_FILES[path]
            with open(os.path.join(HERE, name), "rb") as page:
                self.send(200, page.read(), {"content-type": content_type})
        else:
            self.upstream()

    def do_POST(self):
        if urlsplit(self.path).path == "/results":
            results = self.rfile.read(int(self.headers.get("content-length") or 0))
            print("pages: results " + json.dumps(json.loads(results), separators=(",", ":")), flush=True)
            self.send(204, b"", {})
        else:
            self.upstream()

    def do_PUT(self):
        self.upstream()

    def do_patch(self):
        self.upstream()

    do_PATCH = do_patch

    def do_OPTIONS(self):
        self.upstream()

    def upstream(self):
        url = urlsplit(self.path)
        origin = self.headers.get("origin")
        requested = self.headers.get("access-control-request-headers")
        print(f"server: {self.command} {self.path} origin={origin} request-headers={requested}", flush=True)
        self.rfile.read(int(self.headers.get("content-length") or 0))
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        headers = {"x-custom": "visible", "content-type": "application/json"}
        if url.path.startswith("/raw/"):
            for key, name in RAW_HEADERS.items():
                if key in query:
                    headers[name] = origin if query[key] == "origin" else query[key]
        if url.path == "/redirect/go":
            self.send(307, b"", {**headers, "location": query["to"]})
        elif self.command == "OPTIONS":
            self.send(204, b"", headers)
        else:
            body = {"origin": origin, "authorization": "authorization" in self.headers}
            self.send(200, json.dumps(body).encode(), headers)

    def send(self, status, body, headers):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("cache-control", "no-store")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Server)
    server.daemon_threads = True
    print(f"server: listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
