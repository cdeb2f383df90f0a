"""Parameter validation as st2 does it: JSON schema draft 4 with st2's
CustomValidator (st2common/util/schema/__init__.py, CustomValidator: draft 4
keywords, but `properties` is draft 3's, so `required: true` inside a
property is honoured, and `exclusiveMinimum`/`exclusiveMaximum` are not
known at all), run through st2's `validate()` (use_default,
allow_default_none). st2 pins jsonschema 3.2.0 (fixed-requirements.txt), so
the messages and the choice of the one error reported (best_match) follow
that version's jsonschema/_validators.py, _legacy_validators.py and
exceptions.py. Written here rather than imported: Debian's python3-jsonschema
is a 4.x with different messages, and st2 itself is not installable."""
import copy
import pprint
import re
import textwrap
from collections import deque


class ValidationError(Exception):
    """jsonschema.ValidationError's shape: `message` is the one line the API
    answers with (HTTP 400); str() is the long form a workflow records
    (jsonschema/exceptions.py, _Error.__unicode__)."""

    def __init__(self, message, path=(), context=()):
        super().__init__(message)
        self.message = message
        self.path = deque(path)
        self.schema_path = deque()
        self.context = list(context)
        self.validator = self.validator_value = self.instance = self.schema = None
        self._set_done = False

    def _set(self, validator, value, instance, schema):
        if not self._set_done:
            self.validator, self.validator_value = validator, value
            self.instance, self.schema = instance, schema
            self._set_done = True

    def __str__(self):
        if not self._set_done:
            return self.message
        return self.message + textwrap.dedent("""

            Failed validating %r in schema%s:
            %s

            On instance%s:
            %s""") % (
            self.validator, _index(list(self.schema_path)[:-1]),
            _indent(pprint.pformat(self.schema, width=72)),
            _index(self.path), _indent(pprint.pformat(self.instance, width=72)))


def _index(indices):
    return "[%s]" % "][".join(repr(i) for i in indices) if indices else ""


def _indent(text):
    return "\n".join("    " + line for line in text.splitlines())


# ---- draft 4 type checker (jsonschema/_types.py: bool is not a number) ----
def _is_type(instance, kind):
    if kind == "integer":
        return isinstance(instance, int) and not isinstance(instance, bool)
    if kind == "number":
        return isinstance(instance, (int, float)) and not isinstance(instance, bool)
    if kind == "string":
        return isinstance(instance, str)
    if kind == "boolean":
        return isinstance(instance, bool)
    if kind == "object":
        return isinstance(instance, dict)
    if kind == "array":
        return isinstance(instance, list)
    if kind == "null":
        return instance is None
    raise ValueError(f"unknown type {kind!r}")


def _unbool(v, true=object(), false=object()):
    return true if v is True else false if v is False else v


def _unique(items):
    seen = []
    for item in items:
        item = _unbool(item)
        if item in seen:
            return False
        seen.append(item)
    return True


def _extras(extras):
    return ", ".join(repr(e) for e in extras), "was" if len(extras) == 1 else "were"


