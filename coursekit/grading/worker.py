"""The grading worker: runs one lab's grader in the course env's Python.

Started by :mod:`coursekit.grading.sandbox` as ``python -I -B -c BOOT RUNTIME`` with
a private copy of ``coursekit/grading`` on ``sys.path`` (the course env does not have
coursekit installed, and must not see the tool's own site-packages). Stdlib-only
until it imports torch.

Its configuration (including a per-run random key) arrives on stdin, which is then
closed, so it is in neither argv nor the environment that student code can read.
Results go to a private events file, one JSON line per event, each signed with
HMAC-SHA256 under that key: student code can read the file, print to stdout, call
``sys.exit``/``os._exit`` or patch the grader, but it cannot forge a signed
"passed". The parent also trusts only the checks it found by parsing the grader
itself (names and points), so a missing or extra result is noticed.

Threat model: this stops accidents and casual tampering (a stray ``sys.exit``, a
monkey-patched ``torch.nn.init``), not a determined student on their own machine,
who could read the key out of this process's memory.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import types
from pathlib import Path
from typing import Any

_MEMORY_WORDS = ("can't allocate memory", "MemoryError", "not enough memory", "out of memory")


class _Emitter:
    """Writes signed events; holds its own references so later patches cannot reach them."""

    def __init__(self, path: str, key: bytes):
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        self._key = key
        self._write, self._dumps, self._new = os.write, json.dumps, hmac.new
        self._sha = hashlib.sha256

    def __call__(self, event: dict[str, Any]) -> None:
        payload = self._dumps(event, sort_keys=True)
        mac = self._new(self._key, payload.encode(), self._sha).hexdigest()
        self._write(self._fd, (self._dumps({"p": payload, "m": mac}) + "\n").encode())


def _vm_bytes() -> int | None:
    """This process's virtual size (Linux /proc), or None where unknown."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def _cap_memory(memory_mb: int) -> str:
    """RLIMIT_AS = what is mapped now (Python + torch) + the lab's cap; POSIX only.

    On Windows (no ``resource``) and macOS (which ignores RLIMIT_AS) the parent's
    RSS polling is the only limit.
    """
    try:
        import resource
    except ImportError:
        return "none (parent polls RSS)"
    base = _vm_bytes()
    if base is None:
        return "none (parent polls RSS)"
    limit = base + memory_mb * 1024 * 1024
    try:
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError) as exc:
        return f"none ({exc})"
    return f"RLIMIT_AS {limit // (1024 * 1024)} MB"


def _snapshot(namespaces: list[tuple[str, Any]]) -> list[tuple[str, Any, dict[str, Any]]]:
    """Identity snapshot of the namespaces a student could patch to fake a measurement."""
    return [(name, obj, dict(vars(obj))) for name, obj in namespaces]


def _tampered(snap: list[tuple[str, Any, dict[str, Any]]]) -> list[str]:
    """Names rebound since the snapshot; on classes also names added (they shadow a base
    class's method, e.g. ``torch.Tensor.__add__`` over ``TensorBase``). New names on modules
    are normal: a submodule imported later registers itself on its package."""
    changed = []
    for name, obj, before in snap:
        now = vars(obj)
        for key, value in before.items():
            if key not in _VOLATILE and now.get(key, _MISSING) is not value:
                changed.append(f"{name}.{key}")
        if isinstance(obj, type):
            changed += [
                f"{name}.{key}" for key in now if key not in before and key not in _VOLATILE
            ]
    return changed


_MISSING = object()
# Attributes Python itself may rebind while grading (lazy submodules register on import).
_VOLATILE = frozenset({"__warningregistry__", "__annotations__"})


def _guarded_namespaces(api: types.ModuleType, grader: types.ModuleType) -> list[tuple[str, Any]]:
    import builtins
    import math

    import torch
    import torch.nn.functional

    return [
        ("torch", torch),
        ("torch.nn", torch.nn),
        ("torch.nn.functional", torch.nn.functional),
        ("torch.nn.init", torch.nn.init),
        ("torch.autograd", torch.autograd),
        ("torch.Tensor", torch.Tensor),
        ("torch.nn.Module", torch.nn.Module),
        ("torch.nn.Linear", torch.nn.Linear),
        ("builtins", builtins),
        ("math", math),
        ("coursekit.grading.api", api),
        ("the grader", grader),
        ("json", json),
        ("hmac", hmac),
        ("os", os),
    ]


