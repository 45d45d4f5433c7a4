#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The man pages (docs/man/*.scd) against the real binary, so they cannot
drift: every command and option of `ringvisor --help` (and of each
command's --help) is documented in ringvisor(1); every key the config
parser accepts is documented in ringvisor.conf(5), in the section of its
kind of [section]; every key documented there is accepted; ringvisor-bench's
--help against ringvisor-bench(1) when that program is built; the bash
completion knows every command and service key. README.md's tables,
the states, the exit codes and the log events: test_docs_agree.py.

Which keys the parser accepts is asked of the binary: candidates come from
the key tables of src/config/config_keys.c, the rlimit names and the pages
themselves, and `ringvisor check` on a probe config says, line by line,
which of them are an "unknown key" in which kind of section.

Standard library only; runs against a build tree (RV_BIN, set by CTest) or
an installed package:
  RV_BIN=/usr/bin/ringvisor RV_MAN_INSTALLED=1 python3 test_manpages.py
where RV_MAN_INSTALLED=1 also reads the installed pages through man(1).
Exit status: 0 passed, 1 failed, 77 skipped.
"""

import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
RV_BIN = os.environ.get("RV_BIN") or os.path.join(REPO, "build", "ringvisor")
MAN_SRC = os.environ.get("RV_MAN_SRC") or os.path.join(REPO, "docs", "man")
INSTALLED = os.environ.get("RV_MAN_INSTALLED") == "1"
COMPLETION = os.path.join(REPO, "packaging", "bash-completion", "ringvisor")
KEYS_SOURCE = os.path.join(REPO, "src", "config", "config_keys.c")
PARSE_SOURCE = os.path.join(REPO, "src", "parse.c")
SKIP = 77

# the man page section that documents each kind of config section
KINDS = {
    "top": ("[supervisor]", "SUPERVISOR SECTION"),
    "group": ("[supervisor:NAME]", "NESTED SUPERVISOR SECTIONS"),
    "service": ("[service:NAME]", "SERVICE SECTIONS"),
    "socket": ("[socket:NAME]", "SOCKET SECTIONS"),
}

_ENV_SCRUB = ("RINGVISOR_CONFIG", "RINGVISOR_BACKEND", "NOTIFY_SOCKET",
              "LISTEN_FDS", "LISTEN_PID")


def run(argv, timeout=10, env=None):
    """(returncode, stdout, stderr); returncode None on timeout."""
    e = {k: v for k, v in os.environ.items() if k not in _ENV_SCRUB}
    e.update(env or {})
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout,
                           env=e)
    except subprocess.TimeoutExpired as ex:
        return None, ex.stdout or "", ex.stderr or ""
    return p.returncode, p.stdout, p.stderr


def word_re(token):
    """token as a whole word: not inside a longer name or option."""
    return re.compile(r"(?<![\w-])" + re.escape(token) + r"(?![\w-])")


# ------------------------------------------------------------ the pages

def plain(s):
    """scdoc markup off: bold stars and backslash escapes."""
    return re.sub(r"\\(.)", r"\1", s.replace("*", ""))


class Page:
    """An scdoc page: its sections (# and ##) and its items (a line at
    column 0 followed by an indented line: the term of a definition).
    Text inside ``` blocks is neither."""

    def __init__(self, path):
        self.path = path
        with open(path) as f:
            self.lines = f.read().splitlines()
        self.items = []         # (top section, sub section, term)
        self.text = {}          # top section -> plain text
        top = sub = ""
        in_code = False
        for i, ln in enumerate(self.lines):
            if ln.startswith("```"):
                in_code = not in_code
                continue
            if in_code:
                self.text[top] = self.text.get(top, "") + plain(ln) + "\n"
                continue
            if ln.startswith("# "):
                top, sub = ln[2:].strip(), ""
                continue
            if ln.startswith("## "):
                sub = ln[3:].strip()
                continue
            self.text[top] = self.text.get(top, "") + plain(ln) + "\n"
            nxt = self.lines[i + 1] if i + 1 < len(self.lines) else ""
            if ln and not ln[0].isspace() and nxt.startswith("\t"):
                self.items.append((top, sub, plain(ln).strip()))

    def all_text(self):
        return "\n".join(self.text.values())

    def terms(self, section=None):
        return [t for top, _, t in self.items
                if section is None or top == section]

    def first_words(self, section):
        """The first word of each term of section (commands, keys)."""
        out = set()
        for t in self.terms(section):
            m = re.match(r"([A-Za-z][\w.-]*)", t)
            if m:
                out.add(m.group(1))
        return out

    def keys(self, section):
        """Keys documented as `KEY = ...` items in section."""
        out = set()
        for t in self.terms(section):
            m = re.match(r"([a-z][a-z0-9_]*)\s*=", t)
            if m:
                out.add(m.group(1))
        return out

    def mentions(self, token, section=None):
        text = self.text.get(section, "") if section else self.all_text()
        return bool(word_re(token).search(text))

    def in_terms(self, token, section=None):
        r = word_re(token)
        return any(r.search(t) for t in self.terms(section))


def page(name):
    return Page(os.path.join(MAN_SRC, name + ".scd"))


def rendered(section, name):
    """The installed page as man(1) prints it, hyphenation undone."""
    rc, out, err = run(["man", "-P", "cat", section, name],
                       env={"MANWIDTH": "250", "MAN_KEEP_FORMATTING": ""})
    if rc != 0:
        raise AssertionError(f"man {section} {name}: rc={rc} {err.strip()}")
    out = re.sub(r".\x08", "", out)
    return re.sub("[\u2010-]\n\\s*", "", out)


# ------------------------------------------------------------ the binary

def help_commands(text):
    """Command names of a --help text: the words starting the lines
    indented by exactly two spaces in its "commands:" block, where
    "a, b, c" and "a|b" list several."""
    cmds, inside = [], False
    for ln in text.splitlines():
        if re.match(r"^\s*commands:\s*$", ln, re.I):
            inside = True
            continue
        if not inside:
            continue
        if not ln.strip():
            if cmds:
                break
            continue
        if not ln.startswith(" "):
            break
        m = re.match(r"^  ([a-z][a-z-]*(?:\s*[,|]\s*[a-z][a-z-]*)*)", ln)
        if m:
            cmds += [c for c in re.split(r"\s*[,|]\s*", m.group(1)) if c]
    return cmds


def help_keys(text):
    """The keys of a --help text's "keys:" block (`ringvisor top`): the
    words of each line's first column (up to a gap of two spaces)."""
    keys, inside = [], False
    for ln in text.splitlines():
        if re.match(r"^keys:\s*$", ln):
            inside = True
            continue
        if inside and not ln.startswith("  "):
            break
        if inside:
            keys += re.split(r"\s{2,}", ln.strip())[0].split()
    return keys


def help_options(text):
    return set(re.findall(r"(?<![\w-])(--?[A-Za-z][A-Za-z0-9-]*)", text))


def help_env(text):
    return set(re.findall(r"\$([A-Z][A-Z0-9_]+)", text))


def source_key_candidates():
    """{kind: names} from the key tables of src/config/config_keys.c (where the
    source is at hand); the binary has the last word."""
    out = {k: set() for k in KINDS}
    try:
        with open(KEYS_SOURCE) as f:
            src = f.read()
    except OSError:
        return out
    tables = {"service_keys": "service", "group_keys": "group",
              "top_keys": "top", "socket_keys": "socket"}
    for m in re.finditer(r"static const struct key (\w+)\[\]\s*=\s*\{(.*?)\n\};",
                         src, re.S):
        kind = tables.get(m.group(1))
        if kind:
            body = m.group(2)
            out[kind] |= set(re.findall(r'\{\s*"([a-z0-9_]+)"', body))
            out[kind] |= set(re.findall(r'\.name\s*=\s*"([a-z0-9_]+)"', body))
    return out


def rlimit_candidates():
    names = {n[len("RLIMIT_"):].lower() for n in dir(resource)
             if n.startswith("RLIMIT_")}
    try:
        with open(PARSE_SOURCE) as f:
            names |= set(re.findall(r'\{\s*"([a-z]+)",\s*RLIMIT_', f.read()))
    except OSError:
        pass
    return names


_SECTION_HEAD = {"top": "[supervisor]", "group": "[supervisor:probe]",
                 "service": "[service:probe]\ncommand = /bin/true",
                 "socket": "[service:probe]\ncommand = /bin/true\n"
                           "[socket:probe]"}


def accepted_keys(kind, candidates, tmpdir):
    """The candidates `ringvisor check` does not call an unknown key in a
    section of this kind, and the messages it gave."""
    cands = sorted(c for c in candidates if re.fullmatch(r"[a-z][a-z0-9_]*", c))
    head = _SECTION_HEAD[kind].splitlines()
    path = os.path.join(tmpdir, f"probe-{kind}.conf")
    with open(path, "w") as f:
        f.write("\n".join(head) + "\n")
        for k in cands:
            f.write(f"{k} = x\n")
    rc, out, err = run([RV_BIN, "check", path])
    unknown = {}
    for ln in (out + err).splitlines():
        m = re.match(re.escape(path) + r":(\d+): error: (unknown key .*)", ln)
        if m:
            unknown[int(m.group(1))] = m.group(2)
    first = len(head) + 1
    ok = {k for i, k in enumerate(cands) if (first + i) not in unknown}
    return ok, unknown


def find_bench():
    for p in (os.environ.get("RV_BENCH_BIN"),
              os.path.join(os.path.dirname(RV_BIN), "ringvisor-bench"),
              os.path.join(os.path.dirname(RV_BIN), "bench", "ringvisor-bench")):
        if p and os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


# ------------------------------------------------------------ the tests

class ManPages(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="rvman-")
        cls.rv1 = page("ringvisor.1")
        cls.conf5 = page("ringvisor.conf.5")
        cls.bench1 = page("ringvisor-bench.1")
        rc, cls.help, err = run([RV_BIN, "--help"])
        if rc != 0 or not cls.help.strip():
            raise AssertionError(f"{RV_BIN} --help: rc={rc} {err.strip()}")
        cls.commands = help_commands(cls.help)
        # per-command help, with a config whose control socket leads
        # nowhere, so a client command that ignored --help reaches no
        # running supervisor
        conf = os.path.join(cls.tmp, "nowhere.conf")
        with open(conf, "w") as f:
            f.write(f"[supervisor]\ncontrol_socket = {cls.tmp}/none.sock\n")
        cls.cmd_help = {}
        for c in cls.commands:
            rc, out, err = run([RV_BIN, c, "--help"], timeout=5,
                               env={"RINGVISOR_CONFIG": conf})
            cls.cmd_help[c] = (rc, out, err)
        # the keys
        cands = source_key_candidates()
        documented = {k: cls.conf5.keys(KINDS[k][1]) for k in KINDS}
        every = set().union(*cands.values(), *documented.values())
        cls.limits = {"limit_" + r for r in rlimit_candidates()}
        cls.accepted, cls.unknown = {}, {}
        for kind in KINDS:
            probe = every | (cls.limits if kind == "service" else set())
            cls.accepted[kind], cls.unknown[kind] = accepted_keys(
                kind, probe, cls.tmp)
        cls.source_cands = cands

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ringvisor(1)

    def test_help_lists_commands(self):
        """The parser of --help still understands it (else every check
        below would pass vacuously)."""
        self.assertIn("run", self.commands, self.help)
        self.assertIn("check", self.commands, self.help)
        self.assertGreaterEqual(len(self.commands), 3, self.help)

    def test_every_command_is_documented(self):
        documented = self.rv1.first_words("COMMANDS")
        missing = [c for c in self.commands if c not in documented]
        self.assertEqual(missing, [], "commands of `ringvisor --help` "
                         "without an item in COMMANDS of ringvisor.1.scd")

    def test_every_documented_command_exists(self):
        for c in sorted(self.rv1.first_words("COMMANDS")):
            rc, out, err = run([RV_BIN, c, "--help"], timeout=5,
                               env={"RINGVISOR_CONFIG": "/nonexistent"})
            self.assertNotRegex(out + err, r"unknown command",
                                f"ringvisor.1 documents `{c}`, which the "
                                "binary does not know")

    def test_every_option_is_documented(self):
        texts = [("ringvisor --help", self.help)]
        for c, (rc, out, err) in self.cmd_help.items():
            if rc == 0:
                texts.append((f"ringvisor {c} --help", out))
        missing = []
        for where, text in texts:
            for opt in sorted(help_options(text)):
                if not self.rv1.in_terms(opt):
                    missing.append(f"{opt} (from {where})")
        self.assertEqual(sorted(set(missing)), [],
                         "options without an item mentioning them in "
                         "ringvisor.1.scd")

    def test_every_environment_variable_is_documented(self):
        names = help_env(self.help)
        for rc, out, _ in self.cmd_help.values():
            if rc == 0:
                names |= help_env(out)
        missing = sorted(n for n in names
                         if not self.rv1.in_terms(n, "ENVIRONMENT"))
        self.assertEqual(missing, [], "environment variables of --help "
                         "missing from ENVIRONMENT in ringvisor.1.scd")

    def test_version(self):
        rc, out, _ = run([RV_BIN, "--version"])
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"^ringvisor \d+\.\d+")

    def test_every_top_key_is_documented(self):
        """The keys of `ringvisor top --help` in TOP of ringvisor.1 and
        in the keys table of README.md."""
        rc, out, err = self.cmd_help.get("top", (None, "", "no top"))
        self.assertEqual(rc, 0, err)
        keys = help_keys(out)
        self.assertIn("q", keys, out)
        self.assertIn("/", keys, out)
        with open(os.path.join(REPO, "README.md")) as f:
            readme = f.read()
        m = re.search(r"\| key \| what it does \|\n(.*?)\n\n", readme, re.S)
        self.assertIsNotNone(m, "no `| key | what it does |` table in "
                             "README.md")
        in_readme = set(re.findall(r"`([^`]+)`", m.group(1)))
        self.assertEqual([k for k in keys if not self.rv1.in_terms(k, "TOP")],
                         [], "keys of `ringvisor top --help` without an "
                         "item in TOP of ringvisor.1.scd")
        self.assertEqual([k for k in keys if k not in in_readme], [],
                         "keys of `ringvisor top --help` missing from the "
                         "keys table of README.md")

    # ringvisor.conf(5)

    def test_probe_sees_keys(self):
        """The probe tells known from unknown (else the checks below
        would be vacuous): `command` is a service key, `strategy` is not."""
        self.assertIn("command", self.accepted["service"])
        self.assertNotIn("command", self.accepted["top"])
        self.assertIn("strategy", self.accepted["top"])
        self.assertNotIn("strategy", self.accepted["service"])
        self.assertIn("limit_nofile", self.accepted["service"])

    def test_source_tables_match_the_binary(self):
        """Every key of the tables in src/config/config_keys.c is accepted in its
        kind of section: if not, this scanner is out of date."""
        for kind, names in self.source_cands.items():
            stale = sorted(names - self.accepted[kind])
            self.assertEqual(stale, [], f"{kind} keys of config_keys.c "
                             "that the binary refuses")

    def test_every_key_is_documented(self):
        missing = {}
        for kind, (label, section) in KINDS.items():
            documented = self.conf5.keys(section)
            keys = {k for k in self.accepted[kind]
                    if not k.startswith("limit_")}
            gap = sorted(keys - documented)
            if gap:
                missing[f"{label} in '# {section}'"] = gap
        self.assertEqual(missing, {}, "keys accepted by the binary without "
                         "a `*key* = ...` item in ringvisor.conf.5.scd")

    def test_every_limit_is_documented(self):
        limits = sorted(k for k in self.accepted["service"]
                        if k.startswith("limit_"))
        self.assertGreaterEqual(len(limits), 10, limits)
        section = KINDS["service"][1]
        self.assertTrue(self.conf5.in_terms("limit_RESOURCE", section) or
                        any(t.startswith("limit_")
                            for t in self.conf5.terms(section)),
                        "no limit_ item in SERVICE SECTIONS")
        missing = [k for k in limits if not self.conf5.mentions(k, section)]
        self.assertEqual(missing, [], "rlimit keys not named in "
                         "ringvisor.conf.5.scd")

    def test_every_documented_key_exists(self):
        wrong = {}
        for kind, (label, section) in KINDS.items():
            extra = sorted(self.conf5.keys(section) - self.accepted[kind])
            if extra:
                wrong[label] = [f"{k}: {self.why(kind, k)}" for k in extra]
        self.assertEqual(wrong, {}, "keys documented in ringvisor.conf.5.scd "
                         "that the binary refuses in that section")

    def why(self, kind, key):
        for msg in self.unknown[kind].values():
            if f'"{key}"' in msg:
                return msg
        return "not probed"

    # ringvisor-bench(1)

    def test_bench_page(self):
        bench = find_bench()
        if not bench:
            self.skipTest("no ringvisor-bench binary next to "
                          f"{RV_BIN} (set RV_BENCH_BIN)")
        rc, out, err = run([bench, "--help"])
        self.assertEqual(rc, 0, err)
        cmds = help_commands(out)
        self.assertTrue(cmds, out)
        documented = self.bench1.first_words("COMMANDS")
        self.assertEqual([c for c in cmds if c not in documented], [],
                         "ringvisor-bench commands missing from "
                         "COMMANDS of ringvisor-bench.1.scd")
        missing = sorted(o for o in help_options(out)
                         if not self.bench1.in_terms(o))
        self.assertEqual(missing, [], "ringvisor-bench options without an "
                         "item in ringvisor-bench.1.scd")

    # the pages build, and the installed ones say the same

    def test_pages_render(self):
        scdoc = shutil.which("scdoc")
        if not scdoc:
            self.skipTest("scdoc not installed")
        for name in ("ringvisor.1", "ringvisor.conf.5", "ringvisor-bench.1"):
            with open(os.path.join(MAN_SRC, name + ".scd")) as f:
                p = subprocess.run([scdoc], stdin=f, capture_output=True,
                                   text=True)
            self.assertEqual(p.returncode, 0, f"{name}: {p.stderr}")
            self.assertIn(".SH NAME", p.stdout)

    def test_installed_pages(self):
        if not INSTALLED:
            self.skipTest("RV_MAN_INSTALLED=1 not set")
        conf = rendered("5", "ringvisor.conf")
        keys = set().union(*self.accepted.values())
        self.assertEqual(sorted(k for k in keys if not word_re(k).search(conf)),
                         [], "keys missing from `man ringvisor.conf`")
        rv = rendered("1", "ringvisor")
        self.assertEqual([c for c in self.commands
                          if not word_re(c).search(rv)], [],
                         "commands missing from `man ringvisor`")
        self.assertEqual(sorted(o for o in help_options(self.help)
                                if not word_re(o).search(rv)), [],
                         "options missing from `man ringvisor`")

    # bash completion

    def test_completion_knows_commands_and_keys(self):
        if not os.path.isfile(COMPLETION):
            self.skipTest(f"no {COMPLETION}")
        with open(COMPLETION) as f:
            text = f.read()
        m = re.search(r'local commands="([^"]*)"', text)
        self.assertIsNotNone(m, "no commands list in the completion")
        self.assertEqual(sorted(set(self.commands) - set(m.group(1).split())),
                         [], "commands the bash completion does not offer")
        m = re.search(r'local service_keys="([^"]*)"', text)
        self.assertIsNotNone(m, "no service_keys list in the completion")
        self.assertEqual(sorted(self.accepted["service"] -
                                set(m.group(1).split())), [],
                         "service keys (exec options) the bash completion "
                         "does not offer")


def main():
    if not (os.path.isfile(RV_BIN) and os.access(RV_BIN, os.X_OK)):
        print(f"FAIL: no ringvisor binary at {RV_BIN} (set RV_BIN)",
              flush=True)
        sys.exit(1)
    if not os.path.isdir(MAN_SRC):
        print(f"FAIL: no man page sources at {MAN_SRC}", flush=True)
        sys.exit(1)
    prog = unittest.main(module="__main__", exit=False, verbosity=2)
    res = prog.result
    if not res.wasSuccessful():
        sys.exit(1)
    if res.testsRun and len(res.skipped) == res.testsRun:
        sys.exit(SKIP)
    sys.exit(0)


if __name__ == "__main__":
    main()
