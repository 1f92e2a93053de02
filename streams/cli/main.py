"""The ``pagestream`` command: its parser, and submit, demo, train, dlq, soak, chaos, replay, sql,
worker and bridge; up/down/status are in ``stack``, eval and bench in ``eval_commands``, tenant in
``tenant_commands``, get and show in ``results``.

Checks outside the project drive this interface; keep commands and flags stable.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pydantic

from pagestream.streams.cli import eval_commands, results, tenant_commands
from pagestream.streams.cli.stack import cmd_down, cmd_status, cmd_up
from pagestream.streams.codec import to_json
from pagestream.streams.errors import PagestreamError
from pagestream.streams.settings import Settings

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "samples"


def cmd_train(settings: Settings, args: argparse.Namespace) -> int:
    from pagestream.agents.classify.classifier.train import report_json, train_command
    from pagestream.streams.cli.eval.pipeline_text import ocr_pages

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    report = train_command(
        settings,
        [Path(p) for p in args.data],
        [Path(p) for p in args.eval],
        read_images=(lambda pages: ocr_pages(settings, pages, say)) if args.eval_ocr else None,
        docs_per_type=args.docs_per_type or settings.classifier_train_docs,
        seeds=[int(s) for s in args.seeds.split(",")],
        generated=not args.no_generated,
        set_alias=not args.no_alias,
        say=say,
    )
    if args.json:
        print(to_json(report_json(report)))
    return 0


def cmd_worker(settings: Settings, worker_id: int) -> int:
    import faust

    from pagestream.agents.worker import create_worker
    from pagestream.streams.metrics import serve_worker_metrics

    app, ctx = create_worker(settings, worker_id)
    serve_worker_metrics(settings, worker_id)
    try:
        faust.Worker(app, loglevel="INFO").execute_from_commandline()
    finally:
        ctx.close()
    return 0


def cmd_bridge(settings: Settings) -> int:
    from pagestream.connectors.bridge.app import serve

    serve(settings)
    return 0


def cmd_sql(settings: Settings, query: str, as_json: bool) -> int:
    from pagestream.streams.cli.sql_command import format_table, post_sql

    result = post_sql(settings, query)
    print(json.dumps(result, ensure_ascii=False) if as_json else format_table(result))
    return 0


# --- submit -------------------------------------------------------------------------------------


class ProgressView:
    """Pages done / total per document on stderr, redrawn in place on a terminal."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.done = dict.fromkeys(names, 0)
        self.total: dict[str, int | None] = dict.fromkeys(names)
        self.state = dict.fromkeys(names, "queued")
        self.tty = sys.stderr.isatty()
        self._drawn = 0

    def update(self, kind: str, record: dict[str, Any]) -> None:
        doc_id = record["doc_id"]
        before = (self.done[doc_id], self.total[doc_id], self.state[doc_id])
        if kind == "completed":
            self.state[doc_id] = record["status"].lower()
            self.total[doc_id] = record["page_count"]
            self.done[doc_id] = record["page_count"]
        else:
            self.total[doc_id] = record.get("page_count") or self.total[doc_id]
            if record["stage"] == "ASSEMBLE" and record.get("pages_done") is not None:
                self.done[doc_id] = max(self.done[doc_id], record["pages_done"])
            if record["status"] == "FAILED":
                self.state[doc_id] = "failed"
            elif self.state[doc_id] == "queued":
                self.state[doc_id] = "running"
        if (self.done[doc_id], self.total[doc_id], self.state[doc_id]) != before:
            self.draw(doc_id)

    def line(self, doc_id: str) -> str:
        total, done = self.total[doc_id], self.done[doc_id]
        width = 24
        filled = int(width * done / total) if total else 0
        bar = "#" * filled + "-" * (width - filled)
        pages = f"{done}/{total if total is not None else '?'} pages"
        return f"{self.names[doc_id][:32]:<32} [{bar}] {pages}  {self.state[doc_id]}"

    def draw(self, doc_id: str) -> None:
        if not self.tty:
            print(self.line(doc_id), file=sys.stderr, flush=True)
            return
        if self._drawn:
            sys.stderr.write(f"\x1b[{self._drawn}F")
        for key in self.names:
            sys.stderr.write("\x1b[2K" + self.line(key) + "\n")
        self._drawn = len(self.names)
        sys.stderr.flush()


