"""autoscale.uninstall (actions/workflows/uninstall.yaml), what an operator
runs before `st2 pack remove autoscale`: every group decommissioned through
asg_delete, so no VM and no key is left behind. Run on tests/st2lite with
the real C actions, the embedded datastore and the local compute provider
(its "VMs" are demo_app processes with a record in local_dir).
Run: python3 -m unittest tests/workflows/test_uninstall.py"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "demo"))

import st2lite  # noqa: E402
from servers import free_port  # noqa: E402

CONFIRM = "delete-every-group"


class UninstallTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="as-uninstall-")
        self.local = os.path.join(self.dir, "local")
        config = {"compute_provider": "local", "local_dir": self.local,
                  "local_port": free_port(), "local_grace_ms": 300, "lb_drain_timeout": 5}
        self.db = os.path.join(self.dir, "db")
        env = {"AUTOSCALE_DB": self.db, "XDG_STATE_HOME": os.path.join(self.dir, "state")}
        self.runner = st2lite.Runner(st2lite.Pack(ROOT, config), env)

    def tearDown(self):
        # Whatever a failed test left: no demo_app may outlive it.
        for g in (self.run_ok("autoscale.asg_list").result["stdout"].get("groups") or []):
            self.runner.run("autoscale.asg_delete", {"name": g["name"]})
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_ok(self, ref, params=None):
        ex = self.runner.run(ref, params or {})
        self.assertTrue(ex.succeeded, ex.result)
        return ex

    def machines(self):
        if not os.path.isdir(self.local):
            return []
        return sorted(f for f in os.listdir(self.local) if f.endswith(".json"))

    def keys(self):
        with sqlite3.connect(self.db) as db:
            return sorted(r[0] for r in db.execute("SELECT name FROM kv"))

    def refs(self):
        return [e.ref.split(".", 1)[1] for e in self.runner.log]

    def two_groups_with_a_node_each(self):
        for name in ("web", "api"):
            self.run_ok("autoscale.asg_define", {"name": name, "min": 1, "max": 3})
            out = self.run_ok("autoscale.node_up", {"name": name}).result["output"]
            self.assertTrue(out["up"], out)
        self.assertEqual(len(self.machines()), 2)

    def test_every_group_goes_with_its_vms_and_keys(self):
        self.two_groups_with_a_node_each()
        self.assertTrue(any(k.startswith("autoscale.node.") for k in self.keys()))
        ex = self.run_ok("autoscale.uninstall", {"confirm": CONFIRM})
        self.assertEqual(sorted(ex.result["output"]["groups"]), ["api", "web"])
        self.assertEqual(ex.result["output"]["remaining"], [])
        self.assertEqual(self.refs().count("asg_delete"), 2)
        self.assertEqual(self.machines(), [])
        self.assertEqual([k for k in self.keys() if k.startswith("autoscale.")], [])

    def test_nothing_to_do_succeeds(self):
        ex = self.run_ok("autoscale.uninstall", {"confirm": CONFIRM})
        self.assertEqual(ex.result["output"], {"groups": [], "remaining": []})
        self.assertNotIn("asg_delete", self.refs())

    def test_it_asks_for_the_confirmation(self):
        self.two_groups_with_a_node_each()
        before = len(self.runner.log)
        for params in ({}, {"confirm": "yes"}):
            ex = self.runner.run("autoscale.uninstall", params)
            self.assertEqual(ex.status, "failed")
            self.assertTrue(ex.refused, "st2 must refuse the request before it runs")
        self.assertEqual(len(self.runner.log), before + 2)  # the two refusals, nothing run
        self.assertEqual(len(self.machines()), 2)

    def test_a_group_left_behind_fails_it_is_named_and_a_rerun_finishes(self):
        self.two_groups_with_a_node_each()
        env = dict(os.environ, **self.runner.env)

        def retire(params):  # asg_retire, but refusing "api" as a down datastore would
            if params["name"] == "api":
                return {"stdout": {"error": {"code": "datastore_unavailable"}}, "stderr": "",
                        "return_code": 1, "succeeded": False, "failed": True}
            p = subprocess.run([os.path.join(ROOT, "actions", "bin", "asg_retire"),
                                "--name=" + params["name"]], env=env, capture_output=True,
                               check=False)
            return {"stdout": json.loads(p.stdout), "stderr": "", "return_code": p.returncode,
                    "succeeded": p.returncode == 0, "failed": p.returncode != 0}

        healthy = self.runner
        self.runner = st2lite.Runner(healthy.pack, healthy.env,
                                     stubs={"autoscale.asg_retire": retire})
        ex = self.runner.run("autoscale.uninstall", {"confirm": CONFIRM})
        self.assertEqual(ex.status, "failed")
        self.assertIn("api", ex.result["output"]["remaining"])
        self.assertEqual(sorted(ex.result["output"]["groups"]), ["api", "web"])
        self.assertGreaterEqual(len(self.machines()), 1)

        self.runner = healthy
        ex = self.run_ok("autoscale.uninstall", {"confirm": CONFIRM})
        self.assertEqual(ex.result["output"]["remaining"], [])
        self.assertEqual(self.machines(), [])
        self.assertEqual([k for k in self.keys() if k.startswith("autoscale.")], [])

if __name__ == "__main__":
    unittest.main()
