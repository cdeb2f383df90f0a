"""The build itself (Makefile, deps/): the version read from pack.yaml,
-Werror for developers only, release objects without the test headers, quiet
output, the old-library and dynamic-link switches, and the package lists.
Each make runs on a fresh BUILD tree in a temporary directory and compiles at
most lib/core/error.c, so the whole file takes a few seconds."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PACKAGES = os.path.join(ROOT, "deps", "packages.sh")

# What a parent make (make check exports DEVELOPER=1) or the caller's shell
# could pass down and that would change what is measured here.
SCRUB = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES", "DEVELOPER", "V", "CC",
         "CFLAGS", "LDFLAGS", "COMPAT", "STATIC_DEPS", "STATIC_BIN", "BUILD", "SANITIZE",
         "PACK_YAML", "LISTS")


def make(*args, env=None):
    e = {k: v for k, v in os.environ.items() if k not in SCRUB}
    e.update(env or {})
    return subprocess.run(["make", "--no-print-directory", "-C", ROOT] + list(args),
                          env=e, capture_output=True, text=True, timeout=300, check=False)


def packages(*args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(["sh", PACKAGES] + list(args), env=e, capture_output=True,
                       text=True, timeout=60, check=False)
    return p.returncode, p.stdout.strip(), p.stderr


# Each test builds its own tree, whatever the pass: `make check` runs the
# Python tests twice (release, ASan); once is enough.
ONCE = unittest.skipIf("asan" in os.environ.get("AUTOSCALE_BIN_DIR", ""),
                       "independent of the build under test: run in the release pass")


@ONCE
class BuildTreeCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="as-build-")
        self.build = os.path.join(self.tmp, "b")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def obj(self, rel):
        return os.path.join(self.build, rel)


class VersionTest(BuildTreeCase):
    def version(self, text):
        path = os.path.join(self.tmp, "pack.yaml")
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write("---\nname: autoscale\n" + text + "author: x\n")
        return make("-s", "BUILD=" + self.build, "PACK_YAML=" + path, "print-version")

    def test_every_way_yaml_writes_a_version_is_read(self):
        for line in ('version: "1.2.3"\n', "version: '1.2.3'\n", "version: 1.2.3\n",
                     'version:   "1.2.3"   \n', 'version : "1.2.3"\n',
                     'version: "1.2.3"  # bumped by hand\n', 'version: "1.2.3"\r\n',
                     "version:\t1.2.3\n"):
            with self.subTest(line=line):
                p = self.version(line)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(p.stdout.strip(), "1.2.3")

    def test_pre_release_and_build_metadata_are_kept(self):
        p = self.version('version: "1.2.3-rc.1+b5"\n')
        self.assertEqual(p.stdout.strip(), "1.2.3-rc.1+b5", p.stderr)

    def test_only_the_top_level_version_counts(self):
        p = self.version('dependencies:\n  version: "9.9.9"\nversion: "1.2.3"\n')
        self.assertEqual(p.stdout.strip(), "1.2.3", p.stderr)

    def test_no_version_or_a_bad_one_stops_the_build_loudly(self):
        for text in ("", "version:\n", 'version: ""\n', "version: latest\n",
                     'version: "1.2"\n', "  version: 1.2.3\n"):
            with self.subTest(text=text):
                p = self.version(text)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn("pack.yaml has no version", p.stderr)

    def test_the_pack_itself_has_a_version(self):
        p = make("-s", "BUILD=" + self.build, "print-version")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout.strip(), r"^\d+\.\d+\.\d+$")


class FlagsTest(BuildTreeCase):
    def command(self, target, *args):
        """The command make would run for target (dry run, full commands)."""
        p = make("-n", "V=1", "BUILD=" + self.build, *args, self.obj(target))
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = [line for line in p.stdout.splitlines()
                 if " -o " + self.obj(target) in line]
        self.assertEqual(len(lines), 1, p.stdout)
        return lines[0]

    def test_release_objects_never_see_the_test_headers(self):
        for rel in ("lib/core/error.o", "actions/src/asg_define.o", "demo/demo_app.o"):
            with self.subTest(rel=rel):
                cmd = self.command(rel)
                self.assertIn("-c " + rel[:-2] + ".c", cmd)
                self.assertNotIn("tests/", cmd)
        cmd = self.command("tests/unit/core/test_error.o")
        self.assertIn("-Itests/support", cmd)
        self.assertIn("-Itests/fakes", cmd)

    def test_compat_old_selects_the_old_json_c_path_and_nothing_else_takes_it(self):
        self.assertIn("-DAS_COMPAT_JSONC_013", self.command("lib/core/jsonx.o", "COMPAT=old"))
        self.assertNotIn("AS_COMPAT", self.command("lib/core/jsonx.o"))
        p = make("-n", "BUILD=" + self.build, "COMPAT=new", self.obj("lib/core/jsonx.o"))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("COMPAT=new", p.stderr)

    def test_json_c_and_sqlite_link_statically_only_where_the_archives_exist(self):
        def libdir(pkg):
            return subprocess.run(["pkg-config", "--variable=libdir", pkg], capture_output=True,
                                  text=True, check=True).stdout.strip()
        have = all(os.path.exists(os.path.join(libdir(p), "lib%s.a" % p))
                   for p in ("json-c", "sqlite3"))
        static = re.compile(r"-Wl,-Bstatic\s+(-L\S+\s+)*-ljson-c\s+-lsqlite3\s+-Wl,-Bdynamic")
        link = self.command("tests/test_error")
        self.assertEqual(bool(static.search(link)), have, link)
        for args in (("STATIC_DEPS=no",), ("STATIC_DEPS=no", "COMPAT=old")):
            link = self.command("tests/test_error", *args)
            self.assertNotIn("-Bstatic", link)
            self.assertIn("-ljson-c", link)
            self.assertIn("-lsqlite3", link)
        p = make("-n", "BUILD=" + self.build, "STATIC_DEPS=maybe", self.obj("tests/test_error"))
        self.assertNotEqual(p.returncode, 0)


class StaticBinTest(BuildTreeCase):
    """STATIC_BIN: autoscale linked with -static where the archives exist,
    with lib/link's substitutes; never under SANITIZE or with STATIC_BIN=no."""

    def link(self, *args):
        p = make("-n", "V=1", "-B", "BUILD=" + self.build, *args,
                 os.path.join(self.build, "bin", "autoscale"))
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        lines = [l for l in p.stdout.splitlines() if "-o " + self.build + "/bin/autoscale" in l]
        self.assertEqual(len(lines), 1, p.stdout[-2000:])
        return lines[0].split()

    @staticmethod
    def have(name):
        out = subprocess.run(["cc", "-print-file-name=" + name], capture_output=True,
                             text=True, check=False).stdout.strip()
        return os.path.isabs(out)

    def test_static_where_the_archives_exist(self):
        have = all(self.have(a) for a in ("libc.a", "libjson-c.a", "libsqlite3.a", "libyaml.a"))
        words = self.link()
        self.assertEqual("-static" in words, have, words)
        subst = [w for w in words if "/lib/link/" in w]
        if have:
            self.assertEqual(sorted(os.path.basename(w) for w in subst),
                             ["http_libcurl_worker.o", "http_resolve_none.o", "no_dlopen.o"])
            # the substitutes come before the archive, or they replace nothing
            archive = [i for i, w in enumerate(words) if w.endswith("libautoscale.a")][0]
            self.assertTrue(all(words.index(w) < archive for w in subst))
            self.assertIn("-Wl,--wrap=dlopen,--wrap=dlsym,--wrap=dlclose,--wrap=dlerror", words)
        else:
            self.assertEqual(subst, [])

    def test_dynamic_when_asked_and_under_sanitize(self):
        for args in (("STATIC_BIN=no",), ("SANITIZE=1",)):
            with self.subTest(args=args):
                words = self.link(*args)
                self.assertNotIn("-static", words)
                self.assertFalse([w for w in words if "/lib/link/" in w])
        p = make("-n", "BUILD=" + self.build, "STATIC_BIN=maybe",
                 os.path.join(self.build, "bin", "autoscale"))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("STATIC_BIN=maybe", p.stderr)


