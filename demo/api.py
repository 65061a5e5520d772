#!/usr/bin/env python3
"""The demo's API: a small JSON upstream with no CORS code at all; Envoy and cors-wasm add it.

    python3 demo/api.py [--port 8081]

Routes:
    GET    /api/ping       {"msg": "Hello, World"}
    POST   /api/echo       the JSON it was sent
    GET    /api/me         needs the cookie demo_session, else 401
    GET    /api/private    always 401
    DELETE /api/items/<n>  works here; the demo policy does not allow DELETE from a browser
    GET    /public/ping    {"msg": "Hello, World"}, under the demo's public policy

Every response carries x-request-id (the demo policy exposes it to pages) and x-backend (not
exposed). Every request that reaches it is printed as one line, "api: METHOD PATH origin=... cookie=...",
so you can see which requests the browser sent and which Envoy answered itself.
"""

import argparse
import itertools
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

REQUEST_IDS = itertools.count(1)


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        path = urlsplit(self.path).path
        if path in ("/api/ping", "/public/ping"):
            self.reply(200, {"msg": "Hello, World"})
        elif path == "/api/me":
            session = self.cookie("demo_session")
            if session:
                self.reply(200, {"user": "demo", "session": session})
            else:
                self.reply(401, {"error": "no demo_session cookie"})
        elif path == "/api/private":
            self.reply(401, {"error": "login required"}, {"www-authenticate": "Bearer"})
        else:
            self.reply(404, {"error": f"no route for GET {path}"})

    def do_POST(self):
        path = urlsplit(self.path).path
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if path != "/api/echo":
            self.reply(404, {"error": f"no route for POST {path}"})
            return
        try:
            self.reply(200, {"you_sent": json.loads(body or b"null")})
        except ValueError:
            self.reply(400, {"error": "the body is not JSON"})

    def do_DELETE(self):
        path = urlsplit(self.path).path
        if path.startswith("/api/items/"):
            self.reply(200, {"deleted": path.rsplit("/", 1)[1]})
        else:
            self.reply(404, {"error": f"no route for DELETE {path}"})

    def do_OPTIONS(self):
        # A browser's preflight never gets here: cors-wasm answers it in Envoy.
        self.reply(200, {"note": "OPTIONS reached the API"})

    def do_PUT(self):
        self.reply(404, {"error": "no PUT routes"})

    def cookie(self, name):
        for part in (self.headers.get("cookie") or "").split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value
        return None

    def reply(self, status, body, headers=None):
        data = (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-request-id", f"req-{next(REQUEST_IDS)}")
        self.send_header("x-backend", "demo-api")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_request(self, code="-", size="-"):
        origin = self.headers.get("origin") or "-"
        cookie = "yes" if self.headers.get("cookie") else "no"
        print(f"api: {self.command} {self.path} origin={origin} cookie={cookie} -> {code}", flush=True)

    def log_message(self, format, *args):
        print("api: " + format % args, file=sys.stderr, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--bind", default="127.0.0.1")
    args = parser.parse_args()
    try:
        server = ThreadingHTTPServer((args.bind, args.port), Api)
    except OSError as error:
        sys.exit(f"api: cannot listen on {args.bind}:{args.port}: {error.strerror}")
    server.daemon_threads = True
    print(f"api: listening on http://{args.bind}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
