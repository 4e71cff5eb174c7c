"""Many short strings kept as one: a store's claim ids and wordings in a few bytes each."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, Generic, TypeVar, cast, overload

import numpy as np

Offsets = np.ndarray[tuple[int], np.dtype[np.int64]]
Positions = Sequence[int] | np.ndarray[tuple[int], np.dtype[np.intp]]
# ``str`` for strings that are never None (ids), ``str | None`` for those that may be.
T = TypeVar("T", bound=str | None)


@dataclass(frozen=True, eq=False)
class Strings(Sequence[T], Generic[T]):
    """A sequence of strings (or None) held as one string and the offsets into it.

    A Python string costs some 50 bytes beside its characters, and a store's
    ids and wordings, read among a million other objects, keep the heap's
    pages they sit on resident; here each costs its characters and 9 bytes.
    An item is made (sliced) when it is asked for.

    Parameters
    ----------
    joined : str
        Every string, one after the other.
    start : ndarray of int64, shape (n + 1,)
        String ``i`` is ``joined[start[i]:start[i + 1]]``.
    missing : ndarray of bool, shape (n,)
        Where the item is None (its span empty).
    """

    joined: str
    start: Offsets
    missing: np.ndarray[tuple[int], np.dtype[np.bool_]]

    def __post_init__(self) -> None:
        if self.start.size != self.missing.size + 1 or self.start[-1] > len(self.joined):
            raise ValueError("offsets do not match the strings")

    @classmethod
    def of(cls, values: Iterable[T]) -> Strings[T]:
        """The strings ``values`` (each str or None)."""
        listed: list[Any] = list(values)
        # C loops (map) rather than a Python step an item: a snapshot makes 400,000.
        missing = np.fromiter(map(operator.is_, listed, repeat(None)), bool, len(listed))
        if missing.any():
            listed = ["" if v is None else v for v in listed]
        lengths = np.fromiter(map(len, listed), np.int64, len(listed))
        return cls(
            "".join(listed),
            np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
            missing,
        )

    @classmethod
    def concatenate(cls, parts: Sequence[Strings[T]]) -> Strings[T]:
        """``parts`` one after the other, as one."""
        if not parts:
            return cls.of(())
        lengths = np.concatenate([np.diff(p.start) for p in parts])
        return cls(
            "".join(p.joined[p.start[0] : p.start[-1]] for p in parts),
            np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
            np.concatenate([p.missing for p in parts]),
        )

    def __len__(self) -> int:
        return int(self.missing.size)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> Strings[T]: ...

    def __getitem__(self, index: int | slice) -> T | Strings[T]:
        if isinstance(index, slice):
            lo, hi, step = index.indices(len(self))
            if step != 1:
                return self.take(range(lo, hi, step))
            return Strings(self.joined, self.start[lo : max(lo, hi) + 1], self.missing[lo:hi])
        i = range(len(self))[index]
        return cast(T, None if self.missing[i] else self.joined[self.start[i] : self.start[i + 1]])

    def __iter__(self) -> Iterator[T]:
        joined = self.joined
        ends = self.start.tolist()
        for a, b, none in zip(ends[:-1], ends[1:], self.missing.tolist(), strict=True):
            yield cast(T, None if none else joined[a:b])

    def at(self, positions: Positions) -> list[T]:
        """The items at ``positions``, in that order, as a list (the offsets of all of
        them read at once: an item at a time costs several numpy scalar reads)."""
        at = np.asarray(positions, dtype=np.intp)
        joined = self.joined
        spans = zip(
            self.start[at].tolist(),
            self.start[at + 1].tolist(),
            self.missing[at].tolist(),
            strict=True,
        )
        return [cast(T, None if none else joined[a:b]) for a, b, none in spans]

    def take(self, positions: Positions) -> Strings[T]:
        """The items at ``positions``, in that order (their spans joined: a scorer's
        pass takes a few thousand claims' ids and wordings, without an item each)."""
        at = np.asarray(positions, dtype=np.intp)
        begin, end = self.start[at], self.start[at + 1]
        joined = self.joined
        return Strings(
            "".join([joined[a:b] for a, b in zip(begin.tolist(), end.tolist(), strict=True)]),
            np.concatenate(([0], np.cumsum(end - begin))).astype(np.int64),
            self.missing[at],
        )
