"""The example notebooks a newcomer opens first: each model answers as its intro promises."""

from __future__ import annotations

import io
import json
import math
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from queue import Empty
from typing import Any

import nbclient
import nbformat
import pytest
from PIL import Image
from tornado.httpclient import HTTPResponse

from notebook_restified import KernelModel
from notebook_restified.errors import ExecutionError, InvalidParameters

from .notebooks import descendants

EXAMPLES = Path(__file__).parent.parent / "examples"
MODELS = [
    "fibonacci.ipynb",
    "text_repeat.ipynb",
    "pandas_summary.ipynb",
    "matplotlib_plot.ipynb",
    "error_path.ipynb",
]
VIEWS = ["view_widgets.ipynb"]

pytestmark = pytest.mark.timeout(180)

ModelOf = Callable[[str], KernelModel]


class WidgetSafeClient(nbclient.NotebookClient):
    """nbclient, waiting for each execute reply in one-second polls.

    For an ipywidgets ``Output`` widget, nbclient sends comm messages on the shell socket
    while it awaits the cell's reply on that same socket; pyzmq can then miss the reply's
    wake-up and the cell stalls until its timeout (jupyter/nbclient#312; about one run in
    ten here). A new poll sees a message already waiting, so polling in slices never stalls.
    """

    async def async_start_new_kernel_client(self) -> Any:
        client = await super().async_start_new_kernel_client()
        get_msg = client.shell_channel.get_msg

        async def get_msg_in_slices(timeout: float | None = None) -> Any:
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                left = 1.0 if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    return await get_msg(timeout=min(1.0, left))
                except Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise

        client.shell_channel.get_msg = get_msg_in_slices
        return client


@pytest.mark.parametrize("name", MODELS + VIEWS)
def test_example_is_saved_clean_and_explains_itself(name: str) -> None:
    nb = nbformat.read(EXAMPLES / name, as_version=nbformat.NO_CONVERT)
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
    assert all(cell.get("id") for cell in nb.cells)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
    intro = nb.cells[0]
    assert intro.cell_type == "markdown"
    assert "/restified/" in intro.source
    if name in MODELS:
        assert f"/restified/{name}" in intro.source


def test_fibonacci(kernel_model_of: ModelOf) -> None:
    model = kernel_model_of("fibonacci.ipynb")
    assert model.execute() == 55
    value = model.execute(n=20)
    assert value == 6765
    assert type(value) is int


def test_parameter_types_summarises_any_floats(kernel_model_of: ModelOf) -> None:
    # Any finite floats are valid values, and their mean is finite (fmean's running sum
    # overflowed: the call failed with an execution error).
    model = kernel_model_of("parameter_types.ipynb")
    big = 1.7976931348623157e308
    assert model.execute()["summary"] == 2.375
    values = [big, big, 5.3e248, -5.4e15, 2.5e-107]
    summary = model.execute(values=values)["summary"]
    assert math.isclose(summary, big * 0.4, rel_tol=1e-12)
    assert model.execute(values=[-big, 1.0, -big], statistic="median")["summary"] == -big


def test_text_repeat(kernel_model_of: ModelOf) -> None:
    model = kernel_model_of("text_repeat.ipynb")
    params = {p.name: p for p in model.spec.parameters}
    assert (params["text"].type, params["text"].default) == ("str", "hello")
    assert params["text"].help == "what to repeat"
    assert (params["multiplier"].type, params["multiplier"].default) == ("int", 2)
    assert model.execute() == "hellohello"
    assert model.execute(text="ab", multiplier=3) == "ababab"
    assert model.execute(multiplier=0) == ""
    # The skip cell's preview print never runs in a call.
    assert "preview" not in model.call().stdout


def test_pandas_summary_gives_rows_and_csv(kernel_model_of: ModelOf) -> None:
    model = kernel_model_of("pandas_summary.ipynb")
    result = model.call()
    assert result.kind == "table"
    rows = result.value
    assert isinstance(rows, list)
    assert len(rows) == 5
    assert all(list(row) == ["region", "product", "units", "revenue"] for row in rows)
    assert all(isinstance(row["units"], int) for row in rows)
    revenues = [row["revenue"] for row in rows]
    assert revenues == sorted(revenues, reverse=True)
    assert result.csv is not None
    lines = result.csv.splitlines()
    assert lines[0] == "region,product,units,revenue"
    assert len(lines) == 6


def test_pandas_summary_filters_by_region(kernel_model_of: ModelOf) -> None:
    model = kernel_model_of("pandas_summary.ipynb")
    every = model.execute(top=100)
    assert len(every) == 4 * 5  # 4 regions x 5 products
    north = model.execute(region="north", top=3)
    assert len(north) == 3
    assert {row["region"] for row in north} == {"north"}
    # The region's best three are exactly its first three rows of the overall ranking.
    assert north == [row for row in every if row["region"] == "north"][:3]
    # Same data on every call: each product has one price across regions.
    prices: dict[str, set[float]] = {}
    for row in every:
        prices.setdefault(row["product"], set()).add(round(row["revenue"] / row["units"], 2))
    assert all(len(p) == 1 for p in prices.values())
    assert model.execute(region="north", top=3) == north


