"""`make demo` end to end: run demo/lifecycle.py as the README says, then
check what it claims without trusting it: its exit status and closing line,
that the executions it made follow the workflows' step order, that the
self-healing phase replaced the killed and the sick node (new ones up
before either went down) with no failed request, a history and Slack
messages that name them, that target tracking scaled out by its formula
on the request rate a real Prometheus read from HAProxy and came back to
min, that the rolling refresh replaced every node by one of the new spec,
neither with a failed request, and, looking at the servers and stores directly,
that nothing of the group is left: no node process, no DNS record in
PowerDNS's own database, no HAProxy server, no datastore key.
Run: python3 -m unittest tests/demo/test_demo.py"""
import json
import math
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from st2lite.graph import success_path  # noqa: E402


def haproxy(sock, command):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(sock)
        s.sendall(command.encode() + b"\n")
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out.decode()


class DemoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="as-demo-test-")
        env = dict(os.environ, AUTOSCALE_DEMO_DIR=cls.work, AUTOSCALE_DEMO_KEEP="1")
        proc = subprocess.run(["sh", os.path.join(ROOT, "scripts", "demo.sh")], env=env,
                              capture_output=True, text=True, timeout=300)
        cls.rc, cls.out = proc.returncode, proc.stdout + proc.stderr
        with open(os.path.join(cls.work, "summary.json")) as f:
            cls.summary = json.load(f)
        with open(os.path.join(cls.work, "servers.json")) as f:
            cls.servers = json.load(f)

    @classmethod
    def tearDownClass(cls):
        for pid in cls.servers["pids"].values():
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        subprocess.run(["rm", "-rf", cls.work])

    def test_demo_passes_every_phase(self):
        self.assertEqual(self.rc, 0, self.out[-3000:])
        self.assertIn("demo: all eight phases passed", self.out)
        for phase in range(8):
            self.assertIn(f"== phase {phase}:", self.out)

    def test_scaled_to_max_then_back_to_min_with_every_node_serving(self):
        p = self.summary["phases"]
        self.assertEqual(len(p["create"]["active"]), 2)
        self.assertEqual(len(p["alert"]["active"]), 6)
        self.assertEqual(p["alert"]["serving"], p["alert"]["active"])
        self.assertEqual(len(p["alert"]["dns"]), 6)
        self.assertEqual(len(p["recovered"]["active"]), 2)
        self.assertEqual(p["recovered"]["serving"], p["recovered"]["active"])
        # scale-in removed nodes: the two left are among those of the peak
        # (as it was once healed)
        self.assertTrue(set(p["recovered"]["active"]) <= set(p["healed"]["active"]))

    def test_self_healing_replaced_both_nodes_and_no_request_failed(self):
        h, p = self.summary["heal"], self.summary["phases"]
        self.assertNotEqual(h["killed"], h["sick"])
        self.assertTrue({h["killed"], h["sick"]} <= set(p["alert"]["active"]))
        self.assertGreater(h["traffic"]["made"], 0)
        self.assertEqual(h["traffic"]["failed"], 0, h["traffic"]["errors"])
        # the client was answered by the survivors throughout
        self.assertTrue(set(h["traffic"]["by_node"]) - {h["killed"], h["sick"]})
        healed = p["healed"]
        self.assertEqual(len(healed["active"]), 6)
        self.assertFalse({h["killed"], h["sick"]} & set(healed["active"]))
        self.assertEqual(healed["serving"], healed["active"])
        self.assertEqual(len(healed["dns"]), 6)

    def test_replace_workflow_brought_new_nodes_up_before_taking_any_down(self):
        execs = self.summary["executions"]
        runs = [e for e in execs if e["ref"] == "autoscale.replace"]
        self.assertGreaterEqual(len(runs), 1)
        self.assertTrue(all(r["parent"] is None and r["status"] == "succeeded" for r in runs))
        downed = set()
        for run in runs:
            got = [c for c in execs if c["parent"] == run["id"]
                   and not c["ref"].startswith("core.")]
            refs = [c["ref"].split(".", 1)[1] for c in got]
            # at max a replacement only takes down (no node_up): fine
            ups = [i for i, r in enumerate(refs) if r == "node_up"]
            downs = [i for i, r in enumerate(refs) if r == "node_down"]
            self.assertTrue(downs, refs)
            self.assertLess(max(ups, default=-1), refs.index("node_pick"), refs)
            self.assertLess(refs.index("node_pick"), min(downs), refs)
            self.assertLess(max(downs), refs.index("scaling_record"), refs)
            downed |= {got[i]["node"] for i in downs}
        h = self.summary["heal"]
        self.assertEqual(downed, {h["killed"], h["sick"]})

    def test_history_tells_the_story(self):
        h = self.summary["heal"]
        entries = h["history"]
        iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertTrue(all(iso.match(e.get("time", "")) for e in entries), entries)
        decisions = [e for e in entries if e.get("kind") == "decision"
                     and e.get("action") == "replace"]
        self.assertTrue(decisions, entries)
        self.assertTrue(all(d.get("reason") and d.get("remove", 0) > 0 for d in decisions))
        nodes = set()
        for e in entries:
            if e.get("kind") == "event" and e.get("op") == "replace":
                nodes |= set(e.get("nodes") or [])
        self.assertTrue({h["killed"], h["sick"]} <= nodes, entries)

    def test_slack_was_told_which_nodes_were_replaced(self):
        h = self.summary["heal"]
        told = [m for m in h["slack"] if "node_replaced" in m]
        self.assertTrue(any(h["killed"] in m and h["sick"] in m for m in told), h["slack"])

    def test_no_node_process_left(self):
        mine = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    args = f.read().split(b"\0")
            except OSError:
                continue
            if args and args[0].endswith(b"demo_app") and any(
                    a.startswith(b"--name=demo-") for a in args):
                mine.append(pid)
        ours = set(self._node_names())
        left = [p for p in mine if self._name_of(p) in ours]
        self.assertEqual(left, [])

    def test_no_dns_record_left_in_powerdns_database(self):
        with sqlite3.connect(self.servers["pdns_db"]) as db:
            rows = db.execute("SELECT name, type FROM records WHERE type = 'A'").fetchall()
        self.assertEqual(rows, [])
        with sqlite3.connect(self.servers["pdns_db"]) as db:
            seen = db.execute("SELECT count(*) FROM records").fetchone()[0]
        self.assertGreater(seen, 0, "the zone itself (SOA, NS) should still be there")

    def test_no_haproxy_server_left(self):
        state = haproxy(self.servers["haproxy_socket"], "show servers state demo")
        rows = [r for r in state.splitlines()[1:] if r.strip() and not r.startswith("#")]
        self.assertEqual(rows, [], state)

    def test_no_datastore_key_left(self):
        with sqlite3.connect(os.path.join(self.work, "autoscale.db")) as db:
            keys = db.execute("SELECT name FROM kv").fetchall()
        self.assertEqual(keys, [])

    def test_every_node_up_and_node_down_followed_its_workflow(self):
        """The demo runs the workflow files themselves; this fails if what
        ran is not the workflow's success path, step for step (a demo that
        called actions on its own would drift from the YAML)."""
        execs = self.summary["executions"]
        children = {}
        for e in execs:
            children.setdefault(e["parent"], []).append(e)
        for wf in ("node_up", "node_down"):
            expected = success_path(ROOT, wf)
            runs = [e for e in execs if e["ref"] == f"autoscale.{wf}"]
            self.assertGreaterEqual(len(runs), 2, wf)
            for run in runs:
                got = [c["ref"].split(".", 1)[1] for c in children.get(run["id"], [])]
                self.assertEqual(got, expected, f"{wf} {run['id']}")

    def test_metric_phase_scaled_out_by_the_formula_and_back_without_a_failed_request(self):
        m, p = self.summary["metric"], self.summary["phases"]
        self.assertEqual(m["traffic"]["failed"], 0, m["traffic"]["errors"])
        self.assertGreater(m["traffic"]["made"], 0)
        ticks = m["ticks"]
        formula = re.compile(r"^ceil\((\d+) x ([0-9.e+-]+) / (\d+)\) = (\d+)$")
        for t in ticks:
            if t["formula"] is None:
                continue  # a hold: no reading yet
            n, v, target, rec = formula.match(t["formula"]).groups()
            self.assertEqual(int(target), m["target"])
            # the formula is the arithmetic itself, before the tolerance and
            # the bounds (the value is printed to 6 digits: either side of an
            # integer)
            x = int(n) * float(v) / int(target)
            self.assertIn(int(rec), {math.ceil(x + d) for d in (-1e-4, 1e-4)}, t)
        outs = [t for t in ticks if t["code"] == "metric_out"]
        ins = [t for t in ticks if t["code"] == "metric_in"]
        self.assertTrue(outs and all(t["action"] == "scale_out" for t in outs), ticks)
        self.assertTrue(ins and all(t["action"] == "scale_in" for t in ins), ticks)
        # a scale-out only on a reading above the target's tolerance, a
        # scale-in only below it
        self.assertTrue(all(t["value"] > m["target"] * 1.1 for t in outs), outs)
        self.assertTrue(all(t["value"] < m["target"] * 0.9 for t in ins), ins)
        # it grew above min, settled there on target, then came back to min
        self.assertGreater(m["peak"], 2)
        self.assertTrue(any(t["code"] == "metric_on_target" and t["capacity"] == m["peak"]
                            for t in ticks), ticks)
        self.assertLess(ticks.index(outs[-1]), ticks.index(ins[0]))
        self.assertEqual(len(p["metric"]["active"]), 2)
        self.assertEqual(p["metric"]["serving"], p["metric"]["active"])
        decided = {e["code"] for e in m["history"] if e.get("kind") == "decision"
                   and "ceil(" in (e.get("reason") or "")}
        self.assertTrue({"metric_out", "metric_in"} <= decided, m["history"])

    def test_refresh_replaced_every_node_with_the_new_spec_and_no_request_failed(self):
        r, p = self.summary["refresh"], self.summary["phases"]
        self.assertEqual(r["output"]["state"], "succeeded", r["output"])
        self.assertEqual(r["spec_image"], r["image"])
        self.assertEqual(r["output"]["replaced"], len(r["before"]))
        self.assertEqual(len(r["after"]), len(r["before"]))
        self.assertFalse(set(r["before"]) & set(r["after"]))
        self.assertEqual(len(r["old_specs"]), 1)
        self.assertEqual(len(r["new_specs"]), 1)
        self.assertNotEqual(r["new_specs"], r["old_specs"])
        self.assertEqual(r["traffic"]["failed"], 0, r["traffic"]["errors"])
        self.assertGreater(r["traffic"]["made"], 0)
        self.assertEqual(sorted(p["refreshed"]["active"]), r["after"])
        self.assertEqual(p["refreshed"]["serving"], p["refreshed"]["active"])
        self.assertEqual(len(p["refreshed"]["dns"]), len(r["after"]))
        self.assertTrue(any("refresh_done" in m for m in r["slack"]), r["slack"])

    def test_refresh_took_no_old_node_down_before_its_replacement_was_healthy(self):
        execs = self.summary["executions"]
        runs = [e for e in execs if e["ref"] == "autoscale.asg_refresh"]
        self.assertEqual(len(runs), 1)
        refs = [c["ref"].split(".", 1)[1] for c in execs if c["parent"] == runs[0]["id"]
                and not c["ref"].startswith("core.")]
        downs = [i for i, x in enumerate(refs) if x == "node_down"]
        self.assertEqual(len(downs), len(self.summary["refresh"]["before"]), refs)
        for i in downs:  # the batch's wait for health came between its node_up and it
            before = refs[:i]
            last_up = max(j for j, x in enumerate(before) if x == "node_up")
            self.assertIn("refresh_wait", before[last_up:], refs)
        self.assertEqual(refs[-1], "notify", refs)

    def test_the_alert_itself_started_the_scale_out_and_a_new_node_served(self):
        r = self.summary["react"]
        self.assertEqual(r["scale_out_parent"], "alert_respond")
        self.assertEqual(r["failed"], 0)
        self.assertGreater(r["made"], 0)
        # measured, never judged: the number is the demo's report
        self.assertGreater(r["alert_to_serving_ms"], 0)
        responds = {e["id"] for e in self.summary["executions"]
                    if e["ref"] == "autoscale.alert_respond"}
        # the first scale-out after asg_create's own (to min) is the alert's
        creates = {e["id"] for e in self.summary["executions"]
                   if e["ref"] == "autoscale.asg_create"}
        outs = [e for e in self.summary["executions"] if e["ref"] == "autoscale.scale_out"
                and e["parent"] not in creates]
        self.assertIn(outs[0]["parent"], responds)

    def test_scale_operations_came_from_the_governor_through_rules(self):
        refs = [e["ref"] for e in self.summary["executions"] if e["parent"] is None]
        ticks = self.summary["metric"]["ticks"]
        metric_outs = sum(t["action"] == "scale_out" for t in ticks)
        metric_ins = sum(t["action"] == "scale_in" for t in ticks)
        # 2 -> 4 on the alert itself (alert_respond's child), 4 -> 6 by the
        # sensor's tick, then the metric's own
        responds = {e["id"] for e in self.summary["executions"]
                    if e["ref"] == "autoscale.alert_respond"}
        by_alert = [e for e in self.summary["executions"] if e["ref"] == "autoscale.scale_out"
                    and e["parent"] in responds]
        self.assertEqual(len(by_alert), 1, by_alert)
        self.assertEqual(refs.count("autoscale.scale_out"), 1 + metric_outs)
        self.assertGreaterEqual(refs.count("autoscale.replace"), 1)  # through the replace rule
        # 6 -> 4 -> 2 on the recovery, then the metric's own
        self.assertEqual(refs.count("autoscale.scale_in"), 2 + metric_ins)
        # the webhook rules' action, and the intake each runs first
        self.assertEqual(refs.count("autoscale.alert_respond"), 2)
        responds = {e["id"] for e in self.summary["executions"]
                    if e["ref"] == "autoscale.alert_respond"}
        intakes = [e for e in self.summary["executions"] if e["ref"] == "autoscale.alert_intake"]
        self.assertEqual(sorted(e["parent"] for e in intakes), sorted(responds))
        self.assertGreaterEqual(self.summary["notifications"], 10)

    def _node_names(self):
        names = set()
        for phase in self.summary["phases"].values():
            names |= set(phase["active"])
        names |= set(self.summary["refresh"]["before"]) | set(self.summary["refresh"]["after"])
        return names | {self.summary["heal"]["sick"], self.summary["heal"]["killed"]}

    @staticmethod
    def _name_of(pid):
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            for a in f.read().split(b"\0"):
                if a.startswith(b"--name="):
                    return a[7:].decode()
        return None


if __name__ == "__main__":
    unittest.main()
