#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The model-based test (issue 12): random sequences of operations on a
real `ringvisor run`, checked after every step against a small reference
model of the contract (rvmodel.py).

Hypothesis' stateful testing (RuleBasedStateMachine) draws the sequences:
each example starts ringvisor with a drawn config (tests/fixtures/
modelsvc.c services, which record every start and every exit they decide
themselves), then applies up to RV_MODEL_STEPS of these steps:

  reload_*    a config edit (add or replace, remove, instances, move to
              another supervisor, command change, supervisor strategy),
              applied by SIGHUP or `ringvisor reload`
  admin       start/stop/restart of a service, an instance, or a nested
              supervisor (where the binary takes supervisor names)
  kill        `ringvisor kill` with KILL, TERM, INT or USR1
  crash       the service exits (code 0 or 3) or dies (SEGV, KILL, TERM)
              on command: one_for_all / rest_for_one restart its siblings
  ready       a service whose readiness waits for the test reports it
              (notify, ready_fd, ready_check); some never get it, some
              have a ready_timeout
  sick        its health_check starts failing
  shutdown    SIGTERM, SIGINT or `ringvisor shutdown`, and maybe a second
              signal, a SIGHUP, a reload or a start during it

Untargeted steps (reload, admin) take then="settle" or then="go": "go"
applies the next step at once, while this one is in progress (a reload
waiting for a slow stop, ...).  Targeted steps first wait for the model
and the supervisor to agree.

Checks (each failure is its own exception class, so that Hypothesis
reports distinct bugs apart):
  after every step  `status` answers within 1 s (scaled);
                    every start and exit a service recorded is logged
                    (event=start / event=exit, matched by pid, with the
                    same code or signal), none twice;
  when settled      the services listed are those of the config, each in
                    a state the model allows, under the right supervisor;
                    what the model says was not restarted keeps its pid,
                    what it says was restarted has a new one and the old
                    process is gone; no process a service started is alive
                    unless status lists it; the supervisor is `alive` once
                    nothing waits for readiness; the supervisor's fd count
                    (less one per process and readiness pipe) does not
                    grow;
  after shutdown    ringvisor exits within shutdown_timeout + 1 s (scaled)
                    with status 0; no process of the tree is left; every
                    start has its one exit line; the report's final states
                    match the model.

Budget (environment):
  RV_MODEL_SECONDS     wall-clock time for exploring (default 100)
  RV_MODEL_STEPS       steps per example (default 14)
  RV_MODEL_EXAMPLES    at most this many examples (default: as many as
                       the time allows)
  RV_MODEL_SEED        Hypothesis' seed (default: random, printed): a
                       failure prints how to replay it (the same seed and
                       budget give the same sequences)
  RV_MODEL_SHRINK_SECONDS  time for shrinking a failure (default 120)
  RV_MODEL_KEEP_GOING=1    report every distinct failure Hypothesis finds,
                       and after a failure go on with the next seed while
                       the time lasts
  RV_MODEL_EXCLUDE     comma-separated rule names (reload_put, admin, ...)
                       or features (go, sighup, slow, stubborn, manual,
                       timeout, health, nested, instances, strategy,
                       notify, fd, check) that
                       the run leaves out, to look past a known bug
`tests/run.sh --soak` runs it for much longer on both backends.
"""

import dataclasses
import os
import random
import signal
import sys
import time
import traceback

sys.dont_write_bytecode = True
try:
    import hypothesis  # noqa: F401
except ImportError:
    # CMake may have found a python3 (pyenv, venv) without Debian's
    # python3-hypothesis: use the system's one where it has it
    if sys.executable != "/usr/bin/python3" and \
            os.path.exists("/usr/bin/python3") and \
            not os.environ.get("RV_MODEL_REEXEC"):
        os.environ["RV_MODEL_REEXEC"] = "1"
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("FAIL: python3-hypothesis is not installed (.ci/deps installs "
          "it: apt-get install python3-hypothesis)", flush=True)
    sys.exit(1)

import hypothesis.errors  # noqa: E402
from hypothesis import HealthCheck, note, settings  # noqa: E402
from hypothesis import seed as hyp_seed  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.control import current_build_context  # noqa: E402
from hypothesis.stateful import (RuleBasedStateMachine,  # noqa: E402
                                 initialize, invariant, precondition, rule,
                                 run_state_machine_as_test)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvmodel  # noqa: E402
import rvtest  # noqa: E402
from rvmodel import NODE_PARENT, SERVICES, UP, Config, Model, Spec  # noqa
from rvtest import T, alive  # noqa: E402


def env_num(name, default):
    v = os.environ.get(name)
    return type(default)(v) if v else default


EXPLORE_S = env_num("RV_MODEL_SECONDS", 100.0)
STEPS = env_num("RV_MODEL_STEPS", 14)
EXAMPLES = env_num("RV_MODEL_EXAMPLES", 100000)
SHRINK_S = env_num("RV_MODEL_SHRINK_SECONDS", 120.0)
KEEP_GOING = os.environ.get("RV_MODEL_KEEP_GOING") == "1"
EXCLUDE = {w.strip() for w in os.environ.get("RV_MODEL_EXCLUDE",
                                             "").split(",") if w.strip()}
# settling: a stop takes up to stop_timeout (1 s, scaled), and a group
# operation (one_for_all, rest_for_one, a subtree, shutdown) stops its
# members one at a time, newest first, as OTP does: up to one
# stop_timeout per member (a dozen at most) after a ready_timeout
SETTLE_S = 20.0
FD_SLACK = 3		# a probe in flight, the notify socket, ...


# ---------------------------------------------------------------- failures
# One class per invariant: Hypothesis tells failures apart by type and
# place, and shrinks each to its own reproducer.

class ModelFailure(AssertionError):
    pass


class BudgetExhausted(BaseException):
    """RV_MODEL_SECONDS are over: not an Exception, so that Hypothesis
    lets it through and the run ends (a reject() would only make it draw
    example after example until its own limits)."""


class StateMismatch(ModelFailure):
    """status does not settle where the model says."""


class PidChanged(ModelFailure):
    """something the model says nothing restarted has another pid."""


class ExitAccounting(ModelFailure):
    """a start or exit is not logged exactly once, as it happened."""


class Unresponsive(ModelFailure):
    """the control socket did not answer `status` within 1 s."""


class CommandFailed(ModelFailure):
    """a control command got an unexpected reply."""


class ShutdownFailure(ModelFailure):
    """no exit in time, a wrong exit status, or wrong final states."""


class ProcessLeak(ModelFailure):
    """a process of the tree outlived ringvisor or its service."""


class FdLeak(ModelFailure):
    """the supervisor's descriptor count grows."""