def test_pandas_summary_refuses_bad_input(kernel_model_of: ModelOf) -> None:
    model = kernel_model_of("pandas_summary.ipynb")
    with pytest.raises(ExecutionError) as err:
        model.execute(region="nowhere")
    assert err.value.cell_id == "check"
    assert err.value.ename == "ValueError"
    assert "north, south, east, west or all" in err.value.evalue
    with pytest.raises(InvalidParameters) as bad:
        model.execute(top="five")
    assert [d["name"] for d in bad.value.details] == ["top"]


def test_matplotlib_plot_is_a_png(kernel_model_of: ModelOf) -> None:
    model = kernel_model_of("matplotlib_plot.ipynb")
    result = model.call(points=20, title="Twenty points")
    assert result.kind == "image"
    assert result.value is None
    png = model.execute()
    assert isinstance(png, bytes)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.width > image.height > 100
    assert result.png is not None
    assert result.png != png  # the parameters reach the chart


def test_error_path_success_and_failure(kernel_model_of: ModelOf) -> None:
    model = kernel_model_of("error_path.ipynb")
    assert model.execute() == {"numerator": 10.0, "divisor": 2.0, "quotient": 5.0}
    with pytest.raises(ExecutionError) as err:
        model.execute(divisor=0)
    error = err.value
    assert error.cell_index == 4
    assert error.cell_id == "divide"
    assert error.ename == "ValueError"
    assert error.evalue.startswith("divisor must not be 0")
    text = "\n".join(error.traceback)
    assert "<cell 2>" in text  # the helper that raised
    assert "in safe_divide" in text
    assert "\x1b[" not in text
    # An int is a valid float; the model keeps working after an error.
    assert model.execute(numerator=10, divisor=4) == {
        "numerator": 10.0,
        "divisor": 4.0,
        "quotient": 2.5,
    }


class LeftoverCheckingClient(WidgetSafeClient):
    """Records what still runs below the notebook's kernel once its last cell is done."""

    leftover: set[int] | None = None

    def set_widgets_metadata(self) -> None:
        # Called inside the kernel's lifetime, right after the last cell: a process the
        # notebook started and did not stop is still below the kernel here (once the kernel
        # is gone, an orphan would move to init and no longer be seen).
        pid = self.km.provisioner.process.pid  # type: ignore[union-attr]
        deadline = time.monotonic() + 15
        while descendants(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.leftover = descendants(pid)
        super().set_widgets_metadata()


def test_view_widgets_runs_headless() -> None:
    nb = nbformat.read(EXAMPLES / "view_widgets.ipynb", as_version=4)
    client = LeftoverCheckingClient(
        nb,
        kernel_name="python3",
        timeout=120,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(EXAMPLES)}},
    )
    client.execute()
    outputs = {cell.id: cell.outputs for cell in nb.cells if cell.cell_type == "code"}
    assert not any(o.output_type == "error" for cell in outputs.values() for o in cell)
    assert outputs["both"][0]["data"]["text/plain"] == "(55, 55)"
    form = outputs["form"][0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in form
    # The form's Output widget shows the last call's answer.
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    shown = [
        json.dumps(model["state"].get("outputs"))
        for model in state.values()
        if model["model_name"] == "OutputModel"
    ]
    assert any("fib(10) = 55" in text for text in shown)
    # The last cell closed the KernelModel: the kernel it started is gone.
    assert client.leftover == set()


# Each bundled example called as an endpoint, through a real server, with its defaults: what
# it answers (the media type and a check of the body). A new example must be added here.
SERVED: dict[str, tuple[str, Callable[[bytes], bool]]] = {
    "error_path.ipynb": (
        "application/json",
        lambda body: json.loads(body) == {"numerator": 10.0, "divisor": 2.0, "quotient": 5.0},
    ),
    "fibonacci.ipynb": ("application/json", lambda body: json.loads(body) == 55),
    "legacy_2019.ipynb": ("application/json", lambda body: json.loads(body) == 610),
    "matplotlib_plot.ipynb": ("image/png", lambda body: body.startswith(b"\x89PNG\r\n\x1a\n")),
    "pandas_summary.ipynb": ("application/json", lambda body: len(json.loads(body)) == 5),
    "parameter_types.ipynb": (
        "application/json",
        lambda body: json.loads(body)["days"] == 30 and json.loads(body)["size_is_tuple"],
    ),
    "text_repeat.ipynb": ("application/json", lambda body: json.loads(body) == "hellohello"),
    # A View, not a model: no return cell, so its answer is null; but its widgets (an
    # ipywidgets Output used during the call) must not break the call.
    "view_widgets.ipynb": ("application/json", lambda body: json.loads(body) is None),
}


def test_every_example_is_served() -> None:
    assert sorted(SERVED) == sorted(path.name for path in EXAMPLES.glob("*.ipynb"))


@pytest.mark.parametrize("name", sorted(SERVED))
async def test_example_as_an_endpoint(name: str, jp_fetch: Any, jp_root_dir: Path) -> None:
    for path in EXAMPLES.glob("*.ipynb"):  # view_widgets.ipynb calls fibonacci.ipynb
        shutil.copy(path, jp_root_dir / path.name)
    media_type, check = SERVED[name]
    response: HTTPResponse = await jp_fetch("restified", name, raise_error=False)
    assert response.code == 200, response.body.decode(errors="replace")[:2000]
    assert response.headers["Content-Type"].split(";")[0] == media_type
    assert check(response.body)
