"""The warm pool (issue 17): a group keeps warm_pool nodes prepared -
created, configured, registered in DNS, parked, NOT in the load balancer,
not capacity - and a scale-out takes them first. The workflows node_up
(warm), pool_fill, pool_refill (rules/pool_refill_timer.yaml), scale_out
(pool_take, pool_node_up, then core.inject_trigger of autoscale.pool_refill,
whose rule rules/pool_refill.yaml runs pool_fill in the background) and
asg_delete, on
tests/st2lite with the real C actions, the embedded datastore, the local
compute provider (a warm node is a started process, taken without a new
add_node), a real HAProxy and PowerDNS.

The actions come from AUTOSCALE_BIN_DIR when it is set, else actions/bin.
Run: python3 -m unittest tests/workflows/test_warm_pool.py"""
import os
import signal
import sys
import threading
import time
import unittest
import urllib.request

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# rig.py, the st2lite rig, puts tests/ (st2lite) and demo/ (servers) on sys.path.
from rig import ROOT, TIMER, ZONE, PoolRig  # noqa: E402
import st2lite  # noqa: E402
from servers import free_port  # noqa: E402

BOUND = 20  # seconds to wait for HAProxy to send a request to a node
REFILL_REASON = "refill after a scale-out took from the pool"


def counts(fill):
    """A pool_fill's (need, filled)."""
    out = fill.result["output"]
    return out["need"], out["filled"]


def alert(group, id="c1"):
    return {"asg": group, "state": "open", "severity": "critical", "id": id}


