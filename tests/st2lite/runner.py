"""Action executions: the local-shell-script runner, core.noop, and the
orquesta runner (orquesta.py), with the action.concurrency.attr policies
applied before an execution starts."""
import json
import os
import signal
import subprocess
import threading
import time

import yaml

from . import params as P
from .orquesta import Workflow

CORE_NOOP = "core.noop"


class Execution:
    def __init__(self, runner, ref, live, parent):
        self.id = os.urandom(12).hex()  # a MongoDB ObjectId's shape
        self.ref, self.live, self.parent = ref, dict(live), parent
        self.depth = parent.depth + 1 if parent else 0
        self.status = "requested"
        self.started = self.ended = None  # monotonic, while policies held it
        self.params = {}
        self.result = None

    @property
    def succeeded(self):
        return self.status == "succeeded"

    def __repr__(self):
        return f"<{self.ref} {self.id[-8:]} {self.status}>"


class Runner:
    """Runs actions of one pack. env: extra environment for every action
    (the embedded datastore path, the local provider's directory...).
    trace(execution, event) is called on "start" and "end"."""

    def __init__(self, pack, env=None, trace=None, default_timeout=60):
        self.pack, self.env = pack, dict(env or {})
        self.trace = trace or (lambda ex, ev: None)
        self.default_timeout = default_timeout
        self.log = []  # every execution, in start order
        self._lock = threading.Lock()
        self._policy_locks = {}

    # ---- policies ----
    def policy_keys(self, ref, params):
        """The serialisation keys of the concurrency policies on ref: one
        execution at a time per key (threshold 1, action: delay)."""
        keys = []
        for p in self.pack.policies:
            if p.get("resource_ref") != ref or p.get("enabled") is False:
                continue
            kind = p.get("policy_type")
            attrs = (p.get("parameters") or {}).get("attributes") or []
            if kind == "action.concurrency.attr":
                keys.append((ref,) + tuple(str(params.get(a)) for a in attrs))
            elif kind == "action.concurrency":
                keys.append((ref,))
        return keys

    def _policy_lock(self, key):
        with self._lock:
            return self._policy_locks.setdefault(key, threading.Lock())

    # ---- executions ----
    def run(self, ref, live=None, parent=None):
        ex = Execution(self, ref, live or {}, parent)
        with self._lock:
            self.log.append(ex)
        meta = self.pack.action(ref)
        if ref == CORE_NOOP:
            ex.status, ex.result = "succeeded", {}
            return ex
        if meta is None:
            return self._fail(ex, f"action {ref} does not exist")
        try:
            ex.params = P.finalize(meta, ex.live, self.pack.config)
        except P.ParamError as e:
            return self._fail(ex, str(e))
        locks = [self._policy_lock(k) for k in self.policy_keys(ref, ex.params)]
        for lk in locks:  # st2 delays the execution until the policy allows it
            lk.acquire()
        try:
            ex.status, ex.started = "running", time.monotonic()
            self.trace(ex, "start")
            if meta["runner_type"] == "orquesta":
                self._run_workflow(ex, meta)
            elif meta["runner_type"] == "local-shell-script":
                self._run_shell(ex, meta)
            else:
                self._fail(ex, f"runner {meta['runner_type']} is not supported here")
        finally:
            ex.ended = time.monotonic()
            for lk in reversed(locks):
                lk.release()
        self.trace(ex, "end")
        return ex

    def _fail(self, ex, message):
        ex.status, ex.result = "failed", {"error": message}
        self.trace(ex, "end")
        return ex

    def _run_shell(self, ex, meta):
        entry = self.pack.entry_path(meta)
        argv = P.argv(meta, ex.params, entry)
        env = dict(os.environ)
        env.update(self.env)
        env.update({"ST2_ACTION_PACK_NAME": self.pack.ref,
                    "ST2_ACTION_EXECUTION_ID": ex.id,
                    "ST2_ACTION_DEBUG": "False"})
        timeout = ex.params.get("timeout") or self.default_timeout
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
            ex.status = "succeeded" if proc.returncode == 0 else "failed"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)  # st2 sends SIGTERM only
            out, err = proc.communicate()
            ex.status = "timeout"
        ex.result = {"stdout": _parsed(out), "stderr": _parsed(err),
                     "return_code": proc.returncode,
                     "succeeded": ex.status == "succeeded",
                     "failed": ex.status != "succeeded"}

    def _run_workflow(self, ex, meta):
        try:
            wf = Workflow(self.pack.workflow(meta), meta["name"])
        except (OSError, ValueError, yaml.YAMLError) as e:  # st2 fails the execution
            ex.status, ex.result = "failed", {"errors": [{"message": str(e)}], "output": None}
            return
        status, output, errors = wf.run(self, ex)
        ex.status = status
        ex.result = {"output": output}
        if errors:
            ex.result["errors"] = errors


def _parsed(data):
    """st2 strips one trailing newline and, when the whole text is one JSON
    document, stores the parsed value instead."""
    text = data.decode("utf-8", "replace")
    if text.endswith("\n"):
        text = text[:-1]
    try:
        return json.loads(text)
    except ValueError:
        return text
