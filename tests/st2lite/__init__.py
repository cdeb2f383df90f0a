"""st2lite - a stand-in for the parts of StackStorm this pack relies on, so
the pack's own rules, sensor, workflows and policies can run where st2
cannot be installed (the demo and the lifecycle tests).

It follows StackStorm's own code (each imitation cites st2's file and
function): parameters rendered and cast as
st2 does and turned into argv by the local-shell-script rules, Orquesta
workflows (the YAQL subset this pack uses) with st2's with-items, task
delay and failure semantics, webhook and trigger rules, the PollingSensor service,
trigger types of the pack's triggers/ and core.inject_trigger (st2's
/webhooks/st2, its rules run in the background: Reactor.wait_idle), and
action.concurrency.attr policies. It is a test double: nothing in the
pack imports it.

It is as strict as st2 3.9 where st2 refuses things (each imitation cites
the st2 file and function it follows): Jinja with StrictUndefined for
defaults and rule parameters, the config filled only from schema defaults,
every request's rendered parameters cast and validated against the action's
schema (a refused child request fails its whole workflow), and a command
line over the kernel's 128 KiB per-argument limit fails the execution.
Runner(stubs=...) replaces chosen programs after all of that, for tests at
scale. Runner(sleep=...) stands in for the wait of a task's delay.
"""
from .pack import Pack
from .runner import Runner, Execution
from .reactor import Reactor

__all__ = ["Pack", "Runner", "Execution", "Reactor"]