class BuiltBinaryTest(unittest.TestCase):
    """The binaries this pass tests: a static autoscale holds no in-process
    libcurl, no resolver and no dynamic loader, and its helper is there."""

    def setUp(self):
        self.bin = os.environ.get("AUTOSCALE_BIN_DIR", os.path.join(ROOT, "actions", "bin"))
        path = os.path.join(self.bin, "autoscale")
        with open(path, "rb") as f:
            head = f.read(1 << 16)
        # an ELF interpreter path in the first pages means a dynamic binary
        self.static = b"/ld-linux" not in head
        nm = subprocess.run(["nm", path], capture_output=True, text=True, check=False)
        if nm.returncode != 0 or not nm.stdout.strip():
            self.skipTest("no symbols to read (a stripped build)")
        self.symbols = {l.split()[-1] for l in nm.stdout.splitlines() if l.strip()}

    def test_static_binary_reaches_libcurl_only_through_the_helper(self):
        if not self.static:
            self.assertIn("http_curl_transport", self.symbols)
            return
        for absent in ("http_curl_transport", "getaddrinfo", "curl_easy_perform"):
            self.assertNotIn(absent, self.symbols)
        for present in ("http_worker_transport", "http_plain_transport", "__wrap_dlopen"):
            self.assertIn(present, self.symbols)
        helper = os.path.join(self.bin, "autoscale_curl")
        self.assertTrue(os.access(helper, os.X_OK))
        with open(helper, "rb") as f:
            self.assertIn(b"/ld-linux", f.read(1 << 16))  # dynamic: it can load libcurl


