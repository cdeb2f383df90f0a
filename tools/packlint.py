#!/usr/bin/python3
"""packlint - check the pack's metadata the way st2 would, before st2 does.

usage: packlint.py PACK_DIR

Checks (each failure is one line "file: problem"; exit 1 if any):
  - every YAML file parses (outside build/ and tests/) and is a mapping;
  - pack.yaml: required fields, strict semver version, ref pattern;
  - config.schema.yaml: each key a parameter schema with a known type;
  - actions/*.yaml: required name and runner_type, no unknown top-level key
    (name, runner_type, description, enabled, entry_point, pack, parameters,
    output_schema, tags, notify, ref, uid, id), each field of its type, a
    known runner, `pack` (if given) equal to the pack's ref, the file named
    <name>.yaml, an entry_point that exists (run make first; an orquesta
    entry_point must be workflows/<name>.yaml);
  - action parameters: names ^\\w+$, JSON-schema types, positions unique and
    contiguous from 0, `required`, `secret` and `immutable` booleans, `enum`
    a list, immutable parameters have a default (and no Jinja default on a
    non-string immutable), no named array/object parameters for
    local-shell-script (st2 would pass a Python repr);
  - for C actions (entry_point bin/<name>): the binary's own parameter table
    (AUTOSCALE_DESCRIBE_PARAMS=1) equals the YAML: names, types, required,
    secret, position, and defaults - a "{{ config_context.k }}" default must
    name a key of config.schema.yaml whose default equals the C default;
  - secrets: no `secret: true` parameter of a local-shell-script action has
    a default (st2 would pass it on the command line, readable by every
    local user); each comes in the `env` runner parameter's default as
    AUTOSCALE_SECRET_<NAME>: "{{ config_context.<key> | json_escape }}",
    <key> being the one the C table names and marked secret in
    config.schema.yaml;
  - config_context reads (action parameter defaults, rules' action
    parameters, workflows): each names a key of config.schema.yaml that has
    a default there or is guarded, default(...) being the first filter on
    it or config_context.get('k') (st2 renders with StrictUndefined and
    fills in only schema defaults); a non-string parameter never falls back
    to '' (st2 cannot cast it). A C default may read its key through a
    guard, "{{ config_context.k | default(<literal>) }}"; for a string ""
    and no default are the same (st2 leaves "" off the command line);
  - Orquesta workflows (the entry_point of every orquesta action):
    version 1.0; only known top-level keys; input and vars lists of names or
    one-key mappings; output a list of one-key mappings; the input names are
    exactly the action's parameter names; tasks a non-empty mapping of
    ^\\w+$ names with only action, input, next, join, with, retry, delay;
    next items with only when, publish, do; every `do` name a task or one of
    fail, noop, retry, continue; every task reached from a start task; each
    task's action exists (<pack>.<x> in this pack, core.<x> among core's
    actions, no other pack), its input keys are parameters of that action
    and its required parameters are given; no value mixes YAQL <% %> and
    Jinja {{ }}; every ctx(x) / ctx().x names an input, a var, a published
    variable or st2; every value a task passes to an action of this pack
    fits that action's parameter schema (type, pattern, enum, maxLength,
    minimum/maximum) for every input the workflow accepts, as far as the
    section "values a workflow passes on" can derive it: a value the schema
    refuses is reported with an example, a missing bound (in the workflow's
    inputs or a producing action's output_schema) as what to declare, and
    what the analysis cannot follow as a "note:" line that does not fail;
  - rules/*.yaml: required name, trigger.type and action.ref; enabled: true;
    a trigger type st2 or the pack provides (core.st2.webhook with a url,
    core.st2.IntervalTimer with unit and delta, or <pack>.<name> of a sensor's
    trigger_types or of triggers/);
    criteria keyed trigger.<field>, each with a known operator type and a
    pattern (but for exists/nexists); the action exists (in this pack or
    core), the parameters given are its parameters and its required ones are
    given; every trigger.<field> a parameter reads is in the trigger's
    payload;
  - policies/*.yaml: required name, resource_ref (an action of this pack) and
    policy_type (action.concurrency, action.concurrency.attr, action.retry);
    not disabled; concurrency: an integer threshold >= 1, action delay or
    cancel; concurrency.attr: attributes, a non-empty list of the action's
    parameter names; retry: retry_on failure or timeout, counts >= 0;
  - sensors/*.yaml: class_name, an existing entry_point, trigger types with
    a ^\\w+$ name and a payload_schema;
  - triggers/*.yaml (trigger types no sensor dispatches, which st2 registers
    itself): only TriggerTypeAPI's keys, `pack` (if given) the pack's ref,
    a ^\\w+$ name and a payload_schema; a core.inject_trigger task names one
    of the pack's trigger types as a literal, and its literal payload mapping
    gives only fields of that type's payload_schema, every required one,
    each value fitting its property's schema as above;
  - aliases/*.yaml (ChatOps): only ActionAliasAPI's keys (name, pack,
    description, enabled, action_ref, formats, ack, result, extra,
    immutable_parameters, metadata_file, id, ref, uid), name and action_ref
    required, `pack` (if given) the pack's ref, the file named <name>.yaml,
    formats a non-empty list of strings or {display, representation: [..]};
    the action exists; every {{p}} / {{p=default}} of a representation and
    every immutable parameter is a parameter of the action, none both (st2
    refuses the override at run time), and each required parameter of the
    action is given by every representation or the immutable parameters;
  - error codes (when lib/core/error_codes.c exists): every code the C of lib/
    and actions/src/ writes (as_fail's code argument and the other places a
    code is set: the section "error codes" below) is a row of
    lib/core/error_codes.c, with that row's exit status where as_fail names one;
    the rows are sorted, unique and each used somewhere; docs/errors.md
    lists exactly the rows' codes, with the same exit statuses.
Parameters st2 merges in from the runner (timeout, env, ...) count as
parameters of every action of that runner.
Uses only the Python standard library and python3-yaml (Debian).
"""
import ast
import json
import os
import re
import subprocess
import sys

import yaml

TYPES = {"array", "boolean", "integer", "null", "number", "object", "string"}
RUNNERS = {"local-shell-script", "local-shell-cmd", "orquesta", "python-script",
           "remote-shell-script", "remote-shell-cmd", "noop", "http-request"}
# Parameters st2 takes from the runner: a task or rule may pass them to any
# action of that runner although the action's YAML does not declare them.
LOCAL_RUNNER_PARAMS = {"cwd", "env", "kwarg_op", "sudo", "sudo_password",
                       "timeout", "debug"}
RUNNER_PARAMS = {"local-shell-script": LOCAL_RUNNER_PARAMS,
                 "local-shell-cmd": LOCAL_RUNNER_PARAMS | {"cmd"}}
ACTION_FIELDS = {"name": str, "runner_type": str, "description": str,
                 "enabled": bool, "entry_point": str, "pack": str,
                 "parameters": dict, "output_schema": dict, "tags": list,
                 "notify": dict, "ref": str, "uid": str, "id": str}
# Types st2 casts a rendered default to; an empty rendering fails for each.
CAST_TYPES = {"integer", "number", "boolean", "array", "object"}
TYPE_NAMES = {str: "string", bool: "boolean", dict: "mapping", list: "list"}
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                    r"(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
# A default that is one config key, bare or with a literal fallback:
# "{{ config_context.k }}", "{{ config_context.k | default('') }}".
CONFIG_REF = re.compile(r"^\{\{\s*config_context\.(\w+)\s*"
                        r"(?:\|\s*(?:default|d)\s*\((.*)\)\s*)?\}\}$", re.S)
# Any read of the config in a template: config_context.k, config_context['k'],
# and config_context.get('k' ...) (st2's Jinja is a plain, unsandboxed
# jinja2.Environment, st2common/util/jinja.py get_jinja_environment, so a
# dict's get() works; it returns None instead of failing).
CONFIG_USE = re.compile(r"""\bconfig_context\s*(?:\.\s*(\w+)|\[\s*['"](\w+)['"]\s*\])""")
# What makes a missing key harmless right after the reference: the default
# filter (its alias d) is the first thing applied. Anything else first
# (config_context.k.x, config_context.k | upper) fails on StrictUndefined.
CONFIG_GUARD = re.compile(r"\s*\|\s*(?:default|d)\b")
NAME = re.compile(r"^\w+$")

CORE_ACTIONS = {
    "core.local", "core.local_sudo", "core.remote", "core.remote_sudo",
    "core.http", "core.noop", "core.echo", "core.pause", "core.sendmail",
    "core.error", "core.uuid", "core.inject_trigger", "core.announcement",
    "core.winrm_cmd", "core.winrm_ps_cmd", "core.windows_cmd", "core.ask"}
# The parameters (name -> must be given) of the core actions we call; the
# others' inputs are not checked.
CORE_PARAMS = {
    "core.noop": {},
    "core.echo": {"message": True},
    "core.local": {"cmd": True, "cwd": False, "env": False, "timeout": False,
                   "sudo": False, "kwarg_op": False},
    "core.pause": {"max_pause": False},
    "core.error": {"message": False},
    "core.inject_trigger": {"trigger": True, "payload": False, "trace_tag": False},
}
# The parameter schemas of the core actions whose values are checked like
# those of the pack's own (contrib/core/actions/<name>.yaml in st2).
CORE_SCHEMAS = {
    "core.inject_trigger": {
        "trigger": {"type": "string", "required": True},
        "payload": {"type": "object"},
        "trace_tag": {"type": "string", "required": False},
    },
}
INJECT = "core.inject_trigger"
# st2common/models/api/trigger.py, TriggerTypeAPI.schema: what a trigger type
# file (triggers/*.yaml, st2common/bootstrap/triggersregistrar.py) may hold.
TRIGGER_TYPE_KEYS = {"name", "pack", "description", "payload_schema",
                     "parameters_schema", "tags", "metadata_file", "id", "ref", "uid"}

WORKFLOW_KEYS = {"version", "description", "tags", "input", "vars", "output",
                 "tasks"}
TASK_KEYS = {"action", "input", "next", "join", "with", "retry", "delay"}
NEXT_KEYS = {"when", "publish", "do"}
DO_BUILTINS = {"fail", "noop", "retry", "continue"}
# YAQL <% %>, Jinja {{ }} and {% %}: the bodies, where ctx() and trigger live.
EXPRESSION = re.compile(r"<%(.*?)%>|\{\{(.*?)\}\}|\{%(.*?)%\}", re.S)
# ctx(x), ctx('x'), ctx().x, ctx()['x']; a bare ctx() names nothing, nor
# does a method call on it such as ctx().get(...).
CTX_REF = re.compile(r"""\bctx\(\s*(?:['"]?(\w+)['"]?)?\s*\)"""
                     r"""(?:\.(\w+)(?![\w(])|\[\s*['"](\w+)['"]\s*\])?""")
TRIGGER_REF = re.compile(r"\btrigger\.(\w+)")

OPERATORS = {
    "equals", "nequals", "lessthan", "greaterthan", "matchwildcard", "regex",
    "iregex", "contains", "ncontains", "icontains", "incontains",
    "startswith", "istartswith", "endswith", "iendswith", "timediff_lt",
    "timediff_gt", "exists", "nexists", "inside", "ninside", "search",
    "iequals", "lt", "gt", "eq", "ne", "le", "ge"}
# The payload fields of st2's own triggers that rules here use.
BUILTIN_TRIGGERS = {"core.st2.webhook": {"headers", "headers_lower", "body"},
                    "core.st2.IntervalTimer": {"executed_at", "schedule"}}
TIMER_UNITS = {"seconds", "minutes", "hours", "days", "weeks"}
POLICY_TYPES = {"action.concurrency", "action.concurrency.attr", "action.retry"}


class Lint:
    def __init__(self, root):
        self.root = root
        self.problems = []
        self.notes = []      # what the lint could not decide: no failure
        self.ref = os.path.basename(root)
        self.actions = {}    # action name -> its YAML
        self.triggers = {}   # trigger ref -> set of payload fields
        self.trigger_schemas = {}  # trigger ref -> its payload_schema
        self.config = {}     # config.schema.yaml
        self._loaded = {}

    def fail(self, path, msg):
        line = f"{os.path.relpath(path, self.root)}: {msg}"
        # A workflow shared by two actions is checked twice: say it once.
        if line not in self.problems:
            self.problems.append(line)

    def note(self, path, msg):
        line = f"{os.path.relpath(path, self.root)}: note: {msg}"
        if line not in self.notes:
            self.notes.append(line)

    def load(self, path):
        """The file's mapping, or None; parsed once, so reported once."""
        if path not in self._loaded:
            self._loaded[path] = self._parse(path)
        return self._loaded[path]

    def _parse(self, path):
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


