#!/usr/bin/python3
"""packlint - check the pack's metadata the way st2 would, before st2 does.

usage: packlint.py PACK_DIR

Checks (each failure is one line "file: problem"; exit 1 if any):
  - every YAML file parses;
  - pack.yaml: required fields, strict semver version, ref pattern;
  - config.schema.yaml: each key a parameter schema with a known type;
  - actions/*.yaml: required fields, runner types, entry_point exists,
    parameter names ^\\w+$, JSON-schema types, positions unique and
    contiguous from 0, immutable parameters have a default (and no Jinja
    default on a non-string immutable), no named array/object parameters for
    local-shell-script (st2 would pass a Python repr);
  - for C actions (entry_point bin/<name>): the binary's own parameter table
    (AUTOSCALE_DESCRIBE_PARAMS=1) equals the YAML: names, types, required,
    secret, position, and defaults - a "{{ config_context.k }}" default must
    name a key of config.schema.yaml whose default equals the C default;
  - rules/*.yaml: required fields, enabled: true, the action exists (in this
    pack or core), its parameters exist and its required ones are given;
  - sensors/*.yaml: class_name, an existing entry_point, trigger types with
    a name and a payload_schema.
Uses only the Python standard library and python3-yaml (Debian).
"""
import json
import os
import re
import subprocess
import sys

import yaml

TYPES = {"array", "boolean", "integer", "null", "number", "object", "string"}
RUNNERS = {"local-shell-script", "local-shell-cmd", "orquesta", "python-script",
           "remote-shell-script", "remote-shell-cmd", "noop", "http-request"}
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                    r"(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
CONFIG_REF = re.compile(r"^\{\{\s*config_context\.(\w+)\s*\}\}$")


class Lint:
    def __init__(self, root):
        self.root = root
        self.problems = []

    def fail(self, path, msg):
        self.problems.append(f"{os.path.relpath(path, self.root)}: {msg}")

    def load(self, path):
        try:
            with open(path, encoding="utf-8") as f:
                doc = yaml.safe_load(f)
        except (OSError, yaml.YAMLError, UnicodeDecodeError) as e:
            self.fail(path, f"does not parse: {str(e).splitlines()[0]}")
            return None
        if not isinstance(doc, dict):
            self.fail(path, "is not a mapping")
            return None
        return doc


def yaml_files(root):
    skip = {".git", "build", "node_modules", "tests"}
    for dirpath, dirnames, files in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in skip]
        for f in files:
            if f.endswith((".yaml", ".yml")):
                yield os.path.join(dirpath, f)


def check_pack(lint, root):
    path = os.path.join(root, "pack.yaml")
    doc = lint.load(path)
    if doc is None:
        return None
    for key in ("name", "description", "version", "author"):
        if not doc.get(key):
            lint.fail(path, f"missing required field '{key}'")
    if not isinstance(doc.get("version"), str) or not SEMVER.match(doc["version"]):
        lint.fail(path, "version must be a quoted strict semver string")
    ref = doc.get("ref", doc.get("name", ""))
    if not re.match(r"^[a-z0-9_]+$", str(ref)):
        lint.fail(path, f"ref '{ref}' must match ^[a-z0-9_]+$")
    return doc


def check_config_schema(lint, root):
    path = os.path.join(root, "config.schema.yaml")
    if not os.path.exists(path):
        return {}
    doc = lint.load(path) or {}
    for key, schema in doc.items():
        if not isinstance(schema, dict) or schema.get("type") not in TYPES:
            lint.fail(path, f"key '{key}' needs a schema with a JSON-schema type")
    return doc


