"""The README stays true: its parameter table is the one the metadata makes,
every action is in its Actions table, the quick start is the two commands,
and every link to a file in the repository points at one that exists.
Run: python3 -m unittest tests/pack/test_readme.py"""
import glob
import os
import re
import subprocess
import unittest

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        return f.read()


class ReadmeTest(unittest.TestCase):
    def test_parameter_table_matches_the_metadata(self):
        text = readme()
        begin, end = "<!-- action-params:begin -->\n", "<!-- action-params:end -->"
        shown = text[text.index(begin) + len(begin):text.index(end)]
        made = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "action_params.py"),
                               ROOT], capture_output=True, text=True, check=True).stdout
        self.assertEqual(shown, made, "run: python3 tools/action_params.py . and paste it "
                                      "between the action-params markers")

    def test_every_action_is_in_the_actions_table(self):
        section = readme().split("## Actions", 1)[1].split("### Every action", 1)[0]
        for path in glob.glob(os.path.join(ROOT, "actions", "*.yaml")):
            with open(path) as f:
                name = yaml.safe_load(f)["name"]
            self.assertRegex(section, rf"\| `{name}`|/ `{name}`", name)

    def test_quick_start_is_make_demo_then_make_check(self):
        quick = readme().split("## Quick start", 1)[1].split("\n## ", 1)[0]
        block = quick.split("```sh\n", 1)[1].split("```", 1)[0]
        commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
        self.assertEqual(commands, ["make demo", "make check"])

    def test_links_to_repository_files_exist(self):
        for target in re.findall(r"\]\(([^)#:\[\]{}\s]+)(?:#[^)]*)?\)", readme()):
            self.assertTrue(os.path.exists(os.path.join(ROOT, target)), target)


if __name__ == "__main__":
    unittest.main()