# --------------------------------------------------------------- a run

class Run:
    """One ringvisor process of one example, in its own directory."""

    def __init__(self, case, n):
        self.case = case
        self.dir = os.path.join(case.tmp, f"r{n}")
        os.mkdir(self.dir)
        self.cfg = os.path.join(self.dir, "ringvisor.conf")
        self.sock = os.path.join(self.dir, "control.sock")
        self.report = os.path.join(self.dir, "report.json")
        self.proc = None

    def write_config(self, config):
        text = config.render(self.dir, rvtest.fixture("modelsvc"),
                             rvtest.TIME_SCALE)
        tmp = self.cfg + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.cfg)	# a reload never reads half a file
        return text

    def start(self):
        self.proc = rvtest.Proc(self.case, [*rvtest.WRAPPER, rvtest.RV_BIN,
                                            "run", "-c", self.cfg,
                                            "--report", self.report])

    def tail(self, n=50):
        return self.proc.tail(n) if self.proc else ""

    def status(self):
        """The status document; Unresponsive unless it comes in 1 s."""
        t0 = time.monotonic()
        try:
            with rvtest.Control(self.sock, 1) as c:
                rep = c.request({"cmd": "status"})
        except (OSError, AssertionError) as e:
            if not self.proc.running():
                raise StateMismatch(f"ringvisor exited (rc="
                                    f"{self.proc.p.poll()}) while the "
                                    f"model expects it to run\n"
                                    f"{self.tail()}") from None
            raise Unresponsive(f"status did not answer within "
                               f"{T(1):.1f}s: {e!r}\n{self.tail()}") \
                from None
        took = time.monotonic() - t0
        if took > T(1):
            raise Unresponsive(f"status took {took:.2f}s\n{self.tail()}")
        if not rep.get("ok"):
            raise Unresponsive(f"status: error reply {rep}")
        return rep["status"]

    def ctl(self, *args):
        return self.case.rv(args[0], "-s", self.sock, *args[1:], timeout=10)

    def records(self):
        """What the services recorded: ({pid: id}, {pid: how})."""
        data = rvtest.slurp(os.path.join(self.dir, "records"))
        starts, exits = {}, {}
        for line in data.split("\n")[:-1]:	# only whole lines
            p = line.split()
            if p[0] == "start":
                starts[int(p[1])] = p[2]
            elif p[0] == "exit" and p[2] == "code":
                exits[int(p[1])] = ("code", int(p[3]))
            elif p[0] == "exit":
                exits[int(p[1])] = ("signal", p[3])
        return starts, exits

    def tell(self, pid, line):
        """Writes a command line to the service process pid."""
        path = os.path.join(self.dir, f"ctl.{pid}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            raise StateMismatch(f"cannot tell pid {pid} {line!r}: {e}")
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)

    def fd_count(self):
        try:
            return len(os.listdir(f"/proc/{self.proc.pid}/fd"))
        except FileNotFoundError:
            return None


def our_live_children():
    """Processes reparented to us (the harness is a subreaper)."""
    me, out = os.getpid(), []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = rvtest.proc_stat(int(d))
            if st and st[1] == me and st[0] not in "ZXx":
                out.append(int(d))
    return out


