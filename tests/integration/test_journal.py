#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""journald (issue 14 item 6): `log_target = journal|auto` sends
ringvisor's lines through sd_journal_sendv() (SYSLOG_IDENTIFIER=ringvisor,
PRIORITY, EVENT, SERVICE), `stdout = journal` gives a service a journald
stream (sd_journal_stream_fd: identifier = the instance, level prefixes).

libsystemd talks to fixed paths (/run/systemd/journal/socket and
/run/systemd/journal/stdout).  With root and unshare(1), a private mount
namespace gets a tmpfs on /run/systemd with a fake journal bound there,
which records the datagrams and the stream bytes exactly as journald
would receive them: the framing is tested wherever that works.  Against
a real journald (when /run/systemd/journal/socket exists), the entries
are read back with journalctl."""

import json
import os
import shutil
import subprocess
import sys
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import T  # noqa: E402

# Runs inside the namespace: binds the fake journal, runs ringvisor to its
# end, prints what the journal received as JSON.
FAKE = r'''
import json, os, select, socket, subprocess, sys
os.makedirs("/run/systemd", exist_ok=True)
subprocess.check_call(["mount", "-t", "tmpfs", "rvtest", "/run/systemd"])
os.makedirs("/run/systemd/journal")
dg = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
dg.bind("/run/systemd/journal/socket")
st = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
st.bind("/run/systemd/journal/stdout")
st.listen(8)
argv, env_extra = json.loads(sys.argv[1])
err = open(sys.argv[2], "wb")
env = dict(os.environ, **env_extra)
if env.pop("JOURNAL_STREAM_OF_STDERR", None):
    s = os.fstat(err.fileno())
    env["JOURNAL_STREAM"] = f"{s.st_dev}:{s.st_ino}"
p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=err, env=env)
grams, streams, conns = [], [], {}
while True:
    done = p.poll() is not None
    r, _, _ = select.select([dg, st, *conns], [], [], 0.05)
    for s in r:
        if s is dg:
            grams.append(dg.recv(65536).decode("utf-8", "replace"))
        elif s is st:
            c, _ = st.accept()
            conns[c] = b""
        else:
            b = s.recv(65536)
            if b:
                conns[s] += b
            else:
                streams.append(conns.pop(s).decode())
    if done and not r:
        break
streams += [b.decode() for b in conns.values()]
print(json.dumps({"rc": p.returncode, "grams": grams, "streams": streams}))
'''


def fake_journal_problem():
    if os.geteuid() != 0:
        return "needs root (a tmpfs on /run/systemd in a mount namespace)"
    if not shutil.which("unshare"):
        return "no unshare(1)"
    r = subprocess.run(["unshare", "--mount", "--propagation", "private",
                        "true"], capture_output=True, text=True)
    if r.returncode:
        return f"unshare --mount: {r.stderr.strip()}"
    return None


FAKE_WHY = fake_journal_problem()


def fields(gram):
    return dict(ln.split("=", 1) for ln in gram.splitlines() if "=" in ln)


class Journal(rvtest.Case):

    def fake(self, cfg, env=None):
        helper = self.write("fake_journal.py", FAKE)
        errf = os.path.join(self.tmp, "stderr")
        argv = [rvtest.RV_BIN, "run", "-c", cfg]
        r = subprocess.run(
            ["unshare", "--mount", "--propagation", "private",
             sys.executable, helper, json.dumps([argv, env or {}]), errf],
            capture_output=True, text=True, timeout=T(30),
            env=rvtest.rv_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        out["stderr"] = rvtest.slurp(errf)
        return out

    def once(self, **sup):
        return self.config("""
            [service:svc]
            command = sh -c 'echo hello; echo "<3>oops"; echo to-stderr >&2'
            restart = never
            stdout = journal
            """, **sup)

    def test_lines_and_output_reach_the_journal(self):
        if FAKE_WHY:
            self.skipTest(f"no fake journal: {FAKE_WHY}")
        got = self.fake(self.once(log_target="journal"))
        self.assertEqual(got["rc"], 0, got)
        start = [fields(g) for g in got["grams"]
                 if fields(g).get("EVENT") == "start"]
        self.assertEqual(len(start), 1, got["grams"])
        self.assertEqual(start[0]["SYSLOG_IDENTIFIER"], "ringvisor")
        self.assertEqual(start[0]["PRIORITY"], "6")
        self.assertEqual(start[0]["SERVICE"], "svc")
        self.assertRegex(start[0]["MESSAGE"], r"^service=svc event=start "
                         r"pid=\d+")
        sup = [fields(g) for g in got["grams"]
               if fields(g).get("EVENT") == "supervisor_state"]
        self.assertEqual(sup[0]["SUPERVISOR"], "main")
        self.assertNotIn("event=start", got["stderr"],
                         "journal lines also went to stderr")
        # the service's stdout: sd_journal_stream_fd's header, then bytes
        self.assertEqual(got["streams"],
                         ["svc\n\n6\n1\n0\n0\n0\nhello\n<3>oops\n"])
        self.assertIn("to-stderr", got["stderr"], "stderr stays inherited")

    def test_auto_follows_JOURNAL_STREAM(self):
        if FAKE_WHY:
            self.skipTest(f"no fake journal: {FAKE_WHY}")
        got = self.fake(self.once(), {"JOURNAL_STREAM_OF_STDERR": "1"})
        self.assertTrue([g for g in got["grams"] if "EVENT=start" in g],
                        got)
        self.assertNotIn("event=start", got["stderr"])
        # a stream that is not our stderr: lines stay on stderr
        got = self.fake(self.once(), {"JOURNAL_STREAM": "1:1"})
        self.assertFalse([g for g in got["grams"] if "EVENT=" in g], got)
        self.assertIn("event=start", got["stderr"])

    def test_without_libsystemd_lines_stay_on_stderr(self):
        # libsystemd is loaded only for the journal (src/util/journal.h):
        # a broken one found first is a warning naming it, and the lines
        # go to stderr; a stdout = journal service fails to start, saying
        # why
        libdir = os.path.join(self.tmp, "lib")
        os.mkdir(libdir)
        self.write(os.path.join("lib", "libsystemd.so.0"), "")
        r = self.rv("run", "-c", self.once(log_target="journal"),
                    env=rvtest.rv_env({"LD_LIBRARY_PATH": libdir}))
        self.assertRegex(r.stderr, r"event=journal_unusable reason=\"cannot "
                         r"load libsystemd\.so\.0: ")
        self.assertIn("service=svc event=spawn_failed step=stdout", r.stderr)
        self.assertIn("stdout = journal: cannot load libsystemd.so.0",
                      r.stderr)

    def test_real_journal(self):
        sock = "/run/systemd/journal/socket"
        if not os.path.exists(sock):
            self.skipTest(f"no journald here ({sock} is absent): the "
                          "framing is tested against a fake journal")
        if not shutil.which("journalctl"):
            self.skipTest("no journalctl to read the journal back")
        tag = "rvtest-" + uuid.uuid4().hex[:12]
        cfg = self.config(f"""
            [service:{tag}]
            command = echo {tag}-out
            restart = never
            stdout = journal
            """, log_target="journal")
        rv = self.start(cfg)
        self.assertEqual(rv.wait(), 0)

        def entries():
            r = subprocess.run(["journalctl", "-o", "json", "--no-pager",
                                f"SYSLOG_IDENTIFIER={tag}", "+",
                                f"SERVICE={tag}"],
                               capture_output=True, text=True)
            return [json.loads(x) for x in r.stdout.splitlines()] or None
        got = rvtest.wait_until(entries, 10, "entries in the journal")
        self.assertTrue([e for e in got if e.get("MESSAGE") == f"{tag}-out"],
                        got)
        self.assertTrue([e for e in got if e.get("EVENT") == "start"], got)


if __name__ == "__main__":
    rvtest.main()
