"""The lab engine behind ``coursekit lab`` and ``coursekit progress``.

``manifest`` reads ``labs/NN-slug/lab.toml``; ``layout`` hands a lab out into the
student's folder without ever overwriting their work; ``progress`` keeps the
progress file; ``interpreter`` picks the course env's Python; ``checking`` runs the
grader in a sandboxed worker (``coursekit.grading.sandbox``) and turns what it
reported into a :class:`~coursekit.lab.checking.GradeReport`; ``service`` is the one
domain function per CLI action.

May import the core, :mod:`coursekit.grading` and :mod:`coursekit.setup.engines` (to find the
course env); never ``cli`` or ``render``.
"""