def yaml_docs(lint, root, subdir):
    """(path, mapping) for each parseable *.yaml/*.yml directly in subdir."""
    d = os.path.join(root, subdir)
    if not os.path.isdir(d):
        return
    for f in sorted(os.listdir(d)):
        path = os.path.join(d, f)
        if f.endswith((".yaml", ".yml")) and os.path.isfile(path):
            doc = lint.load(path)
            if doc is not None:
                yield path, doc


def strings(node, where):
    """(where, text) for every string value in a nested structure."""
    if isinstance(node, str):
        yield where, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from strings(v, f"{where}.{k}" if where else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from strings(v, f"{where}[{i}]")


def expressions(text):
    """The bodies of the YAQL and Jinja expressions in a string."""
    return ["".join(g for g in m.groups() if g) for m in EXPRESSION.finditer(text)]


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


# ---------------------------------------------------------------- pack.yaml

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


# ------------------------------------------------------------------ actions

def check_param_schema(lint, path, runner, name, p, positions):
    if not NAME.match(str(name)):
        lint.fail(path, f"parameter '{name}' must match ^\\w+$")
    if not isinstance(p, dict):
        lint.fail(path, f"parameter '{name}' must be a mapping")
        return
    types = p.get("type")
    if types is not None:
        for t in types if isinstance(types, list) else [types]:
            if t not in TYPES:
                lint.fail(path, f"parameter '{name}' has unknown type '{t}'")
    for key in ("required", "secret", "immutable"):
        if key in p and not isinstance(p[key], bool):
            lint.fail(path, f"parameter '{name}': {key} must be a boolean")
    if "enum" in p and not isinstance(p["enum"], list):
        lint.fail(path, f"parameter '{name}': enum must be a list")
    if p.get("immutable") and "default" not in p:
        lint.fail(path, f"immutable parameter '{name}' needs a default")
    # A type list with string in it would take the raw template text. No
    # type at all is a runner parameter's override, such as timeout's.
    if (p.get("immutable") and "string" not in (types if isinstance(types, list) else [types])
            and isinstance(p.get("default"), str)
            and ("{{" in p["default"] or "{%" in p["default"])):
        lint.fail(path, f"immutable non-string parameter '{name}' cannot have a "
                        "Jinja default (st2 validates it before rendering)")
    if "position" in p:
        if not is_int(p["position"]):
            lint.fail(path, f"parameter '{name}' position must be an integer")
        else:
            positions.append(p["position"])
    elif runner == "local-shell-script" and types in ("array", "object"):
        lint.fail(path, f"named {types} parameter '{name}' would arrive as a "
                        "Python repr: make it positional or a JSON string")


def check_action_fields(lint, path, doc):
    """st2's action schema refuses unknown keys and badly typed fields."""
    for key in doc:
        if key not in ACTION_FIELDS:
            lint.fail(path, f"unknown top-level key '{key}'")
        elif doc[key] is not None and not isinstance(doc[key], ACTION_FIELDS[key]):
            lint.fail(path, f"'{key}' must be a {TYPE_NAMES[ACTION_FIELDS[key]]}")
    for key in ("name", "runner_type"):
        if not doc.get(key):
            lint.fail(path, f"missing required field '{key}'")
    if "pack" in doc and doc["pack"] != lint.ref:
        lint.fail(path, f"pack '{doc['pack']}' is not this pack's ref '{lint.ref}'")
    name = doc.get("name")
    if isinstance(name, str) and os.path.basename(path) != f"{name}.yaml":
        # st2 registers by name; a mismatch makes the file hard to find.
        lint.fail(path, f"file name must be {name}.yaml (the action's name)")


def check_entry_point(lint, root, path, doc):
    runner, entry = doc.get("runner_type"), doc.get("entry_point")
    if runner != "noop" and not entry:
        lint.fail(path, "missing entry_point")
        return
    if not isinstance(entry, str):
        return
    if runner == "orquesta" and not re.match(r"^workflows/.+\.yaml$", entry):
        lint.fail(path, f"orquesta entry_point '{entry}' must be "
                        "workflows/<name>.yaml")
    if not os.path.exists(os.path.join(root, "actions", entry)):
        lint.fail(path, f"entry_point '{entry}' does not exist (run make first)")


def check_action(lint, root, path, doc):
    check_action_fields(lint, path, doc)
    runner = doc.get("runner_type")
    if runner and runner not in RUNNERS:
        lint.fail(path, f"unknown runner_type '{runner}'")
    check_entry_point(lint, root, path, doc)
    params = doc.get("parameters") or {}
    if not isinstance(params, dict):
        return  # reported by check_action_fields
    positions = []
    for name, p in params.items():
        check_param_schema(lint, path, runner, name, p, positions)
    if sorted(positions) != list(range(len(positions))):
        lint.fail(path, f"positions {sorted(positions)} must be unique and "
                        "contiguous from 0")


def load_actions(lint, root):
    """Check every action's metadata; return [(path, doc)] and fill
    lint.actions, which the workflow, rule and policy checks look up."""
    if not os.path.isdir(os.path.join(root, "actions")):
        lint.fail(os.path.join(root, "actions"), "missing")
        return []
    found = list(yaml_docs(lint, root, "actions"))
    for path, doc in found:
        name = doc.get("name")
        lint.actions[name if isinstance(name, str) else
                     os.path.splitext(os.path.basename(path))[0]] = doc
        check_action(lint, root, path, doc)
    return found


def action_params(doc):
    """An action's parameters -> whether a caller must give each one."""
    declared = doc.get("parameters")
    params = {p: False for p in RUNNER_PARAMS.get(doc.get("runner_type"), ())}
    for p, s in (declared if isinstance(declared, dict) else {}).items():
        params[p] = bool(isinstance(s, dict) and s.get("required") is True
                         and "default" not in s)
    return params


def resolve_action(lint, ref):
    """(problem or None, parameters or None when unknown) for an action ref."""
    pack, _, name = str(ref).partition(".")
    if pack == lint.ref:
        if name not in lint.actions:
            return f"action '{ref}' does not exist in the pack", None
        return None, action_params(lint.actions[name])
    if pack == "core":
        if ref not in CORE_ACTIONS:
            return f"action '{ref}' is not a core action", None
        return None, CORE_PARAMS.get(ref)
    return f"action '{ref}' is in pack '{pack}', neither {lint.ref} nor core", None


def check_given(lint, path, where, noun, ref, params, given):
    """The parameters given to an action exist; its required ones are given.
    where prefixes each message ("task 'x': "); noun names what is given."""
    for p in given:
        if p not in params:
            lint.fail(path, f"{where}{noun} '{p}' is not a parameter of {ref}")
    for p, required in sorted(params.items()):
        if required and p not in given:
            lint.fail(path, f"{where}required parameter '{p}' of {ref} is not given")


# --------------------------------------------------------------- C actions

TABLE_KEYS = {"name", "type", "required", "secret", "position", "default", "config"}


def read_c_table(lint, path, binary, entry):
    env = dict(os.environ, AUTOSCALE_DESCRIBE_PARAMS="1")
    try:
        out = subprocess.run([binary], env=env, capture_output=True, timeout=10,
                             check=True).stdout
        rows = json.loads(out)
        if not isinstance(rows, list) or not all(
                isinstance(r, dict) and TABLE_KEYS <= set(r) for r in rows):
            raise ValueError(f"not a list of {sorted(TABLE_KEYS)}")
        return {r["name"]: r for r in rows}
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        lint.fail(path, f"cannot read the parameter table of {entry}: {e}")
        return None


def check_c_params(lint, root, path, doc, config):
    entry = doc.get("entry_point")
    if not isinstance(entry, str) or not entry.startswith("bin/"):
        return
    binary = os.path.join(root, "actions", entry)
    if not os.path.exists(binary) or not isinstance(doc.get("parameters") or {}, dict):
        return
    table = read_c_table(lint, path, binary, entry)
    if table is None:
        return
    # Entries with only default/immutable override a runner parameter.
    params = {k: v for k, v in (doc.get("parameters") or {}).items()
              if isinstance(v, dict) and not set(v) <= {"default", "immutable"}}
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
        if c["secret"]:
            check_secret_source(lint, path, name, doc, c)
        else:
            check_default(lint, path, name, y, c, config)
        check_range(lint, path, name, y, c)


def check_range(lint, path, name, y, c):
    """An integer's YAML minimum/maximum are the range the C action refuses
    outside of (actions/runner/st2.c's as_param_range, printed as minimum/maximum): st2
    refuses the same values before the action runs, so an operator sees one
    rule. Every integer has both bounds, and a literal default lies within."""
    if c["type"] != "integer":
        return
    for key in ("minimum", "maximum"):
        if key not in y:
            lint.fail(path, f"parameter '{name}': integer without a YAML {key}")
        elif c.get(key) is None:
            lint.fail(path, f"parameter '{name}': YAML {key} {y[key]} but the C "
                            "table has no range for it")
        elif y[key] != c[key]:
            lint.fail(path, f"parameter '{name}': YAML {key} {y[key]}, C {c[key]}")
    lo, hi = c.get("minimum"), c.get("maximum")
    d = c.get("default")
    if lo is not None and d is not None and re.fullmatch(r"-?\d+", d) \
            and not lo <= int(d) <= hi:
        lint.fail(path, f"parameter '{name}': C default {d} outside {lo}..{hi}")


def yaml_default_text(p):
    """A YAML default in the literal form the C table writes it."""
    if "default" not in p or p["default"] is None:
        return None
    d = p["default"]
    if isinstance(d, bool):
        return "true" if d else "false"
    return str(d)


def check_default(lint, path, name, y, c, config):
    ydef = yaml_default_text(y)
    m = CONFIG_REF.match(ydef or "")
    if m:
        key = m.group(1)
        if key != c["config"]:
            lint.fail(path, f"parameter '{name}': YAML default reads config "
                            f"'{key}', C table says {c['config']!r}")
        elif key in config:  # a key missing there is check_config_reads's
            used = config_fallback(m, config)
            if used is UNKNOWN:
                lint.fail(path, f"parameter '{name}': the default(...) fallback "
                                "is no literal, so it cannot be compared with "
                                "the C default")
            elif not same_default(used, c["default"], y.get("type")):
                lint.fail(path, f"parameter '{name}': config default {used!r} "
                                f"differs from C default {c['default']!r}")
        return
    if c["config"]:
        lint.fail(path, f"parameter '{name}': C reads config '{c['config']}' "
                        "but the YAML default does not")
    if not same_default(ydef, c["default"], y.get("type")):
        lint.fail(path, f"parameter '{name}': YAML default {ydef!r}, C default "
                        f"{c['default']!r}")


def same_default(a, b, ptype):
    # st2 leaves an empty string off the command line (st2-contract.md s.1),
    # so for a string "" and no default at all reach the C action alike.
    return a == b or (ptype == "string" and a in (None, "") and b in (None, ""))


UNKNOWN = object()
JINJA_LITERAL = re.compile(r"""^\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|"""
                           r"""[Tt]rue|[Ff]alse|[Nn]one)?\s*(?:,.*)?$""", re.S)


def config_fallback(m, config):
    """The default text a CONFIG_REF match gives when the operator's config
    lacks the key: the schema's default (st2's config loader fills it in),
    else the literal of default(...) ("" when it has none; jinja2's own
    default), else None; UNKNOWN for a fallback that is no literal."""
    key, arg = m.group(1), m.group(2)
    schema = config.get(key)
    if isinstance(schema, dict) and "default" in schema:
        return yaml_default_text(schema)
    if arg is None:
        return None
    lit = JINJA_LITERAL.match(arg)
    if not lit:
        return UNKNOWN
    text = lit.group(1) or "''"
    if text[0] in "'\"":
        return ast.literal_eval(text)
    if text.lower() == "none":
        return None
    return text.lower() if text.lower() in ("true", "false") else text


def config_reads(text):
    """(key, guarded) for every config key a template reads."""
    for body in expressions(text):
        for m in CONFIG_USE.finditer(body):
            key, rest = m.group(1) or m.group(2), body[m.end():]
            if m.group(1) and re.match(r"\s*\(", rest):
                # A method of the dict: get('k') is a guarded read of k.
                got = re.match(r"""\s*\(\s*['"](\w+)['"]""", rest)
                if key == "get" and got:
                    yield got.group(1), True
                continue
            yield key, bool(CONFIG_GUARD.match(rest))


def check_config_reads(lint, path, where, text):
    """st2 renders with StrictUndefined and its config loader fills in only
    the schema's defaults (st2-contract.md s.2): a key with neither a schema
    default nor a guard refuses the execution when the operator's config
    lacks it."""
    config = lint.config
    for key, guarded in config_reads(text):
        if key not in config:
            lint.fail(path, f"{where} reads config_context.{key}, which is not "
                            "in config.schema.yaml")
        elif not guarded and not (isinstance(config[key], dict)
                                  and "default" in config[key]):
            lint.fail(path, f"{where} reads config_context.{key}, which has no "
                            "default in config.schema.yaml and no | default(...) "
                            "guard: st2 refuses the execution when the "
                            "operator's config lacks the key")


def check_action_config(lint, path, doc):
    params = doc.get("parameters")
    ref = f"{lint.ref}.{doc.get('name')}"
    for name, p in (params if isinstance(params, dict) else {}).items():
        if not isinstance(p, dict) or "default" not in p:
            continue
        where = f"parameter '{name}' of {ref}"
        for _, text in strings(p["default"], ""):
            check_config_reads(lint, path, where, text)
        m = CONFIG_REF.match(p["default"]) if isinstance(p["default"], str) else None
        if (m and p.get("type") in CAST_TYPES and m.group(1) in lint.config
                and config_fallback(m, lint.config) == ""):
            # st2 casts the rendered text (st2common/util/casts.py): int("")
            # and the like raise, so the execution is refused.
            lint.fail(path, f"{where} falls back to '' when config_context."
                            f"{m.group(1)} is unset, which st2 cannot cast to "
                            f"{p['type']}")


# ------------------------------------------------------------------ secrets
# st2 passes a local-shell-script action's parameters as its command line,
# which every local user can read in /proc/PID/cmdline for the whole run, and
# its `env` runner parameter as its environment, which only its own user and
# root can read (docs/actions.md, "Secrets"). The C side reads a secret
# parameter from AUTOSCALE_SECRET_<NAME> (actions/runner/secret_env.c).
SECRET_ENV = "AUTOSCALE_SECRET_"
# st2 renders an object default by rendering its JSON text and parsing the
# result (st2common/util/param.py, _render): a value with ", \ or a newline
# would break that text unless escaped with st2's json_escape filter.
SECRET_REF = re.compile(r"^\{\{\s*config_context\.(\w+)\s*\|\s*json_escape\s*\}\}$")


def secret_env(doc):
    """The `env` runner parameter's default mapping ({} when none)."""
    env = ((doc.get("parameters") or {}).get("env") or {})
    default = env.get("default") if isinstance(env, dict) else None
    return default if isinstance(default, dict) else {}


def check_secrets(lint, path, doc):
    """No secret parameter has a default (st2 would put it on the command
    line); every AUTOSCALE_SECRET_* of the env default names a secret
    parameter of the action and is one json_escape'd read of a secret key of
    config.schema.yaml. Whether a key exists and has a default is
    check_config_reads's."""
    params = doc.get("parameters") or {}
    secrets = {n for n, p in params.items() if isinstance(p, dict) and p.get("secret")}
    for name in sorted(secrets):
        if params[name].get("default") not in (None, ""):
            lint.fail(path, f"secret parameter '{name}' has a default, which st2 would "
                            "pass on the command line (readable by any local user in "
                            f"/proc/PID/cmdline): hand it over in env as {SECRET_ENV}"
                            f"{name.upper()} instead")
    for key, value in secret_env(doc).items():
        if not isinstance(value, str):
            lint.fail(path, f"env {key}: {value!r} is no string (st2 cannot put it in "
                            "the environment)")
            continue
        if not str(key).startswith(SECRET_ENV):
            continue
        param = str(key)[len(SECRET_ENV):].lower()
        if param not in secrets or str(key) != SECRET_ENV + param.upper():
            lint.fail(path, f"env {key} names no secret parameter of the action, "
                            "so the action never reads it")
        m = SECRET_REF.match(value)
        if not m:
            lint.fail(path, f"env {key} must be \"{{{{ config_context.<key> | "
                            "json_escape }}\"\": st2 renders env as JSON text")
            continue
        schema = lint.config.get(m.group(1))
        if isinstance(schema, dict) and not schema.get("secret"):
            lint.fail(path, f"env {key} reads config_context.{m.group(1)}, which "
                            "config.schema.yaml does not mark secret: true")


def check_secret_source(lint, path, name, doc, c):
    """A secret the C table reads from the pack config arrives through the
    env default, from that very key."""
    if not c["config"]:
        return
    var = SECRET_ENV + name.upper()
    m = SECRET_REF.match(str(secret_env(doc).get(var, "")))
    if not m:
        lint.fail(path, f"secret parameter '{name}': the C table reads config "
                        f"'{c['config']}', but the env default has no {var}: "
                        f"'{{{{ config_context.{c['config']} | json_escape }}}}'")
    elif m.group(1) != c["config"]:
        lint.fail(path, f"secret parameter '{name}': env {var} reads config "
                        f"'{m.group(1)}', the C table says '{c['config']}'")


# ---------------------------------------------------------------- workflows

def list_names(items):
    """The names a workflow's input or vars list declares."""
    names = []
    for i in items if isinstance(items, list) else []:
        if isinstance(i, str):
            names.append(i)
        elif isinstance(i, dict):
            names.extend(str(k) for k in i)
    return names


def transitions(task):
    """A task's well-formed next items (shape errors are reported apart)."""
    nxt = task.get("next") if isinstance(task, dict) else None
    return [i for i in nxt if isinstance(i, dict)] if isinstance(nxt, list) else []


def do_targets(item):
    do = item.get("do")
    if isinstance(do, str):
        return [t.strip() for t in do.split(",") if t.strip()]
    return [str(t) for t in do] if isinstance(do, list) else []


def published(item):
    pub = item.get("publish")
    if isinstance(pub, str):  # the inline form "a=<% ... %> b=..."
        return re.findall(r"(\w+)=", pub)
    if isinstance(pub, dict):
        return list(pub)
    return [k for p in pub if isinstance(p, dict) for k in p] if isinstance(pub, list) else []


def check_wf_shape(lint, path, wf):
    if str(wf.get("version")) != "1.0":
        lint.fail(path, f"version must be 1.0, not {wf.get('version')!r}")
    for key in sorted(set(wf) - WORKFLOW_KEYS):
        lint.fail(path, f"unknown top-level key '{key}'")
    for key in ("input", "vars"):
        items = wf.get(key, [])
        if not isinstance(items, list) or not all(
                isinstance(i, str) or (isinstance(i, dict) and len(i) == 1) for i in items):
            lint.fail(path, f"{key} must be a list of names or one-key mappings")
    out = wf.get("output", [])
    if not isinstance(out, list) or not all(isinstance(i, dict) and len(i) == 1 for i in out):
        lint.fail(path, "output must be a list of one-key mappings")


def check_wf_inputs(lint, path, wf, action_path, doc):
    """The workflow action's parameters ARE the workflow's inputs."""
    inputs = set(list_names(wf.get("input")))
    params = doc.get("parameters")
    params = set(params) if isinstance(params, dict) else set()
    if inputs != params:
        lint.fail(path, f"input names differ from the parameters in "
                        f"{os.path.relpath(action_path, lint.root)}: only in the "
                        f"workflow {sorted(inputs - params)}, only in the "
                        f"metadata {sorted(params - inputs)}")


def check_task(lint, path, name, task, tasks):
    where = f"task '{name}'"
    if not NAME.match(str(name)):
        lint.fail(path, f"task name '{name}' must match ^\\w+$")
    if not isinstance(task, dict):
        lint.fail(path, f"{where} must be a mapping")
        return
    for key in sorted(set(task) - TASK_KEYS, key=str):
        lint.fail(path, f"{where}: unknown key '{key}'")
    nxt = task.get("next", [])
    if not isinstance(nxt, list) or not all(isinstance(i, dict) for i in nxt):
        lint.fail(path, f"{where}: next must be a list of mappings")
    for item in transitions(task):
        for key in sorted(set(item) - NEXT_KEYS, key=str):
            lint.fail(path, f"{where}: next item has unknown key '{key}'")
        for target in do_targets(item):
            if target not in tasks and target not in DO_BUILTINS:
                lint.fail(path, f"{where}: do names unknown task '{target}'")
    check_task_action(lint, path, where, task)


def check_task_action(lint, path, where, task):
    ref = task.get("action")
    if ref is None or (isinstance(ref, str) and ("<%" in ref or "{{" in ref)):
        return  # no action (a pure transition) or one chosen at run time
    problem, params = resolve_action(lint, ref)
    if problem:
        lint.fail(path, f"{where}: {problem}")
        return
    given = task.get("input") or {}
    if not isinstance(given, dict):
        lint.fail(path, f"{where}: input must be a mapping")
    elif params is not None:
        check_given(lint, path, f"{where}: ", "input", ref, params, given)


def check_reachable(lint, path, tasks):
    """Orquesta starts at the tasks no `do` names; the rest must be reached."""
    edges = {n: [t for i in transitions(task) for t in do_targets(i) if t in tasks]
             for n, task in tasks.items()}
    named = {t for targets in edges.values() for t in targets}
    seen, todo = set(), [n for n in tasks if n not in named]
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(edges[n])
    for n in tasks:
        if n not in seen:
            lint.fail(path, f"task '{n}' is never reached")


def check_wf_expressions(lint, path, wf, tasks):
    known = set(list_names(wf.get("input"))) | set(list_names(wf.get("vars")))
    known |= {p for t in tasks.values() for i in transitions(t) for p in published(i)}
    known.add("st2")
    for where, text in strings(wf, ""):
        check_config_reads(lint, path, where, text)
        if "<%" in text and ("{{" in text or "{%" in text):
            lint.fail(path, f"{where}: mixes YAQL <% %> and Jinja {{{{ }}}} in one value")
        for body in expressions(text):
            for m in CTX_REF.finditer(body):
                var = m.group(1) or m.group(2) or m.group(3)
                if var and var not in known:
                    # A typo here is a run-time error deep in an execution.
                    lint.fail(path, f"{where}: ctx '{var}' is not an input, var "
                                    "or published variable")


def check_workflow(lint, root, action_path, doc):
    entry = doc.get("entry_point")
    if not isinstance(entry, str):
        return
    path = os.path.join(root, "actions", entry)
    if not os.path.isfile(path):
        return  # reported by check_entry_point
    wf = lint.load(path)
    if wf is None:
        return
    check_wf_shape(lint, path, wf)
    check_wf_inputs(lint, path, wf, action_path, doc)
    tasks = wf.get("tasks")
    if not isinstance(tasks, dict) or not tasks:
        lint.fail(path, "tasks must be a non-empty mapping")
        return
    for name, task in tasks.items():
        check_task(lint, path, name, task, tasks)
    check_reachable(lint, path, tasks)
    check_wf_expressions(lint, path, wf, tasks)
    check_wf_values(lint, path, f"{lint.ref}.{doc.get('name')}", wf, doc.get("parameters"))


# ------------------------------------------- values a workflow passes on
#
# st2 validates every child request against the child's parameter schema
# (type, pattern, enum, minimum/maximum, maxLength) after rendering, and a
# refused request fails the whole workflow (st2-contract.md s.2). So each
# value a task passes to an action of this pack must fit that schema for
# every input the workflow accepts. The analysis is abstract interpretation
# of the YAQL forms the pack uses, over these facts:
#   - a workflow input is what its metadata accepts (type, pattern, enum,
#     maxLength, minimum/maximum): anything the schema leaves open is open;
#   - a value from an action's result is what that action's output_schema
#     declares (st2 does not enforce output_schema for our runners, so it is
#     the pack's own promise; an undeclared bound is reported, to be
#     declared and then checked);
#   - ctx(st2).action_execution_id is 24 lower-case hex digits (a MongoDB
#     ObjectId); str() of an integer has at most 20 characters (every
#     integer the pack handles fits in 64 bits).
# Strings are followed as regular languages (a regex AST over one stand-in
# character per class of characters the patterns distinguish), so "child
# pattern accepts every value" is decided exactly for the regex subset
# below: literals, escapes, classes, ., groups, |, ?, *, +, {m,n}, and ^/$
# at the ends. A pattern outside it, an expression form the analysis does
# not follow (st2kv(), select(), arithmetic other than + and -, Jinja) or
# a null value is not guessed at: it is printed as a note ("not checked")
# and does not fail the lint. What is reported as a problem is either
# proven (a value the schema refuses, with an example) or rests on a
# missing declaration (a workflow input or an output_schema entry without
# the bound the child needs).

class Unsupported(Exception):
    """A regex or expression outside what the analysis follows."""


# One stand-in per class of characters: ASCII one by one; beyond it the
# patterns tell apart only \w letters, \d digits (also \w), \s and the rest.
SYMBOLS = [chr(i) for i in range(128)] + ["\u00e9", "\u0663", "\u2003", "\u20ac"]
# The newline a value may end with because Python's $ lets one through
# (re.search("^a$", "a\n") matches): its own symbol, so that a refusal only
# such a value meets is told apart (a note) from one any value may meet.
TAGGED_NL = len(SYMBOLS)
SYMBOLS.append("\n")
# Which stand-in a counterexample shows for a class: the most readable.
READABLE = sorted(range(len(SYMBOLS)), key=lambda i: (
    not SYMBOLS[i].islower(), not SYMBOLS[i].isdigit(), SYMBOLS[i] != "-",
    not SYMBOLS[i].isalpha(), not SYMBOLS[i].isprintable(), i))
ANY = ("set", frozenset(range(len(SYMBOLS))))
EMPTY = ("cat", [])


def symbol_of(ch):
    if ord(ch) < 128:
        return ord(ch)
    for i in range(128, len(SYMBOLS)):
        if all(bool(re.fullmatch(c, ch)) == bool(re.fullmatch(c, SYMBOLS[i]))
               for c in (r"\d", r"\w", r"\s")):
            return i
    return len(SYMBOLS) - 1


def literal_lang(text):
    return ("cat", [("set", frozenset([symbol_of(ch)])) for ch in text])


def lang_lengths(node):
    """(shortest, longest or None when unbounded) of a regex AST."""
    kind = node[0]
    if kind == "set":
        # Lengths leave the tagged newline out: see string_misfits.
        return (0, 0) if node[1] == {TAGGED_NL} else (1, 1)
    if kind == "cat":
        lo, hi = 0, 0
        for n in node[1]:
            a, b = lang_lengths(n)
            lo, hi = lo + a, None if hi is None or b is None else hi + b
        return lo, hi
    if kind == "alt":
        if not node[1]:
            return 0, 0
        ends = [lang_lengths(n) for n in node[1]]
        his = [b for _, b in ends]
        return min(a for a, _ in ends), None if None in his else max(his)
    a, b = lang_lengths(node[1])
    hi = node[3]
    return a * node[2], (0 if b == 0 else None) if hi is None else b * hi


class RegexParser:
    """The regex subset above into an AST; semantics of each atom are
    Python's own (re.fullmatch on every stand-in), as jsonschema's pattern
    is Python's re.search."""

    def __init__(self, text):
        self.s, self.i = text, 0

    def parse(self):
        node = self.alt()
        if self.i != len(self.s):
            raise Unsupported(f"unbalanced ) in {self.s}")
        return node

    def peek(self):
        return self.s[self.i] if self.i < len(self.s) else ""

    def alt(self):
        branches = [self.cat()]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.cat())
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def cat(self):
        items = []
        while self.peek() and self.peek() not in "|)":
            items.append(self.quantified())
        return ("cat", items)

    def quantified(self):
        atom = self.atom()
        while True:
            c, rest = self.peek(), self.s[self.i:]
            m = re.match(r"\{(\d*)(,?)(\d*)\}", rest)
            if c and c in "?*+":
                lo, hi, size = {"?": (0, 1), "*": (0, None), "+": (1, None)}[c] + (1,)
            elif c == "{" and m and (m.group(1) or m.group(3)):
                lo = int(m.group(1) or 0)
                hi = int(m.group(3)) if m.group(3) else (None if m.group(2) else lo)
                size = len(m.group(0))
            else:
                return atom
            if atom[0] in ("bol", "eol", "eoz"):
                raise Unsupported("a quantified anchor")
            self.i += size
            if self.peek() == "?":  # lazy: the same language
                self.i += 1
            atom = ("rep", atom, lo, hi)

    def atom(self):
        s, i = self.s, self.i
        c = s[i]
        if c == "(":
            if s.startswith("(?:", i):
                self.i += 3
            elif s.startswith("(?", i):
                raise Unsupported("(?...) groups")
            else:
                self.i += 1
            node = self.alt()
            if self.peek() != ")":
                raise Unsupported("unbalanced (")
            self.i += 1
            return node
        if c == "^":
            self.i += 1
            return ("bol",)
        if c == "$":
            self.i += 1
            return ("eol",)
        if c == "[":
            j = i + 1
            j += s[j:j + 1] == "^"
            j += s[j:j + 1] == "]"
            while j < len(s) and s[j] != "]":
                j += 2 if s[j] == "\\" else 1
            if j >= len(s):
                raise Unsupported("unterminated [")
            text = s[i:j + 1]
        elif c == "\\":
            d = s[i + 1:i + 2]
            if d in ("A", "Z"):
                self.i += 2
                return ("bol",) if d == "A" else ("eoz",)
            if not d or d in "bBuUNg" or d.isdigit():
                raise Unsupported(f"\\{d}")
            text = s[i:i + 4] if d == "x" else s[i:i + 2]
        elif c in "*+?)":
            raise Unsupported(f"nothing to repeat at {c}")
        else:
            text = c
        if any(ord(ch) > 127 for ch in text):
            raise Unsupported("a non-ASCII character in a pattern")
        try:
            rx = re.compile(text)
        except re.error as e:
            raise Unsupported(str(e)) from e
        self.i += len(text)
        return ("set", frozenset(k for k, ch in enumerate(SYMBOLS) if rx.fullmatch(ch)))


