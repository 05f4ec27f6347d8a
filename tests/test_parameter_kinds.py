"""Every parameter type through a real server and real kernels: what is accepted (from a
query, a JSON body, a form, a multipart file), what the kernel receives, what is refused
(422 with the field and the reason, nothing run), and the one rule for a name given twice.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from .notebooks import write_notebook
from .views import compare_parameters

Fetch = Callable[..., Awaitable[HTTPResponse]]

pytestmark = pytest.mark.timeout(240)

PARAMETERS = (
    "import datetime\n"
    "import pathlib\n"
    "from typing import Annotated, Literal, Optional\n"
    "from annotated_types import Ge, Le, MinLen, MaxLen\n"
)
DECLARATIONS = (
    'method: Literal["mean", "median"] = "mean"  # how to summarise\n'
    "level: Literal[1, 2, 3] = 1\n"
    "counts: list[int] = [1, 2]\n"
    "weights: dict[str, float] = {}\n"
    "size: tuple[int, int] = (1, 1)\n"
    "day: datetime.date = datetime.date(2024, 1, 1)\n"
    "moment: datetime.datetime = datetime.datetime(2024, 1, 1, 12, 0)\n"
    "at: datetime.time = datetime.time(9, 30)\n"
    'target: pathlib.Path = pathlib.Path("out.csv")\n'
    "percent: Annotated[int, Ge(0), Le(100)] = 50\n"
    "ratio: float = 0.5  # a share 0..1\n"
    'label: Annotated[str, MinLen(1), MaxLen(5)] = "x"\n'
    'blob: bytes = b""\n'
    "rows: Optional[list[int]] = None\n"
)
SHOWN = (
    "def shown(value):\n"
    "    if isinstance(value, bytes):\n"
    "        return value.hex()\n"
    "    if isinstance(value, tuple):\n"
    "        return list(value)\n"
    "    if isinstance(value, (datetime.date, datetime.time, pathlib.PurePath)):\n"
    "        return str(value)\n"
    "    return value\n"
)
RESULT = (
    "pathlib.Path(MARKER).write_text('ran')\n"
    "{name: [type(value).__name__, shown(value)] for name, value in dict(\n"
    "    method=method, level=level, counts=counts, weights=weights, size=size, day=day,\n"
    "    moment=moment, at=at, target=target, percent=percent, ratio=ratio, label=label,\n"
    "    blob=blob, rows=rows).items()}"
)


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **jp_server_config,
        "RestifiedApp": {"time_limit": 20.0, "pool_size": 2, "max_body_size": 64 * 1024},
    }


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / f"ran-{uuid.uuid4().hex}"


@pytest.fixture
def kinds(jp_root_dir: Path, marker: Path) -> str:
    write_notebook(
        jp_root_dir / "kinds.ipynb",
        PARAMETERS + SHOWN + f"MARKER = {str(marker)!r}",
        (DECLARATIONS, ["parameters"]),
        (RESULT, ["return"]),
    )
    return "kinds.ipynb"


async def call(jp_fetch: Fetch, path: str, **kwargs: Any) -> Any:
    response = await jp_fetch("restified", path, **kwargs)
    return json.loads(response.body)


async def refused(jp_fetch: Fetch, path: str, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("restified", path, **kwargs)
    assert info.value.code == 422, info.value.response.body if info.value.response else ""
    assert info.value.response is not None
    error = json.loads(info.value.response.body)["error"]
    assert error["type"] == "invalid_parameters"
    return {d["name"]: d["problem"] for d in error["details"]}


def post_json(body: Any) -> dict[str, Any]:
    return {
        "method": "POST",
        "body": json.dumps(body),
        "headers": {"Content-Type": "application/json"},
    }


def multipart(
    fields: dict[str, str] | list[tuple[str, str]], files: dict[str, bytes]
) -> dict[str, Any]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, text in fields.items() if isinstance(fields, dict) else fields:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{text}\r\n'.encode()
        )
    for name, data in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="f.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        parts.append(head + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return {
        "method": "POST",
        "body": body,
        "headers": {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    }


# --------------------------------------------------------------------------------------------
# accepted, and what the kernel gets


async def test_defaults_are_the_cells_own_values(jp_fetch: Fetch, kinds: str) -> None:
    got = await call(jp_fetch, kinds)
    assert got["day"] == ["date", "2024-01-01"]
    assert got["size"] == ["tuple", [1, 1]]
    assert got["target"] == ["PosixPath", "out.csv"]
    assert got["blob"] == ["bytes", ""]


async def test_query_text_of_every_kind_reaches_the_kernel_typed(
    jp_fetch: Fetch, kinds: str
) -> None:
    got = await call(
        jp_fetch,
        kinds,
        params={
            "method": "median",
            "level": "3",
            "counts": "[4, 5]",
            "weights": '{"a": 1, "b": 2.5}',
            "size": "[640, 480]",
            "day": "2024-02-29",
            "moment": "2024-03-01T08:15:30+02:00",
            "at": "23:59",
            "target": "data/in.csv",
            "percent": "100",
            "ratio": "1",
            "label": "hello",
            "blob": base64.b64encode(b"\x00\xffhi").decode(),
            "rows": "null",
        },
    )
    assert got == {
        "method": ["str", "median"],
        "level": ["int", 3],
        "counts": ["list", [4, 5]],
        "weights": ["dict", {"a": 1.0, "b": 2.5}],
        "size": ["tuple", [640, 480]],
        "day": ["date", "2024-02-29"],
        "moment": ["datetime", "2024-03-01 08:15:30+02:00"],
        "at": ["time", "23:59:00"],
        "target": ["PosixPath", "data/in.csv"],
        "percent": ["int", 100],
        "ratio": ["float", 1.0],
        "label": ["str", "hello"],
        "blob": ["bytes", "00ff6869"],
        "rows": ["NoneType", None],
    }


async def test_json_body_takes_iso_text_and_base64(jp_fetch: Fetch, kinds: str) -> None:
    got = await call(
        jp_fetch,
        kinds,
        **post_json(
            {
                "day": "2025-12-31",
                "moment": "2025-12-31T23:59:60Z",  # a leap second: its second's last moment
                "blob": base64.b64encode(b"abc").decode(),
                "size": [3, 4],
                "rows": [1, 2],
                "weights": {"x": 2},
            }
        ),
    )
    assert got["day"] == ["date", "2025-12-31"]
    assert got["moment"] == ["datetime", "2025-12-31 23:59:59+00:00"]
    assert got["blob"] == ["bytes", b"abc".hex()]
    assert got["size"] == ["tuple", [3, 4]]
    assert got["rows"] == ["list", [1, 2]]
    assert got["weights"] == ["dict", {"x": 2.0}]


async def test_a_multipart_file_part_reaches_the_kernel_as_bytes(
    jp_fetch: Fetch, kinds: str
) -> None:
    data = bytes(range(256)) * 4
    got = await call(
        jp_fetch, kinds, **multipart({"percent": "7", "counts": "[9]"}, {"blob": data})
    )
    assert got["blob"] == ["bytes", data.hex()]
    assert got["percent"] == ["int", 7]
    assert got["counts"] == ["list", [9]]


async def test_a_default_written_as_text_reaches_calls_as_its_type(
    jp_fetch: Fetch, jp_root_dir: Path
) -> None:
    write_notebook(
        jp_root_dir / "text_defaults.ipynb",
        "import datetime, pathlib",
        (
            'until: datetime.datetime = "2024-01-31T18:00:00"\n'
            'day: datetime.date = "2024-01-01"\n'
            'out: pathlib.Path = "a/b.csv"\n'
            "size: tuple[int, int] = [1, 2]",
            ["parameters"],
        ),
        ("[type(v).__name__ for v in (until, day, out, size)] + [str(day)]", ["return"]),
    )
    assert await call(jp_fetch, "text_defaults.ipynb") == [
        "datetime",
        "date",
        "PosixPath",
        "tuple",
        "2024-01-01",
    ]
    given = await call(jp_fetch, "text_defaults.ipynb", params={"day": "2025-05-05"})
    assert given[-1] == "2025-05-05"


async def test_a_default_written_as_a_call_with_keywords_reaches_the_kernel_as_a_date(
    jp_fetch: Fetch, jp_root_dir: Path
) -> None:
    write_notebook(
        jp_root_dir / "keyword_date.ipynb",
        "import datetime",
        (
            "when: datetime.date = datetime.date(year=2024, month=1, day=1)\n"
            "at = datetime.datetime(2024, 2, 3, hour=4, minute=5)",
            ["parameters"],
        ),
        ("[type(when).__name__, repr(when), type(at).__name__, repr(at)]", ["return"]),
    )
    spec = json.loads((await jp_fetch("api", "restified", "spec", "keyword_date.ipynb")).body)
    assert [(p["name"], p["type"], p["default"]) for p in spec["parameters"]] == [
        ("when", "date", "2024-01-01"),
        ("at", "datetime", "2024-02-03T04:05:00"),
    ]
    assert spec["warnings"] == []
    assert await call(jp_fetch, "keyword_date.ipynb") == [
        "date",
        "datetime.date(2024, 1, 1)",
        "datetime",
        "datetime.datetime(2024, 2, 3, 4, 5)",
    ]
    given = await call(jp_fetch, "keyword_date.ipynb", params={"when": "2025-05-05"})
    assert given[:2] == ["date", "datetime.date(2025, 5, 5)"]


# --------------------------------------------------------------------------------------------
# refused: 422 naming the field and the reason, nothing run


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("method", "mode", 'expected one of "mean", "median", got "mode"'),
        ("level", "4", "expected one of 1, 2, 3"),
        ("counts", '[1, "a"]', "item 1: expected an integer, got a string"),
        ("counts", "1", "expected a list as JSON text"),
        ("weights", '{"a": "x"}', "key 'a': expected a number, got a string"),
        ("size", "[1, 2, 3]", "expected 2 items, got 3"),
        ("day", "2024-02-30", "expected a date (ISO 8601"),
        ("day", "2024-01-01T10:00", "expected a date (ISO 8601"),
        ("moment", "yesterday", "expected a date and time"),
        ("at", "25:00", "expected a time of day"),
        ("percent", "101", "must be at most 100"),
        ("percent", "-1", "must be at least 0"),
        ("ratio", "1.5", "must be at most 1"),
        ("ratio", "nan", "must be at least 0"),
        ("label", "", "must have at least 1 character"),
        ("label", "toolong", "must have at most 5 characters"),
        ("blob", "not base64!", "expected base64 text"),
        ("rows", "[1.5]", "item 0: expected an integer, got a number"),
        ("percent", "null", "expected an integer"),
    ],
)
async def test_a_bad_value_is_refused_with_its_reason(
    jp_fetch: Fetch, kinds: str, marker: Path, name: str, text: str, words: str
) -> None:
    problems = await refused(jp_fetch, kinds, params={name: text})
    assert list(problems) == [name]
    assert words in problems[name]
    assert not marker.exists(), "nothing may run for a refused call"
    assert (await call(jp_fetch, kinds))["percent"] == ["int", 50]  # healthy after


@pytest.mark.parametrize(
    ("body", "name", "words"),
    [
        ({"method": 1}, "method", "expected one of"),
        ({"day": 20240101}, "day", "expected a date (ISO 8601, 2024-01-31), got an integer"),
        ({"blob": [1, 2]}, "blob", "expected bytes"),
        ({"size": [1, "2"]}, "size", "item 1: expected an integer"),
        ({"percent": 10.5}, "percent", "expected an integer, got a number"),
        ({"target": None}, "target", "got null"),
        ({"moment": "2024-01-01T10:00" + "0" * 80}, "moment", "characters of text"),
    ],
)
async def test_a_bad_json_value_is_refused(
    jp_fetch: Fetch, kinds: str, marker: Path, body: dict[str, Any], name: str, words: str
) -> None:
    problems = await refused(jp_fetch, kinds, **post_json(body))
    assert words in problems[name]
    assert not marker.exists()


async def test_a_file_for_a_parameter_that_is_not_bytes_is_refused(
    jp_fetch: Fetch, kinds: str, marker: Path
) -> None:
    problems = await refused(jp_fetch, kinds, **multipart({}, {"label": b"abc"}))
    assert "not bytes" in problems["label"]
    assert not marker.exists()


@pytest.mark.parametrize(
    "body",
    [
        b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n",  # no name
        b"--b\r\nno headers at all",
        b"not multipart",
    ],
)
async def test_a_malformed_multipart_body_is_a_400(
    jp_fetch: Fetch, kinds: str, marker: Path, body: bytes
) -> None:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(
            "restified",
            kinds,
            method="POST",
            body=body,
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        )
    assert info.value.code == 400
    assert info.value.response is not None
    assert json.loads(info.value.response.body)["error"]["type"] == "invalid_request"
    assert not marker.exists()
    assert (await call(jp_fetch, kinds))["percent"] == ["int", 50]  # healthy after


async def test_a_file_past_max_body_size_is_refused_before_it_is_read(
    jp_fetch: Fetch, kinds: str, marker: Path
) -> None:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("restified", kinds, **multipart({}, {"blob": b"x" * (65 * 1024)}))
    assert info.value.code == 413
    assert not marker.exists()


# --------------------------------------------------------------------------------------------
# a name given twice: one rule, wherever it is given


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"params": {"percent": "1"}, **post_json({"percent": 2})},
        {"params": {"blob": "YQ=="}, **multipart({}, {"blob": b"b"})},
    ],
    ids=["query-and-json", "query-and-file"],
)
async def test_a_parameter_given_twice_is_refused(
    jp_fetch: Fetch, kinds: str, marker: Path, request_kwargs: dict[str, Any]
) -> None:
    problems = await refused(jp_fetch, kinds, **request_kwargs)
    assert "given more than once" in next(iter(problems.values()))
    assert not marker.exists()


async def test_a_form_field_and_a_file_of_one_name_are_refused(
    jp_fetch: Fetch, kinds: str, marker: Path
) -> None:
    problems = await refused(jp_fetch, kinds, **multipart({"blob": "YQ=="}, {"blob": b"b"}))
    assert problems == {"blob": "given more than once"}
    assert not marker.exists()


def urlencoded(fields: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "method": "POST",
        "body": urlencode(fields),
        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
    }


@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
async def test_a_forms_repeated_fields_are_a_lists_elements(
    jp_fetch: Fetch, kinds: str, encoding: str
) -> None:
    # As forms send an array (OpenAPI's multipart arrays, a multiple select): a field per
    # element, each coerced to the element type; one field of a JSON array is the whole list.
    fields = [("counts", "3"), ("counts", "4"), ("size", "5"), ("size", "6"), ("rows", "[7]")]
    request = multipart(fields, {}) if encoding == "multipart" else urlencoded(fields)
    got = await call(jp_fetch, kinds, **request)
    assert got["counts"] == ["list", [3, 4]]
    assert got["size"] == ["tuple", [5, 6]]
    assert got["rows"] == ["list", [7]]
    one = await call(jp_fetch, kinds, **urlencoded([("counts", "9"), ("rows", "null")]))
    assert one["counts"] == ["list", [9]]
    assert one["rows"] == ["NoneType", None]


async def test_a_forms_repeated_fields_are_checked_each(
    jp_fetch: Fetch, kinds: str, marker: Path
) -> None:
    problems = await refused(
        jp_fetch,
        kinds,
        **urlencoded(
            [
                ("counts", "1"),
                ("counts", "x"),  # not an integer
                ("size", "1"),
                ("size", "2"),
                ("size", "3"),  # a pair has two
                ("weights", '{"a": 1}'),
                ("weights", '{"b": 2}'),  # a dict is no list
                ("percent", "1"),
                ("percent", "2"),
            ]
        ),
    )
    assert problems["counts"].startswith("item 1: expected an integer")
    assert "size" in problems
    assert problems["weights"] == "given more than once"
    assert problems["percent"] == "given more than once"
    assert not marker.exists()
    # In the query, a list is one value of JSON text: a name twice is refused there.
    problems = await refused(jp_fetch, kinds, params=[("counts", "1"), ("counts", "2")])
    assert problems == {"counts": "given more than once"}
    assert not marker.exists()


def raw_json(text: str) -> dict[str, Any]:
    return {"method": "POST", "body": text, "headers": {"Content-Type": "application/json"}}


async def test_a_json_body_giving_a_name_twice_is_refused(
    jp_fetch: Fetch, kinds: str, marker: Path
) -> None:
    # Python's json keeps the last of a key given twice; the body is read strictly instead.
    problems = await refused(jp_fetch, kinds, **raw_json('{"percent": 1, "percent": 2}'))
    assert problems == {"percent": "given more than once"}
    assert not marker.exists()


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"weights": {"a": 1, "a": 2}}', "the key 'a' appears twice"),
        ('{"ratio": NaN}', "NaN is not a JSON value"),
        ('{"weights": {"a": -Infinity}}', "-Infinity is not a JSON value"),
    ],
    ids=["nested-key-twice", "nan", "infinity"],
)
async def test_a_json_body_that_is_not_strict_json_is_refused(
    jp_fetch: Fetch, kinds: str, marker: Path, text: str, why: str
) -> None:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("restified", kinds, **raw_json(text))
    assert info.value.code == 400
    assert info.value.response is not None
    error = json.loads(info.value.response.body)["error"]
    assert error["type"] == "invalid_request"
    assert why in error["message"]
    assert not marker.exists()
    assert (await call(jp_fetch, kinds, params={"percent": "3"}))["percent"] == ["int", 3]


async def test_query_given_twice_is_refused(jp_fetch: Fetch, kinds: str, marker: Path) -> None:
    problems = await refused(jp_fetch, kinds, params=[("percent", "1"), ("percent", "2")])
    assert problems == {"percent": "given more than once"}
    assert not marker.exists()


# --------------------------------------------------------------------------------------------
# the spec JSON and the OpenAPI document say the same


async def test_spec_and_openapi_describe_each_parameter_alike(jp_fetch: Fetch, kinds: str) -> None:
    spec = json.loads((await jp_fetch("api", "restified", "spec", kinds)).body)
    document = json.loads((await jp_fetch("api", "restified", "openapi", kinds)).body)
    assert compare_parameters(spec, document, kinds) == 14
    by_name = {p["name"]: p for p in spec["parameters"]}
    assert by_name["method"]["schema"]["enum"] == ["mean", "median"]
    assert by_name["day"]["schema"]["format"] == "date"
    assert by_name["moment"]["schema"]["format"] == "date-time"
    assert by_name["percent"]["schema"]["minimum"] == 0
    assert by_name["ratio"]["schema"]["maximum"] == 1
    assert by_name["size"]["schema"]["prefixItems"] == [{"type": "integer"}] * 2
    assert by_name["weights"]["schema"]["additionalProperties"] == {"type": "number"}
    assert by_name["rows"]["nullable"] is True
    assert by_name["rows"]["schema"]["type"] == ["array", "null"]
    multipart_schema = document["paths"]["/restified/kinds.ipynb"]["post"]["requestBody"][
        "content"
    ]["multipart/form-data"]["schema"]
    assert multipart_schema["properties"]["blob"] == {"type": "string", "format": "binary"}
