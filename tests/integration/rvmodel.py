# SPDX-License-Identifier: MIT
"""rvmodel: the reference model of test_model.py.

A config universe small enough to read in a failure report, and what the
contract (shared/CONTRACT.md, issue 12 "What must work") says its
services must look like once things have settled.  Standard library only:
the Hypothesis strategies that draw these objects are in test_model.py.

The tree is fixed: the top level `main`, `g1` under it, `g2` under `g1`.
Services: `base` (always there, at the top, restart = always: the top
level never completes on its own) and up to four of s1..s4, each with a
Spec.  Sections are written in SECTION_ORDER, which is also the members'
order (rest_for_one) in each supervisor.

The model is deliberately coarse.  Per instance it keeps the set of
states it may be in once quiet (more than one where the contract or the
timing leaves a choice; the test narrows it to what it then observes),
whether it is held down by `stop`, and what its pid must be compared with
the pid seen at the last check: "same" (nothing may have restarted it),
"new" (it must have been restarted) or "any".
"""

import dataclasses
import shlex

NODES = ("main", "g1", "g2")
NODE_PARENT = {"g1": "main", "g2": "g1"}
SERVICES = ("s1", "s2", "s3", "s4")
SECTION_ORDER = ("base", "s1", "s2", "g1", "g2", "s3", "s4")
STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one")
READY = ("none", "notify", "fd", "check")
RESTART = ("always", "on-failure", "never")
STOP = ("fast", "slow", "stubborn")

UP = frozenset({"running", "starting"})
TERMINAL = frozenset({"completed", "failed"})
# signals a service may end by and still count as a success (contract)
CLEAN_SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP", "SIGPIPE")

# timings of the generated configs (seconds); those that bound a probe
# or a stop are scaled like the test's timeouts (the caller passes scale)
RESTART_DELAY = "50ms"
SLOW_STOP = 0.3		# modelsvc --stop slow
READY_TIMEOUT = 0.8
SHUTDOWN_TIMEOUT = 3.0


@dataclasses.dataclass(frozen=True)
class Spec:
    """One [service:NAME] section."""
    sup: str = "main"
    ready: str = "none"	# none | notify | fd | check
    manual: bool = False	# ready only when the test says so
    instances: int = 1
    restart: str = "always"
    stop: str = "fast"	# fast | slow | stubborn (ignores SIGTERM)
    health: bool = False
    timeout: bool = False	# ready_timeout; only manual + restart=never
    ver: int = 0		# a bump changes the command line only

    def norm(self):
        """The same section with meaningless combinations removed."""
        s = self
        if s.ready == "none":
            s = dataclasses.replace(s, manual=False)
        if s.timeout and not (s.manual and s.restart == "never"):
            s = dataclasses.replace(s, timeout=False)
        return s

    @property
    def waits_for_test(self):
        """Its processes stay `starting` until the test sends "ready"."""
        return self.ready != "none" and self.manual

    def up_state(self):
        """Where a fresh start of it settles."""
        if self.timeout:
            return "failed"	# never ready, ready_timeout, never restarted
        return "starting" if self.waits_for_test else "running"

    def __repr__(self):
        bits = [self.sup]
        if self.ready != "none":
            bits.append(f"ready={self.ready}/"
                        f"{'manual' if self.manual else 'auto'}")
        if self.instances != 1:
            bits.append(f"x{self.instances}")
        bits.append(f"restart={self.restart}")
        if self.stop != "fast":
            bits.append(f"stop={self.stop}")
        if self.health:
            bits.append("health")
        if self.timeout:
            bits.append("ready_timeout")
        if self.ver:
            bits.append(f"ver={self.ver}")
        return f"Spec({' '.join(bits)})"


BASE = Spec()


