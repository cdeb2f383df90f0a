"""The timer rules (rules/lb_sync_timer.yaml, rules/reconcile_timer.yaml)
on tests/st2lite with a real HAProxy, the local compute provider and the
real C actions: after an HAProxy restart the timer puts every group's
members back; a node on its way out, or a group whose lease is held, is
left alone; one group's failure does not stop the others; and st2lite
refuses a timer rule st2 refuses.
Run: /usr/bin/python3 -m unittest tests/workflows/test_timers.py"""
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "demo"))

import st2lite  # noqa: E402
from st2lite import timers  # noqa: E402
from servers import Servers, free_port  # noqa: E402

LB_TIMER = "autoscale.lb_sync_timer"
RECONCILE_TIMER = "autoscale.reconcile_timer"
HEALTH_TIMER = "autoscale.health_check_timer"


class TimerRuleTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="as-timer-")
        self.local = os.path.join(self.dir, "local")
        self.servers = Servers(self.dir)
        self.servers.start_haproxy("web")
        self.config = {"compute_provider": "local", "local_dir": self.local,
                       "local_port": free_port(), "local_grace_ms": 300,
                       "lb_drain_timeout": 1,
                       "haproxy_socket": self.servers.haproxy_socket}
        self.env = {"AUTOSCALE_DB": os.path.join(self.dir, "db"),
                    "XDG_STATE_HOME": os.path.join(self.dir, "state")}
        self.pack = st2lite.Pack(ROOT, self.config)
        self.runner = st2lite.Runner(self.pack, self.env)
        self.reactor = st2lite.Reactor(self.runner)

    def tearDown(self):
        for g in self.action("asg_list").get("groups", []):
            self.runner.run("autoscale.lease_release", {"name": g["name"]})
            self.runner.run("autoscale.asg_delete", {"name": g["name"]})
        self.servers.stop_all()
        shutil.rmtree(self.dir, ignore_errors=True)

    def action(self, _action, **params):
        ex = self.runner.run(f"autoscale.{_action}", params)
        return ex.result["stdout"] if ex.result and "stdout" in ex.result else ex.result

    def web(self, nodes=2, **spec):
        spec = dict({"min": 1, "max": 5, "lb_provider": "haproxy", "lb_backend": "web"}, **spec)
        ex = self.runner.run("autoscale.asg_define", dict(spec, name="web"))
        self.assertTrue(ex.succeeded, ex.result)
        for _ in range(nodes):
            ex = self.runner.run("autoscale.node_up", {"name": "web"})
            self.assertTrue(ex.succeeded, ex.result)
        names = sorted(self.action("node_list", name="web")["nodes"], key=lambda n: n["name"])
        self.assertEqual(self.servers.haproxy_servers("web"), [n["name"] for n in names])
        return [n["name"] for n in names]

    def restart_haproxy(self):
        """HAProxy restarted from its file: every dynamic server forgotten."""
        self.servers.stop_all()
        self.servers.start_haproxy("web")
        self.assertEqual(self.servers.haproxy_servers("web"), [])

    def fire(self, rule):
        # st2 keeps one trigger per timer type and parameters, so every rule
        # on the same interval runs (pool_refill_timer shares lb_sync's 60 s):
        # the rule's own execution is the one running its action.
        ref = next(r["action"]["ref"] for r in self.pack.rules
                   if f"{self.pack.ref}.{r['name']}" == rule)
        [ex] = [e for e in self.reactor.fire_timer(rule) if e.ref == ref]
        return ex

    def test_the_timer_puts_every_member_back_after_a_restart(self):
        nodes = self.web()
        self.restart_haproxy()
        ex = self.fire(LB_TIMER)
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual(self.servers.haproxy_servers("web"), nodes)
        [g] = ex.result["stdout"]["groups"]
        self.assertEqual(sorted(g["result"]["added"]), nodes)
        again = self.fire(LB_TIMER)  # idempotent: nothing left to do
        self.assertTrue(again.succeeded, again.result)
        self.assertFalse(again.result["stdout"]["groups"][0]["result"]["changed"])
        self.assertEqual(self.servers.haproxy_servers("web"), nodes)

    def test_a_node_on_its_way_out_is_not_put_back(self):
        nodes = self.web()
        [leaving] = self.action("node_pick", name="web", count=1)["nodes"]
        states = {n["name"]: n["state"] for n in self.action("node_list", name="web")["nodes"]}
        self.assertEqual(states[leaving], "draining")
        self.restart_haproxy()
        ex = self.fire(LB_TIMER)
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual(self.servers.haproxy_servers("web"),
                         [n for n in nodes if n != leaving])

    def test_a_group_whose_lease_is_held_is_left_to_its_operation(self):
        nodes = self.web(min=3)  # below min: the governor decides a scale-out
        tick = self.action("governor_tick", name="web", act=True)
        self.assertEqual([d["action"] for d in tick["decisions"]], ["scale_out"])
        self.restart_haproxy()
        ex = self.fire(LB_TIMER)
        self.assertTrue(ex.succeeded, ex.result)
        [g] = ex.result["stdout"]["groups"]
        self.assertIn("lease", g["skipped"]["reason"])
        self.assertEqual(self.servers.haproxy_servers("web"), [])
        self.action("lease_release", name="web")
        self.assertTrue(self.fire(LB_TIMER).succeeded)
        self.assertEqual(self.servers.haproxy_servers("web"), nodes)

    def test_one_group_failing_does_not_keep_the_others_out(self):
        # "aaa" sorts first and names a backend HAProxy does not have
        ex = self.runner.run("autoscale.asg_define",
                             {"name": "aaa", "min": 1, "max": 2, "lb_provider": "haproxy",
                              "lb_backend": "nosuch"})
        self.assertTrue(ex.succeeded, ex.result)
        nodes = self.web()
        self.restart_haproxy()
        ex = self.fire(LB_TIMER)
        self.assertEqual(ex.status, "failed")
        err = ex.result["stdout"]["error"]
        self.assertIn("1 of 2 groups failed (aaa)", err["message"])
        self.assertEqual(self.servers.haproxy_servers("web"), nodes)

    def test_the_reconcile_timer_reports_every_group_and_fixes_nothing(self):
        nodes = self.web()
        gone = sorted(f for f in os.listdir(self.local) if f.endswith(".json"))[0]
        os.remove(os.path.join(self.local, gone))  # its record is now a ghost
        ex = self.fire(RECONCILE_TIMER)
        self.assertTrue(ex.succeeded, ex.result)
        [g] = ex.result["stdout"]["groups"]
        self.assertFalse(g["result"]["fixed"])
        self.assertTrue(g["result"]["findings"])
        self.assertEqual(sorted(n["name"] for n in
                                self.action("node_list", name="web")["nodes"]), nodes)
        refused = self.runner.run("autoscale.reconcile", {"fix": True})
        self.assertEqual(refused.status, "failed")
        self.assertEqual(refused.result["return_code"], 2)

    def kill_node(self, node):
        """SIGKILL a local node's process group, as `make demo` does."""
        import json
        import signal
        import time
        with open(os.path.join(self.local, f"web.{node}.json")) as f:
            pid = json.load(f)["pid"]
        os.killpg(pid, signal.SIGKILL)
        # kill() returns before the signal takes effect: wait until the
        # process is dead (gone, or a zombie), as the provider will see it
        for _ in range(2000):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rpartition(")")[2].split()[0] == "Z":
                        return
            except FileNotFoundError:
                return
            time.sleep(0.01)
        self.fail(f"{node} (pid {pid}) outlived SIGKILL")

    def test_the_health_timer_judges_every_groups_nodes(self):
        nodes = self.web(health_grace=0, health_threshold=2)
        ex = self.fire(HEALTH_TIMER)
        self.assertTrue(ex.succeeded, ex.result)
        [g] = ex.result["stdout"]["groups"]
        self.assertEqual(g["group"], "web")
        self.assertEqual({n["node"]: n["status"] for n in g["result"]["nodes"]},
                         {n: "healthy" for n in nodes})
        self.kill_node(nodes[0])
        for want in ("healthy", "unhealthy"):  # health_threshold probes, not fewer
            ex = self.fire(HEALTH_TIMER)
            self.assertTrue(ex.succeeded, ex.result)
            got = {n["node"]: n for n in ex.result["stdout"]["groups"][0]["result"]["nodes"]}
            self.assertEqual(got[nodes[0]]["status"], want)
            self.assertTrue(got[nodes[0]]["checks"]["provider"].startswith("error"))
            self.assertEqual(got[nodes[1]]["status"], "healthy")


