"""The governor's clock: every poll runs the pack's governor_tick binary and
turns each scaling decision into a trigger. All the deciding happens in C
(lib/governor.c); this file only runs it and dispatches.

A missing or failing binary is logged and the sensor keeps polling: the next
poll may find it built (st2 run autoscale.setup) or the datastore back.
"""
import json
import os
import subprocess

from st2reactor.sensor.base import PollingSensor

PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRIGGERS = {"scale_out": "autoscale.scale_out", "scale_in": "autoscale.scale_in"}


class GovernorSensor(PollingSensor):
    def __init__(self, sensor_service, config=None, poll_interval=30):
        super(GovernorSensor, self).__init__(
            sensor_service=sensor_service, config=config, poll_interval=poll_interval
        )
        self._log = self.sensor_service.get_logger(name=self.__class__.__name__)
        # AUTOSCALE_GOVERNOR_TICK overrides the binary (tests; unusual installs).
        self._binary = os.environ.get("AUTOSCALE_GOVERNOR_TICK") or os.path.join(
            PACK_DIR, "actions", "bin", "governor_tick"
        )
        # Leave the binary well inside one poll interval.
        self._timeout = max(5, int(poll_interval or 30) - 5)

    def setup(self):
        if not os.access(self._binary, os.X_OK):
            self._log.warning(
                "%s is not built yet: run `st2 run autoscale.setup`", self._binary
            )

    def poll(self):
        doc = self._tick()
        if doc is None:
            return
        for decision in doc.get("decisions", []):
            trigger = TRIGGERS.get(decision.get("action"))
            if trigger is None:
                continue
            payload = {
                "asg": decision.get("group"),
                "count": decision.get("count"),
                "reason": decision.get("reason"),
                "lease_id": decision.get("lease_id"),
            }
            self._log.info("dispatching %s %s", trigger, payload)
            self.sensor_service.dispatch(trigger=trigger, payload=payload)

    def _tick(self):
        """Run governor_tick once; its JSON document, or None after logging."""
        try:
            proc = subprocess.run(
                [self._binary],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                timeout=self._timeout,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as e:
            self._log.error("governor_tick could not run: %s", e)
            return None
        for line in proc.stderr.decode("utf-8", "replace").splitlines():
            self._log.debug("governor_tick: %s", line)
        try:
            doc = json.loads(proc.stdout.decode("utf-8"))
        except ValueError:
            self._log.error(
                "governor_tick exited %d without a JSON result", proc.returncode
            )
            return None
        if proc.returncode != 0 or not isinstance(doc, dict) or "error" in doc:
            err = doc.get("error", {}) if isinstance(doc, dict) else {}
            self._log.error(
                "governor_tick failed (exit %d): %s: %s",
                proc.returncode,
                err.get("code"),
                err.get("message"),
            )
            return None
        return doc

    def cleanup(self):
        pass

    def add_trigger(self, trigger):
        pass

    def update_trigger(self, trigger):
        pass

    def remove_trigger(self, trigger):
        pass