@dataclasses.dataclass(frozen=True)
class Config:
    """The whole config: s1..s4 specs (base is implied) and strategies."""
    specs: tuple = ()		# ((name, Spec), ...) sorted by name
    strategies: tuple = ("one_for_one",) * 3	# main, g1, g2

    @classmethod
    def make(cls, specs, strategies):
        return cls(tuple(sorted((n, s.norm()) for n, s in specs.items())),
                   tuple(strategies))

    def spec_map(self):
        d = dict(self.specs)
        d["base"] = BASE
        return d

    def strategy(self, node):
        return self.strategies[NODES.index(node)]

    def with_specs(self, specs):
        return Config.make(specs, self.strategies)

    def with_strategy(self, node, strategy):
        st = list(self.strategies)
        st[NODES.index(node)] = strategy
        return Config(self.specs, tuple(st))

    def instances(self, svc):
        """Instance names of svc, in order ([] when absent)."""
        sp = self.spec_map().get(svc)
        if sp is None:
            return []
        if sp.instances == 1:
            return [svc]
        return [f"{svc}@{k}" for k in range(sp.instances)]

    def all_instances(self):
        """{instance: service}, in section order."""
        out = {}
        for sec in SECTION_ORDER:
            for i in self.instances(sec):
                out[i] = sec
        return out

    def members(self, node):
        """node's members in order: ("svc", instance) / ("node", name)."""
        specs = self.spec_map()
        out = []
        for sec in SECTION_ORDER:
            if sec in NODE_PARENT:
                if NODE_PARENT[sec] == node:
                    out.append(("node", sec))
            elif sec in specs and specs[sec].sup == node:
                out += [("svc", i) for i in self.instances(sec)]
        return out

    def subtree(self, node):
        """Every instance under node."""
        out = []
        for kind, name in self.members(node):
            out += [name] if kind == "svc" else self.subtree(name)
        return out

    def __repr__(self):
        svcs = ", ".join(f"{n}={s!r}" for n, s in self.specs)
        return (f"Config(strategies main={self.strategies[0]} "
                f"g1={self.strategies[1]} g2={self.strategies[2]}; "
                f"{svcs or 'only base'})")

    # ---- the file

    def render(self, d, fixture, scale=1.0):
        """The config file's text.  d: the run's directory (control
        socket, RVM_DIR); fixture: the modelsvc binary."""
        fx = shlex.quote(fixture)
        stop_timeout = f"{int(1000 * scale)}ms"
        lines = ["[supervisor]",
                 f"strategy = {self.strategy('main')}",
                 "max_restarts = 100000", "restart_window = 60s",
                 f"shutdown_timeout = {SHUTDOWN_TIMEOUT:g}s",
                 f"control_socket = {d}/control.sock", ""]
        specs = self.spec_map()
        for sec in SECTION_ORDER:
            if sec in NODE_PARENT:
                lines += [f"[supervisor:{sec}]"]
                if NODE_PARENT[sec] != "main":
                    lines += [f"supervisor = {NODE_PARENT[sec]}"]
                lines += [f"strategy = {self.strategy(sec)}",
                          "max_restarts = 100000", "restart_window = 60s",
                          ""]
                continue
            sp = specs.get(sec)
            if sp is None:
                continue
            cmd = [fx, "--stop", sp.stop, "--ver", str(sp.ver)]
            if sp.ready != "none":
                cmd += ["--ready", "fd:3" if sp.ready == "fd" else sp.ready]
                if not sp.manual:
                    cmd += ["--auto-ready"]
            rid = f"{sec}@%i" if sp.instances > 1 else sec
            lines += [f"[service:{sec}]"]
            if sp.sup != "main":
                lines += [f"supervisor = {sp.sup}"]
            lines += [f"command = {' '.join(cmd)}",
                      f"environment = RVM_ID={rid} RVM_DIR={d}"]
            if sp.instances > 1:
                lines += [f"instances = {sp.instances}"]
            lines += [f"restart = {sp.restart}",
                      f"restart_delay = {RESTART_DELAY}", "backoff = fixed",
                      "backoff_jitter = 0", "max_restarts = 100000",
                      "restart_window = 60s",
                      f"stop_timeout = {stop_timeout}"]
            if sp.ready == "notify":
                lines += ["type = notify"]
            elif sp.ready == "fd":
                lines += ["ready_fd = 3"]
            elif sp.ready == "check":
                lines += [f"ready_check = {fx} probe-ready"]
            if sp.timeout:
                lines += [f"ready_timeout = {int(READY_TIMEOUT * 1000)}ms"]
            if sp.health:
                lines += [f"health_check = {fx} probe-health",
                          f"health_interval = {int(500 * scale)}ms",
                          "health_retries = 1"]
            lines += [""]
        return "\n".join(lines)


@dataclasses.dataclass
class Inst:
    svc: str
    states: frozenset
    held: bool = False
    pid_rule: str = "new"	# same | new | any, against the last check
    ready_sent: bool = False
    racing: bool = False	# ended since the last check: a shutdown
    #                         may see its exit first (then `stopped`)


def exit_is_success(how):
    """how: ("code", N) or ("signal", "SIGX") or ("health",)."""
    if how[0] == "code":
        return how[1] == 0
    if how[0] == "signal":
        return how[1] in CLEAN_SIGNALS
    return False


def _join_rule(a, b):
    return a if a == b else "any"


