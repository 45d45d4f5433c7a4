#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`http_listen` (issue 14): the read-only HTTP endpoint.  /metrics is
Prometheus text that promtool accepts, with build info, start times and
per-supervisor metrics; /status is the status document; /healthz the
`status --check` verdict; /events Server-Sent Events; only GET and HEAD;
a unix socket too; bad addresses are config errors with file:line."""

import http.client
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import T, wait_until  # noqa: E402

METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class Http(rvtest.Case):

    def serve(self, listen=None, body=""):
        """Starts ringvisor with http_listen; returns (proc, connect())."""
        if listen is None:
            listen = f"127.0.0.1:{free_port()}"
        cfg = self.config(body or f"""
            [supervisor:pool]
            [service:web]
            supervisor = pool
            critical = true
            command = {self.svc("pause", tag="web")}
            [service:job]
            type = oneshot
            critical = true
            command = {self.svc("exit", "0", stamp=False)}
            """, http_listen=listen)
        rv = self.start(cfg)
        self.wait_control(rv)
        rv.wait_for("http_listening")
        if listen.startswith("unix:"):
            def conn():
                return UnixHTTPConnection(listen[5:], T(10))
        else:
            host, port = listen.rsplit(":", 1)

            def conn():
                return http.client.HTTPConnection(host.strip("[]"),
                                                  int(port), timeout=T(10))
        return rv, conn

    def get(self, conn, path, method="GET"):
        c = conn()
        try:
            c.request(method, path)
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read().decode()
        finally:
            c.close()

    def test_metrics_status_healthz_and_refusals(self):
        rv, conn = self.serve()
        wait_until(lambda: self.status_of("job")["state"] == "completed", 10,
                   "the oneshot completed")
        code, hdr, text = self.get(conn, "/metrics")
        self.assertEqual(code, 200)
        self.assertEqual(hdr["Content-Type"], METRICS_TYPE)
        # the same exposition as `ringvisor metrics`, plus what is new
        self.assertIn("ringvisor_up{", text)
        self.assertRegex(text, r'(?m)^ringvisor_build_info\{version="[^"]+",'
                               r'backend="(io_uring|epoll)"\} 1$')
        self.assertRegex(text, r"(?m)^ringvisor_start_time_seconds \d+\.\d+$")
        self.assertRegex(text, r'(?m)^ringvisor_service_start_time_seconds'
                               r'\{service="web"\} \d+\.\d+$')
        self.assertIn('ringvisor_supervisor_state{supervisor="pool",'
                      'state="running"} 1', text)
        self.assertIn('ringvisor_supervisor_restarts_total{supervisor="pool"}'
                      ' 0', text)
        self.assertRegex(text, r"(?m)^ringvisor_http_connections [1-9]")
        cli = self.ctl("metrics")
        self.assertEqual(cli.returncode, 0, cli.stderr)
        self.assertEqual(
            {ln.split("{")[0].split(" ")[0] for ln in text.splitlines()},
            {ln.split("{")[0].split(" ")[0]
             for ln in cli.stdout.splitlines()})

        code, hdr, body = self.get(conn, "/status")
        self.assertEqual((code, hdr["Content-Type"]), (200, "application/json"))
        st = json.loads(body)
        self.assertEqual(st["supervisor"]["state"], "alive")
        self.assertEqual(st["supervisor"]["pid"], rv.pid)
        self.assertEqual({s["name"] for s in st["services"]}, {"web", "job"})
        self.assertEqual([s["name"] for s in st["supervisors"]], ["pool"])

        self.assertEqual(self.get(conn, "/healthz")[::2], (200, "ok\n"))
        self.assertEqual(self.get(conn, "/healthz?service=web")[0], 200)
        self.assertEqual(self.get(conn, "/healthz?service=job")[0], 200)
        self.assertEqual(self.get(conn, "/healthz?service=pool")[0], 200)
        code, _, body = self.get(conn, "/healthz?service=nosuch")
        self.assertEqual((code, body), (404, "unknown service: nosuch\n"))

        code, hdr, body = self.get(conn, "/metrics", "HEAD")
        self.assertEqual((code, body), (200, ""))
        for method in ("POST", "PUT", "DELETE"):
            code, hdr, _ = self.get(conn, "/metrics", method)
            self.assertEqual(code, 405, method)
            self.assertEqual(hdr["Allow"], "GET, HEAD")
        self.assertEqual(self.get(conn, "/")[0], 404)
        self.assertEqual(self.get(conn, "/metricsx")[0], 404)
        # a request too large for the connection's memory is refused
        c = conn()
        c.putrequest("GET", "/metrics")
        c.putheader("X-Big", "a" * 65536)
        c.endheaders()
        self.assertGreaterEqual(c.getresponse().status, 400)
        c.close()
        # nothing of this changed anything
        self.assertEqual(self.status_of("web")["restarts"], 0)
        self.assertEqual(self.status_of("web")["state"], "running")
        self.assertTrue(rv.running())

    def test_promtool_accepts_the_metrics(self):
        promtool = shutil.which("promtool")
        if not promtool:
            print("SKIP: promtool not installed (Debian package prometheus)",
                  flush=True)
            self.skipTest("promtool not installed")
        _, conn = self.serve()
        code, _, text = self.get(conn, "/metrics")
        self.assertEqual(code, 200)
        r = subprocess.run([promtool, "check", "metrics"], input=text,
                           capture_output=True, text=True, timeout=T(30))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_events_over_a_unix_socket(self):
        path = os.path.join(self.tmp, "http.sock")
        rv, conn = self.serve(f"unix:{path}")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        web1, = self.wait_stamps(1, tag="web")
        c = conn()
        c.request("GET", "/events")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "text/event-stream")
        self.assertEqual(r.readline(), b": ringvisor events\n")
        # the stream and the request asking
        wait_until(lambda: "ringvisor_http_connections 2" in
                   self.get(conn, "/metrics")[2], 10, "the stream counted")
        self.assertEqual(self.ctl("kill", "web", "KILL").returncode, 0)
        seen = []
        while not any(e["to"] == "running" and e["service"] == "web"
                      for e in seen):
            ln = r.readline().decode()
            self.assertTrue(ln, f"stream ended; saw {seen}")
            if ln.startswith("data: "):
                seen.append(json.loads(ln[6:]))
                self.assertEqual(r.readline(), b"\n")
            else:
                self.assertRegex(ln, r"^(: keepalive)?\n$")
        web = [e for e in seen if e["service"] == "web"]
        self.assertEqual((web[0]["from"], web[0]["to"]),
                         ("running", "backoff"))
        self.assertEqual(web[0]["exit"],
                         {"signal": "SIGKILL", "core_dumped": False})
        c.close()
        rv.shutdown()
        self.assertEqual(rv.rc, 0)
        self.assertFalse(os.path.exists(path), "socket file left behind")

    def test_slow_events_reader_is_dropped_and_told(self):
        path = os.path.join(self.tmp, "http.sock")
        # a storm of transitions; warnings only in the log (the storm's
        # info lines would keep this process busy parsing them)
        cfg = self.config(f"""
            [service:storm]
            command = {self.svc("exit", 0, stamp=False)}
            restart = always
            restart_delay = 0
            max_restarts = infinity
            [service:web]
            command = {self.svc("pause", stamp=False)}
            """, max_restarts="infinity", http_listen=f"unix:{path}")
        rv = self.start(cfg, env=rvtest.rv_env(
            {"RINGVISOR_LOG_LEVEL": "warn"}))
        self.wait_control(rv)
        slow = UnixHTTPConnection(path, T(30))
        self.addCleanup(slow.close)
        slow.request("GET", "/events")
        r = slow.getresponse()
        self.assertEqual(r.status, 200)
        # it reads nothing until the supervisor has given up on it
        rv.wait_for("follower_dropped", via="http", timeout=30)
        # the endpoint serves the others meanwhile
        self.assertEqual(self.get(lambda: UnixHTTPConnection(path, T(10)),
                                  "/healthz")[0], 200)
        text = r.read().decode()	# the rest, to the end of the stream
        self.assertTrue(text.endswith(
            "event: dropped\ndata: {\"event\":\"dropped\",\"reason\":"
            "\"follower too slow: events were not read in time\"}\n\n"),
            text[-300:])
        # whole events up to the notice: no line was cut
        for ev in text.split("\n\n")[1:-2]:
            if ev == ": keepalive":
                continue	# every 5 s of a slow (loaded) test run
            self.assertTrue(ev.startswith("data: {"), ev)
            json.loads(ev[6:])
        self.assertTrue(rv.running())

    def test_reload_warns_and_keeps_the_address(self):
        port = free_port()
        body = f"[service:a]\ncommand = {self.svc('pause', stamp=False)}\n"
        cfg = self.config(body, http_listen=f"127.0.0.1:{port}")
        rv = self.start(cfg)
        c = self.wait_control(rv)
        rv.wait_for("http_listening")
        self.config(body, http_listen=f"127.0.0.1:{free_port()}")
        rep = c.request({"cmd": "reload"})
        self.assertTrue(rep["ok"], rep)
        self.assertTrue(any("http_listen" in w and "restarts" in w
                            for w in rep["warnings"]), rep)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=T(10))
        conn.request("GET", "/healthz")
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()

    def test_connections_are_bounded(self):
        port = free_port()
        body = f"[service:a]\ncommand = {self.svc('pause', stamp=False)}\n"
        rv = self.start(self.config(body, http_listen=f"127.0.0.1:{port}"))
        c = self.wait_control(rv)
        rv.wait_for("http_listening")

        def http_connections():
            text = c.request({"cmd": "metrics"})["metrics"]
            return int(re.search(r"^ringvisor_http_connections (\d+)$",
                                 text, re.M).group(1))

        idle = []
        self.addCleanup(lambda: [s.close() for s in idle])
        for _ in range(64):
            idle.append(socket.create_connection(("127.0.0.1", port)))
        wait_until(lambda: http_connections() == 64, 10, "64 connections")
        # the 65th is not served while they are open (refused, or left
        # in the backlog)
        late = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        with self.assertRaises(OSError):
            late.request("GET", "/healthz")
            late.getresponse()
        late.close()
        self.assertEqual(http_connections(), 64)
        for s in idle:
            s.close()
        wait_until(lambda: http_connections() == 0, 10, "them closed")
        self.assertEqual(self.get(lambda: http.client.HTTPConnection(
            "127.0.0.1", port, timeout=T(10)), "/healthz")[0], 200)

    def test_bad_addresses_are_config_errors(self):
        for value, why in [
                ("localhost:9100", "not an IP address"),
                ("127.0.0.1", "expected ADDRESS:PORT"),
                ("127.0.0.1:0", "port must be a number from 1 to 65535"),
                ("[::1]9100", "needs brackets and a port"),
                ("unix:run/http.sock", "needs an absolute path")]:
            cfg = self.config(f"[service:a]\ncommand = /bin/true\n",
                              http_listen=value)
            r = self.rv("check", "-c", cfg)
            self.assertEqual(r.returncode, 1, value)
            self.assertRegex(r.stderr, rf"{re.escape(cfg)}:5: error: "
                             rf"http_listen: invalid address .*{why}")
        for value in ("[::1]:9100", "0.0.0.0:9100", "/run/x/http.sock",
                      "off"):
            cfg = self.config(f"[service:a]\ncommand = /bin/true\n",
                              http_listen=value)
            r = self.rv("check", "-c", cfg)
            self.assertEqual(r.returncode, 0, value + r.stderr)

    def test_port_in_use_is_a_start_error(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            cfg = self.config(f"[service:a]\ncommand = /bin/true\n",
                              http_listen=f"127.0.0.1:{port}")
            rv = self.start(cfg, report=False)
            self.assertEqual(rv.wait(), 2)
            self.assertIn(f"cannot serve http_listen 127.0.0.1:{port}: "
                          "Address already in use", rv.stderr_text())

    def test_a_missing_libmicrohttpd_is_named(self):
        # libmicrohttpd is loaded only for http_listen (src/control/mhd.h):
        # a broken one found first is a check error and a start error
        # naming it, before anything is bound
        libdir = os.path.join(self.tmp, "lib")
        os.mkdir(libdir)
        self.write(os.path.join("lib", "libmicrohttpd.so.12"), "")
        env = rvtest.rv_env({"LD_LIBRARY_PATH": libdir})
        cfg = self.config("[service:a]\ncommand = /bin/true\n",
                          http_listen="127.0.0.1:9")
        r = self.rv("check", "-c", cfg, env=env)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"{cfg}: error: http_listen: cannot load "
                      "libmicrohttpd.so.12: ", r.stderr)
        r = self.rv("run", "-c", cfg, env=env)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("ringvisor: http_listen 127.0.0.1:9: cannot load "
                      "libmicrohttpd.so.12: ", r.stderr)
        # without http_listen the broken library is never opened
        cfg = self.config("[service:a]\ncommand = /bin/true\n")
        self.assertEqual(self.rv("check", "-c", cfg, env=env).returncode, 0)


if __name__ == "__main__":
    rvtest.main()
