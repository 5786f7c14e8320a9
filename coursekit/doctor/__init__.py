"""``coursekit doctor``: collect facts, diagnose them, hand findings up, apply safe fixes.

- :mod:`.facts`: the fact dataclasses and their JSON (de)serialisation; the probe that the
  env's own Python runs, and its runner, are in the core (:mod:`coursekit.probe`,
  :mod:`coursekit.probing`), shared with setup's verify step.
- :mod:`.runner` and :mod:`.collect`: small independent checks, run concurrently, each
  with its own time limit; :mod:`.kernels` reads Jupyter kernelspecs.
- :mod:`.catalogue`: every finding id, documented; :mod:`.view` derived facts and the
  :class:`~coursekit.doctor.view.Finding` type; :mod:`.rules_env`, :mod:`.rules_torch`,
  :mod:`.rules_packages`, :mod:`.rules_install`: the pure rules. They never import the planner:
  :mod:`.planning` is what they may know of it (a :class:`~coursekit.doctor.planning.Planner`
  handed down through their view); :mod:`.course` (spec, matrix, gates) and :mod:`.advice` (plus
  the selector's choice) build the course's.
- :mod:`.categories`: one module per summary category (title, status text, ``-v`` detail
  lines, the checks whose facts it reads, its rules); the renderer draws them all alike.
- :mod:`.engine`: ``diagnose_all(facts, planner)`` (pure); :mod:`.diagnose`: the same with the
  course's planner, ``diagnose(facts) -> findings``.
- :mod:`.results`: the result values (report, summary, fix actions, triage entries) the
  renderer reads; :mod:`.report`: the versioned ``--json`` report and the ``--from`` loader.
- :mod:`.fixes`: the ``--fix`` planner (pure) and executor.
- :mod:`.service`: what the Click command calls (:func:`~coursekit.doctor.service.examine`,
  the exit code).

May import the core and setup's planning data (:mod:`coursekit.setup.plan`: its matrix, gates
and selector from :mod:`.course` and :mod:`.advice` only, never from the rules;
:mod:`coursekit.setup.engines`, the kernel and pip helpers of :mod:`coursekit.setup.run`); never
``cli`` or ``render``. This ``__init__`` imports
nothing.
"""
