"""Action parameters the way st2 prepares them: defaults (Jinja, with
config_context), the cast to the declared type, required checks, and for
local-shell-script the argv of st2-contract.md section 1."""
import json

import jinja2

# Parameters st2 hands to the runner, not to the program (contract, s.1).
RUNNER_PARAMS = {"cwd", "env", "kwarg_op", "sudo", "timeout", "debug"}

_jinja = jinja2.Environment(undefined=jinja2.ChainableUndefined)
_jinja.filters["to_json_string"] = lambda v: json.dumps(v, separators=(",", ":"))


class ParamError(Exception):
    pass


def render_jinja(text, **scope):
    return _jinja.from_string(text).render(**scope)


def cast(name, value, schema):
    """st2 casts rendered values to the declared type; None stays None."""
    t = schema.get("type")
    if value is None:
        return None
    try:
        if t == "integer":
            return int(value) if not isinstance(value, bool) else int(value)
        if t == "number":
            return float(value)
        if t == "boolean" and isinstance(value, str):
            return value.strip().lower() in ("true", "1", "yes")
        if t in ("object", "array") and isinstance(value, str):
            return json.loads(value)
    except (TypeError, ValueError) as e:
        raise ParamError(f"parameter '{name}': cannot cast {value!r} to {t}: {e}")
    return value


def finalize(meta, live, config):
    """The parameters an execution runs with: live values, else the default
    rendered with the pack config; immutable defaults always win; then the
    cast and required. An explicit null counts as not given when there is a
    default (st2's schema.validate with allow_default_none assigns it) and
    stays null otherwise."""
    declared = meta.get("parameters") or {}
    unknown = set(live) - set(declared)
    if unknown:
        raise ParamError(f"unexpected parameter(s) {sorted(unknown)} for {meta['name']}")
    out = {}
    for name, schema in declared.items():
        given = name in live and live[name] is not None
        if given and not schema.get("immutable"):
            value = live[name]
        elif name in live and "default" not in schema:
            value = None
        elif "default" in schema:
            value = schema["default"]
            if isinstance(value, str) and "{{" in value:
                value = render_jinja(value, config_context=config)
        else:
            continue
        out[name] = cast(name, value, schema)
        if schema.get("required") and out[name] is None:
            raise ParamError(f"parameter '{name}' of {meta['name']} is required")
    for name, schema in declared.items():
        if schema.get("required") and name not in out:
            raise ParamError(f"parameter '{name}' of {meta['name']} is required")
    return out


def _named(value):
    if value is None or value == "" or value is False:
        return None
    if value is True:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, dict)):
        return repr(value)  # st2 really does this; packlint forbids it
    return str(value)


def _positional(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if value == 0 and isinstance(value, int):
        return ""  # st2's quirk: integer 0 becomes an empty argument
    return str(value)


def argv(meta, params, entry):
    """argv for a local-shell-script action: named args, then positional
    ones by position (contract, s.1)."""
    declared = meta.get("parameters") or {}
    args = [entry]
    positional = []
    for name, schema in declared.items():
        if isinstance(schema, dict) and "position" in schema:
            positional.append((schema["position"], _positional(params.get(name))))
    for name, value in params.items():
        schema = declared.get(name, {})
        if name in RUNNER_PARAMS or "position" in schema:
            continue
        text = _named(value)
        if text is None:
            continue
        args.append(f"--{name}" if text == "" and value is True else f"--{name}={text}")
    args += [v for _, v in sorted(positional)]
    return args
