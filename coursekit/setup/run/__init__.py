"""Setup's run: carrying a :class:`~coursekit.setup.plan.model.Plan` out, resumable and never
destructive.

``context`` holds the types every step shares (options, outcomes, the reporter protocol,
the run's context); the steps (``steps``, ``pip``, ``tools``, ``preflight``, ``nbdime``,
``kernel``, ``verify``) sit on it with their helpers (``pipsafe``, ``failures``);
``execute`` runs them in order; ``service`` is what ``coursekit setup`` calls. Nothing
imports ``execute`` back. May import the core, :mod:`coursekit.setup.plan`,
:mod:`coursekit.setup.engines` and the doctor's pure parts; never ``cli`` or ``render``:
progress goes to the :class:`~coursekit.setup.run.context.Reporter` the caller passes in.
"""
