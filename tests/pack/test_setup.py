"""autoscale.setup (actions/setup.sh): the action st2 runs after
`st2 pack install` to build the binaries. It must name the missing build
packages (and only build packages), print exactly one JSON document, and
build a clean copy. tests/pack/test_install.py runs it as st2 does (root,
st2packs, stanley); here it runs as the current user."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SETUP = os.path.join(ROOT, "actions", "setup.sh")
sys.path.insert(0, HERE)

from test_install import pack_files  # noqa: E402

# Packages only the tests need: a hint for an st2 host must name none.
TEST_ONLY = ("haproxy", "pdns", "openssh-server", "ruby", "cmocka", "microhttpd",
             "clang", "yaql", "libclang-rt")


def run(args=(), env=None, cwd=None, script=SETUP):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(["/bin/sh", script] + list(args), env=e, cwd=cwd or "/",
                       capture_output=True, timeout=600, check=False)
    return p.returncode, json.loads(p.stdout.decode()), p.stderr.decode()


class SetupTest(unittest.TestCase):
    def assert_build_packages_only(self, message):
        for name in TEST_ONLY:
            self.assertNotIn(name, message)

    def test_missing_compiler_is_named(self):
        bindir = tempfile.mkdtemp()
        try:  # a PATH with everything but cc
            for tool in ("sh", "make", "pkg-config", "ar", "sed", "grep", "tr", "ls", "paste",
                         "awk", "dirname", "id", "nproc", "cat", "dpkg-query", "apt-cache",
                         "rpm"):
                path = shutil.which(tool)
                if path:
                    os.symlink(path, os.path.join(bindir, tool))
            rc, doc, _ = run(env={"PATH": bindir})
        finally:
            shutil.rmtree(bindir)
        self.assertEqual(rc, 2)
        self.assertEqual(doc["error"]["code"], "missing_packages")
        message = doc["error"]["message"]
        expected = subprocess.run(["sh", os.path.join(ROOT, "deps", "packages.sh"), "build"],
                                  capture_output=True, text=True, check=True).stdout.split()
        self.assertIn(expected[0], message)  # the compiler's package, for this host
        self.assertIn("install -y", message)
        self.assert_build_packages_only(message)

    def test_missing_library_is_named(self):
        rc, doc, _ = run(env={"PKG_CONFIG_LIBDIR": "/nonexistent", "PKG_CONFIG_PATH": ""})
        self.assertEqual(rc, 2)
        self.assertEqual(doc["error"]["code"], "missing_packages")
        message = doc["error"]["message"]
        for lib in ("libcurl", "json-c", "sqlite3"):
            self.assertIn(lib, message)
        self.assert_build_packages_only(message)

    @unittest.skipIf(os.getuid() == 0, "root may write anywhere")
    def test_a_pack_dir_it_cannot_write_is_refused_before_building(self):
        work = tempfile.mkdtemp()
        try:
            os.makedirs(os.path.join(work, "actions"))
            script = os.path.join(work, "actions", "setup.sh")
            shutil.copy(SETUP, script)
            shutil.copytree(os.path.join(ROOT, "deps"), os.path.join(work, "deps"))
            os.chmod(work, 0o555)
            rc, doc, _ = run(script=script)
        finally:
            os.chmod(work, 0o755)
            shutil.rmtree(work)
        self.assertEqual(rc, 1)
        self.assertEqual(doc["error"]["code"], "pack_dir_not_writable")
        self.assertIn("sudo=true", doc["error"]["message"])

    def test_unknown_parameter(self):
        rc, doc, _ = run(["--bogus=1"])
        self.assertEqual(rc, 2)
        self.assertEqual(doc["error"]["code"], "unknown_parameter")

    @unittest.skipIf("asan" in os.environ.get("AUTOSCALE_BIN_DIR", ""),
                     "the build is the same in both passes: run it once")
    @unittest.skipIf(os.getuid() == 0, "as root, test_install.py builds a copy as st2 does")
    def test_builds_a_fresh_copy(self):
        """As after `st2 pack install`: the pack's files, nothing built."""
        work = tempfile.mkdtemp()
        try:
            for f in pack_files():
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
