"""Action parameters the way st2 prepares them, and the local-shell-script
command line (st2-contract.md, sections 1 and 2).

st2 renders parameters twice (st2common/util/param.py):
- render_live_params, when an execution is requested (API, rule, workflow
  task): the given values, plus every non-immutable Jinja default not
  overridden, rendered with StrictUndefined and cast; these are then
  validated against the schema (services/action.py, create_request);
- render_final_params, when the runner starts it: every remaining default
  (immutable ones too) rendered and cast, nothing validated.
Rendering works on a dependency graph of templates (param.py, _process,
_validate, _resolve_dependencies): a template whose variables are all
unknown is a literal string, one that mixes known and unknown ones is
refused, cycles are refused."""
import ast
import errno
import functools
import json
import ntpath
import os
import posixpath
import re
import shlex

import jinja2
import jinja2.meta
import jinja2.sandbox
import yaml

# Parameters each runner takes (contrib/runners/*/runner.yaml, st2 3.9): an
# action parameter of the same name goes to the runner, not to the program.
LOCAL_SHELL_SCRIPT = {
    "debug": {"type": "boolean", "required": False, "default": False},
    "content_version": {"type": "string", "required": False},
    "cwd": {"type": "string"},
    "env": {"type": "object"},
    "kwarg_op": {"type": "string", "default": "--"},
    "sudo": {"type": "boolean", "default": False},
    "sudo_password": {"type": "string", "default": None, "required": False, "secret": True},
    "timeout": {"type": "integer", "default": 60},
}
ORQUESTA = {
    "notify": {"type": "array", "uniqueItems": True, "default": [],
               "items": {"type": "string", "minLength": 1, "pattern": "^\\w+$"}},
}
# contrib/runners/python_runner/python_runner/runner.yaml
PYTHON_SCRIPT = {
    "debug": {"type": "boolean", "required": False, "default": False},
    "content_version": {"type": "string", "required": False},
    "env": {"type": "object"},
    "timeout": {"type": "integer", "default": 600},
    "log_level": {"type": "string", "default": "DEBUG",
                  "enum": ["AUDIT", "CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"]},
}
RUNNERS = {"local-shell-script": LOCAL_SHELL_SCRIPT, "orquesta": ORQUESTA, "noop": {},
           "python-script": PYTHON_SCRIPT}

# The kernel's cap on one argv string, NUL included (MAX_ARG_STRLEN, 32 pages).
MAX_ARG_STRLEN = 131072

# st2common/expressions/functions/data.py, NONE_MAGIC_VALUE (the use_none filter)
NONE_MAGIC = "%*****__%NONE%__*****%"


class ParamException(Exception):
    """st2common.exceptions.param.ParamException: a parameter that cannot be
    rendered. Its type name is part of what a workflow records."""


# ---- the Jinja environment (st2common/util/jinja.py, get_jinja_environment) ----
def _to_json_string(value, indent=None, sort_keys=False, separators=(",", ": ")):
    # data.py, to_json_string: NOT compact by default (", " and ": ")
    options = {"sort_keys": sort_keys}
    if indent is not None:
        options["indent"] = indent
    if separators is not None:
        options["separators"] = separators
    return json.dumps(value, **options)


def _regex_substring(value, pattern, result_index=0, ignorecase=False):
    flags = re.IGNORECASE if ignorecase else 0
    return re.findall(pattern, value, flags)[result_index]


_ENV = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined,
                                           trim_blocks=True, lstrip_blocks=True)
_ENV.filters.update({
    "to_json_string": _to_json_string,
    "to_complex": json.dumps,
    "from_json_string": lambda v: json.loads(str(v)),
    "from_yaml_string": lambda v: yaml.safe_load(str(v)),
    "to_yaml_string": lambda v, indent=None, allow_unicode=True: yaml.safe_dump(
        v, default_flow_style=False, indent=indent, allow_unicode=allow_unicode),
    "json_escape": lambda v: json.dumps(v).strip('"'),
    "use_none": lambda v: NONE_MAGIC if v is None else v,
    "regex_match": lambda v, p, ignorecase=False: re.match(
        p, v, re.IGNORECASE if ignorecase else 0) is not None,
    "regex_search": lambda v, p, ignorecase=False: re.search(
        p, v, re.IGNORECASE if ignorecase else 0) is not None,
    "regex_replace": lambda v, p, r, ignorecase=False: re.sub(
        p, r, v, flags=re.IGNORECASE if ignorecase else 0),
    "regex_substring": _regex_substring,
    "basename": lambda p: (ntpath if "\\" in p else posixpath).basename(p),
    "dirname": lambda p: (ntpath if "\\" in p else posixpath).dirname(p),
})
_ENV.tests["in"] = lambda item, seq: item in seq


