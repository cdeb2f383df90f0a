"""tools/packlint.py, the metadata checker behind `make lint`.

First the real pack must pass (after `make`). Then a small pack that packlint
accepts (GOOD_PACK below: an action whose "binary" is a shell script printing
its parameter table, a workflow, two rules, a policy, a sensor; with a
miniature lib/ for the error-code checks) is broken one way per test, and
packlint must exit 1 naming the file and the problem.
Run: /usr/bin/python3 tests/pack/test_packlint.py"""
import copy
import json
import os
import subprocess
import tempfile
import unittest

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKLINT = os.path.join(ROOT, "tools", "packlint.py")

# What actions/bin/ok prints with AUTOSCALE_DESCRIBE_PARAMS=1, as the C
# actions do: it must agree with actions/ok.yaml.
OK_TABLE = [
    {"name": "name", "type": "string", "required": True, "secret": False,
     "position": 0, "default": None, "config": None},
    {"name": "greeting", "type": "string", "required": False, "secret": False,
     "position": None, "default": "hello", "config": "greeting"},
]


def ok_script(table):
    """A stand-in for a C action: prints its parameter table when asked."""
    return ("#!/bin/sh\n"
            "if [ -n \"$AUTOSCALE_DESCRIBE_PARAMS\" ]; then\n"
            f"  echo '{json.dumps(table)}'\n"
            "  exit 0\n"
            "fi\n"
            "echo '{\"ok\": true}'\n")


# relative path -> a mapping (written as YAML) or text (written as is).
GOOD_PACK = {
    "pack.yaml": {
        "ref": "autoscale", "name": "autoscale", "description": "A test pack.",
        "version": "0.1.0", "author": "tests"},
    "config.schema.yaml": {
        "greeting": {"type": "string", "default": "hello"}},
    "actions/bin/ok": ok_script(OK_TABLE),
    "actions/ok.yaml": {
        "name": "ok", "pack": "autoscale", "runner_type": "local-shell-script",
        "description": "Say hello.", "enabled": True, "entry_point": "bin/ok",
        "parameters": {
            "name": {"type": "string", "required": True, "position": 0},
            "greeting": {"type": "string",
                         "default": "{{ config_context.greeting }}"},
            "timeout": {"default": 30}},  # a runner parameter's new default
        "output_schema": {"ok": {"type": "boolean"}}},
    "actions/flow.yaml": {
        "name": "flow", "pack": "autoscale", "runner_type": "orquesta",
        "description": "Greet, then tell.", "enabled": True,
        "entry_point": "workflows/flow.yaml",
        "parameters": {
            "asg": {"type": "string", "required": True},
            "count": {"type": "integer", "default": 1, "minimum": 1, "maximum": 100}}},
    # A child with constraints on what a workflow may pass it.
    "actions/tally.yaml": {
        "name": "tally", "pack": "autoscale", "runner_type": "noop",
        "description": "Count.", "enabled": True,
        "parameters": {
            "count": {"type": "integer", "minimum": 1, "maximum": 1000},
            "note": {"type": "string", "maxLength": 100},
            "host": {"type": "string", "pattern": "^[a-z]{1,10}$"}}},
    "actions/workflows/flow.yaml": {
        "version": 1.0,
        "description": "Greet, then tell.",
        "input": ["asg", {"count": 1}],
        "vars": [{"run": "<% ctx(st2).action_execution_id %>"}, {"said": ""}],
        "output": [{"said": "<% ctx(said) %>"},
                   {"seen": "<% ctx().get('count') %>"}],  # a method: no name
        "tasks": {
            "greet": {
                "action": "autoscale.ok",
                # cwd is the runner's: every local-shell-script action takes it
                "input": {"name": "<% ctx(asg) %>", "timeout": 10, "cwd": "/tmp"},
                "next": [
                    {"when": "<% succeeded() %>",
                     "publish": [{"said": "<% result().stdout %>"}],
                     "do": "tell"},
                    {"when": "<% failed() %>", "do": "fail"}]},
            "tell": {
                "action": "core.echo",
                "input": {"message": "{{ ctx('said') }} x{{ ctx().count }}"},
                "next": [{"do": "rest, noop"}]},
            "rest": {
                "action": "core.noop",
                "next": [{"do": ["done"]}]},
            "done": {
                "with": {"items": "<% range(ctx(count)) %>", "concurrency": 1},
                "action": "autoscale.ok",
                "input": {"name": "<% str(item()) %>"},
                "retry": {"count": 1},
                "delay": 1},
            "tally": {
                "action": "autoscale.tally",
                "input": {"count": "<% ctx(count) %>",
                          "note": "<% 'for ' + str(ctx(count)) %>",
                          "host": "web"}}}},
    "rules/on_tick.yaml": {
        "name": "on_tick", "pack": "autoscale", "enabled": True,
        "trigger": {"type": "autoscale.tick"},
        "criteria": {
            "trigger.asg": {"type": "regex", "pattern": "^web"},
            "trigger.count": {"type": "exists"}},
        "action": {"ref": "autoscale.flow",
                   "parameters": {"asg": "{{ trigger.asg }}",
                                  "count": "{{ trigger.count }}"}}},
    "rules/hook.yaml": {
        "name": "hook", "pack": "autoscale", "enabled": True,
        "trigger": {"type": "core.st2.webhook",
                    "parameters": {"url": "autoscale/hook"}},
        "action": {"ref": "core.echo",
                   "parameters": {"message": "{{ trigger.body | to_json_string }}"}}},
    "rules/timer.yaml": {
        "name": "timer", "pack": "autoscale", "enabled": True,
        "trigger": {"type": "core.st2.IntervalTimer",
                    "parameters": {"unit": "minutes", "delta": 5}},
        "action": {"ref": "autoscale.ok", "parameters": {"name": "timer"}}},
    "policies/ok_concurrency.yaml": {
        "name": "ok_concurrency", "resource_ref": "autoscale.ok",
        "policy_type": "action.concurrency.attr", "enabled": True,
        "parameters": {"threshold": 1, "action": "delay", "attributes": ["name"]}},
    "policies/ok_retry.yaml": {
        "name": "ok_retry", "resource_ref": "autoscale.ok",
        "policy_type": "action.retry",
        "parameters": {"retry_on": "timeout", "max_retry_count": 2}},
    "sensors/tick.yaml": {
        "class_name": "TickSensor", "entry_point": "tick.py", "poll_interval": 30,
        "trigger_types": [{
            "name": "tick", "description": "A group to look at.",
            "payload_schema": {"type": "object", "properties": {
                "asg": {"type": "string"}, "count": {"type": "integer"}}}}]},
    "sensors/tick.py": "class TickSensor:\n    pass\n",
    "aliases/ok_say.yaml": {
        "name": "ok_say", "pack": "autoscale", "action_ref": "autoscale.ok",
        "description": "Say hello from chat.",
        "formats": ["say hello to {{ name }}",
                    {"display": "hi <name>", "representation": ["hi {{name}} {{ timeout=20 }}"]}],
        "immutable_parameters": {"greeting": "hi"},
        "ack": {"enabled": False},
        "result": {"format": "{{ execution.result.stdout.ok }}"}},
}


def write_pack(root, files):
    for rel, content in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            if isinstance(content, str):
                f.write(content)
            else:
                yaml.safe_dump(content, f, sort_keys=False)
        if rel.startswith("actions/bin/"):
            os.chmod(path, 0o755)


