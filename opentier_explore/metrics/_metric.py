"""What registering a metric means: one Metric per public function, declared at the end of its module."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


def _as_is(result: Any, frames: Mapping[str, Any] | None) -> Any:
    return result


@dataclass(frozen=True)
class Metric:
    """A metric: its function (src = Engine or frames), what it reads, and how its two paths are compared."""

    name: str
    function: Callable[..., Any]
    needs: Mapping[str, Sequence[str]]  # table → columns its default call reads (what a benchmark loads)
    #: the keyword sets its two paths are compared with (tests on hand-worked cases and seeded data, the benchmark)
    variants: tuple[Mapping[str, Any], ...] = ({},)
    takes_as_of: bool = False  # the tests also compare both paths at other as_of values
    #: (result, the frames it was computed from, or None for the SQL path) → what compare.assert_same compares
    comparable: Callable[[Any, Mapping[str, Any] | None], Any] = field(default=_as_is)

    def assert_same(self, sql_result: Any, pandas_result: Any, frames: Mapping[str, Any]) -> None:
        """AssertionError unless the SQL path's result equals the pandas path's on `frames`."""
        from .compare import assert_same

        assert_same(self.comparable(sql_result, None), self.comparable(pandas_result, frames), self.name)

    def same(self, sql_result: Any, pandas_result: Any, frames: Mapping[str, Any]) -> bool:
        """True when assert_same passes."""
        try:
            self.assert_same(sql_result, pandas_result, frames)
        except AssertionError:
            return False
        return True
