"""The pack's ChatOps aliases (aliases/*.yaml) on st2lite's alias matching
(tests/st2lite/aliases.py): st2's own parser cases, then real chat lines
matched, their parameters extracted as st2 extracts them, refused where st2
refuses them, and run through to the real actions against the embedded
store, with the ack and result messages rendered.
Run: python3 -m unittest tests/st2lite/test_aliases.py"""
import os
import shutil
import sys
import tempfile
import unittest

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import st2lite  # noqa: E402
from st2lite import schema as S  # noqa: E402
from st2lite.aliases import (Aliases, ActionAliasAmbiguityException,  # noqa: E402
                             ParseException, extract_parameters)


class ParserTest(unittest.TestCase):
    """Cases of st2common/tests/unit/test_action_alias_utils.py, same
    expectations."""

    def check(self, fmt, line, expected):
        self.assertEqual(extract_parameters(fmt, line), expected)

    def test_st2_cases(self):
        self.check("", "", {})
        self.check("", "a=foobar1", {"a": "foobar1"})
        self.check("foo", 'foo a="foobar2 poonies bar"', {"a": "foobar2 poonies bar"})
        self.check("foo", "foo a='foobar2 poonies bar'", {"a": "foobar2 poonies bar"})
        self.check("foo", 'foo a={"foobar2": "poonies"}', {"a": '{"foobar2": "poonies"}'})
        self.check("{{ captain }} is my captain",
                   'Malcolm Reynolds is my captain weirdo="River Tam"',
                   {"captain": "Malcolm Reynolds", "weirdo": "River Tam"})
        self.check("skip {{a}} more skip {{b}} and skip more.",
                   'skip "a1 a2" more skip b1 and skip more.', {"a": "a1 a2", "b": "b1"})
        self.check("acl {{a}} {{b}} {{c}} {{d=1}}", 'acl "a1 a2" "b1" "c1"',
                   {"a": "a1 a2", "b": "b1", "c": "c1", "d": "1"})
        self.check("acl {{a=test}}", "acl", {"a": "test"})
        self.check("skip {{a}} more skip {{b}}.", 'skip {"a": "b", "c": "d"} more skip x.',
                   {"a": '{"a": "b", "c": "d"}', "b": "x"})
        self.check("s {{a}} more {{ b }} more {{ c=99 }} more {{ d = 99 }}",
                   "s one more two more three more",
                   {"a": "one", "b": "two", "c": "three", "d": "99"})
        self.check("skip {{ a = value }} more", "skip more", {"a": "value"})
        self.check("two by two hands of {{ color = {{ colors.default_color }} }}",
                   "two by two hands of", {"color": "{{ colors.default_color }}"})
        self.check("testing {{ a=new }}", 'testing b="another value"',
                   {"a": "new", "b": "another value"})

    def test_no_match_is_st2s_parse_exception(self):
        with self.assertRaises(ParseException) as c:
            extract_parameters("asg status {{ name }}", "asg stats web")
        self.assertEqual(str(c.exception), 'Command "asg stats web" doesn\'t match format '
                                           'string "asg status {{ name }}"')

    def test_an_anchored_format_is_left_as_it_is(self):
        # search_regex_tokens finds the format's own ^ / $ (inside a group
        # too) and adds none; st2 pads the line with a space each side, so
        # an anchor must allow for it (st2's test_regex_beginning_anchors)
        self.check(r"(?:^\s*asg|^\s*as) list\s*$", "as list", {})
        for line in ("say asg list", "asg list"):
            with self.assertRaises(ParseException):
                extract_parameters("^asg list$", line)


class AliasTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="as-alias-")
        self.config = {"compute_provider": "local", "local_dir": os.path.join(self.dir, "local"),
                       "local_grace_ms": 300}
        self.env = {"AUTOSCALE_DB": os.path.join(self.dir, "db"),
                    "XDG_STATE_HOME": os.path.join(self.dir, "state")}
        self.pack = st2lite.Pack(ROOT, self.config)
        self.runner = st2lite.Runner(self.pack, self.env)
        self.chat = Aliases(self.runner)

    def tearDown(self):
        # nodes are real local processes: take every group down first
        if os.path.exists(self.env["AUTOSCALE_DB"]):
            for g in self.store().get("groups", []):
                self.runner.run("autoscale.lease_release", {"name": g["name"]})
                self.runner.run("autoscale.asg_delete", {"name": g["name"]})
        shutil.rmtree(self.dir, ignore_errors=True)

    def params(self, line):
        alias, params = self.chat.parameters(line)
        return alias["name"], params

    def say(self, line):
        """The reply to a line that ran and succeeded; its result message
        without the blank line the template's last tag leaves (Slack shows
        none)."""
        reply = self.chat.execute(line)
        self.assertIsNone(reply.error, line)
        self.assertTrue(reply.execution.succeeded, (line, reply.execution.result))
        reply.result = reply.result.rstrip("\n")
        return reply

    def group(self, name="web"):
        self.say(f"asg create {name} min 0 max 3")

    def store(self):
        ex = self.runner.run("autoscale.asg_list")
        return ex.result["stdout"]

    # ---- matching and extraction ----
    def test_every_alias_of_the_pack_is_registered(self):
        self.assertEqual(sorted(self.chat.aliases), [
            "asg_alert", "asg_create", "asg_delete", "asg_history", "asg_list", "asg_pause",
            "asg_protect", "asg_recover", "asg_refresh", "asg_refresh_cancel", "asg_resize",
            "asg_resume", "asg_scale", "asg_status", "asg_unprotect", "asg_why"])

    def test_lines_and_the_parameters_st2_extracts(self):
        cases = {
            "asg list": ("asg_list", {}),
            "asg ls": ("asg_list", {}),
            "  asg list  ": ("asg_list", {}),
            "asg status web": ("asg_status", {"name": "web", "events": 5}),
            "asg status web 20": ("asg_status", {"name": "web", "events": 20}),
            'asg status "web"': ("asg_status", {"name": "web", "events": 5}),
            "asg status 'web' 1": ("asg_status", {"name": "web", "events": 1}),
            "asg why web": ("asg_why", {"name": "web", "act": False}),
            "asg why web lease_ttl=120": ("asg_why", {"name": "web", "act": False,
                                                      "lease_ttl": 120}),
            "asg scale web to 4": ("asg_scale", {"name": "web", "desired": 4}),
            "asg scale web to -1": ("asg_scale", {"name": "web", "desired": -1}),
            "asg create web min 0 max 3": ("asg_create", {"name": "web", "min": 0, "max": 3}),
            'asg create web min 1 max 5 flavor="m1 small" alert_match=cpu,web':
                ("asg_create", {"name": "web", "min": 1, "max": 5, "flavor": "m1 small",
                                "alert_match": "cpu,web"}),
            'asg create api min 0 max 2 settings={"openstack_region": "two"}':
                ("asg_create", {"name": "api", "min": 0, "max": 2,
                                "settings": {"openstack_region": "two"}}),
            "asg delete web confirm web": ("asg_delete", {"name": "web"}),
            'asg delete "web" confirm web concurrency=2': ("asg_delete", {"name": "web",
                                                                          "concurrency": 2}),
            "asg alert web": ("asg_alert", {"asg": "web", "source": "generic", "body":
                              '{"state": "open", "severity": "critical", "id": "chatops"}'}),
            "asg recover web": ("asg_recover", {"asg": "web", "source": "generic", "body":
                                '{"state": "closed", "severity": "critical", "id": "chatops"}'}),
            # the forced resize: "force" at the end is never the plain scale's
            "asg scale web to 4 force": ("asg_resize", {"name": "web", "size": 4, "force": True}),
            "asg scale web to 4 force  ": ("asg_resize", {"name": "web", "size": 4,
                                                          "force": True}),
            'asg scale "web" to "0" force': ("asg_resize", {"name": "web", "size": 0,
                                                            "force": True}),
            "asg pause web": ("asg_pause", {"name": "web", "processes": "all"}),
            "asg pause web scale_in": ("asg_pause", {"name": "web", "processes": "scale_in"}),
            "asg pause web scale_out,replace": ("asg_pause", {"name": "web",
                                                              "processes": "scale_out,replace"}),
            "asg pause web processes=replace": ("asg_pause", {"name": "web",
                                                              "processes": "replace"}),
            "asg resume web": ("asg_resume", {"name": "web", "processes": "all"}),
            "asg resume web replace": ("asg_resume", {"name": "web", "processes": "replace"}),
            "asg protect web web-0a1b2c3d": ("asg_protect", {"name": "web", "node": "web-0a1b2c3d",
                                                             "reason": "protected from chat"}),
            "asg protect web web-0a1b2c3d debugging a memory leak":
                ("asg_protect", {"name": "web", "node": "web-0a1b2c3d",
                                 "reason": "debugging a memory leak"}),
            'asg protect web web-0a1b2c3d "INC-42: do not touch"':
                ("asg_protect", {"name": "web", "node": "web-0a1b2c3d",
                                 "reason": "INC-42: do not touch"}),
            'asg protect web web-0a1b2c3d reason="heap dump running"':
                ("asg_protect", {"name": "web", "node": "web-0a1b2c3d",
                                 "reason": "heap dump running"}),
            "asg unprotect web web-0a1b2c3d": ("asg_unprotect", {"name": "web",
                                                                 "node": "web-0a1b2c3d",
                                                                 "unprotect": True}),
            "asg history web": ("asg_history", {"name": "web", "limit": 10}),
            "asg history web 50": ("asg_history", {"name": "web", "limit": 50}),
            "asg history web kind=replace since=2026-12-07T17:00:00Z":
                ("asg_history", {"name": "web", "limit": 10, "kind": "replace",
                                 "since": "2026-12-07T17:00:00Z"}),
            "asg history web 5 kind=decision": ("asg_history", {"name": "web", "limit": 5,
                                                                "kind": "decision"}),
        }
        for line, expected in cases.items():
            with self.subTest(line=line):
                self.assertEqual(self.params(line), expected)

    def test_lines_that_match_no_alias(self):
        for line in ("asg", "asg lists", "list asg", "asg status", "asg why",
                     "asg scale web 4", "asg scale web to", "asg create web", "please asg list",
                     "asg delete web", "asg delete web confirm api",
                     "asg delete web confirm webx", "asg delete web confirm 'web'",
                     'asg delete "web confirm web"', "asg pause", "asg resume",
                     "asg protect web", "asg unprotect web", "asg history", "asg scale web force",
                     "asg force web to 4", "pause asg web"):
            with self.subTest(line=line):
                with self.assertRaises(ActionAliasAmbiguityException) as c:
                    self.chat.match(line)
                self.assertEqual(str(c.exception), "Command '%s' matched no patterns" % line)

    def test_an_ambiguous_line_is_refused(self):
        path = os.path.join(self.dir, "asg_peek.yaml")
        with open(path, "w") as f:
            yaml.safe_dump({"name": "asg_peek", "pack": "autoscale",
                            "action_ref": "autoscale.asg_get",
                            "formats": ["asg {{ verb }} {{ name }}"]}, f)
        self.chat.aliases["asg_peek"] = self.chat.register(path)
        reply = self.chat.execute("asg status web")
        self.assertEqual(reply.error, "Command 'asg status web' matched more than 1 pattern")
        self.assertIsNone(reply.execution)
        self.assertEqual(self.runner.log, [])
        # disabled, it takes no part in matching
        self.chat.aliases["asg_peek"]["enabled"] = False
        self.assertEqual(self.chat.match("asg status web")["alias"]["name"], "asg_status")

    def test_an_immutable_parameter_cannot_be_given_in_chat(self):
        reply = self.chat.execute("asg why web act=true")
        self.assertEqual(reply.error, "Immutable arguments cannot be overriden: act")
        self.assertEqual(self.runner.log, [])

    # ---- refused before anything runs ----
    def test_injection_in_a_name_is_refused_by_the_actions_schema(self):
        self.group()
        before = self.store()
        for line in ("asg status web;id", "asg scale web;rm -rf / to 2",
                     "asg status web\nid", "asg why $(id)", 'asg status "web id"',
                     "asg scale ../web to 2", "asg why web;id", "asg pause web;id",
                     "asg resume web all;id", "asg protect web web-1;id",
                     "asg protect web;id web-1",
                     "asg unprotect web $(id)", "asg scale web`id` to 2 force",
                     "asg history web;id"):
            with self.subTest(line=line):
                runs = len(self.runner.log)
                reply = self.chat.execute(line)
                self.assertIsNotNone(reply.error, line)
                self.assertIn("does not match", reply.error)
                self.assertEqual(reply.execution.status, "failed")
                self.assertEqual(len(self.runner.log), runs + 1)  # refused, never ran
                self.assertIsNone(reply.execution.started)
        self.assertEqual(self.store(), before)

    def test_injection_in_an_alerts_group_is_refused_by_the_action(self):
        # alert_event's asg has no pattern (a rule passes what a monitor
        # sent); the action refuses the name itself and records nothing
        self.group()
        before = self.store()
        reply = self.chat.execute("asg alert web`id`")
        self.assertIsNone(reply.error)
        self.assertEqual(reply.execution.status, "failed")
        self.assertTrue(reply.result.startswith(":x: asg alert failed: "), reply.result)
        self.assertEqual(self.store(), before)

    def test_a_name_ending_in_a_newline_passes_the_schema_and_the_action_refuses_it(self):
        # the schema's ^...$ is re.search's (jsonschema's, as in st2): $
        # matches before a final newline, so "web\n" passes it (packlint
        # notes the same of node names); the C's own check refuses it
        self.group()
        before = self.store()
        self.assertEqual(self.chat.parameters("asg scale web\n to 2")[1],
                         {"name": "web\n", "desired": 2})
        reply = self.chat.execute("asg scale web\n to 2")
        self.assertEqual(reply.execution.status, "failed")
        self.assertEqual(reply.execution.result["stdout"]["error"]["code"], "invalid_name")
        self.assertEqual(self.store(), before)

    def test_a_nested_json_extra_is_cut_at_its_first_brace_as_st2_cuts_it(self):
        # the pairs snippet's {.+?} is lazy: st2 extracts '{"local": {"a": 5}'
        with self.assertRaises(ValueError) as c:
            self.chat.parameters('asg create api min 0 max 2 settings={"local": {"a": 5}}')
        self.assertTrue(str(c.exception).startswith(
            'Failed to cast value "{"local": {"a": 5}" (type: str) for parameter "settings"'),
            str(c.exception))

    def test_a_value_that_does_not_cast_is_refused(self):
        reply = self.chat.execute("asg scale web to two")
        self.assertTrue(reply.error.startswith('Failed to cast value "two" (type: str) for '
                                               'parameter "desired" of type "integer"'),
                        reply.error)
        self.assertEqual(self.runner.log, [])

    def test_force_alone_is_the_plain_scales_size_and_refused(self):
        # "to force" has no size before the word, so only asg_scale
        # matches, and its size does not cast
        self.assertEqual(self.chat.match("asg scale web to force")["alias"]["name"], "asg_scale")
        reply = self.chat.execute("asg scale web to force")
        self.assertTrue(reply.error.startswith('Failed to cast value "force"'), reply.error)
        self.assertEqual(self.runner.log, [])

    def test_a_value_out_of_range_is_refused(self):
        self.group()
        reply = self.chat.execute("asg scale web to 5000")
        self.assertIn("5000 is greater than the maximum of 1000", reply.error)
        self.assertEqual(self.store()["groups"][0]["max"], 3)

    # ---- run through ----
    def test_list_status_why_scale_on_the_store(self):
        self.assertEqual(self.say("asg list").result, "No autoscaling groups.")
        reply = self.say("asg create web min 0 max 3")
        self.assertRegex(reply.ack, r"^creating group `web` \(min 0, max 3\), execution "
                                    r"[0-9a-f]{24}$")
        self.assertEqual(reply.result, ":white_check_mark: group `web` created; "
                                       "0 node(s) added")
        self.assertEqual(self.say("asg list").result,
                         "*1 group(s)*\n• `web` active: 0 in service of 0..3")
        self.assertRegex(self.say("asg status web").result,
                         r"^\*web\* \(active\): 0 in service, min 0, max 3\nnodes: none\n"
                         r"alert: none\nlast decision \(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\): "
                         r"\*none\* \[rest\]: no alert and capacity 0 is at min 0: resting$")
        self.assertEqual(self.say("asg why web").result,
                         "*web*: none: no alert and capacity 0 is at min 0: resting")
        self.assertEqual(self.say("asg scale web to 2").result,
                         ":white_check_mark: `web` desired size 2 (min 0, max 3)")
        self.assertEqual(self.say("asg scale web to 2").result, "`web` unchanged")
        self.assertEqual(self.say("asg scale web to -1").result,
                         ":white_check_mark: `web` desired size cleared (min 0, max 3)")

    def test_simulated_alert_opens_and_closes_an_incident_and_why_shows_it(self):
        self.group()
        self.assertEqual(self.say("asg alert web").result,
                         ":rotating_light: `web` alert chatops critical: opened")
        self.assertEqual(self.say("asg alert web").result,
                         ":rotating_light: `web` alert chatops critical: duplicate")
        why = self.say("asg why web").result
        self.assertTrue(why.startswith("*web*: scale_out 3 (capacity 0 -> 3): critical alert"),
                        why)
        # a dry run: no lease taken, nothing in flight
        self.assertFalse(self.store()["groups"][0]["busy"])
        self.assertIn(":rotating_light: in alert", self.say("asg list").result)
        self.assertEqual(self.say("asg recover web").result,
                         ":white_check_mark: `web` alert chatops: closed")

    def test_delete_needs_the_name_twice_and_a_wrong_confirm_changes_nothing(self):
        self.group()
        self.group("api")
        before = self.store()
        for line in ("asg delete web confirm api", "asg delete web", "asg delete web confirm"):
            reply = self.chat.execute(line)
            self.assertEqual(reply.error, "Command '%s' matched no patterns" % line)
        self.assertEqual(self.store(), before)
        self.assertNotIn("autoscale.asg_delete", [e.ref for e in self.runner.log])
        reply = self.say("asg delete web confirm web")
        self.assertRegex(reply.ack, r"^deleting group `web`, execution [0-9a-f]{24}$")
        self.assertEqual(reply.result, ":wastebasket: group `web` deleted; 0 node(s) removed")
        self.assertEqual([g["name"] for g in self.store()["groups"]], ["api"])

    def test_an_ack_naming_nothing_renders_st2s_message(self):
        path = os.path.join(self.dir, "asg_peek.yaml")
        with open(path, "w") as f:
            yaml.safe_dump({"name": "asg_peek", "pack": "autoscale",
                            "action_ref": "autoscale.asg_list", "formats": ["asg peek"],
                            "ack": {"format": "{{ execution.nope.id }}"},
                            "result": {"format": "{{ execution.nope }}{{ alias.name }}"}}, f)
        self.chat.aliases["asg_peek"] = self.chat.register(path)
        reply = self.chat.execute("asg peek")
        self.assertEqual(reply.ack, 'Cannot render "format" in field "ack" for alias. '
                                    "'dict object' has no attribute 'nope'")
        self.assertEqual(reply.result, "asg_peek")  # allow_undefined: renders empty

    def test_pause_and_resume_each_process(self):
        self.group()
        self.assertEqual(self.say("asg pause web").result,
                         ":double_vertical_bar: `web` paused: scale_out, scale_in, replace "
                         "(asg resume web to undo)")
        self.assertEqual(self.say("asg pause web scale_out").result,
                         ":double_vertical_bar: `web` already paused: scale_out, scale_in, "
                         "replace (asg resume web to undo)")
        # paused, an alert scales nothing
        self.say("asg alert web")
        why = self.say("asg why web").result
        self.assertTrue(why.startswith("*web*: none: "), why)
        self.assertIn("suspend", why)
        self.assertIn("\n:double_vertical_bar: paused: scale_out, scale_in, replace\n",
                      self.say("asg status web").result)
        self.assertEqual(self.say("asg resume web scale_in").result,
                         ":arrow_forward: `web` resumed; still paused: scale_out, replace")
        self.assertEqual(self.say("asg resume web").result,
                         ":arrow_forward: `web` resumed; the governor runs every process")
        self.assertEqual(self.say("asg resume web").result,
                         ":arrow_forward: `web` was not paused; the governor runs every process")
        self.assertTrue(self.say("asg why web").result.startswith("*web*: scale_out 3"))
        self.assertEqual(self.say("asg pause web scale_in,replace").result,
                         ":double_vertical_bar: `web` paused: scale_in, replace "
                         "(asg resume web to undo)")

    def test_pause_refuses_a_process_it_does_not_know(self):
        self.group()
        reply = self.chat.execute("asg pause web scale_sideways")
        self.assertIn("does not match", reply.error)
        self.assertIsNone(reply.execution.started)
        self.assertEqual(self.store()["groups"][0]["name"], "web")

    def test_protect_and_unprotect_a_node(self):
        self.say("asg create web min 1 max 3")
        [node] = self.runner.run("autoscale.node_list", {"name": "web"}).result["stdout"]["nodes"]
        node = node["name"]
        self.assertEqual(self.say(f"asg protect web {node} debugging a memory leak").result,
                         f":lock: `{node}` of `web` protected from scale-in: "
                         "debugging a memory leak")
        self.assertIn(f"\nnodes: `{node}` active :lock:\n", self.say("asg status web").result)
        self.assertEqual(self.say(f'asg protect web {node} reason="debugging a memory leak"')
                         .result, f":lock: `{node}` of `web` already protected: "
                                  "debugging a memory leak")
        self.assertEqual(self.say(f"asg protect web {node}").result,
                         f":lock: `{node}` of `web` protected from scale-in: protected from chat")
        self.assertEqual(self.say(f"asg unprotect web {node}").result,
                         f":unlock: `{node}` of `web` no longer protected: scale-in may choose it")
        self.assertEqual(self.say(f"asg unprotect web {node}").result,
                         f":unlock: `{node}` of `web` was not protected: scale-in may choose it")
        self.assertIn(f"\nnodes: `{node}` active\n", self.say("asg status web").result)
        reply = self.chat.execute("asg protect web web-00000000")
        self.assertEqual(reply.execution.status, "failed")
        self.assertTrue(reply.result.startswith(":x: asg protect failed: "), reply.result)

    def test_status_marks_an_unhealthy_node(self):
        import json
        import sqlite3
        import time
        self.say("asg create web min 1 max 3")
        [node] = self.runner.run("autoscale.node_list", {"name": "web"}).result["stdout"]["nodes"]
        node = node["name"]
        now = int(time.time())
        with sqlite3.connect(self.env["AUTOSCALE_DB"]) as db:  # as health_check writes it
            db.execute("INSERT INTO kv(name, value) VALUES (?, ?)", (
                f"autoscale.health.web.{node}", json.dumps({
                    "node": node, "group": "web", "status": "unhealthy", "failures": 3,
                    "checked_at": now, "since": now, "reason": "lb: DOWN", "checks": {}})))
        self.assertIn(f"\nnodes: `{node}` active :warning: unhealthy\n",
                      self.say("asg status web").result)

    def test_forced_resize_is_the_governors_next_move(self):
        self.group()
        self.assertEqual(self.say("asg scale web to 2 force").result,
                         ":fast_forward: `web` forced to 2: the governor skips cooldowns once "
                         "to get there")
        why = self.say("asg why web").result
        self.assertTrue(why.startswith("*web*: scale_out 2 (capacity 0 -> 2): forced"), why)
        self.assertEqual(self.say("asg scale web to 3 force").result,
                         ":fast_forward: `web` forced to 3 (desired was 2): the governor skips "
                         "cooldowns once to get there")
        reply = self.chat.execute("asg scale web to 9 force")
        self.assertEqual(reply.execution.status, "failed")
        self.assertEqual(reply.result.strip(), ":x: asg scale force failed: desired (9) must lie "
                                               "between min (0) and max (3)")

    def test_history_says_what_the_governor_decided_and_why(self):
        self.group()  # asg create's own governor tick is the first decision
        self.assertRegex(self.say("asg history web").result,
                         r"^\*web\*: the latest 1 of 1\n• `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ` "
                         r"decided \*none\* \[\w+\], capacity 0: no alert and capacity 0 is at "
                         r"min 0: resting$")
        self.assertEqual(self.say("asg history web kind=event").result,
                         "Nothing in `web`'s history matches.")
        ex = self.runner.run("autoscale.asg_define", {"name": "api", "min": 0, "max": 2})
        self.assertTrue(ex.succeeded, ex.result)  # defined, never ticked
        self.assertEqual(self.say("asg history api").result, "No history for `api` yet.")
        reply = self.chat.execute("asg history web kind=sideways")
        self.assertIn("is not one of", reply.error)
        self.say("asg alert web")
        self.runner.run("autoscale.governor_tick", {"act": True})
        lines = self.say("asg history web 1").result.split("\n")
        self.assertEqual(lines[0], "*web*: the latest 1 of 2")
        self.assertRegex(lines[1], r"decided \*scale_out\* 3 \[\w+\], capacity 0 -> 3: "
                                   r"critical alert")

    def test_a_failing_action_reads_as_a_failure(self):
        reply = self.chat.execute("asg status nope")
        self.assertIsNone(reply.error)
        self.assertEqual(reply.execution.status, "failed")
        self.assertEqual(reply.result.strip(), ":x: asg status failed: no group named 'nope'")
        reply = self.chat.execute("asg scale nope to 2")
        self.assertEqual(reply.result.strip(), ":x: asg scale failed: no group named 'nope'")


