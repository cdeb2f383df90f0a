"""st2lite refuses what st2 refuses and accepts what st2 accepts, one test
per rule, on the fixture pack tests/st2lite/fixtures/strict (not the real
pack). The expected messages are st2 3.9's own (st2common/util/param.py,
services/action.py, jsonschema 3.2.0 as st2 pins it).
Run: python3 -m unittest tests/st2lite/test_st2lite.py"""
import json
import os
import pwd
import shutil
import sys
import tempfile
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import st2lite  # noqa: E402
from st2lite.reactor import SensorService  # noqa: E402
from st2lite import params as P  # noqa: E402

FIXTURE = os.path.join(HERE, "fixtures", "strict")
MISSING = "Failed to render parameter \"value\": 'dict object' has no attribute 'nodefault'"


class StrictTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # A copy, so the entry point is executable whatever mode git kept.
        cls.dir = tempfile.mkdtemp(prefix="st2lite-")
        cls.root = os.path.join(cls.dir, "strict")
        shutil.copytree(FIXTURE, cls.root)
        os.chmod(os.path.join(cls.root, "actions", "args.py"), 0o755)
        os.chmod(os.path.join(cls.root, "actions", "env.py"), 0o755)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def runner(self, config=None, **kw):
        return st2lite.Runner(st2lite.Pack(self.root, config), **kw)

    def refs(self, runner):
        return [e.ref.split(".", 1)[1] for e in runner.log]

    def child_failure(self, runner, **params):
        """wf_child with params: the workflow must fail whole, the child's
        failed() branch (cleanup) must not run; the refusal message."""
        ex = runner.run("strict.wf_child", dict({"node": "ab"}, **params))
        self.assertEqual(ex.status, "failed", ex.result)
        self.assertEqual(self.refs(runner), ["wf_child"], "nothing may run after a refusal")
        self.assertEqual(len(runner.refusals), 1)
        error = ex.result["errors"][0]
        self.assertEqual(error["task_id"], "call")
        return error["message"]

    # ---- Jinja defaults: StrictUndefined ----
    def test_missing_config_key_in_a_default_refuses_the_request(self):
        r = self.runner({})
        ex = r.run("strict.echo_config")
        self.assertEqual(ex.status, "failed")
        self.assertEqual(ex.refused, MISSING)
        self.assertIsNone(ex.started, "a refused request must never run")

    def test_the_same_key_set_by_the_operator_renders(self):
        r = self.runner({"nodefault": "set"})
        ex = r.run("strict.echo_config")
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual(ex.result["stdout"]["argv"], ["--value=set"])

    def test_a_default_filter_guards_a_missing_key(self):
        ex = self.runner({}).run("strict.echo_guarded")
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual(ex.result["stdout"]["argv"], [], "an empty string is left out")

    def test_missing_config_key_in_a_workflow_fails_it_whole_without_failed_branch(self):
        r = self.runner({})
        ex = r.run("strict.wf_config")
        self.assertEqual(ex.status, "failed")
        self.assertEqual(self.refs(r), ["wf_config"], "neither after nor cleanup may run")
        self.assertEqual(ex.result["errors"], [{"type": "error", "task_id": "first", "route": 0,
                                                "message": "ParamException: " + MISSING}])
        self.assertEqual(ex.result["output"], {"done": True})

    def test_a_child_that_fails_when_run_takes_the_failed_branch(self):
        r = self.runner({})
        ex = r.run("strict.wf_child", {"node": "ab", "exit": 3})
        self.assertEqual(ex.status, "succeeded", ex.result)
        self.assertEqual(self.refs(r), ["wf_child", "strict_child", "echo_guarded"])
        self.assertEqual(r.refusals, [])

    def test_a_default_may_use_another_parameter(self):
        ex = self.runner({}).run("strict.echo_schema_default", {"greeting": "hi"})
        self.assertTrue(ex.succeeded, ex.result)
        self.assertIn("--label=hi-x", ex.result["stdout"]["argv"])

    def test_missing_trigger_field_in_a_rule_refuses_the_enforcement(self):
        r = self.runner({})
        reactor = st2lite.Reactor(r)
        [ex] = reactor.fire("strict.bad", {"node": "ab"})
        self.assertEqual(ex.refused, "Failed to render parameter \"node\": "
                                     "'dict object' has no attribute 'nosuch'")
        self.assertIsNone(ex.started)

    def test_rule_parameters_are_cast_to_the_declared_type(self):
        r = self.runner({})
        [ex] = st2lite.Reactor(r).fire("strict.tick", {"node": "ab", "count": 2})
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual(ex.params["count"], 2)  # rendered "2", cast to an integer
        [ex] = st2lite.Reactor(r).fire("strict.tick", {"node": "ab", "count": 9})
        self.assertEqual(ex.refused, "9 is greater than the maximum of 3")

    def test_a_sensor_payload_its_trigger_type_refuses_is_dropped_as_st2_drops_it(self):
        reactor = st2lite.Reactor(self.runner({}))
        svc = SensorService(reactor)
        svc.dispatch("strict.tick", {"node": "ab", "count": "2"})
        svc.dispatch("strict.tock", {"node": "ab", "count": 2})
        svc.dispatch("strict.bad", {"anything": [1]})
        svc.dispatch("strict.tick", {"node": "ab", "count": 2})
        # allow_default_none: an optional property with no default takes null
        svc.dispatch("strict.tick", {"node": "ab", "count": None})
        self.assertEqual(svc.dispatched, [("strict.bad", {"anything": [1]}),
                                          ("strict.tick", {"node": "ab", "count": 2}),
                                          ("strict.tick", {"node": "ab", "count": None})])
        self.assertEqual([(t, p["count"]) for t, p, _ in svc.dropped],
                         [("strict.tick", "2"), ("strict.tock", 2)])
        self.assertIn("'2' is not of type 'integer'", svc.dropped[0][2])
        self.assertEqual(svc.dropped[1][2], 'Trigger type with reference "strict.tock" '
                                            "doesn't exist in the database")
        # only what was dispatched reaches the rules, whose rendering refuses
        # what the payload check let through
        bad, ok, null = reactor.handle_pending()
        self.assertEqual(bad.refused, "Failed to render parameter \"node\": "
                                      "'dict object' has no attribute 'nosuch'")
        self.assertTrue(ok.succeeded, ok.result)
        self.assertEqual(ok.params["count"], 2)
        self.assertIsNotNone(null.refused)
        self.assertIsNone(null.started)

    def test_to_json_string_is_not_compact(self):
        # st2common/expressions/functions/data.py: separators (",", ": ")
        out = P.render_live_params({}, {"b": {"type": "string"}},
                                   {"b": "{{ x | to_json_string }}"}, {}, {},
                                   additional={"x": {"a": [1, 2]}})
        self.assertEqual(out["b"], '{"a": [1,2]}')  # json.dumps's separators pair

    def test_a_missing_st2kv_key_renders_empty_and_an_integer_then_fails(self):
        schema = {"s": {"type": "string", "default": "{{ st2kv.system.nokey }}"}}
        self.assertEqual(P.render_live_params({}, schema, {}, {}, {}), {"s": ""})
        self.assertEqual(P.render_live_params({}, schema, {}, {}, {}, kv={"nokey": "v"}),
                         {"s": "v"})
        schema = {"n": {"type": "integer", "default": "{{ st2kv.system.nokey }}"}}
        with self.assertRaises(ValueError) as cm:
            P.render_live_params({}, schema, {}, {}, {})
        self.assertEqual(str(cm.exception), "invalid literal for int() with base 10: ''")

    # ---- config ----
    def test_schema_default_fills_a_missing_config_key_nested_too(self):
        r = self.runner({})
        self.assertEqual(r.pack.config["nested"], {"inner": 7})
        self.assertNotIn("nodefault", r.pack.config)
        ex = r.run("strict.echo_schema_default")
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual(sorted(ex.result["stdout"]["argv"]),
                         ["--greeting=hello", "--inner=7", "--label=hello-x"])

    def test_config_keys_the_schema_lacks_are_kept(self):
        pack = st2lite.Pack(self.root, {"other": "kept", "greeting": "hey"})
        self.assertEqual((pack.config["other"], pack.config["greeting"]), ("kept", "hey"))

    def test_a_config_that_does_not_match_its_schema_is_refused(self):
        with self.assertRaises(ValueError) as cm:
            st2lite.Pack(self.root, {"port": "eighty"})
        self.assertIn("Failed validating attribute \"port\" in config for pack \"strict\"",
                      str(cm.exception))
        self.assertIn("'eighty' is not of type 'integer'", str(cm.exception))

    # ---- parameter schema at st2 run ----
    def test_explicit_null_takes_the_default(self):
        ex = self.runner({}).run("strict.strict_child", {"node": "ab", "count": None})
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual(ex.params["count"], 1)
        self.assertIn("--count=1", ex.result["stdout"]["argv"])

    def test_required_null_without_default_is_refused(self):
        ex = self.runner({}).run("strict.strict_child", {"node": None})
        self.assertEqual(ex.refused, "None is not of type 'string'")

    def test_a_string_for_an_integer_is_cast_and_accepted(self):
        ex = self.runner({}).run("strict.strict_child", {"node": "ab", "count": "3"})
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual(ex.params["count"], 3)

    def test_unknown_parameter_is_refused_at_st2_run(self):
        ex = self.runner({}).run("strict.strict_child", {"node": "ab", "nodes": "x"})
        self.assertEqual(ex.refused,
                         "Additional properties are not allowed ('nodes' was unexpected)")

    def test_immutable_with_a_jinja_default_of_another_type_is_always_refused(self):
        ex = self.runner({}).run("strict.imm_jinja")
        self.assertEqual(ex.refused, "'{{ config_context.port }}' is not of type 'integer'")

    def test_an_immutable_parameter_may_not_be_given(self):
        r = self.runner({})
        self.assertTrue(r.run("strict.imm_static").succeeded)
        ex = r.run("strict.imm_static", {"fixed": "y"})
        self.assertEqual(ex.refused, "Override of immutable parameter(s) ['fixed'] is unsupported.")

    def test_runner_parameters_are_validated_too(self):
        ex = self.runner({}).run("strict.strict_child", {"node": "ab", "timeout": "soon"})
        self.assertEqual(ex.refused, "invalid literal for int() with base 10: 'soon'")

    def test_unknown_action_is_refused(self):
        r = self.runner({})
        self.assertEqual(r.run("strict.nothing").refused,
                         'Action "strict.nothing" cannot be found.')

    # ---- child requests from a workflow: the whole workflow fails ----
    def test_child_pattern_violation_fails_the_workflow(self):
        msg = self.child_failure(self.runner({}), node="toolongname")
        self.assertTrue(msg.startswith("ValidationError: 'toolongname' does not match "
                                       "'^[a-z]{1,5}$'\n\nFailed validating 'pattern'"), msg)

    def test_child_maxlength_violation_fails_the_workflow(self):
        msg = self.child_failure(self.runner({}), message="x" * 11)
        self.assertTrue(msg.startswith("ValidationError: 'xxxxxxxxxxx' is too long"), msg)

    def test_child_enum_violation_fails_the_workflow(self):
        msg = self.child_failure(self.runner({}), mode="c")
        self.assertTrue(msg.startswith("ValidationError: 'c' is not one of ['a', 'b']"), msg)

    def test_child_minimum_and_maximum_violations_fail_the_workflow(self):
        msg = self.child_failure(self.runner({}), count=0)
        self.assertTrue(msg.startswith("ValidationError: 0 is less than the minimum of 1"), msg)
        msg = self.child_failure(self.runner({}), count=4)
        self.assertTrue(msg.startswith("ValidationError: 4 is greater than the maximum of 3"), msg)

    def test_child_type_violations_fail_the_workflow(self):
        msg = self.child_failure(self.runner({}), count="many")
        self.assertEqual(msg, "ValueError: invalid literal for int() with base 10: 'many'")
        msg = self.child_failure(self.runner({}), flag="1")  # casts to the integer 1
        self.assertTrue(msg.startswith("ValidationError: 1 is not of type 'boolean'"), msg)

    def test_child_string_parameter_given_a_number_fails_the_workflow(self):
        r = self.runner({})
        ex = r.run("strict.wf_child", {"node": "ab", "count": "2"})
        self.assertTrue(ex.succeeded, ex.result)  # a string for an integer is cast
        self.assertIn("--count=2", ex.result["output"]["out"]["argv"])
        msg = self.child_failure(self.runner({}), mode=5)  # casts.py, _cast_string
        self.assertEqual(msg, 'ValueError: Value "5" must either be a string or None. Got "int".')
        msg = self.child_failure(self.runner({}), node=None)  # required, no default
        self.assertTrue(msg.startswith("ValidationError: None is not of type 'string'"), msg)

    def test_child_missing_required_parameter_fails_the_workflow(self):
        r = self.runner({})
        ex = r.run("strict.wf_missing")
        self.assertEqual(ex.status, "failed")
        self.assertEqual(self.refs(r), ["wf_missing"])
        self.assertTrue(ex.result["errors"][0]["message"].startswith(
            "ValidationError: 'node' is a required property"), ex.result)

    def test_child_unknown_parameter_fails_the_workflow(self):
        r = self.runner({})
        ex = r.run("strict.wf_extra")
        self.assertEqual((ex.status, self.refs(r)), ("failed", ["wf_extra"]))
        self.assertTrue(ex.result["errors"][0]["message"].startswith(
            "ValidationError: Additional properties are not allowed ('extra' was unexpected)"))

    def test_a_refused_item_stops_the_items_and_fails_the_workflow(self):
        r = self.runner({})
        ex = r.run("strict.wf_items", {"nodes": ["ab", "toolongname", "cd"]})
        self.assertEqual(ex.status, "failed")
        self.assertEqual(self.refs(r), ["wf_items", "strict_child"], "cd and cleanup must not run")
        self.assertEqual(r.log[1].params["node"], "ab")
        self.assertIn("'toolongname' does not match", ex.result["errors"][0]["message"])

    # ---- the command line ----
    def test_a_command_line_over_128_kib_fails_the_execution(self):
        r = self.runner({})
        ex = r.run("strict.strict_child", {"node": "ab", "blob": "a" * 131072})
        self.assertIsNone(ex.refused, "the request is valid: it fails when run")
        self.assertEqual(ex.status, "failed")
        self.assertEqual(ex.result["error"], "[Errno 7] Argument list too long: '/bin/sh'")

    def test_a_command_line_under_the_limit_runs(self):
        ex = self.runner({}).run("strict.strict_child", {"node": "ab", "blob": "a" * 120000})
        self.assertTrue(ex.succeeded, ex.result)

    def test_quotes_count_twice_against_the_limit(self):
        # sudo -u stanley -- bash -c '<command>' quotes every ' a second time:
        # 10,000 of them cost about 160 KB, 10,000 letters about 10 KB.
        entry = "/p/args.py"
        P.check_command_length(P.command_line(entry, [("--blob", "a" * 10000)], []))
        with self.assertRaises(OSError):
            P.check_command_length(P.command_line(entry, [("--blob", "'" * 10000)], []))

    def test_too_long_a_child_fails_the_task_not_the_request(self):
        r = self.runner({})
        ex = r.run("strict.wf_child", {"node": "ab", "blob": "a" * 131072})
        self.assertEqual(self.refs(r), ["wf_child", "strict_child", "echo_guarded"])
        self.assertEqual(ex.status, "succeeded", "the failed() branch handled it")

    def test_the_program_does_not_run_in_the_pack_directory(self):
        ex = self.runner({}).run("strict.strict_child", {"node": "ab"})
        self.assertEqual(ex.result["stdout"]["cwd"], "/")

    # ---- the env runner parameter: secrets off the command line ----
    # A value with every character st2's JSON rendering of an object default
    # could trip on (param.py, _render: the default's JSON text is rendered,
    # then parsed).
    SECRET = 'pa"ss\\wo\nrd \u00e9\'$x /'

    def test_env_default_reaches_the_environment_not_the_command_line(self):
        ex = self.runner({"password": self.SECRET}).run("strict.echo_env")
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual(ex.result["stdout"]["env"], {"AUTOSCALE_SECRET_PASSWORD": self.SECRET})
        self.assertEqual(ex.result["stdout"]["argv"], [])
        # param.py, _cast_params_from: only Jinja string defaults join the
        # live parameters, which the execution record keeps and shows
        self.assertNotIn("env", ex.live)
        self.assertEqual(ex.runner_params["env"], {"AUTOSCALE_SECRET_PASSWORD": self.SECRET})

    def test_a_secret_given_as_a_parameter_travels_on_the_command_line(self):
        ex = self.runner({"password": "from-config"}).run("strict.echo_env",
                                                           {"password": "typed"})
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual(ex.result["stdout"]["argv"], ["--password=typed"])
        self.assertEqual(ex.result["stdout"]["env"], {"AUTOSCALE_SECRET_PASSWORD": "from-config"})

    def test_env_default_without_json_escape_refuses_a_quote(self):
        ex = self.runner({"password": 'a"b'}).run("strict.echo_env_raw")
        self.assertEqual(ex.status, "failed")
        self.assertTrue(ex.refused.startswith('Failed to render parameter "env": '), ex.refused)
        ex = self.runner({"password": "plain"}).run("strict.echo_env_raw")
        self.assertEqual(ex.result["stdout"]["env"], {"AUTOSCALE_SECRET_PASSWORD": "plain"})

    def test_json_escape_cannot_carry_a_trailing_quote(self):
        # data.py, json_escape: json.dumps(v).strip('"') strips the escaped
        # quote's own '"' too, leaving a lone backslash in the JSON text
        ex = self.runner({"password": 'ends in "'}).run("strict.echo_env")
        self.assertEqual(ex.status, "failed")
        self.assertTrue(ex.refused.startswith('Failed to render parameter "env": '), ex.refused)
        ex = self.runner({"password": '"starts'}).run("strict.echo_env")
        self.assertEqual(ex.result["stdout"]["env"], {"AUTOSCALE_SECRET_PASSWORD": '"starts'})

    def test_an_env_value_that_is_no_string_fails_the_execution(self):
        ex = self.runner({}).run("strict.echo_env_int")
        self.assertIsNone(ex.refused, "st2 accepts the request: Popen refuses it")
        self.assertEqual(ex.status, "failed")
        self.assertIn("expected str", ex.result["error"])

    # ---- stubs ----
    def test_a_stub_replaces_the_program_after_every_check(self):
        calls, lock = [], threading.Lock()

        def stub(params):
            with lock:
                calls.append(params["node"])
            return {"stdout": {"argv": ["stub"]}, "stderr": "", "return_code": 0,
                    "succeeded": True, "failed": False}

        r = self.runner({}, stubs={"strict.strict_child": stub})
        ex = r.run("strict.wf_child", {"node": "ab"})
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual(ex.result["output"]["out"], {"argv": ["stub"]})
        self.assertEqual(r.run("strict.wf_child", {"node": "toolongname"}).status, "failed")
        self.assertEqual(r.run("strict.strict_child",
                               {"node": "ab", "blob": "a" * 131072}).status, "failed")
        self.assertEqual(calls, ["ab"], "a refused or too long request never reaches the stub")

    def test_a_stub_may_give_its_status(self):
        r = self.runner({}, stubs={"strict.strict_child": lambda p: ("timeout", {"x": 1})})
        ex = r.run("strict.strict_child", {"node": "ab"})
        self.assertEqual((ex.status, ex.result), ("timeout", {"x": 1}))

    def test_a_stub_must_name_a_shell_action(self):
        with self.assertRaises(KeyError):
            self.runner({}, stubs={"strict.wf_child": lambda p: {}})


