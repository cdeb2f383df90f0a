"""Triggers to actions: webhooks and sensor triggers matched against the
pack's rules (criteria, then the action's parameters rendered with Jinja),
the sensor_service a PollingSensor dispatches through, which drops a
payload its trigger type's payload_schema refuses as st2 drops it, and
st2's API endpoint /webhooks/st2 (what core.inject_trigger posts to), whose
triggers the rules engine runs in the background (inject, wait_idle)."""
import importlib.util
import logging
import os
import queue
import re
import sys
import threading

from . import schema as S
from . import timers

WEBHOOK = "core.st2.webhook"


def _lookup(payload, dotted):
    cur = {"trigger": payload}
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _criterion(value, spec):
    kind, pattern = spec.get("type"), spec.get("pattern")
    if kind in ("equals", "eq"):
        return value == pattern
    if kind == "iequals":
        return str(value).lower() == str(pattern).lower()
    if kind in ("nequals", "ne"):
        return value != pattern
    if kind == "contains":
        return value is not None and str(pattern) in str(value)
    if kind == "regex":
        return value is not None and re.match(pattern, str(value)) is not None
    if kind == "exists":
        return value is not None
    if kind == "nexists":
        return value is None
    raise ValueError(f"criteria type {kind} is not supported here")


class ApiError(Exception):
    """An HTTP error st2's API answers with: `status` and the faultstring
    (st2common/middleware/error_handling.py, ErrorHandlingMiddleware: a
    ValueError is a 400 with its message)."""

    def __init__(self, status, faultstring):
        super().__init__(faultstring)
        self.status, self.faultstring = status, faultstring


class SensorService:
    def __init__(self, reactor):
        self.reactor = reactor
        self.dispatched = []
        self.dropped = []  # (trigger, payload, why) st2 would not have dispatched
        self._log = logging.getLogger("st2lite.sensor_service")

    def get_logger(self, name):
        return logging.getLogger(name)

    def dispatch(self, trigger, payload=None, trace_tag=None):
        """st2common/services/trigger_dispatcher.py, TriggerDispatcherService.
        dispatch_with_context, with system.validate_trigger_payload at its
        default (True, st2common/config.py): a payload that
        validate_trigger_payload refuses, or a trigger type st2 does not
        know (throw_on_inexistent_trigger=True), is logged as a warning and
        dropped; no rule ever sees it. The payload is dispatched as given,
        not the validated copy with defaults filled in."""
        why = self.reactor.payload_error(trigger, payload)
        if why is not None and self.reactor.validate_trigger_payload:
            self._log.warning("Trigger payload validation failed and validation is enabled, "
                              'not dispatching a trigger "%s" (%s): %s', trigger, payload,
                              why.splitlines()[0])
            self.dropped.append((trigger, payload, why))
            return None
        self.dispatched.append((trigger, payload))
        self.reactor.pending.append((trigger, payload))
        return None