def pattern_lang(pattern, outer=False):
    """The strings re.search(pattern, s) accepts, as an AST. Anchors may
    only open and close a top-level branch; a $ there also takes one final
    newline, as in Python (so ^a$ accepts "a\\n"): the tagged one when the
    pattern is what a value was validated against, either when it is the
    pattern the value must pass."""
    node = RegexParser(str(pattern)).parse()
    branches = node[1] if node[0] == "alt" else [node]
    out = []
    for b in branches:
        items = list(b[1]) if b[0] == "cat" else [b]
        head = [("rep", ANY, 0, None)]
        if items and items[0] == ("bol",):
            head, items = [], items[1:]
        tail = [("rep", ANY, 0, None)]
        if items and items[-1] in (("eol",), ("eoz",)):
            nl = frozenset([ord("\n"), TAGGED_NL] if outer else [TAGGED_NL])
            tail = [("rep", ("set", nl), 0, 1)] if items[-1] == ("eol",) else []
            items = items[:-1]
        if any(anchored(n) for n in items):
            raise Unsupported("an anchor inside the pattern")
        out.append(("cat", head + items + tail))
    return out[0] if len(out) == 1 else ("alt", out)


def anchored(node):
    if node[0] in ("bol", "eol", "eoz"):
        return True
    if node[0] in ("cat", "alt"):
        return any(anchored(n) for n in node[1])
    return node[0] == "rep" and anchored(node[1])


