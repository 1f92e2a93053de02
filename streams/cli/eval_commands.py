"""The measuring commands of the CLI: ``pagestream eval ocr|understand|layout|fidelity`` and ``pagestream bench``."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from pagestream.streams.settings import Settings

DEFAULT_EVALDATA = Path(__file__).resolve().parents[3] / "shared" / "evaldata"


def add_parsers(sub: argparse._SubParsersAction) -> None:
    evaluate = sub.add_parser("eval", help="measure accuracy against labelled data")
    what = evaluate.add_subparsers(dest="what", required=True)
    ocr = what.add_parser("ocr", help="OCR word recall, precision and CER per source, noise level and engine")
    ocr.add_argument("data", type=Path, help="a dataset folder with index.json, or the evaldata root")
    ocr.add_argument("--engine", action="append", help="engine (repeatable; default: the deployment's)")
    ocr.add_argument("--preprocess", default=None, help="preprocessing steps, comma-separated ('' for none)")
    ocr.add_argument("--limit", type=int, default=None, help="only the first N pages")
    ocr.add_argument("--noise", default=None, help="only pages of this noise level (synthetic: none, light)")
    ocr.add_argument("--json", action="store_true", help="one JSON object per engine, with per-page figures")
    understand = what.add_parser(
        "understand", help="document types, fields (F1), rule-violation recall and false alarms on evaldata"
    )
    understand.add_argument("data", type=Path, help="the evaldata root (synthetic/, real/invoice2data/)")
    understand.add_argument("--ocr", action="store_true", help="Tesseract's words instead of the ground truth's")
    understand.add_argument("--no-classify", action="store_true", help="skip document types (no model needed)")
    understand.add_argument("--json", action="store_true", help="the whole report as JSON (per document too)")
    layout = what.add_parser("layout", help="layout F1 at IoU >= 0.5 per region kind: geometry, model, both")
    layout.add_argument("data", type=Path, help="the evaldata root (synthetic/, real/docbank/)")
    layout.add_argument("--ocr", action="store_true", help="Tesseract's words instead of the ground truth's")
    layout.add_argument("--json", action="store_true", help="the whole report as JSON")
    fidelity = what.add_parser(
        "fidelity", help="PDFs against reference Markdown: words, headings, lists, tables, reading order"
    )
    fidelity.add_argument("data", type=Path, help="a folder of NAME.pdf with NAME.md references beside them")
    fidelity.add_argument("--out", type=Path, default=None, help="write each document's Markdown here")
    fidelity.add_argument("--json", action="store_true", help="the whole report as JSON (per page too)")
    bench = sub.add_parser("bench", help="raw engine against the full pipeline, same pages and cores")
    bench.add_argument("--engine", default=None, help="engine (default: the deployment's)")
    bench.add_argument("--pages", type=int, default=24, help="pages per kind (scanned, born-digital)")
    bench.add_argument("--source", type=Path, default=DEFAULT_EVALDATA, help="folder of PDFs (default: evaldata)")
    bench.add_argument("--json", action="store_true", help="print only the JSON object on stdout")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "eval" and args.what == "understand":
        return _eval_understand(args, settings)
    if args.command == "eval" and args.what == "layout":
        from pagestream.streams.cli.eval.layout_eval import evaluate_layout

        print(json.dumps(evaluate_layout(args.data, settings, ocr=args.ocr), indent=None if args.json else 1))
        return 0
    if args.command == "eval" and args.what == "fidelity":
        from pagestream.streams.cli.eval.fidelity import evaluate_fidelity, table

        results = evaluate_fidelity(args.data, settings, args.out)
        print(json.dumps(results) if args.json else table(results))
        return 0
    if args.command == "eval":
        return _eval_ocr(args, settings)
    from pagestream.streams.cli.bench import bench

    result = bench(settings, args.engine or settings.ocr_engine, args.pages, args.source)
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


def _eval_ocr(args: argparse.Namespace, settings: Settings) -> int:
    from pagestream.agents.ocr.core.preprocess import check_steps
    from pagestream.agents.ocr.core.reader import engine_spec
    from pagestream.streams.cli.eval.ocr_eval import evaluate, load_pages, table

    spec = engine_spec(settings)
    if args.preprocess is not None:
        spec = replace(spec, preprocess=check_steps([s for s in args.preprocess.split(",") if s]))
    pages = [p for p in load_pages(args.data) if args.noise in (None, p.noise)][: args.limit]
    results = []
    for name in [n for arg in (args.engine or [settings.ocr_engine]) for n in arg.split(",")]:
        print(f"reading {len(pages)} pages with {name} …", file=sys.stderr, flush=True)
        results.append(evaluate(pages, spec, name, settings.pool_processes))
        if args.json:  # each engine as soon as it is done: evaluations of slow engines take long
            print(json.dumps(results[-1]), flush=True)
    if not args.json:
        print(table(results))
    return 0


def _eval_understand(args: argparse.Namespace, settings: Settings) -> int:
    from pagestream.streams.cli.eval.understand_eval import evaluate_understanding

    report = evaluate_understanding(args.data, settings, ocr=args.ocr, classify=not args.no_classify)
    if args.json:
        print(json.dumps(report, default=str))
        return 0
    syn, real = report["synthetic"], report["invoice2data"]
    print(f"input: {report['input']}; classifier: {report['classifier'] or 'not run'}")
    print(f"synthetic documents: {len(syn['documents'])}")
    print(f"  document-type accuracy      {syn['doc_type_accuracy']}")
    print(f"  field F1 normalised / exact {syn['field_f1_normalised']['f1']} / {syn['field_f1_exact']['f1']}")
    print(f"  violation recall            {syn['violation_recall']}  ({syn['validation_confusion']})")
    print(f"  false-alarm rate            {syn['false_alarm_rate']}")
    print(f"real invoices (invoice2data): field accuracy {real['accuracy']} ({real['correct']}/{real['fields']})")
    return 0
