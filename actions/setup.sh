#!/bin/sh
# setup - build the pack's binaries where st2 installed it. This is a shell
# script (not a C action) because it must run before any binary exists.
# Prints one JSON document on stdout; the build log goes to stderr.
# Exit 0 built, 1 build failed or the pack directory is not writable,
# 2 a bad parameter or a build package is missing.
#
# st2 installs a pack root:st2packs, mode 775, and runs actions as stanley,
# who is not in st2packs: so setup.yaml asks st2 for `sudo: true`, and st2
# runs this as root (`sudo -E -- bash -c ...`). docs/install.md, "How setup
# builds", says why it builds in place rather than elsewhere.
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

# The build packages only (deps/build-packages.txt, through the one reader
# of the lists), named for this host's package manager.
packages() { sh "$pack_dir/deps/packages.sh" "$@"; }
missing=$(packages --missing build) || fail missing_packages "cannot read the pack's package lists ($pack_dir/deps)" 2
if [ -n "$missing" ]; then
    detail=""
    if command -v pkg-config >/dev/null 2>&1; then
        for module in $(packages --pkgconfig build); do
            pkg-config --exists "$module" 2>/dev/null || detail="$detail $module"
        done
        [ -z "$detail" ] || detail=" (pkg-config finds no$detail)"
    fi
    fail missing_packages "missing build packages: $missing$detail; $(packages --hint build)" 2
fi

user=$(id -un 2>/dev/null || id -u)
if [ ! -w "$pack_dir" ]; then
    fail pack_dir_not_writable "setup runs as $user, who cannot write $pack_dir (st2 installs packs root:st2packs, mode 775): run it with sudo=true, the action's default, which st2 allows its system user; or add $user to the st2packs group" 1
fi

cd "$pack_dir" || fail build_failed "cannot enter $pack_dir" 1
# While this file is younger than the action's timeout, alert_intake keeps
# webhooks' alerts instead of running a binary that may be half linked, and
# the sensor does not replay them yet (actions/alert_intake.sh).
marker="$pack_dir/.setup-running"
trap 'rm -f "$marker"' EXIT
trap 'exit 143' TERM INT
echo $$ >"$marker" || fail build_failed "cannot write in $pack_dir" 1

if [ "$clean" = true ]; then make clean >&2; fi
# The runtime only (the actions and the demo app), without -Werror: a
# compiler newer than the pack's CI may warn, and a warning must not stop an
# install. MAKEFLAGS from the caller's environment (sudo -E keeps it) would
# tie this make to a jobserver it cannot reach.
jobs=$(nproc 2>/dev/null || echo 2)
if ! MAKEFLAGS= make -j"$jobs" DEVELOPER=0 all >&2; then
    fail build_failed "make failed in $pack_dir; the build log is on stderr" 1
fi
built=$(ls actions/bin 2>/dev/null | sed 's/.*/"&"/' | paste -sd, -)
printf '{"pack_dir": "%s", "user": "%s", "built": [%s]}\n' "$pack_dir" "$user" "$built"
