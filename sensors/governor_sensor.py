"""The governor's clock: every poll runs the pack's governor_tick binary and
turns each scaling or replacement decision into a trigger (autoscale.scale_out,
scale_in, replace), and each of the tick's notices (alert opened or closed,
capacity exhausted; lib/model/history.h, history_notices) into an
autoscale.notice trigger. All the deciding happens in C (lib/model/governor.c);
this file only runs it, hands it a live credential, and dispatches.

Payloads. st2 checks a dispatched payload against its trigger type's
payload_schema (st2common/services/trigger_dispatcher.py,
TriggerDispatcherService.dispatch_with_context, with
system.validate_trigger_payload on, its default) and drops one that does not
fit, with only a warning in the sensor container's log; a null passes that
check (allow_default_none) and then fails the rule's cast to the action's
integer. Either way nothing runs: a replace would leave its lease to expire,
a notice would tell nobody. Decisions come typed from governor_tick; a
notice's reason and count are sent as "" and 0 when the tick gives none.

A missing or failing binary is logged and the sensor keeps polling: the next
poll may find it built (st2 run autoscale.setup) or the datastore back.

Deferred alerts. Until setup has built the pack on the host that runs a
webhook's action, the rules' alert_intake keeps each alert in st2's
datastore as autoscale.pending_alert.<execution id> (actions/alert_intake.sh).
Every poll, once alert_event exists and no build is running, the sensor
first replays those through alert_event, oldest first, deleting each key
once alert_event has taken it (or refused it as input it can never accept),
and only then runs the tick, so that tick already sees the alerts.

Credentials. The ST2_AUTH_TOKEN st2 puts in a sensor's environment is made
once, when the sensor starts, for service_token_ttl (24 h by default), and
is never renewed (st2reactor/container/process_container.py); handed on as
it is, every tick fails a day later. So the binary gets, in order:
  1. the pack config's st2_api_key, if the operator set one (API keys do not
     expire);
  2. else the token of st2's own renewing datastore client,
     sensor_service.datastore_service (st2common/services/datastore.py
     SensorDatastoreService.get_api_client makes a new service token when
     its last one has expired), replaced early when it would expire during
     the tick;
  3. and when st2 refuses that token anyway (datastore_unauthorized), one
     new token and one retry within the same poll.
Credentials travel in the child's environment, never on its command line,
and are never logged.
"""
import datetime
import json
import os
import subprocess
import time

from st2reactor.sensor.base import PollingSensor

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Written by actions/alert_intake.sh; st2 execution ids are ObjectIds, whose
# hex starts with their creation time (in seconds), so name order is arrival
# order to the second.
PENDING_PREFIX = "autoscale.pending_alert."
# actions/setup.sh holds this file while it builds: binaries may be half
# linked. One older than setup's timeout (600 s) is left over from a setup
# that died, and is ignored (actions/alert_intake.sh applies the same rule).
SETUP_MARKER = os.path.join(PACK_DIR, ".setup-running")
SETUP_MARKER_STALE = 15 * 60
# lib/core/error.h: exit 2 is input that can never succeed; keep nothing for it.
EXIT_BADINPUT = 2
# decision action -> (trigger, the decision's fields its payload carries
# besides asg); sensors/governor_sensor.yaml declares the same payloads.
TRIGGERS = {
    "scale_out": ("autoscale.scale_out", ("count", "reason", "lease_id")),
    "scale_in": ("autoscale.scale_in", ("count", "reason", "lease_id")),
    "replace": ("autoscale.replace", ("count", "remove", "reason", "lease_id")),
}
NOTICE = "autoscale.notice"
UNAUTHORIZED = "datastore_unauthorized"
# lib/store/datastore.c reads these; an action token would win over ours.
TOKEN_VARS = ("ST2_ACTION_AUTH_TOKEN", "ST2_AUTH_TOKEN")
# What to do when st2 refuses the credential, by where it came from.
ADVICE = {
    "api_key": " (the pack config's st2_api_key: is it current and enabled?)",
    "service": " (st2 refused a newly made service token too: check its RBAC for the "
    "sensor_service user, or set st2_api_key in the pack config)",
    "environment": " (the token st2 gave the sensor at start lives "
    "auth.service_token_ttl and is never renewed: set st2_api_key in the "
    "pack config, or restart st2sensorcontainer)",
}


def _refused(failure):
    return failure is not None and failure[0] == UNAUTHORIZED


