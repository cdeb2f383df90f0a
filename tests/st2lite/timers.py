"""st2's timer triggers: the parameters a timer rule may give, checked as
st2 checks them when the rule is registered, and the payload the timer
fires with.

st2common/constants/triggers.py (3.x): INTERVAL_PARAMETERS_SCHEMA,
DATE_PARAMETERS_SCHEMA, CRON_PARAMETERS_SCHEMA in TIMER_TRIGGER_TYPES.
st2common/validators/api/reactor.py, validate_trigger_parameters: a system
trigger's parameters are validated against that schema (util_schema.validate,
CustomValidator, use_default, allow_default_none), and for core.st2.CronTimer
CronTrigger(**parameters) is built too, because the schema lets any string
through. st2reactor/timer/base.py, St2Timer._add_job_to_scheduler, validates
again and schedules an IntervalTrigger(**{unit: delta}); _emit_trigger_instance
fires with {executed_at, schedule: parameters.get('time')}."""
import datetime
import re
import zoneinfo

from . import schema

INTERVAL = "core.st2.IntervalTimer"
DATE = "core.st2.DateTimer"
CRON = "core.st2.CronTimer"

_STR_OR_INT = [{"type": "string"}, {"type": "integer"}]


def _cron_field(lo=None, hi=None):
    f = {"anyOf": list(_STR_OR_INT)}
    if lo is not None:
        f.update(minimum=lo, maximum=hi)
    return f


SCHEMAS = {
    INTERVAL: {
        "type": "object",
        "properties": {
            "timezone": {"type": "string"},
            "unit": {"enum": ["weeks", "days", "hours", "minutes", "seconds"],
                     "required": True},
            "delta": {"type": "integer", "required": True},
        },
        "additionalProperties": False,
    },
    DATE: {
        "type": "object",
        "properties": {
            "timezone": {"type": "string"},
            "date": {"type": "string", "format": "date-time", "required": True},
        },
        "additionalProperties": False,
    },
    CRON: {
        "type": "object",
        "properties": {
            "timezone": {"type": "string"},
            "year": _cron_field(),
            "month": _cron_field(1, 12),
            "day": _cron_field(1, 31),
            "week": _cron_field(1, 53),
            "day_of_week": _cron_field(0, 6),
            "hour": _cron_field(0, 23),
            "minute": _cron_field(0, 59),
            "second": _cron_field(0, 59),
        },
        "additionalProperties": False,
    },
}

# apscheduler.triggers.cron.fields: the expressions a field accepts
# (AllExpression "*" or "*/n", RangeExpression "a", "a-b", "a-b/n", comma
# lists of them; day_of_week also "mon".."sun"; day also "last", "xth wed").
_DAYS = "mon|tue|wed|thu|fri|sat|sun"
_ONE = r"(\*(/\d+)?|\d+(-\d+)?(/\d+)?)"
_EXPR = {
    "day_of_week": rf"({_ONE}|({_DAYS})(-({_DAYS}))?)",
    "day": rf"({_ONE}|last|(1st|2nd|3rd|4th|5th|last) ({_DAYS}))",
    "month": rf"({_ONE}|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)",
}
_BOUNDS = {"month": (1, 12), "day": (1, 31), "week": (1, 53), "day_of_week": (0, 6),
           "hour": (0, 23), "minute": (0, 59), "second": (0, 59), "year": (1970, 9999)}


def _cron_check(params):
    """CronTrigger(**parameters): ValueError on what apscheduler refuses."""
    tz = params.get("timezone")
    if tz is not None:
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"Unknown timezone {tz!r}") from e
    for name, value in params.items():
        if name == "timezone":
            continue
        one = _EXPR.get(name, _ONE)
        text = str(value).strip().lower()
        if not re.fullmatch(rf"{one}(,{one})*", text):
            raise ValueError(f'Unrecognized expression "{value}" for field "{name}"')
        lo, hi = _BOUNDS[name]
        for n in re.findall(r"(?<![/\d])\d+", text):
            if not lo <= int(n) <= hi:
                raise ValueError(f"the {name} value ({n}) is outside {lo}..{hi}")


def validate(trigger_type, parameters):
    """validate_trigger_parameters for a timer: the cleaned parameters, or
    schema.ValidationError / ValueError as st2 raises them."""
    cleaned = schema.validate(parameters if parameters is not None else {},
                              SCHEMAS[trigger_type], use_default=True, allow_none=True)
    if trigger_type == CRON:
        _cron_check(parameters or {})
    return cleaned


def payload(now=None):
    """St2Timer._emit_trigger_instance's payload (`time` is no parameter of
    any timer, so schedule is always None)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return {"executed_at": str(now), "schedule": None}
