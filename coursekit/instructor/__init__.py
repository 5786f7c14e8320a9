"""The instructor's wing: packing submissions, the class grade of record, and class triage.

Never imports :mod:`coursekit.cli` or :mod:`coursekit.render`.
"""
