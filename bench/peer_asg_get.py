"""bench/peer_asg_get.py - asg_get --name=NAME written in Python: the peer
bench/startup.bench.sh times beside the C action, to show what the same job
costs in the language st2 actions are usually written in.

    python3 bench/peer_asg_get.py --name=web

The datastore is chosen as the action chooses it (lib/store/datastore.c):
ST2_ACTION_API_URL (else ST2_API_URL) set: st2's key-value API, with the
requests of lib/store/ds_st2.c on one kept-alive connection; otherwise the
SQLite file $AUTOSCALE_DB, opened read-only, with the queries of
lib/store/ds_embedded.c. It reads the keys asg_status() reads
(lib/model/asg.c: the spec, nodes, incidents, events, lease, each node's
health and protection, the latest decision) and prints the document asg_get prints, byte for byte
(actions/runner/st2.c: compact json-c, '/' not escaped, UTF-8 as is); the
bench checks that before it times anything.

It does the success path only, and less checking than asg_get (the stored
spec is printed as stored, not validated field by field): any failure is a
line on stderr and exit 1. Each backend imports only what it uses, so
neither peer pays for the other's modules."""
import json
import os
import sys
import time

SCOPE = "st2kv.system"
PAGE = 100    # ds_st2's page size (datastore.c opens it with 100)
EVENTS = 10   # asg_get's default --events
STATES = ("building", "active", "draining", "failed", "deleting", "warming", "warm", "unknown")
PROCESSES = ("scale_out", "scale_in", "replace")  # lib/model/controls.h's order
FORCE_WINDOW = 3600  # CONTROL_FORCE_WINDOW_S


def fail(msg):
    sys.stderr.write("peer_asg_get: %s\n" % msg)
    sys.exit(1)


def env(name):
    v = os.environ.get(name)
    return v if v else None


class Embedded:
    """lib/store/ds_embedded.c's reads: rows that have not expired."""

    def __init__(self, path):
        import sqlite3
        # A URI, for mode=ro; these three characters would end the path.
        uri = path.replace("%", "%25").replace("?", "%3f").replace("#", "%23")
        self.db = sqlite3.connect("file:%s?mode=ro" % uri, uri=True)
        self.now = int(time.time())

    def get(self, key):
        row = self.db.execute(
            "SELECT value FROM kv WHERE name = ?1"
            " AND (expires_at IS NULL OR expires_at > ?2)", (key, self.now)).fetchone()
        return row[0] if row else None

    def list(self, prefix):
        # The range scan ds_embedded uses; our keys are ASCII, so the upper
        # bound is the prefix with its last character incremented.
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return self.db.execute(
            "SELECT name, value FROM kv WHERE name >= ?1 AND name < ?2"
            " AND (expires_at IS NULL OR expires_at > ?3) ORDER BY name",
            (prefix, upper, self.now)).fetchall()


class St2:
    """lib/store/ds_st2.c's GETs: a key, and listings paged until short."""

    def __init__(self, url):
        import http.client
        from urllib.parse import quote, urlsplit
        self.quote = quote
        u = urlsplit(url.rstrip("/"))
        conn = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
        self.conn = conn(u.hostname, u.port, timeout=30)
        self.base = u.path
        self.headers = {"Accept": "application/json"}
        token = env("ST2_ACTION_AUTH_TOKEN") or env("ST2_AUTH_TOKEN")
        if token:
            self.headers["X-Auth-Token"] = token
        elif env("ST2_API_KEY"):
            self.headers["St2-Api-Key"] = env("ST2_API_KEY")

    def call(self, path):
        self.conn.request("GET", self.base + path, headers=self.headers)
        r = self.conn.getresponse()
        return r.status, r.read()

    @staticmethod
    def expired(item):
        ts = item.get("expire_timestamp")
        if not ts:
            return False
        import calendar
        return calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")) <= time.time()

    def get(self, key):
        status, body = self.call("/keys/%s?scope=%s" % (self.quote(key, safe=""), SCOPE))
        if status == 404:
            return None
        if status != 200:
            fail("st2 get %s: HTTP %d" % (key, status))
        item = json.loads(body)
        return None if self.expired(item) else item["value"]

    def list(self, prefix):
        got, offset = {}, 0
        while True:
            status, body = self.call("/keys?prefix=%s&scope=%s&limit=%d&offset=%d"
                                     % (self.quote(prefix, safe=""), SCOPE, PAGE, offset))
            if status != 200:
                fail("st2 list %s: HTTP %d" % (prefix, status))
            page = json.loads(body)
            for item in page:
                if item["name"].startswith(prefix) and not self.expired(item):
                    got[item["name"]] = item["value"]  # a key seen twice: the later copy
            if len(page) < PAGE:
                return sorted(got.items())
            offset += len(page)