class DelayTest(unittest.TestCase):
    """A task's `delay`: refused at inspection unless a non-empty string or
    an integer >= 0 (orquesta specs/native/v1/models.py, TaskSpec); a string
    rendered when the task is about to run must give an integer, or the
    workflow fails there (conducting.py, get_task); the seconds hold the
    child back (services/workflows.py, request_action_execution), only the
    first `concurrency` items of a with-items task
    (eval_action_execution_delay). Waits go through Runner(sleep=...)."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="st2lite-delay-")
        cls.root = os.path.join(cls.dir, "strict")
        shutil.copytree(FIXTURE, cls.root)
        os.chmod(os.path.join(cls.root, "actions", "args.py"), 0o755)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def run_wf(self, ref, params):
        slept = []
        r = st2lite.Runner(st2lite.Pack(self.root, {}), sleep=slept.append)
        return r.run(ref, params), slept, [e.ref.split(".", 1)[1] for e in r.log]

    def literal(self, name, delay):
        """A workflow whose one task has this delay, written as YAML has it."""
        actions = os.path.join(self.root, "actions")
        with open(os.path.join(actions, name + ".yaml"), "w") as f:
            json.dump({"name": name, "pack": "strict", "runner_type": "orquesta",
                       "entry_point": f"workflows/{name}.yaml", "enabled": True,
                       "parameters": {}}, f)
        with open(os.path.join(actions, "workflows", name + ".yaml"), "w") as f:
            json.dump({"version": 1.0, "tasks": {"only": {
                "delay": delay, "action": "strict.echo_guarded"}}}, f)
        return "strict." + name

    def test_a_delay_holds_the_task_back_that_many_seconds(self):
        ex, slept, refs = self.run_wf("strict.wf_delay", {"delay": 3})
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual(slept, [3])
        self.assertEqual(refs, ["wf_delay", "echo_guarded", "echo_guarded"])

    def test_a_delay_rendering_to_0_is_no_delay(self):
        ex, slept, _ = self.run_wf("strict.wf_delay", {"delay": 0})
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual(slept, [])

    def test_only_the_first_concurrency_items_are_delayed(self):
        ex, slept, refs = self.run_wf("strict.wf_delay", {"delay": 2, "items": 3})
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual(slept, [2, 2, 2])  # `later`, then items 0 and 1 of `each`
        self.assertEqual(refs.count("echo_guarded"), 5)

    def test_a_delay_rendering_to_no_integer_fails_the_workflow_before_the_task(self):
        for delay in ("3", 2.5, [1], "soon"):
            with self.subTest(delay=delay):
                ex, slept, refs = self.run_wf("strict.wf_delay", {"delay": delay})
                self.assertEqual(ex.status, "failed")
                self.assertEqual(ex.result["errors"], [{
                    "type": "error", "task_id": "later", "route": 0,
                    "message": "TypeError: The value of task delay is not type of integer."}])
                self.assertEqual(refs, ["wf_delay", "echo_guarded"], "`later` must not run")
                self.assertEqual(slept, [])

    def test_a_literal_delay_the_spec_refuses_fails_the_execution_at_inspection(self):
        for i, delay in enumerate((-1, 2.5, "", None, True, [5])):
            with self.subTest(delay=delay):
                ex, slept, refs = self.run_wf(self.literal(f"wf_lit{i}", delay), {})
                self.assertEqual(ex.status, "failed")
                self.assertEqual(ex.result, {"output": None, "errors": {"syntax": [{
                    "message": "%r is not valid under any of the given schemas" % (delay,),
                    "spec_path": "tasks.only.delay",
                    "schema_path": "properties.tasks.patternProperties.^\\w+$."
                                   "properties.delay.oneOf"}]}})
                self.assertEqual(refs, [f"wf_lit{i}"], "nothing may run")

    def test_a_literal_integer_or_any_string_passes_inspection(self):
        ex, slept, _ = self.run_wf(self.literal("wf_lit_ok", 4), {})
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual(slept, [4])
        # a string that is no expression passes the schema, then is no integer
        ex, slept, refs = self.run_wf(self.literal("wf_lit_word", "five"), {})
        self.assertEqual(ex.result["errors"][0]["message"],
                         "TypeError: The value of task delay is not type of integer.")
        self.assertEqual(refs, ["wf_lit_word"])


class TransitionTest(unittest.TestCase):
    """conducting.py, update_task_state: every `when` of a completed task is
    evaluated against its context as it completed; a transition's publish
    renders in order into its own copy (TaskSpec.finalize_context)."""

    def test_a_publish_does_not_change_what_another_when_sees(self):
        d = tempfile.mkdtemp(prefix="st2lite-tr-")
        try:
            root = os.path.join(d, "strict")
            shutil.copytree(FIXTURE, root)
            os.chmod(os.path.join(root, "actions", "args.py"), 0o755)
            r = st2lite.Runner(st2lite.Pack(root, {}))
            ex = r.run("strict.wf_publish", {"n": 0})
            self.assertTrue(ex.succeeded, ex.result)
            # n=1 published by the first transition must not make the
            # second's `when` (n >= 1) hold; publishes roll within one
            self.assertEqual([e.params.get("value") for e in r.log[1:]], ["", "a"])
            self.assertEqual(ex.result["output"], {"n": 1, "twice": 2})
        finally:
            shutil.rmtree(d, ignore_errors=True)


WHOAMI = """#!/bin/sh
printf '{"uid": %d, "gid": %d, "groups": "%s", "home": "%s", "path": "%s", "sudo_user": "%s"}\\n' \\
    "$(id -u)" "$(id -g)" "$(id -G)" "$HOME" "$PATH" "${SUDO_USER:-}"
