"""The asg_refresh workflow (rolling refresh) on tests/st2lite, with the real
C actions, the embedded datastore, the local compute provider and a real
HAProxy (demo/servers.py), as tests/workflows/test_workflows.py runs the
other workflows. Between the steps, st2lite's trace samples HAProxy's own
view of the backend, so "capacity never below the group's size" is checked
as the load balancer saw it, not as the store says.

Image B "failing" is a build whose app does not serve /health: while the
file $AUTOSCALE_TEST_BROKEN exists, a machine runs python3's http.server
(404 on /health, for HAProxy's check and the group's HTTP probe alike)
instead of the demo app. The tests create and remove that file at chosen
points of the run through the trace (synchronous with the workflow), so
nothing depends on timing.

The actions come from AUTOSCALE_BIN_DIR when it is set (make check sets it
to the build tree under test), else from actions/bin.
Run: python3 -m unittest tests/workflows/test_refresh.py"""
import json
import os
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "demo"))

import st2lite  # noqa: E402
from st2lite.aliases import Aliases  # noqa: E402
from servers import Servers, free_port, wait_for  # noqa: E402

# The machine of image B is broken while the flag file exists.
MACHINE = """#!/bin/sh
[ -e "$AUTOSCALE_TEST_BROKEN" ] && exec /usr/bin/python3 -m http.server --bind "$2" "$3"
exec "$1/demo_app" --listen="$2:$3" --name="$4"
"""


def pack_root(work):
    """ROOT, or a copy made of links whose actions/bin is AUTOSCALE_BIN_DIR
    (the shape demo/lifecycle.py uses for AUTOSCALE_DEMO_BIN_DIR)."""
    bin_dir = os.environ.get("AUTOSCALE_BIN_DIR")
    if not bin_dir or os.path.realpath(bin_dir) == os.path.realpath(
            os.path.join(ROOT, "actions", "bin")):
        return ROOT
    shadow = os.path.join(work, "pack")
    os.makedirs(os.path.join(shadow, "actions"))
    for entry in os.listdir(ROOT):
        if entry != "actions":
            os.symlink(os.path.join(ROOT, entry), os.path.join(shadow, entry))
    for entry in os.listdir(os.path.join(ROOT, "actions")):
        if entry != "bin":
            os.symlink(os.path.join(ROOT, "actions", entry),
                       os.path.join(shadow, "actions", entry))
    os.symlink(os.path.abspath(bin_dir), os.path.join(shadow, "actions", "bin"))
    return shadow


