#!/usr/bin/env python3
"""The Envoy bootstrap the tests and the benchmark run, written once.

One listener on a free loopback port with the given HTTP filters and then the router, one
virtual host for every domain, an admin port of Envoy's choosing, and a cluster `upstream` on
127.0.0.1. The Rust tests (tests/support/envoy.rs) run this file with the arguments as a JSON
object on standard input and read the bootstrap, as JSON, on standard output; bench/bench.py
imports `bootstrap`.

The demo is not made here: `./build.sh demo` runs envoy/demo.yaml itself, the file
docker-compose runs, with only its addresses, ports and module path made this machine's.
"""

import json
import sys

ROUTER = {
    "name": "envoy.filters.http.router",
    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
}
EVERY_PATH = [{"name": "api", "match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]


def bootstrap(filters, upstream_port, routes=None, virtual_host=None, connection_manager=None):
    """The bootstrap: `filters` then the router; `routes` (default: every path to the
    upstream); `virtual_host` and `connection_manager` add fields to those two objects."""
    host = {"name": "all", "domains": ["*"], "routes": routes or EVERY_PATH, **(virtual_host or {})}
    manager = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "main",
        # The tests' client sends `connection: close` and reads to the end; Envoy would wait up
        # to a second (its default) for the client to close first after a local reply.
        "delayed_close_timeout": "0s",
        "route_config": {"name": "routes", "virtual_hosts": [host]},
        "http_filters": filters + [ROUTER],
        **(connection_manager or {}),
    }
    return {
        "admin": {"address": loopback(0)},
        "static_resources": {
            "listeners": [{
                "name": "main",
                "address": loopback(0),
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": manager,
                }]}],
            }],
            "clusters": [{
                "name": "upstream",
                "type": "STATIC",
                "connect_timeout": "2s",
                "load_assignment": {
                    "cluster_name": "upstream",
                    "endpoints": [{"lb_endpoints": [{"endpoint": {"address": loopback(upstream_port)}}]}],
                },
            }],
        },
    }


def loopback(port):
    return {"socket_address": {"address": "127.0.0.1", "port_value": port}}


if __name__ == "__main__":
    json.dump(bootstrap(**json.load(sys.stdin)), sys.stdout)