def run_packlint(root):
    p = subprocess.run(["/usr/bin/python3", PACKLINT, root], capture_output=True,
                       timeout=120, check=False)
    return p.returncode, p.stdout.decode() + p.stderr.decode()


def walk(files, where):
    """(parent, key) for "file:a/b/0/c": the file's mapping, then keys and
    list indexes split on "/" (criteria keys hold dots)."""
    rel, _, keys = where.partition(":")
    node, parts = files[rel], keys.split("/")
    for k in parts[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last = parts[-1]
    return node, int(last) if isinstance(node, list) else last


def put(files, where, value):
    """Set "file:a/b" to value; a bare "file" replaces the whole file."""
    if ":" not in where:
        files[where] = value
        return
    node, key = walk(files, where)
    node[key] = value


def drop(files, where):
    node, key = walk(files, where)
    del node[key]


def rename(files, old, new):
    files[new] = files.pop(old)


class PacklintTest(unittest.TestCase):
    maxDiff = None

    def lint(self, *changes):
        """packlint's exit code and output on GOOD_PACK after the changes,
        each a function of the files mapping."""
        files = copy.deepcopy(GOOD_PACK)
        for change in changes:
            change(files)
        with tempfile.TemporaryDirectory() as d:
            write_pack(d, files)
            return run_packlint(d)

    def assertFinds(self, expected, *changes):
        rc, out = self.lint(*changes)
        self.assertEqual(rc, 1, out)
        self.assertIn(expected, out)
        return out

    # ---------------------------------------------------------------- pass

    def test_real_pack_passes(self):
        if not os.path.isdir(os.path.join(ROOT, "actions", "bin")):
            self.fail("actions/bin is missing: run `make` first (this test "
                      "builds nothing itself)")
        rc, out = run_packlint(ROOT)
        self.assertEqual(rc, 0, out)

    def test_good_mini_pack_passes(self):
        rc, out = self.lint()
        self.assertEqual(rc, 0, out)
        self.assertIn("packlint: 0 problem(s)", out)

    # ------------------------------------------------------------ 1. YAML

    def test_yaml_that_does_not_parse_is_reported_once(self):
        out = self.assertFinds(
            "actions/ok.yaml: does not parse",
            lambda f: f.update({"actions/ok.yaml": "name: [ok\n"}))
        self.assertEqual(out.count("actions/ok.yaml: does not parse"), 1, out)

    def test_yaml_that_is_not_a_mapping(self):
        self.assertFinds("rules/hook.yaml: is not a mapping",
                         lambda f: f.update({"rules/hook.yaml": "- a\n- b\n"}))

    # ------------------------------------------------ 2. action metadata

    def test_action_missing_name(self):
        self.assertFinds("actions/flow.yaml: missing required field 'name'",
                         lambda f: drop(f, "actions/flow.yaml:name"))

    def test_action_missing_runner_type(self):
        self.assertFinds("actions/flow.yaml: missing required field 'runner_type'",
                         lambda f: drop(f, "actions/flow.yaml:runner_type"))

    def test_action_unknown_runner(self):
        self.assertFinds("actions/ok.yaml: unknown runner_type 'shell'",
                         lambda f: put(f, "actions/ok.yaml:runner_type", "shell"))

    def test_action_unknown_top_level_key(self):
        self.assertFinds("actions/ok.yaml: unknown top-level key 'timeout'",
                         lambda f: put(f, "actions/ok.yaml:timeout", 60))

    def test_action_field_of_the_wrong_type(self):
        self.assertFinds("actions/ok.yaml: 'enabled' must be a boolean",
                         lambda f: put(f, "actions/ok.yaml:enabled", "yes"))

    def test_action_pack_is_not_the_packs_ref(self):
        self.assertFinds("actions/ok.yaml: pack 'autoscaling' is not this pack's ref",
                         lambda f: put(f, "actions/ok.yaml:pack", "autoscaling"))

    def test_action_file_not_named_after_the_action(self):
        self.assertFinds("actions/okay.yaml: file name must be ok.yaml",
                         lambda f: rename(f, "actions/ok.yaml", "actions/okay.yaml"))

    def test_parameter_name_with_a_dash(self):
        self.assertFinds(
            "actions/ok.yaml: parameter 'dry-run' must match ^\\w+$",
            lambda f: put(f, "actions/ok.yaml:parameters/dry-run", {"type": "boolean"}))

    def test_parameter_unknown_type(self):
        self.assertFinds("actions/ok.yaml: parameter 'name' has unknown type 'str'",
                         lambda f: put(f, "actions/ok.yaml:parameters/name/type", "str"))

    def test_positions_not_contiguous_from_zero(self):
        self.assertFinds("actions/ok.yaml: positions [1] must be unique and contiguous",
                         lambda f: put(f, "actions/ok.yaml:parameters/name/position", 1))

    def test_immutable_without_default(self):
        self.assertFinds("actions/flow.yaml: immutable parameter 'asg' needs a default",
                         lambda f: put(f, "actions/flow.yaml:parameters/asg/immutable", True))

    def test_immutable_integer_with_jinja_default(self):
        def change(f):
            put(f, "actions/flow.yaml:parameters/count/immutable", True)
            put(f, "actions/flow.yaml:parameters/count/default", "{{ config_context.n }}")
        self.assertFinds("actions/flow.yaml: immutable non-string parameter 'count' "
                         "cannot have a Jinja default", change)

    def test_enum_not_a_list(self):
        self.assertFinds("actions/flow.yaml: parameter 'asg': enum must be a list",
                         lambda f: put(f, "actions/flow.yaml:parameters/asg/enum", "web"))

    def test_required_not_a_boolean(self):
        self.assertFinds("actions/flow.yaml: parameter 'asg': required must be a boolean",
                         lambda f: put(f, "actions/flow.yaml:parameters/asg/required", "yes"))

    def test_secret_not_a_boolean(self):
        self.assertFinds("actions/flow.yaml: parameter 'asg': secret must be a boolean",
                         lambda f: put(f, "actions/flow.yaml:parameters/asg/secret", 1))

    def test_named_array_parameter_of_a_shell_action(self):
        self.assertFinds("actions/ok.yaml: named array parameter 'tags' would arrive "
                         "as a Python repr",
                         lambda f: put(f, "actions/ok.yaml:parameters/tags", {"type": "array"}))

    # ------------------------------------------------------ 3. entry_point

    def test_entry_point_missing(self):
        self.assertFinds("actions/ok.yaml: entry_point 'bin/okay' does not exist",
                         lambda f: put(f, "actions/ok.yaml:entry_point", "bin/okay"))

    def test_orquesta_entry_point_outside_workflows(self):
        def change(f):
            rename(f, "actions/workflows/flow.yaml", "actions/flows/flow.yaml")
            put(f, "actions/flow.yaml:entry_point", "flows/flow.yaml")
        self.assertFinds("actions/flow.yaml: orquesta entry_point 'flows/flow.yaml' "
                         "must be workflows/<name>.yaml", change)

    def test_orquesta_entry_point_missing(self):
        self.assertFinds("actions/flow.yaml: entry_point 'workflows/flow.yaml' does not exist",
                         lambda f: f.pop("actions/workflows/flow.yaml"))

    # -------------------------------------------------------- 4. workflows

    WF = "actions/workflows/flow.yaml"

    def test_workflow_bad_version(self):
        self.assertFinds(f"{self.WF}: version must be 1.0",
                         lambda f: put(f, f"{self.WF}:version", 2.0))

    def test_workflow_unknown_top_level_key(self):
        self.assertFinds(f"{self.WF}: unknown top-level key 'task'",
                         lambda f: put(f, f"{self.WF}:task", {}))

    def test_workflow_input_item_of_two_keys(self):
        self.assertFinds(f"{self.WF}: input must be a list of names or one-key mappings",
                         lambda f: put(f, f"{self.WF}:input/1", {"count": 1, "extra": 2}))

    def test_workflow_vars_a_mapping(self):
        self.assertFinds(f"{self.WF}: vars must be a list of names or one-key mappings",
                         lambda f: put(f, f"{self.WF}:vars", {"said": "", "run": ""}))

    def test_workflow_output_a_bare_name(self):
        self.assertFinds(f"{self.WF}: output must be a list of one-key mappings",
                         lambda f: put(f, f"{self.WF}:output", ["said"]))

    def test_workflow_no_tasks(self):
        self.assertFinds(f"{self.WF}: tasks must be a non-empty mapping",
                         lambda f: put(f, f"{self.WF}:tasks", {}))

    def test_workflow_inputs_differ_from_the_metadata(self):
        self.assertFinds(
            f"{self.WF}: input names differ from the parameters in actions/flow.yaml: "
            "only in the workflow [], only in the metadata ['reason']",
            lambda f: put(f, "actions/flow.yaml:parameters/reason", {"type": "string"}))

    def test_task_name_with_a_dash(self):
        def change(f):
            rename(f["actions/workflows/flow.yaml"]["tasks"], "tell", "tell-them")
            put(f, f"{self.WF}:tasks/greet/next/0/do", "tell-them")
        self.assertFinds(f"{self.WF}: task name 'tell-them' must match ^\\w+$", change)

    def test_task_unknown_key(self):
        self.assertFinds(f"{self.WF}: task 'greet': unknown key 'on-success'",
                         lambda f: put(f, f"{self.WF}:tasks/greet/on-success", "tell"))

    def test_next_item_unknown_key(self):
        self.assertFinds(f"{self.WF}: task 'greet': next item has unknown key 'if'",
                         lambda f: put(f, f"{self.WF}:tasks/greet/next/1/if", "x"))

    def test_do_names_an_unknown_task(self):
        self.assertFinds(f"{self.WF}: task 'tell': do names unknown task 'resst'",
                         lambda f: put(f, f"{self.WF}:tasks/tell/next/0/do", "resst, noop"))

    def test_unknown_action_of_the_pack(self):
        self.assertFinds(f"{self.WF}: task 'greet': action 'autoscale.hello' does not "
                         "exist in the pack",
                         lambda f: put(f, f"{self.WF}:tasks/greet/action", "autoscale.hello"))

    def test_unknown_core_action(self):
        self.assertFinds(f"{self.WF}: task 'tell': action 'core.print' is not a core action",
                         lambda f: put(f, f"{self.WF}:tasks/tell/action", "core.print"))

    def test_action_of_an_unknown_pack(self):
        self.assertFinds(f"{self.WF}: task 'tell': action 'slack.post' is in pack "
                         "'slack', neither autoscale nor core",
                         lambda f: put(f, f"{self.WF}:tasks/tell/action", "slack.post"))

    def test_task_input_not_a_parameter(self):
        self.assertFinds(f"{self.WF}: task 'greet': input 'nme' is not a "
                         "parameter of autoscale.ok",
                         lambda f: put(f, f"{self.WF}:tasks/greet/input/nme", "x"))

    def test_task_input_not_a_parameter_of_a_core_action(self):
        self.assertFinds(f"{self.WF}: task 'tell': input 'msg' is not a "
                         "parameter of core.echo",
                         lambda f: put(f, f"{self.WF}:tasks/tell/input/msg", "x"))

    def test_task_misses_a_required_parameter(self):
        self.assertFinds(f"{self.WF}: task 'greet': required parameter 'name' of "
                         "autoscale.ok is not given",
                         lambda f: drop(f, f"{self.WF}:tasks/greet/input/name"))

    def test_task_with_items_misses_a_required_parameter(self):
        self.assertFinds(f"{self.WF}: task 'done': required parameter 'name' of "
                         "autoscale.ok is not given",
                         lambda f: drop(f, f"{self.WF}:tasks/done/input"))

    def test_mixed_yaql_and_jinja(self):
        self.assertFinds(f"{self.WF}: tasks.tell.input.message: mixes YAQL <% %> and "
                         "Jinja {{ }} in one value",
                         lambda f: put(f, f"{self.WF}:tasks/tell/input/message",
                                       "<% ctx(said) %> {{ ctx('count') }}"))

    def test_unknown_ctx_variable(self):
        self.assertFinds(f"{self.WF}: tasks.greet.input.name: ctx 'agg' is not an "
                         "input, var or published variable",
                         lambda f: put(f, f"{self.WF}:tasks/greet/input/name", "<% ctx(agg) %>"))

    def test_unknown_ctx_variable_jinja_attribute_form(self):
        self.assertFinds(f"{self.WF}: output[0].said: ctx 'sayd' is not an input",
                         lambda f: put(f, f"{self.WF}:output/0/said", "{{ ctx().sayd }}"))

    def test_unreachable_task(self):
        # It names itself, so it is no start task, and nothing else names it.
        self.assertFinds(f"{self.WF}: task 'again' is never reached",
                         lambda f: put(f, f"{self.WF}:tasks/again",
                                       {"action": "core.noop", "next": [{"do": "again"}]}))

    # ------------------------------------------------------------ 5. rules

    RULE = "rules/on_tick.yaml"

    def test_rule_missing_trigger(self):
        self.assertFinds(f"{self.RULE}: missing required field 'trigger'",
                         lambda f: drop(f, f"{self.RULE}:trigger"))

    def test_rule_action_without_ref(self):
        self.assertFinds(f"{self.RULE}: action needs a ref",
                         lambda f: drop(f, f"{self.RULE}:action/ref"))

    def test_rule_not_enabled(self):
        self.assertFinds(f"{self.RULE}: rules default to disabled",
                         lambda f: drop(f, f"{self.RULE}:enabled"))

    def test_rule_unknown_action(self):
        self.assertFinds(f"{self.RULE}: action 'autoscale.flo' does not exist in the pack",
                         lambda f: put(f, f"{self.RULE}:action/ref", "autoscale.flo"))

    def test_rule_action_of_another_pack(self):
        self.assertFinds("rules/hook.yaml: action 'slack.post' is in pack 'slack'",
                         lambda f: put(f, "rules/hook.yaml:action/ref", "slack.post"))

    def test_rule_parameter_not_of_the_action(self):
        self.assertFinds(f"{self.RULE}: parameter 'group' is not a parameter of autoscale.flow",
                         lambda f: put(f, f"{self.RULE}:action/parameters/group", "x"))

    def test_rule_misses_a_required_parameter(self):
        self.assertFinds(f"{self.RULE}: required parameter 'asg' of autoscale.flow is not given",
                         lambda f: drop(f, f"{self.RULE}:action/parameters/asg"))

    def test_rule_unknown_trigger_type(self):
        self.assertFinds(f"{self.RULE}: trigger type 'autoscale.tock' is neither",
                         lambda f: put(f, f"{self.RULE}:trigger/type", "autoscale.tock"))

    def test_rule_webhook_without_url(self):
        self.assertFinds("rules/hook.yaml: a core.st2.webhook trigger needs parameters.url",
                         lambda f: drop(f, "rules/hook.yaml:trigger/parameters/url"))

    def test_rule_timer_without_unit(self):
        self.assertFinds("rules/timer.yaml: IntervalTimer unit must be one of",
                         lambda f: drop(f, "rules/timer.yaml:trigger/parameters/unit"))

    def test_rule_criterion_not_on_the_trigger(self):
        self.assertFinds(f"{self.RULE}: criterion 'payload.asg' must start with trigger.",
                         lambda f: rename(f[self.RULE]["criteria"], "trigger.asg", "payload.asg"))

    def test_rule_criterion_unknown_operator(self):
        self.assertFinds(f"{self.RULE}: criterion 'trigger.asg' needs a type among "
                         "st2's operators",
                         lambda f: put(f, f"{self.RULE}:criteria/trigger.asg/type", "like"))

    def test_rule_criterion_without_pattern(self):
        self.assertFinds(f"{self.RULE}: criterion 'trigger.asg' needs a pattern",
                         lambda f: drop(f, f"{self.RULE}:criteria/trigger.asg/pattern"))

    def test_rule_criterion_on_a_field_the_trigger_lacks(self):
        self.assertFinds(f"{self.RULE}: criterion 'trigger.group': the trigger has no "
                         "field 'group'",
                         lambda f: rename(f[self.RULE]["criteria"], "trigger.asg",
                                          "trigger.group"))

    def test_rule_parameter_reads_a_field_the_trigger_lacks(self):
        self.assertFinds(f"{self.RULE}: action.parameters.asg reads trigger.group, which "
                         "is not in the trigger's payload",
                         lambda f: put(f, f"{self.RULE}:action/parameters/asg",
                                       "{{ trigger.group }}"))

    # --------------------------------------------------------- 6. policies

    POLICY = "policies/ok_concurrency.yaml"

    def test_policy_missing_policy_type(self):
        self.assertFinds(f"{self.POLICY}: missing required field 'policy_type'",
                         lambda f: drop(f, f"{self.POLICY}:policy_type"))

    def test_policy_resource_not_an_action_of_the_pack(self):
        self.assertFinds(f"{self.POLICY}: resource_ref 'core.local' is not an action "
                         "of this pack",
                         lambda f: put(f, f"{self.POLICY}:resource_ref", "core.local"))

    def test_policy_unknown_type(self):
        self.assertFinds(f"{self.POLICY}: policy_type 'action.executions.retention' is "
                         "not one of",
                         lambda f: put(f, f"{self.POLICY}:policy_type",
                                       "action.executions.retention"))

    def test_policy_disabled(self):
        self.assertFinds(f"{self.POLICY}: enabled is not true: the policy is off",
                         lambda f: put(f, f"{self.POLICY}:enabled", False))

    def test_policy_threshold_zero(self):
        self.assertFinds(f"{self.POLICY}: parameters.threshold must be an integer >= 1",
                         lambda f: put(f, f"{self.POLICY}:parameters/threshold", 0))

    def test_policy_threshold_a_string(self):
        self.assertFinds(f"{self.POLICY}: parameters.threshold must be an integer >= 1",
                         lambda f: put(f, f"{self.POLICY}:parameters/threshold", "1"))

    def test_policy_unknown_action(self):
        self.assertFinds(f"{self.POLICY}: parameters.action must be delay or cancel",
                         lambda f: put(f, f"{self.POLICY}:parameters/action", "queue"))

    def test_policy_attributes_empty(self):
        self.assertFinds(f"{self.POLICY}: parameters.attributes must be a non-empty list",
                         lambda f: put(f, f"{self.POLICY}:parameters/attributes", []))

    def test_policy_attribute_not_a_parameter(self):
        self.assertFinds(f"{self.POLICY}: parameters.attributes: 'group' is not a "
                         "parameter of the action",
                         lambda f: put(f, f"{self.POLICY}:parameters/attributes", ["group"]))

    def test_policy_retry_without_retry_on(self):
        self.assertFinds("policies/ok_retry.yaml: parameters.retry_on must be failure "
                         "or timeout",
                         lambda f: drop(f, "policies/ok_retry.yaml:parameters/retry_on"))

    # ---------------------------------------------------------- 7. sensors

    def test_sensor_trigger_name_with_a_dash(self):
        self.assertFinds("sensors/tick.yaml: trigger type name 'tick-tock' must match",
                         lambda f: put(f, "sensors/tick.yaml:trigger_types/0/name",
                                       "tick-tock"))

    def test_sensor_entry_point_missing(self):
        self.assertFinds("sensors/tick.yaml: entry_point 'tick.py' does not exist",
                         lambda f: f.pop("sensors/tick.py"))

    def test_sensor_trigger_without_payload_schema(self):
        self.assertFinds("sensors/tick.yaml: trigger type 'tick' needs a payload_schema",
                         lambda f: drop(f, "sensors/tick.yaml:trigger_types/0/payload_schema"))

    # ------------------------------------------------ 8. C parameter table

    def test_c_table_type_differs(self):
        table = copy.deepcopy(OK_TABLE)
        table[0]["type"] = "integer"
        self.assertFinds("actions/ok.yaml: parameter 'name': YAML type string, C integer",
                         lambda f: put(f, "actions/bin/ok", ok_script(table)))

    def test_c_table_lacks_a_yaml_parameter(self):
        self.assertFinds("actions/ok.yaml: parameter 'greeting' is in the YAML but not "
                         "in bin/ok",
                         lambda f: put(f, "actions/bin/ok", ok_script(OK_TABLE[:1])))

    def test_c_table_default_differs_from_config(self):
        self.assertFinds("actions/ok.yaml: parameter 'greeting': config default 'hi' "
                         "differs from C default 'hello'",
                         lambda f: put(f, "config.schema.yaml:greeting/default", "hi"))

    def with_tries(self, c_row, yaml_param):
        """ok gets an integer parameter 'tries': c_row in its C table,
        yaml_param in its YAML."""
        table = copy.deepcopy(OK_TABLE) + [dict(
            {"name": "tries", "type": "integer", "required": False, "secret": False,
             "position": None, "default": "3", "config": None}, **c_row)]

        def change(f):
            put(f, "actions/bin/ok", ok_script(table))
            put(f, "actions/ok.yaml:parameters/tries",
                dict({"type": "integer", "default": 3}, **yaml_param))
        return change

    def test_c_range_equal_to_the_yaml_passes(self):
        rc, out = self.lint(self.with_tries({"minimum": 1, "maximum": 10},
                                            {"minimum": 1, "maximum": 10}))
        self.assertEqual(rc, 0, out)

    def test_c_range_differs_from_the_yaml(self):
        self.assertFinds("actions/ok.yaml: parameter 'tries': YAML maximum 100, C 10",
                         self.with_tries({"minimum": 1, "maximum": 10},
                                         {"minimum": 1, "maximum": 100}))

    def test_integer_without_a_yaml_range(self):
        self.assertFinds("actions/ok.yaml: parameter 'tries': integer without a YAML minimum",
                         self.with_tries({"minimum": 1, "maximum": 10}, {"maximum": 10}))

    def test_integer_without_a_c_range(self):
        self.assertFinds("actions/ok.yaml: parameter 'tries': YAML minimum 1 but the C "
                         "table has no range",
                         self.with_tries({}, {"minimum": 1, "maximum": 10}))

    def test_c_default_outside_the_range(self):
        self.assertFinds("actions/ok.yaml: parameter 'tries': C default 30 outside 1..10",
                         self.with_tries({"minimum": 1, "maximum": 10, "default": "30"},
                                         {"minimum": 1, "maximum": 10, "default": 30}))

    def test_c_table_unreadable(self):
        self.assertFinds("actions/ok.yaml: cannot read the parameter table of bin/ok",
                         lambda f: put(f, "actions/bin/ok", "#!/bin/sh\necho nope\n"))


    # ----------------------------------------- 9. config_context references

    def colour(self, default, schema=None):
        """flow's parameter colour defaulting to default, and config key
        colour with the given schema (no default unless it says)."""
        def change(f):
            put(f, "config.schema.yaml:colour", schema or {"type": "string"})
            put(f, "actions/flow.yaml:parameters/colour",
                {"type": "string", "default": default})
            f["actions/workflows/flow.yaml"]["input"].append("colour")
        return change

    def test_config_key_without_default_unguarded(self):
        self.assertFinds(
            "actions/flow.yaml: parameter 'colour' of autoscale.flow reads "
            "config_context.colour, which has no default in config.schema.yaml "
            "and no | default(...) guard",
            self.colour("{{ config_context.colour }}"))

    def test_config_key_guarded_with_default_filter_passes(self):
        for guard in ("{{ config_context.colour | default('') }}",
                      "{{ config_context.colour|d('blue') }}",
                      "{{ config_context['colour'] | default(none) }}",
                      "{{ config_context.get('colour') }}"):
            rc, out = self.lint(self.colour(guard))
            self.assertEqual(rc, 0, f"{guard}: {out}")

    def test_config_key_with_schema_default_passes(self):
        rc, out = self.lint(self.colour("{{ config_context.colour }}",
                                        {"type": "string", "default": ""}))
        self.assertEqual(rc, 0, out)

    def test_config_filter_before_the_guard_is_unguarded(self):
        # upper runs first, on StrictUndefined: it fails before default does.
        self.assertFinds("reads config_context.colour, which has no default",
                         self.colour("{{ config_context.colour | upper | default('') }}"))

    def test_config_key_read_deeper_is_unguarded(self):
        self.assertFinds("reads config_context.colour, which has no default",
                         self.colour("{{ config_context.colour.name | default('') }}"))

    def test_config_key_not_in_the_schema(self):
        self.assertFinds("actions/flow.yaml: parameter 'colour' of autoscale.flow reads "
                         "config_context.hue, which is not in config.schema.yaml",
                         self.colour("{{ config_context.hue | default('') }}"))

    def test_config_key_without_default_in_a_rule(self):
        self.assertFinds(
            "rules/on_tick.yaml: action.parameters.asg (parameter 'asg' of "
            "autoscale.flow) reads config_context.colour, which has no default",
            self.colour("{{ config_context.colour | default('') }}"),
            lambda f: put(f, f"{self.RULE}:action/parameters/asg",
                          "{{ config_context.colour }}"))

    def test_config_key_without_default_in_a_workflow(self):
        self.assertFinds(
            f"{self.WF}: tasks.tell.input.message reads config_context.colour, "
            "which has no default",
            self.colour("{{ config_context.colour | default('') }}"),
            lambda f: put(f, f"{self.WF}:tasks/tell/input/message",
                          "{{ config_context.colour }}"))

    def test_integer_parameter_falling_back_to_an_empty_string(self):
        def change(f):
            put(f, "config.schema.yaml:size", {"type": "integer"})
            put(f, "actions/flow.yaml:parameters/count/default",
                "{{ config_context.size | default('') }}")
        self.assertFinds("actions/flow.yaml: parameter 'count' of autoscale.flow falls "
                         "back to '' when config_context.size is unset, which st2 "
                         "cannot cast to integer", change)

    def test_c_default_read_through_a_guard(self):
        rc, out = self.lint(lambda f: put(
            f, "actions/ok.yaml:parameters/greeting/default",
            "{{ config_context.greeting | default('hi') }}"))
        self.assertEqual(rc, 0, out)  # the schema's default, hello, applies

    def test_c_default_of_a_guard_differs(self):
        def change(f):
            drop(f, "config.schema.yaml:greeting/default")
            put(f, "actions/ok.yaml:parameters/greeting/default",
                "{{ config_context.greeting | default('hi') }}")
        self.assertFinds("actions/ok.yaml: parameter 'greeting': config default 'hi' "
                         "differs from C default 'hello'", change)

    def test_empty_string_config_default_is_no_c_default(self):
        # st2 leaves "" off the command line: the C action sees no value.
        table = copy.deepcopy(OK_TABLE)
        table[1]["default"] = None
        rc, out = self.lint(lambda f: put(f, "actions/bin/ok", ok_script(table)),
                            lambda f: put(f, "config.schema.yaml:greeting/default", ""))
        self.assertEqual(rc, 0, out)

    def test_immutable_boolean_with_jinja_block_default(self):
        def change(f):
            put(f, "actions/flow.yaml:parameters/loud",
                {"type": "boolean", "immutable": True,
                 "default": "{% if config_context.greeting %}true{% endif %}"})
            f["actions/workflows/flow.yaml"]["input"].append("loud")
        self.assertFinds("actions/flow.yaml: immutable non-string parameter 'loud' "
                         "cannot have a Jinja default", change)

    def test_immutable_string_with_jinja_default_passes(self):
        def change(f):
            put(f, "actions/flow.yaml:parameters/asg/immutable", True)
            put(f, "actions/flow.yaml:parameters/asg/default", "{{ config_context.greeting }}")
        rc, out = self.lint(change)
        self.assertEqual(rc, 0, out)

    # ------------------------------- 10. values a workflow passes to a child

    GROUP = "^[a-z]([a-z0-9-]{0,29}[a-z0-9])?$"

    def test_pattern_input_into_a_shorter_child_pattern(self):
        def change(f):
            put(f, "actions/flow.yaml:parameters/asg/pattern", self.GROUP)
            put(f, f"{self.WF}:tasks/tally/input/host", "<% ctx(asg) %>")
        out = self.assertFinds(
            f"{self.WF}: task 'tally': autoscale.tally parameter 'host' (pattern "
            "^[a-z]{1,10}$) refuses what <% ctx(asg) %> may give: it may be "
            "'a0'", change)
        self.assertNotIn("note:", out)

    def test_pattern_input_into_an_equal_or_wider_child_pattern_passes(self):
        for child in (self.GROUP, "^[a-z0-9][a-z0-9-]{0,62}$", "^[a-z]"):
            def change(f, child=child):
                put(f, "actions/flow.yaml:parameters/asg/pattern", self.GROUP)
                put(f, "actions/tally.yaml:parameters/host/pattern", child)
                put(f, f"{self.WF}:tasks/tally/input/host", "<% ctx(asg) %>")
            rc, out = self.lint(change)
            self.assertEqual(rc, 0, f"{child}: {out}")

    def test_enum_input_into_a_child_pattern(self):
        def change(f):
            put(f, "actions/flow.yaml:parameters/asg/enum", ["web", "database-eu"])
            put(f, f"{self.WF}:tasks/tally/input/host", "<% ctx(asg) %>")
        self.assertFinds("parameter 'host' (pattern ^[a-z]{1,10}$) refuses what "
                         "<% ctx(asg) %> may give: it may be 'database-eu'", change)

    def test_input_without_pattern_into_a_child_pattern(self):
        self.assertFinds(
            f"{self.WF}: task 'tally': autoscale.tally parameter 'host' (pattern "
            "^[a-z]{1,10}$): cannot show that <% ctx(asg) %> fits: input 'asg' of "
            "autoscale.flow has no pattern or enum",
            lambda f: put(f, f"{self.WF}:tasks/tally/input/host", "<% ctx(asg) %>"))

    def test_literal_the_child_pattern_refuses(self):
        self.assertFinds("parameter 'host' (pattern ^[a-z]{1,10}$) refuses what Web "
                         "may give: it may be 'Web'",
                         lambda f: put(f, f"{self.WF}:tasks/tally/input/host", "Web"))

    def test_derived_node_name_longer_than_the_child_pattern(self):
        # node_up's node names: the group, a dash, 8 hex digits of the
        # execution id; with a 31-character group that is 40 characters.
        def change(f):
            put(f, "actions/flow.yaml:parameters/asg/pattern", self.GROUP)
            put(f, "actions/tally.yaml:parameters/host/pattern", self.GROUP)
            put(f, f"{self.WF}:tasks/tally/input/host",
                "<% ctx(asg) + '-' + ctx(st2).action_execution_id.substring(16) %>")
        self.assertFinds(f"(pattern {self.GROUP}) refuses what <% ctx(asg) + '-' + "
                         "ctx(st2).action_execution_id.substring(16) %> may give: it "
                         "may be 'aaaaaaaaaaaaaaaaaaaaaaa-aaaaaaaa'", change)

    def test_derived_node_name_into_a_dns_label_pattern_passes(self):
        def change(f):
            put(f, "actions/flow.yaml:parameters/asg/pattern", self.GROUP)
            put(f, "actions/tally.yaml:parameters/host/pattern",
                "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
            put(f, f"{self.WF}:tasks/tally/input/host",
                "<% ctx(asg) + '-' + ctx(st2).action_execution_id.substring(16) %>")
        rc, out = self.lint(change)
        self.assertEqual(rc, 0, out)

    def names_from_ok(self, items, host="<% item(n) %>"):
        """ok's output lists names (items: their schema); tally runs over
        them, given host."""
        def change(f):
            put(f, "actions/ok.yaml:output_schema/names", {"type": "array", "items": items})
            put(f, f"{self.WF}:vars/1", {"said": []})
            put(f, f"{self.WF}:tasks/greet/next/0/publish/0",
                {"said": "<% result().stdout.names %>"})
            put(f, f"{self.WF}:tasks/tally/with", {"items": "n in <% ctx(said) %>"})
            put(f, f"{self.WF}:tasks/tally/input/host", host)
        return change

    def test_output_without_pattern_into_a_child_pattern(self):
        self.assertFinds(
            "parameter 'host' (pattern ^[a-z]{1,10}$): cannot show that <% item(n) %> "
            "fits: autoscale.ok's output_schema.names[] has no pattern or enum "
            "(declare it: packlint then checks it)",
            self.names_from_ok({"type": "string"}))

    def test_output_pattern_longer_than_the_child_pattern(self):
        self.assertFinds(
            "parameter 'host' (pattern ^[a-z]{1,10}$) refuses what <% item(n) %> may "
            "give: it may be 'aaaaaaaaaaa'",
            self.names_from_ok({"type": "string", "pattern": "^[a-z]{1,20}$"}))

    def test_output_pattern_within_the_child_pattern_passes(self):
        rc, out = self.lint(self.names_from_ok({"type": "string", "pattern": "^[a-z]{2,8}$"}))
        self.assertEqual(rc, 0, out)

    def test_join_of_an_unbounded_array_into_max_length(self):
        self.assertFinds(
            f"{self.WF}: task 'tally': autoscale.tally parameter 'note' (maxLength 100): "
            "cannot show that <% 'removing ' + ctx(said).join(', ') %> fits: .join() "
            "over an array whose length has no bound (autoscale.ok's "
            "output_schema.names has no maxItems); bound it with .take(N) or .limit(N)",
            self.names_from_ok({"type": "string", "pattern": "^[a-z]{1,10}$"}),
            lambda f: put(f, f"{self.WF}:tasks/tally/input/note",
                          "<% 'removing ' + ctx(said).join(', ') %>"))

    def test_join_of_a_bounded_array_into_max_length(self):
        note = "<% 'removing ' + ctx(said).{}.join(', ') %>"
        bound = self.names_from_ok({"type": "string", "pattern": "^[a-z]{1,10}$"})
        rc, out = self.lint(bound, lambda f: put(f, f"{self.WF}:tasks/tally/input/note",
                                                 note.format("take(5)")))
        self.assertEqual(rc, 0, out)  # 9 + 5 * 10 + 4 * 2 = 67 characters
        self.assertFinds("parameter 'note' (maxLength 100) refuses what <% 'removing ' "
                         "+ ctx(said).limit(8).join(', ') %> may give: it may be 103 "
                         "characters long", bound,
                         lambda f: put(f, f"{self.WF}:tasks/tally/input/note",
                                       note.format("limit(8)")))

    def test_str_of_an_unbounded_array_into_max_length(self):
        self.assertFinds(
            "parameter 'note' (maxLength 100): cannot show that <% str(ctx(said)) %> "
            "fits: str() of an array whose length has no bound",
            self.names_from_ok({"type": "string", "maxLength": 10}),
            lambda f: put(f, f"{self.WF}:tasks/tally/input/note", "<% str(ctx(said)) %>"))

    def test_input_without_max_length_into_max_length(self):
        self.assertFinds(
            "parameter 'note' (maxLength 100): cannot show that <% ctx(asg) %> fits: "
            "input 'asg' of autoscale.flow has no maxLength",
            lambda f: put(f, f"{self.WF}:tasks/tally/input/note", "<% ctx(asg) %>"))

    def test_integer_input_into_a_narrower_range(self):
        self.assertFinds(
            f"{self.WF}: task 'tally': autoscale.tally parameter 'count' (maximum 50) "
            "refuses what <% ctx(count) %> may give: it may be 100",
            lambda f: put(f, "actions/tally.yaml:parameters/count/maximum", 50))

    def test_integer_input_without_maximum(self):
        self.assertFinds(
            "parameter 'count' (maximum 1000): cannot show that <% ctx(count) %> fits: "
            "input 'count' of autoscale.flow has no maximum",
            lambda f: drop(f, "actions/flow.yaml:parameters/count/maximum"))

    def test_length_of_a_bounded_array_into_a_range(self):
        def change(f):
            self.names_from_ok({"type": "string", "pattern": "^[a-z]{1,10}$"})(f)
            put(f, "actions/ok.yaml:output_schema/names/maxItems", 2000)
            put(f, f"{self.WF}:tasks/tally/input/count", "<% ctx(said).len() %>")
        out = self.assertFinds("parameter 'count' (minimum 1) refuses what "
                               "<% ctx(said).len() %> may give: it may be 0", change)
        self.assertIn("parameter 'count' (maximum 1000) refuses what "
                      "<% ctx(said).len() %> may give: it may be 2000", out)

    def test_max_and_min_settle_the_bounds_they_can(self):
        def change(expr, maxitems=2000):
            def f(files):
                self.names_from_ok({"type": "string", "pattern": "^[a-z]{1,10}$"})(files)
                put(files, "actions/ok.yaml:output_schema/names/maxItems", maxitems)
                put(files, f"{self.WF}:tasks/tally/input/count", expr)
            return f
        rc, out = self.lint(change("<% max(ctx(said).len(), 1) %>", maxitems=1000))
        self.assertEqual(rc, 0, out)  # 0..1000 raised to at least 1: within 1..1000
        self.assertFinds("parameter 'count' (maximum 1000) refuses what "
                         "<% max(ctx(said).len(), 1) %> may give: it may be 2000",
                         change("<% max(ctx(said).len(), 1) %>"))
        rc, out = self.lint(change("<% min(max(ctx(said).len(), 1), 1000) %>"))
        self.assertEqual(rc, 0, out)

    def test_integer_into_a_string_parameter(self):
        self.assertFinds("parameter 'note' (type string) refuses what <% ctx(count) %> "
                         "may give: its type is integer",
                         lambda f: put(f, f"{self.WF}:tasks/tally/input/note",
                                       "<% ctx(count) %>"))

    def test_what_cannot_be_decided_is_a_note_not_a_failure(self):
        rc, out = self.lint(lambda f: put(f, f"{self.WF}:tasks/tally/input/host",
                                          "<% st2kv('system.host') %>"))
        self.assertEqual(rc, 0, out)
        self.assertIn(f"{self.WF}: note: task 'tally': autoscale.tally parameter 'host' "
                      "(pattern ^[a-z]{1,10}$) is not checked against <% "
                      "st2kv('system.host') %>: st2kv()", out)
        self.assertIn("packlint: 0 problem(s), 1 note(s)", out)

    def test_refusal_only_through_the_dollar_newline_is_a_note(self):
        # ^[a-z]{1,5}$ takes "a\n" (Python's $), so "a\nx" may reach tally.
        def change(f):
            put(f, "actions/flow.yaml:parameters/asg/pattern", "^[a-z]{1,5}$")
            put(f, f"{self.WF}:tasks/tally/input/host", "<% ctx(asg) + 'x' %>")
        rc, out = self.lint(change)
        self.assertEqual(rc, 0, out)
        self.assertIn("only with the newline a $ lets through, such as 'a\\nx'", out)


    # ------------------------------------------------ aliases (ChatOps)

    ALIAS = "aliases/ok_say.yaml"

    def test_alias_unknown_top_level_key(self):
        self.assertFinds(f"{self.ALIAS}: unknown top-level key 'parameters'",
                         lambda f: put(f, f"{self.ALIAS}:parameters", {}))

    def test_alias_missing_action_ref(self):
        self.assertFinds(f"{self.ALIAS}: missing required field 'action_ref'",
                         lambda f: drop(f, f"{self.ALIAS}:action_ref"))

    def test_alias_action_that_does_not_exist(self):
        self.assertFinds(f"{self.ALIAS}: action 'autoscale.nope' does not exist in the pack",
                         lambda f: put(f, f"{self.ALIAS}:action_ref", "autoscale.nope"))

    def test_alias_format_names_no_parameter_of_the_action(self):
        self.assertFinds(f"{self.ALIAS}: format 'hi {{{{name}}}} {{{{ tmeout=20 }}}}': 'tmeout' "
                         "is not a parameter of autoscale.ok",
                         lambda f: put(f, f"{self.ALIAS}:formats/1/representation/0",
                                       "hi {{name}} {{ tmeout=20 }}"))

    def test_alias_format_missing_a_required_parameter(self):
        self.assertFinds(f"{self.ALIAS}: format 'say hello': required parameter 'name' "
                         "of autoscale.ok is never given",
                         lambda f: put(f, f"{self.ALIAS}:formats/0", "say hello"))

    def test_alias_format_parameter_also_immutable(self):
        self.assertFinds(f"{self.ALIAS}: format 'say hello to {{{{ name }}}}': 'name' is also "
                         "immutable",
                         lambda f: put(f, f"{self.ALIAS}:immutable_parameters/name", "x"))

    def test_alias_immutable_parameter_not_of_the_action(self):
        self.assertFinds(f"{self.ALIAS}: immutable parameter 'colour' is not a parameter",
                         lambda f: put(f, f"{self.ALIAS}:immutable_parameters/colour", "x"))

    def test_alias_bad_format_and_unknown_ack_key(self):
        out = self.assertFinds(f"{self.ALIAS}: format 3: a string or",
                               lambda f: put(f, f"{self.ALIAS}:formats/0", 3),
                               lambda f: put(f, f"{self.ALIAS}:ack/colour", "red"))
        self.assertIn(f"{self.ALIAS}: ack: unknown key 'colour'", out)

    def test_alias_file_not_named_after_the_alias(self):
        self.assertFinds("aliases/say.yaml: file name should be ok_say.yaml",
                         lambda f: rename(f, self.ALIAS, "aliases/say.yaml"))

class SecretsTest(unittest.TestCase):
    """A secret never has a default (st2 would put it on the command line,
    readable in /proc/PID/cmdline); it comes through the env runner
    parameter, one json_escape'd AUTOSCALE_SECRET_<NAME> per secret."""
    maxDiff = None
    lint = PacklintTest.lint
    assertFinds = PacklintTest.assertFinds

    ENV = "actions/ok.yaml:parameters/env"
    REF = "{{ config_context.password | json_escape }}"

    def with_password(self, yaml_param=None, env=None, c_config="password",
                      schema=None):
        """ok gets a secret parameter 'password' read from config key
        password (c_config in its C table), handed over in env."""
        table = copy.deepcopy(OK_TABLE) + [
            {"name": "password", "type": "string", "required": False, "secret": True,
             "position": None, "default": None, "config": c_config}]

        def change(f):
            put(f, "actions/bin/ok", ok_script(table))
            put(f, "config.schema.yaml:password",
                schema or {"type": "string", "secret": True, "default": ""})
            put(f, "config.schema.yaml:other",
                {"type": "string", "secret": True, "default": ""})
            put(f, "actions/ok.yaml:parameters/password",
                yaml_param or {"type": "string", "secret": True})
            put(f, self.ENV, {"default": env if env is not None
                              else {"AUTOSCALE_SECRET_PASSWORD": self.REF}})
        return change

    def test_secret_through_env_passes(self):
        rc, out = self.lint(self.with_password())
        self.assertEqual(rc, 0, out)

    def test_secret_with_a_config_default_would_travel_in_argv(self):
        out = self.assertFinds(
            "actions/ok.yaml: secret parameter 'password' has a default, which st2 "
            "would pass on the command line",
            self.with_password({"type": "string", "secret": True,
                                "default": "{{ config_context.password }}"}))
        self.assertIn("AUTOSCALE_SECRET_PASSWORD", out)

    def test_secret_with_a_literal_default(self):
        self.assertFinds("secret parameter 'password' has a default",
                         self.with_password({"type": "string", "secret": True,
                                             "default": "hunter22"}))

    def test_secret_missing_from_env(self):
        self.assertFinds(
            "actions/ok.yaml: secret parameter 'password': the C table reads config "
            "'password', but the env default has no AUTOSCALE_SECRET_PASSWORD",
            self.with_password(env={}))

    def test_env_value_without_json_escape(self):
        out = self.assertFinds(
            "actions/ok.yaml: env AUTOSCALE_SECRET_PASSWORD must be "
            "\"{{ config_context.<key> | json_escape }}\"",
            self.with_password(env={"AUTOSCALE_SECRET_PASSWORD":
                                    "{{ config_context.password }}"}))
        self.assertIn("no AUTOSCALE_SECRET_PASSWORD", out)

    def test_env_reads_another_key_than_the_c_table(self):
        self.assertFinds(
            "actions/ok.yaml: secret parameter 'password': env AUTOSCALE_SECRET_PASSWORD "
            "reads config 'other', the C table says 'password'",
            self.with_password(env={"AUTOSCALE_SECRET_PASSWORD":
                                    "{{ config_context.other | json_escape }}"}))

    def test_env_names_no_secret_parameter(self):
        self.assertFinds(
            "actions/ok.yaml: env AUTOSCALE_SECRET_GREETING names no secret parameter",
            self.with_password(env={"AUTOSCALE_SECRET_PASSWORD": self.REF,
                                    "AUTOSCALE_SECRET_GREETING":
                                    "{{ config_context.other | json_escape }}"}))

    def test_env_reads_a_config_key_not_marked_secret(self):
        self.assertFinds(
            "actions/ok.yaml: env AUTOSCALE_SECRET_PASSWORD reads config_context.password, "
            "which config.schema.yaml does not mark secret: true",
            self.with_password(schema={"type": "string", "default": ""}))

    def test_env_reads_a_config_key_that_does_not_exist(self):
        self.assertFinds(
            "actions/ok.yaml: parameter 'env' of autoscale.ok reads "
            "config_context.nokey, which is not in config.schema.yaml",
            self.with_password(env={"AUTOSCALE_SECRET_PASSWORD": self.REF,
                                    "OTHER": "{{ config_context.nokey }}"}))

    def test_env_value_that_is_no_string(self):
        self.assertFinds("actions/ok.yaml: env DEBUG_LEVEL: 3 is no string",
                         self.with_password(env={"AUTOSCALE_SECRET_PASSWORD": self.REF,
                                                 "DEBUG_LEVEL": 3}))

    # ------------------------------------------------------- 11. error codes

    # A C library in miniature: the registry, code that raises errors in the
    # ways lib/ does, and the page that documents the codes.
    ERROR_TABLE = (
        '#include "error_codes.h"\n'
        "const struct as_error_code as_error_codes[] = {\n"
        '    {"bad_thing", AS_X_BADINPUT, "a thing that cannot be"},\n'
        '    {"lost", AS_X_FAILURE | AS_X_BADINPUT, "it went away"},\n'
        '    {"slow", AS_X_FAILURE, "it took too long"},\n'
        "};\n")
    ERROR_CODE_C = (
        "int as_fail(struct as_error *err, enum as_exit exit, const char *code,\n"
        "            const char *fmt, ...);\n"
        "static int f(struct as_error *err)\n"
        "{\n"
        '    /* "not_a_code" in a comment is no code */\n'
        '    if (as_fail(err, AS_EXIT_BADINPUT, "bad_thing", "no %s", "way") < 0)\n'
        "        return -1;\n"
        '    const char *code = err ? "lost" : "slow";\n'
        '    return as_fail(err, AS_EXIT_FAILURE, code, "gone");\n'
        "}\n")
    ERROR_DOC = (
        "# Error codes\n\n"
        "| code | exit | meaning |\n|---|---|---|\n"
        "| `bad_thing` | 2 | a thing that cannot be |\n"
        "| `lost` | 1 or 2 | it went away |\n"
        "| `slow` | 1 | it took too long |\n")

    def errors(self, table=None, code=None, doc=None):
        def change(f):
            f["lib/core/error_codes.c"] = table or self.ERROR_TABLE
            f["lib/thing.c"] = code or self.ERROR_CODE_C
            if doc is not False:
                f["docs/errors.md"] = doc or self.ERROR_DOC
        return change

    def test_error_codes_consistent_pass(self):
        rc, out = self.lint(self.errors())
        self.assertEqual(rc, 0, out)

    def test_error_code_not_in_the_table(self):
        self.assertFinds(
            "lib/core/error_codes.c: error code 'oops' (lib/thing.c:6) is not in the table",
            self.errors(code=self.ERROR_CODE_C.replace('"bad_thing", "no', '"oops", "no')))

    def test_error_code_assigned_not_in_the_table(self):
        self.assertFinds(
            "lib/core/error_codes.c: error code 'late' (lib/thing.c:8) is not in the table",
            self.errors(code=self.ERROR_CODE_C.replace('"slow";', '"late";')))

    def test_error_code_with_another_exit_than_the_table(self):
        self.assertFinds(
            "lib/core/error_codes.c: error code 'bad_thing' (lib/thing.c:6) comes with exit 1, "
            "the table says 2",
            self.errors(code=self.ERROR_CODE_C.replace("AS_EXIT_BADINPUT", "AS_EXIT_FAILURE")))

    def test_error_code_unused(self):
        table = self.ERROR_TABLE.replace(
            '    {"slow"', '    {"quiet", AS_X_FAILURE, "never said"},\n    {"slow"')
        doc = self.ERROR_DOC + "| `quiet` | 1 | never said |\n"
        self.assertFinds("lib/core/error_codes.c: error code 'quiet' is used nowhere",
                         self.errors(table=table, doc=doc))

    def test_error_table_unsorted_or_twice(self):
        table = self.ERROR_TABLE.replace(
            '    {"bad_thing"', '    {"slow", AS_X_FAILURE, "again"},\n    {"bad_thing"')
        out = self.assertFinds("lib/core/error_codes.c: rows must be sorted by code",
                               self.errors(table=table))
        self.assertIn("lib/core/error_codes.c: code 'slow' is listed twice", out)

    def test_error_code_not_documented(self):
        doc = self.ERROR_DOC.replace("| `slow` | 1 | it took too long |\n", "")
        self.assertFinds("docs/errors.md: error code 'slow' is not documented",
                         self.errors(doc=doc))

    def test_error_doc_exit_differs(self):
        doc = self.ERROR_DOC.replace("| `lost` | 1 or 2 |", "| `lost` | 1 |")
        self.assertFinds("docs/errors.md: error code 'lost': exit '1' here, '1 or 2' in "
                         "lib/core/error_codes.c", self.errors(doc=doc))

    def test_error_doc_lists_an_unknown_code(self):
        doc = self.ERROR_DOC + "| `gone` | 1 | retired |\n"
        self.assertFinds("docs/errors.md: error code 'gone' is not in lib/core/error_codes.c",
                         self.errors(doc=doc))

    def test_error_doc_missing(self):
        self.assertFinds("docs/errors.md: is missing", self.errors(doc=False))



if __name__ == "__main__":
    unittest.main()