@functools.lru_cache(maxsize=4096)
def _template(text):
    """Compiled once per text: a 1,000-node run renders the same defaults
    thousands of times."""
    return _ENV.from_string(text)


@functools.lru_cache(maxsize=4096)
def _variables(text):
    return frozenset(jinja2.meta.find_undeclared_variables(_ENV.parse(text)))


def is_jinja(value):
    """jinja.py, is_jinja_expression: any string holding {{ or {%."""
    return isinstance(value, str) and bool(value) and ("{{" in value or "{%" in value)


class KeyValueLookup:
    """st2kv.system.<key> (services/keyvalues.py, KeyValueLookup): renders the
    stored value, and a key that is not there as an empty string."""

    def __init__(self, store, key=""):
        self._store, self._key = store, key

    def _get(self, name):
        return KeyValueLookup(self._store, f"{self._key}.{name}" if self._key else name)

    __getattr__ = __getitem__ = _get

    def __str__(self):
        return str(self._store.get(self._key, ""))

    def __int__(self):
        return int(float(self))

    def __float__(self):
        return float(str(self))


# ---- casts (st2common/util/casts.py) ----
def _cast_none(x):
    return None if isinstance(x, str) and x == NONE_MAGIC else x


def _cast_object(x):
    x = _cast_none(x)
    if isinstance(x, str):
        try:
            return json.loads(x)
        except ValueError:
            return ast.literal_eval(x)
    return x


def _cast_boolean(x):
    x = _cast_none(x)
    return ast.literal_eval(x.capitalize()) if isinstance(x, str) else x


def _cast_string(x):
    if x is None:
        return x
    if not isinstance(x, str):
        raise ValueError('Value "%s" must either be a string or None. Got "%s".'
                         % (x, type(x).__name__))
    return _cast_none(x)


CASTS = {"array": _cast_object, "object": _cast_object, "boolean": _cast_boolean,
         "integer": lambda x: int(_cast_none(x)), "number": lambda x: float(_cast_none(x)),
         "string": _cast_string}


def cast(value, schema):
    """param.py, _cast: None and untyped values stay as they are; a failed
    cast raises (ValueError, SyntaxError...), it is not a ParamException."""
    if value is None or not schema:
        return value
    kind = schema.get("type")
    fn = CASTS.get(kind) if isinstance(kind, str) else None
    return fn(value) if fn else value


# ---- the dependency graph (param.py) ----
class _Graph:
    """The few networkx.DiGraph operations param.py uses; nodes and edges
    keep insertion order, which decides what renders (and fails) first."""

    def __init__(self):
        self.nodes, self.succ, self.pred = {}, {}, {}

    def add_node(self, name, **attrs):
        if name not in self.nodes:
            self.nodes[name], self.succ[name], self.pred[name] = {}, {}, {}
        self.nodes[name].update(attrs)

    def add_edge(self, a, b):
        self.add_node(a)
        self.add_node(b)
        self.succ[a][b] = self.pred[b][a] = True

    def remove_node(self, name):
        for other in list(self.succ[name]):
            del self.pred[other][name]
        for other in list(self.pred[name]):
            del self.succ[other][name]
        del self.nodes[name], self.succ[name], self.pred[name]

    def copy(self):
        g = _Graph()
        g.nodes = {k: dict(v) for k, v in self.nodes.items()}
        g.succ = {k: dict(v) for k, v in self.succ.items()}
        g.pred = {k: dict(v) for k, v in self.pred.items()}
        return g

    def generations(self):
        """networkx 3.1's topological_sort (topological_generations); None
        when there is a cycle."""
        indegree = {n: len(p) for n, p in self.pred.items()}
        current = [n for n, d in indegree.items() if d == 0]
        order = []
        while current:
            order += current
            nxt = []
            for n in current:
                for child in self.succ[n]:
                    indegree[child] -= 1
                    if indegree[child] == 0:
                        nxt.append(child)
            current = nxt
        return order if len(order) == len(self.nodes) else None

    def cyclic(self):
        """Nodes on a cycle (what param.py names in its message)."""
        alive = {n for n in self.nodes}
        changed = True
        while changed:  # peel nodes without in- or out-edges among the living
            changed = False
            for n in list(alive):
                if not any(p in alive for p in self.pred[n]) or \
                        not any(s in alive for s in self.succ[n]):
                    alive.discard(n)
                    changed = True
        return sorted(alive)


