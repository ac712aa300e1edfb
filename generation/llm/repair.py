"""Recover a JSON value from what a small language model actually wrote.

Small models wrap JSON in code fences and prose, stop mid-object when they run out of tokens,
use Python quoting and leave trailing commas. ``repair_json`` fixes those in one linear pass over
at most ``MAX_INPUT_CHARS`` characters and never raises.
"""

from __future__ import annotations

import json
import re

MAX_INPUT_CHARS = 20_000
# Model output is never this deep; the cap keeps the safe-point copies below cheap.
MAX_DEPTH = 64
_LITERALS = {
    "true": "true",
    "false": "false",
    "null": "null",
    "True": "true",
    "False": "false",
    "None": "null",
}
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
_CLOSER = {"{": "}", "[": "]"}


def repair_json(text) -> tuple[object | None, bool]:
    """Return (value, repaired): repaired is False only when ``text`` was valid JSON as given."""
    try:
        return _repair(text)
    except (ValueError, RecursionError, TypeError, MemoryError):
        return None, False


def _repair(text) -> tuple[object | None, bool]:
    if not isinstance(text, str):
        return None, False
    text = text[:MAX_INPUT_CHARS]
    strict = _loads(text.strip())
    if strict is not _MISSING:
        return strict, False
    body = _unfence(text)
    for start in _starts(body):
        value = _decode_prefix(body, start)
        if value is _MISSING:
            value = _rebuild(body[start:])
        if value is not _MISSING:
            return value, True
    return None, False


class _Missing:
    pass


_MISSING = _Missing()


def _loads(text: str):
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return _MISSING


def _unfence(text: str) -> str:
    """The body of the first ``` fence (to the end if it was never closed), else the text."""
    opening = text.find("```")
    if opening < 0:
        return text
    body_start = text.find("\n", opening)
    if body_start < 0:
        # "```json{...}" on one line: skip the language tag by hand.
        body_start = opening + 3
        while body_start < len(text) and text[body_start].isalpha():
            body_start += 1
    closing = text.find("```", body_start)
    return text[body_start : closing if closing >= 0 else len(text)]


def _starts(text: str) -> list[int]:
    found = [i for i in (text.find("{"), text.find("[")) if i >= 0]
    return sorted(found)


def _decode_prefix(text: str, start: int):
    """A complete JSON value at ``start`` followed by prose is fine as it is."""
    try:
        value, _ = json.JSONDecoder().raw_decode(text, start)
        return value
    except (ValueError, RecursionError):
        return _MISSING


def _rebuild(text: str):
    """Rewrite ``text`` as JSON, closing what was left open; if that fails, cut back."""
    rewriter = _Rewriter(text)
    rewriter.run()
    for candidate in rewriter.candidates():
        value = _loads(candidate)
        if value is not _MISSING:
            return value
    return _MISSING


class _Rewriter:
    """Single pass: requote strings, fix literals, drop trailing commas, track open brackets.

    Safe points (just before a comma) let a truncated value be cut off entirely.
    """

    def __init__(self, text: str):
        self.text = text
        self.out: list[str] = []
        self.stack: list[str] = []
        self.quote: str | None = None
        self.safe_points: list[tuple[int, tuple[str, ...]]] = []
        self.done = False

    def run(self) -> None:
        i = 0
        while i < len(self.text) and not self.done:
            i = self._in_string(i) if self.quote else self._outside(i)

    def candidates(self) -> list[str]:
        """Everything closed as is, then cut at the last safe points (a value truncated at the
        end), then at the first ones, latest first (a model that derailed into a loop)."""
        found = [self._closed(len(self.out), tuple(self.stack), self.quote is not None)]
        points = self.safe_points
        chosen = points[-3:][::-1] + [p for p in points[:8][::-1] if p not in points[-3:]]
        found.extend(self._closed(cut, stack, False) for cut, stack in chosen)
        return found

    def _closed(self, cut: int, stack: tuple[str, ...], open_string: bool) -> str:
        pieces = self.out[:cut] + (['"'] if open_string else [])
        while pieces and pieces[-1] in (",", ":"):
            if pieces.pop() == ":":
                pieces.append(":null")
                break
        return "".join(pieces) + "".join(reversed(stack))

    def _in_string(self, i: int) -> int:
        char = self.text[i]
        if char == "\\":
            return self._escape(i)
        if char == self.quote:
            self.out.append('"')
            self.quote = None
        elif char == '"':
            self.out.append('\\"')
        elif char < " ":
            self.out.append("\\n" if char == "\n" else " ")
        else:
            self.out.append(char)
        return i + 1

    def _escape(self, i: int) -> int:
        following = self.text[i + 1 : i + 2]
        if following == "'":
            self.out.append("'")
        elif following and following in '"\\/bfnrtu':
            self.out.append("\\" + following)
        else:
            self.out.append("\\\\")
            return i + 1
        return i + 2

    def _outside(self, i: int) -> int:
        char = self.text[i]
        if char in "\"'":
            self.quote = char
            self.out.append('"')
        elif char in "{[":
            return self._open(i, char)
        elif char in "}]":
            self._close(char)
        elif char == ",":
            self._comma()
        elif char == ":":
            self.out.append(":")
        elif char == "-" or char.isdigit():
            return self._number(i)
        elif char.isalpha() or char == "_":
            return self._word(i)
        return i + 1

    def _open(self, i: int, char: str) -> int:
        if len(self.stack) >= MAX_DEPTH:
            raise ValueError("too deep")
        self.stack.append(_CLOSER[char])
        self.out.append(char)
        return i + 1

    def _close(self, char: str) -> None:
        if not self.stack or self.stack[-1] != char:
            return  # a stray closer in prose; ignore it
        while self.out and self.out[-1] == ",":
            self.out.pop()
        self.out.append(self.stack.pop())
        # The outermost value is complete: whatever follows is prose.
        self.done = not self.stack

    def _comma(self) -> None:
        if self.out and self.out[-1] not in ",[{:":
            self.safe_points.append((len(self.out), tuple(self.stack)))
            self.out.append(",")

    def _number(self, i: int) -> int:
        match = _NUMBER.match(self.text, i)
        if not match:
            return i + 1
        self.out.append(match.group(0))
        return match.end()

    def _word(self, i: int) -> int:
        end = i
        while end < len(self.text) and (self.text[end].isalnum() or self.text[end] in "_-"):
            end += 1
        word = self.text[i:end]
        # Bare words: Python literals, unquoted keys, or unquoted short string values.
        self.out.append(_LITERALS.get(word) or json.dumps(word))
        return end
