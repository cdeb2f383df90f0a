#!/usr/bin/python3
"""make demo: the whole autoscaling lifecycle on this machine, no StackStorm.

The pack's own rules, sensor, Orquesta workflows and policies run on
tests/st2lite (a stand-in for st2), which calls the real C actions exactly as
st2 would, with the embedded datastore, the local compute provider (the demo
web app on 127.0.1.x), a real HAProxy, a real PowerDNS, a real sshd and a
stand-in chef-solo, and a real Prometheus scraping HAProxy's own exporter.
Phases:
  0 create a group (min 2)       -> the asg_create workflow scales it to min
  1 a New Relic critical alert   -> the newrelic webhook rule -> alert_respond:
    alert_intake -> alert_event, then the governor at once (governor_tick
    react) -> scale_out workflow, timed to the first new node serving
  2 the governor sensor polls    -> scale_out rule -> scale_out workflow, to max
  3 self-healing under load: one node is killed with SIGKILL, another fails
    its /health so HAProxy marks it DOWN, while a client keeps making
    requests through HAProxy -> the health_check timer rule finds both
    unhealthy -> governor -> replace rule -> replace workflow (new nodes up
    first, then the two down); no request may fail, asg_history must show
    the replacement and Slack must have been told
  4 the New Relic recovery       -> governor -> scale_in workflow, back to min
  5 metric-driven scaling: target tracking on Prometheus's request rate
    per serving node; a client makes requests at a steady rate through
    HAProxy -> the metric_collect timer rule samples it -> the governor
    scales out by the formula ceil(nodes x value / target) until the rate
    per node is on target, then, the load down to a trickle, back to min
    (metric_in); no request may fail
  6 rolling refresh: a new image tag -> asg_refresh workflow, batch after
    batch, new nodes first, while a client keeps making requests: every node
    replaced (each with the new spec_id), the group back at its size, no
    request failed, Slack told
  7 decommission                 -> asg_delete workflow; nothing may be left
Environment: AUTOSCALE_DEMO_DIR (work directory, kept, with summary.json),
AUTOSCALE_DEMO_QUIET=1 (no execution trace), AUTOSCALE_DEMO_KEEP=1 (leave the
servers running and list them in servers.json, for a test to inspect),
AUTOSCALE_DEMO_BIN_DIR (run the actions, the sensor's binaries and the demo
app of another build tree, such as build/h1/bin, instead of actions/bin; not
AUTOSCALE_BIN_DIR, which `make check` sets for every test, so the demo under
test stays the release build's as before)."""
import copy
import json
import os
import shutil
import signal
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
from servers import Servers, Traffic, free_port  # noqa: E402

GROUP, ZONE, BACKEND = "demo", "demo.test", "demo"
SPEC = {"name": GROUP, "min": 2, "max": 6, "scale_out_step": 2, "scale_out_cooldown": 3,
        "scale_in_step": 2, "scale_in_cooldown": 3, "compute_provider": "local",
        "dns_provider": "powerdns", "dns_zone": ZONE, "lb_provider": "haproxy",
        "lb_backend": BACKEND, "run_list": "recipe[demo_web]",
        # Health (phase 3): the app's own /health besides the provider and
        # HAProxy; a node is judged 2 s after it came up, and unhealthy after
        # 2 failed probes in a row (defaults: 300 s and 3, for real machines).
        "health_check_path": "/health", "health_grace": 2, "health_threshold": 2}
POLL_SECONDS = 1.0  # the sensor polls every 30 s under st2; the demo is in a hurry
# The health_check timer rule fires every 30 s under st2; here at every poll.
HEALTH_TIMER = "autoscale.health_check_timer"
NOTICE = "autoscale.notice"  # the sensor's word to people, not an operation
# The metric_collect timer rule fires every 15 s under st2; here at every
# poll of phase 5, as Prometheus scrapes every second.
METRIC_TIMER = "autoscale.metric_collect_timer"
# Phase 5's target tracking: the requests per second each serving node of
# the demo backend gets, as Prometheus computes it from HAProxy's own
# counters (its exporter's haproxy_backend_* metrics), kept at TARGET
# req/s. LOAD req/s wants LOAD / TARGET nodes; TRICKLE (after the load
# stops) wants fewer than min, so the group goes back to min.
METRIC_QUERY = (f'sum(rate(haproxy_backend_http_requests_total{{proxy="{BACKEND}"}}[5s])) / '
                f'clamp_min(sum(haproxy_backend_active_servers{{proxy="{BACKEND}"}}), 1)')