def _process(g, name, value):
    """param.py, _process: a template (its variables become edges) or a value."""
    text = str(value) if isinstance(value, (list, dict)) else value
    if is_jinja(text):
        try:
            deps = _variables(text)
        except jinja2.TemplateSyntaxError:
            g.add_node(name, value=value)  # not Jinja after all
            return
        g.add_node(name, template=value)
        for dep in deps:
            g.add_edge(dep, name)
    else:
        g.add_node(name, value=value)


def _process_defaults(g, schemas):
    for schema in schemas:
        for name, spec in schema.items():
            spec = spec or {}
            if name not in g.nodes or g.nodes[name].get("value") is None \
                    or spec.get("immutable", False):
                _process(g, name, spec.get("default"))


def _known(g, names, seen=None):
    """_check_any_bad: for every variable a template uses, transitively,
    whether it is something (a value or a template)."""
    seen = [] if seen is None else seen
    flags = []
    for n in names:
        flags.append("value" in g.nodes[n] or "template" in g.nodes[n])
        if n not in seen:
            seen.extend(names)
            flags += _known(g, list(g.pred[n]), seen)
    return flags


def _drop_unknown(g, parent, names, seen=None):
    """_remove_bad: the template becomes a literal value; its unknown
    variables leave the graph."""
    seen = [parent] if seen is None else seen + [parent]
    for n in names:
        if "template" in g.nodes[parent]:
            g.nodes[parent]["value"] = g.nodes[parent].pop("template")
        if n in g.nodes:
            if g.pred[n] and n not in seen:
                _drop_unknown(g, n, list(g.pred[n]))
            g.remove_node(n)


def _validate(g):
    out = g.copy()
    for name in list(g.nodes):
        deps = list(g.pred[name])
        if not deps:
            continue
        flags = _known(g, deps)
        if not any(flags):
            _drop_unknown(out, name, deps)
        elif not all(flags):
            raise ParamException('Dependency unsatisfied in variable "%s"' % name)
    if out.generations() is None:
        raise ParamException(
            "Cyclic dependency found in the following variables: %s. Likely the variable is "
            "referencing itself" % ", ".join(out.cyclic()))
    return out


def _render(node, context):
    if "template" not in node:
        return node.get("value")
    template = node["template"]
    if isinstance(template, (list, dict)):
        # A structured default: "{{x}}" standing alone keeps x's type (to_complex).
        text = re.sub(r'"{{([A-z0-9_-]+)}}"', r"{{\1 | to_complex}}",
                      json.dumps(template, separators=(",", ":"), ensure_ascii=False))
        return json.loads(_template(text).render(context))
    return _template(str(template)).render(context)


def _resolve(g):
    context = {}
    for name in g.generations():
        try:
            context[name] = _render(g.nodes[name], context)
        except Exception as e:
            raise ParamException('Failed to render parameter "%s": %s' % (name, e)) from e
    return context


def _cast_from(params, context, schemas):
    """param.py, _cast_params_from: the given parameters, then the Jinja
    defaults (not immutable, not overridden) that rendered."""
    out = {}
    for name in params:
        spec = {}
        for schema in schemas:
            if name in schema:
                spec = schema[name]
        out[name] = cast(context[name], spec or {})
    for schema in schemas:
        for name, spec in schema.items():
            spec = spec or {}
            if spec.get("immutable") or "default" not in spec \
                    or spec.get("default") == context[name]:
                continue
            if not is_jinja(spec.get("default")) or name in params:
                continue
            out[name] = cast(context[name], spec)
    return out


def _graph(action_context, config, kv, additional=None):
    g = _Graph()
    g.add_node("st2kv", value={"system": KeyValueLookup(kv), "user": KeyValueLookup({})})
    g.add_node("action_context", value=action_context)
    g.add_node("config_context", value=config)
    for name, value in (additional or {}).items():
        g.add_node(name, value=value)
    return g