class Validator:
    """One validate pass; iter_errors walks the schema's keywords in the
    schema's own order, as jsonschema's iter_errors does, so best_match
    breaks ties the same way."""

    def iter_errors(self, instance, schema):
        for key, value in schema.items():
            check = getattr(self, "_" + key, None)
            if check is None:
                continue
            for error in check(value, instance, schema) or ():
                error._set(key, value, instance, schema)
                error.schema_path.appendleft(key)
                yield error

    def descend(self, instance, schema, path=None, schema_path=None):
        for error in self.iter_errors(instance, schema):
            if path is not None:
                error.path.appendleft(path)
            if schema_path is not None:
                error.schema_path.appendleft(schema_path)
            yield error

    def is_valid(self, instance, schema):
        return next(self.iter_errors(instance, schema), None) is None

    # Keywords of st2's CustomValidator, with jsonschema 3.2.0's messages.
    def _type(self, types, instance, schema):
        types = types if isinstance(types, list) else [types]
        if not any(_is_type(instance, t) for t in types):
            yield ValidationError("%r is not of type %s" % (instance, ", ".join(map(repr, types))))

    def _properties(self, properties, instance, schema):  # draft 3's: `required` inside
        if not isinstance(instance, dict):
            return
        for prop, sub in properties.items():
            if prop in instance:
                yield from self.descend(instance[prop], sub, path=prop, schema_path=prop)
            elif sub.get("required", False):
                e = ValidationError("%r is a required property" % prop)
                e._set("required", sub["required"], instance, schema)
                e.path.appendleft(prop)
                e.schema_path.extend([prop, "required"])
                yield e

    def _patternProperties(self, patterns, instance, schema):
        if not isinstance(instance, dict):
            return
        for pattern, sub in patterns.items():
            for k, v in instance.items():
                if re.search(pattern, k):
                    yield from self.descend(v, sub, path=k, schema_path=pattern)

    def _additionalProperties(self, ap, instance, schema):
        if not isinstance(instance, dict):
            return
        patterns = "|".join(schema.get("patternProperties", {}))
        extras = [k for k in instance if k not in schema.get("properties", {})
                  and not (patterns and re.search(patterns, k))]
        if isinstance(ap, dict):
            for k in extras:
                yield from self.descend(instance[k], ap, path=k)
        elif not ap and extras:
            yield ValidationError("Additional properties are not allowed (%s %s unexpected)"
                                  % _extras(extras))

    def _items(self, items, instance, schema):
        if not isinstance(instance, list):
            return
        if isinstance(items, list):
            for (i, item), sub in zip(enumerate(instance), items):
                yield from self.descend(item, sub, path=i, schema_path=i)
        else:
            for i, item in enumerate(instance):
                yield from self.descend(item, items, path=i)

    def _additionalItems(self, ai, instance, schema):
        if not isinstance(instance, list) or isinstance(schema.get("items", {}), dict):
            return
        n = len(schema.get("items", []))
        if isinstance(ai, dict):
            for i, item in enumerate(instance[n:], start=n):
                yield from self.descend(item, ai, path=i)
        elif not ai and len(instance) > n:
            yield ValidationError("Additional items are not allowed (%s %s unexpected)"
                                  % _extras(instance[n:]))

    def _enum(self, enums, instance, schema):
        if instance == 0 or instance == 1:
            if all(_unbool(instance) != _unbool(e) for e in enums):
                yield ValidationError("%r is not one of %r" % (instance, enums))
        elif instance not in enums:
            yield ValidationError("%r is not one of %r" % (instance, enums))

    def _pattern(self, pattern, instance, schema):
        if isinstance(instance, str) and not re.search(pattern, instance):
            yield ValidationError("%r does not match %r" % (instance, pattern))

    def _minimum(self, minimum, instance, schema):
        if _is_type(instance, "number") and instance < minimum:
            yield ValidationError("%r is less than the minimum of %r" % (instance, minimum))

    def _maximum(self, maximum, instance, schema):
        if _is_type(instance, "number") and instance > maximum:
            yield ValidationError("%r is greater than the maximum of %r" % (instance, maximum))

    def _multipleOf(self, d, instance, schema):
        if not _is_type(instance, "number"):
            return
        failed = (int(instance / d) != instance / d) if isinstance(d, float) else instance % d
        if failed:
            yield ValidationError("%r is not a multiple of %r" % (instance, d))

    def _minLength(self, n, instance, schema):
        if isinstance(instance, str) and len(instance) < n:
            yield ValidationError("%r is too short" % (instance,))

    def _maxLength(self, n, instance, schema):
        if isinstance(instance, str) and len(instance) > n:
            yield ValidationError("%r is too long" % (instance,))

    def _minItems(self, n, instance, schema):
        if isinstance(instance, list) and len(instance) < n:
            yield ValidationError("%r is too short" % (instance,))

    def _maxItems(self, n, instance, schema):
        if isinstance(instance, list) and len(instance) > n:
            yield ValidationError("%r is too long" % (instance,))

    def _uniqueItems(self, unique, instance, schema):
        if unique and isinstance(instance, list) and not _unique(instance):
            yield ValidationError("%r has non-unique elements" % (instance,))

    def _minProperties(self, n, instance, schema):
        if isinstance(instance, dict) and len(instance) < n:
            yield ValidationError("%r does not have enough properties" % (instance,))

    def _maxProperties(self, n, instance, schema):
        if isinstance(instance, dict) and len(instance) > n:
            yield ValidationError("%r has too many properties" % (instance,))

    def _dependencies(self, deps, instance, schema):
        if not isinstance(instance, dict):
            return
        for prop, dep in deps.items():
            if prop not in instance:
                continue
            if isinstance(dep, list):
                for each in dep:
                    if each not in instance:
                        yield ValidationError("%r is a dependency of %r" % (each, prop))
            else:
                yield from self.descend(instance, dep, schema_path=prop)

    def _allOf(self, subs, instance, schema):
        for i, sub in enumerate(subs):
            yield from self.descend(instance, sub, schema_path=i)

    def _anyOf(self, subs, instance, schema):
        errors = []
        for i, sub in enumerate(subs):
            errs = list(self.descend(instance, sub, schema_path=i))
            if not errs:
                return
            errors += errs
        yield ValidationError("%r is not valid under any of the given schemas" % (instance,),
                              context=errors)

    def _oneOf(self, subs, instance, schema):
        valid = [s for s in subs if self.is_valid(instance, s)]
        if not valid:
            errors = [e for i, s in enumerate(subs)
                      for e in self.descend(instance, s, schema_path=i)]
            yield ValidationError("%r is not valid under any of the given schemas" % (instance,),
                                  context=errors)
        elif len(valid) > 1:
            yield ValidationError("%r is valid under each of %s"
                                  % (instance, ", ".join(repr(s) for s in valid[1:] + valid[:1])))

    def _not(self, sub, instance, schema):
        if self.is_valid(instance, sub):
            yield ValidationError("%r is not allowed for %r" % (sub, instance))


