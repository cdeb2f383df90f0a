#!/usr/bin/env python3
"""include_graph.py - the shape of lib/: who includes whom, checked.

Reads every .c and .h under lib/ (in folders by area) and actions/runner/
(the front end), and takes each `#include "..."` as an arrow
from the file to the header. It also notes, for each header, the .c files
that define what it declares: a lower layer's header promising a function
that a higher layer defines is an upward arrow too, though no #include
shows it (secret.h declaring the front end's secret_env_args). Circles are
found among includes only. (The datastore's old circle was of this kind:
datastore.c called each backend's open, declared in datastore.h, and every
backend included datastore.h; the table of backends in ds_int.h ended it.)

Every file belongs to a module, and every module to a layer (the table
below; lowest first). A file the table does not place is an error, so a new
file must be given its place here. Reported, each making the exit status 1:

  cycle     a circle of includes between files, or between modules (a
            module is a row of MODULES);
  upward    an arrow from a lower layer to a higher one;
  backend   a backend (an area's file defining a non-static `<x>_ops` table)
            including a file of its own area other than the `_int.h` header,
            or a file of another area;
  internal  an `<area>_int.h` included from outside its area;
  unplaced  a file no row of MODULES matches;
  missing   an include of a "header" that is not in lib/;
  unused    a .c file including a header of which it uses nothing.

Usage: include_graph.py [DIR...]   (default: lib/ and actions/runner/, the
       action front end, next to this tool's parent; folders are walked)
"""

import fnmatch
import os
import re
import sys

LAYERS = ["core", "store", "model", "area", "front"]

# module: (layer, file stems it holds, as fnmatch patterns). A stem is the
# file name without .c/.h. The first row that matches wins, so exact names
# come before the patterns that would also take them (node before node_*).
MODULES = [
    # core: no knowledge of groups, stores or providers
    ("error", "core", ["error", "error_codes"]),
    ("log", "core", ["log"]),
    ("utf8", "core", ["utf8"]),  # below error and jsonx: both clean text
    ("jsonx", "core", ["jsonx"]),
    ("jscan", "core", ["jscan"]),  # the strict fast JSON scanner (json-c for the rest)
    ("xalloc", "core", ["xalloc"]),
    ("strbuf", "core", ["strbuf"]),  # over xalloc
    ("clock", "core", ["clock"]),
    ("tz", "core", ["tz"]),  # IANA zones through libc, checked first
    ("cron", "core", ["cron"]),  # over tz
    ("signals", "core", ["signals"]),
    ("secret", "core", ["secret"]),
    ("path", "core", ["path"]),
    ("params", "core", ["params"]),
    ("keys", "core", ["keys"]),
    ("http", "core", ["http", "http_*"]),  # the policy and its transports
    ("ssh", "core", ["ssh", "ssh_*"]),
    ("digitalocean", "core", ["digitalocean"]),  # the DO providers' client
    ("link", "core", ["no_dlopen"]),  # lib/link's substitute for libc's dlopen
    # store: keys and values, and one holder at a time
    ("datastore", "store", ["datastore", "ds_*"]),
    ("claim", "store", ["claim"]),
    ("lease", "store", ["lease"]),
    # model: groups, nodes, alerts and the decisions on them
    ("group", "model", ["group"]),
    ("build_spec", "model", ["build_spec"]),  # what a node is built from
    ("settings", "model", ["settings"]),  # merges a group's overrides
    ("controls", "model", ["controls"]),
    ("asg", "model", ["asg"]),
    ("node", "model", ["node"]),
    ("health", "model", ["health"]),  # the rule and the records; probing is an area
    ("incident", "model", ["incident"]),
    ("alert", "model", ["alert"]),  # the normaliser: below incidents
    ("alert_route", "model", ["alert_route"]),
    ("alert_intake", "model", ["alert_intake"]),  # above incidents and routes
    ("history", "model", ["history"]),  # decisions and outcomes, below asg and governor
    # the governor and the inputs only it reads: metric samples, schedules
    ("governor", "model", ["governor", "governor_*", "samples", "schedule"]),
    ("refresh", "model", ["refresh", "refresh_*"]),  # a rolling refresh's record and batches
    # areas: one provider interface each, and the actions' logic above it
    ("compute", "area", ["compute", "compute_*", "nodes", "node_*"]),
    ("dns", "area", ["dns", "dns_*"]),
    ("lb", "area", ["lb", "lb_*"]),
    ("metric", "area", ["metric", "metric_*"]),  # metric sources; the collector over lb
    ("health_probe", "area", ["health_probe", "health_wait"]),  # over compute and lb
    ("notify", "area", ["notify", "notify_*"]),
    ("chef", "area", ["chef", "chef_*"]),
    # the action front end: argv, the runner contract, the CLI
    ("st2", "front", ["st2", "secret_env", "help", "help_text", "runner_*"]),
    ("cli", "front", ["cli", "cli_config"]),
]

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r'"(\\.|[^"\\\n])*"', '""', text)


