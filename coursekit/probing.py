"""Run :mod:`coursekit.probe` with the env's own Python and turn its output into facts.

The probe is a file run by path (never imported into coursekit's process) through
the subprocess door :func:`coursekit.proc.run_tool`, with a time limit that kills
the whole process tree. A probe that cannot start, hangs, crashes or prints
garbage is a fact (:attr:`ProbeFacts.status`), never an exception.

Core, not a wing: ``coursekit doctor`` and setup's verify step both run the probe through it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from coursekit.host import ProbeFacts
from coursekit.proc import Runner, run_tool

__all__ = ["DEFAULT_TIMEOUT_S", "PROBE_PATH", "ProbeFacts", "run_probe"]

PROBE_PATH = Path(__file__).resolve().parent / "probe.py"
DEFAULT_TIMEOUT_S = 150.0
"""Whole-probe limit. A cold ``import torch`` of a CUDA build on a Windows laptop with
antivirus scanning the DLLs can take tens of seconds; the torch child gets 30 s less."""


def _last_json_object(text: str) -> dict[str, Any] | None:
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None


def run_probe(
    python: Path,
    runner: Runner = run_tool,
    timeout: float = DEFAULT_TIMEOUT_S,
    env: Mapping[str, str] | None = None,
) -> ProbeFacts:
    """Run the probe with ``python`` (the env's interpreter) and return its facts.

    ``env``: the child's environment (default: this process's). The probe's own
    torch child gets ``timeout - 30`` seconds (at least half), so a hanging
    ``import torch`` or CUDA call is reported by the probe itself with the stages
    that finished, and this outer limit only catches a probe that hangs elsewhere.
    """
    child_timeout = max(timeout - 30.0, timeout / 2)
    child_env = dict(os.environ if env is None else env)
    child_env["PYTHONIOENCODING"] = "utf-8"
    child_env.pop("PYTHONHOME", None)  # coursekit's own Python settings must not leak in
    argv = [str(python), str(PROBE_PATH), "--timeout", f"{child_timeout:g}"]
    result = runner(argv, timeout=timeout, env=child_env)
    stderr = (result.stderr or "")[-4000:]
    common = {
        "python": str(python),
        "returncode": result.returncode,
        "stderr": stderr,
        "duration_s": round(result.duration_s, 3),
    }
    if not result.found:
        return ProbeFacts(status="not-found", **common)  # type: ignore[arg-type]
    if result.timed_out:
        return ProbeFacts(status="timeout", **common)  # type: ignore[arg-type]
    data = _last_json_object(result.stdout or "")
    if data is None:
        status = "bad-output" if result.returncode == 0 else "crashed"
        return ProbeFacts(status=status, **common)  # type: ignore[arg-type]
    return ProbeFacts(status="ok", data=data, **common)  # type: ignore[arg-type]
