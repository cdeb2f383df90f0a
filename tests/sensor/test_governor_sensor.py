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


def declared_triggers():
    """sensors/governor_sensor.yaml's trigger types: name -> payload_schema."""
    import yaml
    with open(os.path.join(ROOT, "sensors", "governor_sensor.yaml")) as f:
        meta = yaml.safe_load(f)
    return {"autoscale." + t["name"]: t["payload_schema"] for t in meta["trigger_types"]}


def st2_refuses(trigger, payload):
    """What st2 says of a dispatched payload (tests/st2lite's imitation of
    validate_trigger_payload, st2's own validator): None when it passes."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    try:
        from st2lite import schema as S
    finally:
        sys.path.pop(0)
    schema = declared_triggers().get(trigger)
    if schema is None:
        return f"no trigger type {trigger}"
    try:
        S.validate(payload, schema, use_default=True, allow_none=True)
    except S.ValidationError as e:
        return str(e)
    return None


REPLACE = {"group": "web", "action": "replace", "code": "replace", "count": 2, "remove": 2,
           "capacity_before": 1, "capacity_after": 3, "alert": "none",
           "reason": "2 unhealthy node(s): replacing, new ones first",
           "lease_id": "001800000000-replace-0a1b2c3d"}
NOTICES = [{"group": "api", "event": "alert_opened", "reason": "critical alert cpu opened",
            "count": 2},
           {"group": "db", "event": "capacity_exhausted",
            "reason": "critical alert at max 4: nothing more to add", "count": 4}]


class DispatchTest(SensorTestBase):
    """What the sensor makes of each kind of thing the tick prints, with a
    stand-in governor_tick that prints a fixed document (the C decides;
    this is the mapping from its output to triggers)."""

    def tick_prints(self, doc, rc=0):
        path = os.path.join(self.dir, "governor_tick")
        with open(path, "w") as f:
            f.write("#!/bin/sh\ncat <<'EOF'\n%s\nEOF\nexit %d\n" % (json.dumps(doc), rc))
        os.chmod(path, 0o755)
        os.environ["AUTOSCALE_GOVERNOR_TICK"] = path

    def test_a_replace_decision_is_a_replace_trigger_with_its_remove_count(self):
        self.tick_prints({"dry_run": False, "decisions": [
            dict(REPLACE, group="aaa", action="none", code="rest", count=0, remove=0,
                 lease_id=None),
            REPLACE], "notices": []})
        self.sensor().poll()
        self.assertEqual(self.svc.dispatched, [("autoscale.replace", {
            "asg": "web", "count": 2, "remove": 2, "reason": REPLACE["reason"],
            "lease_id": REPLACE["lease_id"]})])
        self.assertEqual(self.errors(), [])

    def test_every_notice_is_a_notice_trigger_after_the_decisions(self):
        out = dict(REPLACE, group="api", action="scale_out", code="alert", remove=0,
                   lease_id="001800000000-scale_out-0a1b2c3d")
        self.tick_prints({"dry_run": False, "decisions": [out], "notices": NOTICES})
        self.sensor().poll()
        self.assertEqual(self.svc.dispatched, [
            ("autoscale.scale_out", {"asg": "api", "count": 2, "reason": out["reason"],
                                     "lease_id": out["lease_id"]}),
            ("autoscale.notice", {"asg": "api", "event": "alert_opened",
                                  "reason": "critical alert cpu opened", "count": 2}),
            ("autoscale.notice", {"asg": "db", "event": "capacity_exhausted",
                                  "reason": NOTICES[1]["reason"], "count": 4})])

    def test_a_notice_without_count_or_reason_still_renders_in_the_rule(self):
        # null would pass st2's payload check (allow_default_none) and then
        # fail the rule's "{{ trigger.count }}" cast to notify's integer
        self.tick_prints({"decisions": [], "notices": [
            {"group": "api", "event": "alert_closed", "reason": None, "count": None},
            {"group": "db", "event": "alert_closed"}]})
        self.sensor().poll()
        self.assertEqual([p for _, p in self.svc.dispatched], [
            {"asg": "api", "event": "alert_closed", "reason": "", "count": 0},
            {"asg": "db", "event": "alert_closed", "reason": "", "count": 0}])

    def test_a_notice_that_is_not_one_is_logged_and_the_others_go(self):
        self.tick_prints({"decisions": [], "notices": [
            "alert_opened", {"event": "alert_opened"}, {"group": "api", "event": 7},
            {"group": "api", "event": "alert_opened", "count": "2"},
            {"group": "api", "event": "alert_opened", "count": True}, NOTICES[0]]})
        self.sensor().poll()
        self.assertEqual([p["asg"] for _, p in self.svc.dispatched], ["api"])
        warnings = self.log.at("WARNING")
        self.assertEqual(len(warnings), 5, warnings)
        self.assertTrue(all("not one" in w for w in warnings), warnings)

    def test_a_tick_without_notices_dispatches_its_decisions(self):
        # a governor_tick from before notices existed, or a dry document
        self.tick_prints({"decisions": [REPLACE]})
        self.sensor().poll()
        self.assertEqual([t for t, _ in self.svc.dispatched], ["autoscale.replace"])

    def test_a_failed_tick_dispatches_nothing_not_even_its_notices(self):
        self.tick_prints({"error": {"code": "datastore_error", "message": "disk says no"},
                          "decisions": [REPLACE], "notices": NOTICES}, rc=1)
        self.sensor().poll()
        self.assertEqual(self.svc.dispatched, [])
        self.assertEqual(len(self.errors()), 1)

    def test_every_payload_passes_st2s_check_against_the_declared_schema(self):
        decisions = [dict(REPLACE, action=a, group=a.replace("_", ""))
                     for a in ("scale_out", "scale_in", "replace")]
        self.tick_prints({"decisions": decisions, "notices": NOTICES})
        self.sensor().poll()
        self.assertEqual(len(self.svc.dispatched), 5)
        declared = declared_triggers()
        for trigger, payload in self.svc.dispatched:
            self.assertIsNone(st2_refuses(trigger, payload), (trigger, payload))
            self.assertEqual(set(payload), set(declared[trigger]["properties"]), trigger)

    def test_a_rule_for_each_trigger_type_of_the_sensor(self):
        """A trigger nothing listens to would be dispatched for nothing."""
        import yaml
        ruled = set()
        for name in os.listdir(os.path.join(ROOT, "rules")):
            with open(os.path.join(ROOT, "rules", name)) as f:
                ruled.add(yaml.safe_load(f)["trigger"]["type"])
        self.assertLessEqual(set(declared_triggers()), ruled)


class ReplaceTickTest(SensorTestBase):
    """The real governor_tick on a group with an unhealthy node: the
    sensor dispatches the replacement, once (the lease holds)."""

    def put(self, key, value):
        import sqlite3
        with sqlite3.connect(os.environ["AUTOSCALE_DB"]) as db:
            db.execute("INSERT OR REPLACE INTO kv(name, value) VALUES (?, ?)",
                       (key, json.dumps(value)))

    def node(self, name, status, now):
        self.put(f"autoscale.node.web.{name}", {
            "name": name, "group": "web", "state": "active", "provider": "local",
            "provider_id": name, "address": "127.0.0.1", "port": 1,
            "created_at": now - 3600, "updated_at": now - 3600})
        self.put(f"autoscale.health.web.{name}", {
            "node": name, "group": "web", "status": status,
            "failures": 3 if status == "unhealthy" else 0, "checked_at": now,
            "since": now - 60, "reason": "provider: process gone", "checks": {}})

    def test_an_unhealthy_node_is_replaced_new_first(self):
        import time
        rc, doc = self.define_group("--name=web", "--min=2", "--max=4")
        self.assertEqual(rc, 0, doc)
        now = int(time.time())
        self.node("web-aaaa0001", "healthy", now)
        self.node("web-aaaa0002", "healthy", now)
        self.node("web-aaaa0003", "unhealthy", now)
        s = self.sensor()
        s.poll()
        replace = [(t, p) for t, p in self.svc.dispatched if t == "autoscale.replace"]
        self.assertEqual(len(replace), 1, self.svc.dispatched)
        payload = replace[0][1]
        self.assertEqual((payload["asg"], payload["count"], payload["remove"]), ("web", 1, 1))
        self.assertRegex(payload["lease_id"], r"^\d{12}-replace-[0-9a-f]{8}$")
        self.assertIsNone(st2_refuses("autoscale.replace", payload))
        before = len(self.svc.dispatched)
        s.poll()
        self.assertEqual([t for t, _ in self.svc.dispatched[before:]
                          if t != "autoscale.notice"], [])
        self.assertEqual(self.errors(), [])

    def test_an_alert_opening_is_a_notice(self):
        rc, doc = self.define_group("--name=web", "--min=0", "--max=4")
        self.assertEqual(rc, 0, doc)
        s = self.sensor()
        s.poll()  # resting: the group's first record
        rc, doc = self.action("alert_event", "--asg=web", "--source=generic", '--body={"state": '
                              '"open", "severity": "critical", "id": "cpu"}')
        self.assertEqual(rc, 0, doc)
        s.poll()
        notices = [p for t, p in self.svc.dispatched if t == "autoscale.notice"]
        self.assertEqual([(p["asg"], p["event"]) for p in notices], [("web", "alert_opened")])
        self.assertIsNone(st2_refuses("autoscale.notice", notices[0]))
        self.assertIn("autoscale.scale_out", [t for t, _ in self.svc.dispatched])


class FakeSt2Base(SensorTestBase):
    """The st2 datastore behind the fake st2 API (tests/fakes/fake_st2)."""
    FAKE_ARGS = ["--control", START_TOKEN, ADMIN_KEY]

    def setUp(self):
        super().setUp()
        fake = os.path.join(TEST_DIR, "fake_st2")
        self.assertTrue(os.access(fake, os.X_OK), f"{fake} is not built (make tests)")
        self.fake = subprocess.Popen(
            [fake] + self.FAKE_ARGS,
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

    def define(self, name):
        env = {k: v for k, v in os.environ.items() if k != "ST2_AUTH_TOKEN"}
        env["ST2_API_KEY"] = ADMIN_KEY
        rc, doc = self.define_group(f"--name={name}", "--min=1", "--max=3", env=env)
        self.assertEqual(rc, 0, doc)


class St2TokenTest(FakeSt2Base):
    """The fake st2 API's tokens expire: the sensor's start-up token (st2
    makes it once, for service_token_ttl) and the service tokens of the
    sensor service's datastore client."""
    # The start-up token is good for one request: the test spends it,
    # standing for the day after which st2 stops accepting it.
    FAKE_ARGS = ["--control", "--token-uses=1", START_TOKEN, ADMIN_KEY]

    def tearDown(self):
        # Every test here: no credential in any line the sensor logged.
        for level, message in self.log.records:
            for secret in [START_TOKEN, ADMIN_KEY] + self.made:
                self.assertNotIn(secret, message, f"a credential in a {level} log line")

    def stats(self):
        return self.http("GET", "/_fake/stats")[1]

    def spend_start_token(self):
        """A day later: st2 refuses the token the sensor got at start."""
        self.http("GET", "/keys/anything", token=START_TOKEN)
        self.assertEqual(self.http("GET", "/keys/anything", token=START_TOKEN),
                         (401, {"faultstring": "Unauthorized - Token has expired."}))

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

    def test_configured_api_key_is_used_for_the_tick(self):
        self.spend_start_token()
        # Tokens the sensor service makes are unknown to the API here: a
        # tick that used one instead of the key would fail.
        access.TOKEN_DB_URL = None
        s = self.sensor(config={"st2_api_key": ADMIN_KEY})
        for i in range(2):
            self.poll_deciding(s, f"g{i}")
        # The only token made is the sensor service's own (st2's renewing
        # client, which lists deferred alerts), and never renewed by the tick.
        self.assertLessEqual(len(self.made), 1)

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