class GovernorSensor(PollingSensor):
    def __init__(self, sensor_service, config=None, poll_interval=30):
        super(GovernorSensor, self).__init__(
            sensor_service=sensor_service, config=config, poll_interval=poll_interval
        )
        self._log = self.sensor_service.get_logger(name=self.__class__.__name__)
        # AUTOSCALE_GOVERNOR_TICK overrides the binary (tests; unusual installs).
        self._binary = os.environ.get("AUTOSCALE_GOVERNOR_TICK") or os.path.join(
            PACK_DIR, "actions", "bin", "governor_tick"
        )
        self._alert_event = os.path.join(os.path.dirname(self._binary), "alert_event")
        # Leave the binary well inside one poll interval.
        self._timeout = max(5, int(poll_interval or 30) - 5)
        # A token st2 refused straight after we had it renewed: renewing
        # again would not help (a 403 from RBAC, a clock far off) and would
        # mint a token every poll, so wait for st2's own renewal instead.
        self._refused_fresh = None

    def setup(self):
        if not os.access(self._binary, os.X_OK):
            self._log.warning(
                "%s is not built yet: run `st2 run autoscale.setup`", self._binary
            )

    def poll(self):
        self._replay_pending()
        doc = self._tick()
        if doc is None:
            return
        for decision in doc.get("decisions") or []:
            if not isinstance(decision, dict) or decision.get("action") not in TRIGGERS:
                continue
            trigger, fields = TRIGGERS[decision["action"]]
            payload = {"asg": decision.get("group")}
            payload.update((f, decision.get(f)) for f in fields)
            self._log.info("dispatching %s %s", trigger, payload)
            self.sensor_service.dispatch(trigger=trigger, payload=payload)
        # After the decisions: an operation waits on nobody's Slack.
        for notice in doc.get("notices") or []:
            payload = self._notice_payload(notice)
            if payload is None:
                self._log.warning("governor_tick printed a notice that is not one: %s",
                                  json.dumps(notice)[:500])
                continue
            self._log.info("dispatching %s %s", NOTICE, payload)
            self.sensor_service.dispatch(trigger=NOTICE, payload=payload)

    @staticmethod
    def _notice_payload(notice):
        """The autoscale.notice payload of one of the tick's notices
        ({group, event, reason, count}), or None for anything else. A notice
        about nothing in particular has no count; its payload says 0."""
        if not isinstance(notice, dict):
            return None
        group, event = notice.get("group"), notice.get("event")
        reason, count = notice.get("reason"), notice.get("count")
        if not isinstance(group, str) or not isinstance(event, str):
            return None
        if reason is not None and not isinstance(reason, str):
            return None
        if count is not None and (not isinstance(count, int) or isinstance(count, bool)):
            return None
        return {"asg": group, "event": event, "reason": reason or "", "count": count or 0}

    def _building(self):
        try:
            age = time.time() - os.stat(SETUP_MARKER).st_mtime
        except OSError:
            return False
        return age < SETUP_MARKER_STALE

    def _replay_pending(self):
        """Hand every alert alert_intake kept back to alert_event, oldest
        first. A key goes once alert_event has taken its alert (exit 0) or
        refused it for good (exit 2, logged with the body's key); any other
        failure keeps it and stops the replay, so later alerts never
        overtake it."""
        if not os.access(self._alert_event, os.X_OK) or self._building():
            return
        # st2's SensorService has list_values/delete_value (since 2.x);
        # stand-ins with no datastore (tests/st2lite's reactor) do not.
        lister = getattr(self.sensor_service, "list_values", None)
        if lister is None:
            return
        try:
            kvps = lister(local=False, prefix=PENDING_PREFIX)
        except Exception as e:
            # st2's API down or the token refused: the tick right after
            # meets the same and reports it (renewing a refused token).
            self._log.debug("could not list deferred alerts (%s)", type(e).__name__)
            return
        pending = sorted((k for k in kvps or [] if getattr(k, "name", None)),
                         key=lambda k: k.name)
        if not pending:
            return
        _, env, _ = self._credentials(renew=False)
        for kvp in pending:
            argv = self._replay_argv(kvp)
            if argv is None:
                self._log.error("deferred alert %s is not what alert_intake writes: "
                                "dropped", kvp.name)
                self.sensor_service.delete_value(kvp.name, local=False)
                continue
            doc, failure, code = self._run_binary(argv, env)
            if failure is None:
                self._log.info("replayed deferred alert %s: %s", kvp.name,
                               json.dumps(doc.get("events", []))[:2000])
            elif code == EXIT_BADINPUT:
                self._log.error("deferred alert %s refused by alert_event, dropped: %s",
                                kvp.name, failure[1])
            else:
                self._log.warning("deferred alert %s not replayed yet, will retry: %s",
                                  kvp.name, failure[1])
                return
            self.sensor_service.delete_value(kvp.name, local=False)

    def _replay_argv(self, kvp):
        try:
            kept = json.loads(kvp.value)
        except (TypeError, ValueError):
            return None
        if not isinstance(kept, dict) or not isinstance(kept.get("body"), str):
            return None
        argv = [self._alert_event, "--body=" + kept["body"]]
        for name in ("asg", "source"):
            value = kept.get(name)
            if isinstance(value, str) and value:
                argv.append("--%s=%s" % (name, value))
        # alert_intake's values came from a command line: no NUL. One that
        # has one was written by something else, and execve cannot pass it.
        return None if any("\0" in a for a in argv) else argv

    def _tick(self):
        """Run governor_tick (renewing the token and retrying once if st2
        refuses it); its JSON document, or None after logging."""
        source, env, token = self._credentials(renew=False)
        doc, failure = self._run(env)
        if _refused(failure) and source == "service" and token != self._refused_fresh:
            self._log.warning(
                "st2 refused the datastore token: renewing it and running "
                "governor_tick again"
            )
            source, env, token = self._credentials(renew=True)
            doc, failure = self._run(env)
            if _refused(failure) and source == "service":
                self._refused_fresh = token
        if failure is None:
            self._refused_fresh = None
            return doc
        code, message = failure
        self._log.error("%s%s", message, ADVICE[source] if code == UNAUTHORIZED else "")
        return None

    def _credentials(self, renew):
        """(source, child environment, token) with source one of "api_key",
        "service" or "environment"."""
        env = dict(os.environ)
        api_key = (self.config or {}).get("st2_api_key")
        if api_key:
            # lib/store/ds_st2.c prefers any token to a key, so the child gets none.
            for name in TOKEN_VARS:
                env.pop(name, None)
            env["ST2_API_KEY"] = api_key
            return "api_key", env, None
        token = self._service_token(renew)
        if token is None:
            return "environment", env, None
        for name in TOKEN_VARS:
            env.pop(name, None)
        env["ST2_AUTH_TOKEN"] = token
        return "service", env, token

    def _service_token(self, renew):
        """A token from st2's renewing datastore client with at least one
        tick's life left, or None where there is no such client (then the
        environment's token is all there is)."""
        ds = getattr(self.sensor_service, "datastore_service", None)
        if ds is None or not hasattr(ds, "get_api_client"):
            return None
        try:
            if renew or self._expires_within(ds, self._timeout + 5):
                # get_api_client() makes a new token whenever it has no
                # client; st2 offers no public way to ask for one.
                ds._client = None
            token = getattr(ds.get_api_client(), "token", None)
        except Exception as e:  # st2's own failure to make a token (MongoDB down)
            self._log.warning(
                "st2's sensor service could not provide a datastore token (%s): "
                "using the sensor's start-up token",
                type(e).__name__,
            )
            return None
        return token or None

    @staticmethod
    def _expires_within(ds, seconds):
        """Whether ds's current token (st2 keeps its expiry in _token_expire,
        an aware UTC datetime) runs out within `seconds`. Unknown: no."""
        expire = getattr(ds, "_token_expire", None)
        if getattr(ds, "_client", None) is None or not isinstance(expire, datetime.datetime):
            return False
        try:
            left = expire - datetime.datetime.now(datetime.timezone.utc)
        except TypeError:  # a naive datetime: not st2's, do not guess
            return False
        return left.total_seconds() < seconds

    def _run(self, env):
        """Run governor_tick once: (document, None) or (None, (code, message))."""
        doc, failure, _ = self._run_binary([self._binary, "--act"], env)
        return doc, failure

    def _run_binary(self, argv, env):
        """Run one of the pack's binaries: (document, None, 0) or
        (None, (code, message), exit status or None)."""
        name = os.path.basename(argv[0])
        try:
            proc = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                timeout=self._timeout,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as e:
            return None, (None, "%s could not run: %s" % (name, e)), None
        for line in proc.stderr.decode("utf-8", "replace").splitlines():
            self._log.debug("%s: %s", name, line)
        try:
            doc = json.loads(proc.stdout.decode("utf-8"))
        except ValueError:
            return None, (None, "%s exited %d without a JSON result"
                          % (name, proc.returncode)), proc.returncode
        if proc.returncode != 0 or not isinstance(doc, dict) or "error" in doc:
            err = doc.get("error", {}) if isinstance(doc, dict) else {}
            code = err.get("code") if isinstance(err, dict) else None
            message = err.get("message") if isinstance(err, dict) else None
            return None, (code, "%s failed (exit %d): %s: %s"
                          % (name, proc.returncode, code, message)), proc.returncode
        return doc, None, 0

    def cleanup(self):
        pass

    def add_trigger(self, trigger):
        pass

    def update_trigger(self, trigger):
        pass

    def remove_trigger(self, trigger):
        pass
