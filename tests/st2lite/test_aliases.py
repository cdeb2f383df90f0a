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
            "asg_alert", "asg_create", "asg_delete", "asg_list", "asg_recover", "asg_scale", "asg_status",
            "asg_why"])

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
        }
        for line, expected in cases.items():
            with self.subTest(line=line):
                self.assertEqual(self.params(line), expected)

    def test_lines_that_match_no_alias(self):
        for line in ("asg", "asg lists", "list asg", "asg status", "asg why",
                     "asg scale web 4", "asg scale web to", "asg create web", "please asg list",
                     "asg delete web", "asg delete web confirm api",
                     "asg delete web confirm webx", "asg delete web confirm 'web'",
                     'asg delete "web confirm web"'):
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
                     "asg scale ../web to 2", "asg why web;id"):
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
        self.assertEqual(self.say("asg status web").result,
                         "*web* (active): 0 in service, min 0, max 3\nnodes: none\n"
                         "alert: none")
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
