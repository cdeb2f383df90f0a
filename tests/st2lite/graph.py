"""Static views of a workflow file, for tests that compare what ran with
what the YAML says."""
import os
import re

import yaml

_SUCCESS = re.compile(r"^\s*<%\s*(succeeded|completed)\(\)\s*%>\s*$")


def load(root, name):
    with open(os.path.join(root, "actions", "workflows", f"{name}.yaml")) as f:
        return yaml.safe_load(f)


def success_path(root, name):
    """The actions (without the pack prefix) a workflow runs when every
    step succeeds with its inputs' defaults: from its start task, follow the
    first transition whose condition is exactly succeeded() or completed(),
    or holds for a succeeded task whose context is those defaults (such as
    `succeeded() and not ctx(warm)`; one that reads anything else, result()
    or a variable, is not followed)."""
    wf = load(root, name)
    defaults = {}
    for entry in wf.get("input") or []:
        if isinstance(entry, dict):
            defaults.update(entry)
    tasks = wf["tasks"]
    named = {t for task in tasks.values() for n in task.get("next") or []
             for t in _targets(n)}
    current = next(t for t in tasks if t not in named)
    path = []
    while current and current in tasks:
        task = tasks[current]
        path.append(task.get("action", "core.noop").split(".", 1)[1])
        current = None
        for tr in task.get("next") or []:
            if "when" not in tr or _SUCCESS.match(str(tr["when"])) \
                    or _holds(tr["when"], defaults):
                targets = [t for t in _targets(tr) if t in tasks]
                current = targets[0] if targets else None
                break
    return path


def _holds(when, defaults):
    from .orquesta import evaluate
    try:
        return evaluate(when, {"ctx": dict(defaults), "result": None,
                               "status": "succeeded"}) is True
    except Exception:  # reads what the defaults do not have
        return False


def _targets(transition):
    do = transition.get("do") or []
    return [d.strip() for d in do.split(",")] if isinstance(do, str) else do
