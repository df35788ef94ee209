"""The shown outputs of the README (`# -> ...`) and how an actual output is held against one.

The conventions are in run.py's docstring. `check(shown, rc, output)` returns None when the
output is what the README shows, else a sentence saying what differed.
"""

import json
import re


class Any:
    """`...` in a shown JSON value: any value here, or more members or elements."""

    def __repr__(self):
        return "..."


ANY = Any()


class Shown:
    def __init__(self, text):
        self.exit = 0
        self.status = None
        self.json = None
        self.text = None
        rest = text.strip()
        m = re.match(r"exit (\d+)\b\s*", rest)
        if m:
            self.exit, rest = int(m.group(1)), rest[m.end():]
        m = re.match(r"(\d{3})(?:\s+|$)", rest)
        if m:
            self.status, rest = int(m.group(1)), rest[m.end():]
        rest = rest.strip()
        if rest in ("", "..."):
            pass
        elif rest[0] in "{[":
            value, end = Parser(rest).document()
            self.json = value
            if rest[end:].strip():
                raise ValueError(f"text after the shown JSON: {rest[end:].strip()[:60]!r}")
        else:
            self.text = rest.splitlines()


class Parser:
    """JSON with `...` (as a value, a member or an element), as the README writes it."""

    def __init__(self, text):
        self.s, self.i = text, 0

    def document(self):
        value = self.value()
        return value, self.i

    def ws(self):
        while self.i < len(self.s) and self.s[self.i] in " \t\r\n":
            self.i += 1

    def error(self, what):
        raise ValueError(f"shown JSON: {what} at {self.s[self.i:self.i + 30]!r}")

    def value(self):
        self.ws()
        s, i = self.s, self.i
        if s.startswith("...", i):
            self.i += 3
            return ANY
        if i >= len(s):
            self.error("value expected")
        if s[i] == "{":
            return self.obj()
        if s[i] == "[":
            return self.arr()
        if s[i] == '"':
            value, end = json.JSONDecoder().raw_decode(s, i)
            self.i = end
            return value
        m = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null").match(s, i)
        if not m:
            self.error("value expected")
        self.i = m.end()
        return json.loads(m.group(0))

    def obj(self):
        self.i += 1
        out = {}
        while True:
            self.ws()
            if self.s.startswith("}", self.i):
                self.i += 1
                return out
            if self.s.startswith("...", self.i):
                self.i += 3
            else:
                key = self.value()
                if not isinstance(key, str):
                    self.error("member name expected")
                self.ws()
                if not self.s.startswith(":", self.i):
                    self.error("':' expected")
                self.i += 1
                out[key] = self.value()
            self.ws()
            if self.s.startswith(",", self.i):
                self.i += 1
            elif not self.s.startswith("}", self.i):
                self.error("',' or '}' expected")

    def arr(self):
        self.i += 1
        out = []
        while True:
            self.ws()
            if self.s.startswith("]", self.i):
                self.i += 1
                return out
            out.append(self.value())
            self.ws()
            if self.s.startswith(",", self.i):
                self.i += 1
            elif not self.s.startswith("]", self.i):
                self.error("',' or ']' expected")


def glob(pattern, text):
    parts = [re.escape(p) for p in pattern.split("...")]
    return re.fullmatch(".*".join(parts), text, re.DOTALL) is not None


def match(shown, actual, path="$"):
    """None when `actual` holds what `shown` shows, else where and how it differs."""
    if shown is ANY:
        return None
    if isinstance(shown, dict):
        if not isinstance(actual, dict):
            return f"{path}: an object was shown, the answer has {brief(actual)}"
        for key, value in shown.items():
            if key not in actual:
                return f"{path}: no member {key!r} (it has {', '.join(map(repr, actual)) or 'none'})"
            why = match(value, actual[key], f"{path}.{key}")
            if why:
                return why
        return None
    if isinstance(shown, list):
        if not isinstance(actual, list):
            return f"{path}: an array was shown, the answer has {brief(actual)}"
        wanted = [v for v in shown if v is not ANY]
        if len(wanted) == len(shown):
            if len(actual) != len(shown):
                return f"{path}: {len(shown)} elements shown, the answer has {len(actual)}"
            for n, (s, a) in enumerate(zip(shown, actual)):
                why = match(s, a, f"{path}[{n}]")
                if why:
                    return why
            return None
        at = 0
        for n, s in enumerate(wanted):
            while at < len(actual) and match(s, actual[at]) is not None:
                at += 1
            if at == len(actual):
                return f"{path}: no element after the ones matched so far matches {brief(s)}"
            at += 1
        return None
    if isinstance(shown, str):
        if not isinstance(actual, str):
            return f"{path}: {shown!r} was shown, the answer has {brief(actual)}"
        ok = glob(shown, actual) if "..." in shown else shown == actual
        return None if ok else f"{path}: {shown!r} was shown, the answer has {actual!r}"
    if isinstance(shown, bool) or shown is None or isinstance(actual, bool) or actual is None:
        same = shown is actual
    else:
        same = isinstance(actual, (int, float)) and shown == actual
    return None if same else f"{path}: {brief(shown)} was shown, the answer has {brief(actual)}"


def brief(value):
    text = json.dumps(value, default=repr) if value is not ANY else "..."
    return text if len(text) <= 80 else text[:77] + "..."


def split_http(output):
    """(status, body) of `curl -i` output: the last response's status line and what follows
    its headers; (None, output) when the output has no status line."""
    status, body = None, output
    while True:
        m = re.match(r"HTTP/[\d.]+ (\d{3})", body)
        if not m:
            return status, body
        status = int(m.group(1))
        parts = re.split(r"\r?\n\r?\n", body, maxsplit=1)
        body = parts[1] if len(parts) == 2 else ""


def problem(body):
    """The status of the first problem+json among the JSON values of a body, or None."""
    decoder, at, text = json.JSONDecoder(), 0, body.strip()
    while at < len(text):
        try:
            value, at = decoder.raw_decode(text, at)
        except ValueError:
            return None
        if isinstance(value, dict) and isinstance(value.get("status"), int) \
                and value["status"] >= 400 and "code" in value:
            return value["status"]
        while at < len(text) and text[at] in " \t\r\n":
            at += 1
    return None


def check(text, rc, output, errors=""):
    """None when the command's exit status and output (standard output; standard error for
    text lines) are what the README shows."""
    status, body = split_http(output)
    failed = status if status is not None and status >= 400 else problem(body)
    if text is None:
        if rc != 0:
            return f"exited {rc}"
        if failed:
            return f"answered {failed}, which the README does not show"
        return None
    try:
        shown = Shown(text)
    except ValueError as e:
        return f"cannot read the shown output: {e}"
    if rc != shown.exit:
        return f"exited {rc}, the README shows exit {shown.exit}"
    if shown.status is not None:
        if status is None:
            return f"the README shows status {shown.status}, the output has no status line (use curl -i)"
        if status != shown.status:
            return f"answered {status}, the README shows {shown.status}"
    elif failed and shown.json is None and shown.text is None:
        return f"answered {failed}, which the README does not show"
    if shown.json is not None:
        try:
            actual = json.loads(body)
        except ValueError:
            return f"the README shows JSON, the output is not JSON: {body[:200]!r}"
        return match(shown.json, actual)
    if shown.text is not None:
        lines = [line.rstrip("\r") for line in (output + "\n" + errors).splitlines()]
        at = 0
        for want in shown.text:
            while at < len(lines) and not glob(want, lines[at].rstrip()):
                at += 1
            if at == len(lines):
                return f"no line of the output matches {want!r}"
            at += 1
    return None
