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
    variable or st2;
  - rules/*.yaml: required name, trigger.type and action.ref; enabled: true;
    a trigger type st2 or the pack provides (core.st2.webhook with a url,
    core.st2.IntervalTimer with unit and delta, or <pack>.<sensor trigger>);
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
    a ^\\w+$ name and a payload_schema.
Parameters st2 merges in from the runner (timeout, env, ...) count as
parameters of every action of that runner.
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
TYPE_NAMES = {str: "string", bool: "boolean", dict: "mapping", list: "list"}
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                    r"(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
CONFIG_REF = re.compile(r"^\{\{\s*config_context\.(\w+)\s*\}\}$")
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
}

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
        self.ref = os.path.basename(root)
        self.actions = {}    # action name -> its YAML
        self.triggers = {}   # trigger ref -> set of payload fields
        self._loaded = {}

    def fail(self, path, msg):
        line = f"{os.path.relpath(path, self.root)}: {msg}"
        # A workflow shared by two actions is checked twice: say it once.
        if line not in self.problems:
            self.problems.append(line)

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
    if (p.get("immutable") and types != "string"
            and isinstance(p.get("default"), str) and "{{" in p["default"]):
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
        check_default(lint, path, name, y, c, config)


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
                        f"core.st2.IntervalTimer nor a trigger of {lint.ref}'s sensors")
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


def main(argv):
    root = os.path.abspath(argv[1] if len(argv) > 1 else ".")
    lint = Lint(root)
    for path in yaml_files(root):
        lint.load(path)
    pack = check_pack(lint, root) or {}
    lint.ref = str(pack.get("ref") or pack.get("name") or lint.ref)
    config = check_config_schema(lint, root)
    # All actions first: workflows, rules and policies refer to them.
    for path, doc in load_actions(lint, root):
        if doc.get("runner_type") == "local-shell-script":
            check_c_params(lint, root, path, doc, config)
        elif doc.get("runner_type") == "orquesta":
            check_workflow(lint, root, path, doc)
    check_sensors(lint, root)  # before rules: they use its trigger types
    check_rules(lint, root)
    check_policies(lint, root)
    for p in lint.problems:
        print(p)
    print(f"packlint: {len(lint.problems)} problem(s)")
    return 1 if lint.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
