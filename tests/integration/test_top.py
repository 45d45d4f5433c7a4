#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`ringvisor top` in a real pseudo-terminal (issue 15): a tmux server of
our own runs a shell, the test types into it with send-keys and reads the
screen with capture-pane.  The tree appears, folds, filters and sorts; a
stop asked for with `s` and confirmed with `y` stops the service (the
status JSON says so too); a kill with a signal typed at the prompt
restarts a service and its sparkline shows it; a resize drops columns,
then says the terminal is too small, then comes back; `q`, SIGTERM and a
supervisor that goes away all give the terminal back as it was (no
alternate screen, the same stty settings).  Without a terminal, on
TERM=dumb or in a tiny one, top prints the status table instead.
Every wait polls the screen or the status; none sleeps for a state."""

import os
import re
import shlex
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import wait_until  # noqa: E402

TMUX = shutil.which("tmux")
ESC = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class Tmux:
    """A tmux server of our own (its socket in the test's directory) with
    one window running an interactive sh."""

    def __init__(self, case, width, height):
        self.sock = os.path.join(case.tmp, "tmux.sock")
        self.tmp = case.tmp
        self.runs = 0
        case.addCleanup(self.tmux, "kill-server", check=False)
        self.tmux("-f", "/dev/null", "new-session", "-d", "-x", str(width),
                  "-y", str(height), "env PS1='$ ' LANG=C.UTF-8 sh")

    def tmux(self, *args, check=True):
        p = subprocess.run([TMUX, "-S", self.sock, *args],
                           capture_output=True, text=True, timeout=10)
        if check and p.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {p.stderr}")
        return p.stdout

    def type(self, line):
        self.tmux("send-keys", "-l", line)
        self.tmux("send-keys", "Enter")

    def keys(self, *keys):
        self.tmux("send-keys", *keys)

    def screen(self, escapes=False):
        return self.tmux("capture-pane", "-p", *(["-e"] if escapes else []))

    def wait(self, pred, what, timeout=5, escapes=False):
        """Polls the screen until pred(screen) holds; returns the screen."""
        last = [""]

        def ok():
            last[0] = self.screen(escapes)
            return pred(last[0])
        try:
            wait_until(ok, timeout, what, interval=0.03)
        except AssertionError as e:
            raise AssertionError(f"{e}\n---- screen:\n{last[0]}") from None
        return last[0]

    def wait_text(self, text, timeout=5):
        return self.wait(lambda s: text in s, repr(text), timeout)

    def alternate(self):
        return self.tmux("display", "-p", "#{alternate_on}").strip() == "1"

    def run_top(self, top_argv, env=""):
        """Types `TOP; echo rc=$?` with stty -g before and after, so the
        test can see the exit status and whether the terminal settings
        came back; the shell writes top's pid to top.pid first."""
        cmd = " ".join(shlex.quote(a) for a in top_argv)
        self.runs += 1
        for f in ("top.pid", "stty.after"):
            if os.path.exists(os.path.join(self.tmp, f)):
                os.unlink(os.path.join(self.tmp, f))
        self.type(f"clear; cd {shlex.quote(self.tmp)}; stty -g > stty.before; "
                  f"{env} sh -c 'echo $$ > top.pid; exec {cmd}'; "
                  f"echo run{self.runs}.rc=$?; stty -g > stty.after")

    def wait_rc(self, rc):
        """The last run_top ended with rc (its own marker: the screen may
        still show an earlier run's)."""
        return self.wait_text(f"run{self.runs}.rc={rc}")

    def top_pid(self):
        return int(wait_until(lambda: rvtest.slurp(
            os.path.join(self.tmp, "top.pid")).strip(), 5, "top.pid"))

    def live(self, escapes=False):
        """Waits for top's own screen with the tree on it (not what an
        earlier command left on the normal screen)."""
        return self.wait(lambda s: re.search(r"(?m)^(\x1b\[[0-9;]*m)*"
                                             r"ringvisor top  supervisor", s)
                         and row(s, "cache") and row(s, "web@1"),
                         "the tree on top's screen", escapes=escapes)

    def ended(self, rc):
        """top ended with rc; the terminal is what it was before."""
        self.wait_rc(rc)
        self.assertion(not self.alternate(), "still on the alternate screen")
        before = os.path.join(self.tmp, "stty.before")
        after = os.path.join(self.tmp, "stty.after")
        wait_until(lambda: rvtest.slurp(after), 5, "stty -g after top")
        self.assertion(rvtest.slurp(before) == rvtest.slurp(after),
                       "stty settings differ after top")

    @staticmethod
    def assertion(cond, msg):
        if not cond:
            raise AssertionError(msg)


def row(screen, name):
    """The screen line whose name column is name (None: not shown)."""
    for ln in ESC.sub("", screen).splitlines():
        words = ln.replace("\u25be", " ").replace("\u25b8", " ").split()
        if words and words[0] == name:
            return ln
    return None


def selected(screen_e):
    """The name on the reverse-video line of a capture with escapes."""
    for ln in screen_e.splitlines():
        if "\x1b[7m" in ln:
            words = ESC.sub("", ln).replace("\u25be", " ").replace(
                "\u25b8", " ").split()
            return words[0] if words else ""
    return None


class Top(rvtest.Case):

    def setUp(self):
        super().setUp()
        if not TMUX:
            rvtest.skip_file("tmux is not installed (apt-get install tmux)")
        conf = self.config(f"""
            [supervisor:pool]
            strategy = one_for_one

            [service:web]
            command = {self.svc("pause", tag="web")}
            instances = 2
            restart = always
            restart_delay = 20ms
            backoff = fixed
            backoff_jitter = 0

            [service:db]
            supervisor = pool
            command = {self.svc("pause", tag="db")}

            [service:cache]
            supervisor = pool
            command = {self.svc("pause", tag="cache")}
            """)
        self.proc = self.start(conf)
        self.wait_control(self.proc)
        for name in ("web@0", "web@1", "db", "cache"):
            self.wait_state(name, "running")
        self.top = [rvtest.RV_BIN, "top", "-s", self.control_path]

    def test_live_view(self):
        t = Tmux(self, 120, 40)
        t.run_top(self.top)
        s = t.live()
        self.assertTrue(t.alternate(), "top is not on the alternate screen")
        self.assertIn("ringvisor top", s)
        self.assertIn("RESTARTS/MIN", s)
        # the tree: pool's members under it, indented deeper
        lines = s.splitlines()
        at = {n: next(i for i, ln in enumerate(lines) if row(ln, n))
              for n in ("main", "pool", "cache", "db", "web@0")}
        self.assertLess(at["pool"], at["cache"])
        self.assertLess(at["cache"], at["db"])
        indent = {n: len(lines[at[n]]) - len(lines[at[n]].lstrip())
                  for n in at}
        self.assertGreater(indent["db"], indent["pool"])
        self.assertGreater(indent["pool"], indent["main"])
        self.assertIn("running", row(s, "db"))
        # colour on a terminal (NO_COLOR is another test)
        self.assertIn("\x1b[32m", t.screen(escapes=True))

        # navigate: main, then pool
        t.keys("Down")
        t.wait(lambda s: selected(s) == "pool", "pool selected",
               escapes=True)
        # fold pool, unfold it
        t.keys("Left")
        s = t.wait(lambda s: not row(s, "db"), "pool folded")
        self.assertIsNone(row(s, "cache"))
        self.assertIn("\u25b8", row(s, "pool"))
        t.keys("Right")
        t.wait(lambda s: row(s, "db"), "pool unfolded")

        # sort by state, then by restarts, back to name
        t.keys("o")
        t.wait_text("sort: state")
        t.keys("o", "o")
        t.wait_text("sort: name")

        # filter by name: only web@1 (and the top it hangs from)
        t.keys("/")
        t.wait_text("filter:")
        t.tmux("send-keys", "-l", "web@1")
        t.keys("Enter")
        s = t.wait(lambda s: not row(s, "db") and row(s, "web@1"),
                   "filtered")
        self.assertIsNone(row(s, "web@0"))
        self.assertIsNone(row(s, "pool"))
        self.assertIn("filter: web@1", s)

        # stop web@1: asked first; n leaves it running
        t.keys("End")
        t.wait(lambda s: selected(s) == "web@1", "web@1 selected",
               escapes=True)
        t.keys("s")
        t.wait_text("stop web@1? (y/n)")
        t.keys("n")
        t.wait_text("stop cancelled")
        self.assertEqual(self.status_of("web@1")["state"], "running")
        t.keys("s")
        t.wait_text("stop web@1? (y/n)")
        t.keys("y")
        t.wait(lambda s: "stopped" in (row(s, "web@1") or ""),
               "web@1 stopped on screen")
        self.assertEqual(self.wait_state("web@1", "stopped")["state"],
                         "stopped")
        self.assertEqual(self.status_of("web@0")["state"], "running")

        # kill web@0 with the signal typed at the prompt: restart=always
        # brings it back, one restart on its sparkline
        t.keys("Escape")
        t.wait(lambda s: row(s, "db"), "filter cleared")
        t.keys("/")
        t.tmux("send-keys", "-l", "web@0")
        t.keys("Enter", "End")
        t.wait(lambda s: selected(s) == "web@0", "web@0 selected",
               escapes=True)
        t.keys("k")
        t.wait_text("kill web@0 with signal: TERM")
        t.keys("BSpace", "BSpace", "BSpace", "BSpace")
        t.tmux("send-keys", "-l", "KILL")
        t.keys("Enter")
        t.wait_text("kill web@0 with KILL? (y/n)")
        t.keys("y")
        wait_until(lambda: self.status_of("web@0")["restarts"] == 1 and
                   self.status_of("web@0")["state"] == "running", 5,
                   "web@0 restarted")
        s = t.wait(lambda s: re.search(r"SIGKILL.*[\u2581-\u2588]{12} 1\b",
                                       row(s, "web@0") or ""),
                   "web@0's restart on screen and on its sparkline")
        self.assertIn("\u2588", row(s, "web@0"))
        t.keys("Escape")
        t.wait(lambda s: row(s, "db"), "filter cleared")

        # narrower: the least useful columns go, name and state stay
        t.tmux("resize-window", "-x", "70", "-y", "40")
        s = t.wait(lambda s: "NAME" in s and "RESTARTS/MIN" not in s,
                   "columns dropped at 70 columns")
        self.assertIn("STATE", s)
        self.assertIn("running", row(s, "db"))
        # too small: it says so; bigger again: the table is back
        t.tmux("resize-window", "-x", "30", "-y", "5")
        t.wait_text("terminal too small")
        t.tmux("resize-window", "-x", "120", "-y", "40")
        t.wait(lambda s: "RESTARTS/MIN" in s and row(s, "db"),
               "full table again")

        t.keys("q")
        t.ended(0)

    def test_signal_and_lost_connection(self):
        t = Tmux(self, 120, 30)
        t.run_top(self.top)
        t.live()
        os.kill(t.top_pid(), 15)
        t.ended(143)

        t.run_top(self.top)
        t.live()
        self.assertEqual(self.ctl("shutdown").returncode, 0)
        t.ended(1)
        self.assertIn("lost the connection to the supervisor", t.screen())
        self.assertEqual(self.proc.wait(), 0)

    def test_plain_table_without_a_terminal(self):
        # stdout a pipe: the status table, as `status` prints it
        p = self.rv("top", "-s", self.control_path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"NAME\s+STATE\s+PID")
        for name in ("web@0", "web@1", "db", "cache"):
            self.assertRegex(p.stdout, rf"(?m)^{re.escape(name)}\s+running")
        self.assertNotIn("\x1b", p.stdout)

        t = Tmux(self, 100, 30)
        # TERM=dumb: the table, never the alternate screen
        t.run_top(self.top, env="TERM=dumb")
        t.wait_rc(0)
        s = t.screen(escapes=True)
        self.assertRegex(s, r"NAME\s+STATE\s+PID\s+RESTARTS\s+UPTIME")
        self.assertNotRegex(s, r"(?m)^ringvisor top  supervisor")
        self.assertNotRegex(s, r"\x1b\[3[0-7]m", "colour on TERM=dumb")

        # NO_COLOR: the live view without colour
        t.run_top(self.top, env="NO_COLOR=1")
        s = t.live(escapes=True)
        self.assertNotRegex(s, r"\x1b\[3[0-7]m", "colour despite NO_COLOR")
        t.keys("q")
        t.ended(0)

        # too small from the start: the table
        t.tmux("resize-window", "-x", "30", "-y", "5")
        t.run_top(self.top)
        t.wait_rc(0)
        s = t.tmux("capture-pane", "-p", "-J", "-S", "-60")
        self.assertRegex(s, r"NAME\s+STATE")
        self.assertNotIn("terminal too small", s)


if __name__ == "__main__":
    rvtest.main()