class NFA:
    def __init__(self, node):
        self.eps, self.edges = [], []
        self.start, self.accept = self.new(), self.new()
        self.build(node, self.start, self.accept)

    def new(self):
        self.eps.append([])
        self.edges.append([])
        return len(self.eps) - 1

    def build(self, node, s, t):
        kind = node[0]
        if kind == "set":
            self.edges[s].append((node[1], t))
        elif kind == "alt":
            for n in node[1]:
                self.build(n, s, t)
        elif kind == "cat":
            cur = s
            for n in node[1]:
                nxt = self.new()
                self.build(n, cur, nxt)
                cur = nxt
            self.eps[cur].append(t)
        else:
            _, n, lo, hi = node
            cur = s
            for _ in range(lo):
                nxt = self.new()
                self.build(n, cur, nxt)
                cur = nxt
            if hi is None:
                loop = self.new()
                self.eps[cur].append(loop)
                self.build(n, loop, loop)
                self.eps[loop].append(t)
                return
            for _ in range(hi - lo):
                self.eps[cur].append(t)
                nxt = self.new()
                self.build(n, cur, nxt)
                cur = nxt
            self.eps[cur].append(t)

    def closure(self, states):
        seen, todo = set(states), list(states)
        while todo:
            for t in self.eps[todo.pop()]:
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        return frozenset(seen)

    def step(self, states, sym):
        return self.closure({t for s in states for (syms, t) in self.edges[s] if sym in syms})

    def sets(self):
        return {syms for e in self.edges for syms, _ in e}


def counterexample(inner, outer, cap=None, tagged=False):
    """The shortest string of the language inner (an AST), at most cap
    characters long, that outer (an AST) lacks; None when there is none.
    Without tagged, no string with the tagged newline counts."""
    a, b = NFA(inner), NFA(outer)
    # Characters no pattern tells apart are tried once: one per class.
    sets = list(a.sets() | b.sets())
    classes = {}
    for i in READABLE:
        if i == TAGGED_NL and not tagged:
            continue
        classes.setdefault(tuple(i in x for x in sets), i)
    alphabet = list(classes.values())
    start = (a.closure({a.start}), b.closure({b.start}))
    seen, level = {start: ""}, [start]
    depth = 0
    while level:
        for state in level:
            if a.accept in state[0] and b.accept not in state[1]:
                return seen[state]
        if cap is not None and depth >= cap:
            return None
        nxt = []
        for sa, sb in level:
            for sym in alphabet:
                na = a.step(sa, sym)
                if not na:
                    continue
                state = (na, b.step(sb, sym))
                if state not in seen:
                    seen[state] = seen[(sa, sb)] + SYMBOLS[sym]
                    nxt.append(state)
        level, depth = nxt, depth + 1
    return None


# What is known of a value: fields that are None are unknown, and gaps
# says why, as (kind, reason): kind "open" (a workflow input accepts any
# such value), "declare" (an output_schema does not say) or "analysis"
# (the lint does not follow this form: a note, not a problem).
FIELDS = ("lang", "maxlen", "lo", "hi", "items", "count", "props")
FIELD_TYPES = {"lang": ("string",), "maxlen": ("string",), "lo": ("integer", "number"),
               "hi": ("integer", "number"), "count": ("array",)}


class Val:
    def __init__(self, type=None, gaps=None, **known):
        self.type = type
        self.exact = known.get("exact")  # the finite set of possible values
        self.pattern = None    # the pattern the value was validated against
        self.nullable = False
        for f in FIELDS:
            setattr(self, f, known.get(f))
        self.gaps = dict(gaps or {})

    def gap(self, field):
        return self.gaps.get(field) or ("analysis", "the analysis does not follow it")

    def prop(self, name):
        if self.props is not None and name in self.props:
            return self.props[name]
        if self.props is not None:
            kind, origin = self.gaps.get("missing", ("analysis", "the value"))
            return unknown(kind, f"{origin} declares no property {name}")
        kind, why = self.gap("props")
        return unknown(kind, why if kind == "analysis" else f"{why} ({name} wanted)")


def unknown(kind, why):
    return Val(gaps={f: (kind, why) for f in FIELDS})


def literal(value):
    if isinstance(value, bool):
        return Val("boolean", exact={value})
    if is_int(value):
        return Val("integer", lo=value, hi=value, exact={value})
    if isinstance(value, str):
        return Val("string", lang=literal_lang(value), maxlen=len(value), exact={value})
    if value is None:
        v = Val("null", exact={None})
        v.nullable = True
        return v
    if isinstance(value, list):
        v = Val("array", count=len(value))
        v.items = union([literal(x) for x in value])
        return v
    if isinstance(value, dict):
        return Val("object", props={k: literal(x) for k, x in value.items()})
    return unknown("analysis", f"the literal {value!r}")


