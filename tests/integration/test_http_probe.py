#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A Kubernetes-style probe of /healthz (issue 14): what a kubelet's
httpGet liveness and readiness probes would see as the tree changes.
The probe counts 200-399 as success and anything else (or no answer
within its timeout) as failure, as the kubelet does; it polls, the test
never sleeps for a state."""

import http.client
import os
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import T, wait_until  # noqa: E402


def probe(port, path, timeout=1.0):
    """One kubelet-style httpGet probe: (success, status or None)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path, headers={"User-Agent": "kube-probe/1.29"})
        status = c.getresponse().status
        return 200 <= status < 400, status
    except OSError:
        return False, None
    finally:
        c.close()


class Probe(rvtest.Case):

    def test_liveness_and_readiness_follow_the_tree(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cfg = self.config(f"""
            [service:db]
            critical = true
            command = {self.svc("pause", tag="db")}
            [service:web]
            after = db
            command = {self.svc("pause", tag="web")}
            """, http_listen=f"127.0.0.1:{port}")
        rv = self.start(cfg)

        def until(path, want):
            def ok():
                if not rv.running():
                    raise AssertionError("ringvisor exited\n" + rv.tail())
                return probe(port, path)[1] == want
            wait_until(ok, 10, f"GET {path} -> {want} "
                               f"(last {probe(port, path)})")

        until("/healthz", 200)
        until("/healthz?service=web", 200)
        # the critical service stopped through the CLI: not healthy
        self.assertEqual(self.ctl("stop", "db").returncode, 0)
        until("/healthz", 503)
        self.assertEqual(probe(port, "/healthz?service=db"), (False, 503))
        self.assertEqual(self.ctl("start", "db").returncode, 0)
        until("/healthz", 200)
        # readiness of one service: down while it is stopped
        self.assertEqual(self.ctl("stop", "web").returncode, 0)
        until("/healthz?service=web", 503)
        self.assertEqual(probe(port, "/healthz"), (True, 200))
        self.assertEqual(self.ctl("start", "web").returncode, 0)
        until("/healthz?service=web", 200)
        # shutting down: the liveness probe fails, then nobody answers
        rv.send_signal(15)
        self.assertEqual(rv.wait(), 0)
        self.assertEqual(probe(port, "/healthz"), (False, None))


if __name__ == "__main__":
    rvtest.main()
