import numpy as np
import pytest

from scoring.strings import Strings

WORDS = ["claim-1", None, "", "wording é", "last"]


def test_strings_give_back_what_they_were_made_of() -> None:
    strings = Strings.of(WORDS)
    assert len(strings) == len(WORDS)
    assert list(strings) == WORDS
    assert [strings[i] for i in range(len(WORDS))] == WORDS
    assert strings[-1] == "last" and strings[-4] is None


def test_strings_slice_take_and_concatenate_as_lists_do() -> None:
    strings = Strings.of(WORDS)
    assert list(strings[1:4]) == WORDS[1:4]
    assert list(strings[3:1]) == []
    assert list(strings[::2]) == WORDS[::2]
    assert list(strings.take(np.array([4, 0, 1]))) == [WORDS[4], WORDS[0], WORDS[1]]
    parts = [strings[3:], strings[:3], Strings.of([])]
    assert list(Strings.concatenate(parts)) == WORDS[3:] + WORDS[:3]
    assert list(Strings.concatenate([])) == []


def test_strings_refuse_an_index_out_of_range_and_offsets_past_the_text() -> None:
    strings = Strings.of(WORDS)
    with pytest.raises(IndexError):
        strings[len(WORDS)]
    with pytest.raises(ValueError, match="offsets"):
        Strings("ab", np.array([0, 3], dtype=np.int64), np.zeros(1, dtype=bool))
