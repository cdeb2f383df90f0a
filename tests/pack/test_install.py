"""The pack installed as st2 installs it, then built and used as st2 runs
it (docs/install.md, "How setup builds"):

- a fresh copy of the pack's files, owned root:st2packs and mode 775
  everywhere (st2common/util/pack_management.py: move_pack, then
  apply_pack_owner_group and apply_pack_permissions);
- autoscale.setup requested through tests/st2lite with the system user
  `stanley`, who is not in st2packs, and nothing but what the action's
  metadata says (its `sudo` and `timeout` runner parameters): st2lite then
  runs it as st2's local runner would (`sudo -E -- bash -c` for sudo: true,
  `sudo -E -H -u stanley -- bash -c` otherwise);
- then actions run as stanley from that copy.

Needs root (to own files as root, to switch users), as st2's action runner
has; elsewhere it is skipped with a message, and tests/pack/test_setup.py
builds a fresh copy as the current user instead.
Run: python3 -m unittest tests/pack/test_install.py"""
import grp
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import st2lite  # noqa: E402

USER, GROUP = "stanley", "st2packs"  # st2.conf: [system_user] user, [content] pack_group


def pack_files():
    """What `st2 pack install` would clone once the working tree is
    committed: the tracked files and the new ones git does not ignore
    (never build output)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, capture_output=True, check=True).stdout.decode()
    return sorted(f for f in set(out.split("\0")) if f and os.path.isfile(os.path.join(ROOT, f)))


@unittest.skipIf("asan" in os.environ.get("AUTOSCALE_BIN_DIR", ""),
                 "the build is the same in both passes: run it once")
class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.getuid() != 0:
            raise unittest.SkipTest(
                "installing as st2 does needs root (files owned by root, actions run as "
                "another user): not root, so not tested here; test_setup.py builds a copy")
        cls.created = []
        try:
            grp.getgrnam(GROUP)
        except KeyError:
            subprocess.run(["groupadd", "--system", GROUP], check=True)
            cls.created.append(["groupdel", GROUP])
        try:
            pwd.getpwnam(USER)
        except KeyError:
            # As st2's installer makes it: a home, bash, not in st2packs.
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", USER],
                           check=True)
            cls.created.insert(0, ["userdel", "--remove", USER])
        cls.user = pwd.getpwnam(USER)
        if USER in grp.getgrnam(GROUP).gr_mem:
            cls.tearDownClass()
            raise unittest.SkipTest(f"{USER} is in {GROUP} here: the case st2 leaves is not")

        cls.base = tempfile.mkdtemp(prefix="as-install-")
        os.chmod(cls.base, 0o755)  # /opt/stackstorm/packs is reachable by everyone
        cls.pack = os.path.join(cls.base, "packs", "autoscale")
        for f in pack_files():
            dst = os.path.join(cls.pack, f)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(os.path.join(ROOT, f), dst)
        gid = grp.getgrnam(GROUP).gr_gid
        for dirpath, dirs, files in os.walk(cls.pack):
            for p in [dirpath] + [os.path.join(dirpath, n) for n in files]:
                os.chown(p, 0, gid)
                os.chmod(p, 0o775)
        os.chmod(os.path.join(cls.base, "packs"), 0o755)
        # Where stanley keeps the embedded store in this test (on st2 it is
        # st2's datastore).
        cls.state = os.path.join(cls.base, "state")
        os.mkdir(cls.state)
        os.chown(cls.state, cls.user.pw_uid, cls.user.pw_gid)

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "base", None):
            shutil.rmtree(cls.base, ignore_errors=True)
        for command in getattr(cls, "created", []):
            subprocess.run(command, check=False, capture_output=True)

    def runner(self):
        pack = st2lite.Pack(self.pack, {"compute_provider": "local",
                                        "local_dir": os.path.join(self.state, "local")})
        # MAKEFLAGS: `make test` runs this file; its jobserver is not setup's.
        return st2lite.Runner(pack, {"MAKEFLAGS": "",
                                     "AUTOSCALE_DB": os.path.join(self.state, "store.db")},
                              system_user=USER, default_timeout=60)

    def test_1_without_sudo_stanley_cannot_build_and_says_why(self):
        ex = self.runner().run("autoscale.setup", {"sudo": False})
        self.assertEqual(ex.status, "failed", ex.result)
        err = ex.result["stdout"]["error"]
        self.assertEqual(err["code"], "pack_dir_not_writable")
        self.assertIn("sudo=true", err["message"])
        self.assertFalse(os.path.exists(os.path.join(self.pack, "build")))

    def test_2_setup_as_the_metadata_says_builds_and_actions_run_as_stanley(self):
        r = self.runner()
        meta = r.pack.action("autoscale.setup")
        self.assertIs(meta["parameters"]["sudo"]["default"], True)
        ex = r.run("autoscale.setup")
        self.assertTrue(ex.succeeded, (ex.result or {}).get("stdout") or ex.result)
        self.assertEqual(ex.runner_params["timeout"], meta["parameters"]["timeout"]["default"])
        out = ex.result["stdout"]
        self.assertEqual((out["user"], out["pack_dir"]), ("root", self.pack))
        for name in ("asg_list", "asg_define", "alert_event", "governor_tick"):
            self.assertIn(name, out["built"])
        self.assertFalse(os.path.exists(os.path.join(self.pack, ".setup-running")))
        # Root's build: stanley may run it but not change it.
        binary = os.path.join(self.pack, "actions", "bin", "asg_list")
        st = os.stat(binary)
        self.assertEqual(st.st_uid, 0)
        self.assertEqual(st.st_mode & 0o022, 0)

        ex = r.run("autoscale.asg_define", {"name": "web", "min": 0, "max": 2})
        self.assertTrue(ex.succeeded, ex.result)
        ex = r.run("autoscale.asg_list")
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual([g["name"] for g in ex.result["stdout"]["groups"]], ["web"])
        self.assertEqual(os.stat(os.path.join(self.state, "store.db")).st_uid,
                         self.user.pw_uid, "the action did not run as stanley")
        # The webhook rules' action runs the built alert_event as stanley.
        body = json.dumps({"asg": "web", "state": "open", "severity": "critical", "id": "i1"})
        ex = r.run("autoscale.alert_intake", {"body": body, "source": "generic"})
        self.assertTrue(ex.succeeded, ex.result)
        self.assertEqual(ex.result["stdout"]["events"][0]["change"], "opened")


if __name__ == "__main__":
    unittest.main()
