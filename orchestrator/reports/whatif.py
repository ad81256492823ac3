"""What-if indices: an endpoint or a group as the scoring would rate it once some findings are fixed.

The fix list and the trend of a report ask many "what if" questions of a
national sweep; building whole scores for each would cost too much. These
helpers answer with the scoring's own parts: ``Tally`` re-scores an endpoint
(``index_if_fixed``), and ``WhatIf`` sums a group's weighted indices exactly as
``GroupTally`` does (same products, same order, so the same float), so an
unchanged group gets its report's very index.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Mapping
from typing import Any

from orchestrator.scoring import Score, Tally, round2


class WhatIf:
    """A group's index as ``GroupTally`` gives it, and again with some endpoints' indices replaced.

    Built from its endpoints' ``(weight, capped index)`` in the order the group
    adds them; ``index(replaced)`` sums the same products in the same order
    (a C loop, left to right from 0.0, as ``GroupTally.add`` does), so an
    unchanged group gets the very same float, and "what if these endpoints
    were fixed" costs one pass over a list per question.
    """

    __slots__ = ("slots", "weights", "products", "weight")

    def __init__(self, endpoints: Iterable[tuple[float, float | None]]):
        self.slots: dict[int, int] = {}  # endpoint position -> its measured slot
        self.weights: list[float] = []
        self.products: list[float] = []
        for position, (weight, index) in enumerate(endpoints):
            if index is not None:  # not measured: no part of the index
                self.slots[position] = len(self.products)
                self.weights.append(weight)
                self.products.append(weight * index)
        self.weight = functools.reduce(operator.add, self.weights, 0.0)

    def index(self, replaced: Mapping[int, float | None] | None = None) -> float | None:
        """The group's index with the endpoints at the positions of ``replaced`` at their new indices."""
        if not self.weight > 0:
            return None
        products = self.products
        if replaced:
            products = products.copy()
            for position, index in replaced.items():
                slot = self.slots[position]  # a measured endpoint stays measured when fixed
                assert index is not None
                products[slot] = self.weights[slot] * index
        return round2(functools.reduce(operator.add, products, 0.0) / self.weight)


def group_index(endpoints: Iterable[tuple[float, float | None]]) -> float | None:
    """The index ``GroupTally`` gives endpoints of these ``(weight, capped index)``, alone."""
    return WhatIf(endpoints).index()


def index_if_fixed(
    endpoint: Score, fixed: Iterable[tuple[Any, Any]], still_failing: Iterable[tuple[Any, str | None]]
) -> float | None:
    """An endpoint's (capped) index once the results ``fixed`` ((status, severity), fail or warn) pass.

    ``still_failing`` are its open fails left ((severity, check id)): the worst
    of them caps the new index, as ``Tally`` caps any endpoint.
    """
    tally = Tally.of(endpoint)
    for status, severity in fixed:
        tally.resolve(status, severity)
    for severity, check_id in still_failing:
        tally.open_fail(severity, check_id)
    return tally.index()
