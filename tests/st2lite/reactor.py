"""Triggers to actions: webhooks and sensor triggers matched against the
pack's rules (criteria, then the action's parameters rendered with Jinja),
and the sensor_service a PollingSensor dispatches through, which drops a
payload its trigger type's payload_schema refuses as st2 drops it."""
import importlib.util
import logging
import os
import re
import sys

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
        if why is not None:
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

    def __init__(self, runner):
        self.runner = runner
        self.pack = runner.pack
        self.pending = []
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
        """The trigger types the pack's sensors register, ref -> its
        definition (st2common/bootstrap/sensorsregistrar.py registers each
        of a sensor's trigger_types as <pack>.<name>)."""
        types = {}
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
        ttype = self.trigger_types().get(trigger)
        if ttype is None:
            return f'Trigger type with reference "{trigger}" doesn\'t exist in the database'
        schema = ttype.get("payload_schema")
        if not schema:
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
        executions = []
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
            # st2reactor/rules/enforcer.py, RuleEnforcer._invoke_action: the
            # rule's parameters are live parameters rendered by
            # render_live_params with the payload as `trigger` (StrictUndefined:
            # a missing payload field is a refused enforcement), then requested
            # like any other execution.
            action = rule["action"]
            executions.append(self.runner.run(action["ref"], action.get("parameters") or {},
                                              additional_contexts={"trigger": payload}))
        return executions

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
