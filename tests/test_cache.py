"""Answers kept for notebooks that ask for it (``"restified": {"cache": {"ttl": N}}``), the
validators (``ETag``, ``If-None-Match``) every call's answer carries, and the store itself
(least recently used first out, by bytes, each entry for its time to live)."""

from __future__ import annotations

import asyncio
import http.client
import json
import math
from pathlib import Path
from typing import Any

import nbformat
import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from notebook_restified.server.app import RestifiedApp
from notebook_restified.server.cache import (
    ENTRY_OVERHEAD,
    CachedAnswer,
    CacheKey,
    ResultCache,
    canonical_json,
    etag_matches,
    strong_etag,
)
from notebook_restified.spec import load_spec

from .notebooks import Fetch, bearer, create_key, write_notebook

pytestmark = pytest.mark.timeout(240)

BASE_CONFIG = {"ServerApp": {"jpserver_extensions": {"notebook_restified": True}}}

JSON = {"Accept": "application/json"}
CSV = {"Accept": "text/csv"}


# --- the store -------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def key(values: dict[str, Any], path: str = "a.ipynb", sha: str = "s1") -> CacheKey:
    return CacheKey.of(path, sha, values, {"json": "application/json"}, None)


def answer(size: int, tag: str = '"t"') -> CachedAnswer:
    return CachedAnswer(body=b"x" * size, content_type="application/json", etag=tag, duration=0.1)


def test_an_answer_is_kept_for_its_ttl_then_gone() -> None:
    clock = Clock()
    cache = ResultCache(1 << 20, clock)
    kept = cache.put(key({"n": 1}), answer(10), ttl=5)
    assert kept is not None
    assert kept.stored == 100.0
    assert kept.remaining(101.0) == 4.0
    assert cache.get(key({"n": 1})) == kept
    assert cache.get(key({"n": 2})) is None
    clock.now = 104.9
    assert cache.get(key({"n": 1})) is not None
    clock.now = 105.0
    assert cache.get(key({"n": 1})) is None
    assert len(cache) == 0
    assert cache.size == 0


def test_equal_values_make_equal_keys_whatever_their_order() -> None:
    assert key({"a": 1, "b": [1, 2]}) == key({"b": [1, 2], "a": 1})
    assert key({"a": 1}) != key({"a": 1.5})
    assert key({"a": 1}) != key({"a": 1}, path="b.ipynb")
    assert key({"a": 1}) != key({"a": 1}, sha="s2")
    one = CacheKey.of("a.ipynb", "s", {}, {"table": "text/csv"}, None)
    assert one != CacheKey.of("a.ipynb", "s", {}, {"table": "application/json"}, None)
    assert one != CacheKey.of("a.ipynb", "s", {}, {"table": "text/csv"}, "key1")


def test_least_recently_used_go_first_past_max_bytes() -> None:
    cost = 1000 + ENTRY_OVERHEAD
    cache = ResultCache(3 * cost)
    for n in range(3):
        cache.put(key({"n": n}), answer(1000), ttl=60)
    assert cache.get(key({"n": 0})) is not None  # now the most recently used
    cache.put(key({"n": 3}), answer(1000), ttl=60)
    assert cache.get(key({"n": 1})) is None  # the least recently used went
    assert all(cache.get(key({"n": n})) is not None for n in (0, 2, 3))
    assert cache.size == 3 * cost
    assert cache.evictions == 1
    # An answer larger than the whole store is not kept, and takes nothing out.
    assert cache.put(key({"n": 9}), answer(3 * cost), ttl=60) is None
    assert len(cache) == 3


def test_nothing_is_kept_with_max_bytes_zero() -> None:
    cache = ResultCache(0)
    assert not cache.enabled
    assert cache.put(key({}), answer(1), ttl=60) is None
    assert cache.get(key({})) is None


