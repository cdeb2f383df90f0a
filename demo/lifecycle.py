#!/usr/bin/python3
"""make demo: the whole autoscaling lifecycle on this machine, no StackStorm.

The pack's own rules, sensor, Orquesta workflows and policies run on
tests/st2lite (a stand-in for st2), which calls the real C actions exactly as
st2 would, with the embedded datastore, the local compute provider (the demo
web app on 127.0.1.x), a real HAProxy, a real PowerDNS, a real sshd and a
stand-in chef-solo. Phases:
  0 create a group (min 2)       -> the asg_create workflow scales it to min
  1 a New Relic critical alert   -> the newrelic webhook rule -> alert_intake -> alert_event
  2 the governor sensor polls    -> scale_out rule -> scale_out workflow, to max
  3 the New Relic recovery       -> governor -> scale_in workflow, back to min
  4 decommission                 -> asg_delete workflow; nothing may be left
Environment: AUTOSCALE_DEMO_DIR (work directory, kept, with summary.json),
AUTOSCALE_DEMO_QUIET=1 (no execution trace), AUTOSCALE_DEMO_KEEP=1 (leave the
servers running and list them in servers.json, for a test to inspect)."""
import copy
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, HERE)

import st2lite  # noqa: E402
from servers import Servers, free_port  # noqa: E402

GROUP, ZONE, BACKEND = "demo", "demo.test", "demo"
SPEC = {"name": GROUP, "min": 2, "max": 6, "scale_out_step": 2, "scale_out_cooldown": 3,
        "scale_in_step": 2, "scale_in_cooldown": 3, "compute_provider": "local",
        "dns_provider": "powerdns", "dns_zone": ZONE, "lb_provider": "haproxy",
        "lb_backend": BACKEND, "run_list": "recipe[demo_web]"}
POLL_SECONDS = 1.0  # the sensor polls every 30 s under st2; the demo is in a hurry


def say(text=""):
    print(text, flush=True)