class WarmPoolTest(PoolRig, unittest.TestCase):
    PREFIX = "as-warm-"

    # ---- helpers ----
    def group(self, warm_pool=2, active=1, **spec):
        """A group served through HAProxy and PowerDNS with `active` nodes
        in service and its warm pool filled by the refill timer."""
        spec = dict({"name": "web", "min": 1, "max": 5, "warm_pool": warm_pool,
                     "lb_provider": "haproxy", "lb_backend": "web",
                     "dns_provider": "powerdns", "dns_zone": ZONE}, **spec)
        self.run_ok("asg_define", **spec)
        for _ in range(active):
            self.run_ok("node_up", name="web")
        if warm_pool:
            self.fill()
        self.assertEqual(len(self.states("warm")), warm_pool, self.nodes())
        self.assertEqual(len(self.states("active")), active, self.nodes())

    def fill(self):
        # Every rule on the same 60 s timer runs (st2 keeps one trigger per
        # type and parameters): the pool's is the pool_refill execution.
        [ex] = [e for e in self.reactor.fire_timer(TIMER) if e.ref == "autoscale.pool_refill"]
        self.assertTrue(ex.succeeded, (ex.result, self.failures()))
        return ex

    def round_robin(self):
        """The addresses of the group's own record (dns_record.c)."""
        return self.servers.zone_records(ZONE).get(f"web.{ZONE}.", [])

    def addresses(self, names):
        nodes = self.nodes()
        return sorted(nodes[n]["address"] for n in names)

    def runs(self, ref, since=0):
        return [e for e in self.runner.log[since:] if e.ref == f"autoscale.{ref}"]

    def kids(self, parent, ref=None):
        return [e for e in self.runner.log if e.parent is parent
                and (ref is None or e.ref == f"autoscale.{ref}")]

    def steps(self, ex):
        """The pack's actions a workflow ran, in order (core.noop left out)."""
        return [k.ref.split(".", 1)[1] for k in self.kids(ex) if k.ref.startswith("autoscale.")]

    def descendants(self, ex):
        out = []
        for k in self.kids(ex):
            out.append(k)
            out.extend(self.descendants(k))
        return out

    def served_by(self, node):
        """Ask HAProxy's frontend until `node` answers one request (it
        balances round-robin, so a few requests reach every UP server)."""
        end = time.monotonic() + BOUND
        url = f"http://127.0.0.1:{self.servers.frontend_port}/"
        while time.monotonic() < end:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.read().decode().split() == ["node", node]:
                        return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def decide(self, act=False):
        out = self.action("governor_tick", name="web", act=act)
        [d] = [d for d in out["decisions"] if d.get("group", "web") == "web"]
        return d

    def refills(self):
        """Wait for what the rules engine started (no timed wait: until every
        injected trigger's execution has ended); the pool_fill executions it
        ran for the autoscale.pool_refill triggers scale-outs injected."""
        return [e for e in self.reactor.wait_idle() if e.ref == "autoscale.pool_fill"]

    def post(self, body):
        [ex] = self.reactor.webhook("autoscale/alert", body)
        self.assertTrue(ex.succeeded, (ex.result, self.failures()))
        return ex

    # ---- filling ----
    def test_a_group_fills_its_pool_with_prepared_nodes_that_do_not_serve(self):
        self.group(warm_pool=2, active=1)
        warm, [active] = self.states("warm"), self.states("active")
        # prepared: a running machine, in DNS...
        self.assertEqual(sorted(self.machines()), sorted(warm + [active]))
        self.assertEqual(self.in_dns(), sorted(warm + [active]))
        # ...but neither in the group's round robin nor in the load balancer
        self.assertEqual(self.round_robin(), self.addresses([active]))
        self.assertEqual(self.servers.haproxy_servers("web"), [active])
        # each warm node: built, configured, parked; never lb_add, no notice
        for n in warm:
            [up] = [e for e in self.runs("node_up") if (e.result or {}).get("output", {})
                    .get("node") == n]
            self.assertEqual(self.steps(up),
                             ["add_node", "dns_register", "chef_bootstrap", "node_park"])
            self.assertEqual(up.parent.ref, "autoscale.pool_fill")
        plan = self.action("pool_plan", name="web")
        self.assertEqual((plan["warm_pool"], plan["warm"], plan["warming"], plan["need"]),
                         (2, 2, 0, 0))
        # a full pool: the timer's next run plans and starts nothing
        since = len(self.runner.log)
        self.fill()
        self.assertEqual(self.runs("pool_fill", since), [])
        self.assertEqual(self.runs("node_up", since), [])

    def test_the_refill_timer_runs_every_60_seconds_over_every_group(self):
        with open(os.path.join(ROOT, "rules", "pool_refill_timer.yaml")) as f:
            rule = yaml.safe_load(f)
        self.assertEqual(rule["trigger"]["parameters"], {"unit": "seconds", "delta": 60})
        self.assertEqual(rule["action"]["ref"], "autoscale.pool_refill")
        self.assertNotIn("parameters", rule["action"])
        self.assertTrue(rule["enabled"])
        st2lite.Reactor.check_rule(rule)  # what st2 checks when it registers the rule
        # two groups with a pool, one without: only those two are filled
        for name, warm in (("web", 1), ("api", 2), ("db", 0)):
            self.run_ok("asg_define", name=name, min=0, max=3, warm_pool=warm)
        self.fill()
        self.assertEqual(sorted(e.params["name"] for e in self.runs("pool_fill")),
                         ["api", "web"])
        for name, warm in (("web", 1), ("api", 2), ("db", 0)):
            got = self.action("node_list", name=name)["nodes"]
            self.assertEqual([n["state"] for n in got], ["warm"] * warm, name)

    def test_two_fills_at_once_do_not_overfill_the_pool(self):
        # the refill timer and a scale-out's refill at the same moment: the
        # pool_fill_one_per_group policy makes the second wait, then plan
        # again and find the pool full
        self.run_ok("asg_define", name="web", min=0, max=3, warm_pool=2)
        gate = threading.Barrier(2)
        done = []

        def fill():
            gate.wait()
            done.append(self.runner.run("autoscale.pool_fill", {"name": "web"}))
        threads = [threading.Thread(target=fill) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertTrue(all(e.succeeded for e in done), self.failures())
        self.assertEqual(sorted(e.result["output"]["filled"] for e in done), [0, 2])
        self.assertEqual(len(self.states("warm")), 2)
        self.assertEqual(len(self.runs("add_node")), 2)

    def test_a_suspended_scale_out_or_a_pool_of_zero_fills_nothing(self):
        self.run_ok("asg_define", name="web", min=0, max=3, warm_pool=2)
        self.run_ok("asg_suspend", name="web", processes="scale_out")
        ex = self.run_ok("pool_fill", name="web")
        self.assertEqual(counts(ex), (0, 0))
        self.assertEqual(self.runs("node_up"), [])
        self.assertEqual(self.nodes(), {})

    def test_a_warm_node_that_cannot_be_prepared_is_undone_and_the_fill_fails(self):
        self.run_ok("asg_define", name="web", min=0, max=3, warm_pool=1,
                    dns_provider="powerdns", dns_zone=ZONE)
        self.config["powerdns_api_url"] = f"http://127.0.0.1:{free_port()}/api/v1/servers/x"
        self.runner = st2lite.Runner(st2lite.Pack(self.root, self.config), self.env)
        ex = self.runner.run("autoscale.pool_fill", {"name": "web"})
        self.assertEqual(ex.status, "failed")
        self.assertEqual(counts(ex), (1, 0))
        [up] = self.runs("node_up")
        self.assertEqual(up.params["warm"], True)
        self.assertEqual(self.steps(up), ["add_node", "dns_register", "dns_unregister",
                                          "remove_node", "notify"])
        self.assertEqual(self.nodes(), {})
        self.assertEqual(self.machines(), {})

    # ---- taking ----
    def test_an_alert_scale_out_of_one_takes_a_warm_node_and_the_pool_refills(self):
        self.group(warm_pool=2, active=1, scale_out_step=1, scale_out_cooldown=0)
        warm = self.states("warm")
        since = len(self.runner.log)
        self.post(alert("web"))
        [so] = self.runs("scale_out", since)
        self.assertTrue(so.succeeded, (so.result, self.failures()))
        self.assertEqual((so.result["output"]["succeeded"], so.result["output"]["taken"]),
                         (1, 1))
        # the oldest warm node was taken: started and added, nothing built
        [take] = self.kids(so, "pool_take")
        [taken] = take.result["stdout"]["nodes"]
        self.assertIn(taken, warm)
        [pnu] = self.kids(so, "pool_node_up")
        self.assertEqual(self.steps(pnu), ["node_activate", "dns_register", "lb_add", "notify"])
        # the refill is no child: the scale-out injected a trigger and ended
        self.assertEqual(self.kids(so, "pool_fill"), [])
        self.assertEqual([e for e in self.descendants(so) if e.ref == "autoscale.add_node"], [])
        [inject] = [k for k in self.kids(so) if k.ref == "core.inject_trigger"]
        self.assertTrue(inject.succeeded, inject.result)
        self.assertEqual((inject.params["trigger"], inject.params["payload"]),
                         ("autoscale.pool_refill", {"asg": "web", "reason": REFILL_REASON}))
        self.assertEqual(self.steps(so), ["notify", "pool_take", "pool_node_up",
                                          "scaling_record", "notify"])
        # it serves through HAProxy and the round robin, and is capacity now
        self.assertEqual(self.nodes()[taken]["state"], "active")
        self.assertIn(self.nodes()[taken]["address"], self.round_robin())
        self.assertIn(taken, self.servers.haproxy_servers("web"))
        self.assertTrue(self.served_by(taken), f"{taken} never answered through HAProxy")
        # the event counts it; the lease is gone
        self.assertEqual([k.params["nodes"] for k in self.kids(so, "scaling_record")], [taken])
        self.assertEqual(self.keys("autoscale.lease."), [])
        # the rule on the injected trigger brought the pool back to 2
        [refill] = self.refills()
        self.assertIsNone(refill.parent)
        self.assertEqual((refill.params["name"], refill.params["reason"]), ("web", REFILL_REASON))
        self.assertTrue(refill.succeeded, (refill.result, self.failures()))
        self.assertEqual(counts(refill), (1, 1))
        self.assertEqual(len(self.states("warm")), 2)
        self.assertNotIn(taken, self.states("warm"))
        self.assertEqual(len(self.states("active")), 2)
        lb = self.servers.haproxy_servers("web")
        self.assertFalse(set(self.states("warm")) & set(lb), lb)

    def test_a_scale_out_of_three_takes_two_warm_and_builds_one(self):
        # min 4 with 1 in service: the governor wants 3, not counting the
        # pool (were warm nodes capacity it would want 1)
        self.group(warm_pool=2, active=1, min=1, max=6)
        warm = self.states("warm")
        self.run_ok("asg_update", name="web", min=4)
        d = self.decide(act=True)
        self.assertEqual((d["action"], d["count"]), ("scale_out", 3), d)
        so = self.run_ok("scale_out", name="web", count=3, lease_id=d["lease_id"],
                         concurrency=3)
        out = so.result["output"]
        self.assertEqual((out["requested"], out["succeeded"], out["taken"], out["result"]),
                         (3, 3, 2, "success"))
        pnus = sorted(self.kids(so, "pool_node_up"), key=lambda p: p.params["index"])
        self.assertEqual([p.params["index"] for p in pnus], [0, 1, 2])
        self.assertEqual(sorted(pnus[0].params["taken"].split(",")), warm)
        self.assertEqual([p.result["output"]["node"] in warm for p in pnus],
                         [True, True, False])
        for p in pnus:
            self.assertEqual(self.steps(p), ["node_up"] if p.params["index"] == 2
                             else ["node_activate", "dns_register", "lb_add", "notify"])
        self.assertEqual(len(self.kids(so, "node_up")), 0)
        self.assertEqual(len(self.states("active")), 4)
        self.assertEqual(sorted(self.servers.haproxy_servers("web")),
                         sorted(self.states("active")))
        [rec] = self.kids(so, "scaling_record")
        self.assertEqual(rec.params["succeeded"], 3)
        self.assertEqual(len(rec.params["nodes"].split(",")), 3)
        self.assertEqual(self.kids(so, "pool_fill"), [])
        [refill] = self.refills()
        self.assertEqual(counts(refill), (2, 2))
        self.assertEqual(len(self.states("warm")), 2)  # refilled
        self.assertEqual(self.decide()["action"], "none")

    def test_warm_nodes_count_toward_neither_capacity_nor_max(self):
        # max 2, one in service, a pool of 2: an alert may still add 1 (the
        # pool does not use up max), and never more than max
        self.group(warm_pool=2, active=1, max=2, scale_out_step=2, scale_out_cooldown=0)
        d = self.decide()
        self.assertEqual(d["action"], "none", d)  # 1 serving = min; the pool is not excess
        since = len(self.runner.log)
        self.post(alert("web"))
        [so] = self.runs("scale_out", since)
        self.assertTrue(so.succeeded, (so.result, self.failures()))
        self.assertEqual((so.params["count"], so.result["output"]["taken"]), (1, 1))
        self.refills()
        self.assertEqual(len(self.states("active")), 2)
        self.assertEqual(len(self.states("warm")), 2)
        group = self.action("asg_list")["groups"][0]
        self.assertLessEqual(sum(v for k, v in group["counts"].items()
                                 if k in ("active", "building")), 2, group)
        # at max: a second alert adds nothing, the pool stays as it is
        since = len(self.runner.log)
        self.post(alert("web", id="c2"))
        self.assertEqual([e for e in self.runs("scale_out", since)], [])
        self.assertEqual(len(self.states("active")), 2)

    def test_a_second_alert_does_not_wait_for_the_first_refill(self):
        # The first scale-out's refill is held at its start until the second
        # scale-out has started: were the refill part of the first scale-out
        # (a child, or anything the alert's execution waits for), the second
        # could not start, and the gate would give up.
        self.group(warm_pool=2, active=1, scale_out_step=1, scale_out_cooldown=0)
        second = threading.Event()
        events, gate = [], []

        def trace(ex, event):
            if ex.ref in ("autoscale.scale_out", "autoscale.pool_fill"):
                events.append((ex.ref.split(".", 1)[1], event, ex.id))
            if ex.ref == "autoscale.scale_out" and event == "start" and \
                    sum(1 for e in events if e[:2] == ("scale_out", "start")) == 2:
                second.set()
            if ex.ref == "autoscale.pool_fill" and event == "start" and ex.parent is None:
                if not gate:
                    gate.append(second.wait(BOUND))
        self.runner.trace = trace
        since = len(self.runner.log)
        self.post(alert("web", id="c1"))
        self.post(alert("web", id="c2"))
        fills = self.refills()
        self.assertEqual(gate, [True], "the second scale-out waited for the first refill")
        first, later = self.runs("scale_out", since)
        for so in (first, later):
            self.assertTrue(so.succeeded, (so.result, self.failures()))
            self.assertEqual(so.result["output"]["taken"], 1)
            self.assertEqual(self.kids(so, "pool_fill"), [])
        # by event order: the first scale-out ended, then the second started,
        # and only then did the first refill end
        order = [(e[0], e[1], e[2]) for e in events]
        self.assertLess(order.index(("scale_out", "end", first.id)),
                        order.index(("scale_out", "start", later.id)))
        first_fill = fills[0] if fills[0].started <= fills[-1].started else fills[-1]
        self.assertLess(order.index(("scale_out", "start", later.id)),
                        order.index(("pool_fill", "end", first_fill.id)))
        # both refills ran through the rule, one fill per group at a time,
        # and the pool is whole again
        self.assertEqual(len(fills), 2)
        self.assertTrue(all(f.succeeded and f.parent is None for f in fills), self.failures())
        self.assertEqual(sum(f.result["output"]["filled"] for f in fills), 2)
        self.assertEqual(len(self.states("warm")), 2)
        self.assertEqual(len(self.states("active")), 3)

    def test_a_refill_that_cannot_be_injected_does_not_fail_the_scale_out(self):
        self.group(warm_pool=1, active=1)
        self.run_ok("asg_update", name="web", min=2)
        d = self.decide(act=True)
        self.assertEqual((d["action"], d["count"]), ("scale_out", 1), d)
        # a runner no API answers for: core.inject_trigger fails
        runner = st2lite.Runner(self.pack, self.env)
        so = runner.run("autoscale.scale_out", {"name": "web", "count": 1,
                                                "lease_id": d["lease_id"]})
        self.assertTrue(so.succeeded, so.result)
        self.assertEqual(so.result["output"]["result"], "success")
        [inject] = [e for e in runner.log if e.ref == "core.inject_trigger"]
        self.assertEqual(inject.status, "failed")
        self.assertEqual(self.states("warm"), [])
        self.fill()  # the refill timer is the safety net
        self.assertEqual(len(self.states("warm")), 1)

    def test_a_warm_node_that_cannot_start_is_taken_down_whole(self):
        self.group(warm_pool=1, active=1)
        [warm] = self.states("warm")
        self.kill_one(warm)
        self.run_ok("asg_update", name="web", min=2)
        d = self.decide(act=True)
        self.assertEqual((d["action"], d["count"]), ("scale_out", 1), d)
        so = self.runner.run("autoscale.scale_out", {"name": "web", "count": 1,
                                                     "lease_id": d["lease_id"]})
        self.assertEqual(so.status, "failed")  # no node came up
        [pnu] = self.kids(so, "pool_node_up")
        self.assertEqual(self.steps(pnu), ["node_activate", "chef_cleanup", "dns_unregister",
                                           "remove_node", "notify"])
        self.assertEqual(self.kids(pnu, "node_activate")[0].status, "failed")
        self.assertNotIn(warm, self.nodes())
        self.assertNotIn(warm, self.machines())
        self.assertNotIn(warm, self.in_dns())
        self.assertNotIn(warm, self.servers.haproxy_servers("web"))
        self.assertEqual(self.keys("autoscale.lease."), [])

    def kill_one(self, node):
        m = self.machines()[node]
        os.kill(m["pid"], signal.SIGKILL)
        for _ in range(200):
            try:
                with open(f"/proc/{m['pid']}/stat") as fh:
                    if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                        break
            except OSError:
                break
            time.sleep(0.01)

    def keys(self, prefix):
        import sqlite3
        with sqlite3.connect(self.env["AUTOSCALE_DB"]) as db:
            return [r[0] for r in db.execute("SELECT name FROM kv WHERE name LIKE ?",
                                             (prefix + "%",))]

    # ---- decommission ----
    def test_decommission_takes_the_pool_down_too(self):
        self.group(warm_pool=2, active=1)
        everything = sorted(self.nodes())
        ex = self.run_ok("asg_delete", name="web")
        self.assertEqual(sorted(ex.result["output"]["nodes"]), everything)
        self.assertEqual(ex.result["output"]["removed"], 3)
        self.assertEqual(self.machines(), {})
        self.assertEqual(self.in_dns(), [])
        self.assertEqual(self.servers.haproxy_servers("web"), [])
        self.assertEqual(self.round_robin(), [])
        self.assertEqual(self.keys("autoscale.node.web."), [])
        self.assertEqual(self.action("asg_list")["groups"], [])


if __name__ == "__main__":
    unittest.main()