class RefreshTest(unittest.TestCase):
    SIZE = 3

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="as-refresh-")
        self.root = pack_root(self.dir)
        self.servers = Servers(self.dir)
        self.servers.start_haproxy("web")
        machine = os.path.join(self.dir, "machine.sh")
        with open(machine, "w") as f:
            f.write(MACHINE)
        os.chmod(machine, 0o755)
        self.broken = os.path.join(self.dir, "broken")
        self.config = {"compute_provider": "local",
                       "local_dir": os.path.join(self.dir, "local"),
                       "local_port": free_port(), "local_grace_ms": 300,
                       "lb_drain_timeout": 2, "lb_check_timeout": 5,
                       "haproxy_socket": self.servers.haproxy_socket,
                       "local_command": f"{machine} {{bin}} {{address}} {{port}} {{name}}"}
        self.env = {"AUTOSCALE_DB": os.path.join(self.dir, "db"),
                    "XDG_STATE_HOME": os.path.join(self.dir, "state"),
                    "AUTOSCALE_TEST_BROKEN": self.broken}
        self.samples = []      # (ref, event, servers UP in HAProxy)
        self.on_end = []       # fn(execution) called at each execution's end
        self.sleeps = []
        self.sleep = self.sleeps.append
        self.runner = self.new_runner()

    def new_runner(self, **kw):
        pack = st2lite.Pack(self.root, self.config)
        return st2lite.Runner(pack, self.env, trace=self._trace, sleep=self._sleep, **kw)

    def _sleep(self, seconds):
        self.sleep(seconds)

    def tearDown(self):
        try:
            if os.path.exists(self.env["AUTOSCALE_DB"]):
                runner = self.new_runner()  # without a test's stubs
                runner.run("autoscale.lease_release", {"name": "web"})
                runner.run("autoscale.asg_delete", {"name": "web"})
        finally:
            self.kill_leftover_machines()
            self.servers.stop_all()
            shutil.rmtree(self.dir, ignore_errors=True)

    def kill_leftover_machines(self):
        """A machine asg_delete could not remove is a process still running:
        kill it, if its pid is still that process (start time, as the local
        provider checks it)."""
        local = self.config["local_dir"]
        for f in os.listdir(local) if os.path.isdir(local) else []:
            if not f.endswith(".json"):
                continue
            try:
                with open(os.path.join(local, f)) as fh:
                    m = json.load(fh)
                with open(f"/proc/{m['pid']}/stat") as fh:
                    started = int(fh.read().rsplit(")", 1)[1].split()[19])
                if started == int(m["start_time"]):
                    os.kill(m["pid"], signal.SIGKILL)
            except (OSError, ValueError, KeyError, IndexError):
                pass

    def _trace(self, ex, event):
        ref = ex.ref.split(".", 1)[1]
        if self.sampling:
            status = self.servers.haproxy_status("web")
            self.samples.append((ref, event, sum(1 for s in status.values()
                                                 if s.startswith("UP"))))
        if event == "end":
            for fn in list(self.on_end):
                fn(ex)

    sampling = False

    # ---- helpers ----
    def action(self, _action, **params):
        ex = self.runner.run(f"autoscale.{_action}", params)
        return ex.result["stdout"] if ex.result and "stdout" in ex.result else ex.result

    def record(self, key):
        with sqlite3.connect(self.env["AUTOSCALE_DB"]) as db:
            row = db.execute("SELECT value FROM kv WHERE name = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key, value, expires_at=None):
        with sqlite3.connect(self.env["AUTOSCALE_DB"]) as db:
            db.execute("INSERT OR REPLACE INTO kv(name, value, expires_at) VALUES (?, ?, ?)",
                       (key, json.dumps(value), expires_at))

    def delete(self, key):
        with sqlite3.connect(self.env["AUTOSCALE_DB"]) as db:
            db.execute("DELETE FROM kv WHERE name = ?", (key,))

    def keys(self, prefix=""):
        with sqlite3.connect(self.env["AUTOSCALE_DB"]) as db:
            return sorted(r[0] for r in db.execute("SELECT name FROM kv")
                          if r[0].startswith(prefix))

    def nodes(self):
        """The node records as stored (spec_id and built_from included)."""
        return {k.rsplit(".", 1)[1]: self.record(k) for k in self.keys("autoscale.node.web.")}

    def machines(self):
        local = self.config["local_dir"]
        return sorted(f for f in os.listdir(local) if f.endswith(".json"))

    def failures(self):
        return [(e.ref, e.params.get("node"), (e.result or {}).get("stdout", e.result))
                for e in self.runner.log if not e.succeeded]

    def refresh_record(self):
        return self.record("autoscale.refresh.web")

    def build(self, image="img-a"):
        """A group of SIZE nodes built from `image`, every one UP in HAProxy."""
        ex = self.runner.run("autoscale.asg_create", {
            "name": "web", "min": self.SIZE, "max": self.SIZE + 3, "image": image,
            "lb_provider": "haproxy", "lb_backend": "web", "health_check_path": "/health"})
        self.assertTrue(ex.succeeded, (ex.result, self.failures()))
        nodes = self.nodes()
        self.assertEqual(len(nodes), self.SIZE)
        wait_for("every node UP in HAProxy", lambda: sorted(
            self.servers.haproxy_status("web").values()) == ["UP"] * self.SIZE)
        return nodes

    def refresh(self, **params):
        self.sampling = True
        try:
            ex = self.runner.run("autoscale.asg_refresh", dict({"name": "web"}, **params))
        finally:
            self.sampling = False
        return ex

    def children(self, ref):
        """The asg_refresh workflows' own `ref` executions."""
        return [e for e in self.runner.log if e.ref == f"autoscale.{ref}"
                and e.parent is not None and e.parent.ref == "autoscale.asg_refresh"]

    def events(self):
        return [e.params["event"] for e in self.children("notify")
                if e.params["event"].startswith("refresh_")]

    def assert_capacity_kept(self):
        during = [n for _, _, n in self.samples]
        self.assertTrue(during, "nothing was sampled")
        self.assertGreaterEqual(min(during), self.SIZE,
                                [s for s in self.samples if s[2] < self.SIZE])

    def when_ends(self, ref, check, then):
        """Once: at the end of the first `ref` execution for which check(ex)
        holds, call then() (before the workflow goes on)."""
        done = []

        def fn(ex):
            if not done and ex.ref == f"autoscale.{ref}" and check(ex):
                done.append(ex)
                then()
        self.on_end.append(fn)
        return done

    def touch_broken(self):
        open(self.broken, "w").close()

    def mend(self):
        os.unlink(self.broken)

    # ---- the tests ----
    def test_refresh_replaces_every_node_new_first_and_keeps_capacity(self):
        old = self.build()
        ex = self.refresh(image="img-b", health_timeout=30)
        self.assertTrue(ex.succeeded, (ex.result, self.failures()))
        out = ex.result["output"]
        rec = self.refresh_record()
        self.assertEqual((out["state"], out["replaced"], out["to_replace"], out["refresh_id"]),
                         ("succeeded", self.SIZE, self.SIZE, rec["id"]))
        nodes = self.nodes()
        self.assertEqual(len(nodes), self.SIZE)
        self.assertFalse(set(nodes) & set(old), "an old node is still there")
        self.assertEqual({n["spec_id"] for n in nodes.values()}, {rec["target"]})
        self.assertNotIn(rec["target"], {n["spec_id"] for n in old.values()})
        self.assertEqual({n["built_from"]["image"] for n in nodes.values()}, {"img-b"})
        self.assertEqual(len(self.machines()), self.SIZE)
        self.assert_capacity_kept()
        # each batch: new node(s) up and healthy before an old one is taken down
        order = [e.ref.split(".")[1] for e in self.runner.log
                 if e.parent is not None and e.parent.ref == "autoscale.asg_refresh"]
        first_down = order.index("node_down")
        self.assertLess(order.index("node_up"), first_down)
        self.assertLess(order.index("refresh_wait"), first_down)
        self.assertEqual(self.keys("autoscale.lease."), [], "the lease is still held")
        self.assertEqual(self.events(), ["refresh_done"])
        again = self.refresh()  # nothing left to replace
        self.assertTrue(again.succeeded, again.result)
        self.assertEqual(again.result["output"]["to_replace"], 0)
        self.assertEqual(sorted(self.nodes()), sorted(nodes))

    def test_a_batch_of_the_whole_group_brings_every_new_node_up_first(self):
        old = self.build()
        # min_healthy_percentage 0: one batch of 3 (max(1, 3 - ceil(0)))
        ex = self.refresh(image="img-b", min_healthy_percentage=0, health_timeout=30)
        self.assertTrue(ex.succeeded, (ex.result, self.failures()))
        self.assertEqual(ex.result["output"]["replaced"], self.SIZE)
        [wait] = self.children("refresh_wait")
        self.assertEqual(len(wait.params["nodes"].split(",")), self.SIZE)
        self.assertEqual(len(self.children("node_up")), self.SIZE)
        self.assertEqual(sorted(e.params["node"] for e in self.children("node_down")),
                         sorted(old))
        self.assertEqual(max(n for _, _, n in self.samples), 2 * self.SIZE)
        self.assert_capacity_kept()

    def test_an_old_node_that_will_not_go_stops_the_refresh(self):
        old = self.build()

        def lb_refuses(params):  # the load balancer will not drain the old node
            return "failed", {"stdout": {"error": {"code": "lb_error", "message": "no"}},
                              "stderr": "", "return_code": 1, "succeeded": False,
                              "failed": True}
        self.runner = self.new_runner(stubs={"autoscale.lb_remove": lb_refuses})
        ex = self.refresh(image="img-b", health_timeout=30)
        self.assertEqual(ex.status, "failed", ex.result)
        self.assertIn("taking old node(s) down failed", ex.result["output"]["message"])
        self.assertEqual(len(self.children("refresh_batch_done")), 1, "no second batch")
        nodes = self.nodes()
        self.assertEqual(len(nodes), self.SIZE + 1)  # the new one beside all the old
        self.assertTrue(set(old) <= set(nodes))
        self.assertEqual(self.keys("autoscale.lease."), [])
        self.assertEqual(self.events(), ["refresh_failed"])

    def test_through_chatops(self):
        self.build()
        chat = Aliases(self.runner)
        reply = chat.execute("asg refresh web image=img-b health_timeout=30")
        self.assertIsNone(reply.error)
        self.assertTrue(reply.execution.succeeded, (reply.execution.result, self.failures()))
        self.assertRegex(reply.ack, r"^refreshing group `web`, execution [0-9a-f]{24}$")
        self.assertEqual(reply.result.strip(),
                         ":white_check_mark: `web` refreshed: 3 of 3 node(s) replaced")
        reply = chat.execute("asg refresh web cancel")
        self.assertTrue(reply.execution.succeeded, reply.execution.result)
        self.assertEqual(reply.execution.params["cancel"], True)

    def test_a_checkpoint_pauses_and_the_next_run_resumes(self):
        old = self.build()
        ex = self.refresh(image="img-b", checkpoints="50", health_timeout=30)
        self.assertTrue(ex.succeeded, (ex.result, self.failures()))
        out = ex.result["output"]
        self.assertEqual(out["state"], "paused")
        self.assertTrue(0 < out["replaced"] < self.SIZE, out)
        self.assertGreaterEqual(out["replaced"] * 100, 50 * self.SIZE)
        self.assertEqual(len(set(old) & set(self.nodes())), self.SIZE - out["replaced"])
        self.assertEqual(self.keys("autoscale.lease."), [])
        self.assertEqual(self.events(), ["refresh_paused"])
        again = self.refresh(health_timeout=30)
        self.assertTrue(again.succeeded, (again.result, self.failures()))
        self.assertEqual((again.result["output"]["state"], again.result["output"]["refresh_id"]),
                         ("succeeded", out["refresh_id"]))
        nodes = self.nodes()
        self.assertFalse(set(nodes) & set(old))
        self.assertEqual({n["spec_id"] for n in nodes.values()},
                         {self.refresh_record()["target"]})
        self.assert_capacity_kept()
        self.assertEqual(self.events(), ["refresh_paused", "refresh_done"])

    def test_new_nodes_failing_health_with_stop_keep_every_old_node(self):
        old = self.build()
        self.touch_broken()
        ex = self.refresh(image="img-b", on_failure="stop", health_timeout=8)
        self.assertEqual(ex.status, "failed", ex.result)
        out = ex.result["output"]
        self.assertEqual((out["state"], out["replaced"]), ("failed", 0))
        self.assertIn("on_failure is stop", out["message"])
        nodes = self.nodes()
        self.assertEqual(sorted(nodes), sorted(old), "an old node went, or a broken one stayed")
        self.assertEqual({n["state"] for n in nodes.values()}, {"active"})
        self.assertEqual(len(self.machines()), self.SIZE)
        # Its HAProxy check (GET /health) never passes: lb_add gives it no
        # traffic and fails it, and its node_up takes it down again.
        [add] = [e for e in self.runner.log
                 if e.ref == "autoscale.lb_add" and e.status == "failed"]
        self.assertEqual(add.result["stdout"]["error"]["code"], "lb_unhealthy")
        self.assertNotIn(add.params["node"], nodes)
        self.assertEqual(self.children("refresh_wait"), [])
        self.assertEqual(self.refresh_record()["state"], "failed")
        self.assertEqual(self.keys("autoscale.lease."), [])
        self.assertEqual(self.events(), ["refresh_failed"])
        self.assert_capacity_kept()

    def test_new_nodes_failing_to_start_take_no_old_node_down(self):
        old = self.build()
        self.config["local_command"] = "false"  # image B's machines never start
        self.runner = self.new_runner()
        ex = self.refresh(image="img-b", on_failure="stop", health_timeout=8)
        self.assertEqual(ex.status, "failed", ex.result)
        self.assertEqual(ex.result["output"]["state"], "failed")
        self.assertEqual(sorted(self.nodes()), sorted(old))
        self.assertEqual(self.children("refresh_wait"), [], "no node came up to wait for")
        self.assertEqual(self.children("node_down"), [])
        self.assertEqual(self.keys("autoscale.lease."), [])

    def test_a_failed_batch_rolls_back_to_the_previous_spec(self):
        old = self.build()
        a_spec = {n["spec_id"] for n in old.values()}
        # the first batch of B is fine; B breaks from the second batch on,
        # and A works again once the refresh rolls back
        self.when_ends("refresh_batch_done",
                       lambda ex: ex.result["stdout"].get("do_next") == "continue",
                       self.touch_broken)
        rolled = self.when_ends("refresh_batch_done",
                                lambda ex: ex.result["stdout"].get("do_next") == "rollback",
                                self.mend)
        ex = self.refresh(image="img-b", batch=1, health_timeout=8)
        self.assertEqual(ex.status, "failed", (ex.result, self.failures()))
        self.assertTrue(rolled, "no batch said rollback")
        out = ex.result["output"]
        self.assertEqual(out["state"], "rolled_back")
        rec = self.refresh_record()
        self.assertEqual(rec["state"], "rolled_back")
        self.assertEqual({rec["target"]}, a_spec, "the target is not the previous spec")
        nodes = self.nodes()
        self.assertEqual(len(nodes), self.SIZE)
        self.assertEqual({n["spec_id"] for n in nodes.values()}, a_spec)
        self.assertEqual({n["built_from"]["image"] for n in nodes.values()}, {"img-a"})
        group = self.action("asg_get", name="web")["group"]
        self.assertEqual(group["image"], "img-a")
        self.assertEqual(len(self.machines()), self.SIZE)
        self.assertEqual(self.keys("autoscale.lease."), [])
        self.assertEqual(self.events(), ["refresh_rolling_back", "refresh_rolled_back"])
        self.assert_capacity_kept()

    def hold_lease(self):
        """Another operation's lease, as governor_tick takes it for a replace
        (lib/store/lease.c: the claim is the key itself in the embedded
        store)."""
        now = int(time.time())
        lease_id = "%012d-replace-%08x" % (now, int.from_bytes(os.urandom(4), "big"))
        self.put("autoscale.lease.web", {"id": lease_id, "op": "replace", "count": 1,
                                         "at": now, "expires_at": now + 600, "reason": "test"},
                 expires_at=now + 600)
        return lease_id

    def test_a_lease_held_by_another_operation_waits_then_proceeds(self):
        self.build()
        self.hold_lease()

        def sleep(seconds):  # the second wait: the other operation ends
            self.sleeps.append(seconds)
            if len(self.sleeps) == 2:
                self.delete("autoscale.lease.web")
        self.sleep = sleep
        ex = self.refresh(image="img-b", health_timeout=30)
        self.assertTrue(ex.succeeded, (ex.result, self.failures()))
        self.assertEqual(self.sleeps, [5, 5])
        steps = [e.result["stdout"]["do"] for e in self.children("refresh_step")]
        self.assertEqual(steps[:3], ["wait", "wait", "batch"])
        self.assertEqual(ex.result["output"]["replaced"], self.SIZE)
        self.assertEqual(self.keys("autoscale.lease."), [])

    def test_a_lease_never_released_fails_after_the_tries_and_cancel_ends_it(self):
        old = self.build()
        lease_id = self.hold_lease()
        ex = self.refresh(image="img-b")
        self.assertEqual(ex.status, "failed")
        self.assertIn("held the lease of the group through 60 tries",
                      ex.result["output"]["message"])
        self.assertEqual(len(self.sleeps), 60)
        self.assertEqual([e.result["stdout"]["do"] for e in self.children("refresh_step")],
                         ["wait"] * 61)
        self.assertEqual(sorted(self.nodes()), sorted(old), "nothing may change")
        self.assertEqual(self.record("autoscale.lease.web")["id"], lease_id)
        self.assertEqual(self.events(), ["refresh_failed"])
        self.delete("autoscale.lease.web")
        cancel = self.refresh(cancel=True)
        self.assertTrue(cancel.succeeded, (cancel.result, self.failures()))
        self.assertEqual(cancel.result["output"]["state"], "cancelled")
        self.assertEqual(self.refresh_record()["state"], "cancelled")
        self.assertEqual(sorted(self.nodes()), sorted(old))
        self.assertEqual(self.events(), ["refresh_failed", "refresh_cancelled"])

    def test_a_cancel_while_the_workflow_runs_ends_it_after_the_batch(self):
        old = self.build()

        def cancel():  # the operator's "asg refresh web cancel", between two batches
            ex = self.runner.run("autoscale.refresh_start", {"name": "web", "cancel": True})
            self.assertTrue(ex.succeeded, ex.result)
        self.when_ends("refresh_batch_done", lambda ex: True, cancel)
        ex = self.refresh(image="img-b", batch=1, health_timeout=30)
        self.assertTrue(ex.succeeded, (ex.result, self.failures()))
        out = ex.result["output"]
        self.assertEqual((out["state"], out["replaced"]), ("cancelled", 1))
        self.assertEqual(len(set(self.nodes()) & set(old)), self.SIZE - 1)
        self.assertEqual(len(self.nodes()), self.SIZE)
        self.assertEqual(self.keys("autoscale.lease."), [])
        self.assertEqual(self.events(), ["refresh_cancelled"])
        self.assert_capacity_kept()

    def test_a_refresh_already_running_is_refused_and_nothing_changes(self):
        old = self.build()
        self.hold_lease()
        first = self.refresh(image="img-b")  # gives up, the refresh still running
        self.assertEqual(first.status, "failed")
        self.delete("autoscale.lease.web")
        before = self.refresh_record()
        ex = self.refresh(image="img-c")
        self.assertEqual(ex.status, "failed")
        self.assertIn("refresh_start refused", ex.result["output"]["message"])
        self.assertEqual(self.refresh_record(), before)
        self.assertEqual(sorted(self.nodes()), sorted(old))
        self.assertEqual(self.action("asg_get", name="web")["group"]["image"], "img-b")

    def test_bad_input_is_refused_before_anything_runs(self):
        self.build()
        for params in ({"name": "web;reboot"}, {"name": "web", "checkpoints": "50;id"},
                       {"name": "web", "on_failure": "ignore"},
                       {"name": "web", "min_healthy_percentage": 101},
                       {"name": "web", "concurrency": 0}):
            with self.subTest(params=params):
                runs = len(self.runner.log)
                ex = self.runner.run("autoscale.asg_refresh", params)
                self.assertEqual(ex.status, "failed")
                self.assertIsNotNone(ex.refused)
                self.assertEqual(len(self.runner.log), runs + 1)
        self.assertIsNone(self.refresh_record())


class RefreshAliasTest(unittest.TestCase):
    """The ChatOps lines (aliases/asg_refresh.yaml, asg_refresh_cancel.yaml), as st2
    matches them and extracts their parameters."""

    def setUp(self):
        pack = st2lite.Pack(ROOT, {"compute_provider": "local"})
        self.chat = Aliases(st2lite.Runner(pack))

    def test_lines_and_the_parameters_st2_extracts(self):
        for line, want in {
                "asg refresh web": ("asg_refresh", {"name": "web"}),
                "asg refresh web image=img-b checkpoints=50":
                    ("asg_refresh", {"name": "web", "image": "img-b", "checkpoints": "50"}),
                "asg refresh web on_failure=stop": ("asg_refresh", {"name": "web",
                                                                "on_failure": "stop"}),
                "asg refresh web cancel": ("asg_refresh_cancel", {"name": "web", "cancel": True}),
                "asg refresh web cancel  ": ("asg_refresh_cancel", {"name": "web", "cancel": True}),
        }.items():
            with self.subTest(line=line):
                alias, params = self.chat.parameters(line)
                self.assertEqual((alias["name"], params), want)

    def test_lines_that_match_no_refresh(self):
        for line in ("asg refresh", "refresh web", "asg refresh  cancel"):
            with self.subTest(line=line):
                with self.assertRaises(ValueError):
                    self.chat.parameters(line)

    def test_a_result_message_for_each_ending(self):
        from st2lite.aliases import render_result
        alias = self.chat.aliases["asg_refresh"]

        class Ex:
            id, ref, live = "0" * 24, "autoscale.asg_refresh", {"name": "web"}

            def __init__(self, status, output):
                self.status, self.result = status, {"output": output}
        for status, state, want in (
                ("succeeded", "succeeded", ":white_check_mark: `web` refreshed: 3 of 3"),
                ("succeeded", "paused", ":double_vertical_bar: refresh of `web` paused"),
                ("failed", "rolled_back", ":x: asg refresh `web` failed (rolled_back, 3 of 3")):
            with self.subTest(state=state):
                text = render_result(alias, Ex(status, {"state": state, "replaced": 3,
                                                        "to_replace": 3, "refresh_id": "x",
                                                        "message": "m"}))
                self.assertIn(want, text)

    def test_cancel_cannot_be_overridden_in_chat(self):
        reply = self.chat.execute("asg refresh web cancel cancel=false")
        self.assertEqual(reply.error, "Immutable arguments cannot be overriden: cancel")


if __name__ == "__main__":
    unittest.main()