def test_dropping_a_notebook_drops_its_versions_only() -> None:
    cache = ResultCache(1 << 20)
    cache.put(key({"n": 1}, sha="old"), answer(5), ttl=60)
    cache.put(key({"n": 1}, sha="new"), answer(5), ttl=60)
    cache.put(key({"n": 1}, path="b.ipynb", sha="old"), answer(5), ttl=60)
    assert cache.drop_path("a.ipynb", keep_sha256="new") == 1
    assert cache.get(key({"n": 1}, sha="new")) is not None
    assert cache.get(key({"n": 1}, path="b.ipynb", sha="old")) is not None
    assert cache.drop_path("a.ipynb") == 1
    assert len(cache) == 1
    assert cache.size == 5 + ENTRY_OVERHEAD


def test_etags_are_strong_and_compare_as_if_none_match_asks() -> None:
    tag = strong_etag(key({"n": 1}), "application/json", "digest")
    assert tag.startswith('"')
    assert tag.endswith('"')
    assert not tag.startswith("W/")
    assert tag == strong_etag(key({"n": 1}), "application/json", "digest")
    assert tag != strong_etag(key({"n": 1}), "application/json", "other bytes")
    assert tag != strong_etag(key({"n": 1}), "text/csv", "digest")
    assert tag != strong_etag(key({"n": 2}), "application/json", "digest")
    assert etag_matches(tag, tag)
    assert etag_matches(f'"nope", W/{tag}', tag)
    assert etag_matches("*", tag)
    assert not etag_matches('"nope"', tag)
    assert not etag_matches(None, tag)


# --- the notebook's metadata -----------------------------------------------------------


def cached_notebook(path: Path, ttl: Any, *cells: Any) -> Path:
    write_notebook(path, *cells)
    nb = nbformat.read(str(path), as_version=4)
    nb.metadata["restified"] = {"cache": {"ttl": ttl}}
    nbformat.write(nb, str(path))
    return path


@pytest.mark.parametrize("ttl", [300, 0.5])
def test_spec_shows_a_valid_ttl(tmp_path: Path, ttl: float) -> None:
    spec = load_spec(cached_notebook(tmp_path / "a.ipynb", ttl, ("1", ["return"])))
    assert spec.cache_ttl == ttl
    assert spec.to_json()["cache"] == {"ttl": ttl}
    assert not [w for w in spec.warnings if "cache" in w]


@pytest.mark.parametrize("ttl", [0, -5, "300", True, None, math.inf, [1]])
def test_a_bad_ttl_is_warned_about_and_nothing_is_cached(tmp_path: Path, ttl: Any) -> None:
    path = tmp_path / "a.ipynb"
    write_notebook(path, ("1", ["return"]))
    nb = nbformat.read(str(path), as_version=4)
    nb.metadata["restified"] = {"cache": {"ttl": ttl}}
    spec = load_spec(nb)
    assert spec.cache_ttl is None
    assert spec.to_json()["cache"] is None
    assert any("metadata.restified.cache" in w and "positive" in w for w in spec.warnings)


def test_a_cache_that_is_no_mapping_is_warned_about(tmp_path: Path) -> None:
    path = tmp_path / "a.ipynb"
    write_notebook(path, ("1", ["return"]))
    nb = nbformat.read(str(path), as_version=4)
    nb.metadata["restified"] = {"cache": 300}
    spec = load_spec(nb)
    assert spec.cache_ttl is None
    assert any("metadata.restified.cache" in w for w in spec.warnings)


# --- through the server ----------------------------------------------------------------


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {**BASE_CONFIG, "RestifiedApp": {"record_calls": "none"}}


COUNTING = (
    "n = 1\nfail = False",
    ["parameters"],
)


def counting_cells(log_name: str, result: str = "{'n': n, 'run': runs}") -> tuple[Any, ...]:
    """Setup, parameters, and a body that appends a line to ``log_name`` (next to the
    notebook) each time it runs, then raises when asked."""
    body = (
        f"with open({log_name!r}, 'a') as f:\n"
        "    f.write(f'{n}\\n')\n"
        f"runs = sum(1 for _ in open({log_name!r}))\n"
        "if fail:\n"
        "    raise ValueError('asked to fail')\n"
        f"{result}"
    )
    return ("import json", COUNTING, (body, ["return"]))