class Demo:
    def __init__(self, work, quiet):
        self.work, self.quiet = work, quiet
        self.servers = Servers(work)
        self.summary = {"phases": {}}
        self.told = 0  # notifications already shown
        self.seen = set()  # every node name the group ever had

    # ---- setup ----
    def start(self):
        s = self.servers
        s.start_haproxy(BACKEND)
        s.start_pdns(ZONE)
        s.start_sshd([f"127.0.1.{i}" for i in range(1, 17)])
        s.start_slack()
        chef = os.path.join(self.work, "chef")
        os.makedirs(os.path.join(chef, "bin"))
        self.chef_solo = os.path.join(chef, "bin", "chef-solo")
        shutil.copy(os.path.join(ROOT, "tests", "support", "chef_stub.sh"), self.chef_solo)
        os.chmod(self.chef_solo, 0o755)
        port = free_port()  # 8080 may be another local-provider user's
        # What an operator writes in /opt/stackstorm/configs/autoscale.yaml:
        # the providers and where their servers are, nothing the schema's
        # defaults already say (st2lite renders it as strictly as st2 does).
        config = {
            "compute_provider": "local",
            "local_dir": os.path.join(self.work, "local"), "local_port": port,
            "local_grace_ms": 500,
            "powerdns_api_url": s.pdns_api_url, "powerdns_api_key": s.pdns_api_key,
            "dns_ttl": 5,
            "haproxy_socket": s.haproxy_socket, "lb_server_port": port,
            "lb_drain_timeout": 10,
            "ssh_user": s.ssh_user, "ssh_port": s.ssh_port,
            "ssh_private_key_file": s.ssh_key,
            "ssh_known_hosts_file": os.path.join(self.work, "known_hosts"),
            "chef_solo_command": self.chef_solo,
            "chef_install_command": "false",
            "chef_config_dir": os.path.join(self.work, "chef", "etc"),
            "notify_provider": "slack", "slack_webhook_url": s.slack_url,
        }
        self.db = os.path.join(self.work, "autoscale.db")
        env = {"AUTOSCALE_DB": self.db, "XDG_STATE_HOME": os.path.join(self.work, "state")}
        for k in [k for k in os.environ if k.startswith("ST2_")]:
            del os.environ[k]  # the embedded datastore, never a real st2 by accident
        os.environ.update(env)  # the sensor's governor_tick reads the same store
        self.pack = st2lite.Pack(ROOT, config)
        self.runner = st2lite.Runner(self.pack, env, trace=self.trace)
        self.reactor = st2lite.Reactor(self.runner)
        self.sensor = self.reactor.load_sensor(
            "GovernorSensor", os.path.join(ROOT, "tests", "sensor"))

    def trace(self, ex, event):
        if self.quiet or event != "end" or ex.ref == "autoscale.node_list":
            return  # node_list is the demo looking, not the lifecycle acting
        pad = "    " * (ex.depth + 1)
        node = ex.params.get("node") or ""
        mark = "ok" if ex.succeeded else ex.status.upper()
        say(f"{pad}{ex.ref.split('.', 1)[1]} {node} {mark} {detail(ex)}".rstrip())

    # ---- what is there now ----
    def nodes(self):
        ex = self.runner.run("autoscale.node_list", {"name": GROUP})
        out = ex.result["stdout"] if ex.succeeded else {}
        return {n["name"]: n for n in out.get("nodes", [])}

    def served_by(self, tries=40):
        seen = set()
        url = f"http://127.0.0.1:{self.servers.frontend_port}/"
        for _ in range(tries):
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    seen.add(r.read().decode().split()[1])
            except OSError:
                pass
        return sorted(seen)

    def show(self, phase):
        nodes = self.nodes()
        active = sorted(n for n, r in nodes.items() if r.get("state") == "active")
        serving = self.served_by()
        dns = self.servers.dig(f"{GROUP}.{ZONE}")
        say(f"  nodes: {len(nodes)} ({len(active)} active)")
        for n in sorted(nodes):
            say(f"    {n:<18} {nodes[n].get('state'):<9} {nodes[n].get('address')}")
        say(f"  HAProxy spreads requests over: {', '.join(serving) or 'nobody'}")
        say(f"  dig {GROUP}.{ZONE}: {' '.join(dns) or '(no answer)'}")
        self.show_notices()
        self.seen |= set(nodes)
        self.summary["phases"][phase] = {"nodes": len(nodes), "active": active,
                                         "serving": serving, "dns": dns}
        return active, serving, dns

    def show_notices(self):
        notices = self.servers.notices[self.told:]
        self.told += len(notices)
        if notices:
            say(f"  Slack got {len(notices)} message(s), the last: "
                f"{notices[-1].splitlines()[0][:110]}")

    # ---- the governor, as st2 runs it: sensor poll -> trigger -> rule ----
    def govern_until(self, done, seconds=50):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.sensor.poll()
            for ex in self.reactor.handle_pending():
                out = (ex.result or {}).get("output") or {}
                say(f"  governor -> {ex.ref} {ex.params.get('count')} node(s): "
                    f"{ex.status}, result {out.get('result')}")
            if done():
                return True
            time.sleep(POLL_SECONDS)
        return False

    def alert(self, state):
        with open(os.path.join(ROOT, "tests", "fixtures", "alerts",
                               "nr_channel_open_critical.json")) as f:
            body = json.load(f)
        body = copy.deepcopy(body)
        body["current_state"] = state
        body["incident_id"] = 4242
        body["condition_name"] = "Demo CPU high"
        for t in body.get("targets", []):
            t.setdefault("labels", {})
            t["labels"] = {"asg": GROUP}
        return self.reactor.webhook("autoscale/newrelic", body)

    # ---- the phases ----
    def run(self):
        n = len(SPEC)
        say(f"== phase 0: create group '{GROUP}' (min {SPEC['min']}, max {SPEC['max']}; "
            f"{n} settings) with the asg_create workflow")
        ex = self.runner.run("autoscale.asg_create", SPEC)
        self.check(ex.succeeded, f"asg_create workflow {ex.status}: {ex.result}")
        active, serving, dns = self.show("create")
        self.check(len(active) == SPEC["min"] and set(serving) == set(active),
                   "the group should have min nodes, all serving")

        say("\n== phase 1: New Relic posts a critical incident to the webhook")
        execs = self.alert("open")
        self.check(execs and all(e.succeeded for e in execs), "alert_intake failed")

        say("\n== phase 2: the governor scales out while the alert lasts (cooldown "
            f"{SPEC['scale_out_cooldown']} s)")
        grown = self.govern_until(lambda: len(self.active()) >= SPEC["max"])
        self.check(grown, "the group did not reach max")
        self.sensor.poll()  # one more tick: at max, nothing more may happen
        self.check(not self.reactor.pending, "the governor went past max")
        say("  at max: the next tick decides nothing")
        active, serving, dns = self.show("alert")
        self.check(set(serving) == set(active) and len(active) == SPEC["max"],
                   "every node should serve through HAProxy")

        say("\n== phase 3: New Relic posts the recovery; the governor scales in, "
            "draining each node first")
        execs = self.alert("closed")
        self.check(execs and all(e.succeeded for e in execs), "alert_intake failed")
        shrunk = self.govern_until(lambda: len(self.nodes()) <= SPEC["min"])
        self.check(shrunk, "the group did not come back to min")
        self.sensor.poll()
        self.check(not self.reactor.pending, "the governor went below min")
        say("  at min: the next tick decides nothing")
        active, serving, dns = self.show("recovered")
        self.check(len(active) == SPEC["min"] and set(serving) == set(active),
                   "min nodes should remain, all serving")

        say(f"\n== phase 4: decommission '{GROUP}' with the asg_delete workflow")
        ex = self.runner.run("autoscale.asg_delete", {"name": GROUP})
        self.check(ex.succeeded, f"asg_delete workflow {ex.status}: {ex.result}")
        self.leftovers()

    def active(self):
        return [n for n, r in self.nodes().items() if r.get("state") == "active"]

    def leftovers(self):
        machines = sorted(os.listdir(os.path.join(self.work, "local")))
        machines = [m for m in machines if m.startswith(("node-", "addr-"))]
        records = {k: v for k, v in self.servers.zone_records(ZONE).items()
                   if k.endswith(f"{GROUP}.{ZONE}.")}
        lb = self.servers.haproxy_servers(BACKEND)
        with sqlite3.connect(self.db) as db:
            keys = [r[0] for r in db.execute(
                "SELECT name FROM kv WHERE name LIKE 'autoscale.%'")]
        self.show_notices()
        procs = node_processes(self.seen)
        say(f"  node processes left: {len(procs)}, machines in the registry: {len(machines)}, "
            f"DNS records: {len(records)}, HAProxy servers: {len(lb)}, "
            f"datastore keys: {len(keys)}")
        self.summary["left"] = {"processes": procs, "machines": machines,
                                "dns": sorted(records), "haproxy": lb, "keys": keys}
        self.check(not (procs or machines or records or lb or keys),
                   "something was left behind")

    def check(self, ok, message):
        if not ok:
            raise DemoFailed(message)


