#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""[socket:NAME] (issue 16, item 1) and the fd store (item 2).

The supervisor binds at load and passes the sockets by the systemd
protocol (fds from 3, LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES); real
clients of that protocol work unchanged (Python's socket(fileno=3),
libsystemd's sd_listen_fds, gunicorn, lighttpd), a connection made while
the service is down waits in the backlog and is answered after its
restart, a reload keeps a socket whose address stays (same fd, same
inode), a bind error is a config error at file:line, and a service's
FDSTORE=1 fds come back at its next start."""

import os
import re
import shutil
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import wait_until  # noqa: E402

# answers each connection on fd 3 with "py PID LISTEN_PID LISTEN_FDNAMES"
PY_SERVER = """\
import os, socket
s = socket.socket(fileno=3)
while True:
    c, _ = s.accept()
    c.sendall(("py %d %s %s %s\\n" % (os.getpid(), os.environ["LISTEN_PID"],
               os.environ["LISTEN_FDS"], os.environ["LISTEN_FDNAMES"])).encode())
    c.close()
"""

# stores a memfd ("state") and two pipe ends ("extra") at its first start;
# at the next one reads the memfd back and drops "extra"
PY_FDSTORE = """\
import array, os, signal, socket, sys
out = sys.argv[1]
ns = os.environ["NOTIFY_SOCKET"]
addr = "\\0" + ns[1:] if ns[0] == "@" else ns
names = [n for n in os.environ.get("LISTEN_FDNAMES", "").split(":") if n]
n = int(os.environ.get("LISTEN_FDS", "0"))
tx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)


def store(name, fds):
    tx.sendmsg([b"FDSTORE=1\\nFDNAME=" + name],
               [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))],
               0, addr)


if "state" in names:
    fd = 3 + names.index("state")
    os.lseek(fd, 0, 0)
    with open(out, "a") as f:
        f.write("got %s %d %s\\n" % (os.read(fd, 100).decode(), n,
                                    ":".join(names)))
    tx.sendto(b"FDSTOREREMOVE=1\\nFDNAME=extra", addr)
else:
    fd = os.memfd_create("state")
    os.write(fd, b"state-of-%d" % os.getpid())
    store(b"state", [fd])
    store(b"extra", list(os.pipe()))
    with open(out, "a") as f:
        f.write("stored %d\\n" % os.getpid())