class Budget:
    """Wall-clock limits: exploring, then shrinking a failure."""

    def __init__(self):
        self.t0 = time.monotonic()
        self.first_failure = None
        self.shortest = {}	# failure_key -> (steps, exception)

    def explore_left(self):
        return EXPLORE_S - (time.monotonic() - self.t0)

    def exhausted(self):
        """Time to stop exploring (never while a failure is shrunk: a
        time-dependent reject() there would corrupt Hypothesis' record of
        what each example did)."""
        return self.first_failure is None and self.explore_left() <= 0 \
            and not current_build_context().is_final

    def failed(self, steps, exc):
        """Keeps the shortest sequence seen failing, per kind of failure:
        printed even when Hypothesis cannot finish (a timing-dependent
        failure makes it give up as Flaky) or runs out of time."""
        if self.first_failure is None:
            self.first_failure = time.monotonic()
        key = failure_key(exc)
        if key not in self.shortest or len(steps) < \
                len(self.shortest[key][0]):
            self.shortest[key] = (list(steps), exc)


# ---------------------------------------------------------- strategies

def excluded(*features):
    return any(f in EXCLUDE for f in features)


@st.composite
def specs(draw):
    s = Spec(sup=draw(st.sampled_from(("main", "g1", "g2"))),
             ready=draw(st.sampled_from(rvmodel.READY)),
             manual=draw(st.booleans()),
             instances=draw(st.integers(1, 3)),
             restart=draw(st.sampled_from(rvmodel.RESTART)),
             stop=draw(st.sampled_from(rvmodel.STOP)),
             health=draw(st.booleans()),
             timeout=draw(st.booleans()))
    return restrict(s).norm()


def restrict(s):
    """RV_MODEL_EXCLUDE's features turned off in s."""
    rep = {}
    if excluded("nested"):
        rep["sup"] = "main"
    if excluded(s.ready):
        rep["ready"] = "none"
    if excluded("manual"):
        rep["manual"] = False
    if excluded("instances"):
        rep["instances"] = 1
    if excluded(s.stop):
        rep["stop"] = "fast"
    if excluded("health"):
        rep["health"] = False
    if excluded("timeout"):
        rep["timeout"] = False
    return dataclasses.replace(s, **rep) if rep else s


def strategy_names():
    if excluded("strategy"):
        return st.just("one_for_one")
    return st.sampled_from(rvmodel.STRATEGIES)


@st.composite
def configs(draw):
    chosen = draw(st.dictionaries(st.sampled_from(SERVICES), specs(),
                                  max_size=4))
    strat = draw(st.tuples(strategy_names(), strategy_names(),
                           strategy_names()))
    return Config.make(chosen, strat)


svc_names = st.sampled_from(SERVICES)
any_names = st.sampled_from(("base",) + SERVICES)
instance_k = st.integers(0, 2)
how_reload = st.just("command") if excluded("sighup") else \
    st.sampled_from(("command", "sighup"))
then = st.just("settle") if excluded("go") else \
    st.sampled_from(("settle", "go"))


def enabled(name):
    return precondition(lambda self: self.live and name not in EXCLUDE)


def guarded(fn):
    """Marks the machine failed when a step raises: teardown then only
    cleans up (its own checks would hide the first failure)."""
    def wrapper(self, *a, **kw):
        try:
            return fn(self, *a, **kw)
        except BaseException as e:
            self.failed = True
            if not isinstance(e, (hypothesis.errors.UnsatisfiedAssumption,
                                  BudgetExhausted)):
                self.budget.failed(self.steps, e)
            raise
    wrapper.__name__ = fn.__name__
    wrapper.__qualname__ = fn.__qualname__
    wrapper.__doc__ = fn.__doc__
    return wrapper


# ------------------------------------------------------------- machine

