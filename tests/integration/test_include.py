#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""[include] files = conf.d/*.conf and $VAR expansion through the real
binary: `check` names the included file and line of each error and the
line of an undefined variable; `run` reads the included services with
their variables; `reload` reads conf.d/ again (a new file's service
starts)."""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import wait_until  # noqa: E402


class Include(rvtest.Case):

    def setUp(self):
        super().setUp()
        self.confd = os.path.join(self.tmp, "conf.d")
        os.mkdir(self.confd)

    def test_check_names_included_file_and_line(self):
        conf = self.config("[include]\nfiles = conf.d/*.conf\n")
        self.write("conf.d/10-web.conf", "[service:web]\n"
                   "command = /bin/app --port $RV_TEST_NO_SUCH_VAR\n")
        self.write("conf.d/20-db.conf", "; db\n[service:db]\n"
                   "command = /bin/db\nrestart = sometimes\n")
        r = self.rv("check", conf, timeout=10)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"{self.confd}/10-web.conf:2: error: command: "
                      "undefined variable RV_TEST_NO_SUCH_VAR", r.stderr)
        self.assertIn(f"{self.confd}/20-db.conf:4: error: restart: ",
                      r.stderr)
        self.assertRegex(r.stderr, rf"{conf}: \d+ errors")

    def test_run_and_reload_read_conf_d(self):
        conf = self.config("[include]\nfiles = conf.d/*.conf\n")
        self.write("conf.d/a.conf", "[service:a]\ncommand = "
                   + self.svc("pause", tag="TAGX").replace(
                       "TAGX", "${RV_TEST_TAG}") + "\n")
        rv = self.start(conf, env=rvtest.rv_env({"RV_TEST_TAG": "tag-a"}))
        self.wait_stamps(1, tag="tag-a")
        self.write("conf.d/b.conf", "[service:b]\ncommand = "
                   + self.svc("pause", tag="b") + "\n")
        r = self.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_stamps(1, tag="b")
        wait_until(lambda: (self.status_of("b") or {}).get("state")
                   == "running", 10, "b running")
        self.assertEqual(len(self.stamps("tag-a")), 1, "a was restarted")
        rv.shutdown()


if __name__ == "__main__":
    rvtest.main()