class TimerValidationTest(unittest.TestCase):
    """st2common/validators/api/reactor.py, validate_trigger_parameters."""

    def refused(self, kind, params):
        with self.assertRaises((ValueError, st2lite.schema.ValidationError)):
            st2lite.Reactor.check_rule({"trigger": {"type": kind, "parameters": params}})

    def test_the_packs_timer_rules_are_valid_ones(self):
        import yaml
        for name in ("lb_sync_timer", "reconcile_timer"):
            with open(os.path.join(ROOT, "rules", name + ".yaml")) as f:
                rule = yaml.safe_load(f)
            self.assertEqual(rule["trigger"]["type"], timers.INTERVAL)
            self.assertTrue(rule["enabled"])
            st2lite.Reactor.check_rule(rule)

    def test_the_health_timer_runs_every_30_seconds(self):
        import yaml
        with open(os.path.join(ROOT, "rules", "health_check_timer.yaml")) as f:
            rule = yaml.safe_load(f)
        st2lite.Reactor.check_rule(rule)
        self.assertTrue(rule["enabled"])
        self.assertEqual(rule["trigger"]["type"], timers.INTERVAL)
        self.assertEqual(rule["trigger"]["parameters"], {"unit": "seconds", "delta": 30})
        self.assertEqual(rule["action"], {"ref": "autoscale.health_check"})

    def test_interval_parameters_st2_refuses(self):
        for params in ({"unit": "second", "delta": 60}, {"unit": "seconds"}, {"delta": 5},
                       {"unit": "seconds", "delta": "60"}, {"unit": "seconds", "delta": 1.5},
                       {"unit": "seconds", "delta": 60, "every": 1}, None):
            with self.subTest(params=params):
                self.refused(timers.INTERVAL, params)

    def test_cron_parameters_st2_refuses_and_accepts(self):
        for params in ({"minute": 60}, {"minute": "*/x"}, {"hour": "25"},
                       {"timezone": "Mars/Base"}, {"minutes": 5}, {"hour": 1.5}):
            with self.subTest(params=params):
                self.refused(timers.CRON, params)
        for params in ({"minute": "*/10"}, {"hour": 3, "minute": 0, "timezone": "UTC"},
                       {"day_of_week": "mon-fri"}, {}):
            st2lite.Reactor.check_rule({"trigger": {"type": timers.CRON, "parameters": params}})


if __name__ == "__main__":
    unittest.main()
