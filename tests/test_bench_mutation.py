"""bench/mutation.py tells message-only mutants (wording) from behaviour mutants."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location("bench_mutation", Path(__file__).parent.parent / "bench" / "mutation.py")
assert _SPEC and _SPEC.loader
mutation = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(mutation)


def test_a_changed_message_is_message_only() -> None:
    diff = '--- a\n+++ b\n-    raise UsageError(f"bad {x}", "fix it")\n+    raise UsageError(f"XXbad {x}XX", "fix it")\n'
    assert mutation.message_only(diff)


def test_a_changed_operator_or_constant_is_behaviour() -> None:
    assert not mutation.message_only('-    if a < b:\n+    if a <= b:\n')
    assert not mutation.message_only('-    return 64.0 * 64\n+    return 65.0 * 64\n')
    assert not mutation.message_only('-    x = f(a, "k")\n+    x = f(a, None)\n')
    assert not mutation.message_only('-    key = "linux"\n')  # a dropped line


def test_every_listed_module_exists() -> None:
    for name, (module, tests) in mutation.MODULES.items():
        assert (mutation.ROOT / mutation._locate(module)).is_file(), name
        assert all((mutation.ROOT / t).is_file() for t in tests), name


def test_a_changed_key_string_is_behaviour() -> None:
    assert not mutation.message_only('-    if p.os == "linux":\n+    if p.os == "XXlinuxXX":\n')
    assert not mutation.message_only('-    return "cu130"\n+    return "CU130"\n')


def test_listed_equivalents_leave_the_score_and_stale_ones_are_named() -> None:
    states = {"m1": "killed", "m2": "killed", "m3": "killed", "s1": "survived", "s2": "survived",
              "s3": "survived", "t": "timeout"}
    row, behaviour = mutation.score(states, {"s3"}, {})
    assert behaviour == ["s1", "s2"] and row["score"] == 60.0 and row["message_only"] == 1
    assert row["equivalent"] == 0 and row["timeouts"] == 1 and row["mutants"] == 7
    row, behaviour = mutation.score(states, {"s3"}, {"s1": "same value", "m1": "was equivalent", "gone": "x"})
    assert behaviour == ["s2"] and row["score"] == 75.0 and row["equivalent"] == 1 and row["survived"] == 1
    assert row["stale"] == ["gone", "m1"]  # listed but no longer surviving: the list must be pruned
    assert mutation.score({}, set(), {})[0]["score"] is None


def test_equivalents_file_needs_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "eq.toml"
    path.write_text('matrix = [{mutant = "a.b__mutmut_1", why = "max of equal keys"}]\n')
    assert mutation.load_equivalents(path) == {"matrix": {"a.b__mutmut_1": "max of equal keys"}}
    path.write_text('matrix = [{mutant = "a.b__mutmut_1", why = " "}]\n')
    import pytest
    with pytest.raises(ValueError, match="needs mutant and why"):
        mutation.load_equivalents(path)
    path.write_text('nosuch = [{mutant = "x", why = "y"}]\n')
    with pytest.raises(ValueError, match="unknown module"):
        mutation.load_equivalents(path)
    assert mutation.load_equivalents(tmp_path / "none.toml") == {}
    assert all(why for rows in mutation.load_equivalents().values() for why in rows.values())


def test_a_message_in_a_multi_line_call_is_message_only() -> None:
    opened = ('-        raise SpecError("matrix.toml: ignore must be a list of names.",\n'
              '+        raise SpecError("XXmatrix.toml: ignore must be a list of names.XX",\n')
    closed = ('-            f"CUDA {v.cuda} in drivers.toml.", "Add the row with its source.")\n'
              '+            f"CUDA {v.cuda} in drivers.toml.", "XXAdd the row with its source.XX")\n')
    assert mutation.message_only(opened) and mutation.message_only(closed)
    # ... but a changed call or argument in such a line stays behaviour
    assert not mutation.message_only('-        raise SpecError("a b c.",\n+        raise SpecError(None,\n')
    assert not mutation.message_only('-            "Add the row.", fix)\n+            "Add the row.", None)\n')
    assert not mutation.message_only('-    x = ("a b",\n+    x = ("a b", \n+    y\n')
