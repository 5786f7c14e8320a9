"""``coursekit doctor``: collect facts, diagnose them, render findings, apply safe fixes.

- :mod:`.probing`: :func:`run_probe` runs :mod:`coursekit.probe` with the env's Python.
- :mod:`.facts`: the fact dataclasses and the JSON (de)serialisation.
- :mod:`.collect`: small independent checks, run concurrently with time limits.
- :mod:`.catalogue`: every finding id, documented; :mod:`.rules_*`: the pure rules.
- :mod:`.diagnose`: ``diagnose(facts) -> findings`` (pure).
- :mod:`.report`: the versioned ``--json`` report and the ``--from`` loader.
- :mod:`.fixes`: the ``--fix`` planner and executor.
"""

from __future__ import annotations

from coursekit.doctor.probing import PROBE_PATH, ProbeFacts, run_probe

__all__ = ["PROBE_PATH", "ProbeFacts", "run_probe"]
