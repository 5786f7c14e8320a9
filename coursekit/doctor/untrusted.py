"""Reading a report someone else saved (``doctor --from``): bounded, validated, neutralised.

A report file comes from another machine and may be anything: a FIFO or ``/dev/zero`` (reading
never ends), gigabytes, JSON nested a million deep, a 100 000-digit number, wrong types where the
doctor's rules and its renderer expect others, terminal escape sequences or bidi overrides in a
string that the doctor then prints. Each is a :class:`~coursekit.errors.SpecError` (exit 2)
naming the problem, found in bounded time and memory, before any rule looks at the data; every
string that survives is neutralised so that printing it cannot move the cursor, recolour the
terminal or reorder text.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from coursekit.errors import SpecError
from coursekit.resources import read_capped

MAX_BYTES = 16 * 1024 * 1024
"""A real report is 5-50 kB; 16 MiB leaves room for many notes and still bounds memory."""
MAX_DEPTH = 32
"""A real report nests 7 levels deep (facts.probe.data.torch.devices[0].name)."""
MAX_STRING = 2000
"""Longer strings are cut, with a count of what was cut (a probe's stderr tail is 4000 bytes of
which the last 2000 characters are the useful part, so the tail is kept)."""
MAX_INT_DIGITS = 40

_FIX = (
    "Ask for the report again: `coursekit doctor --json > report.json` on the student's "
    "machine, sent unedited."
)


def read_bounded(path: Path) -> bytes:
    """The bytes of ``path`` (``-``: stdin): a regular file of at most :data:`MAX_BYTES`."""
    return read_capped(
        path,
        MAX_BYTES,
        "Give the report file saved with "
        "`coursekit doctor --json > report.json` on the student's machine.",
    )


def _int(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > MAX_INT_DIGITS:
        raise ValueError(f"a number with {len(digits)} digits")
    return int(text)


def _constant(text: str) -> Any:
    raise ValueError(f"{text} is not a JSON number")


_DECODER = json.JSONDecoder(parse_int=_int, parse_constant=_constant)


def loads(text: str, where: str) -> Any:
    """``json.loads`` with bounded numbers and nesting (a SpecError, never a RecursionError)."""
    try:
        if text.startswith("\ufeff"):  # json.loads' own error for a BOM left in the text
            data = json.loads(text, parse_int=_int, parse_constant=_constant)
        else:  # the same decoder json.loads would make, made once
            data = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        stripped = text.rstrip()
        cut = stripped.startswith("{") and not stripped.endswith("}")
        hint = " (the file looks cut off: was it copied completely?)" if cut else ""
        raise SpecError(
            f"{where}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}{hint}.",
            _FIX,
        ) from exc
    except RecursionError as exc:
        raise SpecError(
            f"{where}: JSON nested too deeply (a report nests {MAX_DEPTH} levels at most).", _FIX
        ) from exc
    except ValueError as exc:
        raise SpecError(f"{where}: not a valid report: {exc}.", _FIX) from exc
    depth = _depth(data)
    if depth > MAX_DEPTH:
        raise SpecError(
            f"{where}: JSON nested {depth} levels deep (a report nests {MAX_DEPTH} at most).", _FIX
        )
    return data


def _depth(data: Any) -> int:
    """How deeply ``data`` nests (a scalar 0), or the first level past :data:`MAX_DEPTH`.

    Level by level: only containers are kept (a report is mostly strings)."""
    if not isinstance(data, (dict, list)):
        return 0
    level, current = 1, [data]
    while True:
        current = [
            v
            for c in current
            for v in (c.values() if type(c) is dict else c)
            if type(v) is dict or type(v) is list
        ]
        if not current:
            return level
        level += 1
        if level > MAX_DEPTH:
            return level


_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def neutral(text: str, limit: int = MAX_STRING) -> str:
    """``text`` safe to print on a terminal: control characters (escape sequences, carriage
    returns, backspaces, bells; newlines and tabs stay, real tracebacks have them), bidi overrides,
    other invisible format characters and lone surrogates shown escaped (``\\x1b``, ``\\u202e``); a
    string longer than ``limit`` cut to its first and last part with a count of what was left
    out."""
    if len(text) > limit:
        head, tail = text[: limit // 2], text[-(limit // 4) :]
        text = f"{head}... [{len(text) - len(head) - len(tail)} characters cut] ...{tail}"
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable() or ch in " \n\t":
            out.append(ch)
        elif (
            ch in _BIDI
            or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")
            or not ch.isprintable()
        ):
            code = ord(ch)
            out.append(
                f"\\x{code:02x}"
                if code < 0x100
                else f"\\u{code:04x}"
                if code < 0x10000
                else f"\\U{code:08x}"
            )
    return "".join(out)


def neutralise(data: Any) -> Any:
    """A copy of decoded JSON ``data`` with every string (keys too) passed through
    :func:`neutral`."""
    kind = type(data)
    if kind is str:
        # the common case inline: a short printable string is returned as it is by neutral()
        return data if len(data) <= MAX_STRING and data.isprintable() else neutral(data)
    if kind is list:
        return [neutralise(v) for v in data]
    if kind is dict:
        return {
            (
                k
                if type(k) is str and len(k) <= MAX_STRING and k.isprintable()
                else neutral(str(k))
            ): neutralise(v)
            for k, v in data.items()
        }
    if isinstance(data, str):
        return neutral(data)
    if isinstance(data, list):
        return [neutralise(v) for v in data]
    if isinstance(data, dict):
        return {neutral(str(k)): neutralise(v) for k, v in data.items()}
    return data


_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_KEPT_ESCAPES = frozenset('"\\/nt')
_LONG_STRING = re.compile(f'"[^"]{{{MAX_STRING + 1}}}')
_BLOCK = MAX_STRING // 2
"""Every run of MAX_STRING - 1 or more characters holds a whole aligned block of this size."""


def is_plain(text: str) -> bool:
    """Whether :func:`neutralise` would leave every string of the JSON ``text`` as it is, told
    from the text alone (then the copy can be skipped; a report from a real machine is plain).

    ``text`` is a JSON text that strict :mod:`json` decoded (:func:`loads`): raw control
    characters then occur only as JSON's whitespace between tokens, never inside a string.
    True only when: every other character of the text is printable (no DEL, no C1 control,
    bidi or format character), its escapes are ``\\" \\\\ \\/ \\n \\t`` or a ``\\uXXXX`` of a
    printable character (newlines and tabs are what :func:`neutral` keeps), and no string is
    longer than :data:`MAX_STRING` (a string's length in the text, escapes counted as written,
    is at least its decoded length). False is always safe: the data is then neutralised in
    full."""
    if text.isascii():
        if "\x7f" in text:
            return False
    elif not text.replace("\n", "").replace("\r", "").replace("\t", "").isprintable():
        return False
    if "\\" in text:
        # Every backslash starts an escape, read left to right as str.replace reads. An escaped
        # backslash or quote becomes one letter (what it decodes to: a string stays at least as
        # long as it is decoded); the other escapes must then all be kept ones.
        text = text.replace("\\\\", "x").replace('\\"', "x")
        escapes = text.count("\\")
        if escapes and escapes != sum(text.count(kept) for kept in _KEPT_PAIRS):
            for escape in set(_ESCAPE.findall(text)):
                if escape in _KEPT_ESCAPES:
                    continue
                if len(escape) == 5 and chr(int(escape[1:], 16)).isprintable():
                    continue
                return False
    return _no_long_string(text)


_KEPT_PAIRS = ("\\/", "\\n", "\\t")
"""The kept escapes left once escaped backslashes and quotes are letters."""


def _no_long_string(text: str) -> bool:
    """No run of more than :data:`MAX_STRING` characters after a quote in ``text``.

    Such a run would hold a whole aligned block of :data:`_BLOCK` characters without a quote,
    so only a text with such a block is searched (a search tries every quote of the text)."""
    if len(text) <= MAX_STRING:
        return True
    for start in range(0, len(text), _BLOCK):
        if text.find('"', start, start + _BLOCK) == -1:
            return _LONG_STRING.search(text) is None
    return True


# The probe's JSON (documented in coursekit/probe.py): what the doctor's rules and renderer read.
# A dict lists the keys it knows (others are allowed and ignored, any may be missing, and a
# section the probe could not collect is {"error": {...}}); [spec] is a list of spec; ("map", spec)
# a dict of any keys; a plain value ("str", "int", "num", "bool") may also be null, a list or an
# object only where ("null", spec) says so (the rules and the renderer iterate over them); a key
# ending in "!" must be present and not null.
_ERROR = {"type": "str", "message": "str", "traceback": "str"}
_IMPORT = {"ok": "bool", "version": "str", "error": ("null", _ERROR)}
PROBE_SHAPE: dict[str, Any] = {
    "probe_schema": "int",
    "python": {
        "executable": "str",
        "version": "str",
        "implementation": "str",
        "bits": "int",
        "machine": "str",
        "platform": "str",
        "mac_ver": "str",
        "prefix": "str",
        "base_prefix": "str",
        "user_site": "str",
        "user_site_enabled": "bool",
        "sys_path": ["str"],
        "error": ("null", _ERROR),
    },
    "distributions": {
        "items": [
            {
                "name": "str",
                "version": "str",
                "location": "str",
                "installer": "str",
                "requested": "bool",
                "direct_url": "any",
                "mtime": "num",
                "in_user_site": "bool",
            }
        ],
        "nvidia_wheels": "int",
        "error": ("null", _ERROR),
    },
    "conda_meta": {
        "present": "bool",
        "history_mtime": "num",
        "packages": [{"name!": "str", "version": "str", "build": "str", "channel": "str"}],
        "error": ("null", _ERROR),
    },
    "pip_config": {
        "files": ["str"],
        "settings": [{"file!": "str", "section": "str", "key": "str", "value": "str"}],
        "env": ("map", "str"),
        "error": ("null", _ERROR),
    },
    "torch": {
        "status": "str",
        "child": "str",
        "stages": ["str"],
        "import_s": "num",
        "version": "str",
        "file": "str",
        "cuda": "str",
        "hip": "str",
        "debug": "bool",
        "arch_list": ["str"],
        "cuda_available": "bool",
        "device_count": "int",
        "devices": [{"index": "int", "name!": "str", "capability": "str"}],
        "cuda_error": "str",
        "cuda_op": ("null", {"ok": "bool", "error": "str"}),
        "mps_built": "bool",
        "mps_available": "bool",
        "numpy_ok": "bool",
        "numpy_error": "str",
        "warnings": ["str"],
        "returncode": "int",
        "stderr": "str",
        "error": ("null", _ERROR),
        "numpy": _IMPORT,
        "torchvision": _IMPORT,
        "torchaudio": _IMPORT,
    },
    "imports": ("map", _IMPORT),
    "env": ("map", "str"),
    "error": ("null", _ERROR),
}

_NAMES = {"str": "a string", "int": "an integer", "num": "a number", "bool": "true or false"}


def check_shape(value: Any, shape: Any, where: str) -> None:
    """Raise SpecError naming the first value whose JSON type is not what ``shape`` says."""
    if not _fits(value, shape):  # the fast check; the slow one names the first bad value
        _check_shape(value, shape, where)


_KINDS: dict[str, Any] = {
    "str": lambda v: type(v) is str or isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "num": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
}


def _fits(value: Any, shape: Any) -> bool:
    """Whether ``value`` has ``shape`` (:func:`_check_shape` without building messages)."""
    return _validator(shape)(value)


_VALIDATORS: dict[int, tuple[Any, Callable[[Any], bool]]] = {}


def _validator(shape: Any) -> Callable[[Any], bool]:
    """``shape`` made into a function once (per shape object, which it keeps alive)."""
    known = _VALIDATORS.get(id(shape))
    if known is None or known[0] is not shape:
        known = (shape, _compile(shape))
        _VALIDATORS[id(shape)] = known
    return known[1]


def _compile(shape: Any) -> Callable[[Any], bool]:
    if shape == "any":
        return lambda value: True
    if isinstance(shape, str):
        kind = _KINDS[shape]
        return lambda value: value is None or bool(kind(value))
    if isinstance(shape, tuple) and shape[0] == "null":
        inner = _compile(shape[1])
        return lambda value: value is None or inner(value)
    if isinstance(shape, list):
        item = _compile(shape[0])
        exact = (
            _EXACT.get(shape[0], frozenset()) - {type(None)} if isinstance(shape[0], str) else None
        )

        def fits_list(value: Any) -> bool:
            if not isinstance(value, list):
                return False
            if exact is not None and set(map(type, value)) <= exact:
                return True  # plain values of the right JSON types (and no null)
            if exact is None and isinstance(shape[0], dict):
                return all(map(item, value))  # an object's check refuses a null itself
            return all(x is not None and item(x) for x in value)

        return fits_list
    if isinstance(shape, tuple):  # ("map", spec)
        entry = _compile(shape[1])
        return lambda value: isinstance(value, dict) and all(entry(x) for x in value.values())
    # (key, required, check, the types a value passes with at once: a plain value's exact JSON
    # type, so the common case costs no call)
    fields = tuple(
        (
            key.removesuffix("!"),
            key.endswith("!"),
            _compile(sub),
            (_EXACT.get(sub, frozenset()) if isinstance(sub, str) else frozenset())
            - ({type(None)} if key.endswith("!") else set()),
        )
        for key, sub in shape.items()
    )

    def fits(value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        for key, required, check, exact in fields:
            if key in value:
                item = value[key]
                if type(item) in exact:
                    continue
                if (item is None and required) or not check(item):
                    return False
            elif required:
                return False
        return True

    return fits


_EXACT: dict[str, frozenset[type]] = {
    "str": frozenset({str}),
    "int": frozenset({int}),
    "num": frozenset({int, float}),
    "bool": frozenset({bool}),
    "any": frozenset({str, int, float, bool, dict, list, type(None)}),
}
"""The JSON types a value of a plain kind has when it fits (what ``_KINDS`` says, without the
call; ``bool`` is not an ``int`` here, as there)."""


def _check_shape(value: Any, shape: Any, where: str) -> None:
    if shape == "any" or (value is None and isinstance(shape, str)):
        return
    if isinstance(shape, tuple) and shape[0] == "null":
        if value is not None:
            _check_shape(value, shape[1], where)
        return
    if value is None:
        kind = "a list" if isinstance(shape, list) else "an object"
        raise SpecError(f"{where}: expected {kind}, found null.", _FIX)
    if isinstance(shape, str):
        ok = {
            "str": isinstance(value, str),
            "bool": isinstance(value, bool),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "num": isinstance(value, (int, float)) and not isinstance(value, bool),
        }[shape]
        if not ok:
            raise SpecError(
                f"{where}: expected {_NAMES[shape]} or null, found {_json_type(value)}.", _FIX
            )
        return
    if isinstance(shape, list):
        if not isinstance(value, list):
            raise SpecError(f"{where}: expected a list, found {_json_type(value)}.", _FIX)
        for i, item in enumerate(value):
            if item is None:  # a list holds values, never nulls
                raise SpecError(f"{where}[{i}]: expected a value, found null.", _FIX)
            _check_shape(item, shape[0], f"{where}[{i}]")
        return
    if not isinstance(value, dict):
        raise SpecError(f"{where}: expected an object, found {_json_type(value)}.", _FIX)
    if isinstance(shape, tuple):  # ("map", spec)
        for key, item in value.items():
            _check_shape(item, shape[1], f"{where}.{key}")
        return
    for key, sub in shape.items():
        if key.endswith("!"):  # required, and never null: the doctor indexes it directly
            key = key[:-1]
            if value.get(key) is None:
                raise SpecError(f"{where}.{key}: missing.", _FIX)
        if key in value:
            _check_shape(value[key], sub, f"{where}.{key}")


def _json_type(value: Any) -> str:
    return {
        bool: "true/false",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)
