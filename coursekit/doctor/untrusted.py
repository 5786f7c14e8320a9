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
import unicodedata
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


def loads(text: str, where: str) -> Any:
    """``json.loads`` with bounded numbers and nesting (a SpecError, never a RecursionError)."""
    try:
        data = json.loads(text, parse_int=_int, parse_constant=_constant)
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
    deepest = 0
    stack = [(data, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, level)
            if level > MAX_DEPTH:
                return level
            stack += [
                (v, level + 1) for v in (value.values() if isinstance(value, dict) else value)
            ]
    return deepest


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
    if isinstance(data, str):
        return neutral(data)
    if isinstance(data, list):
        return [neutralise(v) for v in data]
    if isinstance(data, dict):
        return {neutral(str(k)): neutralise(v) for k, v in data.items()}
    return data


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
    if shape == "any" or (value is None and isinstance(shape, str)):
        return
    if isinstance(shape, tuple) and shape[0] == "null":
        if value is not None:
            check_shape(value, shape[1], where)
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
            check_shape(item, shape[0], f"{where}[{i}]")
        return
    if not isinstance(value, dict):
        raise SpecError(f"{where}: expected an object, found {_json_type(value)}.", _FIX)
    if isinstance(shape, tuple):  # ("map", spec)
        for key, item in value.items():
            check_shape(item, shape[1], f"{where}.{key}")
        return
    for key, sub in shape.items():
        if key.endswith("!"):  # required, and never null: the doctor indexes it directly
            key = key[:-1]
            if value.get(key) is None:
                raise SpecError(f"{where}.{key}: missing.", _FIX)
        if key in value:
            check_shape(value[key], sub, f"{where}.{key}")


def _json_type(value: Any) -> str:
    return {
        bool: "true/false",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)
