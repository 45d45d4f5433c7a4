#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sigchild: the child of the signal tests (dumb-init's print_signals,
made exact).  Not a test itself.

  sigchild.py FILE [--last N] [--grandchild FILE2]

Blocks every signal and takes them with sigwaitinfo(), so none is lost to
a handler race, coalesced with another kind, or acted upon (TSTP, TTIN
and TTOU do not stop it).  Appends "ready PID" to FILE, then one line per
signal received: its number.  SIGCHLD is not recorded.  After recording
signal N (--last), it exits 0.

--grandchild FILE2: first forks a grandchild, in the same process group,
that does the same with FILE2 and never exits (it dies with a SIGKILL of
its group, or is reaped by the test's cleanup).  Then each SIGUSR2 the
child receives makes it send SIGURG to the grandchild, so a test can tell
the grandchild's own signals from those the init sent it: the init's
arrive first (their sender finished before the child relayed).
"""

import os
import signal
import sys


def record(path, line):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def serve(path, last=None, on_usr2=None):
    sigs = signal.valid_signals()
    while True:
        info = signal.sigwaitinfo(sigs)
        if info.si_signo == signal.SIGCHLD:
            continue
        record(path, str(info.si_signo))
        if on_usr2 and info.si_signo == signal.SIGUSR2:
            on_usr2()
        if last is not None and info.si_signo == last:
            sys.exit(0)


def main():
    args = sys.argv[1:]
    path = args.pop(0)
    last = gc_path = None
    while args:
        opt = args.pop(0)
        if opt == "--last":
            last = int(args.pop(0))
        elif opt == "--grandchild":
            gc_path = args.pop(0)
        else:
            sys.exit(f"sigchild: unknown option {opt}")
    signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    on_usr2 = None
    if gc_path:
        gc = os.fork()
        if gc == 0:
            record(gc_path, f"ready {os.getpid()}")
            serve(gc_path)

        def on_usr2():
            os.kill(gc, signal.SIGURG)
    record(path, f"ready {os.getpid()}")
    serve(path, last, on_usr2)


if __name__ == "__main__":
    main()
