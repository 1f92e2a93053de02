"""``pagestream up``, ``down`` and ``status``: the local stack of services, started in order.

Kafka, the schema registry and the object store start first, then topics and schemas are
provisioned and a classifier is trained when none serves yet, then the workers and the bridge.
Used by the CLI and by the drills (bench, soak, chaos) that need a running stack.
"""

from __future__ import annotations

import json
import sys
import time

from pagestream.streams.settings import Settings


def _services(settings: Settings, workers: int) -> list:
    from pagestream.streams.cli import supervisor

    return [
        supervisor.kafka(settings),
        supervisor.registry(settings),
        supervisor.object_store(settings),
        *(supervisor.worker(settings, i) for i in range(workers)),
        supervisor.bridge(settings),
    ]


def _known_workers(settings: Settings) -> int:
    """Workers started earlier (pid files), so down/status see them whatever --workers says."""
    run = settings.run_dir
    return max((int(p.stem.split("-")[1]) + 1 for p in run.glob("worker-*.pid")), default=0) if run.is_dir() else 0


def cmd_up(settings: Settings, workers: int, quiet: bool = False) -> int:
    from pagestream.streams.cli.provision import provision

    say = (lambda *_: None) if quiet else (lambda msg: print(msg, file=sys.stderr))
    infra, processes = _services(settings, workers)[:3], _services(settings, workers)[3:]
    started = time.perf_counter()
    for service in infra:
        say(f"starting {service.name} …")
        service.start(settings)
    facts = provision(settings)
    if facts["topics_created"]:
        say(f"created topics: {', '.join(facts['topics_created'])}")
    _ensure_classifier(settings, say)
    for service in processes:
        say(f"starting {service.name} …")
        service.start(settings)
    say(f"pagestream is up after {time.perf_counter() - started:.1f} s; dashboard: {settings.bridge_url}/dashboard")
    if not quiet:
        _print_status(settings, as_json=False)
    return 0


def _ensure_classifier(settings: Settings, say) -> None:
    """Workers serve the registry's champion; a fresh install trains one first (never a stand-in)."""
    from pagestream.agents.classify.classifier.train import ensure_champion

    try:
        version = ensure_champion(settings, say)
    except ImportError as exc:
        say(f"document classification is off: the ml extra is not installed ({exc}); pip install -e '.[ml]'")
        return
    say(f"classifier: models:/{settings.classifier_model}@{settings.classifier_alias} is version {version}")


def cmd_down(settings: Settings) -> int:
    for service in reversed(_services(settings, _known_workers(settings))):
        print(f"stopping {service.name} …", file=sys.stderr)
        service.stop(settings)
    return 0


def _print_status(settings: Settings, as_json: bool) -> bool:
    rows = [s.describe(settings) for s in _services(settings, _known_workers(settings))]
    info = {
        "state_dir": str(settings.state_dir),
        "kafka_bootstrap": settings.bootstrap_servers,
        "registry_url": settings.registry_url,
        "s3_endpoint": settings.s3_endpoint,
        "sql_endpoint": f"{settings.bridge_url}/v1/sql",
        "services": rows,
    }
    if as_json:
        print(json.dumps(info, indent=2))
    else:
        for row in rows:
            state = "running" if row["running"] else "stopped"
            print(f"  {row['service']:<12} {state:<8} {row['address']}", file=sys.stderr)
        print(f"  state and logs in {settings.state_dir}", file=sys.stderr)
    return all(r["running"] for r in rows)


def cmd_status(settings: Settings, as_json: bool) -> int:
    return 0 if _print_status(settings, as_json) else 1


