"""Orquesta workflows, the subset this pack uses: input, vars, output,
tasks with action, input, next (when, publish, do), with (items,
concurrency) and delay; YAQL expressions with ctx(), result(), item(),
succeeded(), failed(), completed().

Semantics kept from Orquesta (StackStorm/orquesta, conducting tests):
every `next` item whose `when` holds is taken, not just the first, each
`when` seeing the context as the task completed (not another transition's
publish); publish values are rendered in order; a failed task no
transition handles fails the workflow; `do: fail` fails it; with-items
runs at most `concurrency` items at once, starts no new item after one
fails, and gives result() as the list of item results (None for an item
never run); the output is rendered on failure too.

A child request st2 refuses (its parameters fail to render, cast or
validate: Runner._request) is not a failed task: st2common/services/
workflows.py, request_next_tasks, catches the exception from
request_task_execution and calls fail_workflow_execution, which fails the
whole workflow at once and logs "<Type>: <message>" with the task's id in
its errors. No transition of that task is evaluated (no `when: failed()`
branch runs), no task is started after it; items of a with-items task
already running finish, none is started after the refused one.

A task's `delay` (seconds before its action execution is scheduled) is
checked as Orquesta inspects a workflow before it starts (specs/native/v1/
models.py, TaskSpec: STRING_OR_POSITIVE_INTEGER, a non-empty string or an
integer >= 0; a definition that fails is refused whole, the runner failing
the execution with the inspection's errors) and rendered as conducting.py,
get_task, renders it when the task is about to run: a string is evaluated,
and anything but an integer then fails the workflow ("TypeError: The value
of task delay is not type of integer.") with no action of that task run."""
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import yaql

_ENGINE = yaql.YaqlFactory().create()
_ROOT = yaql.create_context()
# yaql's parser (ply) is not thread-safe, and with-items runs its items in
# threads here (st2 runs them in separate processes): one expression at a time.
_YAQL_LOCK = threading.RLock()
_EXPR = re.compile(r"<%(.*?)%>", re.S)
_WHOLE = re.compile(r"^\s*<%(.*?)%>\s*$", re.S)
_ITEMS = re.compile(r"^\s*(\w+)\s+in\s+(<%.*%>)\s*$", re.S)


def _scope(context):
    return context["__scope"]


def _ctx(context, name=None):
    data = _scope(context)["ctx"]
    if name is None:
        return data
    if name not in data:
        raise KeyError(f"ctx({name}): no such variable")
    return data[name]


def _result(context):
    return _scope(context)["result"]


def _item(context, name=None):
    s = _scope(context)
    if "item" not in s:
        raise KeyError("item() outside a with-items task")
    if name is not None and name != s.get("item_name"):
        raise KeyError(f"item({name}): the items are named {s.get('item_name')}")
    return s["item"]


def _status_is(*wanted):
    return lambda context: _scope(context).get("status") in wanted


_ROOT.register_function(_ctx, name="ctx")
_ROOT.register_function(_result, name="result")
_ROOT.register_function(_item, name="item")
_ROOT.register_function(_status_is("succeeded"), name="succeeded")
_ROOT.register_function(_status_is("failed", "timeout"), name="failed")
_ROOT.register_function(_status_is("succeeded", "failed", "timeout"), name="completed")


def _plain(v):
    """YAQL hands back tuples, frozen dicts and iterators: make plain JSON."""
    if isinstance(v, (str, bytes, int, float, bool)) or v is None:
        return v
    if isinstance(v, dict) or hasattr(v, "items"):
        return {k: _plain(x) for k, x in v.items()}
    try:
        return [_plain(x) for x in v]
    except TypeError:
        return v