def _relevance(error):  # jsonschema/exceptions.py, by_relevance
    return -len(error.path), error.validator not in ("anyOf", "oneOf")


def best_match(errors):
    """The one error jsonschema.validate raises (exceptions.best_match):
    the shallowest, the first of equals; then into anyOf/oneOf context."""
    errors = list(errors)
    if not errors:
        return None
    best = max(errors, key=_relevance)
    while best.context:
        best = min(best.context, key=_relevance)
    return best


# ---- st2's validate(): util/schema/__init__.py ----
def _nullable(types):
    if isinstance(types, list):
        return any(t == "null" or (isinstance(t, dict) and t.get("type", "string") == "null")
                   for t in types)
    return isinstance(types, dict) and types.get("type", "string") == "null"


def allow_default_none(schema):
    """modify_schema_allow_default_none: a property that is optional or has a
    default, whose default is None, also accepts null."""
    schema = copy.deepcopy(schema)
    for name, prop in (schema.get("properties") or {}).items():
        default = prop.get("default")
        if (("default" in prop) or not prop.get("required", False)) and default is None:
            if "anyOf" in prop:
                if not _nullable(prop["anyOf"]):
                    prop["anyOf"].append({"type": "null"})
            elif "oneOf" in prop:
                if not _nullable(prop["oneOf"]):
                    prop["oneOf"].append({"type": "null"})
            elif isinstance(prop.get("type", "string"), list):
                if not _nullable(prop["type"]):
                    prop["type"].append("null")
            elif not _nullable(prop):
                prop["type"] = [prop.get("type", "string"), "null"]
        kind = prop.get("type")
        items = prop.get("items", {})
        if _has(kind, "array") and isinstance(items, dict) and items.get("properties"):
            prop["items"] = allow_default_none(items)
        if _has(kind, "object") and prop.get("properties"):
            schema["properties"][name] = allow_default_none(prop)
    return schema


