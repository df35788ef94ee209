#!/usr/bin/env python3
"""Runs the shell blocks of README.md in order and checks the outputs it shows.

    python3 tests/readme/run.py BINARY                 # README.md of this repository
    python3 tests/readme/run.py BINARY --readme FILE   # another file written the same way
    python3 tests/readme/run.py BINARY --keep-going    # report every failing command, not the first
    python3 tests/readme/run.py BINARY --self-test     # proves that a wrong block fails

Standard library only. Exit 0 when every block ran and showed what the README says, 1 otherwise
(each failure names the README's line, the command and what differed), 2 on a usage error.

The conventions a README follows for this check:

Blocks. Every fenced block opened with ```sh or ```bash runs, in the order of the file, in ONE
bash process (`bash --noprofile --norc`), so a variable a block sets (`ADMIN=$(...)`), an
`export` or a `cd` holds for the blocks after it. Other fences (```json, ```python, ```toml...)
are not run. A block that cannot run here carries, on the last non-blank line before its
fence, `<!-- readme-check: skip (REASON) -->`: a reason is required, and the checker prints
every skipped block with it. A block of any language preceded by
`<!-- readme-check: file (NAME) -->` is not run but written, as it stands, to NAME in the
working directory when its turn comes (the README says to save it so), for a later block to use;
`127.0.0.1:8080` is replaced in it as in the blocks (below).

Where they run. The working directory is a fresh temporary directory holding a symbolic link to
each top-level entry git tracks in the repository (schemas/, openapi/, tests/...), and
target/release/reetrace, a link to BINARY: a block that puts "$PWD/target/release" on the PATH
finds the binary under test, as a reader finds the release build there. Nothing else is put on
the PATH. Before the first block the checker starts `reetrace serve` in that directory (a fresh
SQLite database, ./reetrace.db, and a fresh master key file), as the README's own serve block
says to, in the background, on a free port: every `127.0.0.1:8080` in the blocks and in the
shown outputs is replaced by `127.0.0.1:<that port>`, and every `127.0.0.1:8081` (where the
README serves a second database) by another free port. Each command's standard input is
/dev/null; the shell's environment is the checker's without any REETRACE_* variable.

Commands. A block is cut into commands where bash itself sees one end (the lines so far parse
with `bash -n` and the last does not end with a backslash). Comment lines between commands are
not run. Every command must exit 0 unless its shown output says otherwise (below), and a
command whose output is an HTTP error (a status line of 400 or more, or a problem+json body)
fails unless its shown output names that status: nothing may fail silently.

Shown outputs. A comment `# -> EXPECTED` is the output of the command just before it: either at
the end of the command's last line, or on the lines after it. It continues on the following
comment lines that start with `#` and two or more spaces; a comment line with one space after
the `#` is prose again. EXPECTED is, in this order, all optional:

  exit N     the command's exit status is N (default 0).
  STATUS     three digits: the HTTP status of the answer. The command must print it, i.e. use
             `curl -i` (`curl -si`): the status line of the last response is read, and the
             body is what follows its headers.
  JSON       starts with `{` or `[`: the body (of standard output) parses as JSON and contains
             what is shown:
             - an object's shown members must be there (others may be too);
             - `...` as a value matches any value; as a member or element of its own it says
               that more may be there (an object's extra members always may);
             - an array without `...` has exactly the shown elements, in order; with `...`
               the shown elements appear in that order among others;
             - a string containing `...` matches any text in its place (`"rtk_..."`,
               `".../crma/..."`); any other string, number, true, false or null is equal.
  ...        alone: any output.
  TEXT       anything else: lines, each matching a line of the output (headers included;
             standard output, then standard error), in order, as a whole; `...` in a line
             matches any text.

The self-test runs the checker on tests/readme/fixture.md (which passes) and on copies of it
with a wrong shown output, a wrong status, a failing command, an unshown error, a wrong array
and a wrong saved file, and expects each to fail naming the line.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SKIP = re.compile(r"^<!--\s*readme-check:\s*skip\s*\((.+)\)\s*-->\s*$")
FILE = re.compile(r"^<!--\s*readme-check:\s*file\s*\(([\w.-]+)\)\s*-->\s*$")
FENCE = re.compile(r"^```(\S*)\s*$")
SHOWN = re.compile(r"(?:^|\s)#\s*->\s?(.*)$")
CONTINUED = re.compile(r"^\s*#(?: {2,}|\t)\s*(\S.*)$")
COMMAND_TIMEOUT = 180


class Command:
    def __init__(self, line, text, shown):
        self.line = line        # 1-based line in the README of the command's first line
        self.text = text        # the command as bash reads it
        self.shown = shown      # the text after `# ->`, continuation lines joined by newlines

    def headline(self):
        first = self.text.strip().splitlines()[0]
        return first if len(first) <= 100 else first[:97] + "..."


class Block:
    def __init__(self, line, lang, lines, skip, file):
        self.line = line        # 1-based line of the opening fence
        self.lang = lang
        self.lines = lines
        self.skip = skip        # why it does not run, or None
        self.file = file        # the file its text is written to, or None


def blocks(readme_text):
    """Every fenced block of the file, with the annotation (skip or file) on the line before it."""
    found, lines, i = [], readme_text.splitlines(), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, lang, body = i, m.group(1), []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        prev = start - 1
        while prev >= 0 and not lines[prev].strip():
            prev -= 1
        note = lines[prev].strip() if prev >= 0 else ""
        skip, file = SKIP.match(note), FILE.match(note)
        if note.startswith("<!--") and "readme-check" in note and not (skip or file):
            raise SystemExit(f"README line {prev + 1}: unreadable annotation {note!r}")
        found.append(Block(start + 1, lang, body, skip.group(1) if skip else None,
                           file.group(1) if file else None))
        i += 1
    return found


def parses(text):
    out = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True)
    return out.returncode == 0 and not out.stderr.strip()


def is_comment(line):
    return line.lstrip().startswith("#")


def commands(block):
    """Cuts a block into commands, each with the output the README shows for it."""
    result, lines, i = [], block.lines, 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if is_comment(line):
            m = SHOWN.match(line.lstrip())
            if m:
                if not result:
                    raise SystemExit(f"README line {block.line + 1 + i}: `# ->` before any command")
                shown, i = continued(lines, i + 1, m.group(1))
                if result[-1].shown is not None:
                    raise SystemExit(f"README line {block.line + 1 + i}: a second `# ->` for one command")
                result[-1].shown = shown
            else:
                i += 1
            continue
        j = i + 1
        while j <= len(lines):
            chunk = "\n".join(lines[i:j])
            if not lines[j - 1].rstrip().endswith("\\") and parses(chunk + "\n"):
                break
            j += 1
        else:
            raise SystemExit(f"README line {block.line + 1 + i}: the command never ends")
        text = "\n".join(lines[i:j])
        shown = None
        m = SHOWN.search(lines[j - 1])
        if m:
            shown, j = continued(lines, j, m.group(1))
        result.append(Command(block.line + 1 + i, text, shown))
        i = j
    return result


def continued(lines, i, first):
    parts = [first.strip()]
    while i < len(lines):
        m = CONTINUED.match(lines[i])
        if not m or SHOWN.match(lines[i].lstrip()):
            break
        parts.append(m.group(1).rstrip())
        i += 1
    return "\n".join(parts), i


class Workspace:
    """The temporary directory the blocks run in, and the server the README starts."""

    def __init__(self, binary, keep):
        self.dir = tempfile.mkdtemp(prefix="readme-check-")
        self.keep = keep
        for name in tracked_entries():
            if name != "target":
                os.symlink(os.path.join(REPO, name), os.path.join(self.dir, name))
        os.makedirs(os.path.join(self.dir, "target", "release"))
        os.symlink(os.path.abspath(binary), os.path.join(self.dir, "target", "release", "reetrace"))
        self.port, self.spare = free_port(), free_port()
        while self.spare == self.port:
            self.spare = free_port()
        self.server = None
        self.log = os.path.join(self.dir, "server.log")

    def start_server(self, binary):
        env = {**os.environ, "REETRACE_LISTEN": f"127.0.0.1:{self.port}",
               "REETRACE_LOG": os.environ.get("REETRACE_LOG", "warn")}
        env = {k: v for k, v in env.items()
               if not k.startswith("REETRACE_") or k in ("REETRACE_LISTEN", "REETRACE_LOG")}
        with open(self.log, "ab") as log:
            self.server = subprocess.Popen([os.path.abspath(binary), "serve"], cwd=self.dir, env=env,
                                           stdout=log, stderr=log, start_new_session=True)
        for _ in range(600):
            if self.server.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise SystemExit("the server did not come up:\n" + self.server_log())

    def server_log(self, chars=3000):
        with open(self.log, errors="replace") as f:
            return f.read()[-chars:]

    def close(self):
        if self.server and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        if self.keep:
            print(f"kept: {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def tracked_entries():
    """The repository's top-level entries that git tracks: never a database or key file a
    developer left there."""
    out = subprocess.run(["git", "-C", REPO, "ls-files", "-z"], capture_output=True, check=True)
    return sorted({path.split("/", 1)[0] for path in out.stdout.decode().split("\0") if path})


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Shell:
    """One bash process fed command by command; each command's output goes to its own file."""

    def __init__(self, cwd):
        self.cwd = cwd
        self.out = os.path.join(cwd, ".readme-check")
        os.makedirs(self.out)
        env = {k: v for k, v in os.environ.items() if not k.startswith("REETRACE_")}
        self.log = open(os.path.join(self.out, "shell.log"), "ab")
        self.proc = subprocess.Popen(["bash", "--noprofile", "--norc"], cwd=cwd, env=env,
                                     stdin=subprocess.PIPE, stdout=self.log, stderr=self.log,
                                     start_new_session=True)
        self.n = 0

    def run(self, text):
        """(exit status, standard output, standard error) of one command run in the session."""
        self.n += 1
        out, err, rc = (os.path.join(self.out, f"{self.n}.{ext}") for ext in ("out", "err", "rc"))
        script = f"{{\n{text}\n}} > {out} 2> {err} < /dev/null\necho $? > {rc}.tmp && mv {rc}.tmp {rc}\n"
        self.proc.stdin.write(script.encode())
        self.proc.stdin.flush()
        deadline = time.time() + COMMAND_TIMEOUT
        while not os.path.exists(rc):
            if self.proc.poll() is not None:
                return -1, read(out), read(err) + "\n(the shell exited)"
            if time.time() > deadline:
                return -1, read(out), read(err) + f"\n(no answer within {COMMAND_TIMEOUT} s)"
            time.sleep(0.02)
        return int(read(rc).strip() or -1), read(out), read(err)

    def close(self):
        """Ends the shell and whatever a block left running in its process group."""
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def check_readme(readme, binary, keep_going=False, keep=False, quiet=False):
    """Runs the README's blocks; returns the list of failures (README line, sentence)."""
    import expect

    with open(readme) as f:
        found = [b for b in blocks(f.read()) if b.lang in ("sh", "bash") or b.file]
    planned = {b.line: commands(b) for b in found if not b.skip and not b.file}
    name = os.path.basename(readme)
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    work = Workspace(binary, keep)
    failures = []
    shell = None
    try:
        work.start_server(binary)
        shell = Shell(work.dir)
        ports = {"127.0.0.1:8080": f"127.0.0.1:{work.port}", "127.0.0.1:8081": f"127.0.0.1:{work.spare}"}

        def here(text):
            for readme_port, port in ports.items():
                text = text.replace(readme_port, port)
            return text

        ran = 0
        for block in found:
            if block.skip:
                say(f"{name}:{block.line}: skipped ({block.skip})")
                continue
            if block.file:
                with open(os.path.join(work.dir, block.file), "w") as f:
                    f.write(here("\n".join(block.lines)) + "\n")
                say(f"{name}:{block.line}: written to {block.file}")
                continue
            for command in planned[block.line]:
                started = time.time()
                rc, output, errors = shell.run(here(command.text))
                shown = here(command.shown) if command.shown is not None else None
                why = expect.check(shown, rc, output, errors)
                ran += 1
                took = time.time() - started
                if why:
                    failures.append((command.line, why))
                    say(f"FAIL {name}:{command.line}: {command.headline()}\n  {why}\n"
                        f"  standard output ({len(output)} chars):\n" + indent(output[:3000])
                        + f"\n  standard error ({len(errors)} chars):\n" + indent(errors[-1500:]))
                    if not keep_going:
                        return failures
                else:
                    say(f"ok   {name}:{command.line}: {command.headline()} ({took:.1f} s)")
        say(f"{ran} commands ran, {len(failures)} failed")
        return failures
    finally:
        if failures and not quiet:
            print("server log (tail):\n" + indent(work.server_log()))
        if shell:
            shell.close()
        work.close()