def strip_preprocessor(text):
    out, cont = [], False
    for line in text.split("\n"):
        if cont or line.lstrip().startswith("#"):
            cont = line.rstrip().endswith("\\")
            out.append("")
        else:
            out.append(line)
    return "\n".join(out)


def top_level(text):
    """(statement text, ended by) for each item at brace depth 0: ended by
    ';' (a declaration) or '{' (a definition, or an initialised object)."""
    items, depth, start, paren = [], 0, 0, 0
    for i, c in enumerate(text):
        if c == "(":
            paren += 1
        elif c == ")":
            paren -= 1
        elif c == "{":
            if depth == 0:
                items.append((text[start:i], "{"))
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                start = i + 1
        elif c == ";" and depth == 0 and paren == 0:
            items.append((text[start:i], ";"))
            start = i + 1
    return items


IDENT_BEFORE_PAREN = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
SKIP_WORDS = ("static", "typedef", "inline")


def function_name(stmt):
    """The name a top-level function declaration or definition gives."""
    head = stmt.split("__attribute__")[0]
    m = IDENT_BEFORE_PAREN.search(head)
    if not m or m.group(1) in ("sizeof",):
        return None
    before = head[: m.start()]
    if "=" in before or "(" in before:
        return None
    return m.group(1)


def object_names(stmt):
    """Names a top-level object declaration or definition gives
    (`extern const char a[], b[]`, `const struct x_ops x_ops =`)."""
    stmt = stmt.split("=")[0]
    names = []
    for part in stmt.split(","):
        m = re.search(r"([A-Za-z_]\w*)\s*(\[[^\]]*\])?\s*$", part.strip())
        if m:
            names.append(m.group(1))
    return names


def declared_names(text):
    """Every name a header offers: macros, functions, types, enum constants,
    externs (a looser reading than symbols(): any use of one counts)."""
    t = strip_comments(text)
    ids = set(re.findall(r"^\s*#\s*define\s+(\w+)", t, re.M))
    ids |= set(re.findall(r"^[\w\s\*]*?\b(\w+)\s*\([^;{]*\)\s*(?:__attribute__.*)?;", t, re.M))
    ids |= set(re.findall(r"\b(?:struct|enum|union)\s+(\w+)\s*\{", t))
    ids |= set(re.findall(r"typedef[^;]*?\b(\w+)\s*;", t))
    ids |= set(re.findall(r"typedef[^;]*?\(\s*\*\s*(\w+)\s*\)", t))
    ids |= set(re.findall(r"extern[^;(]*?\b(\w+)\s*(?:\[\])?;", t))
    for body in re.findall(r"enum\s+\w*\s*\{([^}]*)\}", t):
        ids |= set(re.findall(r"^\s*(\w+)", body, re.M)) | set(re.findall(r",\s*(\w+)", body))
    return ids