TARGET, LOAD, TRICKLE = 5, 20, 2
TRACKING = {"metric_source": "prometheus", "metric_query": METRIC_QUERY,
            "target_value": TARGET, "target_tolerance": 10,
            # stabilisation: a scale-out needs 2 s of readings above target,
            # a scale-in follows the highest wish of the last 4 s (300 s by
            # default); a sample older than 10 s holds the group
            "scale_out_window": 2, "scale_in_window": 4, "metric_max_age": 10}
NEW_IMAGE = "demo-web:2"  # phase 6 (the local provider starts the same app)
# Looking, not acting: left out of the execution trace.
QUIET_REFS = ("autoscale.node_list", "autoscale.health_check", "autoscale.asg_history",
              "autoscale.metric_collect", "autoscale.asg_get", "core.noop")


def say(text=""):
    print(text, flush=True)


class Demo:
    def __init__(self, work, quiet):
        self.work, self.quiet = work, quiet
        self.servers = Servers(work)
        self.summary = {"phases": {}}
        self.told = 0  # notifications already shown
        self.seen = set()  # every node name the group ever had
        self.health = {}  # node -> health status last shown
        self.decision = None  # the group's decision in the last tick shown
        self.formulas = []  # phase 5: the tick lines shown
        self.on_target_ticks = 0  # phase 5: ticks on target in a row

    # ---- setup ----
    def start(self):
        s = self.servers
        s.start_haproxy(BACKEND)
        s.start_prometheus()  # scraping HAProxy from now on: its rate windows fill
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
            "prometheus_url": s.prometheus_url,
        }
        self.db = os.path.join(self.work, "autoscale.db")
        env = {"AUTOSCALE_DB": self.db, "XDG_STATE_HOME": os.path.join(self.work, "state")}
        for k in [k for k in os.environ if k.startswith("ST2_")]:
            del os.environ[k]  # the embedded datastore, never a real st2 by accident
        os.environ.update(env)  # the sensor's governor_tick reads the same store
        self.pack = st2lite.Pack(pack_root(self.work), config)
        self.runner = st2lite.Runner(self.pack, env, trace=self.trace)
        self.reactor = st2lite.Reactor(self.runner)
        self.sensor = self.reactor.load_sensor(
            "GovernorSensor", os.path.join(ROOT, "tests", "sensor"))
        # Keep each tick's document for the demo to show (the formula);
        # the sensor itself dispatches only its acting decisions.
        self.tick_doc, tick = None, self.sensor._tick

        def keeping():
            self.tick_doc = tick()
            return self.tick_doc
        self.sensor._tick = keeping

    def trace(self, ex, event):
        if self.quiet or event != "end" or ex.ref in QUIET_REFS:
            return  # the demo looking, not the lifecycle acting
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
    def govern_until(self, done, seconds=50, health=False, fail_fast=False, metric=False):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if health:
                self.health_tick()
            if metric:
                self.metric_tick()
            self.sensor.poll()
            if metric:
                self.show_formula()
            for ex in self.reactor.handle_pending():
                out = (ex.result or {}).get("output") or {}
                remove = ex.params.get("remove")
                if ex.ref == "autoscale.notify":  # a notice (rules/notify_notice.yaml)
                    say(f"  governor notice -> notify {ex.params.get('event')}: {ex.status}")
                else:
                    say(f"  governor -> {ex.ref} {ex.params.get('count')} node(s)"
                        f"{'' if remove is None else f', remove {remove}'}: "
                        f"{ex.status}, result {out.get('result')}")
                self.check(ex.succeeded or not fail_fast, f"{ex.ref} {ex.status}")
            if done():
                return True
            time.sleep(POLL_SECONDS)
        return False

    def quiet_tick(self):
        """One more tick: the operations it dispatched (none is the right
        answer at max or min); its notices go to Slack as usual."""
        self.sensor.poll()
        acting = [t for t, _ in self.reactor.pending if t != NOTICE]
        if not acting:
            self.reactor.handle_pending()
        return acting

    # ---- health, as st2 runs it: the timer rule -> health_check ----
    def health_tick(self):
        for ex in self.reactor.fire_timer(HEALTH_TIMER):
            self.check(ex.succeeded, f"health_check {ex.status}: {ex.result}")
        for node, rec in sorted(self.health_records().items()):
            status = rec.get("status")
            if self.health.get(node) != status:
                say(f"  health_check: {node} {status}"
                    f"{' (' + rec['reason'][:90] + ')' if rec.get('reason') else ''}")
                self.health[node] = status

    def health_records(self):
        """The group's health records, read from the datastore itself
        (lib/model/health.h: autoscale.health.<group>.<node>)."""
        prefix = f"autoscale.health.{GROUP}."
        with sqlite3.connect(self.db) as db:
            rows = db.execute("SELECT name, value FROM kv WHERE name >= ? AND name < ?",
                              (prefix, prefix + "\uffff")).fetchall()
        out = {}
        for name, value in rows:
            try:
                out[name[len(prefix):]] = json.loads(value)
            except ValueError:
                pass
        return out

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

        say("\n== phase 1: New Relic posts a critical incident to the webhook; the alert "
            "itself starts the scale-out")
        self.react()

        say("\n== phase 2: the governor scales out while the alert lasts (cooldown "
            f"{SPEC['scale_out_cooldown']} s)")
        grown = self.govern_until(lambda: len(self.active()) >= SPEC["max"])
        self.check(grown, "the group did not reach max")
        self.check(not self.quiet_tick(), "the governor went past max")
        say("  at max: the next tick decides nothing")
        active, serving, dns = self.show("alert")
        self.check(set(serving) == set(active) and len(active) == SPEC["max"],
                   "every node should serve through HAProxy")

        self.heal()

        say("\n== phase 4: New Relic posts the recovery; the governor scales in, "
            "draining each node first")
        execs = self.alert("closed")
        self.check(execs and all(e.succeeded for e in execs), "alert_intake failed")
        shrunk = self.govern_until(lambda: len(self.nodes()) <= SPEC["min"])
        self.check(shrunk, "the group did not come back to min")
        self.check(not self.quiet_tick(), "the governor went below min")
        say("  at min: the next tick decides nothing")
        active, serving, dns = self.show("recovered")
        self.check(len(active) == SPEC["min"] and set(serving) == set(active),
                   "min nodes should remain, all serving")

        self.metric_scaling()
        self.refresh()

        say(f"\n== phase 7: decommission '{GROUP}' with the asg_delete workflow")
        ex = self.runner.run("autoscale.asg_delete", {"name": GROUP})
        self.check(ex.succeeded, f"asg_delete workflow {ex.status}: {ex.result}")
        self.leftovers()

    def react(self):
        """Phase 1: the webhook's alert_respond runs the governor for the
        group at once (governor_tick react) and dispatches the scale-out it
        leased, with no sensor poll; timed from the webhook to the first new
        node answering a client through HAProxy (bench/alert_to_serving.py
        measures the same path over many runs)."""
        # Phase 0's own scale-out started the scale-out cooldown: an alert
        # inside it is decided (alert_cooldown) and left to a later tick.
        # Epoch seconds, as the governor counts them.
        ex = self.runner.run("autoscale.asg_get", {"name": GROUP})
        events = ex.result["stdout"].get("events") or [] if ex.succeeded else []
        last = max((e.get("at") or 0 for e in events if e.get("op") == "scale_out"), default=0)
        wait = last + SPEC["scale_out_cooldown"] + 1 - time.time()
        if wait > 0:
            say(f"  (waiting {wait:.1f} s for phase 0's scale-out cooldown to pass)")
            time.sleep(wait)
        before = set(self.nodes())
        traffic = Traffic(f"http://127.0.0.1:{self.servers.frontend_port}/", pause=0.002).start()
        first = len(self.runner.log)
        t0 = time.monotonic()
        try:
            execs = self.alert("open")
            self.check(execs and all(e.succeeded for e in execs), "alert_respond failed")
            end = time.monotonic() + 20
            while time.monotonic() < end and not set(traffic.first) - before:
                time.sleep(0.01)
        finally:
            traffic.stop()
        new = {n: t for n, t in traffic.first.items() if n not in before}
        run = self.runner.log[first:]
        responds = {e.id for e in run if e.ref == "autoscale.alert_respond"}
        outs = [e for e in run if e.ref == "autoscale.scale_out"]
        tick = next((e for e in run if e.ref == "autoscale.governor_tick"
                     and e.parent and e.parent.id in responds), None)
        self.check(outs and outs[0].parent and outs[0].parent.id in responds,
                   "the alert itself should have started the scale-out (alert_respond)")
        self.check(new, "no new node served a request after the alert")
        serving_ms = (min(new.values()) - t0) * 1000
        decision_ms = (tick.ended - t0) * 1000 if tick and tick.ended else None
        say(f"  the alert started scale_out {outs[0].params.get('count')} node(s) itself, no "
            f"poll: decision {decision_ms:.0f} ms after the webhook, first new node "
            f"({min(new, key=new.get)}) serving through HAProxy after {serving_ms:.0f} ms, its "
            f"Chef run over SSH included "
            f"({traffic.made} requests, {traffic.failed} failed)")
        self.check(traffic.failed == 0, f"{traffic.failed} request(s) failed")
        self.summary["react"] = {"alert_to_serving_ms": round(serving_ms, 1),
                                 "decision_ms": round(decision_ms, 1) if decision_ms else None,
                                 "scale_out_parent": "alert_respond", "made": traffic.made,
                                 "failed": traffic.failed}

    def heal(self):
        say("\n== phase 3: self-healing under load: a node is killed with SIGKILL and "
            "another\n   fails its health check, while a client keeps making requests "
            "through HAProxy")
        since, told = int(time.time()), len(self.servers.notices)
        nodes = self.nodes()
        active = sorted(n for n, r in nodes.items() if r.get("state") == "active")
        self.check(len(active) >= 3, "self-healing needs a node left to serve")
        traffic = Traffic(f"http://127.0.0.1:{self.servers.frontend_port}/").start()
        killed = sick = None
        try:
            # Every node judged before anything happens. The two to break are
            # past their grace, so both count failures from the same probe on
            # (and one replacement takes both).
            for _ in range(30):
                self.health_tick()
                healthy = [n for n in active if self.health.get(n) == "healthy"]
                if len(healthy) >= 2:
                    break
                time.sleep(POLL_SECONDS)
            self.check(len(healthy) >= 2, f"no two nodes judged healthy: {self.health}")
            killed, sick = healthy[0], healthy[1]
            for _ in range(50):  # both are serving the client when they fail
                if traffic.by_node.get(killed) and traffic.by_node.get(sick):
                    break
                time.sleep(0.1)
            pids = node_processes({killed})
            self.check(len(pids) == 1, f"{killed} should have one process, not {pids}")
            os.kill(pids[0], signal.SIGKILL)
            say(f"  kill -9 {pids[0]}: {killed} is gone, without a word to anyone")
            n = nodes[sick]
            with urllib.request.urlopen(f"http://{n['address']}:{n['port']}/sick",
                                        data=b"", timeout=5) as r:
                self.check(r.status == 200, f"{sick} refused /sick")
            say(f"  {sick} answers /health with 503 from now on; its process lives on")
            t0 = time.monotonic()
            down = self.wait_down({killed, sick})
            say(f"  HAProxy's checks mark {killed} and {sick} DOWN after "
                f"{time.monotonic() - t0:.1f} s ({down})")
            healed = self.govern_until(lambda: self.healed({killed, sick}), seconds=90,
                                       health=True, fail_fast=True)
            if healed:
                self.check(not self.quiet_tick(), "the governor went on after replacing")
                say("  replaced: the next tick decides nothing more")
                active, serving, dns = self.show("healed")
        finally:
            seen = traffic.stop()
            self.summary["heal"] = {"killed": killed, "sick": sick, "traffic": seen}
            say(f"  the client made {seen['made']} requests through HAProxy during the "
                f"phase, {seen['failed']} failed"
                f"{': ' + '; '.join(seen['errors']) if seen['errors'] else ''}")
            by = seen["by_node"]
            if killed:
                say(f"  ({killed} answered {by.get(killed, 0)} before it was killed, {sick} "
                    f"{by.get(sick, 0)} until HAProxy took it out)")
        self.check(healed, f"{killed} and {sick} were not replaced")
        history = self.history(since)
        slack = self.servers.notices[told:]
        self.summary["heal"].update(history=history, slack=slack)
        self.check(seen["failed"] == 0 and seen["made"] > 0,
                   f"{seen['failed']} of {seen['made']} requests failed")
        self.check(len(active) == SPEC["max"] and set(serving) == set(active)
                   and not {killed, sick} & set(active),
                   "the group should be back at max, every node serving, the two gone")
        replaced = set()
        for e in history:
            if e.get("kind") == "event" and e.get("op") == "replace":
                nodes_of = e.get("nodes") or []
                replaced |= set(nodes_of.split(",") if isinstance(nodes_of, str) else nodes_of)
        self.check(any(e.get("kind") == "decision" and e.get("action") == "replace"
                       for e in history), "asg_history shows no replace decision")
        self.check({killed, sick} <= replaced,
                   f"asg_history's replace events name {sorted(replaced)}, not both nodes")
        told_of = [m for m in slack if "node_replaced" in m and killed in m and sick in m]
        self.check(told_of, "Slack was not told which nodes were replaced")
        say(f"  Slack was told: {told_of[-1][:400]}")

    # ---- phase 5: target tracking ----
    def metric_tick(self):
        """The metric_collect timer rule, as st2 fires it: every group's
        metric read and appended to its samples."""
        for ex in self.reactor.fire_timer(METRIC_TIMER):
            self.check(ex.succeeded, f"metric_collect {ex.status}: {ex.result}")

    def show_formula(self):
        """The group's decision in the tick just made, with its formula,
        when it says something new (the code or the wish changed, or it
        acts)."""
        doc = self.tick_doc or {}
        d = next((d for d in doc.get("decisions") or [] if d.get("group") == GROUP), None)
        if not d:
            return
        m = d.get("metric") or {}
        last, self.decision = self.decision, d
        on = d.get("code") == "metric_on_target" and d.get("capacity_before", 0) > SPEC["min"]
        self.on_target_ticks = self.on_target_ticks + 1 if on else 0
        if (d.get("action") == "none" and last and last.get("code") == d.get("code")
                and (last.get("metric") or {}).get("recommended") == m.get("recommended")
                and last.get("capacity_before") == d.get("capacity_before")):
            return
        if m.get("formula"):
            # what the stabilisation windows make of it: a scale-out follows
            # the lowest wish of its window, a scale-in the highest of its own
            what = (f"{m['value']:.2f} req/s per node: {m['formula']}; lowest wish of the "
                    f"last {TRACKING['scale_out_window']} s "
                    f"{m.get('scale_out_recommendation')}, highest of the last "
                    f"{TRACKING['scale_in_window']} s {m.get('scale_in_recommendation')}")
        else:
            what = (d.get("reason") or "")[:100]
        act = ("" if d.get("action") == "none"
               else f" -> {d['action']} {d.get('count')}, capacity "
                    f"{d.get('capacity_before')} -> {d.get('capacity_after')}")
        line = f"capacity {d.get('capacity_before')}, {what} [{d.get('code')}]{act}"
        say(f"  tick: {line}")
        self.formulas.append({"code": d.get("code"), "action": d.get("action"),
                              "count": d.get("count"), "formula": m.get("formula"),
                              "value": m.get("value"), "capacity": d.get("capacity_before"),
                              "line": line})

    def settled(self):
        """Above min and on target three ticks in a row: no flapping."""
        return self.on_target_ticks >= 3

    def metric_scaling(self):
        say(f"\n== phase 5: metric-driven scaling: the governor keeps each serving node at "
            f"{TARGET} requests/s,\n   as Prometheus reads HAProxy's own counters "
            f"(target_tolerance {TRACKING['target_tolerance']}%)")
        say(f"  metric_query: {METRIC_QUERY}")
        since, told = int(time.time()), len(self.servers.notices)
        self.decision, self.formulas, self.on_target_ticks = None, [], 0
        ex = self.runner.run("autoscale.asg_update", dict(TRACKING, name=GROUP))
        self.check(ex.succeeded, f"asg_update {ex.status}: {ex.result}")
        url = f"http://127.0.0.1:{self.servers.frontend_port}/"
        traffic = Traffic(url, rate=LOAD).start()
        say(f"  a client makes {LOAD} requests/s through HAProxy: {LOAD} / {TARGET} = "
            f"{LOAD // TARGET} nodes' worth")
        peak = None
        try:
            settled = self.govern_until(self.settled, seconds=60, fail_fast=True,
                                        metric=True)
            self.check(settled, "the group did not settle on target under the load")
            peak = len(self.active())
            say(f"  settled: {peak} nodes, on target for {self.on_target_ticks} ticks in a row")
            traffic.rate = TRICKLE
            say(f"\n  the load drops to {TRICKLE} requests/s: fewer nodes than min would do")
            back = self.govern_until(lambda: len(self.nodes()) <= SPEC["min"], seconds=60,
                                     fail_fast=True, metric=True)
            self.check(back, "the group did not come back to min by the metric")
            self.check(not self.quiet_tick(), "the governor went below min")
            say("  at min: the next tick decides nothing")
        finally:
            seen = traffic.stop()
            self.summary["metric"] = {"query": METRIC_QUERY, "target": TARGET, "load": LOAD,
                                      "trickle": TRICKLE, "peak": peak, "traffic": seen,
                                      "ticks": self.formulas}
            say(f"  the client made {seen['made']} requests through HAProxy during the "
                f"phase, {seen['failed']} failed"
                f"{': ' + '; '.join(seen['errors']) if seen['errors'] else ''}")
        active, serving, dns = self.show("metric")
        history = self.history(since)
        self.summary["metric"].update(history=history, slack=self.servers.notices[told:])
        self.check(seen["failed"] == 0 and seen["made"] > 0,
                   f"{seen['failed']} of {seen['made']} requests failed")
        self.check(len(active) == SPEC["min"] and set(serving) == set(active),
                   "min nodes should remain, all serving")
        codes = [e.get("code") for e in history if e.get("kind") == "decision"]
        for code in ("metric_out", "metric_in"):
            self.check(any(e.get("code") == code and "ceil(" in (e.get("reason") or "")
                           for e in history if e.get("kind") == "decision"),
                       f"asg_history shows no {code} decision with its formula: {codes}")
        # Target tracking off again: the rest of the demo scales on nothing.
        ex = self.runner.run("autoscale.asg_update", {"name": GROUP, "target_value": 0,
                                                      "metric_source": "none"})
        self.check(ex.succeeded, f"asg_update {ex.status}: {ex.result}")
        say("  target tracking off again (asg_update target_value=0 metric_source=none)")

    # ---- phase 6: rolling refresh ----
    def refresh(self):
        say(f"\n== phase 6: rolling refresh to image '{NEW_IMAGE}' with the asg_refresh "
            "workflow\n   (min_healthy_percentage 50), while a client keeps making "
            "requests through HAProxy")
        before = self.nodes()
        told = len(self.servers.notices)
        old_specs = sorted({str(r.get("spec_id")) for r in before.values()})
        say(f"  before: {with_specs(before)}")
        traffic = Traffic(f"http://127.0.0.1:{self.servers.frontend_port}/").start()
        try:
            ex = self.runner.run("autoscale.asg_refresh", {
                "name": GROUP, "image": NEW_IMAGE, "min_healthy_percentage": 50,
                "health_timeout": 60})
        finally:
            seen = traffic.stop()
        out = (ex.result or {}).get("output") or {}
        after = self.nodes()
        new_specs = sorted({str(r.get("spec_id")) for r in after.values()})
        why = f": {out['message']}" if out.get("message") else ""
        say(f"  asg_refresh {ex.status}: state {out.get('state')}, {out.get('replaced')} of "
            f"{out.get('to_replace')} node(s) replaced{why}")
        say(f"  after: {with_specs(after)}")
        by = seen["by_node"]
        say(f"  the client made {seen['made']} requests through HAProxy during the refresh, "
            f"{seen['failed']} failed"
            f"{': ' + '; '.join(seen['errors']) if seen['errors'] else ''} (old nodes "
            f"answered {sum(by.get(n, 0) for n in before)}, new ones "
            f"{sum(by.get(n, 0) for n in after)})")
        active, serving, dns = self.show("refreshed")
        got = self.runner.run("autoscale.asg_get", {"name": GROUP})
        image = ((got.result or {}).get("stdout") or {}).get("group", {}).get("image")
        say(f"  the group's spec now says image '{image}'")
        slack = self.servers.notices[told:]
        self.summary["refresh"] = {"image": NEW_IMAGE, "spec_image": image,
                                   "before": sorted(before),
                                   "after": sorted(after), "old_specs": old_specs,
                                   "new_specs": new_specs, "output": out,
                                   "traffic": seen, "slack": slack}
        self.check(ex.succeeded and out.get("state") == "succeeded",
                   f"asg_refresh {ex.status}: {out or ex.result}")
        self.check(image == NEW_IMAGE, f"the group's image is {image!r}, not {NEW_IMAGE!r}")
        self.check(not set(before) & set(after), f"old nodes left: {set(before) & set(after)}")
        self.check(len(new_specs) == 1 and new_specs[0] not in old_specs
                   and new_specs[0] != "None",
                   f"every node should have one new spec_id: {old_specs} -> {new_specs}")
        self.check(len(active) == len(before) and set(serving) == set(active),
                   "the group should be back at its size, every node serving")
        self.check(seen["failed"] == 0 and seen["made"] > 0,
                   f"{seen['failed']} of {seen['made']} requests failed")
        told_of = [m for m in slack if "refresh_done" in m]
        self.check(told_of, f"Slack was not told the refresh was done: {slack}")
        say(f"  Slack was told: {told_of[-1][:300]}")

    def wait_down(self, names, seconds=30):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            status = self.servers.haproxy_status(BACKEND)
            if all(status.get(n, "").startswith("DOWN") for n in names):
                return ", ".join(f"{n} {s}" for n, s in sorted(status.items()))
            time.sleep(0.1)
        raise DemoFailed(f"HAProxy did not mark {sorted(names)} DOWN: "
                         f"{self.servers.haproxy_status(BACKEND)}")

    def healed(self, gone):
        nodes = self.nodes()
        active = [n for n, r in nodes.items() if r.get("state") == "active"]
        return not gone & set(nodes) and len(active) == SPEC["max"]

    def history(self, since):
        """asg_history since the phase began, shown as an operator reads it."""
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since))
        ex = self.runner.run("autoscale.asg_history", {"name": GROUP, "since": iso})
        self.check(ex.succeeded, f"asg_history {ex.status}: {ex.result}")
        entries = ex.result["stdout"].get("entries", [])
        say(f"  asg_history {GROUP} since {ex.params.get('since')}: "
            f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}")
        for e in entries:
            if e.get("kind") == "decision":
                what = (f"decision {e.get('action')} {e.get('count')}"
                        f"{', remove ' + str(e.get('remove')) if e.get('remove') else ''}"
                        f" [{e.get('code')}]")
            else:
                nodes_of = e.get("nodes") or []
                nodes_of = nodes_of if isinstance(nodes_of, str) else ", ".join(nodes_of)
                what = (f"event {e.get('op')} {e.get('result')}, {e.get('count')} node(s)"
                        f"{': ' + nodes_of if nodes_of else ''}")
            reason = (e.get("reason") or "")[:70]
            say(f"    {e.get('time')} {what}{' - ' + reason if reason else ''}")
        return entries

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


