"""Every threshold the guards use, in one table.

A guard is a pure check over the training rows (or a trained model) that
returns :class:`core.guards.findings.Finding` objects. The numbers that decide
when a check speaks, and how loudly, live here and nowhere else, so a reader
can see and tune the whole policy at once.

The two leakage bands follow DataRobot's target-leakage bands on a normalised
importance score: *moderate* from 0.85 and *high* from 0.975. Here the score is
a column's power alone: the share of the target's uncertainty a one-column
model explains on rows it did not learn from (R² for numbers, the share of log
loss removed for classes): 0 for a useless column, 1 for a perfect predictor.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Thresholds:
    """The guards' policy; see each attribute."""

    #: Power alone from which a column is "worth a look".
    power_look: float = 0.85
    #: Power alone from which a column is a "likely leak".
    power_leak: float = 0.975
    #: With a name that suggests information recorded after the outcome (a soft signal,
    #: never enough alone), a column is "worth a look" from this power ...
    named_power_look: float = 0.6
    #: ... and a "likely leak" from :attr:`power_look`.
    #: |Spearman correlation| between a numeric column and a numeric target from which the
    #: column is a near-copy or monotone transform of the target (a likely leak).
    copy_correlation: float = 0.98
    #: After training: share of the model's importance held by one column that is "worth a look".
    importance_share: float = 0.5
    #: After training: a validation score at least this close to perfect (on the power scale,
    #: 1 = perfect) counts as "too good to be true" when it is also far above the baseline.
    too_good: float = 0.98
    #: Rows the leakage scan looks at (a seeded sample of the training rows beyond this).
    scan_rows: int = 20_000
    #: Folds of the one-column models' cross-validation.
    scan_folds: int = 5
    #: A row step that drops more than this share of the rows is shown in red and must be confirmed.
    row_loss_share: float = 0.05
    # Fairness across groups (core.fairness): a model's scores compared between groups of rows.
    #: A group with fewer rows than this is shown but too small to judge (left out of the gaps).
    group_min_rows: int = 30
    #: A difference in accuracy (or, for two classes, in recall of the positive class) between two groups
    #: from which it is "worth a look".
    group_score_gap: float = 0.10
    #: ... and only when chance alone rarely makes a gap that size: at least this many standard errors of a
    #: difference of two shares (the selection rate's too). At 2, the highest and lowest of 4 equal groups of
    #: 70 rows were called apart by chance; at 3 a pair is, about 3 times in 1,000, while 0.91 against 0.62
    #: on 40 rows each still counts (3.3).
    group_gap_z: float = 3.0
    #: Regression: the largest group MAE over the smallest from which it is "worth a look".
    group_error_ratio: float = 1.5
    #: Two classes: the lowest share of rows predicted positive over the highest below which it is "worth a
    #: look" (the four-fifths rule of US employment law, the usual yardstick for selection rates).
    group_selection_ratio: float = 0.8
    #: At most this many groups are shown: the largest; the others become one "other" group.
    group_max: int = 8
    #: A numeric or date column with more distinct values than this is cut into quantile bins ...
    group_bin_above: int = 10
    #: ... of about equal rows, this many (fewer when values repeat).
    group_bins: int = 4
    # Time features (core.guards.time_leak): do the features of earlier rows change when later rows do?
    #: Rows the check looks at (the first ones of the training rows beyond this).
    time_check_rows: int = 20_000
    #: The rows after this share of the time (of each entity's rows, in row order) are changed.
    time_cut_share: float = 0.5
    #: A feature of an earlier row "changed" when it moved by more than this, relative to its size
    #: (moving windows add and drop values as they slide: their last digits may differ).
    time_tolerance: float = 1e-9


THRESHOLDS = Thresholds()
