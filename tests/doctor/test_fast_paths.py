"""The fast paths class triage takes through the doctor's report loading (issue 14) give exactly
what the slow paths give: :func:`untrusted.is_plain` only says True when neutralising changes
nothing; the message-free shape check accepts exactly what the full one accepts (and the full
one still names the value); the per-hint converters build the same facts with the same
errors; the memoised version parsing is the plain parsing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import InvalidVersion, Version

from coursekit.doctor import untrusted
from coursekit.doctor.facts import Facts, from_data
from coursekit.doctor.view import as_version, version_tuple
from coursekit.errors import SpecError
from tests.doctor.fixtures import DATA, finding_data, healthy_data

# characters that matter to neutral(): controls, bidi, format, separators, surrogate halves
_ODD = "\x00\x07\x1b\r\n\t\x7f\x85\u061c\u200e\u202e\u2066\u2028\u2029\ufeff\ud83d\U0001f600é\"\\/"
_text = st.text(alphabet=st.characters() | st.sampled_from(list(_ODD)), max_size=40) | st.text(
    min_size=untrusted.MAX_STRING - 2, max_size=untrusted.MAX_STRING + 3, alphabet="ab\"\\\n")
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(_json, st.booleans(), st.sampled_from([None, 1]))
def test_is_plain_only_when_neutralising_changes_nothing(data: Any, ascii_only: bool,
                                                         indent: int | None) -> None:
    try:
        text = json.dumps(data, ensure_ascii=ascii_only, indent=indent)
    except UnicodeEncodeError:
        return
    decoded = json.loads(text)
    if untrusted.is_plain(text):
        assert untrusted.neutralise(decoded) == decoded


def test_is_plain_on_real_reports_and_its_refusals() -> None:
    for path in sorted((DATA / "healthy").glob("*.json")):
        text = json.dumps({"facts": healthy_data(path.stem)}, indent=1)
        assert untrusted.is_plain(text)
        assert untrusted.is_plain(json.dumps({"facts": healthy_data(path.stem)}, ensure_ascii=False))
    for bad in ('"\\u001b[31m"', '"a\\rb"', '"\u202eevil"', '"\\u202e"', '"\\ud83d\\ude00"',
                json.dumps("x" * (untrusted.MAX_STRING + 1)),
                json.dumps("x\\" * (untrusted.MAX_STRING // 2 + 1))):
        assert not untrusted.is_plain(bad), bad
    assert untrusted.is_plain(json.dumps("x" * untrusted.MAX_STRING))
    assert untrusted.is_plain(json.dumps('say "hi"\n\tC:\\Users\\zoë'))
    # a long string cut by escaped quotes is still one string; one made of escaped backslashes
    # is as long as it decodes; a long string anywhere in a longer text is found
    assert not untrusted.is_plain(json.dumps(("a" * 499 + '"') * 6))
    assert not untrusted.is_plain(json.dumps({"a": ["b" * 1500] * 9, "z": "q" * 2001}))
    assert untrusted.is_plain(json.dumps({"a": ["b" * 1500] * 9, "z": "q" * 2000}))
    assert untrusted.is_plain(json.dumps("\\" * untrusted.MAX_STRING))
    assert untrusted.is_plain(json.dumps('\\"' * (untrusted.MAX_STRING // 2)))
    assert not untrusted.is_plain(json.dumps("\\" * (untrusted.MAX_STRING + 1)))
    assert not untrusted.is_plain('"\\\\\\u001b"')  # an escaped backslash, then an escape
    assert untrusted.is_plain('"\\\\u001b"')  # an escaped backslash, then the text "u001b"


_probe_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-2, 2) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["name", "version", "items", "torch", "devices", "capability", "ok",
                         "error", "type", "imports", "numpy", "env", "python", "sys_path",
                         "cuda_op", "packages", "settings", "file", "x"]), inner, max_size=4),
    max_leaves=10,
)


def _probe_shaped(draw_value: Any) -> dict[str, Any]:
    data = finding_data("cuda-op-failed")["probe"]["data"]
    return {**data, "torch": {**data["torch"], "devices": draw_value}}


@settings(max_examples=300, deadline=None)
@given(_probe_values, st.sampled_from(["whole", "torch", "devices"]))
def test_the_fast_shape_check_accepts_exactly_what_the_full_one_accepts(value: Any, where: str) -> None:
    base = finding_data("cuda-op-failed")["probe"]["data"]
    data = (value if where == "whole" else {**base, "torch": value} if where == "torch"
            else _probe_shaped(value))
    try:
        untrusted._check_shape(data, untrusted.PROBE_SHAPE, "p")
        full = None
    except SpecError as exc:
        full = exc.message
    assert untrusted._fits(data, untrusted.PROBE_SHAPE) == (full is None)
    try:
        untrusted.check_shape(data, untrusted.PROBE_SHAPE, "p")
        fast = None
    except SpecError as exc:
        fast = exc.message
    assert fast == full


def _places(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in ``data`` a value sits (dict keys, list indexes), the root included."""
    out = [path]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _places(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _places(v, (*path, i))
    return out


def _replaced(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {**data, head: _replaced(data[head], rest, value)}
    copy = list(data)
    copy[head] = _replaced(data[head], rest, value)
    return copy


_RICH_PROBE = {
    **finding_data("cuda-op-failed")["probe"]["data"],
    "distributions": {"items": [{"name": "torch", "version": "2.13.0", "requested": True,
                                 "mtime": 1.5, "direct_url": {"url": "x"}},
                                {"name": "numpy", "version": "2.1.0"}], "nvidia_wheels": 3},
    "conda_meta": {"present": True, "packages": [{"name": "python", "version": "3.12.1"}]},
    "pip_config": {"files": ["/etc/pip.conf"], "settings": [{"file": "f", "key": "index-url"}],
                   "env": {"PIP_INDEX_URL": "x"}},
}


@settings(max_examples=500, deadline=None)
@given(st.data(), _probe_values | st.sampled_from([None, [], [None], ["a", 1], [True], {}, 2.5]))
def test_the_fast_shape_check_agrees_anywhere_in_a_probe(data: Any, value: Any) -> None:
    """One value replaced anywhere in a full probe (a list of strings, a required name, a free
    "any" value, an object in a list): the fast check says what the full one says."""
    place = data.draw(st.sampled_from(_places(_RICH_PROBE)))
    probe = _replaced(_RICH_PROBE, place, value)
    try:
        untrusted._check_shape(probe, untrusted.PROBE_SHAPE, "p")
        full = True
    except SpecError:
        full = False
    assert untrusted._fits(probe, untrusted.PROBE_SHAPE) == full, (place, value)


def _slow_from_data(cls: Any, data: Any, where: str = "facts") -> Any:
    """The converter as it was before issue 14's fast path (one generic function per value)."""
    from coursekit.doctor import facts as F

    def convert(hint: Any, value: Any, where: str) -> Any:
        optional, inner, kind, item = F._shape(hint)
        if value is None:
            if optional or kind == "any":
                return None
            raise ValueError(f"{where}: missing value")
        if kind in ("any", "other"):
            return value
        if kind == "dataclass":
            return _slow_from_data(inner, value, where)
        if kind == "tuple":
            if not isinstance(value, list):
                raise ValueError(f"{where}: expected a list")
            return tuple(convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))
        if kind == "dict":
            if not isinstance(value, dict):
                raise ValueError(f"{where}: expected an object")
            return dict(value)
        if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, inner):
            raise ValueError(f"{where}: expected {inner.__name__}, got {type(value).__name__}")
        if kind == "int" and isinstance(value, bool):
            raise ValueError(f"{where}: expected int, got bool")
        return value

    if not isinstance(data, dict):
        raise TypeError(f"{where}: expected an object, got {type(data).__name__}")
    kwargs = {}
    for name, hint, required in F._fields(cls):
        if name not in data:
            if required:
                raise ValueError(f"{where}.{name}: missing")
            continue
        kwargs[name] = convert(hint, data[name], f"{where}.{name}")
    return cls(**kwargs)


