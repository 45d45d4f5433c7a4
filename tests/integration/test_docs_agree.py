#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""README.md, ringvisor(1), docs/log-events.md, `ringvisor --help` and the
code agree on config keys, commands, states, exit codes and log events
(test_manpages.py checks the man pages against --help and the parser).

How each side is read (change the docs in these shapes, or this test):

* Config keys: the binary's, per kind of section, from the probe of
  test_manpages.py (`ringvisor check` on a config naming every candidate).
  README: the `| key | default | meaning |` tables under the `###` headings
  naming `[supervisor]` (top; and group when the heading names
  `[supervisor:NAME]` too: a meaning starting "top level only" is top's
  alone, "nested only" the group's alone), `[service:NAME]` and
  `[socket:NAME]`; a key is a backticked word of the first column, or,
  when the first column has none (the "isolation and output keys" row),
  of the meaning column; `limit_<rlimit>` stands for every limit_ key.
* Commands: the first word after `ringvisor ` in the first column of
  README's `| command | what it does |` table (`a\\|b\\|c` names three)
  against the commands block of `ringvisor --help`.
* States: the C name tables (svc_state_names in src/tree/service.c,
  node_state_names in src/tree/node.c, sup_state_names in
  src/tree/lifecycle.c: what status, events and metrics print) against the
  sentences "Supervisor states: ...", "Service states: ..." and "Nested
  supervisor states: ..." of README and of STATUS JSON in ringvisor(1).
* Exit codes: a code is written in bold (`**2**` in README, `*2*` in the
  man page; `128+N` for death by signal N), in README's
  `| command | exit status |` table and in the items of EXIT STATUS in
  ringvisor(1), one per command: run, exec, check, client commands. The
  two must state the same codes for each; every code of the "exit status:"
  lines of `ringvisor --help` (a clause naming no command is run's) must be
  among them; and the binary is asked for the codes it can cheaply show.
* Log events: the event names of docs/log-events.md's table (backticked
  words of its first column) against the event argument of every
  rv_log/rv_log_at/rv_log_svc/rv_log_sup call in src/ (comments dropped,
  arguments split at top-level commas): each string literal in it (`a ? "x"
  : "y"` gives both); when it is a parameter of the enclosing function
  (roll.c's report(r, event, at)), the literals passed at that position by
  the calls of that function in the same file. src/util/log.c (the logger)
  is skipped. A call whose event resolves to nothing fails the test.

Standard library only, a few seconds. Exit status: 0 passed, 1 failed.
"""

import os
import re
import sys
import tempfile
import shutil
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_manpages as tm  # noqa: E402  (its probe, pages and helpers)

REPO = tm.REPO
README = os.path.join(REPO, "README.md")
EVENTS_DOC = os.path.join(REPO, "docs", "log-events.md")
SRC = os.path.join(REPO, "src")


def read(path):
    with open(path) as f:
        return f.read()


# ------------------------------------------------------------ README

def md_tables(text, header):
    """[(heading, [row cells])] of every table whose header row is
    `header`; heading: the last ## or ### line above it."""
    out, heading, lines, i = [], "", text.splitlines(), 0
    in_code = False
    while i < len(lines):
        ln = lines[i]
        if ln.startswith("```"):
            in_code = not in_code
        elif not in_code and re.match(r"#{2,3} ", ln):
            heading = ln
        elif not in_code and ln.strip() == header:
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                cells = re.split(r"(?<!\\)\|", lines[i].strip()[1:-1])
                rows.append([c.strip() for c in cells])
                i += 1
            out.append((heading, rows))
            continue
        i += 1
    return out


def ticked(cell):
    return re.findall(r"`([^`]+)`", cell)


def readme_keys(text):
    """{kind: keys} from README's key tables."""
    keys = {k: set() for k in tm.KINDS}
    for heading, rows in md_tables(text, "| key | default | meaning |"):
        if "[supervisor]" in heading:
            kinds = ["top"] + (["group"] if "[supervisor:NAME]" in heading
                               else [])
        elif "[service:NAME]" in heading:
            kinds = ["service"]
        elif "[socket:NAME]" in heading:
            kinds = ["socket"]
        else:
            raise AssertionError(f"README key table under {heading!r}: "
                                 "which kind of section?")
        for key_cell, _default, meaning in rows:
            names = [w for w in ticked(key_cell)
                     if re.fullmatch(r"[a-z][a-z0-9_]*", w)]
            if not names and not ticked(key_cell):
                names = [w for w in ticked(meaning)
                         if re.fullmatch(r"[a-z][a-z0-9_<>]*", w)]
            these = kinds
            if meaning.startswith("top level only"):
                these = ["top"]
            elif meaning.startswith("nested only"):
                these = ["group"]
            for k in these:
                keys[k] |= set(names)
    return keys


def readme_commands(text):
    tables = md_tables(text, "| command | what it does |")
    out = set()
    for _, rows in tables:
        for row in rows:
            m = re.match(r"`ringvisor ([a-z][a-z\\|-]*)", row[0])
            if m:
                out |= {c for c in re.split(r"\\\|", m.group(1)) if c}
    return out


def state_sentences(text):
    """{label: [states]} of "Supervisor states: a, b." sentences, markup
    (`*`, backticks) off."""
    plain = re.sub(r"\s+", " ", re.sub(r"[*`]", "", text))
    out = {}
    for label in ("Supervisor", "Service", "Nested supervisor"):
        m = re.search(r"(?<![A-Za-z] )\b" + label + r" states: ([^.]*)\.",
                      plain)
        if m:
            out[label] = re.findall(r"[a-z_]+", m.group(1))
    return out


EXIT_GROUPS = ("run", "exec", "check", "client")
CODE = r"(\d{1,3}|128\+_?N_?)"


def norm_code(c):
    return c.replace("_", "")


def readme_exit(text):
    tables = md_tables(text, "| command | exit status |")
    if not tables:
        raise AssertionError("no `| command | exit status |` table in "
                             "README.md")
    out = {}
    for first, codes in tables[0][1]:
        group = "client" if "client" in first else first.strip("`")
        out[group] = {norm_code(c) for c in
                      re.findall(r"\*\*" + CODE + r"\*\*", codes)}
    return out


def man_exit(page):
    """{group: codes} of the items of EXIT STATUS in ringvisor.1.scd."""
    out, group, inside = {}, None, False
    for ln in page.lines:
        if ln.startswith("# "):
            inside = ln.strip() == "# EXIT STATUS"
            continue
        if not inside or not ln.strip():
            continue
        if not ln[0].isspace():
            t = tm.plain(ln).strip()
            group = "client" if "lient" in t else t.split()[0]
            out.setdefault(group, set())
        elif group:
            out[group] |= {norm_code(c) for c in
                           re.findall(r"\*" + CODE + r"\*", ln)}
    return out


def help_exit(text):
    """{group: codes} of the "exit status:" lines of --help."""
    m = re.search(r"^exit status:(.*?)(?:\n\n|\Z)", text, re.S | re.M)
    if not m:
        return {}
    out = {}
    for clause in m.group(1).split(";"):
        words = clause.split()
        group = next((g for g in EXIT_GROUPS if g in words), "run")
        out.setdefault(group, set()).update(
            norm_code(c) for c in re.findall(r"(?<![\w+])" + CODE +
                                             r"(?![\w+])", clause))
    return out


# ------------------------------------------------------------ the code

def c_name_table(path, table):
    m = re.search(r"\b" + table + r"\[[^]]*\]\s*=\s*\{(.*?)\};", read(path),
                  re.S)
    if not m:
        raise AssertionError(f"no {table} in {path}: update this test")
    return re.findall(r'"([a-z_]+)"', m.group(1))


def code_states():
    return {
        "Service": c_name_table(os.path.join(SRC, "tree", "service.c"),
                                "svc_state_names"),
        "Nested supervisor": c_name_table(os.path.join(SRC, "tree",
                                                       "node.c"),
                                          "node_state_names"),
        "Supervisor": c_name_table(os.path.join(SRC, "tree", "lifecycle.c"),
                                   "sup_state_names"),
    }


LOG_FUNCS = {"rv_log": 3, "rv_vlog": 3, "rv_log_at": 4, "rv_log_svc": 2,
             "rv_log_sup": 2}


def no_comments(src):
    return re.sub(r"/\*.*?\*/|//[^\n]*",
                  lambda m: re.sub(r"[^\n]", " ", m.group(0)), src,
                  flags=re.S)


def call_args(src, i):
    """The arguments of the call whose '(' ends at i, split at top-level
    commas (strings and brackets respected)."""
    depth, args, cur, j, in_str = 0, [], "", i, False
    while j < len(src):
        c = src[j]
        if in_str:
            cur += c
            if c == "\\":
                cur += src[j + 1]
                j += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str, cur = True, cur + c
        elif c in "([{":
            depth, cur = depth + 1, cur + c
        elif c in ")]}":
            if depth == 0:
                return args + [cur]
            depth, cur = depth - 1, cur + c
        elif c == "," and depth == 0:
            args.append(cur)
            cur = ""
        else:
            cur += c
        j += 1
    return args + [cur]


def enclosing_function(src, pos):
    """(name, [parameter names]) of the function definition before pos."""
    last = None
    for m in re.finditer(r"^\w[^;{}()]*?\b(\w+)\(([^;{}]*?)\)\s*\n\{", src,
                         re.M):
        if m.start() > pos:
            break
        last = m
    if not last:
        return None, []
    params = [re.findall(r"(\w+)\s*$", p.strip()) for p in
              last.group(2).split(",")]
    return last.group(1), [p[0] if p else "" for p in params]


def emitted_events():
    """({event: [files]}, [unresolved call sites])."""
    found, unresolved = {}, []
    for d, _, files in os.walk(SRC):
        for f in sorted(files):
            path = os.path.join(d, f)
            if not f.endswith(".c") or path.endswith(os.path.join("util",
                                                                  "log.c")):
                continue
            src = no_comments(read(path))
            rel = os.path.relpath(path, REPO)
            for m in re.finditer(r"\b(" + "|".join(LOG_FUNCS) + r")\s*\(",
                                 src):
                args = call_args(src, m.end())
                pos = LOG_FUNCS[m.group(1)]
                arg = args[pos] if len(args) > pos else ""
                names = re.findall(r'"([a-z_]+)"', arg)
                where = f"{rel}:{src.count(chr(10), 0, m.start()) + 1}"
                if not names and re.fullmatch(r"\s*\w+\s*", arg):
                    fn, params = enclosing_function(src, m.start())
                    if arg.strip() in params:
                        k = params.index(arg.strip())
                        for c in re.finditer(r"\b" + re.escape(fn) +
                                             r"\s*\(", src):
                            a = call_args(src, c.end())
                            if len(a) > k:
                                names += re.findall(r'^\s*"([a-z_]+)"\s*$',
                                                    a[k])
                if not names:
                    unresolved.append(f"{where}: {arg.strip()}")
                for n in names:
                    found.setdefault(n, []).append(where)
    return found, unresolved


def documented_events(text):
    tables = md_tables(text, "| event | level | keys | meaning |")
    if not tables:
        raise AssertionError("no event table in docs/log-events.md")
    out = set()
    for _, rows in tables:
        for row in rows:
            out |= {w for w in ticked(row[0])
                    if re.fullmatch(r"[a-z_]+", w)}
    return out


# ------------------------------------------------------------ the tests

class DocsAgree(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="rvdocs-")
        cls.readme = read(README)
        cls.rv1 = tm.page("ringvisor.1")
        rc, cls.help, err = tm.run([tm.RV_BIN, "--help"])
        if rc != 0:
            raise AssertionError(f"--help: rc={rc} {err}")
        cls.commands = set(tm.help_commands(cls.help))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_readme_key_tables(self):
        documented = readme_keys(self.readme)
        cands = tm.source_key_candidates()
        every = set().union(*cands.values(), *documented.values())
        limits = {"limit_" + r for r in tm.rlimit_candidates()}
        diff = {}
        for kind in tm.KINDS:
            probe = every | (limits if kind == "service" else set())
            accepted, _ = tm.accepted_keys(kind, probe, self.tmp)
            self.assertTrue(accepted, kind)
            doc = documented[kind]
            if kind == "service":
                self.assertIn("limit_<rlimit>", doc, "README: no "
                              "limit_<rlimit> among the service keys")
                self.assertGreaterEqual(
                    len([k for k in accepted if k.startswith("limit_")]),
                    10)
                accepted = {k for k in accepted
                            if not k.startswith("limit_")}
                doc = doc - {"limit_<rlimit>"}
            missing, extra = accepted - doc, doc - accepted
            if missing:
                diff[f"{kind}: accepted, not in README"] = sorted(missing)
            if extra:
                diff[f"{kind}: in README, refused"] = sorted(extra)
        self.assertEqual(diff, {}, "README.md's key tables and the keys "
                         "the binary accepts disagree")

    def test_readme_command_table(self):
        documented = readme_commands(self.readme)
        self.assertIn("run", documented)
        self.assertIn("run", self.commands)
        self.assertEqual(sorted(self.commands - documented), [],
                         "commands of --help missing from README's "
                         "command table")
        self.assertEqual(sorted(documented - self.commands), [],
                         "README's command table names commands --help "
                         "does not list")
        for c in sorted(documented):
            rc, out, err = tm.run([tm.RV_BIN, c, "--help"], timeout=5,
                                  env={"RINGVISOR_CONFIG": "/nonexistent"})
            self.assertNotIn("unknown command", out + err, c)

    def test_states(self):
        code = code_states()
        self.assertIn("backoff", code["Service"])
        self.assertIn("alive", code["Supervisor"])
        for where, text in (("README.md", self.readme),
                            ("ringvisor.1 STATUS JSON",
                             self.rv1.text.get("STATUS JSON", ""))):
            if where.startswith("ringvisor"):
                text = "\n".join(self.rv1.lines)  # with its markup
                text = text[text.index("# STATUS JSON"):]
            doc = state_sentences(text)
            for label, states in code.items():
                self.assertIn(label, doc, f"{where}: no sentence "
                              f"\"{label} states: ...\"")
                self.assertEqual(sorted(doc[label]), sorted(states),
                                 f"{where}: {label} states differ from "
                                 "the code's name table")

    def test_exit_codes_agree(self):
        readme = readme_exit(self.readme)
        man = man_exit(self.rv1)
        self.assertEqual(sorted(readme), sorted(EXIT_GROUPS),
                         "README exit status table: rows")
        self.assertEqual(sorted(man), sorted(EXIT_GROUPS),
                         "ringvisor.1 EXIT STATUS: items")
        self.assertIn("128+N", readme["exec"])
        for g in EXIT_GROUPS:
            self.assertEqual(sorted(readme[g]), sorted(man[g]),
                             f"exit codes of {g}: README vs ringvisor.1")
        helped = help_exit(self.help)
        self.assertIn("run", helped, "no `exit status:` in --help")
        for g, codes in helped.items():
            self.assertEqual(sorted(codes - readme[g]), [],
                             f"exit codes of {g} in --help, not in README")

    def test_exit_codes_are_true(self):
        """The codes the docs state, shown by the binary where that is
        cheap: no supervisor needed."""
        stated = readme_exit(self.readme)
        bad = os.path.join(self.tmp, "bad.conf")
        with open(bad, "w") as f:
            f.write("[service:x]\n")
        noexec = os.path.join(self.tmp, "noexec")
        with open(noexec, "w") as f:
            f.write("#!/bin/sh\n")
        sock = {"RINGVISOR_CONFIG": "/nonexistent"}
        cases = [
            ("check", "1", ["check", bad]),
            ("check", "2", ["check", "--no-such-option"]),
            ("exec", "127", ["exec", "--", os.path.join(self.tmp, "none")]),
            ("exec", "126", ["exec", "--", noexec]),
            ("exec", "128+N", ["exec", "--", "/bin/sh", "-c", "kill $$"]),
            ("exec", "2", ["exec", "--no-such-option"]),
            ("run", "2", ["run", "-c", bad]),
            ("client", "1", ["status", "-s",
                             os.path.join(self.tmp, "none.sock")]),
            ("client", "2", ["status", "--no-such-option"]),
        ]
        want = {"128+N": 128 + 15}
        for group, code, argv in cases:
            self.assertIn(code, stated[group],
                          f"README does not state {code} for {group}")
            rc, out, err = tm.run([tm.RV_BIN] + argv, timeout=10, env=sock)
            self.assertEqual(rc, want.get(code, int(code) if
                                          code.isdigit() else None),
                             f"{argv}: {err.strip()}")

    def test_log_events(self):
        emitted, unresolved = emitted_events()
        self.assertEqual(unresolved, [], "log calls whose event name this "
                         "scanner cannot find (see the docstring)")
        self.assertIn("start", emitted)
        self.assertIn("roll_step", emitted)  # through roll.c's report()
        documented = documented_events(read(EVENTS_DOC))
        self.assertEqual(sorted(set(emitted) - documented), [],
                         "events the source logs, missing from "
                         "docs/log-events.md")
        self.assertEqual(sorted(documented - set(emitted)), [],
                         "events docs/log-events.md lists that no log call "
                         "in src/ emits")


if __name__ == "__main__":
    if not (os.path.isfile(tm.RV_BIN) and os.access(tm.RV_BIN, os.X_OK)):
        print(f"FAIL: no ringvisor binary at {tm.RV_BIN}", flush=True)
        sys.exit(1)
    prog = unittest.main(module="__main__", exit=False, verbosity=2)
    sys.exit(0 if prog.result.wasSuccessful() else 1)
