"""Action executions: the request (parameters rendered, cast and validated
as st2's API, rules engine and workflow engine do before anything runs),
then the run (the local-shell-script runner, core.noop, the orquesta
runner in orquesta.py), with the action.concurrency.attr policies applied
before an execution starts."""
import grp
import json
import os
import pwd
import signal
import subprocess
import threading
import time

import yaml

from . import params as P
from . import schema as S
from .orquesta import InspectionError, Workflow
from .reactor import ApiError

CORE_NOOP = "core.noop"
CORE_INJECT_TRIGGER = "core.inject_trigger"
# The core pack's actions st2lite runs, as contrib/core/actions/*.yaml declare them.
CORE_ACTIONS = {
    CORE_NOOP: {"name": "noop", "runner_type": "noop", "parameters": {}},
    # contrib/core/actions/inject_trigger.yaml
    CORE_INJECT_TRIGGER: {
        "name": "inject_trigger", "runner_type": "python-script",
        "entry_point": "inject_trigger.py",
        "parameters": {
            "trigger": {"type": "string", "required": True,
                        "description": "Trigger reference (e.g. mypack.my_trigger)."},
            "payload": {"type": "object", "description": "Trigger payload."},
            "trace_tag": {"type": "string", "required": False,
                          "description": "Optional trace tag."},
        },
    },
}
# st2client's default API URL, which the python runner gives actions
# (ST2_API_URL, python_runner.py _get_datastore_access_env_vars).
API_URL = "http://127.0.0.1:9101/v1"


class InvalidActionReferencedException(Exception):
    """st2common.exceptions.action: a workflow task naming no such action."""


class Execution:
    """One execution. `refusal` is the exception st2 refused the request
    with (None when it ran); `refused` its text as st2 reports it: the HTTP
    400 body for a request from the API or a rule, the "<Type>: <message>"
    entry a workflow's errors get for one of its tasks."""

    def __init__(self, runner, ref, live, parent):
        self.id = os.urandom(12).hex()  # a MongoDB ObjectId's shape
        self.ref, self.live, self.parent = ref, dict(live), parent
        self.depth = parent.depth + 1 if parent else 0
        self.status = "requested"
        self.started = self.ended = None  # monotonic, while policies held it
        self.params = {}         # the action's final parameters
        self.runner_params = {}  # the runner's (timeout, env, ...)
        self.result = None
        self.refusal = self.refused = None

    @property
    def succeeded(self):
        return self.status == "succeeded"

    def __repr__(self):
        return f"<{self.ref} {self.id[-8:]} {self.status}>"


