#!/bin/sh
# Make sure every package of deps/debian-packages.txt is installed: as root,
# install what is missing (apt-get update first); otherwise name the missing
# packages with the exact command and fail. Quiet when nothing is missing.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
pkgs=$(grep -v '^[[:space:]]*#' "$here/deps/debian-packages.txt" | tr -s ' \n' ' ')
if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "ensure-deps: not a Debian system; install the equivalents of: $pkgs" >&2
    exit 0
fi
missing=""
for p in $pkgs; do
    case "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages:$missing" >&2
    echo "install them as root: apt-get update && apt-get install -y --no-install-recommends$missing" >&2
    exit 1
fi
echo "installing missing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update >&2
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $missing >&2