class Reactor:
    """Rules engine over one Runner. Dispatched triggers queue in `pending`
    until handle_pending() runs them, as st2's rules engine would."""

    def __init__(self, runner, validate_trigger_payload=True):
        self.runner = runner
        self.pack = runner.pack
        self.pending = []
        # st2.conf [system] validate_trigger_payload (st2common/config.py,
        # default True): a non-system trigger's payload is checked against
        # its type's payload_schema, and an unknown type refused, when a
        # sensor or the API dispatches it.
        self.validate_trigger_payload = validate_trigger_payload
        # The rules engine's side of injected triggers: its queue, the
        # executions it started (in start order) and what it dropped.
        self._queue = queue.Queue()
        self._engine = None
        self._lock = threading.Lock()
        self._threads = []
        self.injected = []    # (trigger, payload) the API accepted
        self.background = []  # executions the rules engine started, as they ended
        self.engine_dropped = []  # (trigger, payload, why) the rules engine dropped
        runner.api = self  # what core.inject_trigger posts to
        for rule in self.pack.rules:
            self.check_rule(rule)

    @staticmethod
    def check_rule(rule):
        """What st2 refuses when it registers a rule, for the trigger types
        st2lite knows: a timer's parameters (timers.validate, after
        st2common/validators/api/reactor.py, validate_trigger_parameters)."""
        trig = rule.get("trigger") or {}
        if trig.get("type") in timers.SCHEMAS:
            timers.validate(trig["type"], trig.get("parameters"))

    def trigger_types(self):
        """The trigger types the pack registers, ref -> its definition: its
        triggers/ first (st2common/content/bootstrap.py, register_content:
        register_triggers before register_sensors), then each of its sensors'
        trigger_types as <pack>.<name> (st2common/bootstrap/
        sensorsregistrar.py), which update a type of the same ref."""
        types = {f"{self.pack.ref}.{t['name']}": t for t in self.pack.triggers}
        for doc in self.pack.sensors:
            for t in (doc or {}).get("trigger_types") or []:
                types[f"{self.pack.ref}.{t.get('name')}"] = t
        return types

    def payload_error(self, trigger, payload):
        """st2common/validators/api/reactor.py, validate_trigger_payload for
        a non-system trigger type: why st2 refuses the payload, or None.
        An unknown type is refused ("doesn't exist in the database"); a type
        with no payload_schema takes anything; else util_schema.validate
        with the CustomValidator, use_default and allow_default_none."""
        if str(trigger).startswith("core.st2."):
            # st2 checks these against SYSTEM_TRIGGER_TYPES' payload_schema
            # (st2common/constants/triggers.py), which st2lite does not carry
            raise NotImplementedError(f"the payload schema of system trigger {trigger}")
        if "." not in str(trigger):
            # services/triggers.py get_trigger_type_db -> TriggerType.get_by_ref
            # -> ResourceReference.from_string_reference (models/system/common.py)
            return "Invalid resource reference: %s" % trigger
        ttype = self.trigger_types().get(trigger)
        if ttype is None:
            return f'Trigger type with reference "{trigger}" doesn\'t exist in the database'
        schema = ttype.get("payload_schema")
        if not schema or not self.validate_trigger_payload:
            return None
        try:
            S.validate(payload, schema, use_default=True, allow_none=True)
        except S.ValidationError as e:
            return str(e)
        return None

    def fire_timer(self, rule_ref):
        """The timer of rule `rule_ref` ("pack.name") fires once now, as
        St2Timer._emit_trigger_instance would: every enabled rule on a timer
        with the same type and parameters runs (st2 keeps one trigger per
        type and parameters). Their executions."""
        for rule in self.pack.rules:
            if f"{self.pack.ref}.{rule.get('name')}" != rule_ref:
                continue
            trig = rule.get("trigger") or {}
            if trig.get("type") not in timers.SCHEMAS:
                raise ValueError(f"rule {rule_ref} is not on a timer")
            return self.fire(trig["type"], timers.payload(), parameters=trig.get("parameters"))
        raise KeyError(f"no rule {rule_ref}")

    def webhook(self, url, body, headers=None):
        headers = headers or {"Content-Type": "application/json"}
        payload = {"headers": headers,
                   "headers_lower": {k.lower(): v for k, v in headers.items()},
                   "body": body}
        return self.fire(WEBHOOK, payload, url=url)

    def fire(self, trigger_type, payload, url=None, parameters=None):
        """Run every enabled rule matching the trigger; their executions."""
        return [self._enforce(rule, payload)
                for rule in self._matching(trigger_type, payload, url, parameters)]

    def _matching(self, trigger_type, payload, url=None, parameters=None):
        """The enabled rules on the trigger whose criteria the payload meets."""
        for rule in self.pack.rules:
            trig = rule.get("trigger") or {}
            if rule.get("enabled") is not True or trig.get("type") != trigger_type:
                continue
            if url is not None and (trig.get("parameters") or {}).get("url") != url:
                continue
            if parameters is not None and (trig.get("parameters") or {}) != parameters:
                continue
            criteria = rule.get("criteria") or {}
            if not all(_criterion(_lookup(payload, k), v) for k, v in criteria.items()):
                continue
            yield rule

    def _enforce(self, rule, payload):
        """st2reactor/rules/enforcer.py, RuleEnforcer._invoke_action: the
        rule's parameters are live parameters rendered by render_live_params
        with the payload as `trigger` (StrictUndefined: a missing payload
        field is a refused enforcement), then requested like any other
        execution. The execution, finished."""
        action = rule["action"]
        return self.runner.run(action["ref"], action.get("parameters") or {},
                               additional_contexts={"trigger": payload})

    # ---- /webhooks/st2 and the rules engine behind it ----
    def inject(self, trigger, payload=None):
        """POST /webhooks/st2 {trigger, payload} (st2api/controllers/v1/
        webhooks.py, WebhooksController.post): no trigger is a 400 "Trigger
        not specified."; else TriggerDispatcherService.dispatch_with_context
        with throw_on_validation_error=True (services/trigger_dispatcher.py):
        with validate_trigger_payload on, a refused payload, an unknown type
        or a malformed ref raises ValueError, a 400 (ApiError here); with it
        off they are only logged and the trigger is dispatched anyway. The
        answer is 202 with the body as posted, before any rule ran: the
        trigger goes on the rules engine's queue, whose thread matches rules
        and starts each execution apart (st2rulesengine and the action
        runners are other processes). The body."""
        if not trigger:
            raise ApiError(400, "Trigger not specified.")
        why = self.payload_error(trigger, payload)
        if why is not None and self.validate_trigger_payload:
            raise ApiError(400, "Trigger payload validation failed and validation is enabled, "
                                'not dispatching a trigger "%s" (%s): %s'
                                % (trigger, str(payload), why))
        with self._lock:
            self.injected.append((trigger, payload))
            if self._engine is None:
                self._engine = threading.Thread(target=self._rules_engine, daemon=True,
                                                name="st2lite-rulesengine")
                self._engine.start()
        self._queue.put((trigger, payload))
        return {"trigger": trigger, "payload": payload}

    def _rules_engine(self):
        """st2reactor/rules/worker.py, TriggerInstanceDispatcher: the
        trigger instance is created first (pre_ack_process,
        container/utils.py create_trigger_instance with raise_on_no_trigger:
        a trigger st2 does not know is dropped, no rule sees it; a null
        payload becomes {}), then every matching rule enforced. Each
        execution runs in its own thread, the engine not waiting for it."""
        while True:
            trigger, payload = self._queue.get()
            try:
                payload = payload or {}
                if trigger not in self.trigger_types():
                    with self._lock:
                        self.engine_dropped.append((trigger, payload,
                                                    "Trigger not found for %s" % trigger))
                    continue
                for rule in self._matching(trigger, payload):
                    t = threading.Thread(target=self._enforce_apart, args=(rule, payload),
                                         daemon=True)
                    with self._lock:
                        self._threads.append(t)
                    t.start()
            finally:
                self._queue.task_done()

    def _enforce_apart(self, rule, payload):
        ex = self._enforce(rule, payload)
        with self._lock:
            self.background.append(ex)

    def wait_idle(self):
        """Wait until every injected trigger was handled and every execution
        the rules engine started has ended (those may inject more); the
        executions it started."""
        while True:
            self._queue.join()
            with self._lock:
                running = [t for t in self._threads if t.is_alive()]
            if not running and self._queue.unfinished_tasks == 0:
                with self._lock:
                    return list(self.background)
            for t in running:
                t.join()

    def handle_pending(self):
        executions = []
        while self.pending:
            trigger, payload = self.pending.pop(0)
            executions += self.fire(trigger, payload)
        return executions

    def load_sensor(self, class_name, stub_path):
        """Instantiate one of the pack's sensors, with st2reactor's base
        class taken from stub_path (st2 itself is not installed)."""
        for doc in self.pack.sensors:
            if doc.get("class_name") != class_name:
                continue
            if stub_path not in sys.path:
                sys.path.insert(0, stub_path)
            path = os.path.join(self.pack.root, "sensors", doc["entry_point"])
            spec = importlib.util.spec_from_file_location(f"pack_sensor_{class_name}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            cls = getattr(module, class_name)
            sensor = cls(SensorService(self), config=self.pack.config,
                         poll_interval=doc.get("poll_interval", 30))
            sensor.setup()
            return sensor
        raise KeyError(f"no sensor {class_name}")