class RegistrationTest(unittest.TestCase):
    """What st2's registration (aliasesregistrar.py, ActionAliasAPI) and
    alias execution refuse."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="as-alias-reg-")
        self.chat = Aliases(st2lite.Runner(st2lite.Pack(ROOT, {})))

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def alias(self, **changes):
        doc = {"name": "x", "pack": "autoscale", "action_ref": "autoscale.asg_get",
               "formats": ["peek {{ name }}"]}
        doc.update(changes)
        doc = {k: v for k, v in doc.items() if v is not None}
        path = os.path.join(self.dir, "x.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(doc, f)
        return self.chat.register(path)

    def test_a_good_alias_gets_st2s_defaults(self):
        alias = self.alias()
        self.assertIs(alias["enabled"], True)
        self.assertIsNone(alias["description"])

    def test_unknown_key_refused(self):
        with self.assertRaises(S.ValidationError) as c:
            self.alias(parameters={})
        self.assertIn("Additional properties are not allowed ('parameters' was unexpected)",
                      str(c.exception))

    def test_missing_action_ref_refused(self):
        with self.assertRaises(S.ValidationError) as c:
            self.alias(action_ref=None)
        self.assertIn("'action_ref' is a required property", str(c.exception))

    def test_bad_format_and_ack_refused(self):
        with self.assertRaises(S.ValidationError):
            self.alias(formats=[{"display": "x", "representation": "peek {{ name }}"}])
        with self.assertRaises(S.ValidationError):
            self.alias(ack={"enabled": "yes"})

    def test_another_packs_alias_refused(self):
        with self.assertRaises(ValueError) as c:
            self.alias(pack="chatops")
        self.assertEqual(str(c.exception), 'Model is in pack "autoscale" but field "pack" is '
                                           'different: chatops')

    def test_missing_action_fails_the_execution(self):
        # st2 registers it; each execution is refused (404)
        self.chat.aliases = {"x": self.alias(action_ref="autoscale.nope")}
        reply = self.chat.execute("peek web")
        self.assertEqual(reply.error, 'Action with ref "autoscale.nope" not found ')
        self.assertEqual(self.chat.runner.log, [])


if __name__ == "__main__":
    unittest.main()