class RvMachine(RuleBasedStateMachine):
    """One example: a ringvisor run driven step by step."""

    case = None		# the unittest.Case (tmp dir, cleanup)
    budget = None
    runs = 0
    supervisor_names = None	# do admin commands take [supervisor:X]?

    def __init__(self):
        super().__init__()
        self.run = None
        self.model = None
        self.live = False
        self.failed = False
        self.baseline = {}	# instance -> pid at the last check
        self.fd_base = None
        self.steps = []		# the readable reproducer, as it runs
        self.unconfirmed = []	# final states before each reload not
				# waited for since the last settle

    # ---- the first step

    @initialize(config=configs())
    @guarded
    def boot(self, config):
        if self.budget.exhausted():
            raise BudgetExhausted()
        RvMachine.runs += 1
        self.run = Run(self.case, RvMachine.runs)
        text = self.run.write_config(config)
        self.model = Model(config)
        self.say(f"start ringvisor with\n{indent(text)}")
        self.run.start()
        self.live = True
        self.case.wait_control(self.run.proc, path=self.run.sock).close()
        self.settle()

    # ---- reload

    def do_reload(self, new, how, then, what):
        text = self.run.write_config(new)
        # a reload not waited for may still be queued behind another when
        # the shutdown comes, and a queued reload is then dropped: the
        # exit report may show the config before it
        self.unconfirmed.append(self.model.shutdown_states())
        kept, replaced, added, removed = self.model.reload(new)
        self.say(f"reload ({what}) by {how}: restart {replaced or '-'}, "
                 f"start {added or '-'}, stop {removed or '-'}, keep "
                 f"{kept or '-'}; then {then}\n{indent(text)}")
        if how == "sighup":
            self.run.proc.send_signal(signal.SIGHUP)
        else:
            # a reload asked while one is applied must be queued or
            # refused "in progress" for a moment, never for good
            deadline = time.monotonic() + T(5)
            while True:
                r = self.run.ctl("reload")
                if r.returncode == 0:
                    break
                busy = "in progress" in r.stdout + r.stderr
                if not busy or time.monotonic() > deadline:
                    raise CommandFailed(
                        f"ringvisor reload: rc={r.returncode} "
                        f"{r.stdout.strip()} {r.stderr.strip()}"
                        f"{' (for 5 s)' if busy else ''}\n{self.run.tail()}")
                time.sleep(0.05)
        self.after(then)

    @enabled("reload_put")
    @rule(name=svc_names, spec=specs(), how=how_reload, then=then)
    @guarded
    def reload_put(self, name, spec, how, then):
        """Adds service name, or replaces its whole section."""
        sp = dict(self.model.config.specs)
        what = ("change" if name in sp else "add") + f" {name} = {spec!r}"
        sp[name] = spec
        self.do_reload(self.model.config.with_specs(sp), how, then, what)

    @enabled("reload_remove")
    @rule(name=svc_names, how=how_reload, then=then)
    @guarded
    def reload_remove(self, name, how, then):
        sp = dict(self.model.config.specs)
        what = f"remove {name}" if sp.pop(name, None) else "no change"
        self.do_reload(self.model.config.with_specs(sp), how, then, what)

    @enabled("reload_instances")
    @rule(name=svc_names, n=st.integers(1, 3), how=how_reload, then=then)
    @guarded
    def reload_instances(self, name, n, how, then):
        sp = dict(self.model.config.specs)
        what = "no change"
        if name in sp and not excluded("instances"):
            what = f"{name} instances {sp[name].instances} -> {n}"
            sp[name] = dataclasses.replace(sp[name], instances=n)
        self.do_reload(self.model.config.with_specs(sp), how, then, what)

    @enabled("reload_move")
    @rule(name=svc_names, sup=st.sampled_from(("main", "g1", "g2")),
          how=how_reload, then=then)
    @guarded
    def reload_move(self, name, sup, how, then):
        sp = dict(self.model.config.specs)
        what = "no change"
        if name in sp and not excluded("nested"):
            what = f"move {name} from {sp[name].sup} to {sup}"
            sp[name] = dataclasses.replace(sp[name], sup=sup)
        self.do_reload(self.model.config.with_specs(sp), how, then, what)

    @enabled("reload_command")
    @rule(name=svc_names, how=how_reload, then=then)
    @guarded
    def reload_command(self, name, how, then):
        """A new command line, nothing else."""
        sp = dict(self.model.config.specs)
        what = "no change"
        if name in sp:
            what = f"{name} command changed (--ver {sp[name].ver + 1})"
            sp[name] = dataclasses.replace(sp[name], ver=sp[name].ver + 1)
        self.do_reload(self.model.config.with_specs(sp), how, then, what)

    @enabled("reload_strategy")
    @rule(node=st.sampled_from(rvmodel.NODES), strategy=strategy_names(),
          how=how_reload, then=then)
    @guarded
    def reload_strategy(self, node, strategy, how, then):
        old = self.model.config.strategy(node)
        what = f"{node} strategy {old} -> {strategy}" if old != strategy \
            else "no change"
        self.do_reload(self.model.config.with_strategy(node, strategy),
                       how, then, what)

    # ---- admin commands

    @enabled("admin")
    @rule(cmd=st.sampled_from(("stop", "start", "restart")),
          who=st.sampled_from(("base",) + SERVICES + ("g1", "g2")),
          which=st.one_of(st.none(), instance_k), then=then)
    @guarded
    def admin(self, cmd, who, which, then):
        """`ringvisor CMD NAME`: a service (all its instances), an
        instance, a nested supervisor, or a name that does not exist."""
        cfg = self.model.config
        if who in NODE_PARENT:
            if excluded("nested"):
                return
            name, names = who, cfg.subtree(who)
        else:
            name = who if which is None else f"{who}@{which}"
            insts = cfg.instances(who)
            names = insts if which is None else \
                [n for n in insts if n == name]
            if not insts:
                names = []
        r = self.run.ctl(cmd, name)
        out = f"{r.stdout.strip()} {r.stderr.strip()}"
        if who in NODE_PARENT:
            if RvMachine.supervisor_names is None:
                RvMachine.supervisor_names = r.returncode == 0
            if RvMachine.supervisor_names != (r.returncode == 0):
                was = "" if RvMachine.supervisor_names else "not "
                raise CommandFailed(f"ringvisor {cmd} {name}: rc="
                                    f"{r.returncode} {out}, but earlier "
                                    f"supervisor names were {was}taken")
            if r.returncode != 0:
                self.say(f"ringvisor {cmd} {name}: not supported ({out})")
                return
        elif not names:
            self.say(f"ringvisor {cmd} {name}: unknown, must fail")
            if r.returncode == 0 or not r.stderr.strip():
                raise CommandFailed(f"ringvisor {cmd} {name} (no such "
                                    f"service): rc={r.returncode} {out}")
            return
        elif r.returncode != 0:
            raise CommandFailed(f"ringvisor {cmd} {name}: rc="
                                f"{r.returncode} {out}\n{self.run.tail()}")
        self.model.admin(cmd, names)
        self.say(f"ringvisor {cmd} {name} -> {names}; then {then}")
        self.after(then)

    # ---- targeted steps: they act on a process the model knows

    def target(self, svc, k):
        """Settles, then the instance (svc, k mod instances) if it is up
        with a process, else None."""
        self.settle()
        insts = self.model.config.instances(svc)
        if not insts:
            return None
        name = insts[k % len(insts)]
        if not self.model.insts[name].states <= UP:
            return None
        return name

    @enabled("kill")
    @rule(svc=any_names, k=instance_k,
          sig=st.sampled_from(("KILL", "TERM", "INT", "USR1")), then=then)
    @guarded
    def kill(self, svc, k, sig, then):
        name = self.target(svc, k)
        if name is None:
            return
        r = self.run.ctl("kill", name, sig)
        if r.returncode != 0:
            raise CommandFailed(f"ringvisor kill {name} {sig}: "
                                f"{r.stdout} {r.stderr}\n{self.run.tail()}")
        self.say(f"ringvisor kill {name} {sig} (pid "
                 f"{self.baseline[name]}); then {then}")
        if sig in ("TERM", "INT") and self.model.spec(name).stop == \
                "stubborn":
            return		# it ignores them
        self.model.ended(name, ("signal", "SIG" + sig))
        self.after(then)

    @enabled("crash")
    @rule(svc=any_names, k=instance_k,
          how=st.sampled_from(("exit 3", "exit 0", "die SEGV", "die KILL",
                               "die TERM")), then=then)
    @guarded
    def crash(self, svc, k, how, then):
        """The service ends by itself."""
        name = self.target(svc, k)
        if name is None:
            return
        pid = self.baseline[name]
        self.say(f"{name} (pid {pid}) is told: {how}; then {then}")
        self.run.tell(pid, how)
        verb, arg = how.split()
        self.model.ended(name, ("code", int(arg)) if verb == "exit"
                         else ("signal", "SIG" + arg))
        self.after(then)

    @enabled("ready")
    @rule(svc=svc_names, k=instance_k, then=then)
    @guarded
    def ready(self, svc, k, then):
        """A service that waits for the test reports readiness (late)."""
        name = self.target(svc, k)
        if name is None:
            return
        sp = self.model.spec(name)
        if not sp.waits_for_test or sp.timeout or \
                self.model.insts[name].states != {"starting"}:
            return
        pid = self.baseline[name]
        self.say(f"{name} (pid {pid}) reports ready by {sp.ready}; "
                 f"then {then}")
        self.run.tell(pid, "ready")
        self.model.ready(name)
        self.after(then)

    @enabled("sick")
    @rule(svc=svc_names, k=instance_k, then=then)
    @guarded
    def sick(self, svc, k, then):
        """Its health_check fails from now on (for this process)."""
        name = self.target(svc, k)
        if name is None:
            return
        if not self.model.spec(name).health or \
                self.model.insts[name].states != {"running"}:
            return
        pid = self.baseline[name]
        self.say(f"{name} (pid {pid}) fails its health_check; then {then}")
        open(os.path.join(self.run.dir, f"sick.{pid}"), "w").close()
        self.model.ended(name, ("health",))
        self.after(then)

    # ---- the end

    @enabled("shutdown")
    @rule(how=st.sampled_from(("SIGTERM", "command", "SIGINT")),
          extra=st.sampled_from((None, "SIGTERM", "reload", "SIGHUP",
                                 "start base")))
    @guarded
    def shutdown(self, how, extra):
        """Shutdown, and maybe something else while it runs."""
        self.say(f"shutdown by {how}" + (f", then at once {extra}"
                                         if extra else ""))
        self.shutdown_and_check(how, extra)

    @precondition(lambda self: not self.live)
    @rule()
    def finished(self):
        """(nothing left to do once ringvisor has exited)"""

    def shutdown_and_check(self, how, extra):
        expected = self.model.shutdown_states()
        self.live = False
        p = self.run.proc
        t0 = time.monotonic()
        if how == "command":
            r = self.run.ctl("shutdown")
            if r.returncode != 0:
                raise CommandFailed(f"ringvisor shutdown: {r.stdout} "
                                    f"{r.stderr}\n{self.run.tail()}")
        else:
            p.send_signal(getattr(signal, how))
        if extra == "SIGTERM":
            p.send_signal(signal.SIGTERM)
        elif extra == "SIGHUP":
            p.send_signal(signal.SIGHUP)
        elif extra == "reload":
            r = self.run.ctl("reload")
            # refused (or nobody is listening any more); after a
            # `shutdown` reply it must not be accepted
            if how == "command" and r.returncode == 0:
                raise CommandFailed("ringvisor reload accepted during a "
                                    f"shutdown: {r.stdout}")
        elif extra == "start base":
            self.run.ctl("start", "base")
        limit = rvmodel.SHUTDOWN_TIMEOUT + 1
        left = T(limit) - (time.monotonic() - t0)
        try:
            rc = p.p.wait(max(left, 0.01))
        except Exception:
            p.kill()
            raise ShutdownFailure(f"ringvisor did not exit within "
                                  f"{T(limit):.1f}s of the shutdown "
                                  f"(shutdown_timeout "
                                  f"{rvmodel.SHUTDOWN_TIMEOUT:g}s + 1 s)\n"
                                  f"{self.run.tail()}") from None
        p._reader.join(T(2))
        if rc != 0:
            raise ShutdownFailure(f"ringvisor exited {rc} after a "
                                  f"requested shutdown, want 0\n"
                                  f"{self.run.tail()}")
        self.check_no_leftovers()
        self.check_exits(final=True)
        self.check_report(expected)

    def check_no_leftovers(self):
        starts, _ = self.run.records()

        def left():
            return [p for p in starts if alive(p)] + our_live_children()
        try:
            rvtest.wait_until(lambda: not left(), 1, "processes to end")
        except AssertionError:
            pids = sorted(set(left()))
            desc = [f"{p} ({starts.get(p, '?')})" for p in pids]
            for p in pids:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            raise ProcessLeak(f"left after ringvisor exited: {desc}\n"
                              f"{self.run.tail()}") from None

    def check_report(self, expected):
        import json
        try:
            with open(self.run.report) as f:
                rep = json.load(f)
        except (OSError, ValueError) as e:
            raise ShutdownFailure(f"no exit report: {e}") from None
        got = {s["name"]: s["state"] for s in rep["services"]}

        def mismatch(want):
            bad = [f"{n}: {got.get(n)} (want {'|'.join(sorted(w))})"
                   for n, w in want.items() if got.get(n) not in w]
            return bad, sorted(set(got) - set(want))
        bad, extra = mismatch(expected)
        # the config of a reload that was not waited for may not have
        # been applied (queued, then dropped by the shutdown)
        for before in reversed(self.unconfirmed):
            if bad or extra:
                b, e = mismatch(before)
                if not b and not e:
                    bad, extra = b, e
        if bad or extra:
            more = f" unexpected {extra}" if extra else ""
            raise ShutdownFailure(f"exit report: {bad}{more}\n"
                                  f"{self.run.tail()}")

    def teardown(self):
        if self.run is None:
            return
        try:
            if self.live and not self.failed:
                self.say("end of the sequence: shutdown by SIGTERM")
                self.shutdown_and_check("SIGTERM", None)
        except BaseException as e:
            self.budget.failed(self.steps, e)
            raise
        finally:
            self.live = False
            if self.run.proc:
                self.run.proc.kill()
                for pid in our_live_children():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                rvtest.Case._reap()
                if self.run.proc in self.case.procs:
                    self.case.procs.remove(self.run.proc)

    # ---- checks

    @invariant()
    @guarded
    def answers_and_accounts(self):
        """After every step: status answers in time; every recorded start
        and exit is logged once."""
        if not self.live:
            return
        self.run.status()
        self.check_exits()

    def after(self, then):
        if then == "settle":
            self.settle()

    def settle(self):
        """Waits until status agrees with the model; then the model
        narrows to what it sees and the pids become the baseline."""
        self.unconfirmed = []
        deadline = time.monotonic() + T(SETTLE_S)
        while True:
            st_ = self.run.status()
            problems = self.compare(st_)
            if not problems:
                break
            if time.monotonic() > deadline:
                raise StateMismatch(
                    "after the steps above, status does not settle as the "
                    "model says:\n  " + "\n  ".join(problems) +
                    f"\n  model: {self.model.describe()}\n{self.run.tail()}")
            time.sleep(0.05)
        self.check_exits()
        self.check_fds(st_)
        for s in st_["services"]:
            self.model.observed(s["name"], s["state"])
            self.baseline[s["name"]] = s["pid"]

    def compare(self, status):
        """What differs between status and the model (PidChanged at once
        for what cannot come right any more)."""
        problems = []
        svcs = {s["name"]: s for s in status["services"]}
        rec_starts, _ = self.run.records()
        if set(svcs) != set(self.model.insts):
            problems.append(f"services {sorted(svcs)}, model "
                            f"{sorted(self.model.insts)}")
        listed = set()
        for name, inst in self.model.insts.items():
            s = svcs.get(name)
            if s is None:
                continue
            sp = self.model.spec(name)
            state, pid, base = s["state"], s["pid"], self.baseline.get(name)
            listed.add(pid)
            if state not in inst.states:
                problems.append(f"{name}: {state} (pid {pid}), model "
                                f"{'|'.join(sorted(inst.states))}")
            if s.get("supervisor", sp.sup) != sp.sup:
                problems.append(f"{name}: under {s.get('supervisor')}, "
                                f"model {sp.sup}")
            if inst.pid_rule == "same" and inst.states <= UP and \
                    pid != base:
                raise PidChanged(
                    f"{name}: pid {base} -> {pid} ({state}), but nothing "
                    f"the model knows restarted or stopped it\n  model: "
                    f"{self.model.describe()}\n{self.run.tail()}")
            if inst.pid_rule == "new" and state in UP and \
                    (pid == base or (base and alive(base))):
                problems.append(f"{name}: not restarted yet (pid {pid}, "
                                f"was {base})")
            if state in UP and (pid is None or not alive(pid) or
                                rec_starts.get(pid) != name):
                problems.append(f"{name}: {state} but pid {pid} is not a "
                                "live process of it")
        strays = [p for p, i in rec_starts.items()
                  if alive(p) and p not in listed]
        if strays:
            problems.append("processes alive that status does not list: " +
                            ", ".join(f"{p} ({rec_starts[p]})"
                                      for p in strays))
        sup = status["supervisor"]["state"]
        can_wait = any("starting" in i.states
                       for i in self.model.insts.values())
        if sup not in ("starting", "alive") or (sup != "alive" and
                                                not can_wait):
            problems.append(f"supervisor {sup}, want alive (nothing waits "
                            "for readiness)" if not can_wait else
                            f"supervisor {sup}")
        return problems

    def check_exits(self, final=False):
        """Every start and exit a service recorded is logged once, with
        its code or signal; waits up to 2 s for lines on their way."""
        deadline = time.monotonic() + T(2)
        while True:
            problems = self.exit_problems(final)
            if not problems:
                return
            if time.monotonic() > deadline:
                raise ExitAccounting("\n  ".join(problems) + "\n" +
                                     self.run.tail())
            time.sleep(0.05)

    def exit_problems(self, final):
        starts, exits, kills = {}, {}, set()
        for e in self.run.proc.find():
            if "service" not in e or "pid" not in e:
                continue
            pid = e.int("pid")
            if e.event == "start":
                if pid in starts:
                    raise ExitAccounting(f"pid {pid} started twice:\n"
                                         f"{self.run.tail()}")
                starts[pid] = e["service"]
            elif e.event == "exit":
                if pid in exits:
                    raise ExitAccounting(f"exit of pid {pid} logged twice:"
                                         f"\n    {exits[pid].raw}\n    "
                                         f"{e.raw}")
                if pid not in starts:
                    raise ExitAccounting(f"exit of pid {pid}, never "
                                         f"started: {e.raw}")
                exits[pid] = e
            elif e.event == "kill":
                kills.add(pid)
        rec_starts, rec_exits = self.run.records()
        problems = []
        for pid, name in rec_starts.items():
            if pid not in starts:
                problems.append(f"{name} pid {pid} started, no start line")
            elif starts[pid] != name:
                raise ExitAccounting(f"pid {pid} is {name}, logged as "
                                     f"{starts[pid]}")
        for pid, how in rec_exits.items():
            e = exits.get(pid)
            if e is None:
                problems.append(f"{rec_starts.get(pid)} pid {pid} ended "
                                f"({how[0]} {how[1]}), no exit line")
                continue
            if how[0] == "code":
                same = e.get("code") == str(how[1])
            else:	# its own end, or SIGKILL that ringvisor logged
                same = e.get("signal") == how[1] or (
                    e.get("signal") == "SIGKILL" and pid in kills)
            if not same:
                raise ExitAccounting(f"pid {pid} ended with {how[0]} "
                                     f"{how[1]}, logged as: {e.raw}")
        if final:
            problems += [f"{n} pid {p} started, its exit never logged"
                         for p, n in starts.items() if p not in exits]
        return problems

    def check_fds(self, status):
        """The supervisor's descriptors less one per process (pidfd), per
        pending ready_fd pipe and four per instance (the two output pipes
        `logs` keeps: stdout and stderr are `inherit` with the default
        log_buffer, a pipe each, both ends held for the instance's life):
        must not grow over the run."""
        n_proc = sum(1 for s in status["services"] if s["pid"])
        n_pipe = sum(1 for s in status["services"]
                     if s["state"] == "starting" and
                     self.model.spec(s["name"]).ready == "fd")
        n_pipe += 4 * len(status["services"])
        samples = []
        for _ in range(4):
            n = self.run.fd_count()
            if n is None:
                return
            samples.append(n)
            time.sleep(0.02)
        over = min(samples) - n_proc - n_pipe
        if self.fd_base is None:
            self.fd_base = over
        elif over > self.fd_base + FD_SLACK:
            raise FdLeak(f"ringvisor has {min(samples)} fds for {n_proc} "
                         f"processes and {n_pipe} ready pipes: "
                         f"{over} others, {self.fd_base} at the start:\n"
                         + fd_listing(self.run.proc.pid))

    # ---- printing

    def say(self, text):
        """One line of the readable reproducer (printed for the final,
        minimal example only)."""
        self.steps.append(text)
        note(f"[{len(self.steps)}] {text}")