def _setup_torch(threads: int) -> dict[str, Any]:
    import torch

    # Denormals make vanishing-gradient nets ~10x slower on CPU (envs/SOURCES.md C-10).
    torch.set_flush_denormal(True)
    # A fixed thread count keeps reductions, and so the measured numbers, reproducible.
    torch.set_num_threads(threads)
    return {
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "executable": sys.executable,
    }


def _annotate(message: str, memory_mb: int) -> str:
    if any(word in message for word in _MEMORY_WORDS):
        return (
            f"{message} -- this went over the lab's memory cap of {memory_mb} MB: "
            "does something allocate without bound?"
        )
    return message


def _run(cfg: dict[str, Any], emit: _Emitter) -> None:
    from coursekit.grading import api

    try:
        info = _setup_torch(int(cfg.get("threads", 1)))
    except BaseException as exc:  # noqa: BLE001 - any failure here is the environment's
        emit(
            {
                "e": "fatal",
                "kind": "env",
                "message": f"torch could not be imported: {type(exc).__name__}: {exc}",
            }
        )
        return
    info["memory_limit"] = _cap_memory(int(cfg["memory_mb"]))
    emit({"e": "ready", **info})
    try:
        grader = api.load_grader(Path(cfg["grader"]))
        specs = api.collect_checks(grader)
    except api.GraderError as exc:
        emit({"e": "fatal", "kind": "grader", "message": str(exc)})
        return
    emit({"e": "loaded", "checks": [s.name for s in specs]})
    ctx = api.LabContext(
        student_dir=Path(cfg["student_dir"]),
        figures_dir=Path(cfg["figures_dir"]),
        seeds=tuple(cfg.get("seeds", api.DEFAULT_SEEDS)),
        report=lambda msg: emit({"e": "report", "message": str(msg)[:500]}),
    )
    snap = _snapshot(_guarded_namespaces(api, grader))
    run_check, tampered_names = api.run_check, None
    skip = set(cfg.get("skip", ()))  # already graded by an earlier worker of this run
    for spec in specs:
        if spec.name in skip:
            continue
        emit({"e": "begin", "name": spec.name})
        if tampered_names is None:
            result = run_check(spec, ctx)
            changed = _tampered(snap)
            if changed:
                tampered_names = ", ".join(changed[:5])
        if tampered_names is not None:
            emit(
                {
                    "e": "result",
                    "name": spec.name,
                    "passed": False,
                    "error": False,
                    "message": f"your code replaced {tampered_names} (monkey-patching); measurements "
                    "made after that cannot be trusted. Remove the patch.",
                    "duration_s": 0.0,
                }
            )
            continue
        emit(
            {
                "e": "result",
                "name": result.name,
                "passed": result.passed,
                "error": result.error,
                "message": _annotate(result.message, int(cfg["memory_mb"]))[:4000],
                "duration_s": round(result.duration_s, 3),
            }
        )
    emit({"e": "done"})


def main() -> None:
    """Entry point: read the config from stdin, grade, and leave with ``os._exit``."""
    cfg = json.loads(sys.stdin.readline())
    sys.stdin.close()
    key = bytes.fromhex(cfg.pop("key"))
    emit = _Emitter(cfg["events"], key)
    del key
    exit_now = os._exit  # captured: student code may replace os._exit or sys.exit
    try:
        _run(cfg, emit)
    except BaseException as exc:  # noqa: BLE001 - reported, never swallowed silently
        try:
            emit({"e": "fatal", "kind": "worker", "message": f"{type(exc).__name__}: {exc}"})
        except BaseException:  # noqa: BLE001, S110 - the events file is gone: nothing left to tell
            pass
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001, S110 - a student may have closed them; harmless
        pass
    # os._exit: student threads or atexit handlers must not keep the process alive.
    exit_now(0)


if __name__ == "__main__":
    main()