def _outcome(fn: Any, data: Any) -> Any:
    try:
        return ("ok", fn(Facts, data))
    except (ValueError, TypeError) as exc:
        return (type(exc).__name__, str(exc))


_field_values = st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-1, 1) | st.text(
    max_size=3) | st.lists(st.none() | st.text(max_size=2) | st.integers(0, 2), max_size=3) | st.just({})


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["platform", "gpu", "memory", "disks", "env", "kernels", "checks",
                        "student", "shell", "project"]),
       st.sampled_from(["os", "gpus", "total_mib", "label", "engines", "name", "status", "x",
                        "libcuda", "wsl", "duration_ms", "free_mib", "indexes"]),
       _field_values)
def test_the_converters_build_what_the_generic_conversion_built(section: str, key: str,
                                                                value: Any) -> None:
    data = json.loads(json.dumps(finding_data("wsl-libcuda")))
    target = data.get(section)
    if isinstance(target, dict):
        target[key] = value
    elif isinstance(target, list) and target:
        target[0][key] = value
    else:
        data[section] = value
    assert _outcome(from_data, data) == _outcome(_slow_from_data, data)


@pytest.mark.parametrize("name", sorted(p.stem for p in (DATA / "findings").glob("*.json")))
def test_every_fixture_converts_as_before(name: str) -> None:
    data = finding_data(name)
    assert _outcome(from_data, data) == _outcome(_slow_from_data, data)


