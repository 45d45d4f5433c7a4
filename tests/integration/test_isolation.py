#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Isolation, resources and output (issue 4), read back from /proc the way
an administrator would: /proc/PID/status (Uid, Gid, Groups, Cap*, NoNewPrivs,
Umask, Cpus_allowed_list), /proc/PID/limits, stat (nice), oom_score_adj,
cwd, environ, fd, cgroup.  Also: a spawn that fails at setgid, at execve
with EAGAIN, or at clone reports its step and goes through backoff; cgroup
placement and kill_mode = cgroup (cgroup.kill); cgroup limits or their
clear absence; prefix output (every line of 4 concurrent services, in
order; no newline; overlong lines; backpressure) and file output reopened
on SIGUSR1.

Needs root (users, capabilities, cgroups): skipped otherwise."""

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import RV_BIN, T, fixture, service, slurp, wait_until  # noqa: E402

PROBE = fixture("idprobe")
CAP_CHOWN, CAP_NET_BIND_SERVICE = 0, 10
LINE_MAX = 16384		# RV_OUT_LINE_MAX in src/child/output.h


def proc_status(pid):
    out = {}
    for ln in slurp(f"/proc/{pid}/status").splitlines():
        k, _, v = ln.partition(":")
        out[k] = v.strip()
    return out


def caps(*bits):
    v = 0
    for b in bits:
        v |= 1 << b
    return f"{v:016x}"


def proc_limits(pid):
    """{"Max open files": ("1000", "2000"), ...}"""
    out = {}
    for ln in slurp(f"/proc/{pid}/limits").splitlines()[1:]:
        m = re.match(r"^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)", ln)
        if m:
            out[m.group(1)] = (m.group(2), m.group(3))
    return out


def proc_environ(pid):
    with open(f"/proc/{pid}/environ", "rb") as f:
        raw = f.read()
    env = {}
    for item in raw.split(b"\0"):
        if item:
            k, _, v = item.decode().partition("=")
            env[k] = v
    return env


def proc_cgroup(pid):
    for ln in slurp(f"/proc/{pid}/cgroup").splitlines():
        if ln.startswith("0::"):
            return ln[3:]
    return None


def cgroup2():
    """(mount point, our cgroup dir) of a writable cgroup v2, or a reason."""
    mnt = None
    for ln in slurp("/proc/self/mountinfo").splitlines():
        pre, _, post = ln.partition(" - ")
        if post.startswith("cgroup2 "):
            f = pre.split()
            if f[3] == "/":
                mnt = f[4]
                break
    if not mnt:
        return None, "no cgroup2 mount"
    own = os.path.join(mnt, (proc_cgroup("self") or "/").lstrip("/"))
    own = own.rstrip("/") or mnt
    if not os.access(own, os.W_OK):
        return None, f"{own} is not writable"
    return (mnt, own), None


def errno_name(v):
    """log errno= values are numbers; accept names too."""
    import errno as E
    try:
        return E.errorcode[int(v)]
    except (ValueError, KeyError):
        return v


def free_privileged_port():
    """80 if we can bind it, else some free port below 1024 (None: none)."""
    for p in [80] + random.sample(range(600, 1000), 60):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    return None


class TestUser:
    """A user with its own primary group and one supplementary group,
    made with useradd for this run (removed at the end)."""
    name = group = supp = None
    reason = None

    @classmethod
    def make(cls):
        if cls.name or cls.reason:
            return
        if not shutil.which("useradd") or not shutil.which("groupadd"):
            cls.reason = "useradd/groupadd not installed"
            return
        tag = f"{os.getpid() % 100000}"
        grp, supp, user = f"rvp{tag}", f"rvs{tag}", f"rvu{tag}"
        try:
            for g in (grp, supp):
                subprocess.run(["groupadd", g], check=True,
                               capture_output=True)
            subprocess.run(["useradd", "-M", "-N", "-g", grp, "-G", supp,
                            "-d", "/nonexistent", "-s", "/usr/sbin/nologin",
                            user], check=True, capture_output=True)
        except subprocess.CalledProcessError as e:
            cls.reason = f"useradd failed: {e.stderr!r}"
            cls.cleanup(user, grp, supp)
            return
        cls.name, cls.group, cls.supp = user, grp, supp

    @classmethod
    def cleanup(cls, user=None, grp=None, supp=None):
        user, grp, supp = user or cls.name, grp or cls.group, supp or cls.supp
        if user:
            subprocess.run(["userdel", user], capture_output=True)
        for g in (grp, supp):
            if g:
                subprocess.run(["groupdel", g], capture_output=True)


def gid_of(name):
    import grp
    return grp.getgrnam(name).gr_gid


def uid_of(name):
    import pwd
    return pwd.getpwnam(name).pw_uid


class Isolation(rvtest.Case):

    @classmethod
    def tearDownClass(cls):
        TestUser.cleanup()

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("needs root (users, capabilities, cgroups)")
        # services running as other users read and write in pub/
        os.chmod(self.tmp, 0o755)
        self.pub = os.path.join(self.tmp, "pub")
        os.mkdir(self.pub)
        os.chmod(self.pub, 0o1777)
        self.probe_bin = os.path.join(self.pub, "idprobe")
        shutil.copy(PROBE, self.probe_bin)
        os.chmod(self.probe_bin, 0o755)

    def p(self, name):
        return os.path.join(self.pub, name)

    def probe(self, *steps):
        return " ".join([self.probe_bin] + [str(s) for s in steps])

    def ready_pid(self, name, timeout=10):
        path = self.p(name)
        wait_until(lambda: os.path.exists(path), timeout, f"{name}")
        return int(slurp(path))

    def run_one(self, keys, steps=("pause",), name="probe", **kw):
        """Starts one service with keys; returns (proc, pid)."""
        cfg = self.config(f"[service:{name}]\n"
                          f"command = {self.probe('ready', self.p(name + '.pid'), *steps)}\n"
                          + keys)
        rv = self.start(cfg, **kw)
        pid = self.ready_pid(name + ".pid")
        return rv, pid

    # ------------------------------------------------------- identity

    def port_or_skip(self):
        port = free_privileged_port()
        if port is None:
            self.skipTest("no free port below 1024")
        return port

    def test_user_with_capability_binds_privileged_port(self):
        port = self.port_or_skip()
        rv, pid = self.run_one(
            "user = nobody\ncapabilities = cap_net_bind_service\n"
            "no_new_privileges = true\n",
            steps=("bind", port, self.p("bind"), "pause"))
        wait_until(lambda: os.path.exists(self.p("bind")), 10, "bind result")
        st = proc_status(pid)
        self.assertEqual(st["Uid"].split(), ["65534"] * 4)
        self.assertEqual(st["Gid"].split(), [str(gid_of("nogroup"))] * 4)
        self.assertEqual(st["Groups"].split(), [str(gid_of("nogroup"))])
        want = caps(CAP_NET_BIND_SERVICE)
        for k in ("CapPrm", "CapEff", "CapInh", "CapAmb", "CapBnd"):
            self.assertEqual(st[k], want, k)
        self.assertEqual(st["NoNewPrivs"], "1")
        self.assertEqual(slurp(self.p("bind")).strip(), "ok",
                         f"bind to port {port}")
        self.assertEqual(rv.shutdown(), 0)

    def test_capabilities_none_cannot_bind(self):
        port = self.port_or_skip()
        rv, pid = self.run_one(
            "user = nobody\ncapabilities = none\n",
            steps=("bind", port, self.p("bind"), "pause"))
        wait_until(lambda: os.path.exists(self.p("bind")), 10, "bind result")
        st = proc_status(pid)
        for k in ("CapPrm", "CapEff", "CapInh", "CapAmb", "CapBnd"):
            self.assertEqual(st[k], caps(), k)
        self.assertEqual(st["NoNewPrivs"], "0")
        self.assertEqual(slurp(self.p("bind")).strip(), "EACCES")
        self.assertEqual(rv.shutdown(), 0)

    def test_root_keeps_exactly_the_listed_capabilities(self):
        rv, pid = self.run_one(
            "capabilities = cap_chown cap_net_bind_service\n")
        st = proc_status(pid)
        self.assertEqual(st["Uid"].split(), ["0"] * 4)
        want = caps(CAP_CHOWN, CAP_NET_BIND_SERVICE)
        for k in ("CapPrm", "CapEff", "CapInh", "CapAmb", "CapBnd"):
            self.assertEqual(st[k], want, k)
        self.assertEqual(rv.shutdown(), 0)

    def test_user_without_capabilities_has_none(self):
        rv, pid = self.run_one("user = nobody\n")
        st = proc_status(pid)
        for k in ("CapPrm", "CapEff", "CapAmb"):
            self.assertEqual(st[k], caps(), k)
        self.assertEqual(st["Uid"].split(), ["65534"] * 4)
        self.assertEqual(rv.shutdown(), 0)

    def test_supplementary_groups_and_group_override(self):
        TestUser.make()
        if TestUser.reason:
            self.skipTest(TestUser.reason)
        user, prim, supp = TestUser.name, TestUser.group, TestUser.supp
        rv, pid = self.run_one(f"user = {user}\n")
        st = proc_status(pid)
        self.assertEqual(st["Uid"].split(), [str(uid_of(user))] * 4)
        self.assertEqual(st["Gid"].split(), [str(gid_of(prim))] * 4)
        self.assertEqual(sorted(st["Groups"].split(), key=int),
                         sorted([str(gid_of(prim)), str(gid_of(supp))],
                                key=int))
        env = proc_environ(pid)
        self.assertEqual((env["USER"], env["LOGNAME"], env["HOME"]),
                         (user, user, "/nonexistent"))
        self.assertEqual(rv.shutdown(), 0)

        # group = overrides the primary group; supplementary ones stay
        rv, pid = self.run_one(f"user = {user}\ngroup = nogroup\n",
                               name="probe2")
        st = proc_status(pid)
        self.assertEqual(st["Gid"].split(), [str(gid_of("nogroup"))] * 4)
        self.assertIn(str(gid_of(supp)), st["Groups"].split())
        self.assertEqual(rv.shutdown(), 0)

    # ------------------------------------------------------ resources

    def test_limits_nice_affinity_umask_cwd_oom(self):
        cpu = os.cpu_count() - 1
        rv, pid = self.run_one(
            "limit_nofile = 1000:2000\nlimit_core = 0:infinity\n"
            "limit_nproc = 500\nnice = 7\n"
            f"cpu_affinity = {cpu}\numask = 0027\n"
            f"working_directory = {self.pub}\noom_score_adjust = 250\n"
            "user = nobody\n")
        lim = proc_limits(pid)
        self.assertEqual(lim["Max open files"], ("1000", "2000"))
        self.assertEqual(lim["Max core file size"], ("0", "unlimited"))
        self.assertEqual(lim["Max processes"], ("500", "500"))
        st = proc_status(pid)
        self.assertEqual(st["Umask"], "0027")
        self.assertEqual(st["Cpus_allowed_list"], str(cpu))
        stat_f = slurp(f"/proc/{pid}/stat").rsplit(")", 1)[1].split()
        self.assertEqual(int(stat_f[16]), 7, "nice")
        self.assertEqual(slurp(f"/proc/{pid}/oom_score_adj").strip(), "250")
        self.assertEqual(os.readlink(f"/proc/{pid}/cwd"), self.pub)
        self.assertEqual(rv.shutdown(), 0)

    def test_cpu_affinity_per_instance(self):
        if os.cpu_count() < 2:
            self.skipTest("one CPU: nothing to pin apart")
        cfg = self.config(f"""
            [service:pin]
            instances = 2
            cpu_affinity = %i
            command = {self.probe('ready', self.p('pin.%i'), 'pause')}
            """)
        rv = self.start(cfg)
        for i in (0, 1):
            pid = self.ready_pid(f"pin.{i}")
            self.assertEqual(proc_status(pid)["Cpus_allowed_list"], str(i))
        self.assertEqual(rv.shutdown(), 0)

    # ---------------------------------------------------- environment

    def test_environment_file_and_clear_environment(self):
        envf = self.write("svc.env", "\n".join([
            "# comment", "; also a comment", "",
            "FROM_FILE=plain value",
            "export EXPORTED=yes",
            'QUOTED="a \\"b\\" c"',
            "SINGLE='$HOME stays'",
            "OVERRIDE=file",
            "MARKER=file"]) + "\n")
        keys = (f"environment_file = {envf}\n"
                'environment = OVERRIDE=env EXTRA="two words"\n')
        env_rv = rvtest.rv_env({"MARKER": "inherited", "KEEP_ME": "1"})
        rv, pid = self.run_one(keys, env=env_rv)
        env = proc_environ(pid)
        self.assertEqual(env["FROM_FILE"], "plain value")
        self.assertEqual(env["EXPORTED"], "yes")
        self.assertEqual(env["QUOTED"], 'a "b" c')
        self.assertEqual(env["SINGLE"], "$HOME stays")
        self.assertEqual(env["OVERRIDE"], "env")	# environment wins
        self.assertEqual(env["EXTRA"], "two words")
        self.assertEqual(env["MARKER"], "file")		# file beats inherited
        self.assertEqual(env["KEEP_ME"], "1")		# inherited
        self.assertEqual(rv.shutdown(), 0)

        rv, pid = self.run_one(keys + "clear_environment = true\n",
                               name="clean", env=env_rv)
        self.assertEqual(proc_environ(pid), {
            "FROM_FILE": "plain value", "EXPORTED": "yes",
            "QUOTED": 'a "b" c', "SINGLE": "$HOME stays",
            "OVERRIDE": "env", "MARKER": "file", "EXTRA": "two words"})
        self.assertEqual(rv.shutdown(), 0)

    def test_bad_environment_file_is_a_failed_start(self):
        envf = self.write("bad.env", "GOOD=1\nthis is not a variable\n")
        cfg = self.config(f"""
            [service:bad]
            command = {self.probe('pause')}
            environment_file = {envf}
            restart = never
            """)
        rv = self.start(cfg)
        ev, = rv.wait_for("spawn_failed", service="bad")
        self.assertEqual(ev["step"], "environment_file")
        self.assertIn("line 2", ev["detail"])
        self.assertIn(envf, ev["detail"])
        rv.wait_for("failed", service="bad")
        self.assertEqual(rv.wait(10), 1)

    # ------------------------------------------------------ descriptors

    def test_only_stdio_descriptors(self):
        rv, pid = self.run_one(
            f"stdout = prefix\nstderr = file:{self.p('err.log')}\n")
        fds = sorted(int(f) for f in os.listdir(f"/proc/{pid}/fd"))
        self.assertEqual(fds, [0, 1, 2])
        self.assertTrue(os.readlink(f"/proc/{pid}/fd/1").startswith("pipe:"))
        self.assertTrue(os.readlink(f"/proc/{pid}/fd/2").startswith("pipe:"))
        self.assertEqual(rv.shutdown(), 0)

        rv, pid = self.run_one("stdout = null\nstderr = stdout\n",
                               name="quiet")
        self.assertEqual(os.readlink(f"/proc/{pid}/fd/1"), "/dev/null")
        self.assertEqual(os.readlink(f"/proc/{pid}/fd/2"), "/dev/null")
        self.assertEqual(rv.shutdown(), 0)

    def test_null_outputs_share_one_dev_null(self):
        # one /dev/null per service would take as many descriptors as
        # the services' pidfds: 10,000 services would not fit 20,000
        cfg = self.config(
            "[service:q]\ninstances = 4\ncommand = sleep 600\n"
            "stdout = null\nstderr = null\n")
        rv = self.start(cfg)
        pids = [rv.wait_for("start", service=f"q@{i}")[0].int("pid")
                for i in range(4)]
        def outputs_null(fd):
            # ours, for outputs: read-write, close-on-exec (stdin and
            # the spawn's spare descriptor are neither)
            if os.readlink(f"/proc/{rv.pid}/fd/{fd}") != "/dev/null":
                return False
            flags = int(rvtest.slurp(f"/proc/{rv.pid}/fdinfo/{fd}")
                        .split("flags:")[1].split()[0], 8)
            return bool(flags & os.O_RDWR and flags & 0o2000000)
        nulls = [f for f in os.listdir(f"/proc/{rv.pid}/fd")
                 if outputs_null(f)]
        self.assertEqual(len(nulls), 1, nulls)
        for pid in pids:
            self.assertEqual(os.readlink(f"/proc/{pid}/fd/1"), "/dev/null")
        self.assertEqual(rv.shutdown(), 0)

    # -------------------------------------------------- failed spawns

    def test_spawn_failing_at_setgid_reports_the_step(self):
        if not shutil.which("setpriv"):
            self.skipTest("setpriv (util-linux) not installed")
        cfg = self.config(f"""
            [service:nogid]
            command = {self.probe('pause')}
            group = nogroup
            restart = on-failure
            restart_delay = 50ms
            backoff = fixed
            max_restarts = 2
            """)
        # ringvisor without CAP_SETGID: root, but setresgid() fails
        rv = rvtest.Proc(self, ["setpriv", "--bounding-set=-setgid", "--",
                                RV_BIN, "run", "-c", cfg, "--report",
                                self.report_path])
        rv.wait_for("failed", service="nogid")
        fails = rv.find("spawn_failed", service="nogid")
        self.assertEqual(len(fails), 3, "a start and two restarts")
        for f in fails:
            self.assertEqual(f["step"], "setgid", f.raw)
            self.assertEqual(errno_name(f["errno"]), "EPERM", f.raw)
        self.assertEqual(len(rv.find("restart_scheduled", service="nogid")),
                         2)
        self.assertEqual(rv.wait(10), 1)

    def test_spawn_failing_at_execve_with_eagain(self):
        # RLIMIT_NPROC 0 for a user that already has a process: setuid()
        # marks the child over its limit, and execve() fails with EAGAIN
        if not shutil.which("setpriv"):
            self.skipTest("setpriv (util-linux) not installed")
        other = subprocess.Popen(["setpriv", "--reuid=65534",
                                  "--regid=65534", "--clear-groups",
                                  "sleep", "60"])
        self.addCleanup(lambda: (other.kill(), other.wait()))
        wait_until(lambda: proc_status(other.pid).get("Uid", "").startswith(
            "65534"), 5, "a process of nobody")
        cfg = self.config(f"""
            [service:nproc]
            command = {self.probe('pause')}
            user = nobody
            limit_nproc = 0
            restart_delay = 50ms
            backoff = fixed
            max_restarts = 1
            """)
        rv = self.start(cfg)
        rv.wait_for("failed", service="nproc")
        fails = rv.find("spawn_failed", service="nproc")
        self.assertEqual([(f["step"], errno_name(f["errno"])) for f in fails],
                         [("execve", "EAGAIN")] * 2)
        self.assertEqual(len(rv.find("restart_scheduled", service="nproc")),
                         1)
        self.assertEqual(rv.wait(10), 1)

    def test_clone_failing_with_eagain_is_retried(self):
        if not shutil.which("setpriv") or not shutil.which("prlimit"):
            self.skipTest("setpriv/prlimit (util-linux) not installed")
        os.chmod(self.tmp, 0o755)
        cfg = self.config(f"""
            [service:noproc]
            command = {self.probe('pause')}
            restart_delay = 50ms
            backoff = fixed
            max_restarts = 2
            """, control_socket=self.p("control.sock"))
        os.chmod(cfg, 0o644)
        # ringvisor as nobody, allowed no process besides itself
        # (LeakSanitizer needs a thread at exit, which nproc=1 forbids)
        asan = os.environ.get("ASAN_OPTIONS", "")
        env = rvtest.rv_env({"ASAN_OPTIONS": asan + ":detect_leaks=0"})
        rv = rvtest.Proc(self, ["setpriv", "--reuid=65534", "--regid=65534",
                                "--clear-groups", "--", "prlimit",
                                "--nproc=1", "--", self.public_copy(RV_BIN),
                                "run", "-c", cfg],
                         env=env)
        rv.wait_for("failed", service="noproc")
        fails = rv.find("spawn_failed", service="noproc")
        self.assertEqual([(f["step"], errno_name(f["errno"])) for f in fails],
                         [("clone", "EAGAIN")] * 3)
        self.assertEqual(len(rv.find("restart_scheduled", service="noproc")),
                         2)
        self.assertEqual(rv.wait(10), 1)

    # ------------------------------------------------------- cgroups

    def cgroup_or_skip(self):
        cg, why = cgroup2()
        if not cg:
            self.skipTest(f"cgroup v2: {why}")
        return cg

    def test_cgroup_placement_and_kill_mode_cgroup(self):
        mnt, own = self.cgroup_or_skip()
        rv, pid = self.run_one(
            "kill_mode = cgroup\n",
            steps=("escape", self.p("escaped"), "pause"))
        esc = self.ready_pid("escaped")
        cg = proc_cgroup(pid)
        self.assertTrue(cg.endswith("/probe.service"), cg)
        self.assertIn(f"/ringvisor.{rv.pid}/", cg,
                      "not delegated: a per-supervisor directory")
        self.assertEqual(proc_cgroup(esc), cg, "the grandchild too")
        self.assertNotEqual(os.getpgid(esc), os.getpgid(pid),
                            "escaped its process group")
        path = os.path.join(mnt, cg.lstrip("/"))
        self.assertTrue(os.path.isdir(path))
        self.assertEqual(rv.shutdown(), 0)
        wait_until(lambda: not rvtest.alive(esc), 5,
                   "the escaped grandchild to die (cgroup.kill)")
        wait_until(lambda: not os.path.exists(path), 5,
                   f"{path} to be removed")
        self.assertFalse(os.path.exists(os.path.dirname(path)))

    def test_kill_mode_group_leaves_an_escaped_grandchild(self):
        # the contrast: without cgroup.kill, setsid() escapes the stop
        rv, pid = self.run_one(
            "", steps=("escape", self.p("escaped"), "pause"))
        esc = self.ready_pid("escaped")
        self.assertEqual(rv.shutdown(), 0)
        time.sleep(T(0.2))
        self.assertTrue(rvtest.alive(esc), "kill_mode = group")
        os.kill(esc, signal.SIGKILL)

    def test_delegated_cgroup_places_every_service(self):
        mnt, own = self.cgroup_or_skip()
        mine = os.path.join(own, f"rvtest-{os.getpid()}-{id(self) % 9999}")
        os.mkdir(mine)
        self.addCleanup(self._rmdir_retry, mine)

        def enter():
            with open(os.path.join(mine, "cgroup.procs"), "w") as f:
                f.write("0")

        cfg = self.config(f"""
            [service:plain]
            command = {self.probe('ready', self.p('plain.pid'), 'pause')}
            """)
        rv = self.start(cfg, preexec_fn=enter)
        pid = self.ready_pid("plain.pid")
        rel = "/" + os.path.relpath(mine, mnt)
        self.assertEqual(proc_cgroup(rv.pid), rel)
        self.assertEqual(proc_cgroup(pid), rel + "/plain.service")
        self.assertEqual(rv.shutdown(), 0)
        wait_until(lambda: not os.path.exists(
            os.path.join(mine, "plain.service")), 5, "cleanup")

    @staticmethod
    def _rmdir_retry(path):
        """Removes a cgroup and what ringvisor may have left in it."""
        for _ in range(50):
            try:
                for sub in os.scandir(path):
                    if sub.is_dir():
                        Isolation._rmdir_retry(sub.path)
                os.rmdir(path)
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.05)

    def test_cgroup_limits_applied(self):
        mnt, own = self.cgroup_or_skip()
        have = slurp(os.path.join(own, "cgroup.controllers")).split()
        if not {"memory", "pids"} <= set(have):
            self.skipTest("the cgroup v2 memory and pids controllers are "
                          f"not available in {own} (cgroup.controllers: "
                          f"{' '.join(have) or 'none'}); "
                          "test_cgroup_limits_refused covers this machine")
        rv, pid = self.run_one_or_refused("memory_max = 64M\npids_max = 10\n")
        if pid:
            path = os.path.join(mnt, proc_cgroup(pid).lstrip("/"))
            self.assertEqual(slurp(os.path.join(path, "memory.max")).strip(),
                             str(64 << 20))
            self.assertEqual(slurp(os.path.join(path, "pids.max")).strip(),
                             "10")
        rv.shutdown()

    def run_one_or_refused(self, keys):
        """(rv, pid), or (rv, None) where the controllers exist but cannot
        be enabled for us (other processes share our cgroup): then the
        failed start must say so."""
        cfg = self.config(f"[service:lim]\ncommand = "
                          f"{self.probe('ready', self.p('lim.pid'), 'pause')}"
                          f"\nrestart = never\n" + keys)
        rv = self.start(cfg)
        deadline = time.monotonic() + T(10)
        while time.monotonic() < deadline:
            if os.path.exists(self.p("lim.pid")):
                return rv, int(slurp(self.p("lim.pid")))
            f = rv.find("spawn_failed", service="lim")
            if f:
                self.assertEqual(f[0]["step"], "cgroup")
                self.assertIn("controller", f[0]["detail"])
                print(f"note: limits not applicable here: {f[0]['detail']}")
                return rv, None
            time.sleep(0.02)
        self.fail("neither started nor failed")

    def test_cgroup_limits_refused_when_controllers_are_missing(self):
        cg, why = cgroup2()
        if cg:
            have = slurp(os.path.join(cg[1], "cgroup.controllers")).split()
            if "memory" in have:
                self.skipTest("this machine has the memory controller")
        cfg = self.config(f"""
            [service:limited]
            command = {self.probe('pause')}
            memory_max = 64M
            restart = never
            """)
        chk = self.rv("check", "-c", cfg)
        self.assertEqual(chk.returncode, 0, chk.stderr + chk.stdout)
        text = chk.stdout + chk.stderr
        self.assertRegex(text, r"warning: .*memory_max needs .*cgroup v2")
        rv = self.start(cfg)
        ev, = rv.wait_for("spawn_failed", service="limited")
        self.assertEqual(ev["step"], "cgroup")
        self.assertIn("memory_max needs", ev["detail"])
        if cg:
            self.assertIn("memory controller", ev["detail"])
        rv.wait_for("failed", service="limited")
        self.assertEqual(rv.wait(10), 1)

    # --------------------------------------------------------- reload

    def test_reload_keeps_pipes_and_cgroup_of_running_services(self):
        cg, why = cgroup2()
        kill = "kill_mode = cgroup\n" if cg else ""
        body = f"""
            [service:talker]
            command = {self.probe('every', 5, 0, 'T')}
            stdout = prefix
            {kill}
            [service:other]
            command = {self.probe('pause')}
            stdout = prefix
            """
        cfg = self.config(body)
        rv = self.start(cfg)
        pid, = [e.int("pid") for e in rv.wait_for("start", service="talker")]
        before = proc_cgroup(pid)

        def lines():
            return self.prefixed(slurp(rv.out_path)).get("talker", [])
        wait_until(lambda: len(lines()) >= 10, 10, "talker output")
        # unchanged talker; `other` changes and is restarted
        self.config(body + "nice = 1\n")
        rv.send_signal(signal.SIGHUP)
        rv.wait_for("reload_applied")
        n = len(lines())
        wait_until(lambda: len(lines()) >= n + 20, 10,
                   "talker output after the reload")
        self.assertTrue(rvtest.alive(pid), "the adopted talker died")
        self.assertEqual(rv.service_pids("talker"), [pid])
        rv.wait_for("start", service="other", count=2)
        self.assertEqual(proc_cgroup(pid), before)
        seq = [int(x.split()[1]) for x in lines()]
        self.assertEqual(seq, list(range(len(seq))))
        self.assertEqual(rv.shutdown(), 0)
        if cg:
            self.assertFalse(os.path.exists(os.path.join(
                cg[0], before.lstrip("/"))))

    # ------------------------------------------------------ subreaper

    def test_orphans_are_reaped_and_never_steal_a_service_exit(self):
        cfg = self.config(f"""
            [service:parent]
            command = {self.probe('escape', self.p('orphan'), 'sleep', 100,
                                  'exit', 3)}
            restart = never

            [service:keep]
            command = {self.probe('pause')}
            """)
        rv = self.start(cfg, env=rvtest.rv_env(
            {"RINGVISOR_LOG_LEVEL": "debug"}))
        parent = rv.wait_for("start", service="parent")[0].int("pid")
        orphan = self.ready_pid("orphan")
        ev, = rv.wait_for("exit", service="parent")
        self.assertEqual((ev.int("pid"), ev["code"]), (parent, "3"))
        # not PID 1: ringvisor is the subreaper of what its services leave
        wait_until(lambda: rvtest.proc_stat(orphan)[1] == rv.pid, 5,
                   "the orphan to reparent to ringvisor")
        os.kill(orphan, signal.SIGKILL)
        rv.wait_for("orphan_reaped", pid=str(orphan))
        self.assertEqual(len(rv.find("exit", service="parent")), 1)
        self.assertEqual(rv.shutdown(), 0)	# a requested shutdown

    # --------------------------------------------------------- output

    def prefixed(self, text):
        """{name: [line, ...]} of "name | line" output."""
        out = {}
        for ln in text.splitlines():
            name, sep, rest = ln.partition(" | ")
            if sep:
                out.setdefault(name, []).append(rest)
        return out

    def test_prefix_keeps_every_line_in_order(self):
        n = 100000
        cfg = self.config(f"""
            [service:w]
            instances = 4
            command = {self.probe('lines', n, 'L%i')}
            stdout = prefix
            restart = never
            """)
        rv = self.start(cfg)
        self.assertEqual(rv.wait(60), 0)
        got = self.prefixed(slurp(rv.out_path))
        for i in range(4):
            lines = got.get(f"w@{i}", [])
            self.assertEqual(len(lines), n, f"w@{i}")
            bad = [k for k, ln in enumerate(lines) if ln != f"L{i} {k}"]
            self.assertEqual(bad[:5], [], f"w@{i}: out of order or torn")

    def test_prefix_without_newlines_and_overlong_lines(self):
        cfg = self.config(f"""
            [service:raw]
            command = {self.probe('raw', 40000)}
            stdout = prefix
            restart = never

            [service:part]
            command = /bin/sh -c "printf 'no newline at exit'"
            stdout = prefix
            restart = never

            [service:err]
            command = /bin/sh -c "echo to-stderr >&2; printf 'x%.0s' $(seq 20000); echo"
            stdout = prefix
            stderr = stdout
            restart = never
            """)
        rv = self.start(cfg)
        self.assertEqual(rv.wait(20), 0)
        got = self.prefixed(slurp(rv.out_path))
        raw = got["raw"]
        self.assertEqual([len(x) for x in raw], [LINE_MAX, LINE_MAX, 40000 - 2 * LINE_MAX])
        pattern = "".join(chr(ord("a") + i % 26) for i in range(40000))
        self.assertEqual("".join(raw), pattern)
        self.assertEqual(got["part"], ["no newline at exit"])
        self.assertEqual(got["err"][0], "to-stderr")
        self.assertEqual("".join(got["err"][1:]), "x" * 20000)
        self.assertEqual(len(got["err"]), 3)

    def test_partial_line_of_each_run_is_flushed(self):
        cfg = self.config(f"""
            [service:again]
            command = {self.probe('raw', 5)}
            stdout = prefix
            restart = always
            restart_delay = 0
            max_restarts = 2
            """, max_restarts=100)
        rv = self.start(cfg)
        rv.wait_for("failed", service="again", timeout=10)
        rv.shutdown()
        self.assertEqual(self.prefixed(slurp(rv.out_path)).get("again"),
                         ["abcde"] * 3)

    def test_backpressure_blocks_the_writer_not_the_loop(self):
        cfg = self.config(f"""
            [service:flood]
            command = {self.probe('lines', 300000, 'F')}
            stdout = prefix
            restart = never

            [service:tick]
            command = /bin/true
            restart = always
            restart_delay = 50ms
            backoff = fixed
            max_restarts = infinity
            """)
        p = subprocess.Popen([RV_BIN, "run", "-c", cfg],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=rvtest.rv_env())

        def stop():
            if p.poll() is None:
                p.kill()
            p.wait()
            p.stdout.close()
            p.stderr.close()
        self.addCleanup(stop)
        err_lines = []

        def pump_stderr():
            for ln in p.stderr:
                err_lines.append(ln.decode())
        import threading
        th = threading.Thread(target=pump_stderr, daemon=True)
        th.start()

        def ticks():
            return sum("service=tick event=start" in ln for ln in err_lines)

        # nobody reads our stdout: the flood fills pipes and blocks...
        wait_until(lambda: any("service=flood event=start" in ln
                               for ln in err_lines), 10, "flood start")
        flood_pid = int(re.search(r"service=flood event=start pid=(\d+)",
                                  "".join(err_lines)).group(1))
        # wchan: pipe_write, or anon_pipe_write (6.15+)
        wait_until(lambda: "pipe" in slurp(f"/proc/{flood_pid}/wchan"), 10,
                   "the flooding service to block in write")
        # ... while timers and child exits keep being handled
        before = ticks()
        time.sleep(T(0.6))
        self.assertGreaterEqual(ticks() - before, 5, "the loop stalled")
        self.assertTrue(rvtest.alive(flood_pid))
        # then every line arrives, in order
        n = 0
        for ln in p.stdout:
            self.assertEqual(ln, f"flood | F {n}\n".encode())
            n += 1
            if n == 300000:
                break
        self.assertEqual(n, 300000)
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(T(15)), 0)

    def test_file_output_reopened_on_sigusr1(self):
        log = self.p("svc.log")
        cfg = self.config(f"""
            [service:ticker]
            command = {self.probe('every', 5, 0, 'T')}
            stdout = file:{log}
            """)
        rv = self.start(cfg)
        wait_until(lambda: slurp(log).count("\n") >= 20, 10, "lines in log")
        os.rename(log, log + ".1")		# logrotate's rename
        time.sleep(T(0.05))
        rv.send_signal(signal.SIGUSR1)
        rv.wait_for("output_reopened", service="ticker", path=log)
        wait_until(lambda: slurp(log).count("\n") >= 20, 10,
                   "lines in the new log")
        self.assertEqual(rv.shutdown(), 0)
        old = slurp(log + ".1").splitlines()
        new = slurp(log).splitlines()
        self.assertTrue(old and new)
        seq = [int(x.split()[1]) for x in old + new]
        self.assertEqual(seq, list(range(len(seq))),
                         "a line lost or doubled across the rotation")
        self.assertTrue(all(re.fullmatch(r"T \d+", x) for x in old + new))


if __name__ == "__main__":
    rvtest.main()