def cmd_submit(
    settings: Settings,
    paths: Sequence[str],
    tenant: str,
    wait: bool,
    as_json: bool,
    timeout: float,
    engine: str | None = None,
    force_ocr: bool = False,
    label: str | None = None,
) -> int:
    from pagestream.connectors.client import Client
    from pagestream.streams.cli.inputs import sort_inputs

    inputs = sort_inputs(paths, settings.max_upload_bytes)
    for line in inputs.skipped:
        print(f"skipped {line}", file=sys.stderr)
    for line in inputs.refused:
        print(f"pagestream: refused {line}", file=sys.stderr)
    if not inputs.files:
        return 2
    with Client(settings) as client:
        watch = client.watch() if wait else None
        names: dict[str, str] = {}
        for path in inputs.files:
            doc_id = client.submit(path, tenant=tenant, ocr_engine=engine, force_ocr=force_ocr or None)
            names[doc_id] = Path(path).name
            if label:
                client.label(doc_id, label, tenant=tenant, source="submit --label")
            if as_json and not wait:
                print(json.dumps({"doc_id": doc_id, "filename": Path(path).name, "tenant": tenant}))
            elif not as_json:
                print(f"submitted {path} as {doc_id}")
        if watch is None:
            return 2 if inputs.refused else 0
        view = ProgressView(names)
        failed = 0
        try:
            for event in watch.until_completed(set(names), timeout=timeout):
                view.update(event.kind, event.record)
                if event.kind != "completed":
                    continue
                record = event.record
                failed += record["status"] == "FAILED"
                print(to_json(record) if as_json else results.summary(record) + "\n", flush=True)
                if as_json and record["status"] != "OK":  # the summary says why; JSON lines alone would not
                    reason = f"{record.get('error_code')}: {record.get('error_message')}"
                    print(f"pagestream: {names[record['doc_id']]} {record['status']}: {reason}", file=sys.stderr)
        except TimeoutError as exc:
            print(f"pagestream: {exc}", file=sys.stderr)
            return 1
        finally:
            watch.close()
    return 3 if failed else 2 if inputs.refused else 0


def cmd_demo(settings: Settings, workers: int, timeout: float) -> int:
    from pagestream.connectors.client import Client

    samples = sorted(SAMPLES_DIR.glob("*.pdf"))
    if not samples:
        raise PagestreamError(f"no sample documents in {SAMPLES_DIR}")
    cmd_up(settings, workers)
    print(f"\nsubmitting {len(samples)} sample documents through Kafka …", file=sys.stderr)
    completed: list[dict[str, Any]] = []
    started = time.perf_counter()
    with Client(settings) as client:
        watch = client.watch()
        names = {client.submit(path, tenant="demo"): path.name for path in samples}
        view = ProgressView(names)
        for event in watch.until_completed(set(names), timeout=timeout):
            view.update(event.kind, event.record)
            if event.kind == "completed":
                completed.append(event.record)
        watch.close()
    elapsed = time.perf_counter() - started
    pages = sum(r["page_count"] for r in completed)
    print(f"\n{len(completed)} documents, {pages} pages in {elapsed:.1f} s ({pages / elapsed:.2f} pages/s)\n")
    for record in sorted(completed, key=lambda r: r["filename"] or ""):
        print(results.summary(record) + "\n")
    print("submit your own: pagestream submit FILE.pdf --wait    see one again: pagestream show DOC_ID")
    print("its files: pagestream get DOC_ID --format md|json|csv    stop everything: pagestream down")
    return 0 if all(r["status"] == "OK" for r in completed) else 3


