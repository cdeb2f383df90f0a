"""bench/startup_store.py - the store bench/startup.bench.sh measures against.

    python3 bench/startup_store.py seed NAME   # add NAME's nodes, incident, events
    python3 bench/startup_store.py dump        # every autoscale.* key, one per line
    python3 bench/startup_store.py stats       # the st2 fake's request counts
    python3 bench/startup_store.py copy FILE   # the SQLite store, copied whole

The store is chosen as the actions choose it (see peer_asg_get.py): the st2
API at $ST2_ACTION_API_URL, else the SQLite file $AUTOSCALE_DB. `seed` runs
after asg_define made the group (and, for SQLite, the file's schema) and
writes what a group that has run a while holds: three active nodes (its
min, so node_pick has nothing to take), a closed incident and two scaling
events, one node's health, another's protection and the latest decision,
with fixed times so both stores print alike. The records have the
fields lib/compute/nodes.c, lib/model/incident.c and lib/store/lease.c
write. `dump` is how the bench checks that an action it repeats left the
store as it found it; `stats` (fake_st2 --control only) prints the fake's
counts of authorised GETs, PUTs, DELETEs and listings so far, the bench's
"requests" column. `copy` writes a copy of $AUTOSCALE_DB through SQLite's
backup API, so rows still in its -wal file come along."""
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the checkout
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_asg_get  # noqa: E402 - the read side, shared


def seed_records(name):
    recs = []
    for i, addr in enumerate(("127.0.1.2", "127.0.1.3", "127.0.1.4")):
        node = "%s-0000000%d" % (name, i + 1)
        recs.append(("autoscale.node.%s.%s" % (name, node), {
            "name": node, "group": name, "state": "active", "provider": "local",
            "provider_id": "%s.%s" % (name, node), "address": addr, "port": 8080,
            "created_at": 1700000000 + i, "execution_id": "bench-%d" % i,
            "updated_at": 1700000060 + i}))
    recs.append(("autoscale.incident.%s.i1" % name, {
        "id": "i1", "source": "bench", "state": "closed", "severity": "warning",
        "title": "latency over 200 ms", "opened_at": 1700000100, "event_at": 1700000100,
        "closed_at": 1700000400}))
    for at, op, count in ((1700000000, "scale_out", 3), (1700000500, "scale_in", 1)):
        lease = "%012d-%s-0000beef" % (at, op)
        recs.append(("autoscale.event.%s.%012d-%s" % (name, at + 30, op), {
            "op": op, "lease_id": lease, "at": at, "finished_at": at + 30, "count": count,
            "succeeded": count, "failed": 0, "result": "success"}))
    # what the self-healing pieces add (lib/model/health.h, controls.h,
    # history.h): one node's health, another's protection, the latest decision
    recs.append(("autoscale.health.%s.%s-00000001" % (name, name), {
        "node": "%s-00000001" % name, "group": name, "status": "healthy", "failures": 0,
        "checked_at": 1700000600, "since": 1700000360,
        "reason": "every check that could say passed",
        "checks": {"provider": "active", "lb": "n/a", "http": "n/a"}}))
    recs.append(("autoscale.protect.%s.%s-00000002" % (name, name), {
        "node": "%s-00000002" % name, "group": name, "at": 1700000700, "reason": "debugging"}))
    recs.append(("autoscale.decision.%s" % name, {
        "at": 1700000530, "time": "2023-11-14T22:22:10Z", "ms": 1700000530000,
        "kind": "decision", "action": "none", "code": "rest", "count": 0, "remove": 0,
        "capacity_before": 3, "capacity_after": 3, "alert": "none",
        "reason": "no alert and capacity 3 is at min 3: resting", "lease_id": None}))
    return [(k, json.dumps(v, separators=(",", ":"))) for k, v in recs]


def seed_st2(url, recs):
    st = peer_asg_get.St2(url)
    headers = dict(st.headers, **{"Content-Type": "application/json"})
    for key, value in recs:
        body = json.dumps({"name": key, "value": value, "scope": peer_asg_get.SCOPE})
        st.conn.request("PUT", "%s/keys/%s" % (st.base, st.quote(key, safe="")),
                        body=body, headers=headers)
        r = st.conn.getresponse()
        r.read()
        if r.status not in (200, 201):
            peer_asg_get.fail("st2 put %s: HTTP %d" % (key, r.status))


def seed_embedded(path, recs):
    import sqlite3
    db = sqlite3.connect(path)
    with db:
        db.executemany("INSERT OR REPLACE INTO kv(name, value, expires_at)"
                       " VALUES (?, ?, NULL)", recs)
    db.close()


def main(argv):
    url = peer_asg_get.env("ST2_ACTION_API_URL") or peer_asg_get.env("ST2_API_URL")
    db = peer_asg_get.env("AUTOSCALE_DB")
    if not url and not db:
        peer_asg_get.fail("set ST2_ACTION_API_URL or AUTOSCALE_DB")
    if len(argv) == 2 and argv[0] == "seed":
        recs = seed_records(argv[1])
        if url:
            seed_st2(url, recs)
        else:
            seed_embedded(db, recs)
    elif argv == ["dump"]:
        ds = peer_asg_get.St2(url) if url else peer_asg_get.Embedded(db)
        for key, value in ds.list("autoscale."):
            print("%s\t%s" % (key, value))
    elif len(argv) == 2 and argv[0] == "copy" and db and not url:
        import sqlite3
        src, dst = sqlite3.connect(db), sqlite3.connect(argv[1])
        src.backup(dst)
        dst.close()
        src.close()
    elif argv == ["stats"] and url:
        status, body = peer_asg_get.St2(url).call("/_fake/stats")
        if status != 200:
            peer_asg_get.fail("fake st2 stats: HTTP %d (is it run with --control?)" % status)
        s = json.loads(body)
        print(s["gets"], s["puts"], s["deletes"], s["lists"])
    else:
        peer_asg_get.fail("usage: startup_store.py seed NAME | dump | stats | copy FILE")


if __name__ == "__main__":
    main(sys.argv[1:])
