"""tools/include_graph.py, the layer and circle check of lib/'s includes.

A small tree in the shape the tool expects (core < store < model < area <
front, an area with a dispatch, an internal header and a backend) passes;
then it is broken one way per test (a circle, an upward arrow, a backend
reaching past its area's _int.h, an internal header used from outside, a
file no row places) and the tool must exit 1 naming it. Last, the real lib/
is checked: no circle, no upward arrow, every file placed (make lint runs
the same check).
Run: python3 tests/pack/test_include_graph.py"""
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "tools", "include_graph.py")

# file -> text. Every name is one the tool's table places.
GOOD = {
    "error.h": "/* error.h */\nint as_fail(int code);\n",
    "error.c": '#include "error.h"\nint as_fail(int code)\n{\n    return code;\n}\n',
    "log.h": '#include "error.h"\nvoid log_info(const char *s);\n',
    "log.c": '#include "log.h"\nvoid log_info(const char *s)\n{\n    (void)s;\n}\n',
    "datastore.h": '#include "error.h"\nstruct ds;\nstruct ds *ds_open(const char *name);\n',
    "ds_int.h": ('#include "datastore.h"\nstruct ds_ops {\n    const char *name;\n};\n'
                 "extern const struct ds_ops ds_mem_ops;\n"),
    "datastore.c": ('#include "datastore.h"\n#include "ds_int.h"\n'
                    "struct ds *ds_open(const char *name)\n{\n    (void)name;\n"
                    "    return (struct ds *)&ds_mem_ops;\n}\n"),
    "ds_mem.c": ('#include "ds_int.h"\n#include "log.h"\n'
                 'const struct ds_ops ds_mem_ops = {\n    .name = "mem",\n};\n'
                 'void ds_mem_hello(void)\n{\n    log_info("mem");\n}\n'),
    "group.h": '#include "datastore.h"\nint group_load(struct ds *ds);\n',
    "group.c": '#include "group.h"\nint group_load(struct ds *ds)\n{\n    return !ds;\n}\n',
    "dns.h": '#include "group.h"\nint dns_register(const char *group);\n',
    "dns_int.h": ('#include "dns.h"\nstruct dns_ops {\n    const char *name;\n};\n'
                  "extern const struct dns_ops dns_fake_ops;\n"),
    "dns.c": ('#include "dns_int.h"\nint dns_register(const char *group)\n{\n'
              "    return group && dns_fake_ops.name;\n}\n"),
    "dns_fake.c": ('#include "dns_int.h"\n#include "log.h"\n'
                   'const struct dns_ops dns_fake_ops = {\n    .name = "fake",\n};\n'
                   'void dns_fake_hello(void)\n{\n    log_info("fake");\n}\n'),
    "st2.h": '#include "dns.h"\nint as_action_main(int argc);\n',
    "st2.c": ('#include "st2.h"\n#include "log.h"\nint as_action_main(int argc)\n{\n'
              '    log_info("start");\n    return argc;\n}\n'),
}


def run(tree):
    """The tool's exit status and output on a lib/ made of tree."""
    with tempfile.TemporaryDirectory() as d:
        lib = os.path.join(d, "lib")
        os.mkdir(lib)
        for name, text in tree.items():
            with open(os.path.join(lib, name), "w") as f:
                f.write(text)
        p = subprocess.run([sys.executable, TOOL, lib], capture_output=True, text=True)
        return p.returncode, p.stdout + p.stderr


def changed(**files):
    tree = dict(GOOD)
    for name, text in files.items():
        name = name.replace("__", ".")
        if text is None:
            tree.pop(name, None)
        else:
            tree[name] = text
    return tree


class Synthetic(unittest.TestCase):
    def refused(self, tree, *words):
        rc, out = run(tree)
        self.assertEqual(rc, 1, out)
        for w in words:
            self.assertIn(w, out)
        return out

    def test_good_tree_passes(self):
        rc, out = run(GOOD)
        self.assertEqual(rc, 0, out)
        self.assertIn("0 violation(s)", out)
        self.assertRegex(out, r"16 files, \d+ includes")

    def test_circle_of_headers_refused(self):
        out = self.refused(changed(error__h='#include "log.h"\nint as_fail(int code);\n'),
                           "cycle: files:", "cycle: modules:")
        self.assertIn("error.h -> log.h -> error.h", out)

    def test_circle_between_modules_refused(self):
        # group.c includes dns.h, dns.h includes group.h: no file circle,
        # but the modules group and dns lean on each other (and upward)
        out = self.refused(changed(group__c='#include "group.h"\n#include "dns.h"\n'),
                           "cycle: modules: dns -> group -> dns")
        self.assertNotIn("cycle: files:", out)

    def test_upward_include_refused(self):
        self.refused(changed(log__c='#include "log.h"\n#include "group.h"\n'),
                     "upward: log.c (core) includes group.h (model)")

    def test_upward_declaration_refused(self):
        # a core header promising what the front end defines
        self.refused(changed(log__h='#include "error.h"\nvoid log_info(const char *s);\n'
                                    "int as_action_main(int argc);\n"),
                     "upward: log.h (core) declares as_action_main(), defined in st2.c (front)")

    def test_backend_past_its_internal_header_refused(self):
        self.refused(changed(dns_fake__c='#include "dns_int.h"\n#include "dns.h"\n'
                                         'const struct dns_ops dns_fake_ops = {\n'
                                         '    .name = "fake",\n};\n'),
                     "backend: dns_fake.c (a dns backend) includes dns.h")

    def test_backend_into_another_area_refused(self):
        tree = changed(notify__h='#include "error.h"\nint notify_send(void);\n',
                       dns_fake__c='#include "dns_int.h"\n#include "notify.h"\n'
                                   'const struct dns_ops dns_fake_ops = {\n'
                                   '    .name = "fake",\n};\n')
        self.refused(tree, "backend: dns_fake.c (a dns backend) includes notify.h, "
                           "of another area (notify)")

    def test_internal_header_from_outside_refused(self):
        self.refused(changed(st2__c='#include "st2.h"\n#include "ds_int.h"\n'),
                     "internal: st2.c (st2) includes ds_int.h, internal to datastore")

    def test_unplaced_file_refused(self):
        self.refused(changed(mystery__c='#include "error.h"\n'),
                     "unplaced: mystery.c")

    def test_unused_include_refused(self):
        self.refused(changed(st2__c='#include "st2.h"\n#include "log.h"\n'
                                    'int as_action_main(int argc)\n{\n    return argc;\n}\n'),
                     "unused: st2.c includes log.h and uses nothing it declares")

    def test_missing_header_refused(self):
        self.refused(changed(log__c='#include "log.h"\n#include "nowhere.h"\n'),
                     'missing: log.c includes "nowhere.h"')


class RealTree(unittest.TestCase):
    def test_real_lib(self):
        p = subprocess.run([sys.executable, TOOL], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("include_graph: 0 violation(s)", p.stdout)


if __name__ == "__main__":
    unittest.main()
