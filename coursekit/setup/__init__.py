"""``coursekit setup``'s wing: plan the course env, create it, verify it.

- :mod:`.plan`: pure planning over data (``envs/``) and detected facts;
- :mod:`.run`: carrying a plan out step by step (resumable, never destructive);
- :mod:`.engines`: the tools that create conda envs (micromamba, mamba, conda, py-rattler).

May import the core (``coursekit.proc``, ``errors``, ...) and other wings' pure parts;
never ``coursekit.cli`` or ``coursekit.render``.
"""
