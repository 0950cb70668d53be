"""Case sources: the embedded synthetic generator (and, later, medical volumes on disk)."""

from segenv.data.case import Case, CaseSource, make_case
from segenv.data.synthetic import (
    SyntheticSource,
    SyntheticSplits,
    make_synthetic_case,
    synthetic_splits,
)

__all__ = [
    "Case",
    "CaseSource",
    "SyntheticSource",
    "SyntheticSplits",
    "make_case",
    "make_synthetic_case",
    "synthetic_splits",
]
