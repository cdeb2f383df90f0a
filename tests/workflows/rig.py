"""The st2lite rig the workflow tests share (not a test file itself:
tests/*/test_*.py are the tests). Importing it puts tests/ (st2lite),
demo/ (servers.py) and this folder on sys.path, in the order the test files
had them, so `import st2lite` and `from servers import ...` work after it.

- start_st2(test, config, trace): the pack on st2lite as a test's setUp
  makes it: the store and state under test.dir, the process's environment
  cleaned of st2 and clock settings for the test's length (the pack's
  sensor runs actions in it), test.root/pack/runner/reactor.
- kill_machine(m): stop a local-provider machine if its pid is still it.
- PoolRig: the warm pool tests' fixture (a TestCase mixin): group "web"
  on the local provider behind a real HAProxy and PowerDNS, torn down
  whole, and the helpers that read what the actions left.

Shared by test_warm_pool.py, test_warm_pool_upkeep.py and
test_alert_respond.py; pack_root stays in test_refresh.py, which the
others already imported it from."""
import json
import os
import shutil
import signal
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "demo"))
sys.path.insert(0, HERE)

import st2lite  # noqa: E402
from servers import Servers, free_port  # noqa: E402
from test_refresh import pack_root  # noqa: E402

ZONE = "web.test"
TIMER = "autoscale.pool_refill_timer"


def start_st2(test, config, trace=None):
    """test.config, test.env, os.environ (restored by a cleanup), and the
    pack under st2lite: test.root, test.pack, test.runner, test.reactor.
    trace is st2lite.Runner's (fn(ex, event)), or None."""
    test.config = config
    test.env = {"AUTOSCALE_DB": os.path.join(test.dir, "db"),
                "XDG_STATE_HOME": os.path.join(test.dir, "state")}
    # Actions the sensor or a test runs directly see this process's environment.
    saved = dict(os.environ)
    test.addCleanup(lambda: (os.environ.clear(), os.environ.update(saved)))
    for k in [k for k in os.environ if k.startswith(("ST2_", "AUTOSCALE_TEST_NOW"))]:
        del os.environ[k]
    os.environ.update(test.env)
    test.root = pack_root(test.dir)
    test.pack = st2lite.Pack(test.root, config)
    test.runner = st2lite.Runner(test.pack, test.env, trace=trace)
    test.reactor = st2lite.Reactor(test.runner)


def kill_machine(m):
    """SIGKILL a machine the local provider started (its registry record m)
    if its pid is still that process (start time, as the provider checks)."""
    try:
        with open(f"/proc/{m['pid']}/stat") as fh:
            started = int(fh.read().rsplit(")", 1)[1].split()[19])
        if started == int(m["start_time"]):
            os.kill(m["pid"], signal.SIGKILL)
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        pass


class PoolRig:
    """Mix into a unittest.TestCase (before it). PREFIX names the temporary
    directory; a class that defines trace(ex, event) gets it as the
    runner's trace."""
    PREFIX = "as-pool-"
    trace = None

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix=self.PREFIX)
        self.servers = Servers(self.dir)
        self.servers.start_haproxy("web")
        self.servers.start_pdns(ZONE)
        port = free_port()
        self.local = os.path.join(self.dir, "local")
        start_st2(self, {"compute_provider": "local", "local_dir": self.local,
                         "local_port": port, "local_grace_ms": 300,
                         "lb_server_port": port, "lb_drain_timeout": 2,
                         "haproxy_socket": self.servers.haproxy_socket,
                         "powerdns_api_url": self.servers.pdns_api_url,
                         "powerdns_api_key": self.servers.pdns_api_key}, self.trace)

    def tearDown(self):
        try:
            self.reactor.wait_idle()  # the refills the rules engine started
            for g in self.action("asg_list").get("groups", []):
                self.runner.run("autoscale.lease_release", {"name": g["name"]})
                self.runner.run("autoscale.asg_delete", {"name": g["name"]})
        finally:
            self.kill_machines()
            self.servers.stop_all()
            shutil.rmtree(self.dir, ignore_errors=True)

    def kill_machines(self):
        for m in self.machines().values():
            kill_machine(m)

    def action(self, _action, **params):
        ex = self.runner.run(f"autoscale.{_action}", params)
        return ex.result["stdout"] if ex.result and "stdout" in ex.result else ex.result

    def run_ok(self, ref, **params):
        ex = self.runner.run(f"autoscale.{ref}", params)
        self.assertTrue(ex.succeeded, (ref, ex.result, self.failures()))
        return ex

    def failures(self):
        return [(e.ref, e.params.get("node"), (e.result or {}).get("stdout", e.result))
                for e in self.runner.log if not e.succeeded]

    def nodes(self):
        return {n["name"]: n for n in self.action("node_list", name="web").get("nodes", [])}

    def states(self, state):
        return sorted(n for n, r in self.nodes().items() if r["state"] == state)

    def machines(self):
        """The local provider's registry: <group>.<node>.json per machine."""
        out = {}
        for f in os.listdir(self.local) if os.path.isdir(self.local) else []:
            if f.endswith(".json") and f.startswith("web."):
                try:
                    with open(os.path.join(self.local, f)) as fh:
                        out[f[len("web."):-len(".json")]] = json.load(fh)
                except (OSError, ValueError):
                    pass
        return out

    def in_dns(self):
        """The node names with an A record of their own in the zone."""
        return sorted(name.split(".", 1)[0] for name in self.servers.zone_records(ZONE)
                      if name != f"web.{ZONE}.")
