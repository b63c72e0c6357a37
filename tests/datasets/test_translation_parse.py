"""Parsing diatheke's plain export: references, footnotes, Strong's numbers, psalm headings."""

from __future__ import annotations

from scalinglab.datasets.translation import parse_verses, tokenize

SAMPLE = """Genesis 1:1: EN el principio crió <H1234> Dios los cielos y la tierra.
Genesis 1:2: In the beginning, God [1:1 The Hebrew word rendered “God” is “Elohim”.] created
the heavens ¶ and the earth.

A Psalm by David.
  Psalms 23:1: Yahweh is my shepherd;
I shall lack nothing.

A Psalm by David.
  Psalms 23:2: He makes me lie down in green pastures.
(engWEB2015eb)
"""


def test_parse_verses_cleans_markup_and_headings() -> None:
    v = parse_verses(SAMPLE)
    assert v[("Genesis", 1, 1)] == "EN el principio crió Dios los cielos y la tierra."
    assert v[("Genesis", 1, 2)] == "In the beginning, God created the heavens and the earth."
    assert v[("Psalms", 23, 1)] == "Yahweh is my shepherd; I shall lack nothing."
    assert v[("Psalms", 23, 2)] == "He makes me lie down in green pastures."


def test_tokenize_lowercases_and_splits_punctuation() -> None:
    assert tokenize("¡OH Jehová, cuánto!") == ["¡", "oh", "jehová", ",", "cuánto", "!"]
