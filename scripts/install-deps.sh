#!/bin/sh
# Install the packages of the named lists (deps/<list>-packages.txt; default
# build and test, what developing the pack needs) with this host's package
# manager, apt-get or dnf; deps/packages.sh names them. As root it installs;
# otherwise it prints the exact command and fails.
#   sh scripts/install-deps.sh [runtime] [build] [test]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
[ $# -gt 0 ] || set -- build test
manager=$(sh "$here/deps/packages.sh" --which)
pkgs=$(sh "$here/deps/packages.sh" "$@")
case $manager in
apt) cmd="apt-get update && apt-get install -y --no-install-recommends $pkgs" ;;
dnf) cmd="dnf install -y $pkgs" ;;
*)
    echo "install-deps: neither apt-get nor dnf here; install the equivalents of: $pkgs (docs/install.md)" >&2
    exit 1 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
    echo "not root: run this as root to install the $* packages:" >&2
    echo "  $cmd"
    exit 1
fi
if [ "$manager" = apt ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # shellcheck disable=SC2086 # one word per package
    apt-get install -y --no-install-recommends $pkgs
else
    # shellcheck disable=SC2086
    dnf install -y $pkgs || {
        echo "install-deps: some -devel packages are in a repository RHEL/Rocky leave off: enable CRB (9: dnf config-manager --set-enabled crb) or PowerTools (8: dnf config-manager --set-enabled powertools), then run this again; docs/install.md" >&2
        exit 1
    }
fi