def schema_val(schema, origin, kind):
    """What a parameter or output schema lets a value be."""
    if not isinstance(schema, dict):
        return unknown(kind, f"{origin} has no schema")
    types = schema.get("type")
    tlist = types if isinstance(types, list) else [types]
    real = [t for t in tlist if t not in (None, "null")]
    v = Val(real[0] if len(real) == 1 else None)
    v.nullable = "null" in tlist
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        u = union([literal(x) for x in enum])
        u.nullable = u.nullable or v.nullable
        return u
    if v.type == "string":
        if "pattern" in schema:
            try:
                v.lang, v.pattern = pattern_lang(schema["pattern"]), schema["pattern"]
                v.maxlen = lang_lengths(v.lang)[1]
            except Unsupported as e:
                v.gaps["lang"] = ("analysis", f"{origin}'s pattern is beyond "
                                              f"the lint's regex subset ({e})")
        else:
            v.gaps["lang"] = (kind, f"{origin} has no pattern or enum")
        if is_int(schema.get("maxLength")):
            v.maxlen = min(schema["maxLength"], v.maxlen or schema["maxLength"])
        if v.maxlen is None:
            v.gaps.setdefault("maxlen", (kind, f"{origin} has no maxLength"))
            if "lang" not in v.gaps:
                v.gaps["maxlen"] = (kind, f"{origin}'s pattern bounds no length "
                                          "and it has no maxLength")
    elif v.type in ("integer", "number"):
        for f, key in (("lo", "minimum"), ("hi", "maximum")):
            if isinstance(schema.get(key), (int, float)) and not isinstance(schema[key], bool):
                setattr(v, f, schema[key])
            else:
                v.gaps[f] = (kind, f"{origin} has no {key}")
    elif v.type == "array":
        v.items = schema_val(schema.get("items"), f"{origin}[]", kind) \
            if "items" in schema else unknown(kind, f"{origin} declares no items")
        if is_int(schema.get("maxItems")):
            v.count = schema["maxItems"]
        else:
            v.gaps["count"] = (kind, f"{origin} has no maxItems")
    elif v.type == "object":
        props = schema.get("properties")
        if isinstance(props, dict):
            v.props = {k: schema_val(s, f"{origin}.{k}", kind) for k, s in props.items()}
            v.gaps["missing"] = (kind, origin)
        else:
            v.gaps["props"] = (kind, f"{origin} declares no properties")
    return v


def union(vals):
    """A value that may be any of vals."""
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    real = [v for v in vals if v.type != "null"]
    if not real:
        return vals[0]
    out = Val(real[0].type if all(v.type == real[0].type for v in real) else None)
    out.nullable = any(v.nullable for v in vals)
    if all(v.exact is not None for v in vals):
        out.exact = set().union(*(v.exact for v in vals))
    if all(v.pattern == real[0].pattern for v in real):
        out.pattern = real[0].pattern

    def merge(field, combine):
        # Only the values of the field's type (or of no known type) count:
        # the length of a string says nothing of an array's.
        domain = [v for v in real if v.type is None or v.type in FIELD_TYPES[field]]
        missing = [v for v in domain if getattr(v, field) is None]
        if missing:
            out.gaps[field] = missing[0].gap(field)
        elif domain:
            setattr(out, field, combine([getattr(v, field) for v in domain]))

    merge("lang", lambda xs: xs[0] if len(xs) == 1 else ("alt", xs))
    merge("maxlen", max)
    merge("lo", min)
    merge("hi", max)
    merge("count", max)
    arrays = [v for v in real if v.type in (None, "array")]
    items = [v.items for v in arrays if v.count != 0]
    if items and all(i is not None for i in items):
        out.items = union(items)
    elif items:
        out.gaps["items"] = next(v.gap("items") for v in arrays if v.items is None)
    elif arrays:
        out.items = None  # only empty arrays: no item at all
    objects = [v for v in real if v.type in (None, "object")]
    if objects and all(v.props is not None for v in objects):
        keys = set().union(*(v.props for v in objects))
        out.props = {k: union([v.prop(k) for v in objects]) for k in keys}
    elif objects:
        out.gaps["props"] = next(v.gap("props") for v in objects if v.props is None)
    return out


def concat(a, b):
    v = Val("string")
    for f in ("lang", "maxlen"):
        x, y = getattr(a, f), getattr(b, f)
        if x is None or y is None:
            v.gaps[f] = (a if x is None else b).gap(f)
        else:
            setattr(v, f, ("cat", [x, y]) if f == "lang" else x + y)
    if a.exact is not None and b.exact is not None and len(a.exact) * len(b.exact) <= 64:
        v.exact = {x + y for x in a.exact for y in b.exact}
    return v


def to_string(v):
    """YAQL str(): strings as they are, integers in decimal."""
    if v.type == "string":
        return v
    if v.type == "integer":
        if v.exact is not None:
            return union([literal(str(x)) for x in v.exact])
        digits = ("set", frozenset(symbol_of(d) for d in "0123456789"))
        neg = v.lo is None or v.lo < 0
        lang = ("cat", ([("rep", literal_lang("-"), 0, 1)] if neg else [])
                + [("rep", digits, 1, 20)])
        return Val("string", lang=lang, maxlen=20)
    if v.type in ("null", "boolean"):
        return union([literal({None: "null", True: "true", False: "false"}[x])
                      for x in (v.exact or {True, False})])
    if v.type == "array":
        s = Val("string", gaps={"lang": ("analysis", "str() of an array")})
        if v.count is None:
            kind, why = v.gap("count")
            s.gaps["maxlen"] = (kind, f"str() of an array whose length has no bound "
                                      f"({why}); bound it with .take(N)")
        elif v.count == 0:
            s.maxlen = 2
        else:
            inner = to_string(v.items) if v.items is not None else unknown("analysis", "")
            if inner.maxlen is None:
                s.gaps["maxlen"] = inner.gap("maxlen")
            else:  # brackets, and per item quotes, a separator, escapes
                s.maxlen = 2 + v.count * (6 * inner.maxlen + 4)
        return s
    return Val("string", gaps={f: v.gap("lang") if v.type is None else
                               ("analysis", f"str() of a value of type {v.type}")
                               for f in ("lang", "maxlen")})


def join(arr, sep):
    if sep.exact is None or len(sep.exact) != 1 or sep.type != "string":
        return unknown("analysis", "join() with a separator that is no literal")
    sep = next(iter(sep.exact))
    item = to_string(arr.items) if arr.items is not None else Val("string", lang=EMPTY, maxlen=0)
    v = Val("string")
    k = arr.count
    if k is None:
        kind, why = arr.gap("count")
        v.gaps["maxlen"] = (kind, f".join() over an array whose length has no bound "
                                  f"({why}); bound it with .take(N) or .limit(N)")
    elif item.maxlen is None:
        v.gaps["maxlen"] = item.gap("maxlen")
    else:
        v.maxlen = k * item.maxlen + max(k - 1, 0) * len(sep)
    if item.lang is None:
        v.gaps["lang"] = item.gap("lang")
    elif k == 0:
        v.lang = EMPTY
    else:
        more = ("rep", ("cat", [literal_lang(sep), item.lang]), 0,
                None if k is None or k > 50 else k - 1)
        v.lang = ("alt", [EMPTY, ("cat", [item.lang, more])])
    return v


def substring(v, args):
    """YAQL substring(start[, length]) of a fixed-length run of one class,
    such as an execution id; anything else is not followed."""
    lang = v.lang
    if (lang and lang[0] == "rep" and lang[1][0] == "set" and lang[2] == lang[3]
            and all(a.exact is not None and len(a.exact) == 1 for a in args)):
        n, nums = lang[2], [next(iter(a.exact)) for a in args]
        if all(is_int(x) and x >= 0 for x in nums):
            size = max(0, n - nums[0]) if len(nums) == 1 else min(nums[1], max(0, n - nums[0]))
            return Val("string", lang=("rep", lang[1], size, size), maxlen=size)
    return unknown("analysis", "substring() of anything but a fixed-length run")


