"""No secret of the pack config travels on an action's command line under
st2 (docs/actions.md, "Secrets"): st2 passes parameters as the command line,
which any local user reads in /proc/PID/cmdline, and the `env` runner
parameter as the environment, which only the action's user and root read.
Every action of the real pack is rendered the way st2 renders it
(tests/st2lite) with a config whose every secret key is set, and the command
line st2 would build is searched for each value. Then one action runs for
real, to show the C side takes the secret from the environment.
Run: python3 -m unittest tests/pack/test_secrets.py"""
import os
import sys
import unittest

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import st2lite  # noqa: E402
from st2lite import params as P  # noqa: E402
from test_config_render import actions, required_live  # noqa: E402


def secret_keys():
    with open(os.path.join(ROOT, "config.schema.yaml"), encoding="utf-8") as f:
        schema = yaml.safe_load(f)
    return sorted(k for k, v in schema.items() if v.get("secret"))


def marker(key):
    return f"S3CR3T-{key}-M4RK"


def value(key):
    """A value with the characters st2's rendering and quoting change; the
    marker survives any of them."""
    return f"{marker(key)} \"q\" \\ 'x' \u00e9\n/end"


class SecretsOffTheCommandLine(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = secret_keys()
        cls.config = {k: value(k) for k in cls.keys}
        # webhook_headers is a JSON object's text
        cls.config["webhook_headers"] = '{"Authorization": "Bearer %s"}' % marker("webhook_headers")
        cls.pack = st2lite.Pack(ROOT, cls.config)

    def render(self, meta):
        """(runner parameters, action parameters, the command line) as st2
        builds them for the action, with only its required parameters given."""
        runner = P.RUNNERS[meta["runner_type"]]
        ctx = {"user": "stanley", "pack": self.pack.ref}
        live = P.render_live_params(runner, meta["parameters"], required_live(meta), ctx,
                                    self.pack.config)
        rp, ap = P.render_final_params(runner, meta["parameters"], live, ctx, self.pack.config)
        named, positional = P.script_args(meta, ap, rp.get("kwarg_op") or "--")
        entry = self.pack.entry_path(meta)
        return rp, ap, P.argv(entry, named, positional), P.command_line(entry, named, positional)

    def test_the_config_has_secrets_to_look_for(self):
        self.assertIn("openstack_password", self.keys)
        self.assertGreaterEqual(len(self.keys), 9)

    def test_no_secret_on_any_command_line(self):
        shell = [m for m in actions() if m["runner_type"] == "local-shell-script"]
        self.assertGreater(len(shell), 20)
        for meta in shell:
            with self.subTest(action=meta["name"]):
                rp, ap, argv, command = self.render(meta)
                for key in self.keys:
                    self.assertNotIn(marker(key), command)
                    self.assertFalse([a for a in argv if marker(key) in a])

    def test_every_secret_parameter_arrives_in_the_environment(self):
        seen = 0
        for meta in actions():
            secrets = [n for n, p in (meta.get("parameters") or {}).items()
                       if isinstance(p, dict) and p.get("secret")]
            if not secrets:
                continue
            with self.subTest(action=meta["name"]):
                rp, ap, _, _ = self.render(meta)
                for name in secrets:
                    self.assertIsNone(ap[name], "no default: absent from the command line")
                    self.assertEqual(rp["env"]["AUTOSCALE_SECRET_" + name.upper()],
                                     self.config[name], "intact, whatever its characters")
                    seen += 1
        self.assertGreaterEqual(seen, 20)

    def test_the_action_reads_it_from_the_environment(self):
        """notify to a webhook on a port nobody listens on: it can only try
        to connect if it got the URL, and prints no form of it."""
        url = "http://127.0.0.1:1/hook/%s?t='q'&u=\"x\"&v=1" % marker("webhook_url")
        pack = st2lite.Pack(ROOT, dict(self.config, notify_provider="webhook",
                                       webhook_url=url))
        ex = st2lite.Runner(pack).run("autoscale.notify", {"event": "node_up"})
        out = ex.result["stdout"]
        self.assertIsInstance(out, dict, ex.result)
        self.assertEqual(out["error"]["code"], "http_unreachable", out)
        self.assertGreater(out["attempts"], 0)
        text = repr(ex.result)
        for key in self.keys:
            self.assertNotIn(marker(key), text)


if __name__ == "__main__":
    unittest.main()