def symbols(text, header):
    """Header: the symbols it declares. Source: those it defines with
    external linkage."""
    text = strip_preprocessor(strip_comments(text))
    out = set()
    for stmt, end in top_level(text):
        s = " ".join(stmt.split())
        if not s or s.split()[0] in SKIP_WORDS or re.match(r"^(struct|enum|union)\s+\w+$", s):
            continue
        if re.match(r"^(extern\s+)?(const\s+)?(struct|enum|union)\s+\w+\s*$", s):
            continue
        is_func = "(" in s.split("=")[0] and function_name(s)
        if header:
            if end != ";":
                continue
            if is_func:
                out.add(function_name(s))
            elif s.startswith("extern "):
                out.update(object_names(s[len("extern "):]))
        else:
            if s.startswith("extern "):
                continue
            if is_func and end == "{":
                out.add(function_name(s))
            elif not is_func:
                out.update(object_names(s))
    out.discard(None)
    return out


def stem(name):
    return name[:-2] if name.endswith((".c", ".h")) else name


def place(name):
    for module, layer, patterns in MODULES:
        if any(fnmatch.fnmatchcase(stem(name), p) for p in patterns):
            return module, layer
    return None, None


def is_backend(name, text):
    """An area's file that fills an ops table for the area's dispatch."""
    if not name.endswith(".c"):
        return False
    body = strip_preprocessor(strip_comments(text))
    return re.search(r"^const\s+struct\s+\w+_ops\s+\w+_ops\s*=", body, re.M) is not None


