"""Setup's planning: from the env spec, the PyTorch matrix and the machine's facts to a plan.

``envspec`` and ``matrix`` load ``envs/`` (``releases``: the matrix's value types, no file
reading); ``detect`` reads the machine (OS, CPU, GPUs, drivers); ``gates`` and ``select`` pick
the torch build (pure); ``model`` is the :class:`~coursekit.setup.plan.model.Plan` and its
ordered steps as data (imports nothing), ``compose`` makes it (pure ``make_plan``);
``request`` turns the command line's request into a plan (the impure edges: detection, the
online ``indexcheck``). May import the core and :mod:`coursekit.setup.engines`' pure data
types; never ``setup.run``, ``cli`` or ``render``.
"""