def check_param_schema(lint, path, runner, name, p, positions):
    if not re.match(r"^\w+$", name):
        lint.fail(path, f"parameter '{name}' must match ^\\w+$")
    if not isinstance(p, dict):
        lint.fail(path, f"parameter '{name}' must be a mapping")
        return
    types = p.get("type")
    if types is not None:
        for t in types if isinstance(types, list) else [types]:
            if t not in TYPES:
                lint.fail(path, f"parameter '{name}' has unknown type '{t}'")
    if p.get("immutable") and "default" not in p:
        lint.fail(path, f"immutable parameter '{name}' needs a default")
    if (p.get("immutable") and types != "string"
            and isinstance(p.get("default"), str) and "{{" in p["default"]):
        lint.fail(path, f"immutable non-string parameter '{name}' cannot have a "
                        "Jinja default (st2 validates it before rendering)")
    if "position" in p:
        if not isinstance(p["position"], int) or isinstance(p["position"], bool):
            lint.fail(path, f"parameter '{name}' position must be an integer")
        else:
            positions.append(p["position"])
    elif runner == "local-shell-script" and types in ("array", "object"):
        lint.fail(path, f"named {types} parameter '{name}' would arrive as a "
                        "Python repr: make it positional or a JSON string")


def check_action(lint, root, path, doc):
    for key in ("name", "runner_type"):
        if not doc.get(key):
            lint.fail(path, f"missing required field '{key}'")
    runner = doc.get("runner_type")
    if runner and runner not in RUNNERS:
        lint.fail(path, f"unknown runner_type '{runner}'")
    entry = doc.get("entry_point")
    if runner != "noop" and not entry:
        lint.fail(path, "missing entry_point")
    elif entry and not os.path.exists(os.path.join(root, "actions", entry)):
        lint.fail(path, f"entry_point '{entry}' does not exist (run make first)")
    params = doc.get("parameters") or {}
    if not isinstance(params, dict):
        lint.fail(path, "parameters must be a mapping")
        return
    positions = []
    for name, p in params.items():
        check_param_schema(lint, path, runner, name, p, positions)
    if sorted(positions) != list(range(len(positions))):
        lint.fail(path, f"positions {sorted(positions)} must be unique and "
                        "contiguous from 0")


def yaml_default_text(p):
    """A YAML default in the literal form the C table writes it."""
    if "default" not in p or p["default"] is None:
        return None
    d = p["default"]
    if isinstance(d, bool):
        return "true" if d else "false"
    return str(d)


def check_c_params(lint, root, path, doc, config):
    entry = doc.get("entry_point", "")
    binary = os.path.join(root, "actions", entry)
    if not entry.startswith("bin/") or not os.path.exists(binary):
        return
    env = dict(os.environ, AUTOSCALE_DESCRIBE_PARAMS="1")
    try:
        out = subprocess.run([binary], env=env, capture_output=True, timeout=10,
                             check=True).stdout
        table = {p["name"]: p for p in json.loads(out)}
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        lint.fail(path, f"cannot read the parameter table of {entry}: {e}")
        return
    params = {k: v for k, v in (doc.get("parameters") or {}).items()
              if not (isinstance(v, dict) and set(v) <= {"default", "immutable"})}
    for name in sorted(set(params) - set(table)):
        lint.fail(path, f"parameter '{name}' is in the YAML but not in {entry}")
    for name in sorted(set(table) - set(params)):
        lint.fail(path, f"parameter '{name}' is in {entry} but not in the YAML")
    for name in sorted(set(params) & set(table)):
        y, c = params[name], table[name]
        if y.get("type") != c["type"]:
            lint.fail(path, f"parameter '{name}': YAML type {y.get('type')}, C {c['type']}")
        if bool(y.get("required")) != c["required"]:
            lint.fail(path, f"parameter '{name}': required differs (YAML "
                            f"{bool(y.get('required'))}, C {c['required']})")
        if bool(y.get("secret")) != c["secret"]:
            lint.fail(path, f"parameter '{name}': secret differs")
        if y.get("position") != c["position"]:
            lint.fail(path, f"parameter '{name}': position differs (YAML "
                            f"{y.get('position')}, C {c['position']})")
        check_default(lint, path, name, y, c, config)


