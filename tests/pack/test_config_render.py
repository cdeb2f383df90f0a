"""Every action's parameters render under st2's rules with the configs an
operator really has: none at all, the shipped example (the README's), and a
minimal one per provider. st2 renders `{{ config_context.x }}` with
StrictUndefined and fills in only the schema's defaults, so one referenced
key without a default refuses the execution before anything runs
(st2-contract.md s.2). Uses tests/st2lite's strict rendering.
Run: python3 -m unittest tests/pack/test_config_render.py"""
import glob
import os
import sys
import unittest

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import st2lite  # noqa: E402

EXAMPLE = os.path.join(ROOT, "autoscale.yaml.example")

# The smallest config that selects each provider (its credentials and
# endpoints), as the README and docs describe them.
MINIMAL = {
    "empty": {},
    "local": {"compute_provider": "local"},
    "openstack": {"compute_provider": "openstack",
                  "openstack_auth_url": "https://keystone.example.com:5000/v3",
                  "openstack_username": "autoscale", "openstack_password": "pw",
                  "openstack_project_name": "web"},
    "openstack_appcred": {"compute_provider": "openstack",
                          "openstack_auth_url": "https://keystone.example.com:5000/v3",
                          "openstack_application_credential_id": "id",
                          "openstack_application_credential_secret": "s"},
    "digitalocean": {"compute_provider": "digitalocean", "digitalocean_token": "t",
                     "dns_provider": "digitalocean", "lb_provider": "digitalocean",
                     "digitalocean_lb_id": "lb-1"},
    "powerdns": {"dns_provider": "powerdns", "dns_zone": "example.com",
                 "powerdns_api_key": "k"},
    "haproxy": {"lb_provider": "haproxy", "haproxy_socket": "/run/haproxy/admin.sock"},
    "slack": {"notify_provider": "slack",
              "slack_webhook_url": "https://hooks.slack.com/services/T/B/X"},
    "webhook": {"notify_provider": "webhook", "webhook_url": "https://example.com/hook"},
    "chef_client": {"run_list": "recipe[web]", "chef_mode": "client",
                    "chef_server_url": "https://chef.example.com/organizations/acme",
                    "chef_client_name": "autoscale", "chef_client_key_file": "/etc/k.pem"},
}

# A valid value for every required parameter of every action, so that what is
# under test is the rendering of the defaults, not the caller's input.
REQUIRED = {"name": "web", "node": "web-0a1b2c3d", "count": 1, "lease_id": "l-1",
            "event": "node_up", "body": "{}", "requested": 1,
            "confirm": "delete-every-group", "size": 3, "remove": 1,
            "refresh_id": "1700000000-0badcafe", "nodes": "web-0a1b2c3d",
            "schedule": "office", "start": "0 8 * * MON-FRI"}


def actions():
    for path in sorted(glob.glob(os.path.join(ROOT, "actions", "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            yield yaml.safe_load(f)


def required_live(meta):
    live = {}
    for name, schema in (meta.get("parameters") or {}).items():
        if schema.get("required") and "default" not in schema:
            if name not in REQUIRED:
                raise AssertionError(f"{meta['name']}.{name}: add a sample to REQUIRED")
            live[name] = REQUIRED[name]
    return live


class ConfigRenderTest(unittest.TestCase):
    def render_all(self, config):
        return self.render_with(st2lite.Pack(ROOT, config))

    def test_every_action_renders_with_each_minimal_config(self):
        for label, config in MINIMAL.items():
            with self.subTest(config=label):
                self.assertEqual(self.render_all(config), [])

    def test_every_action_renders_with_the_example_config(self):
        with open(EXAMPLE, encoding="utf-8") as f:
            example = yaml.safe_load(f)
        self.assertEqual(self.render_all(example), [])

    def test_every_schema_key_has_a_default(self):
        with open(os.path.join(ROOT, "config.schema.yaml"), encoding="utf-8") as f:
            schema = yaml.safe_load(f)
        self.assertEqual([k for k, v in schema.items() if "default" not in v], [])

    def test_the_example_config_names_only_schema_keys_with_valid_values(self):
        with open(os.path.join(ROOT, "config.schema.yaml"), encoding="utf-8") as f:
            schema = yaml.safe_load(f)
        with open(EXAMPLE, encoding="utf-8") as f:
            example = yaml.safe_load(f)
        for key, value in example.items():
            with self.subTest(key=key):
                self.assertIn(key, schema)
                spec = schema[key]
                kind = {"string": str, "integer": int, "boolean": bool}[spec["type"]]
                self.assertIsInstance(value, kind)
                if "enum" in spec:
                    self.assertIn(value, spec["enum"])

    def test_the_readme_shows_the_example_config(self):
        with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        with open(EXAMPLE, encoding="utf-8") as f:
            example = f.read()
        body = example[example.index("# where nodes come from"):]
        self.assertIn("```yaml\n" + body + "```", readme)

    def test_a_missing_key_is_refused_as_st2_refuses_it(self):
        """The checks above could not fail if rendering were lenient."""
        pack = st2lite.Pack(ROOT, {})
        del pack.config["dns_zone"]  # as if the schema gave it no default
        refused = [r for r in self.render_with(pack) if "dns_zone" in r]
        self.assertIn("asg_define: Failed to render parameter \"dns_zone\": "
                      "'dict object' has no attribute 'dns_zone'", refused)

    def test_a_caller_cannot_redirect_credentials_or_commands(self):
        """Anyone who may run an action is untrusted (docs/security.md): every
        parameter that decides where the config's credentials go or what runs
        is immutable, so st2 refuses a request that gives it."""
        runner = st2lite.Runner(st2lite.Pack(ROOT, {"compute_provider": "local"}))
        tried = 0
        for meta in actions():
            for name, spec in (meta.get("parameters") or {}).items():
                if not any(w in name for w in ("_url", "_socket", "_command", "_dir",
                                               "_file", "ca_bundle", "host_key_policy")):
                    continue
                if spec.get("secret"):
                    continue  # a caller's own secret, sent where the config says
                tried += 1
                with self.subTest(action=meta["name"], parameter=name):
                    live = dict(required_live(meta), **{name: "/tmp/elsewhere"})
                    with self.assertRaisesRegex(Exception, "Override of immutable parameter"):
                        runner.prepare(f"autoscale.{meta['name']}", live)
        self.assertGreater(tried, 50)

    def render_with(self, pack):
        runner = st2lite.Runner(pack)
        out = []
        for meta in actions():
            try:
                runner.prepare(f"autoscale.{meta['name']}", required_live(meta))
            except Exception as e:
                out.append(f"{meta['name']}: {e}")
        return out


if __name__ == "__main__":
    unittest.main()