"""


class SudoTest(unittest.TestCase):
    """Who a local-shell-script action runs as (models/system/action.py,
    ShellScriptAction._format_command): the system user through
    `sudo -E -H -u`, or root through `sudo -E` when the `sudo` runner
    parameter is true. Needs root, as st2's action runner is."""

    @classmethod
    def setUpClass(cls):
        if os.getuid() != 0:
            raise unittest.SkipTest("switching users needs root (st2's action runner is root)")
        cls.dir = tempfile.mkdtemp(prefix="st2lite-sudo-")
        os.chmod(cls.dir, 0o755)
        cls.root = os.path.join(cls.dir, "strict")
        shutil.copytree(FIXTURE, cls.root)
        actions = os.path.join(cls.root, "actions")
        with open(os.path.join(actions, "whoami.sh"), "w") as f:
            f.write(WHOAMI)
        for name, params in (("whoami", {}), ("whoami_sudo", {"sudo": {"default": True}})):
            with open(os.path.join(actions, name + ".yaml"), "w") as f:
                json.dump({"name": name, "pack": "strict", "runner_type": "local-shell-script",
                           "entry_point": "whoami.sh", "enabled": True,
                           "parameters": params}, f)
        for dirpath, dirs, files in os.walk(cls.dir):
            for n in dirs + files:
                os.chmod(os.path.join(dirpath, n), 0o755)
        cls.user = pwd.getpwnam("nobody")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def whoami(self, ref, live=None, **kw):
        r = st2lite.Runner(st2lite.Pack(self.root, {}), env={"HOME": "/caller"}, **kw)
        ex = r.run(ref, live or {})
        self.assertTrue(ex.succeeded, ex.result)
        return ex.result["stdout"]

    def test_the_system_user_runs_the_action_with_its_home(self):
        out = self.whoami("strict.whoami", system_user="nobody")
        self.assertEqual((out["uid"], out["gid"]), (self.user.pw_uid, self.user.pw_gid))
        self.assertEqual(out["home"], self.user.pw_dir)  # -H
        self.assertEqual(out["sudo_user"], "root")
        self.assertNotIn("0", out["groups"].split(), "root's groups must not stay")

    def test_sudo_true_runs_it_as_root_with_the_callers_home(self):
        out = self.whoami("strict.whoami", {"sudo": True}, system_user="nobody")
        self.assertEqual(out["uid"], 0)
        self.assertEqual(out["home"], "/caller")  # -E without -H
        self.assertEqual(out["path"], st2lite.Runner.SECURE_PATH)

    def test_sudo_from_the_metadata_default(self):
        self.assertEqual(self.whoami("strict.whoami_sudo", system_user="nobody")["uid"], 0)
        out = self.whoami("strict.whoami_sudo", {"sudo": False}, system_user="nobody")
        self.assertEqual(out["uid"], self.user.pw_uid)

    def test_no_system_user_is_the_runners_own(self):
        out = self.whoami("strict.whoami")
        self.assertEqual((out["uid"], out["home"], out["sudo_user"]), (0, "/caller", ""))

    def test_sudo_changes_the_command_line_st2_measures(self):
        entry = "/p/whoami.sh"
        self.assertIn("; sudo -E -- bash -c ", P.command_line(entry, [], [], sudo=True))
        self.assertIn("; sudo -E -H -u stanley -- bash -c ", P.command_line(entry, [], []))