def runs_in(root: Path, log_name: str) -> int:
    log = root / log_name
    return len(log.read_text().splitlines()) if log.exists() else 0


@pytest.fixture
def root(jp_root_dir: Path) -> Path:
    """``c.ipynb`` keeps answers 300 s; ``d.ipynb`` is the same notebook in another place;
    ``plain.ipynb`` keeps none; ``table.ipynb`` answers a DataFrame and keeps it."""
    cached_notebook(jp_root_dir / "c.ipynb", 300, *counting_cells("c.log"))
    cached_notebook(jp_root_dir / "d.ipynb", 300, *counting_cells("c.log"))
    write_notebook(jp_root_dir / "plain.ipynb", *counting_cells("plain.log", "{'n': n}"))
    cached_notebook(
        jp_root_dir / "table.ipynb",
        300,
        "import pandas as pd",
        *counting_cells("table.log", "pd.DataFrame({'n': [n, n + 1]})")[1:],
    )
    return jp_root_dir


async def call(
    jp_fetch: Fetch, path: str, headers: dict[str, str] | None = None, **kwargs: Any
) -> HTTPResponse:
    # A copy: jp_fetch adds the server's token to the dict it is given.
    return await jp_fetch(
        "restified", path, headers=dict(headers or {}), raise_error=False, **kwargs
    )


async def test_a_second_call_is_answered_without_running(jp_fetch: Fetch, root: Path) -> None:
    first = await call(jp_fetch, "c.ipynb", params={"n": 3})
    assert first.code == 200
    assert json.loads(first.body) == {"n": 3, "run": 1}
    assert first.headers["X-Restified-Cache"] == "miss"
    assert first.headers["Cache-Control"] == "private, max-age=300"
    etag = first.headers["ETag"]
    assert etag.startswith('"')
    assert len(etag) > 20

    second = await call(jp_fetch, "c.ipynb", params={"n": "3"})  # the same once coerced
    assert second.code == 200
    assert second.body == first.body
    assert second.headers["X-Restified-Cache"] == "hit"
    assert second.headers["ETag"] == etag
    assert second.headers["Content-Type"] == "application/json"
    assert second.headers["X-Restified-Duration"] == first.headers["X-Restified-Duration"]
    max_age = int(second.headers["Cache-Control"].removeprefix("private, max-age="))
    assert 0 < max_age <= 300
    assert int(second.headers["Age"]) >= 0
    # A POST of the same values is the same call.
    posted = await call(jp_fetch, "c.ipynb", method="POST", body=json.dumps({"n": 3}))
    assert posted.code == 200
    assert posted.body == first.body
    assert runs_in(root, "c.log") == 1


async def test_other_values_or_another_form_run_again(jp_fetch: Fetch, root: Path) -> None:
    assert json.loads((await call(jp_fetch, "c.ipynb", params={"n": 1})).body)["run"] == 1
    assert json.loads((await call(jp_fetch, "c.ipynb", params={"n": 2})).body)["run"] == 2
    assert json.loads((await call(jp_fetch, "c.ipynb", params={"n": 1})).body)["run"] == 1
    assert runs_in(root, "c.log") == 2
    # A table as JSON and as CSV are two answers; each is kept.
    as_json = await call(jp_fetch, "table.ipynb", headers=JSON)
    as_csv = await call(jp_fetch, "table.ipynb", headers=CSV)
    assert json.loads(as_json.body) == [{"n": 1}, {"n": 2}]
    assert as_csv.body.decode().splitlines() == ["n", "1", "2"]
    assert as_csv.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert as_json.headers["ETag"] != as_csv.headers["ETag"]
    assert runs_in(root, "table.log") == 2
    again = await call(jp_fetch, "table.ipynb", headers=CSV)
    assert again.body == as_csv.body
    assert again.headers["X-Restified-Cache"] == "hit"
    # Accept headers that choose the same forms share the answer.
    same = await call(
        jp_fetch, "table.ipynb", headers={"Accept": "text/csv;q=0.5, application/json"}
    )
    assert same.body == as_json.body
    assert same.headers["X-Restified-Cache"] == "hit"
    assert runs_in(root, "table.log") == 2