def failure_key(exc):
    """What tells failures apart: the class and the first problem line,
    without pids, numbers and instance names."""
    import re
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    if lines and lines[0].startswith("after the steps above"):
        lines = lines[1:]
    first = lines[0] if lines else ""
    first = re.sub(r"\bs[1-4](@\d)?\b|\bbase\b", "S", first)
    first = re.sub(r"\d+(\.\d+)?", "#", first)
    return f"{type(exc).__name__}: {first[:160]}"


def print_shortest(budget):
    for key, (steps, exc) in sorted(budget.shortest.items()):
        print(f"\n---- shortest failing sequence seen for [{key}] "
              f"({len(steps)} steps):", flush=True)
        for i, text in enumerate(steps, 1):
            print(f"  [{i}] {text}")
        print(f"  => {type(exc).__name__}: "
              + "\n     ".join(str(exc).splitlines()[:40]), flush=True)


def indent(text):
    return "\n".join("      " + ln for ln in text.strip().splitlines())


def fd_listing(pid):
    out = []
    try:
        for fd in sorted(os.listdir(f"/proc/{pid}/fd"), key=int):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                out.append(f"    {fd} -> {target}")
            except OSError:
                pass
    except OSError:
        pass
    return "\n".join(out)


def limit_shrinking():
    """Hypothesis (6.67) shrinks for up to 5 minutes; with a real process
    per example that is longer than a CI test may take.  Its deadline is
    an instance attribute set when shrinking starts: cap it at
    RV_MODEL_SHRINK_SECONDS, from when shrinking starts."""
    try:
        from hypothesis.internal.conjecture import engine
    except ImportError:
        return

    def get(self):
        return self.__dict__.get("_rv_shrink_deadline")

    def put(self, v):
        if v is not None:
            v = min(v, time.perf_counter() + SHRINK_S)
        self.__dict__["_rv_shrink_deadline"] = v
    engine.ConjectureRunner.finish_shrinking_deadline = property(get, put)


