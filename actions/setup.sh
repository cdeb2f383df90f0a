#!/bin/sh
# setup - build the pack's binaries where st2 installed it. This is a shell
# script (not a C action) because it must run before any binary exists.
# Prints one JSON document on stdout; the build log goes to stderr.
# Exit 0 built, 1 build failed, 2 a tool or library is missing.
pack_dir=$(cd "$(dirname "$0")/.." && pwd)
clean=false
for arg in "$@"; do
    case "$arg" in
        --clean|--clean=true|--clean=True) clean=true ;;
        --clean=false|--clean=False) ;;
        *) printf '{"error": {"code": "unknown_parameter", "message": "unknown parameter (setup takes only --clean)"}}\n'
           exit 2 ;;
    esac
done

fail() { # code message exit
    printf '{"error": {"code": "%s", "message": "%s"}}\n' "$1" "$2"
    exit "$3"
}

pkgs=$(grep -v '^[[:space:]]*#' "$pack_dir/deps/debian-packages.txt" | tr -s ' \n' ' ')
hint="install the build packages as root: apt-get install -y $pkgs (or run scripts/install-deps.sh)"
missing=""
for tool in cc make pkg-config ar; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
[ -z "$missing" ] || fail missing_tool "missing build tool(s):$missing; $hint" 2
for lib in libcurl json-c sqlite3 yaml-0.1 libssh libcrypto; do
    pkg-config --exists "$lib" 2>/dev/null || missing="$missing $lib"
done
[ -z "$missing" ] || fail missing_library "missing library (pkg-config name):$missing; $hint" 2

cd "$pack_dir" || fail build_failed "cannot enter $pack_dir" 1
if [ "$clean" = true ]; then make clean >&2; fi
if ! make -j2 all >&2; then
    fail build_failed "make failed in $pack_dir; the build log is on stderr" 1
fi
built=$(ls actions/bin 2>/dev/null | sed 's/.*/"&"/' | paste -sd, -)
printf '{"pack_dir": "%s", "built": [%s]}\n' "$pack_dir" "$built"