def records(pairs):
    """The values that are JSON objects; others are skipped, as asg.c does."""
    out = []
    for name, value in pairs:
        try:
            o = json.loads(value)
        except ValueError:
            o = None
        if isinstance(o, dict):
            out.append(o)
        else:
            sys.stderr.write("peer_asg_get: skipping corrupt record %s\n" % name)
    return out


def by_leaf(pairs, keep_unreadable):
    """{node: record} keyed by the key's last part (health_load,
    controls_load_protected); an unreadable protection still protects."""
    out = {}
    for name, value in pairs:
        try:
            o = json.loads(value)
        except ValueError:
            o = None
        if isinstance(o, dict):
            out[name.rsplit(".", 1)[1]] = o
        elif keep_unreadable:
            out[name.rsplit(".", 1)[1]] = {}
    return out


def annotate(nodes, health, protect):
    """asg.c's annotate_nodes: each node's health view and protection."""
    for n in nodes:
        h = health.get(n.get("name"))
        n["health"] = None if h is None else {
            "status": h.get("status") if isinstance(h.get("status"), str) else "grace",
            "failures": h.get("failures") if isinstance(h.get("failures"), int) else 0,
            "reason": h.get("reason") if isinstance(h.get("reason"), str) else None,
            "checked_at": h.get("checked_at") if isinstance(h.get("checked_at"), int) else 0}
        n["protected"] = n.get("name") in protect


def controls(spec, events, lease):
    """asg.c's controls_view: suspension, protect_new, a pending force."""
    forced = spec.get("forced_at") or 0
    last = max([e.get("at", 0) for e in events] + [lease.get("at", 0) if lease else 0])
    now = int(time.time())
    return {"suspended": [p for p in PROCESSES if spec.get("suspend_" + p) == 1],
            "protect_new": spec.get("protect_new") == 1,
            "forced_at": forced if forced > 0 else None,
            "force_pending": forced > 0 and forced > last and
                             (now < forced or now - forced < FORCE_WINDOW)}


def counts(nodes):
    by_state = dict.fromkeys(STATES, 0)
    for n in nodes:
        s = n.get("state")
        by_state[s if isinstance(s, str) and s in by_state else "unknown"] += 1
    c = {"total": len(nodes), "capacity": by_state["building"] + by_state["active"]}
    c.update(by_state)
    return c


def asg_status(ds, name):
    text = ds.get("autoscale.spec." + name)
    if text is None:
        fail("no group named '%s'" % name)
    spec = json.loads(text)
    if not isinstance(spec, dict) or spec.get("name") != name:
        fail("the spec stored for group '%s' is corrupt" % name)
    nodes = records(ds.list("autoscale.node.%s." % name))
    incidents = records(ds.list("autoscale.incident.%s." % name))
    events = records(ds.list("autoscale.event.%s." % name))
    # lease_get: the claim's base key and its candidates, not "web-2"'s
    base = "autoscale.lease." + name
    leases = records((k, v) for k, v in ds.list(base) if k == base or k.startswith(base + "."))
    known = {n.get("name") for n in nodes}
    health = {k: v for k, v in by_leaf(ds.list("autoscale.health.%s." % name), False).items()
              if k in known}
    protect = {k for k in by_leaf(ds.list("autoscale.protect.%s." % name), True) if k in known}
    annotate(nodes, health, protect)
    decision = ds.get("autoscale.decision." + name)
    lease = leases[0] if leases else None
    return {
        "group": spec,
        "counts": counts(nodes),
        "nodes": nodes,
        "alert": {"in_alert": any(i.get("state") == "open" for i in incidents),
                  "incidents": incidents},
        "events": events[-EVENTS:],
        "lease": lease,
        "controls": controls(spec, events, lease),
        "last_decision": json.loads(decision) if decision else None,
    }


def main(argv):
    names = [a[len("--name="):] for a in argv if a.startswith("--name=")]
    if len(names) != 1 or len(argv) != 1:
        fail("usage: peer_asg_get.py --name=NAME")
    url = env("ST2_ACTION_API_URL") or env("ST2_API_URL")
    if url:
        ds = St2(url)
    elif env("AUTOSCALE_DB"):
        ds = Embedded(env("AUTOSCALE_DB"))
    else:
        fail("set ST2_ACTION_API_URL or AUTOSCALE_DB")
    doc = asg_status(ds, names[0])
    out = json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n"
    sys.stdout.buffer.write(out.encode("utf-8"))


if __name__ == "__main__":
    main(sys.argv[1:])