def cmd_dlq(
    settings: Settings,
    action: str,
    doc_id: str | None,
    code: str | None,
    dlq_id: str | None,
    as_json: bool,
    quarantined: bool = False,
    dry_run: bool = False,
    force: bool = False,
) -> int:
    from pagestream.streams.cli import dlq

    records = list(dlq.dead_letters(settings, dlq.matcher(doc_id, code, dlq_id, quarantined)))
    if action == "replay":
        plan = [(record, dlq.held(record, force)) for record in records]
        for record, reason in plan:
            if reason is not None:
                print(f"held {record['dlq_id']}: {reason}", file=sys.stderr)
        chosen = [record for record, reason in plan if reason is None]
        if dry_run:
            for line in dlq.table(chosen)[1:]:
                print(f"would replay {line}", file=sys.stderr)
            counts = {"would_replay": len(chosen), "held": len(records) - len(chosen)}
            print(json.dumps(counts) if as_json else f"would replay {len(chosen)} messages (dry run)")
            return 0
        sent, skipped = dlq.republish(settings, chosen)
        counts = {"replayed": sent, "held": len(records) - len(chosen), "skipped": len(skipped)}
        print(json.dumps(counts) if as_json else f"replayed {sent} messages, held {counts['held']}")
        return 0
    if action == "show" or as_json:
        for record in records:
            print(to_json(record) if as_json else json.dumps(json.loads(to_json(record)), indent=2))
        return 0 if records else 1
    for line in dlq.table(records):
        print(line)
    print(f"{len(records)} dead letters", file=sys.stderr)
    return 0


def cmd_soak(settings: Settings, pages: int, as_json: bool) -> int:
    from pagestream.streams.cli.soak import run_soak

    cmd_up(settings, settings.workers, quiet=as_json)
    page = (SAMPLES_DIR / "soak-page.png").read_bytes()
    report = run_soak(settings, page, pages=pages).to_dict()
    if not as_json:
        report.pop("samples")
    print(json.dumps(report, indent=None if as_json else 2))
    return 0 if report["growth_pct"] <= 10 else 5


def cmd_chaos(
    settings: Settings, docs: int, kills: int, workers: int, restart_broker: bool, restart_sink: bool, as_json: bool
) -> int:
    from pagestream.streams.cli.chaos import run_chaos

    cmd_up(settings, workers, quiet=as_json)
    report = run_chaos(
        settings,
        sorted(SAMPLES_DIR.glob("*.pdf")),
        docs=docs,
        kills=kills,
        workers=workers,
        restart_broker=restart_broker,
        restart_sink=restart_sink,
        say=lambda msg: print(msg, file=sys.stderr),
    )
    print(json.dumps(report.to_dict(), indent=None if as_json else 2))
    return 0 if report.ok else 4


# --- entry point --------------------------------------------------------------------------------


def cmd_replay(settings: Settings, args: argparse.Namespace) -> int:
    from pagestream.streams.cli.reclassify import run_replay

    summary = run_replay(
        settings,
        since=args.since,
        alias=args.model_alias,
        tenant=args.tenant,
        doc_ids=set(args.doc) if args.doc else None,
        limit=args.limit,
        say=lambda msg: print(msg, file=sys.stderr, flush=True),
    )
    print(to_json(summary) if args.json else json.dumps(summary, indent=2, default=str))
    return 0


def parse_since(text: str) -> dt.datetime:
    """``2026-11-23T10:00`` (UTC unless it says otherwise) or a duration back from now: ``90m``,
    ``6h``, ``2d``."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[:-1].isdigit() and text[-1:] in units:
        return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=int(text[:-1]) * units[text[-1]])
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"--since {text!r}: give an ISO time (2026-11-23T10:00) or a duration (90m, 6h, 2d)"
        ) from exc
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


class HelpFormatter(argparse.HelpFormatter):
    """Help that states each option's default, unless its help already does or there is none to
    state (None, or a flag that is off)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if not action.option_strings or "default" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"


