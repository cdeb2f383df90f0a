"""Keeping the warm pool right (issue 17): what the pool must lose, not
only what it lacks. pool_fill (and the refill timer's pool_refill) takes
down the warm nodes beyond a lowered warm_pool and the ones built from an
older spec (a rolling refresh replaces active nodes only), pool_take never
hands out an outdated one, and an asg_delete racing a pool fill leaves no
DNS record behind. On tests/st2lite with the real C actions, the embedded
datastore, the local compute provider, a real HAProxy and PowerDNS.

The race is made deterministic through st2lite's trace hook, which runs in
the thread of the execution it reports: the fill's dns_register is held
until asg_delete's node_down has unregistered the node, and that node_down
is held before its chef_cleanup until the register is done: the order in
which, before the fix, the node's A record outlived the group.

The actions come from AUTOSCALE_BIN_DIR when it is set, else actions/bin.
Run: python3 -m unittest tests/workflows/test_warm_pool_upkeep.py"""
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rig import TIMER, ZONE, PoolRig  # noqa: E402  (rig.py: the st2lite rig)

HOLD = 60  # seconds a held execution waits at most for the other side


class PoolUpkeepTest(PoolRig, unittest.TestCase):
    PREFIX = "as-upkeep-"

    def setUp(self):
        self.hook = None  # fn(ex, event), called from st2lite's trace
        super().setUp()

    def tearDown(self):
        self.hook = None
        super().tearDown()

    def trace(self, ex, event):
        hook = self.hook
        if hook:
            hook(ex, event)

    # ---- helpers ----
    def group(self, warm_pool=2):
        self.run_ok("asg_define", name="web", min=1, max=5, warm_pool=warm_pool,
                    lb_provider="haproxy", lb_backend="web",
                    dns_provider="powerdns", dns_zone=ZONE)

    def fill(self):
        """The refill timer's run (pool_refill, then pool_fill per group)."""
        [ex] = [e for e in self.reactor.fire_timer(TIMER) if e.ref == "autoscale.pool_refill"]
        self.assertTrue(ex.succeeded, (ex.result, self.failures()))
        return [k for k in self.runner.log
                if k.parent is ex and k.ref == "autoscale.pool_fill"]

    def keys(self):
        return [k for k in self.action("asg_list").get("groups", []) if k.get("name") == "web"]

    # ---- 1: a lowered warm_pool ----
    def test_lowered_pool_is_taken_down(self):
        """warm_pool 3 -> 1: the refill takes the two newest warm nodes
        down (machine, DNS, record), keeps the oldest, builds nothing."""
        self.group(warm_pool=3)
        self.fill()
        before = self.nodes()
        warm = self.states("warm")
        self.assertEqual(len(warm), 3, before)
        self.run_ok("asg_update", name="web", warm_pool=1)
        plan = self.action("pool_plan", name="web")
        self.assertEqual((plan["need"], plan["surplus"], len(plan["remove"])), (0, 2, 2))
        [fill] = self.fill()
        out = fill.result["output"]
        self.assertEqual((out["need"], out["filled"], out["removed"]), (0, 0, 2), out)
        [kept] = [n for n in warm if n not in out["remove"]]
        # the newest went: the one kept was built no later than either
        self.assertTrue(all(before[kept]["created_at"] <= before[n]["created_at"]
                            for n in out["remove"]), before)
        self.assertEqual(list(self.nodes()), [kept])
        self.assertEqual(self.states("warm"), [kept])
        self.assertEqual(sorted(self.machines()), [kept])
        self.assertEqual(self.in_dns(), [kept])
        # a plan again: nothing to remove, nothing to build
        plan = self.action("pool_plan", name="web")
        self.assertEqual((plan["need"], plan["remove"]), (0, []))

    # ---- 2: outdated warm nodes (a refresh skips the pool) ----
    def test_outdated_pool_is_replaced(self):
        """The group's build spec changes (what asg_refresh's refresh_start
        does to it): the warm node is outdated - not counted as warm, never
        taken - and the next fill takes it down and builds a fresh one."""
        self.group(warm_pool=1)
        self.fill()
        [old] = self.states("warm")
        self.run_ok("asg_update", name="web", image="web-image-v2")
        plan = self.action("pool_plan", name="web")
        self.assertEqual((plan["warm"], plan["outdated"], plan["need"], plan["remove"]),
                         (0, 1, 1, [old]))
        taken = self.action("pool_take", name="web", count=1,
                            lease_id="000000001000-scale_out-0000000a")
        self.assertEqual(taken["taken"], 0, taken)  # a scale-out now builds cold
        [fill] = self.fill()
        out = fill.result["output"]
        self.assertEqual((out["removed"], out["filled"]), (1, 1), out)
        [new] = self.states("warm")
        self.assertNotEqual(new, old)
        self.assertEqual(list(self.nodes()), [new])
        self.assertEqual(sorted(self.machines()), [new])
        self.assertEqual(self.in_dns(), [new])
        # the steps: the old node down before the new one is built
        steps = [k.ref.split(".", 1)[1] for k in self.runner.log if k.parent is fill]
        self.assertLess(steps.index("node_down"), steps.index("node_up"), steps)
        plan = self.action("pool_plan", name="web")
        self.assertEqual((plan["warm"], plan["outdated"], plan["need"]), (1, 0, 0))

    # ---- 3: asg_delete racing a fill ----
    def test_delete_racing_fill_leaves_no_record(self):
        """A fill's node_up has its machine (add_node) when asg_delete
        begins; the delete's node_down unregisters the node before the
        fill's dns_register runs, and destroys it only after. The register
        must not leave the node's A record behind: it refuses the group
        being deleted, and everything is gone at the end."""
        self.group(warm_pool=1)
        reg_waiting, unregistered, registered = (threading.Event() for _ in range(3))
        seen = {}

        def under(ex, ref):
            while ex is not None:
                if ex.ref == f"autoscale.{ref}":
                    return True
                ex = ex.parent
            return False

        def hook(ex, event):
            if ex.ref == "autoscale.dns_register" and under(ex, "pool_fill"):
                if event == "start":
                    reg_waiting.set()
                    unregistered.wait(HOLD)
                else:
                    seen["register"] = ex
                    registered.set()
            elif ex.ref == "autoscale.dns_unregister" and under(ex, "asg_delete") \
                    and event == "end":
                unregistered.set()
            elif ex.ref == "autoscale.chef_cleanup" and under(ex, "asg_delete") \
                    and event == "start":
                registered.wait(HOLD)

        self.hook = hook
        result = {}
        fill = threading.Thread(target=lambda: result.update(
            fill=self.runner.run("autoscale.pool_fill", {"name": "web"})))
        fill.start()
        self.assertTrue(reg_waiting.wait(HOLD), self.failures())
        [node] = self.states("warming")
        delete = self.runner.run("autoscale.asg_delete", {"name": "web"})
        fill.join(HOLD)
        self.assertFalse(fill.is_alive())
        self.hook = None
        self.assertTrue(unregistered.is_set() and registered.is_set())
        if not delete.succeeded:  # the fill's undo raced it: a re-run finishes
            delete = self.runner.run("autoscale.asg_delete", {"name": "web"})
        self.assertTrue(delete.succeeded, (delete.result, self.failures()))
        self.assertEqual(self.in_dns(), [], node)
        self.assertEqual(self.servers.zone_records(ZONE).get(f"web.{ZONE}.", []), [])
        self.assertEqual(self.machines(), {})
        self.assertEqual(self.keys(), [])
        # how: the register refused the group being deleted, and the fill
        # undid its node
        reg = seen["register"]
        self.assertFalse(reg.succeeded, reg.result)
        self.assertEqual(reg.result["stdout"]["error"]["code"], "group_conflict")
        self.assertFalse(result["fill"].succeeded)

    def test_delete_sweeps_nodes_it_did_not_see(self):
        """A node whose record appears after asg_retire listed the group
        (an add_node that passed its check just before the mark): the
        first list is made to miss one node (st2lite's trace rewrites that
        one result), and asg_delete's sweep lists again and takes it down
        before forgetting the group."""
        self.group(warm_pool=1)
        self.fill()
        self.run_ok("node_up", name="web")
        [hidden] = self.states("active")
        retires = []

        def hook(ex, event):
            if ex.ref == "autoscale.asg_retire" and event == "end" and ex.parent is not None:
                retires.append(ex)
                if len(retires) == 1:
                    ex.result["stdout"]["nodes"].remove(hidden)

        self.hook = hook
        delete = self.runner.run("autoscale.asg_delete", {"name": "web"})
        self.hook = None
        self.assertTrue(delete.succeeded, (delete.result, self.failures()))
        self.assertEqual(len(retires), 2)
        downs = [k.params["node"] for k in self.runner.log
                 if k.parent is delete and k.ref == "autoscale.node_down"]
        self.assertEqual(downs[-1], hidden, downs)
        self.assertEqual(len(downs), 2, downs)
        self.assertEqual(delete.result["output"]["removed"], 2, delete.result)
        self.assertEqual(self.machines(), {})
        self.assertEqual(self.in_dns(), [])
        self.assertEqual(self.keys(), [])


if __name__ == "__main__":
    unittest.main()
