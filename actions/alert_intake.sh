#!/bin/sh
# alert_intake - what the webhook rules run. With the pack built it IS
# alert_event (exec, same parameters, same output and exit status). Until
# autoscale.setup has built it on this host (after `st2 pack install` of a
# new version, on a new action-runner host) or while setup is rebuilding, it
# keeps the alert instead of losing it: the raw parameters go to st2's
# datastore as autoscale.pending_alert.<execution id> (TTL 7 days), and the
# governor sensor replays them through alert_event, oldest first, once the
# binary exists (sensors/governor_sensor.py). docs/install.md, "Upgrade".
#
# A shell script, because it must run before anything is built: POSIX sh,
# od, awk and curl, all present on every host st2 supports. Exactly one JSON
# document on stdout; curl's own errors go to stderr.
actions_dir=$(cd "$(dirname "$0")" && pwd)
pack_dir=$(dirname "$actions_dir")
binary="$actions_dir/bin/alert_event"
# setup.sh keeps this file while it builds; a partly linked binary must not
# run. Older than setup's timeout means setup died: ignore it (the sensor
# applies the same rule).
marker="$pack_dir/.setup-running"
ttl=604800

building() {
    [ -f "$marker" ] && [ -n "$(find "$marker" -mmin -15 2>/dev/null)" ]
}

if [ -x "$binary" ] && ! building; then
    exec "$binary" "$@"
fi

fail() { # exit code message: one JSON line, nothing that came from outside
    printf '{"error": {"code": "%s", "message": "%s"}}\n' "$2" "$3"
    exit "$1"
}

# JSON string contents (no quotes) for stdin's bytes, ASCII only: UTF-8
# decoded to \u escapes (surrogate pairs above U+FFFF), control characters,
# '"' and '\' escaped. Bytes that are not valid UTF-8 (overlong forms and
# surrogates included): exit 3, as alert_event refuses them. Whatever the
# bytes, nothing here is ever evaluated by a shell.
json_escape() {
    od -An -v -tu1 | awk '
    { for (i = 1; i <= NF; i++) b[n++] = $i + 0 }
    function cont(k) { return k < n && b[k] >= 128 && b[k] < 192 }
    function put(cp) {
        if (cp == 34) printf "\\\""
        else if (cp == 92) printf "\\\\"
        else if (cp >= 32 && cp < 127) printf "%c", cp
        else if (cp < 65536) printf "\\u%04x", cp
        else { cp -= 65536; printf "\\u%04x\\u%04x", 55296 + int(cp / 1024), 56320 + cp % 1024 }
    }
    END {
        i = 0
        while (i < n) {
            c = b[i]; len = 0
            if (c < 128) { cp = c; len = 1 }
            else if (c >= 194 && c <= 223 && cont(i + 1)) {
                cp = (c - 192) * 64 + b[i + 1] - 128; len = 2
            } else if (c >= 224 && c <= 239 && cont(i + 1) && cont(i + 2) &&
                       !(c == 224 && b[i + 1] < 160) && !(c == 237 && b[i + 1] >= 160)) {
                cp = ((c - 224) * 64 + b[i + 1] - 128) * 64 + b[i + 2] - 128; len = 3
            } else if (c >= 240 && c <= 244 && cont(i + 1) && cont(i + 2) && cont(i + 3) &&
                       !(c == 240 && b[i + 1] < 144) && !(c == 244 && b[i + 1] >= 144)) {
                cp = (((c - 240) * 64 + b[i + 1] - 128) * 64 + b[i + 2] - 128) * 64 + b[i + 3] - 128
                len = 4
            }
            if (len == 0) exit 3
            put(cp); i += len
        }
    }'
}

# The same parameters alert_event takes (actions/alert_event.yaml); the rest
# is refused as alert_event would refuse it.
body="" asg="" source="" have_body=false
for arg in "$@"; do
    case "$arg" in
        --body=*) body=${arg#--body=}; have_body=true ;;
        --asg=*) asg=${arg#--asg=} ;;
        --source=*) source=${arg#--source=} ;;
        *) fail 2 unknown_parameter "unknown parameter (alert_intake takes --body, --asg and --source)" ;;
    esac