def evaluate(value, scope):
    """Render a value: strings with <% %> expressions (a whole-value
    expression keeps its type), recursively through lists and dicts."""
    if isinstance(value, dict):
        return {k: evaluate(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [evaluate(v, scope) for v in value]
    if not isinstance(value, str) or "<%" not in value:
        return value
    with _YAQL_LOCK:
        context = _ROOT.create_child_context()
        context["__scope"] = scope
        context["$"] = scope["ctx"]
        whole = _WHOLE.match(value)
        if whole:
            return _plain(_ENGINE(whole.group(1).strip()).evaluate(context=context))
        return _EXPR.sub(lambda m: str(_plain(_ENGINE(m.group(1).strip())
                                              .evaluate(context=context))), value)


class Refused(Exception):
    """A task's child request st2 refused: fails the whole workflow."""

    def __init__(self, task, child):
        super().__init__(child.refused)
        self.task, self.child = task, child


class InspectionError(ValueError):
    """orquesta.exceptions.WorkflowInspectionError: the definition failed
    WorkflowSpec.inspect; `errors` is its {"syntax": [...]} mapping, which
    the orquesta runner puts in the result (orquesta_runner.py, run)."""

    def __init__(self, errors):
        super().__init__("Workflow definition failed inspection.")
        self.errors = errors


class TaskRenderError(Exception):
    """An error conducting.py get_next_tasks catches from get_task: logged
    with log_error ("<Type>: <message>", the task's id and route) and the
    workflow failed; the task's action never runs."""

    def __init__(self, task, error):
        super().__init__("%s: %s" % (type(error).__name__, error))
        self.task = task


# specs/types.py STRING_OR_POSITIVE_INTEGER ({"oneOf": [NONEMPTY_STRING,
# POSITIVE_INTEGER]}) as jsonschema judges it: a bool is no integer there.
def _string_or_positive_integer(v):
    if isinstance(v, str):
        return len(v) >= 1
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _inspect_syntax(tasks):
    """The part of specs/base.py inspect_syntax st2lite checks: each task's
    delay, with jsonschema's oneOf message and Orquesta's paths."""
    errors = []
    for name, task in tasks.items():
        if isinstance(task, dict) and "delay" in task \
                and not _string_or_positive_integer(task["delay"]):
            errors.append({"message": "%r is not valid under any of the given schemas"
                                      % (task["delay"],),
                           "spec_path": "tasks.%s.delay" % name,
                           "schema_path": "properties.tasks.patternProperties.^\\w+$."
                                          "properties.delay.oneOf"})
    return sorted(errors, key=lambda e: (e["schema_path"], e["spec_path"]))


def _task_delay(name, task, ctx):
    """conducting.py, get_task: a delay that is set (truthy) is evaluated
    when it is a string and must then be an integer; None means none."""
    delay = task.get("delay")
    if not delay:
        return None
    if isinstance(delay, str):
        try:
            delay = evaluate(delay, {"ctx": ctx})
        except Exception as e:
            raise TaskRenderError(name, e) from e
    if not isinstance(delay, int):
        raise TaskRenderError(name, TypeError("The value of task delay is not type of integer."))
    return delay


def _one_key(entry):
    if isinstance(entry, dict):
        return next(iter(entry.items()))
    return entry, None


class Workflow:
    def __init__(self, spec, name):
        if str(spec.get("version")) != "1.0":
            raise ValueError(f"workflow {name}: version must be 1.0")
        self.spec, self.name = spec, name
        self.tasks = spec.get("tasks") or {}
        named = {t for task in self.tasks.values() for n in task.get("next") or []
                 for t in _targets(n)}
        self.starts = [t for t in self.tasks if t not in named]
        syntax = _inspect_syntax(self.tasks)
        if syntax:  # services/workflows.py request: wf_spec.inspect(raise_exception=True)
            raise InspectionError({"syntax": syntax})

    def run(self, runner, ex):
        ctx = {"st2": {"action_execution_id": ex.id, "workflow_execution_id": ex.id,
                       "pack": runner.pack.ref, "user": "stanley"}}
        errors = []
        try:
            for entry in self.spec.get("input") or []:
                # orquesta/specs/native/v1/models.py, render_input: the action's
                # parameter wins even when it is None (st2 passes every declared
                # parameter, None when it has no default), and is evaluated too.
                key, default = _one_key(entry)
                ctx[key] = evaluate(ex.params.get(key, default), {"ctx": ctx})
            for entry in self.spec.get("vars") or []:
                key, value = _one_key(entry)
                ctx[key] = evaluate(value, {"ctx": ctx})
            failed = self._run_tasks(runner, ex, ctx, errors)
        except Refused as r:
            errors.append({"type": "error", "message": r.child.refused,
                           "task_id": r.task, "route": 0})
            failed = True
        except TaskRenderError as t:
            errors.append({"type": "error", "message": str(t), "task_id": t.task, "route": 0})
            failed = True
        except Exception as e:  # an expression error fails the workflow, as in Orquesta
            errors.append({"message": f"{type(e).__name__}: {e}"})
            failed = True
        output = {}
        for entry in self.spec.get("output") or []:
            key, value = _one_key(entry)
            try:
                output[key] = evaluate(value, {"ctx": ctx})
            except Exception as e:
                errors.append({"message": f"output {key}: {e}"})
        return ("failed" if failed else "succeeded"), output, errors

    def _run_tasks(self, runner, ex, ctx, errors):
        queue, failed = list(self.starts), False
        while queue:
            name = queue.pop(0)
            status, result = self._run_task(runner, ex, name, ctx)
            # conducting.py, update_task_state: every transition's `when` is
            # evaluated against the task's context as it completed, then each
            # transition taken publishes into its own copy of that context
            # (models.py TaskSpec.finalize_context, deepcopy of current_ctx),
            # so one transition's publish never changes what another's `when`
            # or publish sees. (Orquesta keeps each branch's context apart;
            # st2lite has one, which the transitions taken update in order.)
            done = dict(ctx)
            scope = {"ctx": done, "result": result, "status": status}
            taken = [tr for tr in self.tasks[name].get("next") or []
                     if "when" not in tr or evaluate(tr["when"], scope)]
            handled = bool(taken)
            for tr in taken:
                rolling = dict(done)
                for entry in tr.get("publish") or []:
                    key, value = _one_key(entry)
                    rolling[key] = ctx[key] = evaluate(
                        value, {"ctx": rolling, "result": result, "status": status})
                for target in _targets(tr):
                    if target == "fail":
                        errors.append({"task_id": name, "message": "failed by do: fail"})
                        failed = True
                    elif target not in ("noop", "continue"):
                        queue.append(target)
            if status != "succeeded" and not handled:
                errors.append({"task_id": name, "message": f"task {name} {status}",
                               "result": result})
                failed = True
        return failed

    def _run_task(self, runner, ex, name, ctx):
        task = self.tasks[name]
        action = task.get("action", "core.noop")
        with_ = task.get("with")
        if with_ is None:
            live = evaluate(task.get("input") or {}, {"ctx": ctx})
            # get_task renders the action and its input, then the delay;
            # services/workflows.py request_action_execution hands the
            # delay (seconds, as milliseconds) to the live action.
            child = runner.run(action, live, ex, delay=_task_delay(name, task, ctx))
            if child.refusal is not None:
                raise Refused(name, child)
            return child.status, child.result
        return self._run_items(runner, ex, name, task, action, with_, ctx)

    def _run_items(self, runner, ex, name, task, action, with_, ctx):
        if not isinstance(with_, dict):
            with_ = {"items": with_}
        items_expr, item_name = with_["items"], None
        m = _ITEMS.match(items_expr) if isinstance(items_expr, str) else None
        if m:
            item_name, items_expr = m.group(1), m.group(2)
        items = list(evaluate(items_expr, {"ctx": ctx}))
        limit = int(evaluate(with_.get("concurrency", len(items) or 1), {"ctx": ctx}))
        delay = _task_delay(name, task, ctx)
        # services/workflows.py, eval_action_execution_delay: with a
        # concurrency, only the first `concurrency` items are delayed.
        delayed = len(items) if "concurrency" not in with_ else limit
        results = [None] * len(items)
        refused = []
        stop = threading.Event()

        def one(i):
            if stop.is_set():
                return "skipped"
            scope = {"ctx": ctx, "item": items[i], "item_name": item_name}
            child = runner.run(action, evaluate(task.get("input") or {}, scope), ex,
                               delay=delay if i < delayed else None)
            if child.refusal is not None:
                refused.append((i, child))
            else:
                results[i] = child.result
            if not child.succeeded:
                stop.set()
            return child.status

        with ThreadPoolExecutor(max_workers=max(1, limit)) as pool:
            statuses = list(pool.map(one, range(len(items))))
        if refused:
            raise Refused(name, min(refused, key=lambda r: r[0])[1])
        ok = all(s == "succeeded" for s in statuses)
        return ("succeeded" if ok else "failed"), results


def _targets(transition):
    do = transition.get("do") or []
    if isinstance(do, str):
        do = [d.strip() for d in do.split(",")]
    return do