def with_specs(nodes):
    """ "name (spec <spec_id>), ..." of node_list's records."""
    return ", ".join(f"{n} (spec {r.get('spec_id')})" for n, r in sorted(nodes.items()))


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


def pack_root(work):
    """The pack as st2lite should run it: this tree, or, with
    AUTOSCALE_DEMO_BIN_DIR, a copy made of links whose actions/bin is that
    directory (the sensor and alert_intake.sh find their binaries beside
    them, so every binary comes from one build)."""
    bin_dir = os.environ.get("AUTOSCALE_DEMO_BIN_DIR")
    if not bin_dir:
        return ROOT
    shadow = os.path.join(work, "pack")
    os.makedirs(os.path.join(shadow, "actions"))
    for entry in os.listdir(ROOT):
        if entry != "actions":
            os.symlink(os.path.join(ROOT, entry), os.path.join(shadow, entry))
    for entry in os.listdir(os.path.join(ROOT, "actions")):
        if entry != "bin":
            os.symlink(os.path.join(ROOT, "actions", entry),
                       os.path.join(shadow, "actions", entry))
    os.symlink(os.path.abspath(bin_dir), os.path.join(shadow, "actions", "bin"))
    return shadow


def stop_nodes(work):
    """After a failure: SIGTERM the node processes the local provider
    started (each in its own session, out of stop_all's reach), known by
    the pid in its registry entry AND the name on its command line."""
    reg = os.path.join(work, "local")
    for f in os.listdir(reg) if os.path.isdir(reg) else []:
        try:
            with open(os.path.join(reg, f)) as fh:
                entry = json.load(fh) if f.endswith(".json") else None
        except (OSError, ValueError):
            continue
        if isinstance(entry, dict) and entry.get("pid") in node_processes({entry.get("name")}):
            try:
                os.kill(entry["pid"], signal.SIGTERM)
            except OSError:
                pass


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
    "refresh_start": lambda o: (f"refresh {(o.get('refresh') or {}).get('id')}: "
                                f"{(o.get('refresh') or {}).get('to_replace')} node(s) to "
                                f"replace, {(o.get('refresh') or {}).get('batch')} per batch"),
    "refresh_step": lambda o: (f"{o.get('do')}"
                               + (f": add {o.get('add')}, then remove "
                                  f"{', '.join(o.get('remove') or [])}"
                                  if o.get("do") == "batch" else "")),
    "refresh_wait": lambda o: f"healthy: {', '.join(o.get('healthy') or []) or 'none'}",
    "refresh_batch_done": lambda o: (f"{o.get('replaced')} replaced, "
                                     f"{o.get('do_next')}"),
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
            if rc:
                stop_nodes(work)
        demo.summary["seconds"] = round(time.monotonic() - started, 1)
        demo.summary["notifications"] = len(demo.servers.notices)
        demo.summary["executions"] = [
            {"ref": e.ref, "id": e.id, "parent": e.parent.id if e.parent else None,
             "params": sorted(e.live), "node": e.params.get("node"), "status": e.status}
            for e in getattr(demo, "runner", None).log] if hasattr(demo, "runner") else []
        with open(os.path.join(work, "summary.json"), "w") as f:
            json.dump(demo.summary, f, indent=1)
        if not os.environ.get("AUTOSCALE_DEMO_DIR"):
            shutil.rmtree(work, ignore_errors=True)
    say(f"\ndemo: {'all eight phases passed' if rc == 0 else 'FAILED'} in "
        f"{demo.summary['seconds']} s; {demo.summary['notifications']} Slack notifications")
    return rc


if __name__ == "__main__":
    sys.exit(main())
