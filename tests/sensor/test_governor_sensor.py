"""The governor sensor, driven through a stand-in for st2's sensor base class
(tests/sensor/st2reactor) against the real governor_tick binary and a real
embedded datastore. Run: python3 -m unittest tests/sensor/test_governor_sensor.py
with AUTOSCALE_BIN_DIR naming the binaries under test."""
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)  # the st2reactor stand-in
BIN_DIR = os.environ.get("AUTOSCALE_BIN_DIR", os.path.join(ROOT, "actions", "bin"))


def load_sensor_module():
    spec = importlib.util.spec_from_file_location(
        "governor_sensor", os.path.join(ROOT, "sensors", "governor_sensor.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class FakeSensorService:
    def __init__(self):
        self.dispatched = []
        self.records = []

    def get_logger(self, name):
        svc = self

        class Collect(logging.Handler):
            def emit(self, record):
                svc.records.append((record.levelname, record.getMessage()))

        log = logging.getLogger("test." + name + str(id(self)))
        log.setLevel(logging.DEBUG)
        log.addHandler(Collect())
        log.propagate = False
        return log

    def dispatch(self, trigger, payload=None, trace_tag=None):
        self.dispatched.append((trigger, payload))

    def errors(self):
        return [m for level, m in self.records if level == "ERROR"]


class GovernorSensorTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="as-sensor-")
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith("ST2_") or k.startswith("AUTOSCALE_"):
                del self.env[k]
        self.env["AUTOSCALE_DB"] = os.path.join(self.dir, "store.db")
        self.saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(self.env)
        os.environ["AUTOSCALE_GOVERNOR_TICK"] = os.path.join(BIN_DIR, "governor_tick")
        self.mod = load_sensor_module()
        self.svc = FakeSensorService()

    def tearDown(self):
        os.environ.clear()
        os.environ.update(self.saved)
        shutil.rmtree(self.dir)

    def action(self, name, *args):
        out = subprocess.run([os.path.join(BIN_DIR, name)] + list(args),
                             env=os.environ, capture_output=True, check=False)
        return out.returncode, json.loads(out.stdout)

    def sensor(self):
        s = self.mod.GovernorSensor(sensor_service=self.svc, config={}, poll_interval=30)
        s.setup()
        return s

    def test_below_min_dispatches_scale_out_once(self):
        rc, _ = self.action("asg_define", "--name=web", "--min=2", "--max=5")
        self.assertEqual(rc, 0)
        s = self.sensor()
        s.poll()
        self.assertEqual(len(self.svc.dispatched), 1)
        trigger, payload = self.svc.dispatched[0]
        self.assertEqual(trigger, "autoscale.scale_out")
        self.assertEqual(payload["asg"], "web")
        self.assertEqual(payload["count"], 2)
        self.assertIn("below min", payload["reason"])
        self.assertRegex(payload["lease_id"], r"^\d{12}-scale_out-[0-9a-f]{8}$")
        # the lease holds: the next poll dispatches nothing more
        s.poll()
        self.assertEqual(len(self.svc.dispatched), 1)
        self.assertEqual(self.svc.errors(), [])

    def test_quiet_group_dispatches_nothing(self):
        self.action("asg_define", "--name=api", "--min=0", "--max=3")
        self.sensor().poll()
        self.assertEqual(self.svc.dispatched, [])
        self.assertEqual(self.svc.errors(), [])

    def test_missing_binary_is_logged_and_polling_goes_on(self):
        os.environ["AUTOSCALE_GOVERNOR_TICK"] = os.path.join(self.dir, "nope")
        s = self.sensor()
        s.poll()
        s.poll()
        self.assertEqual(self.svc.dispatched, [])
        self.assertEqual(len(self.svc.errors()), 2)

    def test_failing_binary_is_logged(self):
        os.environ["AUTOSCALE_DATASTORE"] = "bogus"
        s = self.sensor()
        s.poll()
        self.assertEqual(self.svc.dispatched, [])
        self.assertTrue(any("bad_datastore" in m for m in self.svc.errors()))

    def test_payloads_match_the_declared_schema(self):
        import yaml
        with open(os.path.join(ROOT, "sensors", "governor_sensor.yaml")) as f:
            meta = yaml.safe_load(f)
        declared = {t["name"]: set(t["payload_schema"]["properties"])
                    for t in meta["trigger_types"]}
        self.action("asg_define", "--name=web", "--min=1")
        self.sensor().poll()
        for trigger, payload in self.svc.dispatched:
            self.assertEqual(set(payload), declared[trigger.split(".", 1)[1]])


if __name__ == "__main__":
    unittest.main()