class Graph:
    def __init__(self, libdirs):
        # Files are named by their base name: lib/'s folders (one per area)
        # and the front end share one include path, so names are unique.
        if isinstance(libdirs, str):
            libdirs = [libdirs]
        self.libdir = libdirs[0]
        path = {}
        for top in libdirs:
            for d, _, names in os.walk(top):
                for f in names:
                    if f.endswith((".c", ".h")):
                        path[f] = os.path.join(d, f)
        self.files = sorted(path)
        self.text = {}
        for f in self.files:
            with open(path[f], encoding="utf-8", errors="replace") as fh:
                self.text[f] = fh.read()
        self.includes = {}  # file -> [header]
        self.problems = []  # (kind, message)
        for f in self.files:
            body = strip_comments_keep_includes(self.text[f])
            self.includes[f] = []
            for h in INCLUDE.findall(body):
                if h in self.text:
                    if h != f:
                        self.includes[f].append(h)
                else:
                    self.problems.append(("missing", f"{f} includes \"{h}\", not in lib/"))
        self.defines = self._defines()  # header -> [(source, symbol)]

    def _defines(self):
        defined = {}
        for f in self.files:
            if f.endswith(".c"):
                for sym in symbols(self.text[f], header=False):
                    defined.setdefault(sym, set()).add(f)
        out = {}
        for h in self.files:
            if not h.endswith(".h"):
                continue
            for sym in sorted(symbols(self.text[h], header=True)):
                srcs = defined.get(sym, set())
                if len(srcs) == 1:
                    src = next(iter(srcs))
                    if stem(src) != stem(h):
                        out.setdefault(h, []).append((src, sym))
        return out

    def edges(self):
        """(from, to, why) for every arrow: includes, then definitions."""
        for f in self.files:
            for h in self.includes[f]:
                yield f, h, "includes"
        for h, pairs in sorted(self.defines.items()):
            seen = set()
            for src, sym in pairs:
                if src not in seen:
                    seen.add(src)
                    yield h, src, f"declares {sym}(), defined in"

    def check(self):
        problems = list(self.problems)
        where = {}
        for f in self.files:
            module, layer = place(f)
            if module is None:
                problems.append(("unplaced", f"{f}: no module in MODULES takes it"))
            where[f] = (module, layer)
        edges = list(self.edges())
        rank = {l: i for i, l in enumerate(LAYERS)}
        for a, b, why in edges:
            (ma, la), (mb, lb) = where[a], where[b]
            if ma is None or mb is None:
                continue
            if rank[la] < rank[lb]:
                problems.append(("upward", f"{a} ({la}) {why} {b} ({lb})"))
            if why == "includes" and b.endswith("_int.h") and ma != mb:
                problems.append(("internal", f"{a} ({ma}) includes {b}, internal to {mb}"))
        # An include of which nothing is used: a false dependency, and a
        # false arrow in this graph. (A file's own header always counts.)
        for f in self.files:
            if not f.endswith(".c"):
                continue
            body = re.sub(r"^\s*#\s*include.*$", "", strip_comments(self.text[f]), flags=re.M)
            words = set(re.findall(r"\w+", body))
            for h in self.includes[f]:
                if h == f[:-2] + ".h":
                    continue
                if not declared_names(self.text[h]) & words:
                    problems.append(("unused", f"{f} includes {h} and uses nothing it declares"))
        for f in self.files:
            ma, la = where[f]
            if la != "area" or not is_backend(f, self.text[f]):
                continue
            for h in self.includes[f]:
                mh, lh = where[h]
                if mh == ma and not h.endswith("_int.h"):
                    problems.append(("backend", f"{f} (a {ma} backend) includes {h}: "
                                     f"a backend includes only {ma}'s _int.h of its area"))
                elif mh != ma and lh == "area":
                    problems.append(("backend", f"{f} (a {ma} backend) includes {h}, "
                                     f"of another area ({mh})"))
        # Files: includes only (a header and the several .c files of its
        # module that define it are one thing, not a circle).
        includes = {f: list(self.includes[f]) for f in self.files}
        problems += self._cycles(includes, "files")
        mod_graph = {}
        for a, b, why in edges:
            if why != "includes":
                continue
            ma, mb = where[a][0], where[b][0]
            if ma and mb and ma != mb:
                mod_graph.setdefault(ma, set()).add(mb)
        problems += self._cycles({m: sorted(v) for m, v in mod_graph.items()}, "modules")
        return where, edges, problems

    @staticmethod
    def _cycles(graph, what):
        """One report per strongly connected component with a circle
        (Tarjan), naming one circle through it."""
        index, low, stack, on, comps, n = {}, {}, [], set(), [], [0]

        def visit(v):
            index[v] = low[v] = n[0]
            n[0] += 1
            stack.append(v)
            on.add(v)
            for w in graph.get(v, ()):
                if w not in index:
                    visit(w)
                    low[v] = min(low[v], low[w])
                elif w in on:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                comps.append(comp)

        sys.setrecursionlimit(10000)
        for v in sorted(graph):
            if v not in index:
                visit(v)
        out = []
        for comp in comps:
            if len(comp) < 2:
                continue
            members, seen = set(comp), set()
            # The shortest circle through each member, each circle once:
            # one circle per component would hide the others in it.
            for start in sorted(comp):
                path = _path_back(graph, start, members)
                i = path.index(min(path[:-1]))
                key = tuple(path[i:-1] + path[:i])
                if key not in seen:
                    seen.add(key)
                    out.append(("cycle", f"{what}: " + " -> ".join(key + (key[0],))))
        return out


def _path_back(graph, start, members):
    """A shortest circle from start back to it inside members (BFS)."""
    prev, queue = {}, [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph.get(v, ())):
            if w not in members:
                continue
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return sorted(members)


def strip_comments_keep_includes(text):
    return re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    libdirs = argv[1:] or [os.path.join(root, "lib"), os.path.join(root, "actions", "runner")]
    g = Graph(libdirs)
    where, edges, problems = g.check()
    n_inc = sum(1 for e in edges if e[2] == "includes")
    by_layer = {}
    for f, (m, l) in where.items():
        by_layer.setdefault(l or "?", []).append(f)
    print(f"include_graph: {len(g.files)} files, {n_inc} includes, "
          f"{len(edges) - n_inc} declared-here-defined-there arrows")
    for layer in LAYERS + ["?"]:
        if layer in by_layer:
            mods = sorted({where[f][0] or "?" for f in by_layer[layer]})
            print(f"  {layer:<6} {len(by_layer[layer]):3} files: {' '.join(mods)}")
    for kind, msg in sorted(set(problems)):
        print(f"{kind}: {msg}")
    print(f"include_graph: {len(set(problems))} violation(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
