"""Lab grading. ``api`` is what graders import; it runs inside the course env's Python.

``api`` and ``worker`` use the standard library only (the worker copies them into the env's
Python); ``sandbox`` starts that worker with the core's :mod:`coursekit.proc`. Never imports
``cli``, ``render`` or another wing.
"""
