#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The command line as getopt_long parses it: -V/--version and --help on
every command, attached values (-cFILE, --config=FILE), options after
operands, usage errors exit 2 with one line naming the option."""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402

COMMANDS = ["run", "exec", "check", "status", "start", "stop", "restart",
            "kill", "reload", "shutdown", "metrics", "events"]


class Cli(rvtest.Case):

    def test_version_and_help_on_every_command(self):
        env = rvtest.rv_env({"RINGVISOR_CONFIG": "/nonexistent"})
        version = self.rv("--version").stdout
        self.assertRegex(version, r"^ringvisor \S+\n$")
        for c in COMMANDS:
            for flag, want in (("-V", version), ("--version", version),
                               ("--help", "usage: ringvisor"),
                               ("-h", "usage: ringvisor")):
                with self.subTest(cmd=c, flag=flag):
                    r = self.rv(c, flag, timeout=10, env=env)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertIn(want, r.stdout)
        self.assertEqual(self.rv("-V").stdout, version)

    def test_attached_values(self):
        sock = os.path.join(self.tmp, "s.sock")
        conf = self.config(f"""\
            [service:idle]
            command = {self.svc("pause", stamp=False)}
            """, control_socket=sock)
        for args in (["check", f"-c{conf}"], ["check", f"--config={conf}"],
                     ["check", "--config", conf], ["check", conf]):
            with self.subTest(args=args):
                r = self.rv(*args, timeout=10)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn(f"{conf}: ok", r.stdout)
        p = self.start(conf, report=False)
        self.wait_control(p, path=sock)
        # attached -s, options after the operand, =-attached --socket
        for args in ([f"-s{sock}", "--json"], ["--json", f"--socket={sock}"],
                     [f"-c{conf}"], [f"--config={conf}"]):
            with self.subTest(args=args):
                r = self.rv("status", *args, timeout=10)
                self.assertEqual(r.returncode, 0, r.stderr)
        r = self.rv("shutdown", f"-s{sock}", timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(p.wait(), 0, p.tail())

    def test_run_attached_config(self):
        """`run -cFILE` (refused with exit 2 before getopt_long)."""
        conf = self.config(f"""\
            [service:once]
            command = {self.svc("exit", 0)}
            type = oneshot
            restart = never
            """)
        p = rvtest.Proc(self, [*rvtest.WRAPPER, rvtest.RV_BIN, "run",
                               f"-c{conf}", f"--report={self.report_path}"])
        self.assertEqual(p.wait(), 0, p.tail())
        self.assertEqual(len(self.stamps()), 1)

    def test_client_config_missing_names_it(self):
        missing = os.path.join(self.tmp, "nope.conf")
        for args in (["status", "-c", missing], ["reload", f"-c{missing}"]):
            with self.subTest(args=args):
                r = self.rv(*args, timeout=10)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(missing, r.stderr)
                self.assertNotIn("cannot connect", r.stderr)

    def test_relative_socket_is_the_config_dirs(self):
        """control_socket = rel.sock: next to the config, for `run` and
        for a client started in another directory."""
        os.mkdir(os.path.join(self.tmp, "etc"))
        conf = self.config(f"""\
            [service:idle]
            command = {self.svc("pause", stamp=False)}
            """, name="etc/rv.conf", control_socket="rel.sock")
        sock = os.path.join(self.tmp, "etc", "rel.sock")
        p = rvtest.Proc(self, [*rvtest.WRAPPER, rvtest.RV_BIN, "run", "-c",
                               "etc/rv.conf"],
                        preexec_fn=lambda: os.chdir(self.tmp))
        self.wait_control(p, path=sock)
        r = self.rv("status", "-c", conf, timeout=10, cwd="/")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("idle", r.stdout)
        r = self.rv("shutdown", "-c", "rv.conf", timeout=10,
                    cwd=os.path.join(self.tmp, "etc"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(p.wait(), 0, p.tail())

    def test_usage_errors_exit_2(self):
        for args, says in ((["run", "--nope"], "--nope"),
                           (["run", "-x"], "-x"),
                           (["run", "-c"], "-c"),
                           (["status", "--socket"], "--socket"),
                           (["check", "--config"], "--config"),
                           (["events", "web"], "web"),
                           (["reload", "--json"], "--json"),
                           (["frobnicate"], "frobnicate")):
            with self.subTest(args=args):
                r = self.rv(*args, timeout=10)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
                self.assertIn(says, r.stderr)


if __name__ == "__main__":
    rvtest.main()
