"""Every C action answers --help with every parameter its YAML declares and
that parameter's description, and --version with pack.yaml's version; the
descriptions compiled in (actions/runner/help_text.c) are those of the YAML today; the
actions are links to the one multi-call binary, whose name picks the action.
Run: AUTOSCALE_BIN_DIR=$PWD/actions/bin python3 -m unittest tests/pack/test_help.py"""
import glob
import json
import os
import subprocess
import tempfile
import unittest

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("AUTOSCALE_BIN_DIR") or os.path.join(ROOT, "actions", "bin")
PY = "/usr/bin/python3"
MULTI = ("autoscale", "autoscale_chef")


def c_actions():
    """(name, YAML document) of every action st2 runs as bin/<name>."""
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "actions", "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        if str(doc.get("entry_point", "")).startswith("bin/"):
            out.append((doc["name"], doc))
    return out


def own_params(doc):
    """The action's parameters; an entry with only default/immutable sets a
    runner parameter (env), which is not the action's."""
    return {k: v for k, v in (doc.get("parameters") or {}).items()
            if isinstance(v, dict) and not set(v) <= {"default", "immutable"}}


def words(text):
    return " ".join(str(text).split())


def run(argv, env=None):
    # Nothing of st2's or of a person's datastore choice leaks in.
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("ST2_", "AUTOSCALE_"))}
    base.update(env or {})
    return subprocess.run(argv, capture_output=True, text=True, env=base, timeout=30,
                          stdin=subprocess.DEVNULL)


def pack_version():
    with open(os.path.join(ROOT, "pack.yaml"), encoding="utf-8") as f:
        return str(yaml.safe_load(f)["version"])


class HelpTest(unittest.TestCase):
    def test_compiled_descriptions_are_those_of_the_yaml(self):
        r = run([PY, os.path.join(ROOT, "tools", "gen_help.py"), "--check", ROOT])
        self.assertEqual(r.returncode, 0, r.stderr + "(run: python3 tools/gen_help.py)")

    def test_every_parameter_with_its_description(self):
        actions = c_actions()
        self.assertGreater(len(actions), 20)
        for name, doc in actions:
            with self.subTest(action=name):
                r = run([os.path.join(BIN, name), "--help"])
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertRegex(r.stdout, rf"^usage: {name}\b", r.stdout[:80])
                text = words(r.stdout)
                self.assertIn(words(doc["description"]), text)
                for pname, p in own_params(doc).items():
                    form = f"<{pname}>" if "position" in p else f"--{pname}"
                    self.assertRegex(r.stdout, rf"(?m)^  {form}(=[A-Z_0-9]+)?$", pname)
                    self.assertIn(words(p["description"]), text, pname)
                    if p.get("required") and "default" not in p:
                        block = r.stdout.split(f"\n  {form}", 1)[1].split("\n  -", 1)[0]
                        self.assertIn("required", block.split(")\n", 1)[0], pname)

    def test_help_runs_nothing(self):
        """--help with every required parameter missing and a datastore named:
        help on stdout, exit 0, and no store made."""
        with tempfile.TemporaryDirectory() as d:
            db = os.path.join(d, "store.db")
            r = run([os.path.join(BIN, "asg_define"), "--name=web", "--help"],
                    {"AUTOSCALE_DB": db})
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("--compute_provider=COMPUTE_PROVIDER", r.stdout)
            self.assertFalse(os.path.exists(db))

    def test_secret_parameter_says_where_it_comes_from(self):
        r = run([os.path.join(BIN, "dns_register"), "--help"])
        self.assertEqual(r.returncode, 0)
        block = r.stdout.split("\n  --powerdns_api_key=", 1)[1].split("\n  -", 1)[0]
        self.assertIn("secret, or from $AUTOSCALE_SECRET_POWERDNS_API_KEY", block)

    def test_version_is_the_pack_version(self):
        want = f"autoscale {pack_version()}\n"
        for name, _ in c_actions():
            r = run([os.path.join(BIN, name), "--version"])
            self.assertEqual((r.returncode, r.stdout), (0, want), name)
        for binary in MULTI:
            r = run([os.path.join(BIN, binary), "--version"])
            self.assertEqual((r.returncode, r.stdout), (0, want), binary)

    def test_actions_are_links_to_the_multicall_binaries(self):
        """chef_* apart (libssh and OpenSSL), every other action in one."""
        for name, _ in c_actions():
            path = os.path.join(BIN, name)
            self.assertTrue(os.path.islink(path), name)
            want = "autoscale_chef" if name.startswith("chef_") else "autoscale"
            self.assertEqual(os.readlink(path), want, name)

    def test_overview_lists_every_action(self):
        listed = ""
        for binary in MULTI:
            r = run([os.path.join(BIN, binary), "--help"])
            self.assertEqual(r.returncode, 0)
            listed += r.stdout
        for name, _ in c_actions():
            self.assertRegex(listed, rf"(?m)^  {name} ", name)
        r = run([os.path.join(BIN, "autoscale")])
        self.assertEqual((r.returncode, r.stdout), (2, ""))
        self.assertIn("usage: autoscale", r.stderr)

    def test_action_as_first_argument_is_the_action(self):
        """`autoscale asg_list` is asg_list: same JSON, and the same refusal
        of a bad parameter as through the link."""
        with tempfile.TemporaryDirectory() as d:
            env = {"AUTOSCALE_DB": os.path.join(d, "s.db")}
            r = run([os.path.join(BIN, "autoscale"), "asg_list"], env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(json.loads(r.stdout), {"count": 0, "groups": []})
            a = run([os.path.join(BIN, "autoscale"), "node_pick", "--name=web", "--count=1001"], env)
            b = run([os.path.join(BIN, "node_pick"), "--name=web", "--count=1001"], env)
            self.assertEqual((a.returncode, a.stdout), (b.returncode, b.stdout))
            self.assertEqual(json.loads(a.stdout)["error"]["code"], "invalid_parameter")

    def test_link_of_an_unknown_name_keeps_the_output_contract(self):
        with tempfile.TemporaryDirectory() as d:
            link = os.path.join(d, "no_such_action")
            os.symlink(os.path.join(os.path.abspath(BIN), "autoscale"), link)
            r = run([link, "--name=web"])
            self.assertEqual(r.returncode, 2)
            self.assertEqual(json.loads(r.stdout)["error"]["code"], "unknown_action")


if __name__ == "__main__":
    unittest.main()
