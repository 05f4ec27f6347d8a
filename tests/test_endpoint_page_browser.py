"""The endpoint's page in a real Chromium (Playwright, Debian's /usr/bin/chromium): a shared
key link and a ``?key=`` link, the form (a checkbox included), a table, an image, a field's
error, a failing cell, the index, the keyboard, the light and dark themes, markdown
descriptions, and a ``<script>`` in a notebook that stays text.

Skipped when Playwright or Chromium is missing. ``RESTIFIED_SCREENSHOTS=docs`` writes the
README's screenshots there."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPResponse

from .conftest import EXAMPLES
from .notebooks import create_key, write_notebook

playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

Fetch = Callable[..., Awaitable[HTTPResponse]]

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="no Chromium at /usr/bin/chromium"),
]


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"notebook_restified": True}}}


@pytest.fixture
def examples(jp_root_dir: Path) -> Path:
    for name in ("pandas_summary", "matplotlib_plot", "error_path", "fibonacci"):
        shutil.copy(EXAMPLES / f"{name}.ipynb", jp_root_dir / f"{name}.ipynb")
    write_notebook(
        jp_root_dir / "xss.ipynb",
        "# md # Hi <script>window.pwned = 1</script>\n\n"
        '<img src=x onerror="window.pwned = 2">\n\n'
        "Some **bold** text and [a bad link](javascript:window.pwned=4).",
        ("x = 1", ["parameters"]),
        ("'<script>window.pwned = 3</script>'", ["return"]),
    )
    write_notebook(
        jp_root_dir / "flags.ipynb",
        "# md # Flags\n\nSays a **word**, loud or not.",
        ('word: str = "hi"  # what to say\nloud: bool = True  # in capitals', ["parameters"]),
        (
            '{"said": word.upper() if loud else word, "loud": loud,'
            ' "kind": type(loud).__name__, "nested": {"deep": [1, 2]}}',
            ["return"],
        ),
    )
    write_notebook(
        jp_root_dir / "anything.ipynb", ("value = None", ["parameters"]), ("value", ["return"])
    )
    return jp_root_dir


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """Debian's Chromium, driven by Playwright (no browser is downloaded)."""
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
def server(jp_http_port: int, jp_base_url: str) -> str:
    return f"http://localhost:{jp_http_port}{jp_base_url}"


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: ``$RESTIFIED_SCREENSHOTS`` (the README's), or a temporary place."""
    where = os.environ.get("RESTIFIED_SCREENSHOTS")
    return Path(where) if where else tmp_path


async def test_a_shared_link_runs_the_form_and_shows_a_table(
    jp_fetch: Fetch, examples: Path, server: str, shots: Path
) -> None:
    async with chromium() as browser:
        await shared_link(browser, jp_fetch, shots)


async def shared_link(browser: Any, jp_fetch: Fetch, shots: Path) -> None:
    body = json.dumps({"path": "pandas_summary.ipynb", "label": "for Alice"})
    key = json.loads((await jp_fetch("api", "restified", "keys", method="POST", body=body)).body)
    assert "#key=" in key["link"]
    # A colleague's browser: no cookie, no token, only the link.
    context = await browser.new_context(viewport={"width": 900, "height": 900})
    page = await context.new_page()
    await page.goto(key["link"])
    await page.get_by_role("heading", name="Sales summary with pandas").wait_for()
    assert "key" not in page.url  # the secret left the address bar
    assert page.url.endswith("/restified/pandas_summary.ipynb?shared")
    snippets = await page.locator(".rp-snippet-curl").inner_text()
    assert "Bearer <YOUR_KEY>" in snippets
    assert key["secret"] not in await page.content()
    assert await page.locator(".rp-openapi").count() == 0  # a key holder cannot read it

    # A bad value: the field's error from the 422, the focus on it.
    top = page.get_by_label("top")
    await top.fill("1.5")
    await page.get_by_role("button", name="Run").click()
    error = page.locator('.rp-field[data-name="top"] .rp-field-error')
    await error.wait_for()
    assert "int" in (await error.inner_text()).lower()
    assert await top.get_attribute("aria-invalid") == "true"

    # A good one, from the keyboard: a table with a CSV download.
    await top.fill("3")
    await top.press("Enter")
    rows = page.locator(".rp-table tbody tr")
    await rows.first.wait_for(timeout=120_000)
    assert await rows.count() == 3
    assert await page.locator(".rp-field[data-invalid]").count() == 0
    await page.screenshot(path=str(shots / "page-table.png"), full_page=True)
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Download CSV").click()
    download = await download_info.value
    csv = Path(await download.path()).read_text()
    assert download.suggested_filename == "pandas_summary.csv"
    assert len(csv.strip().splitlines()) == 4
    # Reloading keeps working (the key stays in this tab only).
    await page.reload()
    await page.get_by_role("heading", name="Sales summary with pandas").wait_for()
    await context.close()

    # Without the fragment, the shared link says what is missing.
    bare = await browser.new_context()
    page = await bare.new_page()
    await page.goto(key["link"].split("#")[0])
    await page.locator(".rp-error").wait_for()
    assert "#key=" in await page.locator(".rp-error").inner_text()
    await bare.close()


async def test_the_page_for_a_server_user(
    jp_fetch: Fetch, examples: Path, server: str, jp_serverapp: Any, shots: Path
) -> None:
    # (jp_fetch: the test server listens only for tests that ask for its client)
    async with chromium() as browser:
        await server_user(browser, server, jp_serverapp.identity_provider.token, shots)


async def server_user(browser: Any, server: str, token: str, shots: Path) -> None:
    # No credentials: sent to log in, and back after.
    anonymous = await browser.new_context()
    page = await anonymous.new_page()
    await page.goto(f"{server}restified/fibonacci.ipynb", wait_until="domcontentloaded")
    assert "/login?next=" in page.url
    await anonymous.close()

    context = await browser.new_context(
        extra_http_headers={"Authorization": f"token {token}"},
        viewport={"width": 900, "height": 1000},
    )
    page = await context.new_page()

    # An image.
    await page.goto(f"{server}restified/matplotlib_plot.ipynb")
    await page.get_by_label("points").fill("30")
    await page.get_by_role("button", name="Run").click()
    image = page.locator("img.rp-image")
    await image.wait_for(timeout=120_000)
    assert await image.evaluate("img => img.complete && img.naturalWidth > 100")
    assert await page.locator(".rp-openapi").count() == 1
    await page.screenshot(path=str(shots / "page-image.png"), full_page=True)

    # An error: its message and the failing cell.
    await page.goto(f"{server}restified/error_path.ipynb")
    await page.get_by_label("divisor").fill("0")
    await page.get_by_role("button", name="Run").click()
    failure = page.locator(".rp-error")
    await failure.wait_for(timeout=120_000)
    assert "ValueError" in await failure.inner_text()
    assert "safe_divide" in await page.locator(".rp-cell").inner_text()
    await page.screenshot(path=str(shots / "page-error.png"), full_page=True)

    # A value only the server refuses: the field's error from the 422.
    await page.goto(f"{server}restified/anything.ipynb")
    await field(page, "value", "textarea").fill("[" * 101 + "]" * 101)
    await page.get_by_role("button", name="Run").click()
    refused = page.locator('.rp-field[data-name="value"] .rp-field-error')
    await refused.wait_for(timeout=120_000)
    assert "nest" in await refused.inner_text()
    assert await field(page, "value", "textarea").get_attribute("aria-invalid") == "true"

    # The index lists the examples.
    await page.goto(f"{server}restified/")
    entries = page.locator(".rp-index-entry")
    await entries.first.wait_for()
    titles = await page.locator(".rp-index-entry h2").all_inner_texts()
    assert "Sales summary with pandas" in titles
    assert "A matplotlib chart" in titles
    assert "Fibonacci" in titles
    # Descriptions as markdown: `code` in code elements, raw HTML as text.
    fibonacci = entries.filter(has_text="Fibonacci")
    assert await fibonacci.locator(".rp-description code").all_inner_texts() == ["n"]
    xss = entries.filter(has_text="window.pwned = 1")
    assert 'onerror="window.pwned = 2"' in await xss.locator(".rp-description").inner_text()
    assert await page.locator("main img, main script").count() == 0
    assert await page.evaluate("() => window.pwned") is None
    await page.screenshot(path=str(shots / "page-index.png"), full_page=True)

    # A notebook's <script> stays text, in its page and in its result; nothing runs.
    await page.goto(f"{server}restified/xss.ipynb")
    heading = page.get_by_role("heading", level=1)
    await heading.wait_for()
    assert await heading.inner_text() == "Hi <script>window.pwned = 1</script>"
    description = page.locator(".rp-description")
    assert 'onerror="window.pwned = 2"' in await description.inner_text()
    # Its markdown rendered: **bold** a <strong>; a javascript: link only its text.
    assert await description.locator("strong").all_inner_texts() == ["bold"]
    assert "a bad link" in await description.inner_text()
    assert await description.locator("a").count() == 0
    await page.get_by_role("button", name="Run").click()
    await page.locator(".rp-tree").wait_for(timeout=120_000)
    assert "<script>window.pwned = 3</script>" in await page.locator(".rp-tree").inner_text()
    assert await page.evaluate("() => window.pwned") is None
    assert await page.locator("main script, main img").count() == 0
    await context.close()

    # A phone in dark mode: dark colours, nothing wider than the screen, a result.
    phone = await browser.new_context(
        extra_http_headers={"Authorization": f"token {token}"},
        viewport={"width": 390, "height": 844},
        color_scheme="dark",
    )
    page = await phone.new_page()
    await page.goto(f"{server}restified/fibonacci.ipynb")
    await page.get_by_label("n").fill("20")
    await page.get_by_role("button", name="Run").click()
    await page.locator(".rp-tree").wait_for(timeout=120_000)
    assert await page.locator(".rp-tree").inner_text() == "6765"
    background = await page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(22, 24, 28)"
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 390
    await page.screenshot(path=str(shots / "page-phone-dark.png"))
    await phone.close()


async def test_the_form_for_typed_parameters(
    jp_fetch: Fetch, jp_root_dir: Path, server: str, jp_serverapp: Any, shots: Path
) -> None:
    shutil.copy(EXAMPLES / "parameter_types.ipynb", jp_root_dir / "parameter_types.ipynb")
    async with chromium() as browser:
        await typed_form(browser, server, jp_serverapp.identity_provider.token, shots)


def field(page: Any, name: str, control: str = "input") -> Any:
    return page.locator(f'.rp-field[data-name="{name}"] {control}')


async def typed_form(browser: Any, server: str, token: str, shots: Path) -> None:
    context = await browser.new_context(
        extra_http_headers={"Authorization": f"token {token}"},
        viewport={"width": 900, "height": 1400},
    )
    page = await context.new_page()
    await page.goto(f"{server}restified/parameter_types.ipynb")
    await page.get_by_role("heading", name="Parameter types").wait_for()

    # A select for the choices (the default first), inputs of the browser's own for dates
    # and times, a number field with its bounds, a file picker.
    statistic = field(page, "statistic", "select")
    options = await statistic.locator("option").all_inner_texts()
    assert options == ["default (mean)", "mean", "median", "max"]
    assert await field(page, "start").get_attribute("type") == "date"
    assert await field(page, "start").input_value() == "2024-01-01"
    assert await field(page, "until").get_attribute("type") == "datetime-local"
    assert await field(page, "cutoff").get_attribute("type") == "time"
    assert await field(page, "data").get_attribute("type") == "file"
    percent = field(page, "percent")
    assert (await percent.get_attribute("min"), await percent.get_attribute("max")) == ("0", "100")
    assert "int, 0..100" in await page.locator('.rp-field[data-name="percent"] label').inner_text()

    # A value out of bounds is refused in the page: the field says why, nothing is sent.
    await percent.fill("150")
    await page.get_by_role("button", name="Run").click()
    error = page.locator('.rp-field[data-name="percent"] .rp-field-error')
    await error.wait_for()
    assert "at most 100" in await error.inner_text()
    assert await page.locator(".rp-tree").count() == 0

    # Chosen values and a file: sent as multipart/form-data, each as the kernel's own type.
    await percent.fill("40")
    await statistic.select_option(label="median")
    await field(page, "start").fill("2024-01-10")
    await field(page, "until").fill("2024-01-31T08:00")
    await field(page, "cutoff").fill("07:45")
    await field(page, "data").set_input_files(
        files=[
            {"name": "scan.bin", "mimeType": "application/octet-stream", "buffer": b"\x00\x01\xff"}
        ]
    )
    curl = await page.locator(".rp-snippet-curl").inner_text()
    assert "-F 'data=@scan.bin'" in curl
    assert "-F 'statistic=median'" in curl
    await page.get_by_role("button", name="Run").click()
    tree = page.locator(".rp-tree")
    await tree.wait_for(timeout=120_000)
    result = await tree.inner_text()
    assert '"median"' in result
    assert "days: 21" in result
    assert '"07:45:00"' in result
    assert "percent: 40" in result
    assert "bytes: 3" in result
    assert '"0001ff"' in result
    assert await page.locator(".rp-field[data-invalid]").count() == 0
    await page.screenshot(path=str(shots / "page-types.png"), full_page=True)
    await context.close()


async def focus_order(page: Any, until: str, most: int = 20) -> list[str]:
    """Press Tab from where the focus is until an element named ``until`` has it: what each
    press focused (a field's name, else its text)."""
    seen: list[str] = []
    for _ in range(most):
        await page.keyboard.press("Tab")
        name = await page.evaluate(
            "() => { const e = document.activeElement;"
            " return e.getAttribute('name') || e.textContent.trim(); }"
        )
        seen.append(name)
        if name == until:
            return seen
    raise AssertionError(f"Tab never reached {until!r}: {seen}")


async def test_a_link_with_the_key_in_its_query(
    jp_fetch: Fetch, examples: Path, server: str, shots: Path
) -> None:
    table_key = await create_key(jp_fetch, "pandas_summary.ipynb")
    image_key = await create_key(jp_fetch, "matplotlib_plot.ipynb")
    async with chromium() as browser:
        await query_key_link(browser, server, table_key["secret"], image_key["secret"])


async def query_key_link(browser: Any, server: str, table_secret: str, image_secret: str) -> None:
    # A colleague's browser with an older link: the key in the query, no other credential.
    context = await browser.new_context(viewport={"width": 900, "height": 1000})
    page = await context.new_page()
    await page.goto(f"{server}restified/pandas_summary.ipynb?key={table_secret}&from=mail")
    await page.get_by_role("heading", name="Sales summary with pandas").wait_for()
    # The secret left the address bar (the rest of the query stays) and the page.
    href = await page.evaluate("() => window.location.href")
    assert href == f"{server}restified/pandas_summary.ipynb?from=mail"
    assert table_secret not in await page.content()
    assert "Bearer <YOUR_KEY>" in await page.locator(".rp-snippet-curl").inner_text()

    # From the keyboard alone: Tab from the top reaches the fields, then Run.
    assert await focus_order(page, "Run") == ["region", "top", "Run"]
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.type("2")  # over the top field's default, which Tab selected
    assert await page.get_by_label("top").input_value() == "2"
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")  # on Run
    rows = page.locator(".rp-table tbody tr")
    await rows.first.wait_for(timeout=120_000)
    assert await rows.count() == 2
    # The focus stayed on Run through the call; on from it to the result's Download CSV,
    # which Enter takes.
    assert await page.evaluate("() => document.activeElement.textContent") == "Run"
    assert await focus_order(page, "Download CSV", most=1) == ["Download CSV"]
    async with page.expect_download() as download_info:
        await page.keyboard.press("Enter")
    csv = Path(await (await download_info.value).path()).read_text()
    assert len(csv.strip().splitlines()) == 3
    # A table: the snippets now ask for it as CSV.
    curl = await page.locator(".rp-snippet-curl").inner_text()
    assert "-H 'Accept: text/csv'" in curl
    assert "print(response.text)" in await page.locator(".rp-snippet-python").inner_text()
    await context.close()

    # An image, with its own key: shown, and the snippets save it to a file.
    context = await browser.new_context(viewport={"width": 900, "height": 1000})
    page = await context.new_page()
    await page.goto(f"{server}restified/matplotlib_plot.ipynb?key={image_secret}")
    await page.get_by_role("heading", name="A matplotlib chart").wait_for()
    assert "key=" not in await page.evaluate("() => window.location.href")
    curl = page.locator(".rp-snippet-curl")
    assert "-o result.png" not in await curl.inner_text()  # not known before a call
    await page.get_by_label("points").fill("30")
    await page.get_by_role("button", name="Run").click()
    image = page.locator("img.rp-image")
    await image.wait_for(timeout=120_000)
    assert await image.evaluate("img => img.complete && img.naturalWidth > 100")
    assert (await curl.inner_text()).endswith("-o result.png")
    python = await page.locator(".rp-snippet-python").inner_text()
    assert python.endswith(
        'with open("result.png", "wb") as file:\n    file.write(response.content)'
    )
    assert image_secret not in await page.content()
    await context.close()


async def test_a_checkbox_the_keyboard_and_the_light_theme(
    jp_fetch: Fetch, examples: Path, server: str, jp_serverapp: Any, shots: Path
) -> None:
    async with chromium() as browser:
        await checkbox_and_tree(browser, server, jp_serverapp.identity_provider.token)


async def checkbox_and_tree(browser: Any, server: str, token: str) -> None:
    context = await browser.new_context(
        extra_http_headers={"Authorization": f"token {token}"},
        viewport={"width": 900, "height": 1000},
        color_scheme="light",
    )
    page = await context.new_page()
    await page.goto(f"{server}restified/flags.ipynb")
    await page.get_by_role("heading", name="Flags", exact=True).wait_for()
    assert await page.locator(".rp-description strong").all_inner_texts() == ["word"]

    # The light theme's colours.
    colours = await page.evaluate(
        "() => { const s = getComputedStyle(document.body); return [s.backgroundColor, s.color]; }"
    )
    assert colours == ["rgb(255, 255, 255)", "rgb(29, 31, 33)"]

    # The bool parameter: a checkbox, checked as its default is.
    loud = page.get_by_label("loud")
    assert await loud.get_attribute("type") == "checkbox"
    assert await loud.is_checked()

    # Its links, its fields and Run, in order, from the keyboard; Space unchecks the box.
    order = await focus_order(page, "Run")
    assert order == ["OpenAPI document", "All endpoints", "word", "loud", "Run"]
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Space")
    assert not await loud.is_checked()
    assert '"loud":false' in await page.locator(".rp-snippet-curl").inner_text()
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    tree = page.locator(".rp-tree")
    await tree.wait_for(timeout=120_000)
    text = await tree.inner_text()
    assert 'said: "hi"' in text
    assert "loud: false" in text
    assert 'kind: "bool"' in text  # the kernel got a bool

    # Checked again: the kernel gets True.
    await loud.check()
    await page.get_by_role("button", name="Run").click()
    await page.locator(".rp-tree", has_text='said: "HI"').wait_for(timeout=120_000)
    assert "loud: true" in await page.locator(".rp-tree").inner_text()

    # The JSON tree folds: the root open, a node two levels down closed.
    root = page.locator(".rp-tree > li > details")
    said = page.locator(".rp-tree .rp-string", has_text='"HI"')
    deep = page.locator(".rp-tree details", has_text="deep").last
    first = page.locator(".rp-tree details", has_text="deep").last.locator("li").first
    assert await root.evaluate("d => d.open")
    assert await said.is_visible()
    assert not await deep.evaluate("d => d.open")
    assert await first.is_hidden()
    await deep.locator(":scope > summary").click()
    assert await first.is_visible()
    assert await first.inner_text() == "0: 1"
    # Collapsing the root hides everything under it; Enter on its summary opens it again.
    summary = root.locator(":scope > summary")
    await summary.click()
    assert not await root.evaluate("d => d.open")
    assert await said.is_hidden()
    assert await first.is_hidden()
    await summary.focus()
    await page.keyboard.press("Enter")
    assert await said.is_visible()
    await context.close()
