#!/bin/sh
# The official Envoy image's entrypoint interface, for the tests' stand-in image: arguments
# that start with "-" are Envoy's; $loglevel adds --log-level; Envoy runs as the user envoy
# (ENVOY_UID and ENVOY_GID change its ids; ENVOY_UID=0 keeps root).
set -e

case "$1" in
  -*) set -- envoy "$@" ;;
esac
if [ "$1" = envoy ] && [ -n "$loglevel" ]; then
  set -- "$@" --log-level "$loglevel"
fi

if [ "$ENVOY_UID" = 0 ] || [ "$(id -u)" != 0 ]; then
  exec "$@"
fi
[ -z "$ENVOY_UID" ] || usermod -u "$ENVOY_UID" envoy
[ -z "$ENVOY_GID" ] || groupmod -g "$ENVOY_GID" envoy
# So that Envoy, as envoy, can write its logs to the container's output.
chown envoy:envoy /dev/stdout /dev/stderr
exec setpriv --reuid envoy --regid envoy --init-groups "$@"
