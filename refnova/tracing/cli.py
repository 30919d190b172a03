"""``refnova trace show | export --jaeger | html | shape FILE``: read the OTLP JSON trace files
that ``--traces-dir`` (one file per trace) or the ``file`` exporter (JSON lines) write."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from refnova.tracing.files import SpanRecord

TRACE_ID = re.compile(r"[0-9a-f]{32}")

# The files and views modules load the OpenTelemetry SDK: they are imported by the handlers,
# so that ``refnova --help`` and the other commands do not pay for them.


def add_trace_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    trace_parser = commands.add_parser("trace", help="show, convert or render a trace file")
    actions = trace_parser.add_subparsers(dest="trace_command", required=True)

    show = actions.add_parser("show", help="print each trace as an indented tree with durations")
    show.add_argument(
        "file",
        metavar="FILE|TRACE_ID",
        help="a trace file, or a trace id (an answer's traceresponse header) to find in "
        "--traces-dir and --trace-file",
    )
    show.add_argument("--trace-id", help="only this trace (32 hex digits)")
    show.add_argument(
        "--traces-dir", help="where to find a trace by its id (default: REFNOVA_TRACES_DIR)"
    )
    show.add_argument(
        "--trace-file",
        help="the file exporter's file to find a trace in (default: REFNOVA_TRACE_FILE, "
        "else refnova-traces.jsonl)",
    )
    show.set_defaults(handler=_show)

    export = actions.add_parser("export", help="convert to the Jaeger UI's JSON upload format")
    export.add_argument(
        "--jaeger",
        action="store_true",
        required=True,
        help='Jaeger query-API JSON ({"data": [...]}), for the UI\'s file upload',
    )
    export.add_argument("file")
    export.add_argument(
        "-o", "--output", help="output file ('-': stdout; default FILE.jaeger.json)"
    )
    export.set_defaults(handler=_export)

    page = actions.add_parser("html", help="write a self-contained HTML waterfall page")
    page.add_argument("file")
    page.add_argument("-o", "--output", help="output file ('-': stdout; default FILE.html)")
    page.set_defaults(handler=_html)

    shape = actions.add_parser("shape", help="print a trace's golden shape (names, kinds, parents)")
    shape.add_argument("file")
    shape.add_argument("--trace-id", help="the trace (needed when the file holds several)")
    shape.set_defaults(handler=_shape)


def _load(path: str) -> list[SpanRecord]:
    from refnova.tracing import files as tracefiles

    try:
        return tracefiles.load_spans(path)
    except (OSError, ValueError) as error:
        raise SystemExit("refnova trace: cannot read %s: %s" % (path, error)) from error


def _write(text: str, output: str | None, default: Path) -> None:
    if output == "-":
        sys.stdout.write(text)
        return
    path = Path(output or default)
    path.write_text(text, encoding="utf-8")
    print(path)


def _show(args: argparse.Namespace) -> int:
    from refnova.tracing import views as traceviews

    path, trace_id = _trace_source(args.file, args)
    try:
        sys.stdout.write(traceviews.render_text(_load(path), trace_id or args.trace_id))
    except KeyError as error:
        raise SystemExit("refnova trace: %s" % error.args[0]) from error
    return 0


def _export(args: argparse.Namespace) -> int:
    from refnova.tracing import views as traceviews

    document = traceviews.to_jaeger(_load(args.file))
    _write(json.dumps(document, indent=1) + "\n", args.output, _beside(args.file, ".jaeger.json"))
    return 0


def _html(args: argparse.Namespace) -> int:
    from refnova.tracing import waterfall

    page = waterfall.to_html(_load(args.file), title="refnova trace: %s" % Path(args.file).name)
    _write(page, args.output, _beside(args.file, ".html"))
    return 0


def _shape(args: argparse.Namespace) -> int:
    from refnova.tracing import files as tracefiles
    from refnova.tracing import views as traceviews

    traces = tracefiles.by_trace(_load(args.file))
    if args.trace_id:
        traces = {k: v for k, v in traces.items() if k == args.trace_id.lower()}
    if len(traces) != 1:
        raise SystemExit(
            "refnova trace: %d traces in %s; pick one with --trace-id" % (len(traces), args.file)
        )
    spans = next(iter(traces.values()))
    sys.stdout.write(json.dumps(traceviews.shape(spans), indent=2) + "\n")
    return 0


def _trace_source(file: str, args: argparse.Namespace) -> tuple[str, str | None]:
    """(the file to read, the trace to show): ``file`` itself, or for a trace id that names
    no file, ``<id>.json`` in the traces directory or else the file exporter's file."""
    trace_id = file.lower()
    if Path(file).exists() or not TRACE_ID.fullmatch(trace_id):
        return file, None
    from refnova.config import Settings
    from refnova.tracing import files as tracefiles

    settings = Settings.from_env(traces_dir=args.traces_dir, trace_file=args.trace_file)
    if settings.traces_dir:
        path = tracefiles.trace_file_path(settings.traces_dir, trace_id)
        if path.exists():
            return str(path), trace_id
    if Path(settings.trace_file).exists():
        return settings.trace_file, trace_id
    raise SystemExit(
        "refnova trace: no file %s, and no trace %s in %s"
        % (file, trace_id, " or ".join(filter(None, [settings.traces_dir, settings.trace_file])))
    )


def _beside(file: str, suffix: str) -> Path:
    path = Path(file)
    stem = path.name[: -len(".json")] if path.name.endswith(".json") else path.stem
    return path.with_name(stem + suffix)
