#!/usr/bin/python3
"""action_params - the README's table of every action's parameters, made
from actions/*.yaml so it cannot drift (tests/pack/test_readme.py compares).

usage: action_params.py [PACK_DIR]   prints the Markdown section body.

Parameters whose default comes from the pack config (`{{ config_context.x }}`)
are summarised by family (local_*, openstack_*, ssh_*, ...): they are the
operator's settings, documented in config.schema.yaml and docs/."""
import os
import re
import sys

import yaml

CONFIG = re.compile(r"^\{\{\s*config_context\.(\w+)\s*\}\}$")
FAMILIES = ("local_", "openstack_", "digitalocean_", "powerdns_", "haproxy_", "ssh_",
            "chef_", "slack_", "webhook_", "dns_", "lb_")


def family(name):
    for prefix in FAMILIES:
        if name.startswith(prefix):
            return prefix + "*"
    return name


def describe(name, p):
    t = p.get("type", "runner")
    if p.get("required") and "default" not in p:
        return f"`{name}` ({t}, required)"
    if "default" in p and p["default"] not in (None, ""):
        d = p["default"]
        d = str(d).lower() if isinstance(d, bool) else d
        return f"`{name}` ({t}, {d})"
    return f"`{name}` ({t})"


def row(doc):
    own, config = [], []
    for name, p in (doc.get("parameters") or {}).items():
        p = p or {}
        if name == "env" and set(p) <= {"default"}:
            continue  # the runner's env carries the secrets, listed by name below
        if p.get("secret") or (isinstance(p.get("default"), str) and CONFIG.match(p["default"])):
            if family(name) not in config:
                config.append(family(name))
        else:
            own.append(describe(name, p))
    kind = "workflow" if doc.get("runner_type") == "orquesta" else (
        "script" if doc["entry_point"].endswith(".sh") else "C")
    settings = ", ".join(f"`{c}`" for c in config) or "-"
    return f"| `{doc['name']}` | {kind} | {', '.join(own) or '-'} | {settings} |"


def table(root):
    lines = ["| action | kind | parameters (type, default) | from the pack config |",
             "|---|---|---|---|"]
    actions = os.path.join(root, "actions")
    for f in sorted(os.listdir(actions)):
        if f.endswith(".yaml"):
            with open(os.path.join(actions, f), encoding="utf-8") as fh:
                lines.append(row(yaml.safe_load(fh)))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(table(sys.argv[1] if len(sys.argv) > 1 else "."))