@given(st.text(max_size=12) | st.sampled_from(["2.13.0+cu130", " 12.8 ", "580.95.05", "2.6.6rc1",
                                                "1.0.0.dev1", "3.12", "v1", ""]))
def test_memoised_versions_are_the_plain_parse(text: str) -> None:
    try:
        want: Version | None = Version(text.strip())
    except InvalidVersion:
        want = None
    assert as_version(text) == want and as_version(text) == want
    if not text:
        slow: tuple[int, ...] = ()
    elif want is not None:
        slow = want.release
    else:
        parts = []
        for piece in text.split("+")[0].split("."):
            m = re.match(r"\d+", piece)
            if not m:
                break
            parts.append(int(m.group()))
        slow = tuple(parts)
    assert version_tuple(text) == slow and version_tuple(text) == slow


def test_real_report_texts_are_plain() -> None:
    """A report saved by coursekit on a real machine takes the fast path."""
    root = Path(__file__).resolve().parent.parent / "data"
    texts = [p.read_text(encoding="utf-8") for p in sorted((root / "real-reports").glob("*.json"))]
    texts += [(root / "gpu-h200" / "doctor-report-v2.json").read_text(encoding="utf-8")]
    assert sum(untrusted.is_plain(t) for t in texts) >= len(texts) * 0.8


# -- the JSON side (issue 14: class triage --json) ------------------------------------------------


def _slow_jsonable(obj: Any) -> Any:
    """to_jsonable as it was before its fast paths (the reference)."""
    import dataclasses
    import enum
    from collections.abc import Mapping
    from pathlib import PurePath

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _slow_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if not f.name.startswith("_")}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, Mapping):
        return {str(k): _slow_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_slow_jsonable(v) for v in obj]
    return obj


def test_to_jsonable_equals_the_slow_walk_on_every_report_and_odd_values(tmp_path: Path) -> None:
    import enum
    from collections import namedtuple
    from pathlib import PurePosixPath, PureWindowsPath

    from coursekit.doctor.report import report_data
    from coursekit.jsondata import to_jsonable

    class Level(enum.IntEnum):
        LOW = 1

    class Tag(str, enum.Enum):
        A = "a"

    Pair = namedtuple("Pair", "x y")
    odd = [Level.LOW, Tag.A, True, 1.5, None, PureWindowsPath("C:/x"), PurePosixPath("/y"),
           Pair(1, Tag.A), frozenset({2}), (1, (2, [Level.LOW])), {1: Tag.A}]
    assert to_jsonable(odd) == _slow_jsonable(odd)
    assert json.dumps(to_jsonable(odd)) == json.dumps(_slow_jsonable(odd))
    from coursekit.doctor.report import load_report
    from tests.instructor.classgen import write_class

    paths = write_class(tmp_path, 60, 7)  # varied machines, the fixture of every finding
    for path in paths:
        report = load_report(path)
        for obj in (report.facts, report.findings, report_data(report)):
            assert json.dumps(to_jsonable(obj)) == json.dumps(_slow_jsonable(obj))