# ---- YAQL: tokens, then a precedence-climbing parser into tuples.
YAQL_TOKEN = re.compile(r"""\s*(?:(\d+(?:\.\d+)?)|('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
                        r"""|([A-Za-z_]\w*)|(=>|!=|<=|>=|[-+*/=<>.,()\[\]$:{}?]))""")
BINARY = [("or",), ("and",), ("=", "!=", "<", ">", "<=", ">=", "in"),
          ("+", "-"), ("*", "/")]


def yaql_tokens(text):
    out, i = [], 0
    while i < len(text):
        m = YAQL_TOKEN.match(text, i)
        if not m or m.end() == i:
            if text[i:].strip():
                raise Unsupported(f"YAQL text {text[i:i + 10]!r}")
            break
        num, string, name, op = m.groups()
        if num is not None:
            out.append(("num", float(num) if "." in num else int(num)))
        elif string is not None:
            out.append(("str", ast.literal_eval(string)))
        elif name is not None:
            out.append(("name", name))
        else:
            out.append(("op", op))
        i = m.end()
    return out


class YaqlParser:
    def __init__(self, text):
        self.toks, self.i = yaql_tokens(text), 0

    def parse(self):
        node = self.expr(0)
        if self.i != len(self.toks):
            raise Unsupported(f"YAQL after {self.toks[self.i]}")
        return node

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def sym(self):
        """The next operator or name; None for a literal, whose text
        ('+', 'and') is no operator."""
        kind, value = self.peek()
        return value if kind in ("op", "name") else None

    def take(self, value):
        if self.sym() != value:
            raise Unsupported(f"YAQL: {value} expected")
        self.i += 1

    def expr(self, level):
        if level == len(BINARY):
            return self.unary()
        node = self.expr(level + 1)
        while self.sym() in BINARY[level]:
            op = self.sym()
            self.i += 1
            node = ("bin", op, node, self.expr(level + 1))
        return node

    def unary(self):
        if self.sym() in ("not", "-"):
            op = self.sym()
            self.i += 1
            return ("un", op, self.unary())
        return self.postfix(self.primary())

    def args(self):
        self.take("(")
        args = []
        while self.sym() != ")":
            arg = self.expr(0)
            if self.sym() == "=>":  # switch(condition => value)
                self.i += 1
                arg = ("case", arg, self.expr(0))
            args.append(arg)
            if self.sym() != ",":
                break
            self.i += 1
        self.take(")")
        return args

    def primary(self):
        kind, value = self.peek()
        self.i += 1
        if kind in ("num", "str"):
            return ("lit", value)
        if kind == "name":
            if value in ("null", "true", "false"):
                return ("lit", {"null": None, "true": True, "false": False}[value])
            if self.sym() == "(":
                return ("call", value, self.args())
            return ("name", value)
        if value == "$":
            return ("dollar",)
        if value == "(":
            node = self.expr(0)
            self.take(")")
            return node
        raise Unsupported(f"YAQL at {value!r}")

    def postfix(self, node):
        while self.sym() in (".", "["):
            if self.sym() == ".":
                self.i += 1
                kind, name = self.peek()
                if kind != "name":
                    raise Unsupported("YAQL: a name after .")
                self.i += 1
                node = ("method", node, name, self.args()) if self.sym() == "(" \
                    else ("attr", node, name)
            else:
                self.i += 1
                index = self.expr(0)
                self.take("]")
                node = ("index", node, index)
        return node


# ObjectId.__str__: 24 lower-case hex digits.
EXECUTION_ID = Val("string", lang=("rep", ("set", frozenset(symbol_of(c) for c in
                                                            "0123456789abcdef")), 24, 24),
                   maxlen=24)


class Flow:
    """The values of one workflow's variables, as far as they can be known."""

    def __init__(self, lint, ref, wf, params):
        self.lint, self.ref, self.wf = lint, ref, wf
        self.params = params if isinstance(params, dict) else {}
        self.tasks = wf.get("tasks") if isinstance(wf.get("tasks"), dict) else {}
        self.vars = {}
        for item in wf.get("vars") or []:
            if isinstance(item, dict):
                self.vars.update(item)
            elif isinstance(item, str):
                self.vars[item] = None
        self.publishes = {}
        for name, task in self.tasks.items():
            for tr in transitions(task):
                pub = tr.get("publish")
                pubs = pub if isinstance(pub, list) else [pub] if isinstance(pub, dict) else []
                for p in pubs:
                    for var, expr in (p.items() if isinstance(p, dict) else []):
                        self.publishes.setdefault(var, []).append((name, expr))
                if isinstance(pub, str):
                    for var in published(tr):
                        self.publishes.setdefault(var, []).append((name, None))
        self.memo, self.busy = {}, set()

    def var(self, name):
        if name == "st2":
            return Val("object", props={"action_execution_id": EXECUTION_ID},
                       gaps={"missing": ("analysis", "the lint's model of ctx(st2)")})
        if name in self.memo:
            return self.memo[name]
        if name in self.busy:
            return unknown("analysis", f"ctx({name}) depends on itself")
        self.busy.add(name)
        sources = []
        if name in self.params:
            sources.append(schema_val(self.params[name], f"input '{name}' of {self.ref}",
                                      "open"))
        elif name in self.vars:
            sources.append(self.value(self.vars[name], {}))
        for task, expr in self.publishes.get(name, []):
            sources.append(self.value(expr, {"result": self.result(task)})
                           if expr is not None else
                           unknown("analysis", "an inline publish string"))
        self.busy.discard(name)
        v = union(sources) or unknown("analysis", f"ctx({name}) has no source")
        self.memo[name] = v
        return v

    def result(self, task_name):
        task = self.tasks.get(task_name) or {}
        ref = task.get("action")
        pack, _, name = str(ref).partition(".")
        doc = self.lint.actions.get(name) if pack == self.lint.ref else None
        if doc is None:
            return unknown("analysis", f"the result of {ref}")
        if isinstance(task.get("with"), dict):
            items = self.items(task)
            v = Val("array", items=unknown("analysis", "one item's result"))
            if items.count is None:
                v.gaps["count"] = items.gap("count")
            v.count = items.count
            return v
        out = schema_val({"type": "object", "properties": doc.get("output_schema") or {}},
                         f"{ref}'s output_schema", "declare")
        key = "output" if doc.get("runner_type") == "orquesta" else "stdout"
        return Val("object", props={key: out},
                   gaps={"missing": ("analysis", f"the lint's model of result() of {ref}")})

    def items(self, task):
        """The array a with-items task runs over."""
        spec = (task.get("with") or {}).get("items")
        if not isinstance(spec, str):
            return unknown("analysis", "with.items that is no string")
        m = re.match(r"^\s*(\w+(?:\s*,\s*\w+)*)\s+in\s+(.*)$", spec, re.S)
        if m and "," in m.group(1):
            return unknown("analysis", "with.items over zipped lists")
        return self.value(m.group(2) if m else spec, {})

    def value(self, raw, env):
        """The value a YAML value evaluates to (a task's input, a var)."""
        if not isinstance(raw, str):
            return literal(raw)
        if "{{" in raw or "{%" in raw:
            return unknown("analysis", "Jinja expressions are not followed")
        parts = re.split(r"<%(.*?)%>", raw, flags=re.S)
        if len(parts) == 1:
            return literal(raw)
        if len(parts) == 3 and not parts[0].strip() and not parts[2].strip():
            return self.expr(parts[1], env)
        out = literal("")
        for i, part in enumerate(parts):
            out = concat(out, literal(part) if i % 2 == 0 else
                         to_string(self.expr(part, env)))
        return out

    def expr(self, text, env):
        try:
            return self.eval(YaqlParser(text).parse(), env)
        except Unsupported as e:
            return unknown("analysis", str(e))

    def eval(self, node, env):
        kind = node[0]
        if kind == "lit":
            return literal(node[1])
        if kind == "call":
            return self.call(node[1], node[2], env)
        if kind == "method":
            return self.method(self.eval(node[1], env), node[2], node[3], env)
        if kind == "attr":
            return self.eval(node[1], env).prop(node[2])
        if kind == "index":
            base, index = self.eval(node[1], env), self.eval(node[2], env)
            if base.type == "array" or base.items is not None:
                return base.items or unknown("analysis", "an item of an empty array")
            if index.exact is not None and len(index.exact) == 1:
                return base.prop(str(next(iter(index.exact))))
            raise Unsupported("an index that is no literal")
        if kind == "bin" and node[1] in ("+", "-"):
            a, b = self.eval(node[2], env), self.eval(node[3], env)
            if node[1] == "+" and "string" in (a.type, b.type):
                return concat(to_string(a), to_string(b))
            if a.type == b.type == "integer":
                return arith(node[1], a, b)
            raise Unsupported(f"{node[1]} of {a.type or 'unknown'} and {b.type or 'unknown'}")
        if kind in ("bin", "un") and node[1] in ("or", "and", "not", "=", "!=", "<", ">",
                                                  "<=", ">=", "in"):
            return Val("boolean", exact={True, False})
        if kind == "un" and node[1] == "-":
            v = self.eval(node[2], env)
            if v.type == "integer":
                return arith("-", literal(0), v)
        raise Unsupported(f"the YAQL form {node[0]} {node[1] if len(node) > 1 else ''}")

    def call(self, name, args, env):
        if name == "ctx":
            if len(args) == 1 and args[0][0] in ("name", "lit"):
                return self.var(str(args[0][1]))
            raise Unsupported("ctx() without a name")
        if name == "item":
            item = env.get("item")
            if item is None:
                raise Unsupported("item() outside a with-items task")
            return item
        if name == "result":
            if "result" not in env:
                raise Unsupported("result() outside a publish")
            return env["result"]
        vals = [self.eval(a, env) for a in args if a[0] != "case"]
        if name == "str" and len(vals) == 1:
            return to_string(vals[0])
        if name == "len" and len(vals) == 1:
            return length(vals[0])
        if name == "range" and len(args) in (1, 2):
            lo, hi = (literal(0), vals[0]) if len(vals) == 1 else vals
            if lo.type != "integer" or hi.type != "integer":
                raise Unsupported("range() of no integers")
            v = Val("array", items=Val("integer", lo=lo.lo, hi=None if hi.hi is None else hi.hi - 1))
            if hi.hi is None or lo.lo is None:
                v.gaps["count"] = hi.gap("hi") if hi.hi is None else lo.gap("lo")
            else:
                v.count = max(0, hi.hi - lo.lo)
            return v
        if name == "switch":
            return union([self.eval(a[2], env) for a in args if a[0] == "case"])
        if name in ("max", "min") and len(vals) == 2 and all(v.type == "integer" for v in vals):
            return extreme(name, *vals)
        raise Unsupported(f"{name}()")

    def method(self, base, name, args, env):
        vals = [self.eval(a, env) for a in args] if name not in ("where", "select",
                                                                  "orderBy") else []
        if name == "len" and not vals:
            return length(base)
        if name == "join" and len(vals) == 1:
            return join(base, vals[0])
        if name in ("take", "limit") and len(vals) == 1:
            n = vals[0]
            v = copy_val(base)
            if n.hi is not None and (v.count is None or n.hi < v.count):
                v.count = max(0, n.hi)
                v.gaps.pop("count", None)
            return v
        if name in ("where", "skip", "distinct", "orderBy", "reverse"):
            return copy_val(base)  # a subset of the items, in some order
        if name in ("first", "last"):
            item = base.items if base.items is not None else unknown("analysis", "")
            if base.items is None and "items" in base.gaps:
                item = unknown(*base.gap("items"))
            return union([item] + vals[:1])
        if name == "get" and vals:
            key = vals[0]
            if key.exact is None or len(key.exact) != 1:
                raise Unsupported("get() with a key that is no literal")
            return union([base.prop(str(next(iter(key.exact)))), vals[1] if len(vals) > 1
                          else literal(None)])
        if name == "substring":
            return substring(base, vals)
        raise Unsupported(f".{name}()")


def extreme(name, a, b):
    """YAQL max(a, b) / min(a, b) of two integers: the bounds of the result
    are the max (min) of the operands' bounds; an unknown bound stays
    unknown unless the other operand settles it (max's low end, min's high)."""
    pick = max if name == "max" else min
    v = Val("integer")
    for f, settles in (("lo", name == "max"), ("hi", name == "min")):
        x, y = getattr(a, f), getattr(b, f)
        if x is not None and y is not None:
            setattr(v, f, pick(x, y))
        elif settles and (x is not None or y is not None):
            setattr(v, f, x if x is not None else y)
        else:
            v.gaps[f] = a.gap(f) if x is None else b.gap(f)
    return v


def copy_val(v):
    out = Val(v.type, v.gaps, **{f: getattr(v, f) for f in FIELDS})
    out.exact, out.nullable, out.pattern = v.exact, v.nullable, v.pattern
    return out


def length(v):
    n = Val("integer", lo=0)
    bound = v.count if v.type == "array" or v.items is not None else v.maxlen
    if bound is None:
        n.gaps["hi"] = v.gap("count" if v.type == "array" else "maxlen")
    n.hi = bound
    return n


def arith(op, a, b):
    v = Val("integer")
    if op == "+":
        v.lo = None if a.lo is None or b.lo is None else a.lo + b.lo
        v.hi = None if a.hi is None or b.hi is None else a.hi + b.hi
        why = {"lo": a.gap("lo") if a.lo is None else b.gap("lo"),
               "hi": a.gap("hi") if a.hi is None else b.gap("hi")}
    else:
        v.lo = None if a.lo is None or b.hi is None else a.lo - b.hi
        v.hi = None if a.hi is None or b.lo is None else a.hi - b.lo
        why = {"lo": a.gap("lo") if a.lo is None else b.gap("hi"),
               "hi": a.gap("hi") if a.hi is None else b.gap("lo")}
    if a.exact is not None and b.exact is not None and len(a.exact) * len(b.exact) <= 64:
        v.exact = {x + y if op == "+" else x - y for x in a.exact for y in b.exact}
    for f in ("lo", "hi"):
        if getattr(v, f) is None:
            v.gaps[f] = why[f]
    return v


def show(value):
    text = repr(value)
    return text if len(text) <= 70 else f"{text[:60]}...' ({len(value)} characters)"


def misfits(schema, v):
    """(kind, constraint, why) for each part of the child's schema the value
    may break: kind "problem" (with an example) or a gap kind."""
    out = []
    ptype = schema.get("type")
    if isinstance(ptype, list) and v.type in ptype:
        ptype = v.type  # a value of one of the types: checked as that one
    if isinstance(ptype, str) and v.type and v.type != "null" and not (
            ptype == v.type or (ptype == "number" and v.type == "integer")
            or (ptype in ("integer", "number", "boolean") and v.type == "string")):
        # st2 casts every given parameter to its declared type
        # (st2common/util/param.py _cast_params_from, util/casts.py), and
        # _cast_string refuses anything but a string.
        out.append(("problem", f"type {ptype}", f"its type is {v.type}"))
        return out
    if ptype == "string" or (ptype is None and v.type == "string"):
        out += string_misfits(schema, v)
    if ptype in ("integer", "number"):
        for key, f, bad in (("minimum", "lo", lambda x, m: x < m),
                            ("maximum", "hi", lambda x, m: x > m)):
            if key not in schema:
                continue
            got = getattr(v, f)
            if v.exact is not None and all(isinstance(x, (int, float)) for x in v.exact):
                got = (min if f == "lo" else max)(v.exact)
            if got is None:
                out.append(v.gap(f)[:1] + (f"{key} {schema[key]}", v.gap(f)[1]))
            elif bad(got, schema[key]):
                out.append(("problem", f"{key} {schema[key]}", f"it may be {got}"))
    return out


def string_misfits(schema, v):
    out = []
    checks = []
    if isinstance(schema.get("enum"), list):
        enum = schema["enum"]
        checks.append((f"enum {enum}", lambda s: s in enum,
                       ("alt", [literal_lang(x) for x in enum if isinstance(x, str)])))
    if "pattern" in schema:
        pat = str(schema["pattern"])
        checks.append((f"pattern {pat}", lambda s: re.search(pat, s) is not None, pat))
    for constraint, accepts, outer in checks:
        if v.exact is not None:
            bad = sorted(s for s in v.exact if isinstance(s, str) and not accepts(s))
            if bad:
                out.append(("problem", constraint, f"it may be {show(bad[0])}"))
            continue
        if isinstance(outer, str) and outer == v.pattern:
            continue  # validated against this very pattern already
        if v.lang is None:
            out.append(v.gap("lang")[:1] + (constraint, v.gap("lang")[1]))
            continue
        try:
            outer_lang = pattern_lang(outer, True) if isinstance(outer, str) else outer
        except Unsupported as e:
            out.append(("analysis", constraint, f"the pattern is beyond the lint's "
                                                f"regex subset ({e})"))
            continue
        bad = counterexample(v.lang, outer_lang, v.maxlen)
        if bad is not None:
            out.append(("problem", constraint, f"it may be {show(bad)}"))
        elif counterexample(v.lang, outer_lang, None, tagged=True) is not None:
            bad = counterexample(v.lang, outer_lang, None, tagged=True)
            out.append(("newline", constraint, show(bad)))
    if is_int(schema.get("maxLength")):
        limit = schema["maxLength"]
        longest = max((len(s) for s in v.exact if isinstance(s, str)), default=0) \
            if v.exact is not None else v.maxlen
        if longest is None:
            out.append(v.gap("maxlen")[:1] + (f"maxLength {limit}", v.gap("maxlen")[1]))
        elif longest > limit:
            out.append(("problem", f"maxLength {limit}",
                        f"it may be {longest} characters long"))
    return out