class Runner:
    """Runs actions of one pack. env: extra environment for every action
    (the embedded datastore path, the local provider's directory...).
    trace(execution, event) is called on "start" and "end". kv: the st2kv
    datastore Jinja sees ({"key": "value"}; a missing key renders "").

    stubs: a test facility, {"pack.action": fn}. For a local-shell-script
    action named there, fn(params) is called instead of starting the
    program, AFTER every check st2 makes (request rendering and validation,
    final rendering, the command line's length), with the action's final
    parameters (runner parameters left out). It returns either the result
    dict {stdout, stderr, return_code, succeeded, failed} (status from
    `succeeded`) or a pair (status, result). It runs in with-items threads:
    make it thread-safe. Meant for driving the real workflows at a scale
    where starting every process would take too long (a 1,000-node
    scale_in).

    sleep: a test facility, what waits out a workflow task's `delay`
    (time.sleep by default): fn(seconds), called once per delayed child
    execution, after its request was accepted and before it runs."""

    def __init__(self, pack, env=None, trace=None, default_timeout=60, stubs=None, kv=None,
                 system_user=None, sleep=None):
        self.pack, self.env = pack, dict(env or {})
        self.sleep = sleep or time.sleep
        # st2.conf [system_user] user (st2common/config.py, default stanley):
        # who local-shell-script actions run as. None: this process's own
        # user, so no sudo at all (st2 runs the command as it is when the
        # system user is the runner's own). See _identity.
        self.system_user = system_user
        self.trace = trace or (lambda ex, ev: None)
        self.default_timeout = default_timeout
        self.kv = dict(kv or {})
        self.stubs = dict(stubs or {})
        for ref in self.stubs:
            meta = pack.action(ref)
            if not meta or meta.get("runner_type") != "local-shell-script":
                raise KeyError(f"stub for {ref}: not a local-shell-script action of the pack")
        self.api = None     # st2's API for core.inject_trigger: a Reactor sets itself
        self.log = []       # every execution, in start order
        self.refusals = []  # child requests a workflow made that st2 refused (never executions)
        self._lock = threading.Lock()
        self._policy_locks = {}
        self._schemas = {}

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

    # ---- the request ----
    def _runner_params(self, meta):
        base = P.RUNNERS.get(meta.get("runner_type"))
        if base is None:
            raise ValueError(f"runner {meta.get('runner_type')} is not supported here")
        if base is P.LOCAL_SHELL_SCRIPT:
            base = dict(base, timeout=dict(base["timeout"], default=self.default_timeout))
        return base

    def _context(self, ex):
        ctx = {"user": "stanley", "pack": self.pack.ref}
        if ex.parent is not None:
            ctx["parent"] = {"execution_id": ex.parent.id, "user": "stanley",
                             "pack": self.pack.ref}
        return ctx

    def _request(self, ex, meta, additional):
        """What st2 does before an execution exists: render_live_params
        (StrictUndefined, casts), then services/action.py create_request:
        the action must be enabled, the rendered live parameters must
        validate against the runner's and the action's parameters
        (use_default, allow_default_none: a null takes the default), and no
        immutable parameter may be given. Returns the live parameters."""
        if meta is None:
            if ex.parent is not None:  # services/workflows.py, request_action_execution
                raise InvalidActionReferencedException('Unable to find action "%s".' % ex.ref)
            raise ValueError('Action "%s" cannot be found.' % ex.ref)
        runner_params = self._runner_params(meta)
        action_params = meta.get("parameters") or {}
        live = P.render_live_params(runner_params, action_params, ex.live, self._context(ex),
                                    self.pack.config, self.kv, additional)
        if meta.get("enabled") is False:
            raise ValueError('Unable to execute. Action "%s" is disabled.' % ex.ref)
        merged, schema = self._schema(ex.ref, runner_params, action_params)
        S.validate(live, schema, use_default=True)
        immutable = [k for k in live if (merged.get(k) or {}).get("immutable", False)]
        if immutable:
            raise ValueError("Override of immutable parameter(s) %s is unsupported."
                             % str(immutable))
        return live

    def _schema(self, ref, runner_params, action_params):
        """The merged parameters and the schema create_request validates
        with, allow_default_none applied: made once per action."""
        with self._lock:
            if ref not in self._schemas:
                merged = S.merged_parameters(ref, runner_params, action_params)
                self._schemas[ref] = merged, S.allow_default_none(S.for_parameters(merged))
            return self._schemas[ref]

    def _refuse(self, ex, error):
        ex.refusal, ex.status = error, "failed"
        if ex.parent is None:
            # The API answers 400 with the validation message alone
            # (st2api/controllers/v1/actionexecutions.py, _handle_schedule_execution).
            ex.refused = error.message if isinstance(error, S.ValidationError) else str(error)
            ex.result = {"error": ex.refused}
            with self._lock:
                self.log.append(ex)
            self.trace(ex, "end")
        else:
            # orquesta's conductor.log_error, via workflows.py fail_workflow_execution
            ex.refused = "%s: %s" % (type(error).__name__, error)
            ex.result = {"error": ex.refused}
            with self._lock:
                self.refusals.append(ex)
        return ex

    def prepare(self, ref, live=None):
        """Everything st2 does to a request up to the start of the program
        (the request's render and validation, then the final render at run
        time), without running it: the final action parameters, or the
        exception st2 would refuse or fail the execution with."""
        ex = Execution(self, ref, live or {}, None)
        meta = self.pack.action(ref)
        ex.live = self._request(ex, meta, None)
        _, params = P.render_final_params(self._runner_params(meta), meta.get("parameters") or {},
                                          ex.live, self._context(ex), self.pack.config, self.kv)
        return params

    # ---- executions ----
    def run(self, ref, live=None, parent=None, additional_contexts=None, delay=None):
        """Request and run one execution; returns it finished. A request st2
        would refuse comes back failed with `refused` set and never runs;
        one made by a workflow is not in `log` (st2 creates no execution
        for it) but in `refusals`. additional_contexts: extra Jinja
        variables, such as a rule's `trigger`. delay: seconds a workflow
        task's delay holds the accepted request back (st2: the live
        action's delay, in ms; status "delayed" until the scheduler takes
        it, st2actions/scheduler/handler.py), before the final render and
        the policies."""
        ex = Execution(self, ref, live or {}, parent)
        meta = self.pack.action(ref)
        if meta is None:
            meta = CORE_ACTIONS.get(ref)
        try:
            live = self._request(ex, meta, additional_contexts)
        except Exception as e:  # each of these is a refusal in st2 too
            return self._refuse(ex, e)
        ex.live = live
        with self._lock:
            self.log.append(ex)
        if delay is not None and delay > 0:
            ex.status = "delayed"
            self.sleep(delay)
            ex.status = "requested"
        try:
            # st2actions/container/base.py, _do_run: a failure here fails the execution
            ex.runner_params, ex.params = P.render_final_params(
                self._runner_params(meta), meta.get("parameters") or {}, live,
                self._context(ex), self.pack.config, self.kv)
        except Exception as e:
            return self._fail(ex, str(e))
        if meta["runner_type"] == "noop":
            ex.status, ex.result = "succeeded", {}
            self.trace(ex, "end")
            return ex
        locks = [self._policy_lock(k) for k in self.policy_keys(ref, ex.params)]
        for lk in locks:  # st2 delays the execution until the policy allows it
            lk.acquire()
        try:
            ex.status, ex.started = "running", time.monotonic()
            self.trace(ex, "start")
            if meta["runner_type"] == "orquesta":
                self._run_workflow(ex, meta)
            elif meta["runner_type"] == "python-script":
                self._run_python(ex)
            else:
                self._run_shell(ex, meta)
        except OSError as e:  # the container's catch-all: failed, {"error", "traceback"}
            ex.status, ex.result = "failed", {"error": str(e)}
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
        named, positional = P.script_args(meta, ex.params, ex.runner_params.get("kwarg_op") or "--")
        sudo = bool(ex.runner_params.get("sudo"))
        P.check_command_length(P.command_line(entry, named, positional,
                                              user=self.system_user or "stanley", sudo=sudo))
        stub = self.stubs.get(ex.ref)
        if stub is not None:
            out = stub(dict(ex.params))
            status, result = out if isinstance(out, tuple) else (
                "succeeded" if out.get("succeeded") else "failed", out)
            ex.status, ex.result = status, result
            return
        # local_runner/base.py, _run: the runner's environment, the rendered
        # `env` runner parameter as it is (Popen refuses a value that is no
        # string), then st2's own variables (_get_common_action_env_variables).
        # The environment, unlike the command line, is readable only by the
        # action's user and root (docs/actions.md, "Secrets").
        env = dict(os.environ)
        env.update(self.env)
        env.update(ex.runner_params.get("env") or {})
        env.update({"ST2_ACTION_PACK_NAME": self.pack.ref,
                    "ST2_ACTION_EXECUTION_ID": ex.id,
                    "ST2_ACTION_DEBUG": str(bool(ex.runner_params.get("debug")))})
        timeout = ex.runner_params.get("timeout") or self.default_timeout
        # st2's action runner does not run in the pack directory (contract, s.1)
        cwd = ex.runner_params.get("cwd") or "/"
        try:
            identity = self._identity(sudo, env)
        except PermissionError as e:  # sudo would ask for a password: the command fails
            ex.status, ex.result = "failed", {"stdout": "", "stderr": str(e), "return_code": 1,
                                              "succeeded": False, "failed": True}
            return
        try:
            proc = subprocess.Popen(P.argv(entry, named, positional), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                    cwd=cwd, start_new_session=True, **identity)
        except TypeError as e:  # an env value that is no string: the container fails it
            ex.status, ex.result = "failed", {"error": str(e)}
            return
        error = None
        try:
            out, err = proc.communicate(timeout=timeout)
            ex.status = "succeeded" if proc.returncode == 0 else "failed"
            code = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)  # st2 sends SIGTERM only
            out, err = proc.communicate()
            # local_runner/base.py, _run: a timeout reports -9 and this error
            ex.status, code = "timeout", -9
            error = "Action failed to complete in %s seconds" % timeout
        ex.result = {"stdout": _parsed(out), "stderr": _parsed(err),
                     "return_code": code,
                     "succeeded": ex.status == "succeeded",
                     "failed": ex.status != "succeeded"}
        if error:
            ex.result["error"] = error

    def _run_python(self, ex):
        """The python runner, for core.inject_trigger only
        (contrib/core/actions/inject_trigger.py, InjectTriggerAction.run:
        st2client's webhooks.post_generic_webhook, st2client/models/core.py,
        posts {trigger, payload or {}} to /webhooks/st2 with the trace tag as
        the St2-Trace-Tag header, and returns the parsed answer). The result
        is the runner's (python_runner.py, _get_output_values): {result,
        stdout, stderr, exit_code}; an HTTP error raises in the action, so
        exit_code 1, the traceback on stderr and result "None"."""
        if ex.ref != CORE_INJECT_TRIGGER:
            raise ValueError(f"python action {ex.ref} is not supported here")
        payload = ex.params.get("payload") or {}
        try:
            if self.api is None:
                raise OSError("Connection refused: no st2 API (no st2lite Reactor)")
            body = self.api.inject(ex.params["trigger"], payload)
        except (ApiError, OSError) as e:
            if isinstance(e, ApiError):  # ResourceManager.handle_error, raise_for_status
                why = "requests.exceptions.HTTPError: %s Client Error: Bad Request\n" \
                      "MESSAGE: %s for url: %s/webhooks/st2" % (e.status, e, API_URL)
            else:
                why = "%s: %s" % (type(e).__name__, e)
            ex.status = "failed"
            ex.result = {"result": "None", "stdout": "", "exit_code": 1,
                         "stderr": "Traceback (most recent call last):\n%s\n" % why}
            return
        ex.status = "succeeded"
        ex.result = {"result": body, "stdout": "", "stderr": "", "exit_code": 0}

    # Ubuntu's /etc/sudoers (Defaults secure_path), what sudo sets PATH to
    # even with -E.
    SECURE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    def _identity(self, sudo, env):
        """Who the program runs as, as st2's command line decides it
        (models/system/action.py, ShellScriptAction._format_command, with
        SUDO_COMMON_OPTIONS ["-E"] and SUDO_DIFFERENT_USER_OPTIONS ["-H"]):
        the `sudo` runner parameter gives `sudo -E -- bash -c` (root; HOME
        stays the caller's); else a system user other than the runner's own
        gives `sudo -E -H -u <user> -- bash -c` (that user and its groups,
        HOME its home); else the runner's own user, no sudo. sudo itself is
        imitated (Popen's user/group/extra_groups, sudo's variables) rather
        than run, so this needs root exactly where sudo needs a password.
        Updates env; returns Popen's keyword arguments."""
        me = pwd.getpwuid(os.getuid()).pw_name
        if sudo:
            target = pwd.getpwnam("root")
        elif self.system_user and self.system_user != me:
            target = pwd.getpwnam(self.system_user)
        else:
            return {}
        if os.getuid() != 0 and target.pw_uid != os.getuid():
            raise PermissionError("sudo: a password is required (st2lite runs as %s, not root)"
                                  % me)
        env.update({"SUDO_USER": me, "SUDO_UID": str(os.getuid()),
                    "SUDO_GID": str(os.getgid()), "PATH": self.SECURE_PATH,
                    "USER": target.pw_name, "LOGNAME": target.pw_name})
        if not sudo:
            env["HOME"] = target.pw_dir
        groups = [g.gr_gid for g in grp.getgrall() if target.pw_name in g.gr_mem]
        return {"user": target.pw_uid, "group": target.pw_gid, "extra_groups": groups}

    def _run_workflow(self, ex, meta):
        try:
            wf = Workflow(self.pack.workflow(meta), meta["name"])
        except InspectionError as e:  # orquesta_runner.py, run: {"errors": e.args[1]}
            ex.status, ex.result = "failed", {"errors": e.errors, "output": None}
            return
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