class Model:
    """What the supervisor must show once quiet, after the steps so far."""

    def __init__(self, config):
        self.config = config
        self.insts = {}
        self.notes = []		# what the last step predicted, for humans
        for name, svc in config.all_instances().items():
            self.insts[name] = Inst(svc, frozenset())
            self.fresh(name)

    def spec(self, name):
        return self.config.spec_map()[self.insts[name].svc]

    # ---- building blocks

    def fresh(self, name):
        """Started anew: a new process (or a new failure to get ready)."""
        i = self.insts[name]
        i.states = frozenset({self.spec(name).up_state()})
        i.held = False
        i.pid_rule = "new"
        i.ready_sent = False

    def maybe_fresh(self, name):
        """Either unchanged or started anew (the test observes which)."""
        i = self.insts[name]
        i.states = i.states | {self.spec(name).up_state()}
        i.pid_rule = "any"

    def _merge(self, name, before):
        """After a step that may or may not have restarted name."""
        i = self.insts[name]
        i.states = i.states | before.states
        i.pid_rule = "any"

    def restart_members(self, node, start):
        """node restarts members[start:] (one_for_all, rest_for_one)."""
        for kind, name in self.config.members(node)[start:]:
            if kind == "svc":
                self._restart_in_group(name, member=True)
            else:
                for inst in self.config.subtree(name):
                    self._restart_in_group(inst, member=False)

    def _restart_in_group(self, name, member):
        i = self.insts[name]
        if i.held:
            return		# `stop` holds it down through group restarts
        if i.states <= TERMINAL:
            # a group restart skips finished members; a restarted
            # subtree may start them again: unspecified, either is fine
            if not member:
                self.maybe_fresh(name)
            return
        if i.states & TERMINAL:
            self.maybe_fresh(name)
            return
        self.fresh(name)

    # ---- events

    def ended(self, name, how):
        """name's process ended by itself (how: see exit_is_success)."""
        sp = self.spec(name)
        ok = exit_is_success(how)
        wants = sp.restart == "always" or (sp.restart == "on-failure"
                                           and not ok)
        i = self.insts[name]
        i.racing = True
        if not wants:
            i.states = frozenset({"completed" if ok else "failed"})
            return
        node = sp.sup
        strategy = self.config.strategy(node)
        if strategy == "one_for_one":
            self.fresh(name)
        elif strategy == "one_for_all":
            self.restart_members(node, 0)
        else:
            members = self.config.members(node)
            self.restart_members(node, members.index(("svc", name)))

    def may_end(self, name):
        """The final states name can reach on its own."""
        sp = self.spec(name)
        if sp.restart == "always":
            return set()
        if sp.restart == "on-failure":
            return {"completed"}
        return {"completed", "failed"}

    def ready(self, name):
        i = self.insts[name]
        i.ready_sent = True
        i.states = frozenset({"running"})

    def admin(self, cmd, names):
        for name in names:
            i = self.insts[name]
            if cmd == "stop":
                i.held = True
                # a service that may have ended for good meanwhile (its
                # ready_timeout, an end not settled yet) stays so
                st = {"stopped"} | set(i.states & TERMINAL)
                if i.racing or (self.spec(name).timeout and
                                not i.ready_sent):
                    st |= {"failed", "completed"} & self.may_end(name)
                i.states = frozenset(st)
            elif cmd == "restart":
                self.fresh(name)
            else:	# start: what has no process starts
                i.held = False
                down = i.states - UP
                if not down:
                    continue
                up = i.states & UP
                i.states = up | {self.spec(name).up_state()}
                i.pid_rule = "new" if not up else "any"
                i.ready_sent = False if not up else i.ready_sent

    def reload(self, new):
        """The config becomes new: returns (kept, replaced, added,
        removed) instance names, for the step's notes."""
        old = self.config
        old_specs, new_specs = old.spec_map(), new.spec_map()
        new_insts = new.all_instances()
        kept, replaced, added, removed = [], [], [], []
        # an end not seen settled yet may meet the old strategy or the
        # new one (its exit can come after this reload): a node whose
        # strategy changes may restart any of its members, or not
        for node in NODES:
            if old.strategy(node) == new.strategy(node):
                continue
            members = old.subtree(node)
            if any(self.insts[n].racing for n in members
                   if n in self.insts):
                for n in members:
                    if n in self.insts and not self.insts[n].held and \
                            not self.insts[n].states <= TERMINAL:
                        self.maybe_fresh(n)
        self.config = new
        for name in list(self.insts):
            i = self.insts[name]
            if name not in new_insts:
                removed.append(name)
                del self.insts[name]
                continue
            a, b = old_specs[i.svc], new_specs[i.svc]
            if dataclasses.replace(a, instances=0) == \
                    dataclasses.replace(b, instances=0):
                kept.append(name)	# instances up/down keeps survivors
                continue
            replaced.append(name)
            if i.held or i.states & TERMINAL:
                # a restart job on what was stopped or had finished:
                # whether reload starts it is not specified
                self.maybe_fresh(name)
            else:
                self.fresh(name)
        for name, svc in new_insts.items():
            if name not in self.insts:
                added.append(name)
                self.insts[name] = Inst(svc, frozenset())
                self.fresh(name)
        return kept, replaced, added, removed

    def shutdown_states(self):
        """Final states after a shutdown: what ran ends `stopped`."""
        out = {}
        for name, i in self.insts.items():
            st = set(i.states & TERMINAL)
            if i.states - TERMINAL or self.spec(name).timeout or i.racing:
                # (a ready_timeout service is `failed` only once its
                # timeout has passed: a shutdown may come first)
                st.add("stopped")
            out[name] = st
        return out

    # ---- after a check

    def observed(self, name, state):
        """The test saw name settle in state: the model narrows to it."""
        i = self.insts[name]
        i.states = frozenset({state})
        i.held = state == "stopped"
        i.pid_rule = "same"
        i.racing = False
        if state == "running" and self.spec(name).waits_for_test:
            i.ready_sent = True

    def describe(self):
        return ", ".join(
            f"{n}:{'|'.join(sorted(i.states))}"
            f"{'(held)' if i.held else ''}"
            f"{'' if i.pid_rule == 'same' else '/' + i.pid_rule + ' pid'}"
            for n, i in self.insts.items())