def render_live_params(runner_params, action_params, params, action_context, config,
                       kv=None, additional=None):
    """param.py, render_live_params. Raises ParamException, or the cast's own
    ValueError/SyntaxError."""
    g = _graph(action_context, config, kv or {}, additional)
    for name, value in params.items():
        _process(g, name, value)
    _process_defaults(g, [action_params, runner_params])
    context = _resolve(_validate(g))
    return _cast_from(params, context, [action_params, runner_params])


def render_final_params(runner_params, action_params, params, action_context, config, kv=None):
    """param.py, render_final_params: (runner parameters, action parameters);
    every declared parameter is there, None when it has no value."""
    g = _graph(action_context, config, kv or {})
    for name, value in params.items():
        g.add_node(name, value=value)
    _process_defaults(g, [action_params, runner_params])
    context = _resolve(_validate(g))
    context = _cast_from(context, context, [action_params, runner_params])
    runner = {k: v for k, v in context.items() if k in runner_params}
    action = {k: v for k, v in context.items() if k in action_params and k not in runner_params}
    return runner, action


# ---- the local-shell-script command line ----
def _positional(kind, value):
    """util/action_db.py, serialize_positional_argument: by declared type."""
    if kind in ("string", "number", "float"):
        return "" if value is None else str(value)
    if kind == "boolean":
        return "" if value is None else ("1" if value else "0")
    if kind in ("array", "list"):
        return ",".join(map(str, value)) if value else ""
    if kind == "object":
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False) if value else ""
    if kind == "null":
        return ""
    return str(value) if value else ""  # integer 0 becomes "" here: st2's quirk


def script_args(meta, action_params, kwarg_op="--"):
    """(named, positional) as st2 hands them to ShellScriptAction
    (action_db.get_args, runners/base.py ShellRunnerMixin): named is a list of
    (flag, text), text None for a bare flag; empty, None and false leave a
    named argument out (models/system/action.py, _get_script_arguments)."""
    declared = meta.get("parameters") or {}
    by_pos = sorted((spec["position"], name) for name, spec in declared.items()
                    if isinstance(spec, dict) and spec.get("position") is not None)
    positional = [_positional(declared[n].get("type"), action_params.get(n)) for _, n in by_pos]
    taken = {n for _, n in by_pos}
    named = []
    for name, value in action_params.items():
        if name in taken or value is None or (isinstance(value, str) and not value):
            continue
        if isinstance(value, bool):
            if value:
                named.append((kwarg_op + name, None))
        else:
            named.append((kwarg_op + name, str(value)))
    return named, positional


def argv(entry, named, positional):
    """What the program receives once /bin/sh has unquoted st2's command line."""
    return [entry] + [f if t is None else f"{f}={t}" for f, t in named] + positional


def command_line(entry, named, positional, user="stanley", sudo=False):
    """The one string st2's local runner hands to `/bin/sh -c`
    (models/system/action.py, ShellScriptAction._format_command, and
    local_runner/base.py, _run's "chmod +x"): the usual install runs the
    action runner as root and the action as the system user, so the whole
    command is quoted once more inside `sudo -E -H -u stanley -- bash -c`;
    with the `sudo` runner parameter it is `sudo -E -- bash -c` instead (root,
    the caller's environment and HOME: SUDO_COMMON_OPTIONS only)."""
    parts = [f if t is None else "%s=%s" % (shlex.quote(f), shlex.quote(t)) for f, t in named]
    if positional:
        parts.append(" ".join(shlex.quote(p) for p in positional))
    args = " ".join(parts)
    inner = "%s %s" % (entry, args) if args else entry
    if sudo:
        command = "sudo -E -- bash -c %s" % shlex.quote(inner)
    else:
        command = "sudo -E -H -u %s -- bash -c %s" % (shlex.quote(user), shlex.quote(inner))
    return "chmod +x %s ; %s" % (entry, command)


def check_command_length(command):
    """execve(2) refuses one argument of MAX_ARG_STRLEN bytes or more with
    E2BIG; st2's Popen raises it as OSError and the container fails the
    execution (st2actions/container/base.py, _do_run)."""
    if len(command.encode("utf-8")) + 1 > MAX_ARG_STRLEN:
        raise OSError(errno.E2BIG, os.strerror(errno.E2BIG), "/bin/sh")