def _has(kind, wanted):
    return kind == wanted or (isinstance(kind, list) and wanted in kind)


def assign_default_values(instance, schema):
    """_assign_default_values_object/_array: a None or missing property with a
    default takes it (so an explicit null means "use the default"); nested
    objects and arrays likewise."""
    if isinstance(instance, dict) and schema.get("type") == "object":
        return _defaults_object(copy.deepcopy(instance), schema)
    if isinstance(instance, list) and schema.get("type") == "array":
        return _defaults_array(copy.deepcopy(instance), schema)
    return instance


def _defaults_object(instance, schema):
    deps = schema.get("dependencies", {})
    props = schema.get("properties", {})
    for name, prop in props.items():
        has_default = "default" in prop
        if has_default and name in deps:
            for needed in deps[name]:
                if "default" not in props.get(needed, {}) and needed not in instance:
                    has_default = False
                    break
        if has_default and instance.get(name) is None:
            instance[name] = prop.get("default")
        value = instance.get(name)
        if value is None:
            continue
        if _has(prop.get("type"), "array") and isinstance(value, list):
            instance[name] = _defaults_array(value, prop)
        elif _has(prop.get("type"), "object") and isinstance(value, dict):
            instance[name] = _defaults_object(value, prop)
    return instance


def _defaults_array(instance, schema):
    items = schema.get("items", [])
    if not items:
        return instance
    if isinstance(items, dict):
        items = [items] * len(instance)
    for i, sub in enumerate(items):
        if i >= len(instance):
            break
        if "default" in sub and instance[i] is None:
            instance[i] = sub.get("default")
        if instance[i] is None:
            continue
        if _has(sub.get("type"), "array") and isinstance(instance[i], list):
            instance[i] = _defaults_array(instance[i], sub)
        if _has(sub.get("type"), "object") and isinstance(instance[i], dict):
            instance[i] = _defaults_object(instance[i], sub)
    return instance


def validate(instance, schema, use_default=True, allow_none=False):
    """st2's util.schema.validate with the CustomValidator: returns the
    cleaned copy (defaults assigned), raises the best-matching
    ValidationError."""
    instance = copy.deepcopy(instance)
    if use_default and allow_none:
        schema = allow_default_none(schema)
    if use_default and schema.get("type") == "object" and isinstance(instance, dict):
        instance = assign_default_values(instance, schema)
    error = best_match(Validator().iter_errors(instance, schema))
    if error is not None:
        raise error
    return instance


# Schema of "any type" st2 puts in for a parameter declared as {} or null
# (get_schema_for_resource_parameters, SCHEMA_ANY_TYPE).
_ANY = {"anyOf": [{"type": t} for t in
                  ("array", "boolean", "integer", "number", "object", "string")]}

# Runner attributes an action may change (RUNNER_PARAM_OVERRIDABLE_ATTRS).
_OVERRIDABLE = {"default", "description", "enum", "immutable", "required"}


def for_parameters(parameters, allow_additional=False):
    """get_schema_for_resource_parameters: the object schema whose properties
    are the declared parameters."""
    if not parameters:
        return {}
    return {"type": "object",
            "properties": {k: (v if v else _ANY) for k, v in parameters.items()},
            "additionalProperties": allow_additional}


def merged_parameters(ref, runner_params, action_params):
    """get_schema_for_action_parameters' merge: runner parameters deep-updated
    by the action's, refusing an override of anything but
    default/description/enum/immutable/required
    (validate_runner_parameter_attribute_override)."""
    merged = copy.deepcopy(runner_params)
    for name, spec in (action_params or {}).items():
        if name in runner_params:
            for attr, value in (spec or {}).items():
                if attr not in _OVERRIDABLE and value != runner_params[name].get(attr):
                    raise ValueError(
                        'The attribute "%s" for the runner parameter "%s" in action "%s" '
                        "cannot be overridden." % (attr, name, ref))
            merged[name] = dict(merged[name], **(spec or {}))
        else:
            merged[name] = copy.deepcopy(spec)
    return merged