@settings(max_examples=200, deadline=None)
@given(_json)
def test_the_shared_decoder_reads_as_json_loads(data: Any) -> None:
    text = json.dumps(data)
    assert untrusted.loads(text, "t") == json.loads(text)
    with pytest.raises(SpecError) as ours:
        untrusted.loads("\ufeff" + text, "t")
    assert "BOM" in ours.value.message


def _stack_depth(data: Any) -> int:
    """The depth walk as it was (depth first, a stack): the reference."""
    if not isinstance(data, (dict, list)):
        return 0
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, level = stack.pop()
        if level > deepest:
            deepest = level
            if level > untrusted.MAX_DEPTH:
                return level
        stack += [(v, level + 1) for v in (value.values() if type(value) is dict else value)
                  if type(v) is dict or type(v) is list]
    return deepest


_deep = st.recursive(
    st.none() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner,
                                                                max_size=3),
    max_leaves=80,
)


@settings(max_examples=300, deadline=None)
@given(_deep, st.integers(0, 40))
def test_depth_by_levels_equals_the_stack_walk(data: Any, wrap: int) -> None:
    for _ in range(wrap):  # deep enough to cross MAX_DEPTH
        data = [data] if wrap % 2 else {"k": data}
    assert untrusted._depth(data) == _stack_depth(data)


def _facts_classes() -> list[type]:
    import dataclasses

    from coursekit.doctor import facts as F
    from coursekit.host import GpuInfo, ProbeFacts

    found = [getattr(F, n) for n in F.__all__]
    return [c for c in [*found, GpuInfo, ProbeFacts]
            if isinstance(c, type) and dataclasses.is_dataclass(c)]


@pytest.mark.parametrize("cls", _facts_classes(), ids=lambda c: c.__name__)
def test_a_fact_made_without_its_init_is_the_one_its_init_makes(cls: type) -> None:
    """from_data's maker gives what ``cls(**kwargs)`` gives: equal, the same attributes in the
    same order (what to_data and the JSON writer walk), a fresh value from each default
    factory, and a frozen instance still frozen."""
    import dataclasses

    from coursekit.doctor import facts as F

    make = F._maker(cls)
    assert make.__name__ == "make"  # every facts class takes the fast way on this Python
    fields = dataclasses.fields(cls)
    required = {f.name: f"v-{f.name}" for f in fields
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    for kwargs in (required, {**{f.name: f"w-{f.name}" for f in fields}},
                   dict(reversed(list({**required, fields[-1].name: 7}.items())))):
        fast, slow = make(dict(kwargs)), cls(**kwargs)
        assert fast == slow and type(fast) is cls
        assert list(vars(fast).items()) == list(vars(slow).items())
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(fast, fields[0].name, "changed")
    factories = [f.name for f in fields if f.default_factory is not dataclasses.MISSING]
    for name in factories:
        a, b = make(dict(required)), make(dict(required))
        assert getattr(a, name) == getattr(b, name) and getattr(a, name) is not getattr(b, name)


def test_a_class_with_post_init_or_its_own_init_is_called() -> None:
    import dataclasses

    from coursekit.doctor import facts as F

    @dataclasses.dataclass(frozen=True)
    class Checked:
        n: int

        def __post_init__(self) -> None:
            if self.n < 0:
                raise ValueError("negative")

    @dataclasses.dataclass
    class OwnInit:
        n: int

        def __init__(self, n: int) -> None:
            self.n = n * 2

    with pytest.raises(ValueError, match="negative"):
        F._maker(Checked)({"n": -1})
    assert F._maker(OwnInit)({"n": 2}).n == 4
