"""Answers of one cycle's batched queries, indexed so each object finds its series quickly."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from ..backends import client
from ..rules import series

ObjectKey = tuple[str, str]
"""(namespace, name) of an SLO as the recorded series label it."""


class Results:
    """The samples of every query of a cycle, grouped per SLO on first use."""

    def __init__(self, answers: Mapping[client.Query, Sequence[client.Sample]]) -> None:
        self._answers = answers
        self._by_object: dict[client.Query, dict[ObjectKey, list[client.Sample]]] = {}

    def has(self, query: client.Query) -> bool:
        return query in self._answers

    def every(self, query: client.Query) -> Sequence[client.Sample]:
        """All series of `query`."""
        return self._answers.get(query, ())

    def samples(self, query: client.Query, namespace: str, name: str) -> list[client.Sample]:
        """The series of `query` that belong to the SLO `namespace/name`."""
        index = self._by_object.get(query)
        if index is None:
            index = defaultdict(list)
            for sample in self._answers.get(query, ()):
                key = (
                    sample.labels.get(series.LABEL_NAMESPACE, ""),
                    sample.labels.get(series.LABEL_SLO, ""),
                )
                index[key].append(sample)
            self._by_object[query] = index
        return index.get((namespace, name), [])
