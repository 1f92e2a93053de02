"""One typed settings object for every process of pagestream.

Values come from ``PAGESTREAM_*`` environment variables; the defaults describe the embedded local
setup that ``pagestream up`` starts (Kafka, schema registry and object store on 127.0.0.1), so a
new user needs to set nothing. Settings are immutable: a component receives the object it needs
instead of reading globals.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

_TESSDATA_CANDIDATES = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)


class Settings(BaseSettings):
    """Configuration of pagestream (environment variables ``PAGESTREAM_<FIELD>``)."""

    model_config = SettingsConfigDict(env_prefix="PAGESTREAM_", frozen=True, extra="ignore")

    # Where local services keep data, logs and pid files (git-ignored in a checkout).
    state_dir: Path = Field(default_factory=lambda: Path.cwd() / ".pagestream")
    # The repository's ops/ folder (scripts for local Kafka); found beside the sources by default.
    ops_dir: Path = Field(default_factory=lambda: Path(__file__).resolve().parents[1] / "ops")

    app_id: str = "pagestream"
    kafka_host: str = "127.0.0.1"
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    kafka_bootstrap: str | None = None  # an external cluster; default is the local broker
    # A dead worker's partitions move to the others after this long without heartbeats.
    kafka_session_timeout_s: float = 10.0
    # Faust's processing guarantee: at_least_once (sinks and assembly deduplicate) or exactly_once
    # (Kafka transactions); README records what each measured under the chaos run.
    processing_guarantee: Literal["at_least_once", "exactly_once"] = "at_least_once"
    topic_partitions: int = 4
    topic_replication: int = 1

    registry_host: str = "127.0.0.1"
    registry_port: int = 8081
    registry_url_override: str | None = Field(default=None, alias="PAGESTREAM_REGISTRY_URL")
    registry_topic: str = "_schemas"

    s3_host: str = "127.0.0.1"
    s3_port: int = 9000
    s3_endpoint_override: str | None = Field(default=None, alias="PAGESTREAM_S3_ENDPOINT")
    s3_access_key: str = "pagestream"
    s3_secret_key: str = "pagestream-local"  # local embedded store only; set a real one in prod
    s3_bucket: str = "pagestream"
    s3_region: str = "us-east-1"

    workers: int = 1
    pool_processes: int = Field(default_factory=lambda: os.cpu_count() or 1)
    ocr_concurrency: int = 0  # pages in flight per worker; 0 = 2 x pool_processes

    render_dpi: int = 200
    max_render_dpi: int = 600
    max_upload_bytes: int = 100 * 1024 * 1024
    max_pages: int = 500
    max_image_pixels: int = 80_000_000  # per page, after rendering; larger is a bomb
    max_page_inches: float = 200.0  # a page side longer than this is absurd

    ocr_engine: str = "tesseract"  # tesseract, ppocr, paddleocr, or a cascade first>second
    ocr_tenant_engines: dict[str, str] = Field(default_factory=dict)  # JSON: {"tenant": "engine"}
    ocr_languages: str = "eng+deu+fra+nld"
    tessdata_dir: Path | None = None
    ocr_preprocess: str = "deskew,clahe"  # of orient, deskew, clahe, denoise, binarize (docs/benchmarks.md)
    ocr_model_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "pagestream" / "paddleocr")
    ocr_cascade_line_confidence: float = 0.75  # lines below go to the cascade's second engine
    ocr_cascade_page_fraction: float = 0.5  # more doubtful lines than this: the whole page
    ocr_malloc_tuning: bool = True  # glibc malloc thresholds for pool processes (less system time)
    text_layer: bool = True  # born-digital pages: use the PDF's text layer instead of OCR
    text_layer_min_chars: int = 20  # fewer characters: no usable text layer
    text_layer_max_garbage: float = 0.1  # share of unreadable characters above which it is garbage
    max_inline_lines_bytes: int = 256_000  # bigger OCR/text-layer results travel by claim check

    max_event_bytes: int = 900_000  # keep Kafka messages under the 1 MB default

    # Retries (streams/retry_policy.py): a message failing with a transient error is re-delivered to
    # its stage after these delays (one retry topic per delay, at most 3), then quarantined after
    # retry_max_attempts attempts in all.
    retry_max_attempts: int = 4
    retry_backoff_seconds: str = "2,15,60"
    # Fault injection for tests and drills: {"STAGE:tenant": K} makes STAGE (INGEST or OCR) fail
    # with a transient error on the first K attempts of every message of that tenant.
    faults: dict[str, int] = Field(default_factory=dict)

    validation_min_confidence: float = 0.5  # extracted fields below this need review

    # HTTP bridge (connectors/bridge): uploads, SSE, dashboard, /metrics, and the SQL endpoint with
    # the ClickHouse sink in the same process; workers serve their metrics on metrics_port + id.
    bridge_host: str = "127.0.0.1"  # where the bridge and the workers' metrics listen
    bridge_port: int = 8000
    bridge_index_size: int = 10_000  # documents whose status the bridge keeps in memory
    bridge_rebuild_events: int = 50_000  # per partition, read back at start to rebuild the index
    sse_keepalive_seconds: float = 15.0
    sse_buffer_events: int = 10_000  # per stream; a client further behind is cut off and resumes
    lag_interval_seconds: float = 5.0
    metrics_port: int = 9400  # worker N serves Prometheus metrics on metrics_port + N
    # A ClickHouse server (http(s)://user:password@host:8123); default: embedded chDB in the state dir.
    clickhouse_url: str | None = None
    clickhouse_database: str = "pagestream"
    sink_group: str = "pagestream-sink"  # consumer group of the ClickHouse sink
    sink_batch_rows: int = 5000  # flush when this many rows are buffered ...
    sink_batch_seconds: float = 1.0  # ... or when the oldest buffered row is this old
    sink_retry_max_seconds: float = 30.0  # longest wait between write attempts while ClickHouse is down
    sql_max_rows: int = 10_000  # rows returned by POST /v1/sql at most
    sql_timeout_seconds: float = 30.0
    # Per-query limits of POST /v1/sql, set on the session (a query cannot change them).
    sql_max_memory_bytes: int = 256 * 1024 * 1024
    sql_max_rows_read: int = 200_000_000
    sql_max_result_bytes: int = 64 * 1024 * 1024
    sql_workers: int = 2  # SQL queries running at once over all tenants (one per tenant, round robin)
    sql_max_waiting: int = 8  # queries one tenant may have waiting; beyond, 429
    max_request_body_bytes: int = 1024 * 1024  # bodies of /v1 requests other than multipart uploads (413)
    presign_expiry_seconds: int = 3600  # lifetime of presigned download and upload URLs
    # Tenant API keys on the bridge (connectors/tenants.py): "on" requires a key on every /v1
    # request and scopes reads to its tenant; "off" (local use) is allowed on a loopback host only.
    auth: Literal["off", "on"] = "off"
    api_key: str | None = None  # the key the CLI (pagestream sql) and the Python client send
    rate_limit_per_second: float = 50.0  # per tenant, /v1 requests (token bucket, 429 beyond)
    rate_limit_burst: int = 200  # requests a tenant may make at once
    auth_failures_burst: int = 20  # wrong keys a client address may send before it must wait ...
    auth_failures_per_second: float = 0.5  # ... for this refill, then unknown keys get 429, valid ones pass
    auth_check_workers: int = 1  # threads checking keys not seen before (a scrypt hash each): bounds their CPU
    # With auth on, tenants whose keys may read the global operational views (/v1/sink, /v1/lag).
    operator_tenants: list[str] = Field(default_factory=list)
    sql_tenant_readers: int = 16  # per-tenant read-only ClickHouse sessions kept open
    fuzz_seconds: float = 3.0  # how long the tests fuzz each target (hypothesis); longer on demand
    # Document classifier, served from the MLflow model registry (the ``ml`` extra).
    mlflow_tracking_uri: str | None = None  # tracking server or database URI; default SQLite in state_dir
    classifier_model: str = "pagestream-doctype"
    classifier_alias: str = "champion"
    classifier_poll_seconds: float = 10.0  # how often workers re-resolve the alias
    classifier_threads: int = 1  # torch threads per worker for page embeddings
    classifier_train_docs: int = 12  # generated documents per type when `up` trains the first model
    cache_dir: Path = Field(
        default_factory=lambda: Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pagestream"
    )

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka_bootstrap or f"{self.kafka_host}:{self.kafka_port}"

    @property
    def registry_url(self) -> str:
        return self.registry_url_override or f"http://{self.registry_host}:{self.registry_port}/apis/ccompat/v7"

    @property
    def s3_endpoint(self) -> str:
        return self.s3_endpoint_override or f"http://{self.s3_host}:{self.s3_port}"

    def ocr_engine_for(self, tenant: str, asked: str | None = None) -> str:
        """The engine for a document: its own request, else its tenant's, else the deployment's."""
        return asked or self.ocr_tenant_engines.get(tenant) or self.ocr_engine

    @property
    def ocr_preprocess_steps(self) -> tuple[str, ...]:
        return tuple(s.strip() for s in self.ocr_preprocess.split(",") if s.strip())

    @property
    def retry_delays(self) -> tuple[float, ...]:
        return tuple(float(s) for s in self.retry_backoff_seconds.split(",") if s.strip())

    @property
    def bridge_url(self) -> str:
        return f"http://{self.bridge_host}:{self.bridge_port}"

    @property
    def tenants_file(self) -> Path:
        """Tenants and their hashed API keys."""
        return self.state_dir / "tenants.json"

    @property
    def clickhouse_dsn(self) -> str:
        """The clickhouse-connect DSN: the server by URL, else chDB in ``<state_dir>/clickhouse``."""
        return self.clickhouse_url or f"chdb://{(self.state_dir / 'clickhouse').resolve()}"

    @property
    def in_flight_pages(self) -> int:
        return self.ocr_concurrency or 2 * self.pool_processes

    @cached_property
    def tessdata(self) -> Path | None:
        """Tesseract's language data: the setting, then TESSDATA_PREFIX, then Debian's path."""
        if self.tessdata_dir:
            return self.tessdata_dir
        env = os.environ.get("TESSDATA_PREFIX")
        if env:
            return Path(env)
        return next((Path(p) for p in _TESSDATA_CANDIDATES if Path(p).is_dir()), None)

    @property
    def mlflow_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.state_dir / 'mlflow' / 'mlflow.db'}"

    @property
    def mlflow_artifacts(self) -> Path:
        """Artifact folder of the local MLflow store (unused with a tracking server)."""
        return self.state_dir / "mlflow" / "artifacts"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"


def load_settings() -> Settings:
    """Read the settings from the environment (a fresh object each call: no global state)."""
    return Settings()
