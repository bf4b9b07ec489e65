"""A sequence whose items are built when it is first read (if it ever is)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar, overload

T = TypeVar("T")


class LazySequence(Sequence[T]):
    """``length`` items that ``build`` makes on the first read, kept afterwards."""

    def __init__(self, build: Callable[[], list[T]], length: int) -> None:
        self._build, self._length = build, length
        self._items: list[T] | None = None

    def _all(self) -> list[T]:
        if self._items is None:
            self._items = self._build()
        return self._items

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        return self._all()[index]

    def __eq__(self, other: object) -> bool:
        return list(self) == (list(other) if isinstance(other, Sequence) else other)

    __hash__ = None  # type: ignore[assignment]
