#!/bin/sh
# Make sure the build and test packages are installed (the Makefile's
# `check` and `demo` run this): as root, install what is missing; otherwise
# name the missing packages with the exact command and fail. Quiet when
# nothing is missing. deps/packages.sh decides what is missing.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
manager=$(sh "$here/deps/packages.sh" --which)
if [ "$manager" = none ]; then
    echo "ensure-deps: neither apt-get nor dnf here; install the equivalents of: $(sh "$here/deps/packages.sh" build test)" >&2
    exit 0
fi
missing=$(sh "$here/deps/packages.sh" --missing build test)
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: $missing" >&2
    echo "install them as root: $(sh "$here/deps/packages.sh" --command build test)" >&2
    exit 1
fi
echo "installing missing packages: $missing" >&2
sh "$here/scripts/install-deps.sh" build test >&2
