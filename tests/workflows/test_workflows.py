"""The pack's Orquesta workflows, rules and policies, run on tests/st2lite
with the real C actions, the embedded datastore and the local compute
provider. Failures are real ones (a command that cannot start a node, a
load balancer socket that is not there), not mocks, and every test checks
what is left in the store and on the machine afterwards.
Run: python3 -m unittest tests/workflows/test_workflows.py"""
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "demo"))

import st2lite  # noqa: E402
from servers import Servers, free_port  # noqa: E402

FLAKY = """#!/bin/sh
# Starts the demo app for the first $OK_FIRST nodes, then fails: a cloud
# that runs out of capacity half-way through a scale-out.
n=$(cat "$COUNTER" 2>/dev/null || echo 0); n=$((n + 1)); echo $n >"$COUNTER"
[ "$n" -le "$OK_FIRST" ] || exit 1
exec "$1/demo_app" --listen="$2:$3" --name="$4"
"""


class WorkflowTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="as-wf-")
        self.local = os.path.join(self.dir, "local")
        self.port = free_port()
        self.config = {"compute_provider": "local",
                       "local_dir": self.local, "local_port": self.port,
                       "local_grace_ms": 300, "lb_drain_timeout": 5}
        self.env = {"AUTOSCALE_DB": os.path.join(self.dir, "db"),
                    "XDG_STATE_HOME": os.path.join(self.dir, "state")}
        self.events = []  # (ref, event, node, status) in order
        self._new_runner()

    def _new_runner(self):
        self.pack = st2lite.Pack(ROOT, self.config)
        self.runner = st2lite.Runner(self.pack, self.env, trace=self._trace)

    def tearDown(self):
        for name in self.action("asg_list").get("groups", []):
            self.runner.run("autoscale.asg_delete", {"name": name["name"]})
        shutil.rmtree(self.dir, ignore_errors=True)

    def _trace(self, ex, event):
        self.events.append((ex.ref.split(".", 1)[1], event, ex.params.get("node"),
                            ex.status, ex.parent.ref.split(".", 1)[1] if ex.parent else None,
                            time.monotonic()))

    # ---- helpers ----
    def action(self, _action, **params):
        ex = self.runner.run(f"autoscale.{_action}", params)
        return ex.result["stdout"] if ex.result and "stdout" in ex.result else ex.result

    def group(self, name="web", **spec):
        spec = dict({"min": 1, "max": 5}, **spec)
        ex = self.runner.run("autoscale.asg_define", dict(spec, name=name))
        self.assertTrue(ex.succeeded, ex.result)

    def failures(self):
        """Every failed execution with its error, for assertion messages."""
        return [(e.ref, e.params.get("node"), (e.result or {}).get("stdout", e.result))
                for e in self.runner.log if not e.succeeded]

    def children(self, parent):
        return [(a, s) for a, ev, _, s, p, _t in self.events if ev == "end" and p == parent]

    def nodes(self, group="web"):
        out = self.action("node_list", name=group)
        return {n["name"]: n for n in out.get("nodes", [])}

    def machines(self):
        if not os.path.isdir(self.local):
            return []
        return sorted(f for f in os.listdir(self.local) if f.endswith(".json"))

    def keys(self):
        import sqlite3
        if not os.path.exists(self.env["AUTOSCALE_DB"]):
            return []  # no action ever opened the store
        with sqlite3.connect(self.env["AUTOSCALE_DB"]) as db:
            return [r[0] for r in db.execute("SELECT name FROM kv")]

    def flaky(self, ok_first):
        path = os.path.join(self.dir, "flaky.sh")
        with open(path, "w") as f:
            f.write(FLAKY)
        os.chmod(path, 0o755)
        self.env.update(COUNTER=os.path.join(self.dir, "count"), OK_FIRST=str(ok_first))
        self.config["local_command"] = f"{path} {{bin}} {{address}} {{port}} {{name}}"
        self._new_runner()

    def lease(self, group="web"):
        out = self.action("governor_tick", name=group, act=True)
        return [d for d in out["decisions"] if d["action"] != "none"][0]

    # ---- node_up ----
    def test_node_up_brings_a_node_into_service(self):
        self.group()
        ex = self.runner.run("autoscale.node_up", {"name": "web"})
        self.assertTrue(ex.succeeded, ex.result)
        out = ex.result["output"]
        self.assertTrue(out["up"])
        self.assertEqual(self.nodes()[out["node"]]["state"], "active")
        self.assertEqual(self.nodes()[out["node"]]["address"], out["address"])
        self.assertEqual([a for a, _ in self.children("node_up")],
                         ["add_node", "dns_register", "chef_bootstrap", "lb_add", "notify"])

    def test_node_up_undoes_everything_in_reverse_when_lb_add_fails(self):
        self.group(lb_provider="haproxy", lb_backend="web")
        self.config["haproxy_socket"] = os.path.join(self.dir, "no-haproxy.sock")
        self._new_runner()
        ex = self.runner.run("autoscale.node_up", {"name": "web"})
        self.assertEqual(ex.status, "failed")
        self.assertEqual(self.children("node_up"), [
            ("add_node", "succeeded"), ("dns_register", "succeeded"),
            ("chef_bootstrap", "succeeded"), ("lb_add", "failed"),
            ("lb_remove", "failed"), ("chef_cleanup", "succeeded"),
            ("dns_unregister", "succeeded"), ("remove_node", "succeeded"),
            ("notify", "succeeded")])
        self.assertEqual(self.nodes(), {})
        self.assertEqual(self.machines(), [])

    def test_node_up_failing_to_start_a_machine_cleans_up_and_fails(self):
        self.group()
        self.config["local_command"] = "false"
        self._new_runner()
        ex = self.runner.run("autoscale.node_up", {"name": "web"})
        self.assertEqual(ex.status, "failed")
        self.assertEqual([a for a, _ in self.children("node_up")],
                         ["add_node", "remove_node", "notify"])
        self.assertFalse(ex.result["output"]["up"])
        self.assertEqual(self.nodes(), {})
        self.assertEqual(self.machines(), [])

    def test_node_up_dns_failure_undoes_dns_then_the_machine(self):
        self.group(dns_provider="powerdns", dns_zone="example.test")
        self.config.update(powerdns_api_url=f"http://127.0.0.1:{free_port()}/api/v1/servers/localhost",
                           powerdns_api_key="k3y-not-shown")
        self._new_runner()
        ex = self.runner.run("autoscale.node_up", {"name": "web"})
        self.assertEqual(ex.status, "failed")
        self.assertEqual([a for a, _ in self.children("node_up")],
                         ["add_node", "dns_register", "dns_unregister", "remove_node", "notify"])
        self.assertEqual(self.machines(), [])
        self.assertNotIn("k3y-not-shown", json.dumps([e.result for e in self.runner.log]))

    def test_node_name_is_fixed_by_the_workflow_execution(self):
        self.group()
        ex = self.runner.run("autoscale.node_up", {"name": "web"})
        add = [e for e in self.runner.log if e.ref == "autoscale.add_node"][0]
        self.assertEqual(add.params["node"], "web-" + ex.id[-8:])

    # ---- scale_out ----
    def test_scale_out_adds_count_records_the_event_and_releases_the_lease(self):
        self.group(min=3, max=5)
        d = self.lease()
        self.assertEqual((d["action"], d["count"]), ("scale_out", 3))
        ex = self.runner.run("autoscale.scale_out", {"name": "web", "count": 3,
                                                     "lease_id": d["lease_id"], "reason": "test"})
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual(ex.result["output"], {"requested": 3, "succeeded": 3, "failed": 0,
                                               "taken": 0, "result": "success"}, self.failures())
        self.assertEqual(len(self.nodes()), 3)
        self.assertFalse([k for k in self.keys() if k.startswith("autoscale.lease.")])
        self.assertEqual(self.lease_free_decision(), "none")

    def lease_free_decision(self):
        out = self.action("governor_tick", name="web")
        acting = [d["action"] for d in out["decisions"] if d["action"] != "none"]
        return acting[0] if acting else "none"  # a retired group is not even evaluated

    def test_scale_out_partial_success_is_reported_as_partial(self):
        self.group(min=3, max=5)
        self.flaky(ok_first=1)
        d = self.lease()
        ex = self.runner.run("autoscale.scale_out", {"name": "web", "count": 3, "concurrency": 1,
                                                     "lease_id": d["lease_id"]})
        self.assertTrue(ex.succeeded, ex.result)
        out = ex.result["output"]
        self.assertEqual((out["succeeded"], out["failed"], out["result"]), (1, 2, "partial"))
        self.assertEqual([n["state"] for n in self.nodes().values()], ["active"])
        self.assertEqual(len(self.machines()), 1)
        event = [k for k in self.keys() if k.startswith("autoscale.event.web.")]
        self.assertEqual(len(event), 1)
        self.assertFalse([k for k in self.keys() if k.startswith("autoscale.lease.")])

    def test_scale_out_with_no_node_up_fails_but_still_releases_the_lease(self):
        self.group(min=2, max=5)
        self.flaky(ok_first=0)
        d = self.lease()
        ex = self.runner.run("autoscale.scale_out", {"name": "web", "count": 2,
                                                     "lease_id": d["lease_id"]})
        self.assertEqual(ex.status, "failed")
        self.assertEqual(ex.result["output"]["result"], "failure")
        self.assertEqual(self.nodes(), {})
        self.assertFalse([k for k in self.keys() if k.startswith("autoscale.lease.")])

    # ---- scale_in, node_down ----
    def _grow(self, n, **spec):
        self.group(min=n, max=n + 2, **spec)
        d = self.lease()
        ex = self.runner.run("autoscale.scale_out", {"name": "web", "count": n,
                                                     "lease_id": d["lease_id"], "concurrency": 1})
        self.assertTrue(ex.succeeded, ex.result)
        return sorted(self.nodes().values(), key=lambda r: (r["created_at"], r["name"]))

    def test_scale_in_removes_newest_first_and_never_below_min(self):
        before = self._grow(3)
        self.action("asg_update", name="web", min=1)
        ex = self.runner.run("autoscale.scale_in", {"name": "web", "count": 5,
                                                    "lease_id": "000000000000-scale_in-00000000"})
        self.assertTrue(ex.succeeded, ex.result)
        out = ex.result["output"]
        self.assertEqual(out["succeeded"], 2)
        left = list(self.nodes())
        self.assertEqual(len(left), 1)
        if len({r["created_at"] for r in before}) == 3:  # distinct seconds: order is known
            self.assertEqual(left, [before[0]["name"]])
        self.assertEqual(len(self.machines()), 1)

    def test_scale_in_drains_before_it_destroys(self):
        self._grow(2)
        self.action("asg_update", name="web", min=1)
        self.runner.run("autoscale.scale_in", {"name": "web", "count": 1,
                                               "lease_id": "000000000000-scale_in-00000001"})
        down = [a for a, _ in self.children("node_down")]
        self.assertEqual(down, ["lb_remove", "dns_unregister", "chef_cleanup",
                                "remove_node", "notify"])

    def test_node_down_carries_on_past_targets_already_gone(self):
        nodes = self._grow(1)
        name = nodes[0]["name"]
        self.assertTrue(self.runner.run("autoscale.remove_node",
                                        {"name": "web", "node": name}).succeeded)
        ex = self.runner.run("autoscale.node_down", {"name": "web", "node": name})
        self.assertTrue(ex.succeeded, ex.result)
        self.assertTrue(all(s == "succeeded" for _, s in self.children("node_down")))

    # ---- asg_create, asg_delete ----
    def test_asg_create_records_the_group_and_scales_it_to_min(self):
        ex = self.runner.run("autoscale.asg_create", {"name": "web", "min": 2, "max": 4})
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual(ex.result["output"]["nodes_added"], 2)
        self.assertEqual(len(self.nodes()), 2)
        again = self.runner.run("autoscale.asg_create", {"name": "web", "min": 2, "max": 4})
        self.assertTrue(again.succeeded, again.result)
        self.assertEqual(again.result["output"]["nodes_added"], 0)
        self.assertEqual(len(self.nodes()), 2)

    def test_asg_create_refuses_bad_input_and_changes_nothing(self):
        ex = self.runner.run("autoscale.asg_create", {"name": "web;reboot", "min": 1})
        self.assertEqual(ex.status, "failed")
        self.assertEqual(self.keys(), [])

    def test_asg_delete_removes_every_node_and_record(self):
        self._grow(2)
        ex = self.runner.run("autoscale.asg_delete", {"name": "web"})
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual(self.keys(), [])
        self.assertEqual(self.machines(), [])
        again = self.runner.run("autoscale.asg_delete", {"name": "web"})
        self.assertTrue(again.succeeded, again.result)

    def test_asg_delete_failure_leaves_the_group_marked_and_a_rerun_finishes(self):
        self._grow(2)
        sock = os.path.join(self.dir, "haproxy.sock")
        self.action("asg_update", name="web", lb_provider="haproxy", lb_backend="web")
        self.config["haproxy_socket"] = sock  # nothing listens there yet
        self._new_runner()
        ex = self.runner.run("autoscale.asg_delete", {"name": "web"})
        self.assertEqual(ex.status, "failed")
        self.assertEqual(self.action("asg_get", name="web")["group"]["status"], "deleting")
        self.assertEqual(len(self.machines()), 2, "no machine may go while its LB step failed")
        self.assertEqual(self.lease_free_decision(), "none")
        refused = self.runner.run("autoscale.node_up", {"name": "web"})
        self.assertEqual(refused.status, "failed")
        sync = self.runner.run("autoscale.lb_sync", {"name": "web"})  # would re-add them
        self.assertEqual(sync.result["stdout"]["error"]["code"], "group_conflict")
        servers = Servers(self.dir)
        try:
            servers.haproxy_socket = sock
            servers.start_haproxy("web")
            ex = self.runner.run("autoscale.asg_delete", {"name": "web"})
            self.assertTrue(ex.succeeded, ex.result)
        finally:
            servers.stop_all()
        self.assertEqual(self.keys(), [])
        self.assertEqual(self.machines(), [])

    def test_asg_create_parameters_are_asg_define_parameters(self):
        """But for the operator's immutable ones (the endpoint allow-list),
        which the workflow must not pass: st2 refuses a request that does."""
        def params(name):
            with open(os.path.join(ROOT, "actions", f"{name}.yaml")) as f:
                return {k: v for k, v in yaml.safe_load(f)["parameters"].items()
                        if not v.get("immutable")}
        self.assertEqual(params("asg_create"), params("asg_define"))

    # ---- st2's strictness: configs, child schemas, defaults ----
    def test_a_31_character_group_lives_on_a_config_of_only_compute_provider(self):
        """The whole lifecycle with an empty config plus compute_provider:
        local (every other key from the schema's defaults), for a group name
        of the longest length the pack accepts, whose node names (40
        characters) must fit every child's schema on the way."""
        name = "storefront-checkout-api-eu-west"
        self.assertEqual(len(name), 31)
        self.config = {"compute_provider": "local"}
        self._new_runner()
        ex = self.runner.run("autoscale.asg_create", {"name": name, "min": 2, "max": 3,
                                                      "scale_in_cooldown": 0})
        self.assertTrue(ex.succeeded, (ex.result, self.failures()))
        nodes = self.nodes(name)
        self.assertEqual(len(nodes), 2)
        self.assertTrue(all(len(n) == 40 for n in nodes), nodes)

        self.action("asg_update", name=name, min=1)  # one too many: the governor shrinks it
        d = self.lease(name)
        self.assertEqual((d["action"], d["count"]), ("scale_in", 1))
        ex = self.runner.run("autoscale.scale_in", {"name": name, "count": d["count"],
                                                    "lease_id": d["lease_id"],
                                                    "reason": d["reason"]})
        self.assertTrue(ex.succeeded, (ex.result, self.failures()))
        self.assertEqual(len(self.nodes(name)), 1)

        self.action("asg_update", name=name, min=3)  # below min: out at once
        d = self.lease(name)
        self.assertEqual((d["action"], d["count"]), ("scale_out", 2))
        ex = self.runner.run("autoscale.scale_out", {"name": name, "count": d["count"],
                                                     "lease_id": d["lease_id"],
                                                     "reason": d["reason"]})
        self.assertTrue(ex.succeeded, (ex.result, self.failures()))
        self.assertEqual(len(self.nodes(name)), 3)

        ex = self.runner.run("autoscale.asg_delete", {"name": name})
        self.assertTrue(ex.succeeded, (ex.result, self.failures()))
        self.assertEqual(self.keys(), [])
        self.assertEqual([e for e in self.runner.log if not e.succeeded], [])

    def test_a_scale_in_of_1000_nodes_is_refused_nowhere(self):
        """Every child request of the biggest scale-in the pack allows (1,000
        nodes of 40-character names) fits its child's schema. The leaf
        actions are stubbed after st2lite's validation, so the workflows,
        their expressions and every request are the real ones; only the
        4,000 programs are not started."""
        name = "storefront-checkout-api-eu-west"
        nodes = [f"{name}-{i:08x}" for i in range(1000)]
        seen = {}
        lock = threading.Lock()

        def ok(stdout):
            def run(params):
                with lock:
                    seen.setdefault(params.get("event") or "-", []).append(params)
                return {"stdout": stdout, "stderr": "", "return_code": 0,
                        "succeeded": True, "failed": False}
            return run
        done = {"changed": True}
        stubs = {"autoscale.node_pick": ok({"group": name, "nodes": nodes}),
                 "autoscale.lb_remove": ok(done), "autoscale.dns_unregister": ok(done),
                 "autoscale.chef_cleanup": ok(done), "autoscale.remove_node": ok(done),
                 "autoscale.scaling_record": ok({"event": {"result": "success"}}),
                 "autoscale.notify": ok({"delivered": True})}
        runner = st2lite.Runner(self.pack, self.env, stubs=stubs)
        ex = runner.run("autoscale.scale_in", {"name": name, "count": 1000, "concurrency": 50,
                                               "lease_id": "001800000000-scale_in-0a1b2c3d",
                                               "reason": "r" * 500})
        self.assertEqual(runner.refusals, [])
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual(ex.result["output"]["succeeded"], 1000)
        self.assertEqual(len(seen["node_down"]), 1000)
        started = seen["scale_in_started"][0]
        self.assertEqual(started["count"], 1000)
        self.assertLessEqual(len(started["message"]), 2000)
        self.assertIn("and 990 more", started["message"])

    def test_governor_tick_run_by_hand_changes_nothing(self):
        self.group(min=2, max=3)
        before = sorted(self.keys())
        out = self.action("governor_tick")  # what `st2 run autoscale.governor_tick` does
        self.assertTrue(out["dry_run"])
        self.assertEqual([d["action"] for d in out["decisions"]], ["scale_out"])
        self.assertIsNone(out["decisions"][0]["lease_id"])
        self.assertEqual(sorted(self.keys()), before)
        self.assertEqual(self.lease()["action"], "scale_out")  # still free to act on

    def test_a_tick_that_fails_part_way_gives_back_the_leases_it_took(self):
        """A failed tick prints no decisions, so nothing would dispatch the
        leases it had already taken: they must not freeze their groups."""
        import sqlite3
        self.group(name="aaa", min=1)
        self.group(name="zzz", min=1)
        with sqlite3.connect(self.env["AUTOSCALE_DB"]) as db:  # a real write failure
            db.execute("CREATE TRIGGER no_zzz_lease BEFORE INSERT ON kv"
                       " WHEN NEW.name = 'autoscale.lease.zzz'"
                       " BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
        ex = self.runner.run("autoscale.governor_tick", {"act": True})
        self.assertEqual(ex.status, "failed")
        self.assertFalse([k for k in self.keys() if k.startswith("autoscale.lease.")])
        self.assertEqual(self.lease("aaa")["action"], "scale_out")

    # ---- replace ----
    def put(self, key, value, expires_at=None):
        """Write one record into the embedded store, as its one writer would."""
        import sqlite3
        with sqlite3.connect(self.env["AUTOSCALE_DB"]) as db:
            db.execute("INSERT OR REPLACE INTO kv(name, value, expires_at) VALUES (?, ?, ?)",
                       (key, json.dumps(value), expires_at))

    def record(self, key):
        import sqlite3
        with sqlite3.connect(self.env["AUTOSCALE_DB"]) as db:
            row = db.execute("SELECT value FROM kv WHERE name = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def sick(self, node, group="web"):
        """The node's health record says unhealthy, as health_check writes
        it after health_threshold failed probes (lib/model/health.h)."""
        now = int(time.time())
        self.put(f"autoscale.health.{group}.{node}", {
            "node": node, "group": group, "status": "unhealthy", "failures": 3,
            "checked_at": now, "since": now - 60, "reason": "provider: process gone",
            "checks": {"provider": "process gone"}})

    def replace_lease(self, count, group="web"):
        """The lease governor_tick takes for a replace decision (lib/store/
        lease.c, lease_take: the claim is the key itself in the embedded
        store); checked to hold: the governor decides nothing while it does."""
        now = int(time.time())
        lease_id = "%012d-replace-%08x" % (now, int.from_bytes(os.urandom(4), "big"))
        self.put(f"autoscale.lease.{group}", {"id": lease_id, "op": "replace", "count": count,
                                               "at": now, "expires_at": now + 600,
                                               "reason": "test"}, expires_at=now + 600)
        self.assertEqual(self.lease_free_decision(), "none")
        return lease_id

    def leases(self):
        return [k for k in self.keys() if k.startswith("autoscale.lease.")]

    def replace_event(self, lease_id, group="web"):
        events = [self.record(k) for k in self.keys() if k.startswith(f"autoscale.event.{group}.")]
        return [e for e in events if e.get("lease_id") == lease_id]

    def test_replace_brings_the_new_node_up_first_then_takes_the_unhealthy_one_down(self):
        nodes = [n["name"] for n in self._grow(3)]
        bad = nodes[1]
        self.sick(bad)
        lease_id = self.replace_lease(1)
        ex = self.runner.run("autoscale.replace", {"name": "web", "count": 1, "remove": 1,
                                                   "lease_id": lease_id,
                                                   "reason": "1 unhealthy node"})
        self.assertTrue(ex.succeeded, (ex.result, self.failures()))
        out = ex.result["output"]
        self.assertEqual((out["requested"], out["removed"], out["result"]),
                         (1, [bad], "success"))
        [new] = out["added"]
        self.assertEqual(sorted(self.nodes()), sorted([nodes[0], nodes[2], new]))
        self.assertTrue(all(n["state"] == "active" for n in self.nodes().values()))
        self.assertEqual(len(self.machines()), 3)
        # new first: the unhealthy node is chosen only once the new one is up
        self.assertEqual(self.children("replace"), [
            ("notify", "succeeded"), ("node_up", "succeeded"), ("noop", "succeeded"),
            ("node_pick", "succeeded"), ("node_down", "succeeded"),
            ("scaling_record", "succeeded"), ("notify", "succeeded")])
        pick = [e for e in self.runner.log if e.ref == "autoscale.node_pick"][0]
        self.assertEqual((pick.params["strategy"], pick.params["count"],
                          pick.params["lease_id"]), ("unhealthy", 1, lease_id))
        self.assertEqual(self.leases(), [])
        [event] = self.replace_event(lease_id)
        self.assertEqual((event["op"], event["result"], event["reason"]),
                         ("replace", "success", "1 unhealthy node"))
        self.assertEqual(sorted(event["nodes"]), sorted([new, bad]))
        done = [e for e in self.runner.log if e.ref == "autoscale.notify"][-1]
        self.assertEqual((done.params["event"], done.params["count"]), ("node_replaced", 1))
        self.assertIn(new, done.params["message"])
        self.assertIn(bad, done.params["message"])
        self.assertIsNone(self.record(f"autoscale.health.web.{bad}"))

    def test_replace_with_no_new_node_up_removes_nothing_and_releases_the_lease(self):
        nodes = [n["name"] for n in self._grow(2)]
        self.sick(nodes[0])
        self.flaky(ok_first=0)
        lease_id = self.replace_lease(1)
        ex = self.runner.run("autoscale.replace", {"name": "web", "count": 1, "remove": 1,
                                                   "lease_id": lease_id})
        self.assertEqual(ex.status, "failed")
        out = ex.result["output"]
        self.assertEqual((out["added"], out["removed"], out["result"]), ([], [], "failure"))
        self.assertEqual(sorted(self.nodes()), sorted(nodes))
        self.assertEqual(self.nodes()[nodes[0]]["state"], "active")  # never marked draining
        self.assertEqual(len(self.machines()), 2)
        refs = [e.ref for e in self.runner.log]
        self.assertNotIn("autoscale.node_pick", refs)
        self.assertNotIn("autoscale.node_down", refs)
        self.assertEqual(self.leases(), [])
        [event] = self.replace_event(lease_id)
        self.assertEqual((event["result"], event["succeeded"], event["failed"]),
                         ("failure", 0, 1))
        done = [e for e in self.runner.log if e.ref == "autoscale.notify"][-1]
        self.assertEqual(done.params["event"], "replace_failed")
        self.assertIn("none was removed", done.params["message"])

    def test_replace_partial_keeps_one_unhealthy_node_per_new_node_that_failed(self):
        nodes = [n["name"] for n in self._grow(4)]
        self.action("asg_update", name="web", min=1)  # min_healthy (-1) is min
        for n in nodes[:2]:
            self.sick(n)
        self.flaky(ok_first=1)
        lease_id = self.replace_lease(2)
        ex = self.runner.run("autoscale.replace", {"name": "web", "count": 2, "remove": 2,
                                                   "concurrency": 1, "lease_id": lease_id})
        self.assertTrue(ex.succeeded, (ex.result, self.failures()))  # partial is success
        out = ex.result["output"]
        self.assertEqual((len(out["added"]), len(out["removed"]), out["result"]),
                         (1, 1, "partial"))
        self.assertIn(out["removed"][0], nodes[:2])
        left = self.nodes()
        self.assertEqual(len(left), 4)
        self.assertEqual(len([n for n in nodes[:2] if n in left]), 1)
        pick = [e for e in self.runner.log if e.ref == "autoscale.node_pick"][0]
        self.assertEqual(pick.params["count"], 1)
        self.assertEqual(self.leases(), [])
        [event] = self.replace_event(lease_id)
        # 2 asked up + 1 planned down = 3 operations, 2 done
        self.assertEqual((event["result"], event["count"], event["succeeded"], event["failed"]),
                         ("partial", 3, 2, 1))

    def test_replace_at_max_only_takes_the_unhealthy_nodes_down(self):
        nodes = [n["name"] for n in self._grow(2)]
        self.action("asg_update", name="web", min=1, max=2)
        self.sick(nodes[1])
        lease_id = self.replace_lease(0)
        ex = self.runner.run("autoscale.replace", {"name": "web", "count": 0, "remove": 1,
                                                   "lease_id": lease_id})
        self.assertTrue(ex.succeeded, (ex.result, self.failures()))
        self.assertEqual(ex.result["output"]["removed"], [nodes[1]])
        self.assertNotIn("node_up", [a for a, _ in self.children("replace")])
        self.assertEqual(list(self.nodes()), [nodes[0]])
        self.assertEqual(self.leases(), [])

    def test_replace_below_min_healthy_keeps_the_unhealthy_node(self):
        # node_pick's guard: 1 healthy + 1 new < min_healthy 3, so the
        # unhealthy node (which may still serve some load) stays
        nodes = [n["name"] for n in self._grow(2)]
        self.action("asg_update", name="web", min_healthy=3)
        self.sick(nodes[0])
        lease_id = self.replace_lease(1)
        ex = self.runner.run("autoscale.replace", {"name": "web", "count": 1, "remove": 1,
                                                   "lease_id": lease_id})
        self.assertTrue(ex.succeeded, (ex.result, self.failures()))
        out = ex.result["output"]
        self.assertEqual((len(out["added"]), out["removed"], out["result"]), (1, [], "success"))
        self.assertEqual(self.nodes()[nodes[0]]["state"], "active")
        self.assertEqual(len(self.nodes()), 3)
        self.assertNotIn("node_down", [a for a, _ in self.children("replace")])
        self.assertEqual(self.leases(), [])
        done = [e for e in self.runner.log if e.ref == "autoscale.notify"][-1]
        self.assertEqual((done.params["event"], done.params["count"]), ("replace_done", 0))

    def test_replace_whose_node_down_fails_fails_and_still_records_and_releases(self):
        nodes = [n["name"] for n in self._grow(2)]
        self.sick(nodes[0])
        lease_id = self.replace_lease(1)

        def lb_refuses(params):  # the load balancer will not drain it
            return "failed", {"stdout": {"error": {"code": "lb_error", "message": "no"}},
                              "stderr": "", "return_code": 1, "succeeded": False,
                              "failed": True}
        stubbed = st2lite.Runner(self.pack, self.env, trace=self._trace,
                                 stubs={"autoscale.lb_remove": lb_refuses})
        ex = stubbed.run("autoscale.replace", {"name": "web", "count": 1, "remove": 1,
                                               "lease_id": lease_id})
        self.assertEqual(ex.status, "failed")
        out = ex.result["output"]
        self.assertEqual((len(out["added"]), out["removed"], out["result"]),
                         (1, [], "partial"))
        # a machine still in the LB is never destroyed: it stays, draining
        self.assertEqual(self.nodes()[nodes[0]]["state"], "draining")
        self.assertEqual(len(self.machines()), 3)
        self.assertEqual(self.leases(), [])
        [event] = self.replace_event(lease_id)
        self.assertEqual((event["result"], event["succeeded"], event["failed"]), ("partial", 1, 1))

    def test_governor_trigger_runs_replace_through_the_rule(self):
        nodes = [n["name"] for n in self._grow(2)]
        self.sick(nodes[0])
        d = self.lease()
        self.assertEqual((d["action"], d["count"], d["remove"]), ("replace", 1, 1), d)
        reactor = st2lite.Reactor(self.runner)
        execs = reactor.fire("autoscale.replace", {"asg": "web", "count": d["count"],
                                                   "remove": d["remove"], "reason": d["reason"],
                                                   "lease_id": d["lease_id"]})
        self.assertEqual([e.ref for e in execs], ["autoscale.replace"])
        self.assertTrue(execs[0].succeeded, (execs[0].result, self.failures()))
        self.assertEqual(execs[0].params["remove"], 1)
        self.assertNotIn(nodes[0], self.nodes())
        self.assertEqual(len(self.nodes()), 2)
        self.assertEqual(self.leases(), [])
        self.assertEqual(self.lease_free_decision(), "none")

    def test_the_sensor_replaces_an_unhealthy_node_through_the_rule_once(self):
        """As st2 runs it: the governor sensor's poll (the real governor_tick)
        dispatches autoscale.replace, st2lite's sensor service checks the
        payload against the declared trigger type, the rule runs the
        workflow; the lease keeps the next polls from dispatching again."""
        from unittest import mock
        nodes = [n["name"] for n in self._grow(2)]
        self.sick(nodes[0])
        reactor = st2lite.Reactor(self.runner)
        with mock.patch.dict(os.environ, self.env):  # the sensor's tick reads the same store
            sensor = reactor.load_sensor("GovernorSensor", os.path.join(ROOT, "tests", "sensor"))
            sensor.poll()
            sensor.poll()  # the lease is held: nothing more
            dispatched = [t for t, _ in sensor.sensor_service.dispatched]
            self.assertEqual(dispatched, ["autoscale.replace"])
            self.assertEqual(sensor.sensor_service.dropped, [])
            [ex] = reactor.handle_pending()
            self.assertEqual(ex.ref, "autoscale.replace")
            self.assertTrue(ex.succeeded, (ex.result, self.failures()))
            self.assertEqual(ex.result["output"]["removed"], [nodes[0]])
            sensor.poll()  # healed, lease released: nothing to replace
        self.assertNotIn("autoscale.replace", [t for t, _ in sensor.sensor_service.dispatched][1:])
        self.assertEqual(sorted(n["state"] for n in self.nodes().values()), ["active", "active"])
        self.assertNotIn(nodes[0], self.nodes())

    def test_notice_trigger_runs_notify_through_the_rule(self):
        self.group()
        reactor = st2lite.Reactor(self.runner)
        [ex] = reactor.fire("autoscale.notice", {"asg": "web", "event": "capacity_exhausted",
                                                 "reason": "critical alert at max 5", "count": 5})
        self.assertEqual(ex.ref, "autoscale.notify")
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual({k: ex.params[k] for k in ("name", "event", "reason")},
                         {"name": "web", "event": "capacity_exhausted",
                          "reason": "critical alert at max 5"})
        # the notice is about the group: no "N nodes" as if some were added
        self.assertIsNone(ex.params["count"])

    # ---- rules and policies ----
    def test_governor_trigger_runs_scale_out_through_the_rule(self):
        self.group(min=1, max=3)
        d = self.lease()
        reactor = st2lite.Reactor(self.runner)
        execs = reactor.fire("autoscale.scale_out", {"asg": "web", "count": d["count"],
                                                     "reason": d["reason"],
                                                     "lease_id": d["lease_id"]})
        self.assertEqual([e.ref for e in execs], ["autoscale.scale_out"])
        self.assertTrue(execs[0].succeeded, execs[0].result)
        self.assertEqual(execs[0].params["lease_id"], d["lease_id"])
        self.assertEqual(len(self.nodes()), 1)

    def test_one_operation_per_group_at_a_time_but_groups_in_parallel(self):
        for g in ("web", "api"):
            self.group(name=g, min=0, max=4)
        runs = [("web", "000000000000-scale_out-0000000a"),
                ("web", "000000000000-scale_out-0000000b"),
                ("api", "000000000000-scale_out-0000000c")]
        threads = [threading.Thread(target=self.runner.run, args=(
            "autoscale.scale_out", {"name": g, "count": 1, "lease_id": lease}))
            for g, lease in runs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        web = sorted((e for e in self.runner.log if e.ref == "autoscale.scale_out"
                      and e.params["name"] == "web"), key=lambda e: e.started)
        self.assertEqual(len(web), 2)
        self.assertLessEqual(web[0].ended, web[1].started,
                             "two scale_outs of one group overlapped")
        self.assertNotEqual(self.runner.policy_keys("autoscale.scale_out", {"name": "web"}),
                            self.runner.policy_keys("autoscale.scale_out", {"name": "api"}))
        for ref in ("autoscale.scale_in", "autoscale.asg_delete", "autoscale.replace"):
            self.assertEqual(len(self.runner.policy_keys(ref, {"name": "web"})), 1, ref)


if __name__ == "__main__":
    unittest.main()
