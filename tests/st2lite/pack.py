"""The pack's metadata as st2 registers it: actions, rules, sensors,
trigger types (triggers/), policies, and the operator's config (the
/opt/stackstorm/configs file)."""
import copy
import glob
import os
import re

import yaml

from . import schema as S


class Pack:
    """config: the operator's /opt/stackstorm/configs/<pack>.yaml as a dict,
    or None when there is no such file. A config that does not validate
    against config.schema.yaml is refused here, as st2's registration refuses
    it (st2common/models/api/pack.py, ConfigAPI.validate, and util/pack.py,
    validate_config_against_schema)."""

    def __init__(self, root, config=None):
        self.root = os.path.abspath(root)
        meta = self._load(os.path.join(self.root, "pack.yaml"))
        self.ref = meta.get("ref") or meta["name"]
        path = os.path.join(self.root, "config.schema.yaml")
        self.config_schema = (self._load(path) or {}) if os.path.exists(path) else {}
        self.config = self._config(config)
        self._workflows = {}
        self.actions = {}
        for path in sorted(glob.glob(os.path.join(self.root, "actions", "*.yaml"))):
            doc = self._load(path)
            self.actions[f"{self.ref}.{doc['name']}"] = doc
        self.rules = [self._load(p) for p in
                      sorted(glob.glob(os.path.join(self.root, "rules", "*.yaml")))]
        self.policies = [self._load(p) for p in
                         sorted(glob.glob(os.path.join(self.root, "policies", "*.yaml")))]
        self.sensors = [self._load(p) for p in
                        sorted(glob.glob(os.path.join(self.root, "sensors", "*.yaml")))]
        self.triggers = [self._trigger(p) for p in sorted(
            p for ext in ("yaml", "yml", "json")
            for p in glob.glob(os.path.join(self.root, "triggers", "*." + ext)))]

    @staticmethod
    def _load(path):
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)

    def _trigger(self, path):
        """A trigger type of <pack>/triggers/, registered as st2 registers it
        (st2common/bootstrap/triggersregistrar.py, _register_trigger_from_pack;
        st2-register-content and the packs register API run it before the
        sensors, and fail on the first error): `pack` filled in or equal to the
        pack's, `name` required (services/triggers.py, _validate_trigger_type),
        then only name, pack, description, payload_schema, parameters_schema,
        tags and metadata_file kept (_add_trigger_models) and validated as
        TriggerTypeAPI (models/api/trigger.py). Returns that trigger type."""
        doc = self._load(path)
        try:
            if not isinstance(doc, dict):
                raise ValueError("not a mapping")
            pack = doc.get("pack") or self.ref
            if pack != self.ref:
                raise ValueError('Model is in pack "%s" but field "pack" is different: %s'
                                 % (self.ref, pack))
            if "name" not in doc:
                raise ValueError('Invalid trigger type. Missing field "name"')
            ttype = {"name": doc["name"], "pack": pack,
                     "description": doc.get("description", ""),
                     "payload_schema": doc.get("payload_schema", {}),
                     "parameters_schema": doc.get("parameters_schema", {}),
                     "tags": doc.get("tags", []),
                     "metadata_file": os.path.relpath(path, self.root)}
            S.validate(ttype, _TRIGGER_TYPE_API, use_default=True)
        except (ValueError, S.ValidationError) as e:
            raise ValueError('Failed to register trigger "%s" from pack "%s": %s'
                             % (path, self.ref, getattr(e, "message", e))) from e
        return ttype

    def _config(self, given):
        """The config_context actions see (util/config_loader.py,
        ContentPackConfigLoader.get_config): the operator's values as they
        are, keys the schema does not know included, then the schema's
        defaults for keys still missing, nested objects and arrays too. A key
        with no default stays missing, and `{{ config_context.key }}` then
        fails to render."""
        values = {}
        if given is not None:
            where = f"/opt/stackstorm/configs/{self.ref}.yaml"
            try:
                values = S.validate(given, S.for_parameters(self.config_schema, True),
                                    use_default=True, allow_none=True)
            except S.ValidationError as e:
                attribute = ".".join(str(p) for p in e.path)
                raise ValueError('Failed validating attribute "%s" in config for pack "%s" '
                                 "(%s): %s" % (attribute, self.ref, where, e)) from e
        for key, value in values.items():
            if isinstance(value, str) and ("{{" in value or "{%" in value):
                # config_loader renders these against the datastore; no test needs it
                raise NotImplementedError(f"config {key}: datastore expressions")
        return _assign_defaults(self.config_schema, copy.deepcopy(values))

    def action(self, ref):
        return self.actions.get(ref)

    def workflow(self, meta):
        path = os.path.join(self.root, "actions", meta["entry_point"])
        if path not in self._workflows:  # loaded once (read-only to its users)
            self._workflows[path] = self._load(path)
        return self._workflows[path]

    def entry_path(self, meta):
        return os.path.join(self.root, "actions", meta["entry_point"])


# st2common/models/api/trigger.py, TriggerTypeAPI.schema (the fields
# _add_trigger_models passes on).
_TRIGGER_TYPE_API = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "required": True},
        "pack": {"type": "string"},
        "description": {"type": "string"},
        "payload_schema": {"type": "object", "default": {}},
        "parameters_schema": {"type": "object", "default": {}},
        "tags": {"type": "array", "items": {"type": "object"}},
        "metadata_file": {"type": "string", "default": ""},
    },
    "additionalProperties": False,
}


def _object_properties(spec, keys):
    """config_loader.py, _get_object_properties_schema: properties first,
    then patternProperties, then additionalProperties, for the keys given."""
    flat = {k: {} for k in keys}
    props = spec.get("properties", {})
    flat.update(props)
    extra = set(keys) - set(props)
    patterns = spec.get("patternProperties") or {}
    if isinstance(patterns, dict):
        for k in list(extra):
            matched = [s for p, s in patterns.items() if re.search(p, k)]
            if matched:
                flat[k] = {}
                for s in matched:
                    flat[k].update(s)
                extra.discard(k)
    additional = spec.get("additionalProperties", {})
    if extra and isinstance(additional, dict) and additional:
        for k in extra:
            flat[k] = additional
    return flat


def _array_items(spec, count):
    """config_loader.py, _get_array_items_schema."""
    items = spec.get("items", [])
    flat = [items] * count if isinstance(items, dict) else list(items)
    additional = spec.get("additionalItems", {})
    if len(flat) < count and isinstance(additional, dict) and additional:
        flat += [additional] * (count - len(flat))
    return flat


def _assign_defaults(schema, config):
    """config_loader.py, _assign_default_values: a missing key takes its
    default; an object with properties (or an array with items) is created
    empty when missing, default or not, and its own defaults filled in."""
    entries = schema.items() if isinstance(schema, dict) else enumerate(schema)
    for key, spec in entries:
        spec = spec or {}
        present = key in config if isinstance(config, dict) else key < len(config)
        if "default" in spec and not present:
            config[key] = spec["default"]
        try:
            value = config[key]
        except (KeyError, IndexError):
            value = None
        kind = spec.get("type")
        if kind == "object" and (spec.get("properties") or spec.get("patternProperties")
                                 or spec.get("additionalProperties")):
            if not value:
                value = config[key] = {}
            _assign_defaults(_object_properties(spec, value.keys()), value)
        elif kind == "array" and (spec.get("items") or spec.get("additionalItems")):
            if not value:
                value = config[key] = []
            _assign_defaults(_array_items(spec, len(value)), value)
    return config
