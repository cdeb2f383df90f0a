"""The three webhook rules (rules/*_webhook.yaml) on tests/st2lite: each
webhook URL runs autoscale.alert_respond with the body and the rule's source
hint, whose alert_intake is, the pack being built, alert_event's answer: the
group's incident opened (what alert_respond then starts:
tests/workflows/test_alert_respond.py). (alert_intake's other half, keeping the alert while the
pack is not built, is in tests/sensor/test_governor_sensor.py.)
Run: python3 -m unittest tests/workflows/test_webhook_rules.py"""
import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import st2lite  # noqa: E402

ALERTS = os.path.join(ROOT, "tests", "fixtures", "alerts")
CASES = [  # url, fixture, the source alert_event reports
    ("autoscale/newrelic", "nr_channel_open_critical.json", "newrelic_channel"),
    ("autoscale/alertmanager", "am_firing_critical.json", "alertmanager"),
    ("autoscale/alert", "generic_open_critical.json", "generic"),
]


class WebhookRuleTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="as-rules-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        pack = st2lite.Pack(ROOT, {"compute_provider": "local",
                                   "local_dir": os.path.join(self.dir, "local")})
        self.runner = st2lite.Runner(pack, {"AUTOSCALE_DB": os.path.join(self.dir, "db")})
        self.reactor = st2lite.Reactor(self.runner)
        # Scale-out suspended: the alert's own tick decides none, so these
        # rule tests start no machine.
        ex = self.runner.run("autoscale.asg_define", {"name": "web", "min": 0, "max": 3,
                                                      "suspend_scale_out": 1})
        self.assertTrue(ex.succeeded, ex.result)

    def test_each_webhook_runs_alert_respond_whose_intake_opens_the_incident(self):
        for url, fixture, source in CASES:
            with self.subTest(url=url):
                with open(os.path.join(ALERTS, fixture)) as f:
                    body = json.load(f)
                [ex] = self.reactor.webhook(url, body)
                self.assertEqual(ex.ref, "autoscale.alert_respond")
                self.assertTrue(ex.succeeded, ex.result)
                self.assertEqual(json.loads(ex.params["body"]), body)
                [intake] = [e for e in self.runner.log if e.parent is ex
                            and e.ref == "autoscale.alert_intake"]
                self.assertEqual(intake.params["body"], ex.params["body"])
                events = intake.result["stdout"]["events"]
                self.assertEqual([e.ref for e in self.runner.log
                                  if e.ref in ("autoscale.scale_out", "autoscale.replace")], [])
                self.assertEqual([(e["group"], e["source"], e["change"]) for e in events],
                                 [("web", source, "opened")])

    def test_the_rules_pass_what_alert_event_takes(self):
        # alert_intake hands its parameters to alert_event unchanged: the two
        # must declare the same ones.
        intake = self.runner.pack.action("autoscale.alert_intake")["parameters"]
        event = self.runner.pack.action("autoscale.alert_event")["parameters"]
        self.assertEqual(intake, event)


if __name__ == "__main__":
    unittest.main()