class WerrorTest(BuildTreeCase):
    # -Wframe-larger-than=64 warns on lib/core/error.c for certain, with gcc and
    # clang: as_error_prefix keeps two message buffers on its stack.
    WARNS = "CFLAGS=-O0 -Wframe-larger-than=64"

    def test_a_users_build_warns_and_builds(self):
        p = make("BUILD=" + self.build, self.WARNS, self.obj("lib/core/error.o"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("-Wframe-larger-than", p.stderr)
        self.assertTrue(os.path.exists(self.obj("lib/core/error.o")))

    def test_a_developer_build_fails_on_the_same_warning(self):
        p = make("BUILD=" + self.build, self.WARNS, "DEVELOPER=1", self.obj("lib/core/error.o"))
        self.assertNotEqual(p.returncode, 0)
        self.assertFalse(os.path.exists(self.obj("lib/core/error.o")))

    def test_the_developer_goals_turn_werror_on_and_all_does_not(self):
        for goal, werror in (("all", False), ("tests", True), ("test", True),
                             ("unit-test", True), ("lint", True)):
            with self.subTest(goal=goal):
                p = make("-n", "V=1", "BUILD=" + self.build, goal)
                compiles = [line for line in p.stdout.splitlines() if " -c lib/core/error.c " in line]
                self.assertEqual(len(compiles), 1, p.stdout[-2000:] + p.stderr)
                self.assertEqual("-Werror" in compiles[0].split(), werror)
                # -Wall -Wextra stay on for everyone.
                self.assertIn("-Wall", compiles[0].split())
                self.assertIn("-Wextra", compiles[0].split())


class OutputTest(BuildTreeCase):
    def test_quiet_by_default_full_commands_with_v1(self):
        p = make("BUILD=" + self.build, self.obj("lib/core/error.o"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.splitlines(), ["  CC    lib/core/error.o"])
        os.remove(self.obj("lib/core/error.o"))
        p = make("V=1", "BUILD=" + self.build, self.obj("lib/core/error.o"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("-c lib/core/error.c -o " + self.obj("lib/core/error.o"), p.stdout)
        self.assertNotIn("  CC    ", p.stdout)

    def test_changing_compiler_flags_rebuilds_and_nothing_else_does(self):
        self.assertEqual(make("BUILD=" + self.build, self.obj("lib/core/error.o")).returncode, 0)
        again = make("BUILD=" + self.build, self.obj("lib/core/error.o"))
        self.assertNotIn("CC", again.stdout)
        # -Werror changes no object: `make` then `make tests` rebuilds nothing.
        dev = make("BUILD=" + self.build, "DEVELOPER=1", self.obj("lib/core/error.o"))
        self.assertNotIn("CC", dev.stdout)
        compat = make("BUILD=" + self.build, "COMPAT=old", self.obj("lib/core/error.o"))
        self.assertIn("CC    lib/core/error.o", compat.stdout)


@ONCE
class PackageListTest(unittest.TestCase):
    def rows(self, name):
        rows = []
        with open(os.path.join(ROOT, "deps", name + "-packages.txt"), encoding="utf-8") as f:
            for line in f:
                if line.strip() and not line.lstrip().startswith("#"):
                    rows.append(line.split())
        return rows

    def test_every_build_need_has_a_check_an_apt_and_a_dnf_name(self):
        for row in self.rows("build"):
            self.assertEqual(len(row), 3, row)
            check, apt, dnf = row
            self.assertRegex(check, r"^(cmd|pc):\S+$")
            self.assertNotEqual(apt, "-", row)
            self.assertNotEqual(dnf, "-", row)

    def test_the_lists_are_apart(self):
        names = {}
        for name in ("runtime", "build", "test"):
            names[name] = {n for row in self.rows(name) for n in row[1].split("|")} - {"-"}
        self.assertFalse(names["build"] & names["test"])
        self.assertFalse(names["build"] & names["runtime"])
        rc, build, _ = packages("--manager", "apt", "build")
        self.assertEqual(rc, 0)
        for server in ("haproxy", "pdns-server", "openssh-server", "ruby", "libcmocka-dev"):
            self.assertNotIn(server, build.split())

    def test_libyaml_is_listed_exactly_when_the_code_includes_it(self):
        used = subprocess.run(["grep", "-rl", "--include=*.[ch]", "yaml.h", "lib", "actions"],
                              cwd=ROOT, capture_output=True, text=True).stdout.split()
        rc, modules, _ = packages("--pkgconfig", "build")
        self.assertEqual(rc, 0)
        self.assertEqual("yaml-0.1" in modules.split(), bool(used), used)
        rc, runtime, _ = packages("--manager", "dnf", "runtime")
        self.assertEqual("libyaml" in runtime.split(), bool(used))

    def test_each_manager_gets_its_own_names(self):
        rc, apt, _ = packages("--manager", "apt", "build")
        self.assertEqual(rc, 0)
        rc, dnf, _ = packages("--manager", "dnf", "build")
        self.assertEqual(rc, 0)
        self.assertIn("libjson-c-dev", apt.split())
        self.assertIn("json-c-devel", dnf.split())
        self.assertNotIn("json-c-devel", apt.split())
        self.assertEqual(apt.split().count("build-essential"), 1)  # named once

    def test_the_makefile_prints_what_the_lists_say(self):
        for lists in ("build", "build test", "runtime"):
            p = make("-s", "print-packages", "LISTS=" + lists)
            self.assertEqual(p.returncode, 0, p.stderr)
            rc, want, _ = packages(*lists.split())
            self.assertEqual(p.stdout.strip(), want)

    def test_a_host_without_the_tools_is_told_to_install_build_packages_only(self):
        empty = tempfile.mkdtemp()
        try:
            for tool in ("sh", "sed", "awk", "tr", "dirname", "grep", "cat", "dpkg-query", "rpm"):
                path = shutil.which(tool)
                if path:
                    os.symlink(path, os.path.join(empty, tool))
            env = {"PATH": empty}
            rc, apt, _ = packages("--manager", "apt", "--hint", "build", env=env)
            rc2, dnf, _ = packages("--manager", "dnf", "--hint", "build", env=env)
            rc3, missing, _ = packages("--manager", "apt", "--missing", "build", env=env)
        finally:
            shutil.rmtree(empty)
        self.assertEqual((rc, rc2, rc3), (0, 0, 0))
        self.assertIn("apt-get install -y --no-install-recommends build-essential", apt)
        self.assertIn("dnf install -y gcc make binutils pkgconf-pkg-config", dnf)
        self.assertIn("libjson-c-dev", missing.split())  # no pkg-config: no library found
        for text in (apt, dnf):
            self.assertNotIn('"', text)
            self.assertNotIn("\\", text)
            for test_only in ("haproxy", "cmocka", "clang", "pdns", "ruby"):
                self.assertNotIn(test_only, text)

    def test_nothing_missing_says_nothing(self):
        # This host builds the pack, so its build needs are met.
        rc, hint, _ = packages("--hint", "build")
        self.assertEqual((rc, hint), (0, ""))

    def test_a_malformed_list_is_refused(self):
        tmp = tempfile.mkdtemp()
        try:
            shutil.copy(PACKAGES, tmp)
            with open(os.path.join(tmp, "build-packages.txt"), "w", encoding="utf-8") as f:
                f.write("pc:json-c libjson-c-dev\n")
            p = subprocess.run(["sh", os.path.join(tmp, "packages.sh"), "build"],
                               capture_output=True, text=True, check=False)
        finally:
            shutil.rmtree(tmp)
        self.assertEqual(p.returncode, 2)
        self.assertIn("want 3 columns", p.stderr)


if __name__ == "__main__":
    unittest.main()