def check_wf_values(lint, path, ref, wf, params):
    """Every value a task gives an action of this pack fits its schema."""
    flow = Flow(lint, ref, wf, params)
    for tname, task in flow.tasks.items():
        if not isinstance(task, dict) or not isinstance(task.get("input"), dict):
            continue
        child = task.get("action")
        pack, _, name = str(child).partition(".")
        doc = lint.actions.get(name) if pack == lint.ref else None
        schemas = doc.get("parameters") if isinstance(doc, dict) else \
            CORE_SCHEMAS.get(child)
        if not isinstance(schemas, dict):
            continue
        env = {}
        if isinstance(task.get("with"), dict):
            items = flow.items(task)
            env["item"] = items.items if items.items is not None else \
                unknown(*items.gap("items"))
        given = [(key, raw, schemas.get(key), f"{child} parameter '{key}'")
                 for key, raw in task["input"].items()]
        if child == INJECT:
            given += injected_payload(lint, path, tname, task["input"])
        for key, raw, schema, what in given:
            if not isinstance(schema, dict):
                continue
            v = flow.value(raw, env)
            for kind, constraint, why in misfits(schema, v):
                shown = raw if isinstance(raw, str) else repr(raw)
                head = f"task '{tname}': {what} ({constraint})"
                if kind == "problem":
                    lint.fail(path, f"{head} refuses what {shown} may give: {why}")
                elif kind == "newline":
                    lint.note(path, f"{head} refuses what {shown} may give only with "
                                    f"the newline a $ lets through, such as {why} "
                                    "(Python's re.search: every ^...$ pattern lets "
                                    "one through, so this is not failed)")
                elif kind == "analysis":
                    lint.note(path, f"{head} is not checked against {shown}: {why}")
                else:
                    lint.fail(path, f"{head}: cannot show that {shown} fits: {why}"
                                    + (" (declare it: packlint then checks it)"
                                       if kind == "declare" and "bound it" not in why
                                       else ""))


def injected_payload(lint, path, tname, given):
    """A core.inject_trigger task: st2's API refuses (400, the action fails)
    an unknown trigger type or a payload its payload_schema refuses
    (services/trigger_dispatcher.py, dispatch_with_context, with
    validate_trigger_payload on by default). The trigger must be a literal
    trigger type of the pack; the payload's fields are checked here, and
    (key, raw, schema, what) returned for each value to be checked."""
    trigger, payload = given.get("trigger"), given.get("payload")
    where = f"task '{tname}': {INJECT}"
    if not isinstance(trigger, str) or "<%" in trigger or "{{" in trigger:
        lint.fail(path, f"{where}: trigger must be a literal trigger type")
        return []
    schema = lint.trigger_schemas.get(trigger)
    if schema is None:
        lint.fail(path, f"{where}: trigger '{trigger}' is no trigger type of {lint.ref} "
                        "(triggers/ or a sensor's trigger_types)")
        return []
    if payload is not None and not isinstance(payload, dict):
        lint.fail(path, f"{where}: payload must be a mapping of its fields")
        return []
    payload = payload or {}
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = {k for k, p in props.items() if isinstance(p, dict) and p.get("required") is True}
    if isinstance(schema.get("required"), list):
        required |= set(schema["required"])
    for key in sorted(set(payload) - set(props), key=str):
        lint.fail(path, f"{where}: payload field '{key}' is not in {trigger}'s payload_schema")
    for key in sorted(required - set(payload)):
        lint.fail(path, f"{where}: payload lacks '{key}', required by {trigger}")
    return [(key, raw, props.get(key), f"{trigger} payload field '{key}'")
            for key, raw in payload.items()]


# ------------------------------------------------------------------ sensors

def check_sensors(lint, root):
    """Check sensors; fill lint.triggers with the pack's trigger types."""
    for path, doc in yaml_docs(lint, root, "sensors"):
        for key in ("class_name", "entry_point"):
            if not doc.get(key):
                lint.fail(path, f"missing required field '{key}'")
        entry = doc.get("entry_point", "")
        if entry and not os.path.exists(os.path.join(root, "sensors", str(entry))):
            lint.fail(path, f"entry_point '{entry}' does not exist")
        types = doc.get("trigger_types") or []
        for t in types if isinstance(types, list) else [None]:
            check_trigger_type(lint, path, t)


def check_trigger_type(lint, path, t):
    if not isinstance(t, dict) or not t.get("name"):
        lint.fail(path, "every trigger type needs a name")
        return
    name = t["name"]
    if not NAME.match(str(name)):
        lint.fail(path, f"trigger type name '{name}' must match ^\\w+$")
    schema = t.get("payload_schema")
    if not isinstance(schema, dict):
        lint.fail(path, f"trigger type '{name}' needs a payload_schema")
        return
    props = schema.get("properties")
    lint.triggers[f"{lint.ref}.{name}"] = set(props) if isinstance(props, dict) else set()
    lint.trigger_schemas[f"{lint.ref}.{name}"] = schema


def check_triggers(lint, root):
    """triggers/*.yaml: the pack's own trigger types; fill lint.triggers."""
    for path, doc in yaml_docs(lint, root, "triggers"):
        for key in sorted(set(doc) - TRIGGER_TYPE_KEYS, key=str):
            lint.fail(path, f"unknown key '{key}' (a trigger type has only "
                            f"{', '.join(sorted(TRIGGER_TYPE_KEYS))})")
        if "pack" in doc and doc["pack"] != lint.ref:
            lint.fail(path, f"pack '{doc['pack']}' is not {lint.ref}: st2 refuses to "
                            "register it")
        check_trigger_type(lint, path, doc)


# -------------------------------------------------------------------- rules

def check_trigger(lint, path, trigger):
    """The rule's trigger type exists; returns its payload fields (or None)."""
    ttype = trigger.get("type")
    tparams = trigger.get("parameters")
    tparams = tparams if isinstance(tparams, dict) else {}
    if ttype == "core.st2.webhook" and not tparams.get("url"):
        lint.fail(path, "a core.st2.webhook trigger needs parameters.url")
    if ttype == "core.st2.IntervalTimer":
        if tparams.get("unit") not in TIMER_UNITS:
            lint.fail(path, f"IntervalTimer unit must be one of {sorted(TIMER_UNITS)}")
        if not is_int(tparams.get("delta")) or tparams["delta"] < 1:
            lint.fail(path, "IntervalTimer delta must be an integer >= 1")
    fields = BUILTIN_TRIGGERS.get(ttype, lint.triggers.get(ttype))
    if fields is None and ttype:
        lint.fail(path, f"trigger type '{ttype}' is neither core.st2.webhook, "
                        f"core.st2.IntervalTimer nor a trigger of {lint.ref}'s sensors "
                        "or triggers/")
    return fields


def check_criteria(lint, path, criteria, fields):
    if not isinstance(criteria, dict):
        lint.fail(path, "criteria must be a mapping")
        return
    for key, c in criteria.items():
        head, _, rest = str(key).partition(".")
        field = re.split(r"[.\[]", rest)[0]
        if head != "trigger" or not rest:
            lint.fail(path, f"criterion '{key}' must start with trigger.")
        elif fields is not None and field not in fields:
            lint.fail(path, f"criterion '{key}': the trigger has no field '{field}'")
        if not isinstance(c, dict) or c.get("type") not in OPERATORS:
            lint.fail(path, f"criterion '{key}' needs a type among st2's operators")
        elif c["type"] not in ("exists", "nexists") and "pattern" not in c:
            lint.fail(path, f"criterion '{key}' needs a pattern")


def check_rule_action(lint, path, action, fields):
    ref = action.get("ref", "")
    problem, params = resolve_action(lint, ref)
    if problem:
        lint.fail(path, problem)
        return
    given = action.get("parameters") or {}
    if not isinstance(given, dict):
        lint.fail(path, "action.parameters must be a mapping")
        return
    if params is not None:
        check_given(lint, path, "", "parameter", ref, params, given)
    for where, text in strings(given, "action.parameters"):
        param = where.split(".")[2].split("[")[0]
        check_config_reads(lint, path, f"{where} (parameter '{param}' of {ref})", text)
        for body in expressions(text):
            for field in TRIGGER_REF.findall(body):
                if fields is not None and field not in fields:
                    lint.fail(path, f"{where} reads trigger.{field}, which is "
                                    "not in the trigger's payload")


def check_rules(lint, root):
    for path, doc in yaml_docs(lint, root, "rules"):
        for key in ("name", "trigger", "action"):
            if not doc.get(key):
                lint.fail(path, f"missing required field '{key}'")
        if doc.get("enabled") is not True:
            lint.fail(path, "rules default to disabled: write enabled: true")
        trigger, action = doc.get("trigger") or {}, doc.get("action") or {}
        if not isinstance(trigger, dict) or (trigger and not trigger.get("type")):
            lint.fail(path, "trigger needs a type")
            trigger = {}
        if not isinstance(action, dict) or (action and not action.get("ref")):
            lint.fail(path, "action needs a ref")
        if not isinstance(action, dict) or not action.get("ref"):
            continue
        fields = check_trigger(lint, path, trigger)
        if "criteria" in doc:
            check_criteria(lint, path, doc["criteria"], fields)
        check_rule_action(lint, path, action, fields)


# ----------------------------------------------------------------- policies

def check_concurrency(lint, path, ptype, params, action):
    t = params.get("threshold")
    if not is_int(t) or t < 1:
        lint.fail(path, "parameters.threshold must be an integer >= 1")
    if "action" in params and params["action"] not in ("delay", "cancel"):
        lint.fail(path, "parameters.action must be delay or cancel")
    if ptype != "action.concurrency.attr":
        return
    attrs = params.get("attributes")
    if not isinstance(attrs, list) or not attrs:
        lint.fail(path, "parameters.attributes must be a non-empty list")
        return
    # An attribute the action lacks groups nothing: every run would wait.
    declared = action_params(action) if action else {}
    for a in attrs:
        if action and a not in declared:
            lint.fail(path, f"parameters.attributes: '{a}' is not a parameter "
                            "of the action")


def check_retry(lint, path, params):
    if params.get("retry_on") not in ("failure", "timeout"):
        lint.fail(path, "parameters.retry_on must be failure or timeout")
    for key in ("max_retry_count", "delay"):
        if key in params and (not is_int(params[key]) or params[key] < 0):
            lint.fail(path, f"parameters.{key} must be an integer >= 0")


def check_policies(lint, root):
    for path, doc in yaml_docs(lint, root, "policies"):
        for key in ("name", "resource_ref", "policy_type"):
            if not doc.get(key):
                lint.fail(path, f"missing required field '{key}'")
        if doc.get("enabled", True) is not True:
            lint.fail(path, "enabled is not true: the policy is off")
        ref = doc.get("resource_ref")
        pack, _, name = str(ref).partition(".")
        action = lint.actions.get(name) if pack == lint.ref else None
        if ref and action is None:
            lint.fail(path, f"resource_ref '{ref}' is not an action of this pack")
        ptype = doc.get("policy_type")
        if ptype and ptype not in POLICY_TYPES:
            lint.fail(path, f"policy_type '{ptype}' is not one of {sorted(POLICY_TYPES)}")
        params = doc.get("parameters") or {}
        if not isinstance(params, dict):
            lint.fail(path, "parameters must be a mapping")
        elif ptype in ("action.concurrency", "action.concurrency.attr"):
            check_concurrency(lint, path, ptype, params, action)
        elif ptype == "action.retry":
            check_retry(lint, path, params)


# -------------------------------------------------------------- aliases
#
# st2common/models/api/action.py, ActionAliasAPI (additionalProperties
# false); the {{ }} grammar is action_alias_utils.py's generate_snippets.
ALIAS_KEYS = {"id", "ref", "uid", "name", "pack", "description", "enabled", "action_ref",
              "formats", "ack", "result", "extra", "immutable_parameters", "metadata_file"}
ALIAS_MESSAGE_KEYS = {"ack": {"enabled", "format", "extra", "append_url"},
                      "result": {"enabled", "format", "extra"}}
ALIAS_PARAM = re.compile(r"{{\s*(\S+?)\s*(?:=.*?)?}}", re.DOTALL)


def alias_representations(lint, path, formats):
    """Each format's representations (actionalias_matching.py,
    normalise_alias_format_string), or None after reporting a bad one."""
    if not isinstance(formats, list) or not formats:
        lint.fail(path, "formats must be a non-empty list")
        return None
    out = []
    for f in formats:
        if isinstance(f, str):
            out.append(f)
        elif isinstance(f, dict) and set(f) <= {"display", "representation"} \
                and isinstance(f.get("representation"), list) \
                and all(isinstance(r, str) for r in f["representation"]):
            out.extend(f["representation"])
        else:
            lint.fail(path, f"format {f!r}: a string or {{display, representation: [strings]}}")
            return None
    return out