done
[ "$have_body" = true ] || fail 2 missing_parameter "missing --body"
utf8() { # name value
    printf '%s' "$2" | json_escape >/dev/null ||
        fail 2 invalid_parameter "parameter '$1' is not valid UTF-8"
}
utf8 body "$body"
utf8 asg "$asg"
utf8 source "$source"

url=${ST2_ACTION_API_URL:-}
token=${ST2_ACTION_AUTH_TOKEN:-}
id=${ST2_ACTION_EXECUTION_ID:-}
if [ -z "$url" ] || [ -z "$token" ] || [ -z "$id" ]; then
    fail 1 not_built "actions/bin/alert_event is not built on this host (run autoscale.setup) and there is no st2 datastore to keep the alert in (ST2_ACTION_API_URL, ST2_ACTION_AUTH_TOKEN and ST2_ACTION_EXECUTION_ID come from st2's runner)"
fi
# Only what st2 makes: the id becomes part of a key name and a URL, the
# token part of a curl config line.
case "$id" in *[!A-Za-z0-9]*) fail 1 bad_environment "ST2_ACTION_EXECUTION_ID is not an st2 execution id" ;; esac
case "$token" in *[!A-Za-z0-9._-]*) fail 1 bad_environment "ST2_ACTION_AUTH_TOKEN has characters st2 tokens do not have" ;; esac
case "$url" in http://*|https://*) ;; *) fail 1 bad_environment "ST2_ACTION_API_URL is not an http(s) URL" ;; esac
command -v curl >/dev/null 2>&1 || fail 1 missing_tool "alert_event is not built and curl is missing, so the alert cannot be kept: install curl, run autoscale.setup"

key="autoscale.pending_alert.$id"
umask 077
tmp=$(mktemp -d) || fail 1 deferral_failed "cannot make a temporary directory"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 143' TERM INT

# The stored value is itself JSON text ({"body", "asg", "source"}: what the
# sensor hands back to alert_event), so it is escaped twice: once into the
# value, once into the request.
{
    printf '{"body": "'
    printf '%s' "$body" | json_escape
    if [ -n "$asg" ]; then printf '", "asg": "'; printf '%s' "$asg" | json_escape; fi
    if [ -n "$source" ]; then printf '", "source": "'; printf '%s' "$source" | json_escape; fi
    printf '"}'
} >"$tmp/value" || fail 1 deferral_failed "cannot write a temporary file"
{
    printf '{"name": "%s", "scope": "st2kv.system", "ttl": %d, "value": "' "$key" "$ttl"
    json_escape <"$tmp/value"
    printf '"}'
} >"$tmp/request" || fail 1 deferral_failed "cannot write a temporary file"
# The token goes in a curl config file, never on a command line (ps shows
# those to every user of the host).
printf 'header = "X-Auth-Token: %s"\n' "$token" >"$tmp/curlrc"

status=$(curl -sS --connect-timeout 5 --max-time 30 -K "$tmp/curlrc" -X PUT \
    -H 'Content-Type: application/json' --data-binary @"$tmp/request" \
    -o "$tmp/reply" -w '%{http_code}' "$url/keys/$key")
case "$status" in
    2??) ;;
    *) fail 1 deferral_failed "actions/bin/alert_event is not built and st2's datastore refused to keep the alert (HTTP ${status:-none}): the body is in this execution's parameters; run autoscale.setup, then re-run this execution" ;;
esac
printf '{"deferred": true, "key": "%s", "ttl": %d, "changed": 0, "events": [], "message": "actions/bin/alert_event is not built on this host yet (or autoscale.setup is building it): the alert is kept in the datastore and the governor sensor replays it once autoscale.setup has built the pack"}\n' "$key" "$ttl"
