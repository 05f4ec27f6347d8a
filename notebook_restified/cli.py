"""``jupyter restified``: run a tagged notebook or print its spec from the command line, or
serve the notebooks under a directory as a headless HTTP service (``serve``)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .errors import InvalidRequest, RestifiedError
from .parameters import check_json, coerce_query, merge_once
from .spec import load_spec

log = logging.getLogger("notebook_restified.cli")


class _HelpAll(argparse.Action):
    """``--help-all``: the usual help, then every ``RestifiedApp`` option (the server's
    configuration, as ``--RestifiedApp.<name>=<value>`` or ``RESTIFIED_<NAME>``)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help=kwargs.get("help"))

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from .server.app import RestifiedApp

        parser.print_help()
        sys.stdout.write(
            "\nServer options (jupyter server / jupyter lab: --RestifiedApp.<name>=<value>;"
            " jupyter restified serve: also RESTIFIED_<NAME>):\n\n"
        )
        traits = RestifiedApp.class_own_traits(config=True)
        for name in sorted(traits):
            sys.stdout.write(RestifiedApp.class_get_trait_help(traits[name]) + "\n")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter restified",
        description="Run a tagged Jupyter notebook as a function.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "--help-all", action=_HelpAll, help="show this help and every server option, then exit"
    )
    parser.add_argument(
        "--log-level",
        default=None,
        help="logging level (default WARNING; serve: INFO)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the notebook once; print its result as JSON")
    run.add_argument("notebook", type=Path)
    run.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a parameter as text, coerced to its declared type (repeatable; a name given"
        " twice, here or in --params-json or -f, is an error)",
    )
    run.add_argument(
        "-f",
        "--file",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "PATH"),
        help="a bytes parameter: the file's contents (repeatable)",
    )
    run.add_argument(
        "--params-json", default=None, metavar="JSON", help="parameters as a JSON object"
    )
    run.add_argument("--time-limit", type=float, default=30.0, help="seconds (default 30)")
    run.add_argument(
        "--isolation",
        choices=("fork", "kernel"),
        default="fork",
        help="fork a warm kernel (default) or use a fresh kernel",
    )
    run.add_argument(
        "--output",
        type=Path,
        default=None,
        help="write an image result (PNG) or the JSON to this file instead of stdout",
    )

    spec = commands.add_parser("spec", help="print the notebook's function spec as JSON")
    spec.add_argument("notebook", type=Path)

    serve = commands.add_parser(
        "serve",
        help="serve the notebooks under DIR as a headless HTTP service",
        description="Serve the notebooks under DIR at /restified/<path> (plus /healthz and"
        " /readyz), nothing else. Every option may also be set from the environment"
        " (RESTIFIED_IP, RESTIFIED_PORT, RESTIFIED_WARM, RESTIFIED_LOG_FORMAT,"
        " RESTIFIED_SHUTDOWN_GRACE, RESTIFIED_TOKEN, RESTIFIED_<RestifiedApp trait>);"
        " the command line wins. Further trait options pass through:"
        " --RestifiedApp.time_limit=5, --ServerApp.trust_xheaders=True.",
    )
    serve.add_argument("directory", type=Path, metavar="DIR", help="the notebooks' root")
    serve.add_argument("--ip", default=None, help="address to listen on (default localhost)")
    serve.add_argument("--port", type=int, default=None, help="port to listen on (default 8888)")
    serve.add_argument(
        "--warm",
        default=None,
        metavar="all|none|GLOB",
        help="notebooks warmed at start, which /readyz waits for (default all)",
    )
    serve.add_argument(
        "--log-format", choices=("text", "json"), default=None, help="log lines (default text)"
    )
    serve.add_argument(
        "--shutdown-grace",
        type=float,
        default=None,
        metavar="SECONDS",
        help="time calls in flight get to finish after SIGTERM (default 30)",
    )
    return parser


def _serve(args: argparse.Namespace, extra: list[str]) -> int:
    from .serve import serve

    options = {
        "ServerApp.ip": args.ip,
        "ServerApp.port": args.port,
        "ServerApp.log_level": args.log_level,
        "RestifiedServeApp.warm": args.warm,
        "RestifiedServeApp.log_style": args.log_format,
        "RestifiedServeApp.shutdown_grace": args.shutdown_grace,
    }
    argv = [f"--{name}={value}" for name, value in options.items() if value is not None]
    return serve(args.directory, argv=[*argv, *extra])


def _file_parts(files: list[list[str]]) -> dict[str, list[str | bytes]]:
    parts: dict[str, list[str | bytes]] = {}
    for name, path in files:
        try:
            data = Path(path).expanduser().read_bytes()
        except OSError as exc:
            raise InvalidRequest(f"-f {name}: cannot read {path}: {exc.strerror}") from None
        parts.setdefault(name, []).append(data)
    return parts


def _values(args: argparse.Namespace, spec: Any) -> dict[str, Any]:
    """The run's values, checked once: ``--params-json`` as a JSON body, ``-p`` as query
    text, ``-f`` as file parts; a name given twice anywhere is an error."""
    body: dict[str, Any] = {}
    if args.params_json is not None:
        try:
            raw = json.loads(args.params_json)
        except ValueError as exc:
            raise InvalidRequest(f"--params-json is not JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise InvalidRequest("--params-json must be a JSON object")
        body = check_json(spec, raw)
    texts: dict[str, list[str | bytes]] = {}
    for name, text in args.parameter:
        texts.setdefault(name, []).append(text)
    given = coerce_query(spec, texts) if texts else {}
    files = coerce_query(spec, _file_parts(args.file)) if args.file else {}
    return merge_once(body, given, files)


def _run(args: argparse.Namespace) -> int:
    from .models import KernelModel

    spec = load_spec(args.notebook)
    values = _values(args, spec)
    with KernelModel(args.notebook, time_limit=args.time_limit, isolation=args.isolation) as model:
        result = model.call_checked(spec, values)
    if result.kind == "image" and result.png is not None:
        if args.output is None:
            sys.stdout.buffer.write(result.png)
        else:
            args.output.write_bytes(result.png)
        return 0
    text = json.dumps(result.value, allow_nan=False, ensure_ascii=False)
    if args.output is None:
        sys.stdout.write(text + "\n")
    else:
        args.output.write_text(text + "\n", encoding="utf-8")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``jupyter restified`` (and ``jupyter-restified``)."""
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "serve":
        # What serve does not know itself are trait options, for the Jupyter server to read.
        unknown = [a for a in extra if not (a.startswith("--") and "." in a.split("=")[0])]
        if unknown:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        return _serve(args, extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    level = (args.log_level or "WARNING").upper()
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "spec":
            sys.stdout.write(json.dumps(load_spec(args.notebook).to_json(), indent=2) + "\n")
            return 0
        return _run(args)
    except RestifiedError as exc:
        sys.stderr.write(json.dumps(exc.to_json(), ensure_ascii=False) + "\n")
        return 1
    except FileNotFoundError as exc:
        sys.stderr.write(json.dumps({"error": {"type": "not_found", "message": str(exc)}}) + "\n")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
