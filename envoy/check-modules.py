#!/usr/bin/env python3
"""The compose demo's first service: checks that the module files it mounts are there.

    python3 check-modules.py MOUNTED=GIVEN ...

MOUNTED is where a module is mounted in this container, GIVEN the host path the compose file
gave for it. Where a host file is missing, Docker refuses the mount (and names the file) or,
as podman does, mounts an empty directory made in its place: then this names the file and
exits 1, and Envoy, which waits for this check, never starts, nor does the rest.
"""

import os
import sys


def main():
    missing = []
    for arg in sys.argv[1:]:
        mounted, _, given = arg.partition("=")
        if not os.path.isfile(mounted):
            missing.append((given, os.path.isdir(mounted)))
    for given, made_a_directory in missing:
        print(f"error: the module {given} is missing (a relative path is from envoy/): build it "
              "with ./build.sh, or set the variable naming it to a built one", flush=True)
        if made_a_directory:
            print(f"error: the container engine made an empty directory at {given} in its place: "
                  "remove it (rmdir) before building", flush=True)
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