def check_alias(lint, path, doc):
    for key in sorted(set(doc) - ALIAS_KEYS):
        lint.fail(path, f"unknown top-level key '{key}'")
    for key in ("name", "action_ref"):
        if not isinstance(doc.get(key), str) or not doc.get(key):
            lint.fail(path, f"missing required field '{key}'")
    if "pack" in doc and doc["pack"] != lint.ref:
        lint.fail(path, f"pack '{doc['pack']}' is not this pack ('{lint.ref}')")
    if doc.get("name") and os.path.basename(path) != f"{doc['name']}.yaml":
        lint.fail(path, f"file name should be {doc['name']}.yaml")
    for part, keys in ALIAS_MESSAGE_KEYS.items():
        given = doc.get(part, {})
        if not isinstance(given, dict):
            lint.fail(path, f"{part} must be a mapping")
        else:
            for key in sorted(set(given) - keys):
                lint.fail(path, f"{part}: unknown key '{key}'")
    immutable = doc.get("immutable_parameters") or {}
    if not isinstance(immutable, dict):
        lint.fail(path, "immutable_parameters must be a mapping")
        immutable = {}
    representations = alias_representations(lint, path, doc.get("formats"))
    if not doc.get("action_ref") or representations is None:
        return
    problem, params = resolve_action(lint, doc["action_ref"])
    if problem:
        lint.fail(path, problem)
        return
    if params is None:
        return
    required = {n for n, must in params.items() if must is True}
    for name in sorted(set(immutable) - set(params)):
        lint.fail(path, f"immutable parameter '{name}' is not a parameter of {doc['action_ref']}")
    for rep in representations:
        names = ALIAS_PARAM.findall(rep)
        for name in names:
            if name not in params:
                lint.fail(path, f"format '{rep}': '{name}' is not a parameter of "
                                f"{doc['action_ref']}")
            elif name in immutable:
                lint.fail(path, f"format '{rep}': '{name}' is also immutable (st2 refuses "
                                "every such command)")
        for name in sorted(required - set(names) - set(immutable)):
            lint.fail(path, f"format '{rep}': required parameter '{name}' of "
                            f"{doc['action_ref']} is never given")


def check_aliases(lint, root):
    for path, doc in yaml_docs(lint, root, "aliases"):
        check_alias(lint, path, doc)


# -------------------------------------------------------------- error codes
#
# Every error an action prints carries a code from one registry,
# lib/core/error_codes.c (one row each: code, exit statuses, meaning), listed
# again in docs/errors.md. The C is read, not compiled: comments are blanked
# (strings kept, so line numbers hold), then a string literal counts as a
# code where the code of an error is written:
#   - the argument named `code` of any function declared in lib/ with one
#     (as_fail, as_failv, as_error_is, as_error_recode, jx_parse, and any
#     wrapper to come);
#   - the value assigned to something named `code` (every literal of the
#     expression: a ternary picks among them), or snprintf'd into one;
#   - the initializer or a member assignment of a variable or struct type
#     named `*codes` (digitalocean.h's per-provider code families);
#   - `return "..."` in a function whose result is assigned to a code.

ERROR_TABLE = os.path.join("lib", "core", "error_codes.c")
ERROR_DOC = os.path.join("docs", "errors.md")
ERROR_DIRS = ("lib", os.path.join("actions", "src"), os.path.join("actions", "runner"))
CODE_SHAPE = re.compile(r"^[a-z][a-z0-9_]{0,46}$")
C_LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
C_TOKEN = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'', re.S)
EXIT_NAMES = {"AS_X_FAILURE": "1", "AS_X_BADINPUT": "2"}
EXIT_OF_CALL = {"AS_EXIT_FAILURE": "1", "AS_EXIT_BADINPUT": "2"}
AS_FAIL = ("as_fail", "as_failv")
TABLE_ROW = re.compile(r'\{\s*"([^"]*)"\s*,\s*([A-Z_|\s]+?)\s*,\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\}')
DOC_ROW = re.compile(r"^\|\s*`([^`]*)`\s*\|\s*([^|]*?)\s*\|")


def c_code(text):
    """text with comments blanked (newlines kept) and literals left as they are."""
    def blank(m):
        s = m.group(0)
        return re.sub(r"[^\n]", " ", s) if s.startswith("/") else s
    return C_TOKEN.sub(blank, text)


C_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
C_CHAR = re.compile(r"'(?:[^'\\\n]|\\.)*'")
CODE_PARAM = re.compile(r"\bchar\s*\*\s*code\s*[,)]")


def split_args(text, start):
    """The arguments of the call whose '(' is at text[start-1]: a list of
    (offset, text), and the offset after the ')'."""
    args, depth, i, begin = [], 1, start, start
    while i < len(text) and depth:
        c = text[i]
        if c == '"' or c == "'":
            m = (C_STRING if c == '"' else C_CHAR).match(text, i)
            i = m.end() if m else i + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if (c == "," and depth == 1) or depth == 0:
            args.append((begin, text[begin:i]))
            begin = i + 1
        i += 1
    return args, i


def code_params(sources):
    """{function: index of its parameter named `code`}, from every
    declaration with a `const char *code` parameter."""
    found = {}
    for text in sources.values():
        for m in CODE_PARAM.finditer(text):
            depth, i, commas = 0, m.start(), 0
            while i > 0 and depth >= 0:  # back to the list's '('
                i -= 1
                c = text[i]
                depth += {")": 1, "(": -1}.get(c, 0)
                commas += c == "," and depth == 0
            name = re.search(r"([a-z_]\w*)\s*$", text[max(0, i - 64):i])
            if name:
                found[name.group(1)] = commas
    return found


def expression_end(text, at):
    """Where the expression starting at `at` ends: the first ',', ';' or
    closing bracket outside the brackets it opens."""
    depth, i = 0, at
    while i < len(text):
        c = text[i]
        if c == '"':
            m = C_STRING.match(text, i)
            i = m.end() if m else i + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif c in ",;" and depth == 0:
            break
        i += 1
    return i


def literal_codes(text, params):
    """(offset, code, exit or None) for every literal in a code position."""
    out = []
    def add(seg, base, exit_=None):
        for m in C_LITERAL.finditer(seg):
            if CODE_SHAPE.match(m.group(1)):
                out.append((base + m.start(), m.group(1), exit_))
    calls = "|".join(map(re.escape, sorted(params) + ["snprintf"]))
    for m in re.finditer(r"\b(%s)\s*\(" % calls, text):
        name = m.group(1)
        args, _ = split_args(text, m.end())
        if name == "snprintf":
            if len(args) == 3 and re.search(r"\bcode\s*$", args[0][1]):
                add(args[2][1], args[2][0])
            continue
        i = params[name]
        if i < len(args) and re.fullmatch(r'\s*"[^"]*"\s*', args[i][1]):
            # as_fail's exit argument stands just before its code
            exit_ = EXIT_OF_CALL.get(args[i - 1][1].strip()) if name in AS_FAIL else None
            add(args[i][1], args[i][0], exit_)
    for m in re.finditer(r"(?:\bcode|\bcodes\s*\.\s*\w+)\s*=(?!=)", text):
        add(text[m.end():expression_end(text, m.end())], m.end())
    for m in re.finditer(r"\bstruct\s+\w*codes\s+\w+\s*=\s*\{", text):
        end = text.find("};", m.end())
        add(text[m.end():end], m.end())
    for m in re.finditer(r"\bcode\s*=\s*([a-z_]\w*)\s*\(", text):
        fn = re.search(r"\b%s\s*\([^;{]*\)\s*\{" % re.escape(m.group(1)), text)
        if fn:
            body_end = text.find("\n}", fn.end())
            for r in re.finditer(r'\breturn\s+("[^"]*")', text[fn.end():body_end]):
                add(r.group(1), fn.end() + r.start(1))
    return out


def read_error_table(lint, path):
    """{code: set of exit statuses ("1", "2")} from lib/core/error_codes.c."""
    table = {}
    try:
        with open(path, encoding="utf-8") as f:
            text = c_code(f.read())
    except OSError as e:
        lint.fail(path, f"cannot be read: {e}")
        return table
    for m in TABLE_ROW.finditer(text):
        code, exits = m.group(1), m.group(2)
        names = {x.strip() for x in exits.split("|")}
        if not CODE_SHAPE.match(code):
            lint.fail(path, f"code '{code}' must match ^[a-z][a-z0-9_]*$ and fit 47 bytes")
        if code in table:
            lint.fail(path, f"code '{code}' is listed twice")
        if not names or not names <= set(EXIT_NAMES):
            lint.fail(path, f"code '{code}': exit statuses must be AS_X_FAILURE and/or "
                            "AS_X_BADINPUT")
        table[code] = {EXIT_NAMES[n] for n in names if n in EXIT_NAMES}
    codes = list(table)
    if codes != sorted(codes):
        lint.fail(path, "rows must be sorted by code (as_error_code_find searches them)")
    return table


def read_error_doc(lint, path):
    """{code: exit column text} from the rows of docs/errors.md's tables."""
    doc = {}
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        lint.fail(path, "is missing: it lists every code of lib/core/error_codes.c")
        return None
    for line in lines:
        m = DOC_ROW.match(line)
        if m:
            doc[m.group(1)] = m.group(2)
    return doc


def exit_text(exits):
    return " or ".join(sorted(exits))


def check_error_codes(lint, root):
    table_path = os.path.join(root, ERROR_TABLE)
    if not os.path.exists(table_path):
        return  # a pack without the C library
    table = read_error_table(lint, table_path)
    sources = {}
    for d in ERROR_DIRS:
        full = os.path.join(root, d)
        for path in sorted(os.path.join(d_, f) for d_, _, names in os.walk(full)
                           for f in names):
            if path.endswith((".c", ".h")) and path != table_path:
                with open(path, encoding="utf-8", errors="replace") as fh:
                    sources[path] = c_code(fh.read())
    params = code_params(sources)
    used = set()
    for path, text in sources.items():
        used.update(m.group(1) for m in C_LITERAL.finditer(text))
        for at, code, exit_ in literal_codes(text, params):
            line = text.count("\n", 0, at) + 1
            where = f"{os.path.relpath(path, root)}:{line}"
            if code not in table:
                lint.fail(table_path, f"error code '{code}' ({where}) is not in the table")
            elif exit_ and exit_ not in table[code]:
                lint.fail(table_path, f"error code '{code}' ({where}) comes with exit "
                                      f"{exit_}, the table says {exit_text(table[code])}")
    for code in table:
        if code not in used:
            lint.fail(table_path, f"error code '{code}' is used nowhere in lib/ or "
                                  "actions/src/: drop its row")
    doc_path = os.path.join(root, ERROR_DOC)
    doc = read_error_doc(lint, doc_path)
    if doc is None:
        return
    for code, exits in table.items():
        if code not in doc:
            lint.fail(doc_path, f"error code '{code}' is not documented")
        elif doc[code] != exit_text(exits):
            lint.fail(doc_path, f"error code '{code}': exit '{doc[code]}' here, "
                                f"'{exit_text(exits)}' in {ERROR_TABLE}")
    for code in doc:
        if code not in table:
            lint.fail(doc_path, f"error code '{code}' is not in {ERROR_TABLE}")


def main(argv):
    root = os.path.abspath(argv[1] if len(argv) > 1 else ".")
    lint = Lint(root)
    for path in yaml_files(root):
        lint.load(path)
    pack = check_pack(lint, root) or {}
    lint.ref = str(pack.get("ref") or pack.get("name") or lint.ref)
    config = lint.config = check_config_schema(lint, root)
    # Trigger types first: workflows (core.inject_trigger) and rules use them.
    check_triggers(lint, root)
    check_sensors(lint, root)
    # All actions next: workflows, rules and policies refer to them.
    for path, doc in load_actions(lint, root):
        check_action_config(lint, path, doc)
        if doc.get("runner_type") == "local-shell-script":
            check_secrets(lint, path, doc)
            check_c_params(lint, root, path, doc, config)
        elif doc.get("runner_type") == "orquesta":
            check_workflow(lint, root, path, doc)
    check_rules(lint, root)
    check_policies(lint, root)
    check_aliases(lint, root)
    check_error_codes(lint, root)
    for p in lint.problems + lint.notes:
        print(p)
    print(f"packlint: {len(lint.problems)} problem(s)"
          + (f", {len(lint.notes)} note(s) on what it cannot decide" if lint.notes else ""))
    return 1 if lint.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
