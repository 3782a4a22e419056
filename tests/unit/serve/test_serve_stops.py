"""Stop strings over streamed pieces: whatever the split, the text sent is the full text cut before
the first stop string, and no part of a stop string is ever sent."""

import random

import pytest

from tunelab.engine.detokenize import StopStrings


def stream(pieces, stops):
    s, out = StopStrings(stops), []
    for p in pieces:
        text, stopped = s.push(p)
        out.append(text)
        if stopped:
            return out, True
    out.append(s.flush())
    return out, False


def reference(text, stops):
    cuts = [text.find(x) for x in stops if x and x in text]
    return (text[: min(cuts)], True) if cuts else (text, False)


@pytest.mark.parametrize("text, stops", [
    ("Hello world, hello moon", ["lo w"]),
    ("abcabcabd", ["abd", "cab"]),
    ("one\n\ntwo", ["\n\n"]),
    ("no stop here", ["zzz"]),
    ("ééé東京🙂 end", ["東京"]),
    ("aaaa", ["aaab"]),
    ("", ["x"]),
])
def test_any_split_gives_the_cut_text(text, stops):
    rng = random.Random(0)
    for _ in range(50):
        cuts = sorted(rng.sample(range(1, len(text)), k=min(len(text) - 1, rng.randint(0, 6)))) if len(text) > 1 else []
        pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
        out, stopped = stream(pieces, stops)
        assert ("".join(out), stopped) == reference(text, stops)


def test_text_is_held_back_only_while_it_could_start_a_stop_string():
    s = StopStrings(["END"])
    assert s.push("the E") == ("the ", False)
    assert s.push("x") == ("Ex", False)  # 'Ex' can no longer become 'END'
    assert s.push("EN") == ("", False)
    assert s.push("D more") == ("", True)
    assert StopStrings([]).push("EN") == ("EN", False)