# ---------------------------------------------------------------- test

class ModelTest(rvtest.Case):

    def test_model(self):
        RvMachine.case = self
        budget = Budget()
        RvMachine.budget = budget
        first = os.environ.get("RV_MODEL_SEED")
        base = int(first) if first else random.getrandbits(31)
        backend = os.environ.get("RINGVISOR_BACKEND", "auto")
        print(f"test_model: backend={backend} seed={base}, {EXPLORE_S:g}s"
              f" budget, up to {EXAMPLES} examples of up to {STEPS} "
              f"steps; excluded: {sorted(EXCLUDE) or 'nothing'}",
              flush=True)
        failures = []
        n = 0
        while budget.explore_left() > 0 or n == 0:
            s = base + n
            n += 1
            cls = type(f"RvMachine_seed_{s}", (RvMachine,), {})
            hyp_seed(s)(cls)
            t0, runs0 = time.monotonic(), RvMachine.runs
            budget.first_failure = None
            limit_shrinking()
            try:
                run_state_machine_as_test(cls, settings=settings(
                    max_examples=EXAMPLES, stateful_step_count=STEPS,
                    deadline=None, database=None, derandomize=False,
                    suppress_health_check=list(HealthCheck),
                    report_multiple_bugs=KEEP_GOING, print_blob=False))
            except BudgetExhausted:
                pass
            except BaseException as e:
                if not isinstance(e, Exception):
                    raise
                if isinstance(e, hypothesis.errors.Flaky) and \
                        budget.first_failure is None:
                    # Hypothesis could not replay an example the same
                    # way (the machine's draws follow what ringvisor
                    # showed, which timing may change) while no step,
                    # invariant or check failed: nothing to report
                    print(f"test_model: seed {s}: Hypothesis gave up "
                          f"replaying ({type(e).__name__}); no check "
                          f"failed", flush=True)
                    continue
                failures.append((s, e))
                print(f"\n==== FAILED with seed {s}: replay with "
                      f"RV_MODEL_SEED={s} RINGVISOR_BACKEND={backend}",
                      flush=True)
                # Hypothesis puts each reproducer in its exception's notes
                for sub in getattr(e, "exceptions", [e]):
                    print("".join(traceback.format_exception_only(
                        type(sub), sub))[-12000:], flush=True)
                if not KEEP_GOING:
                    break
            print(f"test_model: seed {s}: {RvMachine.runs - runs0} "
                  f"ringvisor runs in {time.monotonic() - t0:.1f}s",
                  flush=True)
        print_shortest(budget)
        print(f"test_model: {RvMachine.runs} runs, {n} seeds, "
              f"{time.monotonic() - budget.t0:.0f}s, "
              f"{len(failures)} failing seed(s)", flush=True)
        if failures:
            self.fail("model-based test failed for seed(s) " +
                      ", ".join(str(s) for s, _ in failures) +
                      " (reproducers above)")


if __name__ == "__main__":
    rvtest.main()
