#!/bin/sh
# Install the Debian packages listed in deps/debian-packages.txt.
# As root it runs apt-get; otherwise it prints the exact command to run.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
pkgs=$(grep -v '^[[:space:]]*#' "$here/deps/debian-packages.txt" | tr -s ' \n' ' ')
if [ "$(id -u)" -ne 0 ]; then
    echo "not root: run this as root to install the build and test packages:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends $pkgs"
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $pkgs
