"""The local process supervisor behind ``pagestream up``/``down``/``status``: Kafka, schema registry, object
store, Faust workers and the ClickHouse sink, each a background process with a pid file and a log in the state dir.

Kafka, the registry and the object store are started by the repository's ``ops/`` scripts (Maven
fetches Kafka's and Apicurio's jars; Go builds MinIO); the workers are processes started here. Every start is
idempotent: a running service is left as it is.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from pagestream.streams.errors import ServiceError
from pagestream.streams.settings import Settings


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(check: Callable[[], bool], timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    tail = ""
    if log and log.exists():
        tail = "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-30:])
    raise ServiceError(f"{what} did not become ready within {timeout:.0f} s{tail}")


def service_env(settings: Settings) -> dict[str, str]:
    """The environment of every child: the caller's, plus the settings the child must share."""
    return {
        **os.environ,
        "PAGESTREAM_STATE_DIR": str(settings.state_dir),
        "PAGESTREAM_KAFKA_PORT": str(settings.kafka_port),
        "PAGESTREAM_KAFKA_CONTROLLER_PORT": str(settings.kafka_controller_port),
        "PAGESTREAM_REGISTRY_PORT": str(settings.registry_port),
        "PAGESTREAM_S3_PORT": str(settings.s3_port),
        "PAGESTREAM_S3_ACCESS_KEY": settings.s3_access_key,
        "PAGESTREAM_S3_SECRET_KEY": settings.s3_secret_key,
        "PAGESTREAM_BRIDGE_PORT": str(settings.bridge_port),
        "PAGESTREAM_METRICS_PORT": str(settings.metrics_port),
        "OMP_THREAD_LIMIT": "1",
        "ORT_DISABLE_TELEMETRY": "1",
    }


@dataclass
class ScriptService:
    """A service managed by an ``ops/`` script with start, stop and status subcommands."""

    name: str
    script: Path
    host: str
    port: int

    def start(self, settings: Settings) -> None:
        self._run(settings, "start")

    def stop(self, settings: Settings) -> None:
        self._run(settings, "stop")

    def running(self, settings: Settings) -> bool:
        return (
            subprocess.run(
                ["bash", str(self.script), "status"], env=service_env(settings), capture_output=True
            ).returncode
            == 0
        )

    def _run(self, settings: Settings, command: str) -> None:
        if not self.script.is_file():
            raise ServiceError(f"{self.script} not found: set PAGESTREAM_OPS_DIR to the repository's ops/ folder")
        result = subprocess.run(
            ["bash", str(self.script), command], env=service_env(settings), capture_output=True, text=True
        )
        if result.returncode != 0:
            raise ServiceError(f"{self.name} {command} failed:\n{result.stdout}{result.stderr}")

    def describe(self, settings: Settings) -> dict:
        return {"service": self.name, "running": self.running(settings), "address": f"{self.host}:{self.port}"}


@dataclass
class ProcessService:
    """A Python process started here in its own session, tracked by a pid file."""

    name: str
    command: list[str]
    ready: Callable[[Path], bool]  # given the log file
    address: str
    start_timeout: float = 60.0

    def pid_file(self, settings: Settings) -> Path:
        return settings.run_dir / f"{self.name}.pid"

    def log_file(self, settings: Settings) -> Path:
        return settings.log_dir / f"{self.name}.log"

    def pid(self, settings: Settings) -> int | None:
        path = self.pid_file(settings)
        try:
            pid = int(path.read_text())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def running(self, settings: Settings) -> bool:
        return self.pid(settings) is not None

    def start(self, settings: Settings) -> None:
        if self.running(settings):
            return
        settings.run_dir.mkdir(parents=True, exist_ok=True)
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_file(settings)
        if log.exists():
            log.replace(log.with_suffix(".log.1"))  # readiness is read from this run's log only
        with log.open("wb") as out:
            proc = subprocess.Popen(
                self.command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=service_env(settings),
                start_new_session=True,
                cwd=settings.state_dir,
            )
        self.pid_file(settings).write_text(str(proc.pid))

        def is_ready() -> bool:
            if proc.poll() is not None:
                raise ServiceError(
                    f"{self.name} exited with code {proc.returncode}; log: {log}\n"
                    + log.read_text(errors="replace")[-3000:]
                )
            return self.ready(log)

        wait_until(is_ready, self.start_timeout, self.name, log)

    def stop(self, settings: Settings, timeout: float = 20.0) -> None:
        pid = self.pid(settings)
        if pid is not None:
            with _suppress_missing():
                os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.2)
            if _alive(pid):
                with _suppress_missing():
                    os.killpg(pid, signal.SIGKILL)
        self.pid_file(settings).unlink(missing_ok=True)

    def describe(self, settings: Settings) -> dict:
        return {
            "service": self.name,
            "running": self.running(settings),
            "pid": self.pid(settings),
            "address": self.address,
            "log": str(self.log_file(settings)),
        }


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


class _suppress_missing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type | None, *_: object) -> bool:
        return exc_type is not None and issubclass(exc_type, ProcessLookupError)


def kafka(settings: Settings) -> ScriptService:
    return ScriptService("kafka", settings.ops_dir / "kafka" / "kafka.sh", settings.kafka_host, settings.kafka_port)


def registry(settings: Settings) -> ScriptService:
    return ScriptService(
        "registry", settings.ops_dir / "registry" / "registry.sh", settings.registry_host, settings.registry_port
    )


def object_store(settings: Settings) -> ScriptService:
    """The embedded S3 endpoint: MinIO built from the Go module proxy, data in the state dir."""
    return ScriptService("objectstore", settings.ops_dir / "minio" / "minio.sh", settings.s3_host, settings.s3_port)


def worker(settings: Settings, worker_id: int) -> ProcessService:
    """One Faust worker process (ready once Faust logs that it joined and started its agents)."""
    return ProcessService(
        f"worker-{worker_id}",
        [sys.executable, "-m", "pagestream.streams.cli", "worker", "--id", str(worker_id)],
        ready=lambda log: "Ready" in log.read_text(errors="replace"),
        address=f"consumer group {settings.app_id}, metrics on :{settings.metrics_port + worker_id}",
        start_timeout=180.0,
    )


def sink_ready(settings: Settings) -> bool:
    """The sink has its database (migrated) and consumes: ``pagestream sql`` answers from now on."""
    try:
        status = httpx.get(f"{settings.bridge_url}/v1/sink", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return False
    return status.get("state") in ("running", "retrying")


def bridge(settings: Settings) -> ProcessService:
    """The HTTP bridge (uploads, SSE, dashboard, /metrics) with the ClickHouse sink and SQL endpoint,
    ready once uvicorn has started it and the sink consumes."""
    return ProcessService(
        "bridge",
        [sys.executable, "-m", "pagestream.streams.cli", "bridge"],
        ready=lambda log: "Application startup complete" in log.read_text(errors="replace")
        and sink_ready(settings),
        address=f"http://{settings.bridge_host}:{settings.bridge_port}",
        start_timeout=120.0,
    )