tx.sendto(b"READY=1", addr)
signal.pause()
"""


HTTP_GET = b"GET / HTTP/1.0\r\nHost: x\r\n\r\n"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(port, data=b"", timeout=10):
    """Connects (a refused connect raises), sends data, reads to EOF."""
    with socket.create_connection(("127.0.0.1", port),
                                  timeout=rvtest.T(timeout)) as c:
        if data:
            c.sendall(data)
        out = b""
        while True:
            b = c.recv(4096)
            if not b:
                return out.decode(errors="replace")
            out += b


def socket_inode(pid, fd):
    link = os.readlink(f"/proc/{pid}/fd/{fd}")
    m = re.match(r"socket:\[(\d+)\]", link)
    assert m, link
    return int(m[1])


class Sockets(rvtest.Case):

    def server_config(self, port, command, extra=(), sockets=()):
        """web runs command, restarts 1 s (scaled) after each exit, and
        gets [socket:http] on port, then the sockets (name, port) given.
        The delay is the window in which down_connect_answered()
        connects: it must outlast a loaded test's reaction to the exit."""
        lines = ["[service:web]", f"command = {command}", "restart = always",
                 "backoff = fixed", f"restart_delay = {rvtest.T(1):.2f}s",
                 *extra,
                 "[socket:http]", f"listen = tcp://127.0.0.1:{port}",
                 "service = web"]
        for name, p in sockets:
            lines += [f"[socket:{name}]", f"listen = tcp://127.0.0.1:{p}",
                      "service = web", "backlog = 16"]
        return self.config("\n".join(lines) + "\n")

    def down_connect_answered(self, rv, port, check, request=b""):
        """SIGKILL the service; connect while it is down (the supervisor's
        socket queues it), then the restarted process answers it."""
        pid = rv.service_pids("web")[-1]
        mark = rv.mark()
        os.kill(pid, signal.SIGKILL)
        rv.wait_for("exit", service="web", since=mark)
        with socket.create_connection(("127.0.0.1", port),
                                      timeout=rvtest.T(15)) as c:
            self.assertEqual(len(rv.find("start", service="web",
                                         since=mark)), 0,
                             "restarted before the connect: no test")
            if request:
                c.sendall(request)
            out = b""
            while (b := c.recv(4096)):
                out += b
        new = rv.wait_for("start", service="web", since=mark)[0].int("pid")
        check(out.decode(errors="replace"), new)

    def test_python_fileno_and_restart(self):
        port = free_port()
        app = self.write("server.py", PY_SERVER)
        rv = self.start(self.server_config(
            port, f"{sys.executable} {app}"))
        pid = rv.wait_for("start", service="web")[0].int("pid")
        sock_fd = rv.wait_for("socket", socket="http")[0].int("fd")
        ino = socket_inode(rv.pid, sock_fd)
        out = wait_until(lambda: fetch(port), 10, "first answer")
        self.assertEqual(out.split(), ["py", str(pid), str(pid), "1",
                                       "http"])

        def check(text, new):
            self.assertEqual(text.split()[:3], ["py", str(new), str(new)])
        self.down_connect_answered(rv, port, check)
        self.assertEqual(socket_inode(rv.pid, sock_fd), ino,
                         "the supervisor's socket changed")
        self.assertEqual(rv.shutdown(), 0)

    def test_sd_listen_fds_two_sockets(self):
        exe = rvtest.fixture("listenfds")
        if not os.path.exists(exe):
            self.skipTest("fixtures/listenfds not built (no libsystemd)")
        port = free_port()
        path = os.path.join(self.tmp, "web.sock")
        rv = self.start(self.config(f"""\
            [service:web]
            command = {exe}
            [socket:tcp]
            listen = tcp://127.0.0.1:{port}
            service = web
            [socket:local]
            listen = unix:{path}
            service = web
            socket_mode = 0600
            [socket:dgram]
            listen = udp://127.0.0.1:{port}
            service = web
            """))
        pid = rv.wait_for("start", service="web")[0].int("pid")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        line = wait_until(lambda: next(
            (ln for ln in rvtest.slurp(rv.out_path).splitlines()
             if ln.startswith("listenfds")), None), 10, "fixture output")
        self.assertEqual(line, f"listenfds n=3 pid={pid} "
                         "names=tcp:local:dgram types=stream,stream,dgram")
        self.assertEqual(fetch(port), f"listenfds {pid}\n")
        self.assertEqual(rv.shutdown(), 0)
        self.assertFalse(os.path.exists(path), "unix socket left behind")

    def test_gunicorn_master_sigkill(self):
        exe = shutil.which("gunicorn") or shutil.which("gunicorn3")
        if not exe:
            self.skipTest("gunicorn is not installed")
        port = free_port()
        self.write("app.py", "def application(env, start):\n"
                   "    import os\n"
                   "    start('200 OK', [('Content-Type', 'text/plain')])\n"
                   "    return [b'gunicorn %d\\n' % os.getppid()]\n")
        rv = self.start(self.server_config(
            port, f"{exe} --chdir {self.tmp} -w 1 app:application"))
        pid = rv.wait_for("start", service="web")[0].int("pid")
        out = wait_until(lambda: fetch(port, HTTP_GET),
                         20, "gunicorn answers")
        self.assertIn(f"gunicorn {pid}", out)

        def check(text, new):
            self.assertIn("200 OK", text)
            self.assertIn(f"gunicorn {new}", text)
        self.down_connect_answered(rv, port, check, HTTP_GET)
        self.assertEqual(rv.shutdown(), 0)

    def test_lighttpd(self):
        exe = shutil.which("lighttpd") or "/usr/sbin/lighttpd"
        if not os.path.exists(exe):
            self.skipTest("lighttpd is not installed")
        port = free_port()
        docs = os.path.join(self.tmp, "docs")
        os.mkdir(docs)
        self.write("docs/index.html", "held socket\n")
        conf = self.write("lighttpd.conf", f"""\
server.document-root = "{docs}"
server.bind = "127.0.0.1"
server.port = {port}
server.systemd-socket-activation = "enable"
server.errorlog = "{self.tmp}/lighttpd.err"
index-file.names = ("index.html")
""")
        rv = self.start(self.server_config(port, f"{exe} -D -f {conf}"))
        rv.wait_for("start", service="web")
        out = wait_until(lambda: fetch(port, HTTP_GET),
                         10, "lighttpd answers")
        self.assertIn("held socket", out)

        def check(text, new):
            self.assertIn("held socket", text)
        self.down_connect_answered(rv, port, check, HTTP_GET)
        self.assertEqual(rv.shutdown(), 0)

    def test_reload_keeps_adds_and_removes(self):
        port, port2 = free_port(), free_port()
        app = self.write("server.py", PY_SERVER)
        cmd = f"{sys.executable} {app}"
        cfg = self.server_config(port, cmd)
        rv = self.start(cfg)
        self.wait_control(rv)
        pid = rv.wait_for("start", service="web")[0].int("pid")
        fd = rv.wait_for("socket", socket="http")[0].int("fd")
        ino = socket_inode(rv.pid, fd)
        wait_until(lambda: fetch(port), 10, "first answer")
        # the service gains a second socket: same http fd, web restarts
        self.server_config(port, cmd, sockets=[("admin", port2)])
        mark = rv.mark()
        r = self.ctl("reload")
        self.assertEqual(r.returncode, 0, r)
        rv.wait_for("reload_done", since=mark)
        new = rv.wait_for("start", service="web", since=mark)[0].int("pid")
        self.assertNotEqual(new, pid)
        self.assertEqual(socket_inode(rv.pid, fd), ino, "http rebound")
        self.assertEqual(fetch(port).split()[3:], ["2", "http:admin"])
        # admin goes: its port is closed, http still the same socket
        self.server_config(port, cmd)
        mark = rv.mark()
        self.assertEqual(self.ctl("reload").returncode, 0)
        rv.wait_for("socket_closed", socket="admin", since=mark)
        rv.wait_for("reload_done", since=mark)
        self.assertRaises(ConnectionRefusedError, fetch, port2)
        self.assertEqual(socket_inode(rv.pid, fd), ino, "http rebound")
        self.assertEqual(fetch(port).split()[3:], ["1", "http"])
        # a new address that cannot be bound refuses the reload, at its line
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        self.addCleanup(busy.close)
        bad = self.server_config(port, cmd,
                                 sockets=[("busy", busy.getsockname()[1])])
        line = rvtest.slurp(bad).splitlines().index(
            f"listen = tcp://127.0.0.1:{busy.getsockname()[1]}") + 1
        r = self.ctl("reload")
        self.assertNotEqual(r.returncode, 0, r)
        self.assertIn(f"{bad}:{line}: error: listen: cannot bind",
                      r.stdout + r.stderr)
        self.assertEqual(socket_inode(rv.pid, fd), ino, "http rebound")
        self.assertEqual(fetch(port).split()[3:], ["1", "http"])
        self.assertEqual(rv.shutdown(), 0)

    def test_bind_error_is_a_config_error(self):
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        self.addCleanup(busy.close)
        port = busy.getsockname()[1]
        cfg = self.server_config(port, self.svc("pause"))
        line = rvtest.slurp(cfg).splitlines().index(
            f"listen = tcp://127.0.0.1:{port}") + 1
        self.assertEqual(self.rv("check", cfg).returncode, 0,
                         "check does not bind")
        r = self.rv("run", "-c", cfg)
        self.assertEqual(r.returncode, 2, r)
        self.assertIn(f"{cfg}:{line}: error: listen: cannot bind "
                      f"tcp://127.0.0.1:{port}", r.stderr)
        self.assertIn("Address already in use", r.stderr)
        self.assertEqual(self.stamps(), [], "a service started")

    def test_config_errors(self):
        port = free_port()
        cfg = self.config(f"""\
            [service:web]
            command = {self.svc("pause")}
            [socket:a]
            listen = tcp://127.0.0.1:{port}
            service = web nosuch
            [socket:b]
            listen = tcp://127.0.0.1:{port}
            service = web
            [socket:c]
            listen = tcp://256.0.0.1:80
            service = web
            [socket:d]
            listen = tcp://127.0.0.1:80
            service = web
            socket_mode = 0600
            """)
        r = self.rv("check", cfg)
        self.assertEqual(r.returncode, 1, r)
        for msg in ("service: no [service:nosuch] section",
                    f"listen: tcp://127.0.0.1:{port} is already "
                    "[socket:a]'s",
                    "invalid IPv4 address",
                    "apply to a unix socket with a path only"):
            self.assertIn(msg, r.stderr)

    def test_fd_store_round_trip(self):
        out = os.path.join(self.tmp, "fdstore.out")
        app = self.write("store.py", PY_FDSTORE)
        def cfg(store_max):
            return self.config(f"""\
                [service:st]
                command = {sys.executable} {app} {out}
                type = notify
                fd_store_max = {store_max}
                restart = always
                restart_delay = 100ms
                """)
        rv = self.start(cfg(2))
        self.wait_control(rv)
        rv.wait_for("fd_stored", service="st", name="state")
        # fd_store_max = 2: the second pipe end is closed
        rv.wait_for("fd_store_full", service="st", closed="1")
        first = rv.service_pids("st")[0]
        mark = rv.mark()
        os.kill(first, signal.SIGKILL)
        rv.wait_for("start", service="st", since=mark)
        text = wait_until(lambda: "got" in rvtest.slurp(out) and
                          rvtest.slurp(out), 10, "read back")
        self.assertIn(f"got state-of-{first} 2 state:extra", text)
        rv.wait_for("fd_store_removed", service="st", name="extra",
                    fds="1", since=mark)
        # a reload that changes the service: the store follows its new
        # build, and the process it restarts gets the fd again
        cfg(1)
        mark = rv.mark()
        self.assertEqual(self.ctl("reload").returncode, 0)
        rv.wait_for("start", service="st", since=mark)
        wait_until(lambda: rvtest.slurp(out).count(
            f"got state-of-{first} 1 state\n") == 1, 10, "read after reload")
        # stopped for good: the store goes
        mark = rv.mark()
        self.assertEqual(self.ctl("stop", "st").returncode, 0)
        rv.wait_for("fd_store_released", service="st", fds="1", since=mark)
        self.assertEqual(rv.shutdown(), 0)


if __name__ == "__main__":
    rvtest.main()