ACTION_TOKEN = "action-token-0c1d2e3f"  # what st2 gives one action execution
EXECUTION_IDS = iter("5f%022x" % i for i in range(1, 1000))  # ObjectId-shaped, in order


class DeferredAlertTest(FakeSt2Base):
    """actions/alert_intake.sh, which the webhook rules run: alert_event
    itself when it is built; otherwise the alert kept in st2's datastore,
    then replayed by the sensor before its tick."""
    FAKE_ARGS = ["--control", ACTION_TOKEN, ADMIN_KEY]

    def setUp(self):
        super().setUp()
        # Two copies of the script: one in a pack built here (bin is this
        # run's binaries), one in a pack st2 has just installed (no bin).
        self.built = self.pack_copy("built", bin_dir=BIN_DIR)
        self.fresh = self.pack_copy("fresh", bin_dir=None)
        self.mod.SETUP_MARKER = os.path.join(self.dir, "fresh", ".setup-running")

    def pack_copy(self, name, bin_dir):
        actions = os.path.join(self.dir, name, "actions")
        os.makedirs(actions)
        script = os.path.join(actions, "alert_intake.sh")
        shutil.copy(os.path.join(ROOT, "actions", "alert_intake.sh"), script)
        os.chmod(script, 0o755)
        if bin_dir:
            os.symlink(bin_dir, os.path.join(actions, "bin"))
        return script

    def intake(self, script, *args, **env):
        """As st2 runs it: its own execution id, API URL and token."""
        e = {k: v for k, v in os.environ.items() if k != "ST2_AUTH_TOKEN"}
        e.update({"ST2_ACTION_API_URL": self.url, "ST2_ACTION_AUTH_TOKEN": ACTION_TOKEN,
                  "ST2_ACTION_EXECUTION_ID": next(EXECUTION_IDS)}, **env)
        out = subprocess.run([script] + list(args), env=e, capture_output=True,
                             check=False, cwd="/")
        return out.returncode, out.stdout, e["ST2_ACTION_EXECUTION_ID"]

    def pending(self):
        status, docs = self.http("GET", "/keys?prefix=autoscale.pending_alert.",
                                 token=ACTION_TOKEN)
        self.assertEqual(status, 200)
        return {d["name"]: d for d in docs}

    def incidents(self, group):
        status, docs = self.http("GET", f"/keys?prefix=autoscale.incident.{group}.",
                                 token=ACTION_TOKEN)
        return [json.loads(d["value"]) for d in docs]

    def test_built_it_is_alert_event(self):
        # Each run on its own embedded store holding the same group, so the
        # two see the same state.
        stores = {}
        for who in ("intake", "direct"):
            stores[who] = {"AUTOSCALE_DB": os.path.join(self.dir, who + ".db"),
                           "ST2_ACTION_API_URL": "", "ST2_API_URL": ""}
            rc, doc = self.define_group("--name=web", "--min=0",
                                        env=dict(os.environ, **stores[who]))
            self.assertEqual(rc, 0, doc)
        cases = [
            ["--body=" + json.dumps({"asg": "web", "state": "open", "severity": "critical",
                                     "id": "a1"}), "--source=generic"],
            ["--body=" + json.dumps({"asg": "web", "state": "open", "severity": "critical",
                                     "id": "a1"})],  # a repeat: duplicate
            ["--body=not json"],
            ["--body=" + json.dumps({"asg": "nope", "state": "open", "id": "a2"})],
            ["--bogus=1"],
        ]
        for args in cases:
            rc_i, out_i, _ = self.intake(self.built, *args, **stores["intake"])
            rc_a, out_a, _ = self.intake(os.path.join(BIN_DIR, "alert_event"), *args,
                                         **stores["direct"])
            self.assertEqual((rc_i, json.loads(out_i)), (rc_a, json.loads(out_a)), args)
        self.assertEqual(self.pending(), {})

    def test_not_built_it_keeps_the_alert_byte_for_byte(self):
        canary = os.path.join(self.dir, "ran")
        bodies = [
            json.dumps({"asg": "web", "state": "open", "id": "q1",
                        "title": "it's \"quoted\" \\ back\\slashed"}),
            '{"asg": "web", "title": "$(touch %s)", "id": "q2", "state": "open"}' % canary,
            '{"asg": "web", "title": "`touch %s`; touch %s", "id": "q3"}' % (canary, canary),
            '{"asg": "web",\n "title": "two\nlines\tand\r\x01 control", "id": "q4"}',
            json.dumps({"asg": "web", "title": "caf\u00e9 \U0001F525 \u2603"}, ensure_ascii=False),
            "' \"; rm -rf / ; echo '",
        ]
        for body in bodies:
            rc, out, ex_id = self.intake(self.fresh, "--body=" + body, "--source=newrelic")
            self.assertEqual(rc, 0, out)
            doc = json.loads(out)
            key = "autoscale.pending_alert." + ex_id
            self.assertEqual((doc["deferred"], doc["key"]), (True, key))
            kept = self.pending()[key]
            self.assertEqual(json.loads(kept["value"]), {"body": body, "source": "newrelic"})
            self.assertTrue(kept["expire_timestamp"], "a deferred alert must not live for ever")
        self.assertFalse(os.path.exists(canary), "the body reached a shell")
        self.assertEqual(len(self.pending()), len(bodies))

    def test_not_built_it_refuses_what_alert_event_refuses(self):
        for args, code in [([b"--body={\"id\": \"\xff\xfe\"}"], "invalid_parameter"),
                           ([b"--body=x", b"--asg=\xc0\xaf"], "invalid_parameter"),
                           ([b"--body=x", b"--bogus=1"], "unknown_parameter"),
                           ([b"--asg=web"], "missing_parameter")]:
            rc, out, _ = self.intake(self.fresh, *args)
            self.assertEqual((rc, json.loads(out)["error"]["code"]), (2, code), args)
            rc_a, out_a, _ = self.intake(os.path.join(BIN_DIR, "alert_event"), *args)
            self.assertEqual(rc_a, 2, "alert_event takes what alert_intake refused")
        self.assertEqual(self.pending(), {})

    def test_not_built_and_no_st2_it_fails_loudly(self):
        rc, out, _ = self.intake(self.fresh, "--body={}", ST2_ACTION_API_URL="")
        self.assertEqual((rc, json.loads(out)["error"]["code"]), (1, "not_built"))
        rc, out, _ = self.intake(self.fresh, "--body={}", ST2_ACTION_AUTH_TOKEN="wrong-token")
        self.assertEqual((rc, json.loads(out)["error"]["code"]), (1, "deferral_failed"))
        self.assertNotIn(b"wrong-token", out)

    def test_while_setup_builds_it_defers(self):
        marker = os.path.join(os.path.dirname(os.path.dirname(self.built)), ".setup-running")
        with open(marker, "w"):
            pass
        rc, out, _ = self.intake(self.built, "--body={}")
        self.assertEqual((rc, json.loads(out).get("deferred")), (0, True))
        # A marker older than setup's timeout is one a dead setup left.
        os.utime(marker, (1, 1))
        rc, out, _ = self.intake(self.built, "--body={}")
        rc_a, out_a, _ = self.intake(os.path.join(BIN_DIR, "alert_event"), "--body={}")
        self.assertEqual((rc, json.loads(out)), (rc_a, json.loads(out_a)))
        self.assertEqual(rc, 2)

    def test_the_sensor_replays_kept_alerts_before_its_tick(self):
        self.define("web")  # min 1: its first tick would scale out anyway
        env = {k: v for k, v in os.environ.items() if k != "ST2_AUTH_TOKEN"}
        env["ST2_API_KEY"] = ADMIN_KEY
        rc, doc = self.action("asg_define", "--compute_provider=local", "--name=api",
                              "--min=0", "--max=3", env=env)
        self.assertEqual(rc, 0, doc)
        kept = []
        for state in ("open", "closed"):
            body = json.dumps({"asg": "api", "state": state, "severity": "critical",
                               "id": "inc-7", "title": "it's `down` $(now)"})
            rc, out, _ = self.intake(self.fresh, "--body=" + body, "--source=generic")
            self.assertEqual(rc, 0, out)
            kept.append(json.loads(out)["key"])
        # Something alert_event refuses for good, between them in time.
        rc, out, _ = self.intake(self.fresh, "--body=" + json.dumps(
            {"asg": "ghost", "state": "open", "id": "g"}))
        self.assertEqual(rc, 0, out)
        rc, out, _ = self.intake(self.fresh, "--body=" + json.dumps(
            {"asg": "api", "state": "open", "severity": "critical", "id": "inc-8"}))
        self.assertEqual(rc, 0, out)
        self.assertEqual(len(self.pending()), 4)

        # While setup builds: nothing replayed.
        with open(self.mod.SETUP_MARKER, "w"):
            pass
        s = self.sensor()
        s.poll()
        self.assertEqual(len(self.pending()), 4)
        self.assertEqual(self.incidents("api"), [])
        os.unlink(self.mod.SETUP_MARKER)

        s.poll()
        self.assertEqual(self.pending(), {})
        by_id = {i["id"]: i for i in self.incidents("api")}
        self.assertEqual(by_id["inc-7"]["state"], "closed")
        self.assertEqual(by_id["inc-8"]["state"], "open")
        # In the order they arrived: inc-7 opened then closed (the other
        # way round it would be closed early, then a duplicate).
        replayed = [m for m in self.log.at("INFO") if "replayed" in m]
        self.assertEqual(len(replayed), 3)
        self.assertIn('"change": "opened"', replayed[0])
        self.assertIn('"change": "closed"', replayed[1])
        self.assertIn('"id": "inc-8"', replayed[2])
        [dropped] = self.errors()
        self.assertIn("unknown_group", dropped)
        # The same poll's tick already saw the alert.
        self.assertIn(("autoscale.scale_out", "api"),
                      [(t, p["asg"]) for t, p in self.svc.dispatched])

    def test_a_replay_that_may_succeed_later_keeps_its_key_and_the_order(self):
        self.define("api")
        for state in ("open", "closed"):
            rc, out, _ = self.intake(self.fresh, "--body=" + json.dumps(
                {"asg": "api", "state": state, "severity": "critical", "id": "inc-9"}))
            self.assertEqual(rc, 0, out)
        # alert_event cannot reach the datastore (a revoked key): exit 1.
        self.sensor(config={"st2_api_key": "revoked-key"}).poll()
        self.assertEqual(len(self.pending()), 2)
        self.assertEqual(self.incidents("api"), [])
        [warning] = [m for m in self.log.at("WARNING") if "not replayed" in m]
        self.assertIn("datastore_unauthorized", warning)
        self.assertNotIn("revoked-key", warning)
        self.sensor(config={"st2_api_key": ADMIN_KEY}).poll()
        self.assertEqual(self.pending(), {})
        self.assertEqual([i["state"] for i in self.incidents("api")], ["closed"])


if __name__ == "__main__":
    unittest.main()
