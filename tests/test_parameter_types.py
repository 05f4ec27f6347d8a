"""Tests for notebook_restified.parameter_types: type names, the values they take, words."""

from __future__ import annotations

import collections
import enum
from typing import Any

import pytest

from notebook_restified.parameter_types import (
    JSON_KINDS,
    PARAMETER_TYPES,
    TEXT_TYPES,
    TYPE_WORDS,
    fits,
    json_kind,
    json_name,
    type_of,
)


class Color(enum.IntEnum):
    RED = 1


class Text(str):
    pass


Pair = collections.namedtuple("Pair", "a b")


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (True, "bool"),
        (False, "bool"),
        (0, "int"),
        (10**400, "int"),
        (Color.RED, "int"),
        (1.5, "float"),
        ("", "str"),
        (Text("x"), "str"),
        ([], "list"),
        ({}, "dict"),
        (None, None),
        ((1, 2), None),
        ({1}, None),
        (b"x", None),
        (1j, None),
    ],
)
def test_json_kind(value: Any, kind: str | None) -> None:
    assert json_kind(value) == kind


@pytest.mark.parametrize(
    ("value", "type_"),
    [
        (True, "bool"),
        (3, "int"),
        (3.0, "float"),
        ("x", "str"),
        ([1], "list"),
        ((1,), "list"),
        ({1}, "list"),
        (Pair(1, 2), "list"),
        ({"a": 1}, "dict"),
        (None, "any"),
        (b"x", "bytes"),
        (1j, "any"),
    ],
)
def test_type_of(value: Any, type_: str) -> None:
    assert type_of(value) == type_


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        ("int", 1, True),
        ("float", 1, True),
        ("int", 1.0, False),
        ("int", True, False),
        ("bool", 1, False),
        ("str", None, True),
        ("any", object(), True),
        ("list", (1,), True),
        ("dict", [], False),
    ],
)
def test_fits(type_: str, value: Any, expected: bool) -> None:
    assert fits(type_, value) is expected


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (None, "null"),
        (True, "a boolean"),
        (1, "an integer"),
        (1.0, "a number"),
        ("s", "a string"),
        ([], "a list"),
        ({}, "an object"),
        ((1,), "a tuple"),
        (Color.RED, "an integer"),
        (b"x", "a bytes"),
    ],
)
def test_json_name(value: Any, words: str) -> None:
    assert json_name(value) == words


def test_every_type_has_words_and_kinds_are_types() -> None:
    assert set(TYPE_WORDS) == set(PARAMETER_TYPES)
    assert set(JSON_KINDS) == set(PARAMETER_TYPES) - {"any", *TEXT_TYPES}
