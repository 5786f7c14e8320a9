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
