"""The governor sensor, driven through stand-ins for st2's sensor base class
and sensor service (tests/sensor/st2reactor, st2common, st2client) against
the real governor_tick binary: first with the embedded datastore, then
against the fake st2 API (tests/fakes/fake_st2, run as a program) with
tokens that expire. Run: python3 -m unittest tests/sensor/test_governor_sensor.py
with AUTOSCALE_BIN_DIR naming the binaries under test and AUTOSCALE_TEST_DIR
the test programs (fake_st2)."""
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)  # the st2 stand-ins
BIN_DIR = os.environ.get("AUTOSCALE_BIN_DIR", os.path.join(ROOT, "actions", "bin"))
TEST_DIR = os.environ.get("AUTOSCALE_TEST_DIR", os.path.join(ROOT, "build", "release", "tests"))

from st2common.services import access  # noqa: E402  (needs the path above)
from st2reactor.container.sensor_wrapper import SensorService  # noqa: E402

START_TOKEN = "start-token-5e2f0c9d"  # what process_container.py would put in the env
ADMIN_KEY = "admin-key-8b41d7aa"     # the test's own way in, for setting up groups


def load_sensor_module():
    spec = importlib.util.spec_from_file_location(
        "governor_sensor", os.path.join(ROOT, "sensors", "governor_sensor.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Records(logging.Handler):
    """Every record the sensor logs, at every level."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append((record.levelname, record.getMessage()))

    def at(self, level):
        return [m for lv, m in self.records if lv == level]


class SensorTestBase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="as-sensor-")
        self.addCleanup(shutil.rmtree, self.dir)
        saved = dict(os.environ)
        self.addCleanup(lambda: (os.environ.clear(), os.environ.update(saved)))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("ST2_", "AUTOSCALE_"))}
        env["AUTOSCALE_DB"] = os.path.join(self.dir, "store.db")
        env["AUTOSCALE_GOVERNOR_TICK"] = os.path.join(BIN_DIR, "governor_tick")
        # The binary's debug lines reach the sensor's debug log: the most
        # a token could leak through.
        env["AUTOSCALE_LOG_LEVEL"] = "debug"
        os.environ.clear()
        os.environ.update(env)
        self.mod = load_sensor_module()
        self.svc = SensorService(pack="autoscale", class_name="GovernorSensor")
        self.log = Records()
        self.wrapper_log = logging.getLogger(self.svc._logger.name)
        self.wrapper_log.setLevel(logging.DEBUG)
        self.wrapper_log.addHandler(self.log)
        self.wrapper_log.propagate = False
        self.addCleanup(self.wrapper_log.removeHandler, self.log)

    def action(self, name, *args, env=None):
        out = subprocess.run([os.path.join(BIN_DIR, name)] + list(args),
                             env=env or os.environ, capture_output=True, check=False)
        return out.returncode, json.loads(out.stdout)

    def define_group(self, *args, env=None):
        """asg_define with the demo's provider (nothing is started here)."""
        return self.action("asg_define", "--compute_provider=local", *args, env=env)

    def sensor(self, config=None):
        s = self.mod.GovernorSensor(sensor_service=self.svc, config=config or {},
                                    poll_interval=30)
        s.setup()
        return s

    def errors(self):
        return self.log.at("ERROR")


class GovernorSensorTest(SensorTestBase):
    """The embedded datastore: what the sensor decides and dispatches."""

    def test_below_min_dispatches_scale_out_once(self):
        rc, _ = self.define_group("--name=web", "--min=2", "--max=5")
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
        self.assertEqual(self.errors(), [])

    def test_quiet_group_dispatches_nothing(self):
        self.define_group("--name=api", "--min=0", "--max=3")
        self.sensor().poll()
        self.assertEqual(self.svc.dispatched, [])
        self.assertEqual(self.errors(), [])

    def test_missing_binary_is_logged_and_polling_goes_on(self):
        os.environ["AUTOSCALE_GOVERNOR_TICK"] = os.path.join(self.dir, "nope")
        s = self.sensor()
        s.poll()
        s.poll()
        self.assertEqual(self.svc.dispatched, [])
        self.assertEqual(len(self.errors()), 2)

    def test_failing_binary_is_logged(self):
        os.environ["AUTOSCALE_DATASTORE"] = "bogus"
        s = self.sensor()
        s.poll()
        self.assertEqual(self.svc.dispatched, [])
        self.assertTrue(any("bad_datastore" in m for m in self.errors()))

    def test_payloads_match_the_declared_schema(self):
        import yaml
        with open(os.path.join(ROOT, "sensors", "governor_sensor.yaml")) as f:
            meta = yaml.safe_load(f)
        declared = {t["name"]: set(t["payload_schema"]["properties"])
                    for t in meta["trigger_types"]}
        self.define_group("--name=web", "--min=1")
        self.sensor().poll()
        for trigger, payload in self.svc.dispatched:
            self.assertEqual(set(payload), declared[trigger.split(".", 1)[1]])


class St2TokenTest(SensorTestBase):
    """The st2 datastore behind the fake st2 API, whose tokens expire: the
    sensor's start-up token (st2 makes it once, for service_token_ttl) and
    the service tokens of the sensor service's datastore client."""

    def setUp(self):
        super().setUp()
        fake = os.path.join(TEST_DIR, "fake_st2")
        self.assertTrue(os.access(fake, os.X_OK), f"{fake} is not built (make tests)")
        # The start-up token is good for one request: the test spends it,
        # standing for the day after which st2 stops accepting it.
        self.fake = subprocess.Popen(
            [fake, "--control", "--token-uses=1", START_TOKEN, ADMIN_KEY],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(self.stop_fake)
        self.url = self.fake.stdout.readline().strip()
        self.assertTrue(self.url.startswith("http://127.0.0.1:"), self.url)
        del os.environ["AUTOSCALE_DB"]
        os.environ["ST2_API_URL"] = self.url
        os.environ["ST2_AUTH_TOKEN"] = START_TOKEN
        access.TOKEN_DB_URL = self.url
        self.addCleanup(setattr, access, "TOKEN_DB_URL", None)
        # Every token the sensor service makes, to look for in the logs.
        self.made = []
        real = access.create_token

        def recording(*args, **kwargs):
            t = real(*args, **kwargs)
            self.made.append(t.token)
            return t
        patcher = mock.patch.object(access, "create_token", side_effect=recording)
        patcher.start()
        self.addCleanup(patcher.stop)

    def tearDown(self):
        # Every test here: no credential in any line the sensor logged.
        for level, message in self.log.records:
            for secret in [START_TOKEN, ADMIN_KEY] + self.made:
                self.assertNotIn(secret, message, f"a credential in a {level} log line")

    def stop_fake(self):
        self.fake.terminate()
        self.fake.wait()
        self.fake.stdout.close()

    def http(self, method, path, token=None, body=None):
        """(status, document) of one request to the fake."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["X-Auth-Token"] = token
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.load(resp)
        except urllib.error.HTTPError as e:
            with e:
                return e.code, json.load(e)

    def stats(self):
        return self.http("GET", "/_fake/stats")[1]

    def spend_start_token(self):
        """A day later: st2 refuses the token the sensor got at start."""
        self.http("GET", "/keys/anything", token=START_TOKEN)
        self.assertEqual(self.http("GET", "/keys/anything", token=START_TOKEN),
                         (401, {"faultstring": "Unauthorized - Token has expired."}))

    def define(self, name):
        env = {k: v for k, v in os.environ.items() if k != "ST2_AUTH_TOKEN"}
        env["ST2_API_KEY"] = ADMIN_KEY
        rc, doc = self.define_group(f"--name={name}", "--min=1", "--max=3", env=env)
        self.assertEqual(rc, 0, doc)

    def poll_deciding(self, s, group):
        """One poll that must decide a scale_out for the new group `group`."""
        self.define(group)
        before = len(self.svc.dispatched)
        s.poll()
        self.assertEqual(self.errors(), [])
        self.assertEqual([(t, p["asg"]) for t, p in self.svc.dispatched[before:]],
                         [("autoscale.scale_out", group)])
        self.assertRegex(self.svc.dispatched[-1][1]["lease_id"], r"-scale_out-")

    def warnings(self):
        return [m for m in self.log.at("WARNING") if "is not built" not in m]

    def test_ticks_go_on_after_the_start_token_expires(self):
        # The old sensor handed this token to governor_tick: every tick then
        # failed with datastore_unauthorized.
        self.spend_start_token()
        s = self.sensor()
        for i in range(3):
            self.poll_deciding(s, f"g{i}")
        self.assertEqual(self.warnings(), [])
        self.assertEqual(self.stats()["minted"], 1)

    def test_token_st2_expires_is_renewed_by_the_sensor_service(self):
        s = self.sensor()
        self.poll_deciding(s, "g0")
        # A day passes: st2 no longer takes the service token, and the
        # sensor service's own clock says so too, so it makes a new one.
        self.spend_start_token()
        self.http("POST", "/_fake/expire")
        self.svc.datastore_service._token_expire = datetime.now(timezone.utc)
        self.poll_deciding(s, "g1")
        self.assertEqual(self.warnings(), [])
        self.assertEqual(len(set(self.made)), 2)
        self.assertEqual(self.stats()["expired"], 1)  # only the test's own try

    def test_token_about_to_expire_is_replaced_before_the_tick(self):
        s = self.sensor()
        self.poll_deciding(s, "g0")
        # Ten seconds left: it could expire while the tick takes leases.
        self.svc.datastore_service._token_expire = (
            datetime.now(timezone.utc) + timedelta(seconds=10))
        self.poll_deciding(s, "g1")
        self.assertEqual(len(set(self.made)), 2)
        self.assertEqual(self.stats()["unauthorized"], 0)

    def test_token_refused_early_is_renewed_and_the_tick_retried(self):
        s = self.sensor()
        self.poll_deciding(s, "g0")
        # st2 stops taking the token while the sensor service still thinks
        # it good (revoked, clocks apart): the same poll must still decide.
        self.http("POST", "/_fake/expire")
        self.poll_deciding(s, "g1")
        self.assertEqual(len(self.warnings()), 1)
        self.assertIn("renewing", self.warnings()[0])
        self.assertEqual(len(set(self.made)), 2)
        self.assertGreaterEqual(self.stats()["expired"], 1)

    def test_a_new_token_refused_too_is_not_renewed_every_poll(self):
        # Tokens st2's API does not know (another database, say): renewing
        # cannot help, and must not mint a token every 30 seconds.
        access.TOKEN_DB_URL = None
        self.define("g0")
        s = self.sensor()
        for _ in range(3):
            s.poll()
        self.assertEqual(self.svc.dispatched, [])
        self.assertEqual(len(self.made), 2)
        self.assertEqual(len(self.errors()), 3)
        for message in self.errors():
            self.assertIn("datastore_unauthorized", message)
            self.assertIn("st2_api_key", message)

    def test_configured_api_key_is_used_and_no_token_made(self):
        self.spend_start_token()
        s = self.sensor(config={"st2_api_key": ADMIN_KEY})
        for i in range(2):
            self.poll_deciding(s, f"g{i}")
        self.assertEqual(self.made, [])
        self.assertEqual(self.stats()["unauthorized"], 1)  # only the test's own try

    def test_start_token_is_still_the_fallback_without_a_datastore_service(self):
        # A sensor service with no renewing client (st2 before 2.10, other
        # stand-ins): the start-up token is all there is, and once it has
        # expired the error says what to do.
        self.spend_start_token()
        self.svc._datastore_service = None
        s = self.sensor()
        self.define("g0")
        s.poll()
        self.assertEqual(self.svc.dispatched, [])
        [message] = self.errors()
        self.assertIn("datastore_unauthorized", message)
        self.assertIn("never renewed", message)


if __name__ == "__main__":
    unittest.main()