def indent(text):
    return "\n".join("    " + line for line in text.rstrip().splitlines())


def self_test(binary):
    """The fixture passes; each broken copy of it fails, naming its line."""
    fixture = os.path.join(HERE, "fixture.md")
    with open(fixture) as f:
        text = f.read()
    failures = check_readme(fixture, binary, quiet=True)
    if failures:
        raise SystemExit(f"self-test: the fixture should pass, it failed: {failures}")
    print("self-test: the fixture passes")
    # (what to change, into what, the failure expected, the text on the line it names)
    breaks = [
        ('# -> {"status": "ok"}', '# -> {"status": "down"}',
         "$.status: 'down' was shown, the answer has 'ok'", None),
        ("# -> 404 {", "# -> 200 {", "answered 404, the README shows 200", None),
        ('GREETING=hello', 'GREETING=hello; false', "exited 1", None),
        ("curl -s http://127.0.0.1:8080/readyz\n", "curl -s http://127.0.0.1:8080/api/v1/whoami\n",
         "answered 401, which the README does not show", None),
        ('# -> ["a", ..., "c"]', '# -> ["c", ..., "a"]', "no element after", None),
        ('```json\n{"a": 1', '```json\n{"a": 2', "$.a: 1 was shown, the answer has 2", "jq -c . data.json"),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for old, new, wanted, at in breaks:
            if text.count(old) != 1:
                raise SystemExit(f"self-test: the fixture must hold {old!r} once")
            broken = text.replace(old, new)
            line = text[: text.index(at or old)].count("\n") + 1
            path = os.path.join(tmp, "README.md")
            with open(path, "w") as f:
                f.write(broken)
            failures = check_readme(path, binary, quiet=True)
            if not failures:
                raise SystemExit(f"self-test: {new!r} in place of {old!r} passed")
            got_line, why = failures[0]
            if wanted not in why or abs(got_line - line) > 1:
                raise SystemExit(f"self-test: {new!r}: expected line {line} and {wanted!r}, "
                                 f"got line {got_line}: {why}")
            print(f"self-test: {new.strip()!r} fails at line {got_line}: {why}")
    print("self-test: ok")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binary", help="the reetrace binary to check the README with")
    parser.add_argument("--readme", default=os.path.join(REPO, "README.md"))
    parser.add_argument("--keep-going", action="store_true", help="run on after a failure")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        parser.error(f"{args.binary} is not an executable")
    if args.self_test:
        self_test(args.binary)
        return 0
    failures = check_readme(args.readme, args.binary, args.keep_going, args.keep)
    if failures:
        for line, why in failures:
            print(f"FAIL {os.path.basename(args.readme)}:{line}: {why}")
        return 1
    print("ok")
    return 0


def stop(signum, _frame):
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, stop)
    sys.path.insert(0, HERE)
    sys.exit(main())
