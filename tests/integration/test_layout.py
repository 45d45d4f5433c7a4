#!/usr/bin/env python3
"""The source tree shows the design (issue 12): folders by concern, and
the includes between them go one way only.

    util, config  <  child  <  tree  <  control  <  daemon
    cli: config only (a thin client over the control protocol)
    uring/: nothing of src/ (the loop knows no service)

The tree reaches the control plane only through its observer hook
(tree/observer.h), never by including it.
"""
import os
import re
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SRC = os.path.join(REPO, "src")
INCLUDE = re.compile(r'^#include "([a-z_]+)/[a-z_]+\.h"', re.M)

# what each folder may include besides itself
ALLOWED = {
    "util": set(),
    "config": {"util"},
    "child": {"util", "config"},
    "tree": {"util", "config", "child"},
    "control": {"util", "config", "child", "tree"},
    "daemon": {"util", "config", "child", "tree", "control"},
    "cli": {"config"},
}


def includes(path):
    with open(path, encoding="utf-8") as f:
        return INCLUDE.findall(f.read())


class Layout(unittest.TestCase):
    def test_folders_are_the_known_concerns(self):
        dirs = sorted(d for d in os.listdir(SRC)
                      if os.path.isdir(os.path.join(SRC, d)))
        self.assertEqual(dirs, sorted(ALLOWED))
        loose = [f for f in os.listdir(SRC)
                 if os.path.isfile(os.path.join(SRC, f))]
        self.assertEqual(loose, [], "files directly under src/")

    def test_includes_go_one_way(self):
        bad = []
        for folder, allowed in ALLOWED.items():
            d = os.path.join(SRC, folder)
            for name in sorted(os.listdir(d)):
                for inc in includes(os.path.join(d, name)):
                    if inc != folder and inc not in allowed:
                        bad.append(f"src/{folder}/{name} includes {inc}/")
        self.assertEqual(bad, [])

    def test_loop_knows_no_service(self):
        d = os.path.join(REPO, "uring")
        bad = [f"uring/{n} includes {inc}/" for n in sorted(os.listdir(d))
               for inc in includes(os.path.join(d, n))]
        self.assertEqual(bad, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
