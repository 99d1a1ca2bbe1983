"""Guards: checks that catch the classic mistakes where they are made.

A guard is a pure function over the training rows (or a trained model) that
returns :class:`~core.guards.findings.Finding` objects: a level, the column,
the evidence in one sentence and the fix. Guards never block and never change
data; pages show the findings where the mistake is made, and the report and the
model card repeat them. Every threshold lives in :mod:`core.guards.thresholds`.
"""
