#!/usr/bin/env python3
"""Serves the demo page (demo/web/) and /config.js, which tells the page where the API is.

    python3 demo/pages.py [--port 3000] [--api http://localhost:8080]

A page loaded with ?run=all&report=1 POSTs its results to /results, printed here as one line,
"pages: results {...}": that is how the browser tests read what the browser let the page see.

One server, two origins: http://localhost:3000 and http://127.0.0.1:3000 are different
origins to a browser, and the demo policy allows only the first.
"""

import argparse
import json
import os
import sys
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

WEB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "web")


class Pages(SimpleHTTPRequestHandler):
    api = "http://localhost:8080"

    def do_GET(self):
        if self.path.split("?")[0] == "/config.js":
            data = f"window.DEMO_API = {json.dumps(self.api)};\n".encode()
            self.send_response(200)
            self.send_header("content-type", "text/javascript")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:
            super().do_GET()

    def do_POST(self):
        if self.path != "/results":
            self.send_error(404)
            return
        length = int(self.headers.get("content-length") or 0)
        try:
            results = json.loads(self.rfile.read(min(length, 1 << 20)))
        except ValueError:
            self.send_error(400, "the results are not JSON")
            return
        print("pages: results " + json.dumps(results, separators=(",", ":")), flush=True)
        self.send_response(204)
        self.end_headers()

    def end_headers(self):
        self.send_header("cache-control", "no-store")
        super().end_headers()

    def log_message(self, format, *args):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=3000, help="0 picks a free port")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--api", default="http://localhost:8080", help="the API's URL, as the browser reaches it")
    args = parser.parse_args()
    Pages.api = args.api.rstrip("/")
    try:
        server = ThreadingHTTPServer((args.bind, args.port), partial(Pages, directory=WEB))
    except OSError as error:
        sys.exit(f"pages: cannot listen on {args.bind}:{args.port}: {error.strerror}")
    server.daemon_threads = True
    print(f"pages: listening on http://{args.bind}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
