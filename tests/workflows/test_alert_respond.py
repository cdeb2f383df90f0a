"""Acting on an alert at once (issue 17): the webhook rules run the
alert_respond workflow, which records the alert and runs the governor for
each group whose incident it opened or escalated (governor_tick act=true
react=true), then the scale_out or replace that tick leased, and its
notices. On tests/st2lite with the real C actions, the embedded datastore,
the local compute provider and the pack's own sensor (sensors/
governor_sensor.py, through the st2 stand-ins of tests/sensor), as
tests/workflows/test_workflows.py and demo/lifecycle.py run them.

The key property: an alert and a sensor tick at the same instant start
exactly one operation. Raced for real, ROUNDS times: one thread posts the
webhook, another runs the sensor's poll, released together by a barrier.

The actions come from AUTOSCALE_BIN_DIR when it is set, else actions/bin.
Run: python3 -m unittest tests/workflows/test_alert_respond.py"""
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# rig.py, the st2lite rig, puts tests/ (st2lite) and demo/ (servers) on sys.path.
from rig import ROOT, kill_machine, start_st2  # noqa: E402
import st2lite  # noqa: E402
from servers import free_port  # noqa: E402

URL = "autoscale/alert"  # rules/alert_webhook.yaml
ROUNDS = 30
T0 = 1800000000  # AUTOSCALE_TEST_NOW where a test needs exact cooldowns


def alert(group, state="open", severity="critical", id="c1"):
    body = {"asg": group, "state": state, "id": id}
    if severity:
        body["severity"] = severity
    return body


class AlertRespondTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="as-react-")
        self.on_start = None  # fn(execution) at each execution's start
        # The sensor runs governor_tick in this process's environment.
        start_st2(self, {"compute_provider": "local",
                         "local_dir": os.path.join(self.dir, "local"),
                         "local_port": free_port(), "local_grace_ms": 300,
                         "lb_drain_timeout": 2}, self._trace)
        self.sensor = self.reactor.load_sensor(
            "GovernorSensor", os.path.join(ROOT, "tests", "sensor"))
        self.ticks = []  # every document the sensor's governor_tick printed
        tick = self.sensor._tick

        def keeping():
            doc = tick()
            self.ticks.append(doc)
            return doc
        self.sensor._tick = keeping

    def _trace(self, ex, event):
        if event == "start" and self.on_start:
            self.on_start(ex)

    def tearDown(self):
        self.kill_machines()
        shutil.rmtree(self.dir, ignore_errors=True)

    def kill_machines(self):
        """Every machine the local provider started (a process each)."""
        local = self.config["local_dir"]
        for f in os.listdir(local) if os.path.isdir(local) else []:
            try:
                with open(os.path.join(local, f)) as fh:
                    m = json.load(fh)
            except (OSError, ValueError):
                continue
            kill_machine(m)

    # ---- helpers ----
    def now(self, t):
        """Pin the clock of every action and of the sensor's tick."""
        self.env["AUTOSCALE_TEST_NOW"] = os.environ["AUTOSCALE_TEST_NOW"] = str(t)

    def group(self, name="web", **spec):
        ex = self.runner.run("autoscale.asg_define", dict({"min": 0, "max": 5}, **spec,
                                                          name=name))
        self.assertTrue(ex.succeeded, ex.result)

    def post(self, body):
        [ex] = self.reactor.webhook(URL, body)
        self.assertEqual(ex.ref, "autoscale.alert_respond")
        return ex

    def runs(self, ref, group=None, since=0):
        return [e for e in self.runner.log[since:] if e.ref == f"autoscale.{ref}"
                and (group is None or e.params.get("name") == group)]

    def keys(self, prefix):
        with sqlite3.connect(self.env["AUTOSCALE_DB"]) as db:
            return [r[0] for r in db.execute("SELECT name FROM kv WHERE name LIKE ?",
                                             (prefix + "%",))]

    def nodes(self, group="web"):
        ex = self.runner.run("autoscale.node_list", {"name": group})
        return ex.result["stdout"]["nodes"]

    def react_decisions(self, ex):
        return ex.result["output"]["decisions"]

    # ---- reacting ----
    def test_critical_alert_scales_out_at_once(self):
        self.group(min=0, max=4, scale_out_step=2)
        ex = self.post(alert("web"))
        self.assertTrue(ex.succeeded, ex.result)
        out = ex.result["output"]
        self.assertEqual(out["reacted"], ["web"])
        [d] = out["decisions"]
        self.assertEqual((d["action"], d["count"]), ("scale_out", 2))
        # no sensor poll ran: the workflow itself started the scale-out
        self.assertEqual(self.ticks, [])
        [so] = self.runs("scale_out", "web")
        self.assertTrue(so.succeeded, so.result)
        self.assertEqual(so.params["lease_id"], d["lease_id"])
        self.assertEqual(so.result["output"]["succeeded"], 2)
        self.assertEqual(len(self.nodes()), 2)
        # the lease taken once, released by scale_out's scaling_record
        self.assertEqual(len([t for t in self.runs("governor_tick")
                              if any(x["lease_id"] for x in t.result["stdout"]["decisions"])]), 1)
        self.assertEqual(self.keys("autoscale.lease."), [])
        self.assertEqual(len(self.keys("autoscale.event.web.")), 1)
        # the tick's notice went out here, as notify_notice would send it
        self.assertEqual([(n.params["name"], n.params["event"]) for n in self.runs("notify")
                          if n.parent and n.parent.ref == "autoscale.alert_respond"],
                         [("web", "alert_opened")])
        # and the sensor's next poll has nothing more to start or tell
        self.sensor.poll()
        self.assertEqual(self.sensor.sensor_service.dispatched, [])

    def test_each_webhook_rule_runs_alert_respond(self):
        self.group(min=0, max=1)
        for url in ("autoscale/newrelic", "autoscale/alertmanager", "autoscale/alert"):
            with self.subTest(url=url):
                [ex] = self.reactor.webhook(url, {"unrelated": True})
                self.assertEqual(ex.ref, "autoscale.alert_respond")
        intake = self.pack.action("autoscale.alert_intake")["parameters"]
        respond = self.pack.action("autoscale.alert_respond")["parameters"]
        self.assertEqual(respond, intake)

    def test_warning_then_critical_escalation_reacts(self):
        self.group(min=0, max=5, warning_step=1, scale_out_step=2, scale_out_cooldown=0)
        ex = self.post(alert("web", severity="warning"))
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual([(d["action"], d["count"]) for d in self.react_decisions(ex)],
                         [("scale_out", 1)])
        since = len(self.runner.log)
        ex = self.post(alert("web", severity="critical"))
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual([e["change"] for e in ex.result["output"]["intake"]["events"]],
                         ["escalated"])
        self.assertEqual([(d["action"], d["count"]) for d in self.react_decisions(ex)],
                         [("scale_out", 2)])
        self.assertEqual(len(self.runs("scale_out", "web", since)), 1)
        self.assertEqual(len(self.nodes()), 3)

    def test_duplicate_alert_or_one_in_cooldown_dispatches_nothing(self):
        self.group(min=0, max=5, scale_out_step=1, scale_out_cooldown=600)
        self.assertTrue(self.post(alert("web")).succeeded)
        self.assertEqual(len(self.runs("scale_out")), 1)
        history = len(self.keys("autoscale.history.web."))

        since = len(self.runner.log)
        ex = self.post(alert("web"))  # the same alert again
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual([e["change"] for e in ex.result["output"]["intake"]["events"]],
                         ["duplicate"])
        self.assertEqual(ex.result["output"]["reacted"], [])
        self.assertEqual(self.runs("governor_tick", since=since), [])

        # another alert opening on the group in its cooldown: the tick runs
        # and decides none, which a react tick leaves for the sensor
        ex = self.post(alert("web", id="c2", severity="warning"))
        self.assertTrue(ex.succeeded, ex.result)
        if ex.result["output"]["reacted"]:
            [d] = self.react_decisions(ex)
            self.assertEqual((d["action"], d["lease_id"]), ("none", None))
        self.assertEqual(self.runs("scale_out", since=since), [])
        self.assertEqual(self.runs("notify", since=since), [])
        self.assertEqual(self.keys("autoscale.lease."), [])
        self.assertEqual(len(self.keys("autoscale.history.web.")), history)

    def test_recovery_dispatches_nothing_until_the_sensor_scales_in(self):
        self.now(T0)
        self.group(min=1, max=5, scale_out_step=2, scale_in_step=1, scale_in_cooldown=900)
        self.assertTrue(self.post(alert("web")).succeeded)
        self.assertEqual(len(self.nodes()), 2)
        self.now(T0 + 60)
        since = len(self.runner.log)
        ex = self.post(alert("web", state="closed", severity=None))
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual([e["change"] for e in ex.result["output"]["intake"]["events"]],
                         ["closed"])
        self.assertEqual(ex.result["output"]["reacted"], [])
        self.assertEqual([e.ref for e in self.runner.log[since:] if e.ref != "core.noop"
                          and e.parent is not None and e.parent.id == ex.id],
                         ["autoscale.alert_intake"])
        self.sensor.poll()  # within the cooldown: nothing yet
        self.assertEqual([t for t, _ in self.sensor.sensor_service.dispatched
                          if t != "autoscale.notice"], [])
        self.now(T0 + 60 + 900)
        self.sensor.poll()
        self.assertEqual([(t, p["count"]) for t, p in self.sensor.sensor_service.dispatched
                          if t != "autoscale.notice"], [("autoscale.scale_in", 1)])

    def test_deferred_intake_reacts_to_nothing(self):
        # alert_intake.sh's answer while alert_event is not built on this
        # host: the alert kept for the sensor, no events.
        self.group(min=0, max=2)
        runner = st2lite.Runner(self.pack, self.env, stubs={
            "autoscale.alert_intake": lambda p: {
                "succeeded": True,
                "stdout": {"deferred": True, "key": "autoscale.pending_alert.x",
                           "ttl": 604800, "changed": 0, "events": [],
                           "message": "not built"}}})
        ex = runner.run("autoscale.alert_respond", {"body": json.dumps(alert("web"))})
        self.assertTrue(ex.succeeded, ex.result)
        self.assertTrue(ex.result["output"]["intake"]["deferred"])
        self.assertEqual(ex.result["output"]["reacted"], [])
        self.assertEqual([e.ref for e in runner.log
                          if e.parent is not None and e.ref != "core.noop"],
                         ["autoscale.alert_intake"])
        self.assertEqual(self.keys("autoscale.lease."), [])

    def test_a_scale_out_that_fails_leaves_the_group_free(self):
        # No machine can start: scale_out fails after its scaling_record
        # released the lease; the release then finds none (released false)
        # and alert_respond fails, as the scale_out did.
        self.config["local_command"] = "false"
        self.pack = st2lite.Pack(self.pack.root, self.config)
        self.runner = st2lite.Runner(self.pack, self.env)
        self.reactor = st2lite.Reactor(self.runner)
        self.group(min=0, max=2, scale_out_step=1)
        ex = self.post(alert("web"))
        self.assertEqual(ex.status, "failed")
        [so] = self.runs("scale_out", "web")
        self.assertEqual(so.status, "failed")
        [rel] = self.runs("lease_release", "web")
        self.assertTrue(rel.succeeded, rel.result)
        self.assertEqual(rel.params["lease_id"], so.params["lease_id"])
        self.assertFalse(rel.result["stdout"]["released"])
        self.assertEqual(self.keys("autoscale.lease."), [])
        self.assertEqual(len(self.keys("autoscale.event.web.")), 1)

    def test_a_scale_out_that_never_ran_releases_its_lease(self):
        # The scale_out execution fails before its workflow does anything
        # (as when st2 cannot start it): the lease it was given is still
        # held, and alert_respond releases exactly that one.
        self.group(min=0, max=2, scale_out_step=1)
        runner = st2lite.Runner(self.pack, self.env)
        real = runner._run_workflow

        def run_workflow(ex, meta):
            if ex.ref == "autoscale.scale_out":
                ex.status, ex.result = "failed", {"error": "could not start"}
                return
            real(ex, meta)
        runner._run_workflow = run_workflow
        ex = runner.run("autoscale.alert_respond", {"body": json.dumps(alert("web"))})
        self.assertEqual(ex.status, "failed")
        [d] = ex.result["output"]["decisions"]
        self.assertTrue(d["lease_id"])
        rels = [e for e in runner.log if e.ref == "autoscale.lease_release"]
        self.assertEqual([(e.params["lease_id"], e.result["stdout"]["released"]) for e in rels],
                         [(d["lease_id"], True)])
        self.assertEqual(self.keys("autoscale.lease."), [])

    def test_a_failed_tick_fails_the_workflow_and_starts_nothing(self):
        # governor_tick failing (a datastore down) gives its own leases back
        # (governor_tick.h): nothing is left to run, and the alert's
        # execution says it failed.
        self.group(min=0, max=2, scale_out_step=1)
        runner = st2lite.Runner(self.pack, self.env, stubs={
            "autoscale.governor_tick": lambda p: ("failed", {
                "succeeded": False, "failed": True, "return_code": 1,
                "stdout": {"error": {"code": "datastore_unavailable",
                                     "message": "the datastore did not answer"}}})})
        ex = runner.run("autoscale.alert_respond", {"body": json.dumps(alert("web"))})
        self.assertEqual(ex.status, "failed")
        self.assertEqual(ex.result["output"]["reacted"], ["web"])
        self.assertEqual(ex.result["output"]["decisions"], [])
        self.assertEqual([e.ref for e in runner.log if e.ref not in (
            "autoscale.alert_respond", "autoscale.alert_intake", "autoscale.governor_tick",
            "core.noop")], [])

    # ---- THE race ----
    def test_alert_and_concurrent_sensor_tick_start_exactly_one_operation(self):
        won = {"react": 0, "sensor": 0}
        for i in range(ROUNDS):
            g = f"race-{i}"
            self.group(name=g, min=1, max=3, scale_out_step=1)
            svc = self.sensor.sensor_service
            svc.dispatched.clear()
            ticks_before, log_before = len(self.ticks), len(self.runner.log)
            barrier = threading.Barrier(2, timeout=120)  # a hang fails, not blocks
            polled, posted = threading.Event(), threading.Event()
            result = {}
            # Even rounds: the webhook and the poll start together, so the
            # sensor's tick meets the alert being recorded (before or
            # after). Odd rounds: the poll starts as the alert's own
            # governor_tick starts, both ticks deciding the same state.
            at_tick = i % 2 == 1

            def meet(ex, g=g, at_tick=at_tick, barrier=barrier, polled=polled):
                mine = ex.parent is not None and ex.parent.ref == "autoscale.alert_respond" \
                    and g in ex.parent.params.get("body", "")
                if mine and at_tick and ex.ref == "autoscale.governor_tick":
                    barrier.wait()
                # Whichever side won, its operation starts only once both
                # ticks have decided: the lease is still held when the loser
                # looks, so the loser can only say lease_held (a loser that
                # looked after the whole scale-out would see a cooldown,
                # which is right too, but a weaker test).
                if mine and ex.ref == "autoscale.scale_out":
                    self.assertTrue(polled.wait(120))
            self.on_start = meet

            def webhook():
                if not at_tick:
                    barrier.wait()
                try:
                    [result["ex"]] = self.reactor.webhook(URL, alert(g))
                finally:
                    posted.set()

            def poll():
                barrier.wait()
                try:
                    self.sensor.poll()
                finally:
                    polled.set()
                # the scale_out rule runs the sensor's trigger once the
                # alert's own workflow is done, for the same reason
                posted.wait(120)
                result["rules"] = self.reactor.handle_pending()

            threads = [threading.Thread(target=webhook), threading.Thread(target=poll)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            ex = result["ex"]
            self.assertTrue(ex.succeeded, (i, ex.result))
            scale_outs = self.runs("scale_out", g, log_before)
            self.assertEqual(len(scale_outs), 1, (i, [s.parent for s in scale_outs]))
            self.assertTrue(scale_outs[0].succeeded, (i, scale_outs[0].result))
            self.assertEqual(len(self.keys(f"autoscale.event.{g}.")), 1, i)
            self.assertEqual(self.keys(f"autoscale.lease.{g}"), [], i)
            [react] = [d for d in ex.result["output"]["decisions"] if d["group"] == g]
            [tick] = self.ticks[ticks_before:]
            [sensor] = [d for d in tick["decisions"] if d["group"] == g]
            if react["lease_id"]:
                won["react"] += 1
                self.assertEqual((sensor["action"], sensor["code"]), ("none", "lease_held"), i)
                self.assertIsNotNone(scale_outs[0].parent, i)
            else:
                won["sensor"] += 1
                self.assertIsNotNone(sensor["lease_id"], i)
                self.assertEqual((react["action"], react["code"]), ("none", "lease_held"), i)
                self.assertIsNone(scale_outs[0].parent, i)  # run by the scale_out rule
                self.assertEqual(scale_outs[0].params["lease_id"], sensor["lease_id"], i)
        self.on_start = None
        self.assertEqual(won["react"] + won["sensor"], ROUNDS)
        print(f"\nrace: alert's tick took the lease in {won['react']} of {ROUNDS} rounds, "
              f"the sensor's in {won['sensor']}", file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
