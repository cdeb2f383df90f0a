#!/bin/sh
# packages.sh - the pack's package lists for this host. The lists are
# deps/runtime-packages.txt, deps/build-packages.txt and
# deps/test-packages.txt (their header says what the columns mean); this
# script is their only reader, so the Makefile, scripts/install-deps.sh,
# scripts/ensure-deps.sh, .ci/run and actions/setup.sh cannot disagree.
#
#   sh deps/packages.sh [--manager apt|dnf] [MODE] LIST...
#
# LIST is runtime, build or test (several: their union, in order). MODE:
#   (none)       the packages, named for this host's package manager
#   --pkgconfig  the pkg-config modules the lists need
#   --missing    the packages whose need this host does not meet yet
#   --command    the command that installs the missing ones (empty: none)
#   --hint       one sentence for a person naming that command (empty: none);
#                no quote or backslash, so it can go into a JSON string as is
#   --which      the package manager it names packages for: apt, dnf or
#                none (no LIST)
#   --manager    apt or dnf instead of what /etc/os-release says. A host with
#                neither gets the apt names, and --hint names both.
# Output is one line, names separated by single spaces. Exit 2: bad usage or
# an unreadable or malformed list.
set -eu
deps=$(cd "$(dirname "$0")" && pwd)

usage() {
    sed -n '2,/^set -eu/{/^set/d;s/^# \{0,1\}//;p}' "$0" >&2
    exit 2
}

mode=names
manager=
while [ $# -gt 0 ]; do
    case $1 in
    --pkgconfig | --missing | --command | --hint | --which) mode=${1#--} ;;
    --manager) [ $# -ge 2 ] || usage; manager=$2; shift ;;
    --manager=*) manager=${1#*=} ;;
    -*) usage ;;
    *) break ;;
    esac
    shift
done
[ $# -gt 0 ] || [ "$mode" = which ] || usage
for list in "$@"; do
    case $list in runtime | build | test) ;; *) usage ;; esac
    if [ ! -r "$deps/$list-packages.txt" ]; then
        echo "packages.sh: cannot read $deps/$list-packages.txt" >&2
        exit 2
    fi
done

if [ -z "$manager" ]; then
    # ID_LIKE names the family of a derivative (Rocky: "rhel centos fedora").
    ids=$(sed -n 's/^ID=//p; s/^ID_LIKE=//p' /etc/os-release 2>/dev/null | tr -d "\"'")
    manager=none
    for id in $ids; do
        case $id in
        debian | ubuntu) manager=apt; break ;;
        rhel | centos | fedora | rocky | almalinux) manager=dnf; break ;;
        esac
    done
    if [ "$manager" = none ]; then
        if command -v apt-get >/dev/null 2>&1; then manager=apt
        elif command -v dnf >/dev/null 2>&1; then manager=dnf
        fi
    fi
fi
case $manager in apt | dnf | none) ;; *) usage ;; esac
if [ "$mode" = which ]; then
    echo "$manager"
    exit 0
fi

# Every line of the lists that is not a comment: check, apt name, dnf name.
rows() {
    for list in "$@"; do
        awk -v f="$deps/$list-packages.txt" '
            /^[[:space:]]*(#|$)/ { next }
            NF != 3 { printf "packages.sh: %s:%d: want 3 columns (check apt dnf), got %d\n", f, FNR, NF > "/dev/stderr"; bad = 1; next }
            { print $1, $2, $3 }
            END { exit bad }' "$deps/$list-packages.txt" || exit 2
    done
}

installed() { # package: is it installed (by the package manager's record)?
    case $manager in
    apt) dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' ;;
    dnf) rpm -q --quiet "$1" 2>/dev/null ;;
    none) true ;; # nothing to ask: count it as there
    esac
}

# "a|b": the first installed, else the first the package manager knows,
# else a.
resolve() {
    case $1 in *"|"*) ;; *) echo "$1"; return ;; esac
    alts=$(echo "$1" | tr '|' ' ')
    for p in $alts; do installed "$p" && [ "$manager" != none ] && { echo "$p"; return; }; done
    if [ "$manager" = apt ]; then
        for p in $alts; do
            apt-cache show --no-all-versions "$p" >/dev/null 2>&1 && { echo "$p"; return; }
        done
    fi
    echo "${1%%|*}"
}

met() { # check package: is this need met on this host?
    case $1 in
    cmd:*) command -v "${1#cmd:}" >/dev/null 2>&1 ;;
    pc:*) pkg-config --exists "${1#pc:}" 2>/dev/null ;;
    *) for p in $(echo "$2" | tr '|' ' '); do installed "$p" && return 0; done; return 1 ;;
    esac
}

# The rows whose need is unmet. A row without a package for this manager
# is never missing: there is nothing to install.
unmet() {
    while read -r check apt dnf; do
        pkg=$apt
        [ "$manager" = dnf ] && pkg=$dnf
        [ "$pkg" = - ] && continue
        met "$check" "$pkg" || echo "$check $apt $dnf"
    done
}

# Package names of rows in column $1 (2 apt, 3 dnf), once each, one line.
names() {
    seen=" "
    out=""
    while read -r check apt dnf; do
        pkg=$apt
        [ "$1" = 3 ] && pkg=$dnf
        [ "$pkg" = - ] && continue
        pkg=$(resolve "$pkg")
        case $seen in *" $pkg "*) continue ;; esac
        seen="$seen$pkg "
        out="${out:+$out }$pkg"
    done
    echo "$out"
}

col=2
[ "$manager" = dnf ] && col=3
all=$(rows "$@")

command_for() { # names
    [ -n "$1" ] || return 0
    case $manager in
    dnf) echo "dnf install -y $1" ;;
    *) echo "apt-get install -y --no-install-recommends $1" ;;
    esac
}

case $mode in
names) printf '%s\n' "$all" | names $col ;;
pkgconfig)
    printf '%s\n' "$all" | awk '$1 ~ /^pc:/ && !seen[$1]++ { sub(/^pc:/, "", $1); out = out (out ? " " : "") $1 }
                                END { print out }' ;;
missing) printf '%s\n' "$all" | unmet | names $col ;;
command) command_for "$(printf '%s\n' "$all" | unmet | names $col)" ;;
hint)
    rows_unmet=$(printf '%s\n' "$all" | unmet)
    [ -n "$rows_unmet" ] || exit 0
    what="the $(echo "$*" | sed 's/ /, /g') packages"
    case $manager in
    apt) echo "install $what as root: $(command_for "$(printf '%s\n' "$rows_unmet" | names 2)")" ;;
    dnf) echo "install $what as root: $(command_for "$(printf '%s\n' "$rows_unmet" | names 3)") (on RHEL/Rocky some are in the CRB or PowerTools repository: see docs/install.md)" ;;
    none) echo "install the equivalents of $what: Debian/Ubuntu $(printf '%s\n' "$rows_unmet" | names 2); RHEL/Rocky $(printf '%s\n' "$rows_unmet" | names 3) (docs/install.md)" ;;
    esac ;;
esac