async def test_answers_expire_after_the_ttl(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    cached_notebook(jp_root_dir / "short.ipynb", 0.5, *counting_cells("short.log"))
    first = await call(jp_fetch, "short.ipynb")
    assert first.headers["Cache-Control"] == "private, max-age=0"
    assert (await call(jp_fetch, "short.ipynb")).headers["X-Restified-Cache"] == "hit"
    await asyncio.sleep(0.7)
    late = await call(jp_fetch, "short.ipynb")
    assert late.headers["X-Restified-Cache"] == "miss"
    assert json.loads(late.body)["run"] == 2


async def test_saving_the_notebook_drops_its_answers(
    jp_fetch: Fetch, root: Path, app: RestifiedApp
) -> None:
    assert json.loads((await call(jp_fetch, "c.ipynb")).body) == {"n": 1, "run": 1}
    assert (await call(jp_fetch, "c.ipynb")).headers["X-Restified-Cache"] == "hit"
    model = json.loads((await jp_fetch("api", "contents", "c.ipynb")).body)
    content = model["content"]
    source = content["cells"][2]["source"]
    content["cells"][2]["source"] = source.replace("'run': runs}", "'run': runs, 'saved': 1}")
    saved = await jp_fetch(
        "api",
        "contents",
        "c.ipynb",
        method="PUT",
        body=json.dumps({"type": "notebook", "format": "json", "content": content}),
    )
    assert saved.code == 200
    assert app.result_cache.stats()["entries"] == 0  # dropped when saved
    after = await call(jp_fetch, "c.ipynb")
    assert json.loads(after.body) == {"n": 1, "run": 2, "saved": 1}
    assert after.headers["X-Restified-Cache"] == "miss"


async def test_if_none_match_answers_304_without_running(jp_fetch: Fetch, root: Path) -> None:
    first = await call(jp_fetch, "c.ipynb", params={"n": 4})
    etag = first.headers["ETag"]
    again = await call(jp_fetch, "c.ipynb", params={"n": 4}, headers={"If-None-Match": etag})
    assert again.code == 304
    assert again.body == b""
    assert again.headers["ETag"] == etag
    other = await call(jp_fetch, "c.ipynb", params={"n": 5}, headers={"If-None-Match": etag})
    assert other.code == 200
    assert json.loads(other.body)["n"] == 5
    assert runs_in(root, "c.log") == 2


async def test_a_notebook_that_keeps_nothing_runs_and_compares(jp_fetch: Fetch, root: Path) -> None:
    first = await call(jp_fetch, "plain.ipynb", params={"n": 2})
    assert first.code == 200
    assert first.headers["Cache-Control"] == "private, no-cache"
    assert "X-Restified-Cache" not in first.headers
    etag = first.headers["ETag"]
    second = await call(jp_fetch, "plain.ipynb", params={"n": 2})
    assert second.headers["ETag"] == etag  # the same values gave the same bytes
    revalidated = await call(
        jp_fetch, "plain.ipynb", params={"n": 2}, headers={"If-None-Match": etag}
    )
    assert revalidated.code == 304
    assert revalidated.body == b""
    assert runs_in(root, "plain.log") == 3  # each ran: only running tells the bytes


async def test_errors_are_never_kept(jp_fetch: Fetch, root: Path) -> None:
    for _ in range(2):
        refused = await call(jp_fetch, "c.ipynb", params={"n": "not a number"})
        assert refused.code == 422
        assert "ETag" not in refused.headers
    assert runs_in(root, "c.log") == 0
    for run in (1, 2):
        failed = await call(jp_fetch, "c.ipynb", params={"fail": "true"})
        assert failed.code == 500
        assert json.loads(failed.body)["error"]["ename"] == "ValueError"
        assert "ETag" not in failed.headers
        assert runs_in(root, "c.log") == run
    # 406 is not kept either, and the same call is answered once Accept allows it.
    refused = await call(jp_fetch, "c.ipynb", headers=CSV)
    assert refused.code == 406
    assert json.loads(refused.body)["error"]["type"] == "not_acceptable"
    ok = await call(jp_fetch, "c.ipynb", headers=JSON)
    assert ok.code == 200
    assert ok.headers["X-Restified-Cache"] == "miss"


async def test_no_answer_crosses_keys_or_notebooks(
    jp_fetch: Fetch, root: Path, app: RestifiedApp
) -> None:
    alice = (await create_key(jp_fetch, "c.ipynb"))["secret"]
    bob = (await create_key(jp_fetch, "c.ipynb"))["secret"]
    seen = []
    for headers in (bearer(alice), bearer(bob), {}, bearer(alice), bearer(bob), {}):
        response = await call(jp_fetch, "c.ipynb", params={"n": 7}, headers=headers)
        assert response.code == 200
        seen.append((json.loads(response.body)["run"], response.headers["X-Restified-Cache"]))
    # Each key's holders, and the server's users, have answers of their own.
    assert seen == [(1, "miss"), (2, "miss"), (3, "miss"), (1, "hit"), (2, "hit"), (3, "hit")]
    # The same content under another path is another notebook (its log is the same file).
    other = await call(jp_fetch, "d.ipynb", params={"n": 7})
    assert json.loads(other.body)["run"] == 4
    assert other.headers["X-Restified-Cache"] == "miss"
    # A key for c.ipynb gets nothing of d.ipynb, kept or not.
    refused = await call(jp_fetch, "d.ipynb", params={"n": 7}, headers=bearer(alice))
    assert refused.code == 403
    assert runs_in(root, "c.log") == 4


async def test_asynchronous_runs_always_run(jp_fetch: Fetch, root: Path) -> None:
    assert (await call(jp_fetch, "c.ipynb")).code == 200
    response = await call(
        jp_fetch, "c.ipynb", headers={"Prefer": "respond-async, wait=60"}, request_timeout=90
    )
    assert response.code == 200
    assert json.loads(response.body) == {"n": 1, "run": 2}
    assert "X-Restified-Cache" not in response.headers


async def test_head_is_not_a_call(jp_fetch: Fetch, root: Path) -> None:
    assert (await call(jp_fetch, "c.ipynb", method="HEAD")).code == 405
    assert runs_in(root, "c.log") == 0


@pytest.mark.parametrize(
    "jp_server_config",
    [{**BASE_CONFIG, "RestifiedApp": {"cache_max_bytes": 2 * (2000 + 600)}}],
)
async def test_least_recently_used_answers_go_past_cache_max_bytes(
    jp_fetch: Fetch, jp_root_dir: Path, app: RestifiedApp
) -> None:
    cached_notebook(
        jp_root_dir / "big.ipynb", 300, *counting_cells("big.log", "'x' * 2000 + str(runs)")
    )
    for n in (1, 2, 3):
        assert (await call(jp_fetch, "big.ipynb", params={"n": n})).code == 200
    assert app.result_cache.stats()["entries"] == 2  # three do not fit
    assert (await call(jp_fetch, "big.ipynb", params={"n": 3})).headers[
        "X-Restified-Cache"
    ] == "hit"
    assert (await call(jp_fetch, "big.ipynb", params={"n": 2})).headers[
        "X-Restified-Cache"
    ] == "hit"
    first = await call(jp_fetch, "big.ipynb", params={"n": 1})  # it went first
    assert first.headers["X-Restified-Cache"] == "miss"
    assert json.loads(first.body).endswith("4")
    assert app.result_cache.size <= app.cache_max_bytes


@pytest.mark.parametrize(
    "jp_server_config", [{**BASE_CONFIG, "RestifiedApp": {"cache_max_bytes": 0}}]
)
async def test_cache_max_bytes_zero_keeps_nothing(jp_fetch: Fetch, root: Path) -> None:
    for run in (1, 2):
        response = await call(jp_fetch, "c.ipynb")
        assert json.loads(response.body)["run"] == run
        assert response.headers["Cache-Control"] == "private, no-cache"


# --- the same call arriving while it runs ------------------------------------------------


def slow_notebook(root: Path) -> None:
    """``slow.ipynb`` keeps answers 300 s; its body sleeps ``delay`` seconds, then notes the
    run in ``slow.log`` (a run cancelled while it sleeps notes nothing) and fails if asked."""
    cached_notebook(
        root / "slow.ipynb",
        300,
        "import time",
        ("n = 1\nfail = False\ndelay = 0.0", ["parameters"]),
        (
            "time.sleep(delay)\n"
            "with open('slow.log', 'a') as f:\n"
            "    f.write(f'{n}\\n')\n"
            "if fail:\n"
            "    raise ValueError('asked to fail')\n"
            "{'n': n, 'runs': sum(1 for _ in open('slow.log'))}",
            ["return"],
        ),
    )


async def warm_slow(jp_fetch: Fetch, root: Path) -> None:
    """``slow.ipynb`` written and warm (its first call made, a run noted), so that the calls
    of a test overlap."""
    slow_notebook(root)
    assert (await call(jp_fetch, "slow.ipynb")).code == 200


async def test_the_same_calls_at_once_run_once(
    jp_fetch: Fetch, jp_root_dir: Path, app: RestifiedApp
) -> None:
    await warm_slow(jp_fetch, jp_root_dir)
    same = {"n": 5, "delay": 2}
    answers = await asyncio.gather(*(call(jp_fetch, "slow.ipynb", params=same) for _ in range(5)))
    assert [a.code for a in answers] == [200] * 5
    assert json.loads(answers[0].body) == {"n": 5, "runs": 2}
    assert {a.body for a in answers} == {answers[0].body}
    assert {a.headers["ETag"] for a in answers} == {answers[0].headers["ETag"]}
    # One ran; the four that came while it ran were answered with what it kept.
    assert sorted(a.headers["X-Restified-Cache"] for a in answers) == ["hit"] * 4 + ["miss"]
    assert runs_in(jp_root_dir, "slow.log") == 2
    stats = app.result_cache.stats()
    assert stats["shared"] == 4
    assert stats["running"] == 0
    # Other values at the same time are other calls: each runs.
    others = await asyncio.gather(
        *(call(jp_fetch, "slow.ipynb", params={"n": n, "delay": 1}) for n in (6, 7))
    )
    assert [json.loads(a.body)["n"] for a in others] == [6, 7]
    assert runs_in(jp_root_dir, "slow.log") == 4


async def test_a_failed_call_is_not_shared(
    jp_fetch: Fetch, jp_root_dir: Path, app: RestifiedApp
) -> None:
    await warm_slow(jp_fetch, jp_root_dir)
    failing = {"fail": "true", "delay": 1}
    answers = await asyncio.gather(
        *(call(jp_fetch, "slow.ipynb", params=failing) for _ in range(3))
    )
    assert [a.code for a in answers] == [500] * 3
    assert {json.loads(a.body)["error"]["ename"] for a in answers} == {"ValueError"}
    # Errors are never kept: each call that waited for the failed one ran on its own.
    assert runs_in(jp_root_dir, "slow.log") == 4
    assert app.result_cache.stats()["shared"] == 0
    assert app.result_cache.stats()["running"] == 0


async def test_when_the_running_calls_client_leaves_the_waiting_one_runs(
    jp_fetch: Fetch, jp_root_dir: Path, app: RestifiedApp
) -> None:
    await warm_slow(jp_fetch, jp_root_dir)
    same = {"n": 8, "delay": 3}
    leaving = asyncio.ensure_future(call(jp_fetch, "slow.ipynb", params=same, request_timeout=1.5))
    await asyncio.sleep(0.5)
    waiting = asyncio.ensure_future(call(jp_fetch, "slow.ipynb", params=same, request_timeout=60))
    with pytest.raises(HTTPClientError) as err:
        await leaving
    assert err.value.code == 599
    answer = await waiting
    assert answer.code == 200
    assert answer.headers["X-Restified-Cache"] == "miss"  # it ran: the first was cancelled
    assert json.loads(answer.body) == {"n": 8, "runs": 2}
    assert runs_in(jp_root_dir, "slow.log") == 2
    assert app.result_cache.stats()["running"] == 0


async def test_a_waiting_call_whose_client_leaves_ends_alone(
    jp_fetch: Fetch, jp_root_dir: Path, app: RestifiedApp
) -> None:
    await warm_slow(jp_fetch, jp_root_dir)
    same = {"n": 9, "delay": 2}
    running = asyncio.ensure_future(call(jp_fetch, "slow.ipynb", params=same))
    await asyncio.sleep(0.5)
    with pytest.raises(HTTPClientError) as err:
        await call(jp_fetch, "slow.ipynb", params=same, request_timeout=0.5)
    assert err.value.code == 599
    first = await running
    assert first.code == 200
    assert first.headers["X-Restified-Cache"] == "miss"
    again = await call(jp_fetch, "slow.ipynb", params=same)
    assert again.headers["X-Restified-Cache"] == "hit"
    assert again.body == first.body
    assert runs_in(jp_root_dir, "slow.log") == 2
    assert app.result_cache.stats()["shared"] == 0
    assert app.result_cache.stats()["running"] == 0


# --- a call refused before its body is read, on a kept-alive connection ------------------


@pytest.mark.parametrize(
    "jp_server_config", [{**BASE_CONFIG, "RestifiedApp": {"key_rate_limit": 1}}]
)
async def test_a_refused_keyed_call_closes_its_connection_and_says_so(
    jp_fetch: Fetch,
    root: Path,
    jp_http_port: int,
    jp_base_url: str,
    jp_auth_header: dict[str, str],
) -> None:
    secret = (await create_key(jp_fetch, "c.ipynb"))["secret"]
    url = f"{jp_base_url.rstrip('/')}/restified/c.ipynb"
    body = json.dumps({"n": 1})
    keyed = {**bearer(secret), "Content-Type": "application/json"}

    def two_calls_on_one_connection() -> list[tuple[int, str | None, bytes]]:
        conn = http.client.HTTPConnection("127.0.0.1", jp_http_port, timeout=60)
        answers = []
        try:
            # The key's one call this minute, then one refused in prepare (429), then the
            # token's call: a client reuses the connection unless told it closes.
            for headers in (keyed, keyed, {**jp_auth_header, "Content-Type": "application/json"}):
                conn.request("POST", url, body=body, headers=headers)
                response = conn.getresponse()
                answers.append((response.status, response.getheader("Connection"), response.read()))
        finally:
            conn.close()
        return answers

    answers = await asyncio.to_thread(two_calls_on_one_connection)
    assert [status for status, _, _ in answers] == [200, 429, 200]
    assert answers[1][1] == "close"
    assert json.loads(answers[1][2])["error"]["type"] == "rate_limited"
    assert answers[0][1] != "close"
    assert json.loads(answers[2][2])["n"] == 1


def test_values_of_every_type_make_one_key_each() -> None:
    import datetime

    day = {"day": datetime.date(2024, 1, 1), "blob": b"\x00", "size": (1, 2)}
    same = {"size": (1, 2), "blob": b"\x00", "day": datetime.date(2024, 1, 1)}
    other = {"day": datetime.date(2024, 1, 2), "blob": b"\x00", "size": (1, 2)}
    assert canonical_json(day) == canonical_json(same)
    assert canonical_json(day) != canonical_json(other)
    assert canonical_json(day) == '{"blob":"AA==","day":"2024-01-01","size":[1,2]}'
