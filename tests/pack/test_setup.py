"""autoscale.setup (actions/setup.sh): the action st2 runs after
`st2 pack install` to build the binaries. It must name a missing tool or
library, print exactly one JSON document, and build a clean copy."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SETUP = os.path.join(ROOT, "actions", "setup.sh")


def run(args=(), env=None, cwd=None, script=SETUP):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(["/bin/sh", script] + list(args), env=e, cwd=cwd or "/",
                       capture_output=True, timeout=600, check=False)
    return p.returncode, json.loads(p.stdout.decode()), p.stderr.decode()


class SetupTest(unittest.TestCase):
    def test_missing_compiler_is_named(self):
        bindir = tempfile.mkdtemp()
        try:  # a PATH with everything but cc
            for tool in ("make", "pkg-config", "ar", "sed", "grep", "tr", "ls", "paste"):
                path = shutil.which(tool)
                if path:
                    os.symlink(path, os.path.join(bindir, tool))
            rc, doc, _ = run(env={"PATH": bindir})
        finally:
            shutil.rmtree(bindir)
        self.assertEqual(rc, 2)
        self.assertEqual(doc["error"]["code"], "missing_tool")
        self.assertIn("cc", doc["error"]["message"])
        self.assertIn("apt-get install", doc["error"]["message"])

    def test_missing_library_is_named(self):
        rc, doc, _ = run(env={"PKG_CONFIG_LIBDIR": "/nonexistent", "PKG_CONFIG_PATH": ""})
        self.assertEqual(rc, 2)
        self.assertEqual(doc["error"]["code"], "missing_library")
        for lib in ("libcurl", "json-c", "sqlite3"):
            self.assertIn(lib, doc["error"]["message"])

    def test_unknown_parameter(self):
        rc, doc, _ = run(["--bogus=1"])
        self.assertEqual(rc, 2)
        self.assertEqual(doc["error"]["code"], "unknown_parameter")

    @unittest.skipIf("asan" in os.environ.get("AUTOSCALE_BIN_DIR", ""),
                     "the build is the same in both passes: run it once")
    def test_builds_a_fresh_copy(self):
        """As after `st2 pack install`: the tracked files, nothing built."""
        work = tempfile.mkdtemp()
        try:
            files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True,
                                   check=True).stdout.decode().split("\n")
            for f in filter(None, files):
                dst = os.path.join(work, f)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copy2(os.path.join(ROOT, f), dst)
            rc, doc, err = run(script=os.path.join(work, "actions", "setup.sh"),
                               env={"MAKEFLAGS": ""})
            self.assertEqual(rc, 0, err[-2000:])
            self.assertEqual(doc["pack_dir"], work)
            self.assertIn("asg_get", doc["built"])
            out = subprocess.run([os.path.join(work, "actions", "bin", "asg_list")],
                                 env=dict(os.environ, AUTOSCALE_DB=os.path.join(work, "t.db")),
                                 capture_output=True, check=False)
            self.assertEqual(out.returncode, 0)
            self.assertEqual(json.loads(out.stdout)["count"], 0)
        finally:
            shutil.rmtree(work)


if __name__ == "__main__":
    unittest.main()