class InjectTriggerTest(unittest.TestCase):
    """core.inject_trigger (contrib/core/actions/inject_trigger.py) posts to
    st2's /webhooks/st2 (st2api/controllers/v1/webhooks.py, post), which
    dispatches with throw_on_validation_error (services/trigger_dispatcher.py,
    dispatch_with_context): with [system] validate_trigger_payload on (its
    default, st2common/config.py) an unknown trigger type, a malformed ref or
    a payload its payload_schema refuses is a 400 and the action fails; else
    the API answers 202 with the body and the rules engine runs the matching
    rules later, apart from the injecting execution. The trigger type comes
    from the fixture's triggers/refill.yaml, which no sensor declares
    (st2common/bootstrap/triggersregistrar.py)."""

    BOUND = 30  # seconds a gate waits before the test calls it a deadlock

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="st2lite-inject-")
        cls.root = os.path.join(cls.dir, "strict")
        shutil.copytree(FIXTURE, cls.root)
        os.chmod(os.path.join(cls.root, "actions", "args.py"), 0o755)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def reactor(self, validate=True, **kw):
        r = st2lite.Runner(st2lite.Pack(self.root, {}), **kw)
        reactor = st2lite.Reactor(r, validate_trigger_payload=validate)
        self.addCleanup(reactor.wait_idle)
        return reactor

    def inject(self, reactor, trigger, payload=None):
        live = {"trigger": trigger}
        if payload is not None:
            live["payload"] = payload
        return reactor.runner.run("core.inject_trigger", live)

    def test_the_trigger_type_of_triggers_dir_is_registered(self):
        reactor = self.reactor()
        ttype = reactor.trigger_types()["strict.refill"]
        self.assertEqual((ttype["pack"], ttype["metadata_file"]),
                         ("strict", "triggers/refill.yaml"))
        self.assertIn("strict.tick", reactor.trigger_types())  # the sensor's still are

    def test_a_trigger_file_of_another_pack_or_without_a_name_is_refused(self):
        path = os.path.join(self.root, "triggers", "zz_bad.yaml")
        self.addCleanup(os.remove, path)
        for doc, why in (("name: x\npack: other\n", 'field "pack" is different: other'),
                         ("description: no name\n", 'Missing field "name"'),
                         ("name: x\npayload_schema: [1]\n", "is not of type 'object'")):
            with open(path, "w") as f:
                f.write(doc)
            with self.assertRaises(ValueError) as cm:
                st2lite.Pack(self.root, {})
            self.assertIn('Failed to register trigger "%s" from pack "strict"' % path,
                          str(cm.exception))
            self.assertIn(why, str(cm.exception))

    def test_an_injected_trigger_fires_its_rule_apart_from_the_injecting_execution(self):
        injected = threading.Event()
        seen = []

        def trace(ex, event):
            if ex.ref == "core.inject_trigger" and event == "end":
                injected.set()
            if ex.ref == "strict.strict_child" and event == "start":
                # the rule's execution may not start before the injecting one
                # ended: were the injection synchronous, this would deadlock
                seen.append(injected.wait(self.BOUND))
        reactor = self.reactor(trace=trace)
        ex = self.inject(reactor, "strict.refill", {"node": "ab", "reason": "why"})
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual(ex.result, {"result": {"trigger": "strict.refill",
                                                "payload": {"node": "ab", "reason": "why"}},
                                     "stdout": "", "stderr": "", "exit_code": 0})
        [child] = reactor.wait_idle()
        self.assertEqual(seen, [True])
        self.assertTrue(child.succeeded, child.result)
        self.assertIsNone(child.parent, "a rule's execution is nobody's child")
        self.assertEqual((child.params["node"], child.params["message"]), ("ab", "why"))
        self.assertEqual(child.result["stdout"]["argv"][:2], ["--node=ab", "--message=why"])

    def test_an_unknown_trigger_or_a_malformed_ref_is_refused(self):
        reactor = self.reactor()
        for trigger, why in (("strict.nosuch", 'Trigger type with reference "strict.nosuch" '
                                               "doesn't exist in the database"),
                             ("refill", "Invalid resource reference: refill")):
            ex = self.inject(reactor, trigger, {"node": "ab"})
            self.assertEqual(ex.status, "failed")
            self.assertEqual((ex.result["exit_code"], ex.result["result"]), (1, "None"))
            self.assertIn("400 Client Error: Bad Request\nMESSAGE: Trigger payload "
                          "validation failed and validation is enabled, not dispatching "
                          'a trigger "%s"' % trigger, ex.result["stderr"])
            self.assertIn(why, ex.result["stderr"])
        self.assertEqual(reactor.wait_idle(), [])
        self.assertEqual(reactor.injected, [])

    def test_a_payload_its_schema_refuses_is_refused_when_validation_is_on(self):
        reactor = self.reactor()
        for payload, why in (({"node": 5}, "5 is not of type 'string'"),
                             ({"reason": "x"}, "'node' is a required property"),
                             (None, "'node' is a required property")):
            ex = self.inject(reactor, "strict.refill", payload)
            self.assertEqual(ex.status, "failed", payload)
            self.assertIn(why, ex.result["stderr"])
        self.assertEqual(reactor.wait_idle(), [])
        # a required parameter of the action itself: refused before it runs
        ex = reactor.runner.run("core.inject_trigger", {"payload": {"node": "ab"}})
        self.assertEqual(ex.refused, "'trigger' is a required property")
        ex = self.inject(reactor, "")
        self.assertIn("MESSAGE: Trigger not specified.", ex.result["stderr"])

    def test_with_validation_off_st2_dispatches_and_the_rules_engine_drops_the_unknown(self):
        reactor = self.reactor(validate=False)
        bad = self.inject(reactor, "strict.refill", {"node": 5, "reason": "r"})
        unknown = self.inject(reactor, "strict.nosuch", {"node": "ab"})
        self.assertEqual((bad.status, unknown.status), ("succeeded", "succeeded"))
        [child] = reactor.wait_idle()
        # the rule renders "5", which the action's pattern then refuses
        self.assertEqual(child.refused, "'5' does not match '^[a-z]{1,5}$'")
        self.assertIsNone(child.started)
        self.assertEqual(reactor.engine_dropped,
                         [("strict.nosuch", {"node": "ab"}, "Trigger not found for strict.nosuch")])

    def test_without_an_api_the_action_fails(self):
        r = st2lite.Runner(st2lite.Pack(self.root, {}))
        ex = r.run("core.inject_trigger", {"trigger": "strict.refill",
                                           "payload": {"node": "ab"}})
        self.assertEqual(ex.status, "failed")
        self.assertEqual(ex.result["exit_code"], 1)


if __name__ == "__main__":
    unittest.main()
