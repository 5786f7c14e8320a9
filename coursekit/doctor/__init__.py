"""``coursekit doctor``: collect facts, diagnose them, render findings, apply safe fixes.

- :mod:`.probing`: :func:`run_probe` runs :mod:`coursekit.probe` with the env's Python
  (setup's verify step uses it too).
- :mod:`.facts`: the fact dataclasses and their JSON (de)serialisation.
- :mod:`.runner` and :mod:`.collect`: small independent checks, run concurrently, each
  with its own time limit; :mod:`.kernels` reads Jupyter kernelspecs.
- :mod:`.catalogue`: every finding id, documented; :mod:`.view` derived facts and the
  :class:`~coursekit.doctor.view.Finding` type; :mod:`.rules_env`, :mod:`.rules_torch`,
  :mod:`.rules_packages`: the pure rules; :mod:`.advice` asks the planner's matrix and
  selector what would fix a wrong build.
- :mod:`.diagnose`: ``diagnose(facts) -> findings`` (pure).
- :mod:`.report`: the versioned ``--json`` report and the ``--from`` loader.
- :mod:`.fixes`: the ``--fix`` planner (pure) and executor.
- :mod:`.service`: what the Click command calls (:func:`~coursekit.doctor.service.examine`,
  the exit code).
"""

from __future__ import annotations

from coursekit.doctor.probing import PROBE_PATH, ProbeFacts, run_probe

__all__ = ["PROBE_PATH", "ProbeFacts", "run_probe"]