def node_processes(names):
    """PIDs of demo_app processes still serving one of these nodes."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        if args[0].endswith("demo_app") and any(a[7:] in names for a in args
                                                if a.startswith("--name=")):
            pids.append(int(pid))
    return pids


def _acting(out):
    acting = [d for d in out.get("decisions", []) if d.get("action") != "none"]
    return "; ".join(f"{d['action']} {d['count']}" for d in acting)


def _incidents(o):
    return ", ".join(f"incident {e.get('id')} {e.get('change')}" for e in o.get("events", []))


# What a reader wants to see of each action's result, in a few words.
DETAILS = {
    "add_node": lambda o: f"{o['node'].get('address')}:{o['node'].get('port')}",
    "dns_register": lambda o: f"{o.get('record')} A {o.get('address')}",
    "chef_bootstrap": lambda o: (f"{o.get('mode')} run_list {o.get('run_list')}, "
                                 f"exit {o.get('exit_status')}"),
    "lb_add": lambda o: f"{o.get('backend')}/{o.get('node')}",
    "lb_remove": lambda o: f"drained {o.get('drained')}, waited {o.get('waited_ms')} ms",
    "node_pick": lambda o: f"{', '.join(o.get('nodes', []))} ({o.get('strategy_used')})",
    "governor_tick": _acting,
    "alert_event": _incidents,
    "alert_intake": _incidents,  # alert_event itself once the pack is built
    "notify": lambda o: "Slack" if o.get("delivered") else "",
}


def detail(ex):
    out = (ex.result or {}).get("stdout")
    if not isinstance(out, dict):
        return ""
    if "error" in out:
        return f"({out['error'].get('code')}: {out['error'].get('message', '')[:100]})"
    text = DETAILS.get(ex.ref.split(".", 1)[1], lambda o: "")(out)
    return f"-> {text}" if text else ""


class DemoFailed(Exception):
    pass


def main():
    work = os.environ.get("AUTOSCALE_DEMO_DIR") or tempfile.mkdtemp(prefix="autoscale-demo-")
    os.makedirs(work, exist_ok=True)
    demo = Demo(work, os.environ.get("AUTOSCALE_DEMO_QUIET") == "1")
    started, rc = time.monotonic(), 1
    try:
        demo.start()
        demo.run()
        rc = 0
    except (DemoFailed, RuntimeError, OSError) as e:
        say(f"\ndemo: FAILED: {e}")
    finally:
        if os.environ.get("AUTOSCALE_DEMO_KEEP") == "1":
            demo.servers.describe(os.path.join(work, "servers.json"))
        else:
            demo.servers.stop_all()
        demo.summary["seconds"] = round(time.monotonic() - started, 1)
        demo.summary["notifications"] = len(demo.servers.notices)
        demo.summary["executions"] = [
            {"ref": e.ref, "id": e.id, "parent": e.parent.id if e.parent else None,
             "params": sorted(e.live), "status": e.status}
            for e in getattr(demo, "runner", None).log] if hasattr(demo, "runner") else []
        with open(os.path.join(work, "summary.json"), "w") as f:
            json.dump(demo.summary, f, indent=1)
        if not os.environ.get("AUTOSCALE_DEMO_DIR"):
            shutil.rmtree(work, ignore_errors=True)
    say(f"\ndemo: {'all five phases passed' if rc == 0 else 'FAILED'} in "
        f"{demo.summary['seconds']} s; {demo.summary['notifications']} Slack notifications")
    return rc


if __name__ == "__main__":
    sys.exit(main())