def check_default(lint, path, name, y, c, config):
    ydef = yaml_default_text(y)
    m = CONFIG_REF.match(ydef or "")
    if m:
        key = m.group(1)
        if key != c["config"]:
            lint.fail(path, f"parameter '{name}': YAML default reads config "
                            f"'{key}', C table says {c['config']!r}")
        elif key not in config:
            lint.fail(path, f"parameter '{name}': config key '{key}' is not "
                            "in config.schema.yaml")
        elif yaml_default_text(config[key]) != c["default"]:
            lint.fail(path, f"parameter '{name}': config default "
                            f"{yaml_default_text(config[key])!r} differs from C "
                            f"default {c['default']!r}")
        return
    if c["config"]:
        lint.fail(path, f"parameter '{name}': C reads config '{c['config']}' "
                        "but the YAML default does not")
    if ydef != c["default"]:
        lint.fail(path, f"parameter '{name}': YAML default {ydef!r}, C default "
                        f"{c['default']!r}")


def check_rules(lint, root, actions):
    rules_dir = os.path.join(root, "rules")
    if not os.path.isdir(rules_dir):
        return
    for f in sorted(os.listdir(rules_dir)):
        if not f.endswith((".yaml", ".yml")):
            continue
        path = os.path.join(rules_dir, f)
        doc = lint.load(path)
        if doc is None:
            continue
        for key in ("name", "trigger", "action"):
            if not doc.get(key):
                lint.fail(path, f"missing required field '{key}'")
        if doc.get("enabled") is not True:
            lint.fail(path, "rules default to disabled: write enabled: true")
        action = doc.get("action") or {}
        ref = action.get("ref", "")
        pack, _, name = ref.partition(".")
        if pack == "autoscale":
            if name not in actions:
                lint.fail(path, f"action '{ref}' does not exist in the pack")
                continue
            declared = actions[name].get("parameters") or {}
            given = action.get("parameters") or {}
            for p in given:
                if p not in declared:
                    lint.fail(path, f"parameter '{p}' is not a parameter of {ref}")
            for p, schema in declared.items():
                if (isinstance(schema, dict) and schema.get("required")
                        and "default" not in schema and p not in given):
                    lint.fail(path, f"required parameter '{p}' of {ref} is not given")
        elif pack != "core" or not name:
            lint.fail(path, f"action '{ref}' is neither in this pack nor in core")


def check_sensors(lint, root):
    sensors_dir = os.path.join(root, "sensors")
    if not os.path.isdir(sensors_dir):
        return
    for f in sorted(os.listdir(sensors_dir)):
        if not f.endswith((".yaml", ".yml")):
            continue
        path = os.path.join(sensors_dir, f)
        doc = lint.load(path)
        if doc is None:
            continue
        for key in ("class_name", "entry_point"):
            if not doc.get(key):
                lint.fail(path, f"missing required field '{key}'")
        entry = doc.get("entry_point", "")
        if entry and not os.path.exists(os.path.join(sensors_dir, entry)):
            lint.fail(path, f"entry_point '{entry}' does not exist")
        for t in doc.get("trigger_types") or []:
            if not isinstance(t, dict) or not t.get("name"):
                lint.fail(path, "every trigger type needs a name")
            elif not isinstance(t.get("payload_schema"), dict):
                lint.fail(path, f"trigger type '{t['name']}' needs a payload_schema")


def main(argv):
    root = os.path.abspath(argv[1] if len(argv) > 1 else ".")
    lint = Lint(root)
    for path in yaml_files(root):
        lint.load(path)
    check_pack(lint, root)
    config = check_config_schema(lint, root)
    actions_dir = os.path.join(root, "actions")
    actions = {}
    for f in sorted(os.listdir(actions_dir)):
        if not f.endswith(".yaml"):
            continue
        path = os.path.join(actions_dir, f)
        doc = lint.load(path)
        if doc is None:
            continue
        actions[doc.get("name", f[:-5])] = doc
        check_action(lint, root, path, doc)
        if doc.get("runner_type") == "local-shell-script":
            check_c_params(lint, root, path, doc, config)
    check_rules(lint, root, actions)
    check_sensors(lint, root)
    for p in lint.problems:
        print(p)
    print(f"packlint: {len(lint.problems)} problem(s)")
    return 1 if lint.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
