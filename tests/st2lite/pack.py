"""The pack's metadata as st2 registers it: actions, rules, sensors,
policies, and the operator's config (the /opt/stackstorm/configs file)."""
import glob
import os

import yaml


class Pack:
    def __init__(self, root, config=None):
        self.root = os.path.abspath(root)
        meta = self._load(os.path.join(self.root, "pack.yaml"))
        self.ref = meta.get("ref") or meta["name"]
        self.config = self._config_with_defaults(config or {})
        self.actions = {}
        for path in sorted(glob.glob(os.path.join(self.root, "actions", "*.yaml"))):
            doc = self._load(path)
            self.actions[f"{self.ref}.{doc['name']}"] = doc
        self.rules = [self._load(p) for p in
                      sorted(glob.glob(os.path.join(self.root, "rules", "*.yaml")))]
        self.policies = [self._load(p) for p in
                         sorted(glob.glob(os.path.join(self.root, "policies", "*.yaml")))]
        self.sensors = [self._load(p) for p in
                        sorted(glob.glob(os.path.join(self.root, "sensors", "*.yaml")))]

    @staticmethod
    def _load(path):
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)

    def _config_with_defaults(self, given):
        """st2 fills config keys the operator left out from the schema's defaults."""
        path = os.path.join(self.root, "config.schema.yaml")
        schema = self._load(path) if os.path.exists(path) else {}
        config = {k: v["default"] for k, v in schema.items()
                  if isinstance(v, dict) and "default" in v}
        config.update(given)
        return config

    def action(self, ref):
        return self.actions.get(ref)

    def workflow(self, meta):
        return self._load(os.path.join(self.root, "actions", meta["entry_point"]))

    def entry_path(self, meta):
        return os.path.join(self.root, "actions", meta["entry_point"])
