#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Without root, the default control socket is
$XDG_RUNTIME_DIR/ringvisor/control.sock (else /tmp/ringvisor-$UID/), for
`run` and the clients alike; `run` works with the default config on a
read-only root filesystem given a writable runtime dir; a /tmp directory
owned by someone else is refused.  Needs root (to become someone else)."""

import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import RV_BIN, T  # noqa: E402

# a uid of nobody's, per test process: parallel runs do not meet in /tmp
UID = 60000 + os.getpid() % 5000

if os.geteuid() != 0:
    rvtest.skip_file("needs root to run as another uid")
if not shutil.which("setpriv"):
    rvtest.skip_file("setpriv (util-linux) not installed")

AS_USER = ["setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups"]

# In a mount namespace of its own: / read-only, a tmpfs as the user's
# runtime dir; then, as the user, `run` with a config naming no socket,
# `status` polled until it answers (the same default), `shutdown`.
SCRIPT = r"""
set -e
# no mounts here (a container without CAP_SYS_ADMIN): 77, a skip
mount --make-rprivate / || exit 77
mount -o remount,bind,ro / || exit 77
mount -t tmpfs -o mode=0700,uid=$RV_UID,gid=$RV_UID tmpfs "$RT" || exit 77
if touch /rv-nonroot-probe 2>/dev/null; then echo "/ is writable"; exit 3; fi
export XDG_RUNTIME_DIR="$RT"
$AS_USER "$RV" run -c "$CONF" 2>"$RT/run.log" &
i=0
until $AS_USER "$RV" status >/dev/null 2>&1; do
    i=$((i+1)); [ $i -lt 400 ] || { cat "$RT/run.log"; exit 4; }
    kill -0 $! 2>/dev/null || { cat "$RT/run.log"; exit 5; }
    sleep 0.05
done
$AS_USER "$RV" status
ls -l "$RT/ringvisor"
stat -c '%a %u' "$RT/ringvisor"
$AS_USER "$RV" shutdown
wait $!
"""


class NonRoot(rvtest.Case):

    def setUp(self):
        super().setUp()
        os.chmod(self.tmp, 0o755)
        self.rv_bin = self.public_copy(RV_BIN)

    def test_read_only_root(self):
        conf = self.write("ringvisor.conf", f"""\
[service:idle]
command = {self.public_copy(rvtest.fixture("svc"))} pause
""")
        rt = os.path.join(self.tmp, "rt")
        os.mkdir(rt)
        env = rvtest.rv_env({"RT": rt, "CONF": conf, "RV": self.rv_bin,
                             "RV_UID": str(UID),
                             "AS_USER": " ".join(AS_USER)},
                            drop=("XDG_RUNTIME_DIR",))
        try:
            r = subprocess.run(["unshare", "-m", "sh", "-c", SCRIPT],
                               env=env, capture_output=True, text=True,
                               timeout=T(30))
        except OSError as e:
            self.skipTest(f"unshare -m: {e}")
        if r.returncode == 77 or (r.returncode != 0 and
                                  r.stderr.startswith("unshare")):
            self.skipTest(f"unshare -m or mount: {r.stderr.strip()}")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("idle", r.stdout)
        self.assertIn("control.sock", r.stdout)
        self.assertIn(f"700 {UID}", r.stdout)

    def test_foreign_tmp_dir_refused(self):
        """/tmp/ringvisor-UID made first by someone else (root here) is
        not used: anyone may create it in /tmp."""
        d = f"/tmp/ringvisor-{UID}"
        shutil.rmtree(d, ignore_errors=True)
        os.mkdir(d, 0o777)
        self.addCleanup(shutil.rmtree, d, True)
        conf = self.write("ringvisor.conf", "[service:idle]\n"
                          "command = /bin/true\n")
        r = subprocess.run([*AS_USER, self.rv_bin, "run", "-c", conf],
                           env=rvtest.rv_env(drop=("XDG_RUNTIME_DIR",)),
                           capture_output=True, text=True, timeout=T(20))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"{d} belongs to uid 0", r.stderr)
        self.assertFalse(os.path.exists(f"{d}/control.sock"))


if __name__ == "__main__":
    rvtest.main()