def _every_parser(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """A parser and its subcommands' parsers, at any depth."""
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found += _every_parser(child)
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pagestream", description="Real-time document pipeline on Apache Kafka.")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start local Kafka, schema registry, object store and workers")
    up.add_argument("--workers", type=int, default=None, help="Faust worker processes (default PAGESTREAM_WORKERS)")
    sub.add_parser("down", help="stop everything 'up' started")
    status = sub.add_parser("status", help="what runs where")
    status.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    submit = sub.add_parser(
        "submit",
        help="upload documents and publish DocumentSubmitted",
        description="Upload documents and publish DocumentSubmitted. Example: pagestream submit invoice.pdf scans/ "
        "--wait",
    )
    submit.add_argument(
        "paths", nargs="+", metavar="PATH", help="PDF, PNG, JPEG or TIFF files, or folders of them (recursively)"
    )
    submit.add_argument("--tenant", default="default", help="tenant the documents belong to")
    submit.add_argument("--wait", action="store_true", help="follow progress, then print each result's summary")
    submit.add_argument(
        "--json", action="store_true", help="print only JSON lines on stdout (with --wait: each DocumentCompleted)"
    )
    submit.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for results")
    submit.add_argument(
        "--engine",
        default=None,
        help="OCR engine for these documents, e.g. ppocr, tesseract>ppocr (default: the tenant's, else "
        "PAGESTREAM_OCR_ENGINE)",
    )
    submit.add_argument("--force-ocr", action="store_true", help="OCR born-digital pages too (ignore text layers)")
    submit.add_argument("--label", default=None, help="the documents' true type, for model comparisons (docs.labels)")
    demo = sub.add_parser("demo", help="up, submit the bundled samples, print a summary")
    demo.add_argument("--workers", type=int, default=None, help="Faust worker processes (default PAGESTREAM_WORKERS)")
    demo.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for the results")
    dlq = sub.add_parser(
        "dlq",
        help="list, show or replay dead letters (pages.dlq)",
        description="Dead letters. Examples: pagestream dlq list --quarantined; "
        "pagestream dlq replay --doc ID --dry-run",
    )
    dlq.add_argument(
        "action",
        choices=["list", "show", "replay"],
        help="list: one line per dead letter under column headers; show: each whole; replay: re-publish "
        "the failing messages",
    )
    dlq.add_argument("--doc", help="only this doc_id")
    dlq.add_argument("--code", help="only this error_code")
    dlq.add_argument("--id", dest="dlq_id", help="only this dead letter (partition:offset, as listed)")
    dlq.add_argument("--quarantined", action="store_true", help="only messages given up after every retry")
    dlq.add_argument("--json", action="store_true", help="print JSON lines (replay: one JSON object of counts)")
    dlq.add_argument("--dry-run", action="store_true", help="replay: print what would be re-published, send nothing")
    dlq.add_argument(
        "--force", action="store_true", help="replay: also letters whose error is not retryable (fix the cause first)"
    )
    soak = sub.add_parser("soak", help="many small documents; workers' memory sampled; report growth")
    soak.add_argument("--pages", type=int, default=2000, help="one-page documents to submit")
    soak.add_argument("--json", action="store_true", help="print the report as one JSON line, with its samples")
    chaos = sub.add_parser("chaos", help="kill workers and restart the broker while documents flow; report")
    chaos.add_argument("--docs", type=int, default=20, help="documents to submit")
    chaos.add_argument("--kills", type=int, default=5, help="workers killed with SIGKILL while they flow")
    chaos.add_argument("--workers", type=int, default=2, help="Faust worker processes")
    chaos.add_argument("--no-broker-restart", action="store_true", help="do not restart the Kafka broker")
    chaos.add_argument("--no-sink-restart", action="store_true", help="do not kill the bridge (the ClickHouse sink)")
    chaos.add_argument("--json", action="store_true", help="print the report as one JSON line")
    sql = sub.add_parser("sql", help="run a read-only ClickHouse query and print a table")
    sql.add_argument("query", help='e.g. "SELECT status, count() FROM documents FINAL GROUP BY status"')
    sql.add_argument("--json", action="store_true", help="print the JSON answer (columns, rows)")
    eval_commands.add_parsers(sub)
    tenant_commands.add_parsers(sub)
    results.add_parsers(sub)
    train = sub.add_parser("train", help="train a model and register it in the MLflow model registry")
    train.add_argument("target", choices=["classifier"], help="what to train: the document classifier")
    train.add_argument("data", nargs="*", metavar="DATA", help="extra training folders (evaldata-gt/1 files)")
    train.add_argument("--eval", action="append", default=[], metavar="DIR", help="held-out folder (repeatable)")
    train.add_argument("--eval-ocr", action="store_true", help="also evaluate on the OCR text of held-out images")
    train.add_argument("--docs-per-type", type=int, default=None, help="generated documents per type and seed")
    train.add_argument("--seeds", default="2", help="generator seeds, comma-separated (1 is held out)")
    train.add_argument("--no-generated", action="store_true", help="train on DATA only")
    train.add_argument("--no-alias", action="store_true", help="register without moving the champion alias")
    train.add_argument("--alias", default=None, help="alias to set (default: PAGESTREAM_CLASSIFIER_ALIAS, champion)")
    train.add_argument("--json", action="store_true", help="print the run's report as JSON on stdout")
    replay = sub.add_parser("replay", help="re-classify stored documents with another model, beside the results")
    replay.add_argument("--since", required=True, type=parse_since, help="ISO time (UTC) or 90m, 6h, 2d back")
    replay.add_argument("--model-alias", default="challenger", help="alias of pagestream-doctype to replay through")
    replay.add_argument("--tenant", default=None, help="only this tenant's documents")
    replay.add_argument("--doc", action="append", help="only this doc_id (repeatable)")
    replay.add_argument("--limit", type=int, default=None, help="at most N documents")
    replay.add_argument("--json", action="store_true", help="one JSON line")
    worker = sub.add_parser("worker", help="run one Faust worker in the foreground")
    worker.add_argument("--id", type=int, default=0, help="worker number (own data dir)")
    sub.add_parser("bridge", help="run the HTTP bridge in the foreground (uploads, SSE, dashboard, metrics)")
    for each in _every_parser(parser):
        each.formatter_class = HelpFormatter
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    # Kafka clients retry on their own; their connection chatter is not for the terminal.
    logging.getLogger("pagestream.kafka").setLevel(logging.CRITICAL)
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except pydantic.ValidationError as exc:  # a bad PAGESTREAM_* value: say which, without a traceback
        for error in exc.errors():
            name = "_".join(str(part) for part in error["loc"]).upper()
            name = name if name.startswith("PAGESTREAM_") else f"PAGESTREAM_{name}"  # aliases are the variable
            print(f"pagestream: {name}: {error['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return 2
    workers = getattr(args, "workers", None) or settings.workers
    try:
        if args.command == "up":
            return cmd_up(settings, workers)
        if args.command == "down":
            return cmd_down(settings)
        if args.command == "status":
            return cmd_status(settings, args.json)
        if args.command == "submit":
            return cmd_submit(
                settings,
                args.paths,
                args.tenant,
                args.wait,
                args.json,
                args.timeout,
                args.engine,
                args.force_ocr,
                args.label,
            )
        if args.command == "demo":
            return cmd_demo(settings, workers, args.timeout)
        if args.command == "dlq":
            return cmd_dlq(settings, args.action, args.doc, args.code, args.dlq_id, args.json, args.quarantined,
                           args.dry_run, args.force)  # fmt: skip
        if args.command == "soak":
            return cmd_soak(settings, args.pages, args.json)
        if args.command == "chaos":
            return cmd_chaos(
                settings,
                args.docs,
                args.kills,
                args.workers,
                not args.no_broker_restart,
                not args.no_sink_restart,
                args.json,
            )
        if args.command == "bridge":
            return cmd_bridge(settings)
        if args.command == "sql":
            return cmd_sql(settings, args.query, args.json)
        if args.command in ("eval", "bench"):
            return eval_commands.run(args, settings)
        if args.command == "tenant":
            return tenant_commands.run(args, settings)
        if args.command in ("get", "show"):
            return results.run(args, settings)
        if args.command == "train":
            alias = args.alias or settings.classifier_alias
            return cmd_train(settings.model_copy(update={"classifier_alias": alias}), args)
        if args.command == "replay":
            return cmd_replay(settings, args)
        return cmd_worker(settings, args.id)
    except PagestreamError as exc:
        print(f"pagestream: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
