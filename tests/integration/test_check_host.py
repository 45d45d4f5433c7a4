#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`ringvisor check` warns about what this machine lacks for the config
(users, groups, executables, working directories): FILE:LINE: warning:
lines, exit 0; `--strict` makes them fail with exit 1."""

import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402

WARN = re.compile(r"^(?P<file>.+?):(?P<line>\d+): warning: (?P<msg>\S.*)$")


class CheckHost(rvtest.Case):

    def warnings(self, r, path):
        out = []
        for ln in r.stderr.splitlines():
            m = WARN.match(ln)
            if m:
                self.assertEqual(m["file"], path, ln)
                out.append((int(m["line"]), m["msg"]))
        return out

    def test_missing_things_warn(self):
        conf = self.write("host.conf", f"""\
[service:a]
command = /nonexistent-rv/bin/app
working_directory = {self.tmp}/no-such-dir
[service:b]
command = rv-no-such-program --flag
[service:c]
command = /bin/true
user = rv-no-such-user
[service:d]
command = /bin/true
group = rv-no-such-group
health_check = {self.tmp}
[service:ok]
command = true
working_directory = /
""")
        r = self.rv("check", conf, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"{conf}: ok, 6 warnings", r.stdout)
        w = self.warnings(r, conf)
        self.assertEqual(len(w), 6, r.stderr)
        text = "\n".join(f"{ln}: {m}" for ln, m in w)
        for want in (r"1: \[service:a\] command: /nonexistent-rv/bin/app",
                     r"1: \[service:a\] working_directory .*no-such-dir",
                     r"4: \[service:b\] command: rv-no-such-program not "
                     "found in PATH",
                     r"6: \[service:c\] .*rv-no-such-user",
                     r"9: \[service:d\] .*rv-no-such-group",
                     r"9: \[service:d\] health_check: "):
            self.assertRegex(text, want)
        self.assertNotIn("[service:ok]", text)
        r = self.rv("check", "--strict", conf, timeout=10)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"{conf}: 6 warnings (--strict)", r.stderr)

    def test_strict_passes_a_clean_config(self):
        conf = self.write("ok.conf", "[service:ok]\ncommand = true\n")
        r = self.rv("check", f"--config={conf}", "--strict", timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.warnings(r, conf), [])


if __name__ == "__main__":
    rvtest.main()
