"""Whether two results of a metric are equal (its SQL and pandas paths), written once for the tests and the benchmark."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd


def assert_same(a: Any, b: Any, name: str = "result") -> None:
    """Raise AssertionError (naming the part) unless `a` and `b` are equal: frames, series, or dataclasses of them."""
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, obj=name)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, obj=name)
    elif dataclasses.is_dataclass(a):
        assert type(a) is type(b), f"{name}: {type(a).__name__} vs {type(b).__name__}"
        for field in dataclasses.fields(a):
            assert_same(getattr(a, field.name), getattr(b, field.name), f"{name}.{field.name}")
    elif a is None or b is None:
        assert a is b, f"{name}: {a!r} vs {b!r}"
    else:
        assert (pd.isna(a) and pd.isna(b)) or a == b, f"{name}: {a!r} vs {b!r}"


def same(a: Any, b: Any) -> bool:
    """True when assert_same(a, b) passes."""
    try:
        assert_same(a, b)
    except AssertionError:
        return False
    return True
