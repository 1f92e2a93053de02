"""One typed settings object for every process of pagestream.

Values come from ``PAGESTREAM_*`` environment variables; the defaults describe the embedded local
setup that ``pagestream up`` starts (Kafka, schema registry and object store on 127.0.0.1), so a
new user needs to set nothing. Settings are immutable: a component receives the object it needs
instead of reading globals.

The fields are grouped by concern, one class per group, and ``Settings`` inherits them all: the
groups are what docs/configuration.md is generated from (``streams/settings_reference.py``),
while every component keeps reading flat attributes (``settings.bootstrap_servers``) and every
variable keeps its name (``PAGESTREAM_<FIELD>``, whichever group holds the field). A derived
value lives in the group of the fields it reads; one that combines groups lives on ``Settings``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_TESSDATA_CANDIDATES = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)


def _computed(factory: Callable[[], Any], shown: str, description: str) -> Any:
    """A default computed when the settings load (it depends on the machine or the working
    directory); ``shown`` is how the configuration reference prints it, so the generated page is
    the same on every machine."""
    return Field(default_factory=factory, description=description, json_schema_extra={"shown_default": shown})


class LocalSettings(BaseModel):
    """Local files: where pagestream keeps its state, finds its scripts and caches work."""

    state_dir: Path = _computed(
        lambda: Path.cwd() / ".pagestream",
        "`./.pagestream`",
        "Data, logs and pid files of the local services, the tenants' keys, embedded ClickHouse and "
        "the local MLflow store (git-ignored in a checkout).",
    )
    ops_dir: Path = _computed(
        lambda: Path(__file__).resolve().parents[1] / "ops",
        "the checkout's `ops/`",
        "The repository's ops/ folder: scripts that fetch and run the local Kafka, registry and "
        "object store, and the synthetic document generator used to train the classifier.",
    )
    cache_dir: Path = _computed(
        lambda: Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pagestream",
        "`$XDG_CACHE_HOME/pagestream`, else `~/.cache/pagestream`",
        "Training caches (page embeddings, OCR text of held-out pages).",
    )

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"


class KafkaSettings(BaseModel):
    """Kafka: the broker, the consumer group, topics and the processing guarantee."""

    app_id: str = Field(
        default="pagestream",
        description="Faust app id: the workers' consumer group and the prefix of table changelog topics.",
    )
    kafka_host: str = Field(default="127.0.0.1", description="Host of the local broker.")
    kafka_port: int = Field(default=9092, description="Port of the local broker.")
    kafka_controller_port: int = Field(default=9093, description="KRaft controller port of the local broker.")
    kafka_bootstrap: str | None = Field(
        default=None,
        description="Bootstrap servers of an external Kafka cluster (host:port,...); default: the local broker.",
    )
    kafka_session_timeout_s: float = Field(
        default=10.0, description="A dead worker's partitions move to the others after this long without heartbeats."
    )
    processing_guarantee: Literal["at_least_once"] = Field(
        default="at_least_once",
        description="Faust's processing guarantee: `at_least_once` only (sinks and assembly deduplicate). "
        "`exactly_once` was removed: under Faust's Kafka transactions pages stalled and were lost; why, "
        "and what exactly-once would take, is in [Delivery guarantees](delivery.md#exactly-once-removed).",
    )
    topic_partitions: int = Field(default=4, description="Partitions of every topic that `pagestream up` creates.")
    topic_replication: int = Field(default=1, description="Replication factor of the topics and table changelogs.")

    @field_validator("processing_guarantee", mode="before")
    @classmethod
    def _no_exactly_once(cls, value: object) -> object:
        if value == "exactly_once":
            raise ValueError(
                "exactly_once was removed: under Faust's Kafka transactions pages stalled and were lost "
                "(docs/delivery.md, 'Exactly-once, removed'); the accepted value is at_least_once"
            )
        return value

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka_bootstrap or f"{self.kafka_host}:{self.kafka_port}"


class RegistrySettings(BaseModel):
    """Schema registry: where the Avro schemas are registered (Confluent REST API)."""

    registry_host: str = Field(default="127.0.0.1", description="Host of the local schema registry.")
    registry_port: int = Field(default=8081, description="Port of the local schema registry.")
    registry_url_override: str | None = Field(
        default=None,
        alias="PAGESTREAM_REGISTRY_URL",
        description="URL of a registry's Confluent-compatible API; default: the local Apicurio's "
        "`http://<host>:<port>/apis/ccompat/v7`.",
    )
    registry_topic: str = Field(
        default="_schemas",
        description="Not read by any component: the local Apicurio registry journals its schemas in the "
        "topic `kafkasql-journal` (set in ops/registry/registry.sh).",
    )

    @property
    def registry_url(self) -> str:
        return self.registry_url_override or f"http://{self.registry_host}:{self.registry_port}/apis/ccompat/v7"


class StorageSettings(BaseModel):
    """Object store: any S3 endpoint (MinIO locally) holding sources, page images and results."""

    s3_host: str = Field(default="127.0.0.1", description="Host of the local object store.")
    s3_port: int = Field(default=9000, description="S3 API port of the local object store.")
    s3_endpoint_override: str | None = Field(
        default=None,
        alias="PAGESTREAM_S3_ENDPOINT",
        description="URL of any S3 endpoint; default: the local store `http://<host>:<port>`.",
    )
    s3_access_key: str = Field(default="pagestream", description="S3 access key.")
    s3_secret_key: str = Field(
        default="pagestream-local", description="S3 secret key; the default is for the local embedded store only."
    )
    s3_bucket: str = Field(default="pagestream", description="Bucket of sources, page images and results.")
    s3_region: str = Field(default="us-east-1", description="Region the S3 client signs for.")
    presign_expiry_seconds: int = Field(default=3600, description="Lifetime of presigned upload and download URLs.")

    @property
    def s3_endpoint(self) -> str:
        return self.s3_endpoint_override or f"http://{self.s3_host}:{self.s3_port}"


class WorkerSettings(BaseModel):
    """Workers: how many, and how much CPU work each one runs at once."""

    workers: int = Field(default=1, description="Workers that `pagestream up` starts.")
    pool_processes: int = _computed(
        lambda: os.cpu_count() or 1,
        "the number of cores",
        "CPU processes per worker (rasterising, OCR, layout).",
    )
    ocr_concurrency: int = Field(default=0, description="Pages in flight per worker; 0 means twice `pool_processes`.")

    @property
    def in_flight_pages(self) -> int:
        return self.ocr_concurrency or 2 * self.pool_processes


class IngestSettings(BaseModel):
    """Ingest: rasterising PDFs and the born-digital fast path (the PDF's own text layer)."""

    render_dpi: int = Field(default=200, description="Resolution at which PDF pages are rasterised.")
    text_layer: bool = Field(default=True, description="Born-digital pages: use the PDF's text layer instead of OCR.")
    text_layer_min_chars: int = Field(
        default=20, description="A page's text layer with fewer characters than this is not usable: OCR it."
    )
    text_layer_max_garbage: float = Field(
        default=0.1, description="Share of unreadable characters above which a text layer is garbage: OCR it."
    )


class OcrSettings(BaseModel):
    """OCR: the engine (per deployment and per tenant), its languages, models and preprocessing."""

    ocr_engine: str = Field(
        default="tesseract",
        description="OCR engine: `tesseract`, `ppocr`, `paddleocr`, or a cascade `first>second` "
        "(a document's own `ocr_engine` wins, then its tenant's).",
    )
    ocr_tenant_engines: dict[str, str] = Field(
        default_factory=dict, description='Engine per tenant, as JSON: `{"tenant": "engine"}`.'
    )
    ocr_languages: str = Field(default="eng+deu+fra+nld", description="Tesseract's languages.")
    tessdata_dir: Path | None = Field(
        default=None,
        description="Tesseract's language data; default: `TESSDATA_PREFIX`, else Debian's tessdata folder.",
    )
    ocr_preprocess: str = Field(
        default="deskew,clahe",
        description="Comma-separated steps of `orient,deskew,clahe,denoise,binarize` (empty: none); "
        "see [OCR benchmarks](benchmarks.md) for why these two.",
    )
    ocr_model_dir: Path = _computed(
        lambda: Path.home() / ".cache" / "pagestream" / "paddleocr",
        "`~/.cache/pagestream/paddleocr`",
        "Where the `paddleocr` engine's model folders are generated.",
    )
    ocr_cascade_line_confidence: float = Field(
        default=0.75, description="Cascade: lines the first engine reads with less confidence go to the second."
    )
    ocr_cascade_page_fraction: float = Field(
        default=0.5, description="Cascade: a page with a larger share of such lines is read by the second engine whole."
    )
    ocr_malloc_tuning: bool = Field(
        default=True,
        description="Raise glibc's malloc mmap/trim thresholds in pool processes (less system time).",
    )

    def ocr_engine_for(self, tenant: str, asked: str | None = None) -> str:
        """The engine for a document: its own request, else its tenant's, else the deployment's."""
        return asked or self.ocr_tenant_engines.get(tenant) or self.ocr_engine

    @property
    def ocr_preprocess_steps(self) -> tuple[str, ...]:
        return tuple(s.strip() for s in self.ocr_preprocess.split(",") if s.strip())

    @cached_property
    def tessdata(self) -> Path | None:
        """Tesseract's language data: the setting, then TESSDATA_PREFIX, then Debian's path."""
        if self.tessdata_dir:
            return self.tessdata_dir
        env = os.environ.get("TESSDATA_PREFIX")
        if env:
            return Path(env)
        return next((Path(p) for p in _TESSDATA_CANDIDATES if Path(p).is_dir()), None)


class ClassifySettings(BaseModel):
    """Classification: the document-type model served from the MLflow model registry (the `ml` extra)."""

    mlflow_tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking store and model registry (a tracking server or database URI); default: "
        "SQLite in `<state_dir>/mlflow/mlflow.db`, artifacts in `<state_dir>/mlflow/artifacts`.",
    )
    classifier_model: str = Field(default="pagestream-doctype", description="The registered model workers serve.")
    classifier_alias: str = Field(default="champion", description="The alias of the version workers serve.")
    classifier_poll_seconds: float = Field(
        default=10.0, description="How often workers re-resolve the alias (a re-aliased model takes over)."
    )
    classifier_threads: int = Field(default=1, description="Torch threads per worker for page embeddings.")
    classifier_train_docs: int = Field(
        default=12, description="Generated documents per type when `up` trains the first model."
    )


class ValidateSettings(BaseModel):
    """Validation: when extracted fields are trusted, and the retrieval chunks it cuts the result into."""

    validation_min_confidence: float = Field(
        default=0.5, description="Extracted fields read with less confidence make the document need review."
    )
    chunk_max_tokens: int = Field(
        default=256,
        description="Largest chunk (`chunks.jsonl`, `docs.chunks`) in all-MiniLM-L6-v2 tokens, heading path and "
        "repeated table header included; 256 is what that model reads. A single table row that is longer "
        "stays whole.",
    )


class RetrySettings(BaseModel):
    """Retries: a message failing with a transient error is re-delivered to its stage after a delay
    (one retry topic per delay, at most 3), then quarantined (streams/retry_policy.py)."""

    retry_max_attempts: int = Field(
        default=4, description="Attempts in all before a transiently failing message is quarantined."
    )
    retry_backoff_seconds: str = Field(
        default="2,15,60",
        description="Delays before the retries, comma-separated (1 to 3, one retry topic each; "
        "later retries wait the last delay).",
    )

    @property
    def retry_delays(self) -> tuple[float, ...]:
        return tuple(float(s) for s in self.retry_backoff_seconds.split(",") if s.strip())


class LimitSettings(BaseModel):
    """Limits: what input is accepted, and how large events may grow before content goes by claim check."""

    max_upload_bytes: int = Field(
        default=100 * 1024 * 1024, description="Largest accepted file, 100 MiB by default (HTTP 413 beyond)."
    )
    max_request_body_bytes: int = Field(
        default=1024 * 1024, description="Bodies of `/v1` requests other than multipart uploads (HTTP 413 beyond)."
    )
    max_pages: int = Field(default=500, description="Most pages a document may have.")
    max_image_pixels: int = Field(
        default=80_000_000, description="Most pixels of one page after rendering; larger is a decompression bomb."
    )
    max_page_inches: float = Field(default=200.0, description="A page side longer than this is refused as absurd.")
    max_render_dpi: int = Field(default=600, description="Highest rendering resolution a submission may ask for.")
    max_inline_lines_bytes: int = Field(
        default=256_000, description="Bigger OCR/text-layer results of a page travel by claim check (`lines_uri`)."
    )
    max_event_bytes: int = Field(
        default=900_000,
        description="Above this, `DocumentCompleted` leaves page texts out (`text_inline=false`; read "
        "`result_uri`), keeping Kafka messages under the 1 MB default.",
    )


class BridgeSettings(BaseModel):
    """HTTP bridge: uploads, status, SSE streams, the dashboard and metrics endpoints (connectors/bridge)."""

    bridge_host: str = Field(default="127.0.0.1", description="Where the bridge and the workers' metrics listen.")
    bridge_port: int = Field(default=8000, description="Port of the HTTP bridge.")
    bridge_index_size: int = Field(default=10_000, description="Documents whose status the bridge keeps in memory.")
    bridge_rebuild_events: int = Field(
        default=50_000, description="Events per partition read back at start to rebuild the status index."
    )
    sse_keepalive_seconds: float = Field(default=15.0, description="Interval of SSE keep-alive comments.")
    sse_buffer_events: int = Field(
        default=10_000, description="Events an SSE client may fall behind before it is cut off (it then resumes)."
    )
    lag_interval_seconds: float = Field(default=5.0, description="How often the bridge measures consumer lag.")
    metrics_port: int = Field(default=9400, description="Worker N serves Prometheus metrics on `metrics_port` + N.")

    @property
    def bridge_url(self) -> str:
        return f"http://{self.bridge_host}:{self.bridge_port}"


class AnalyticsSettings(BaseModel):
    """Analytics: the ClickHouse sink and the SQL endpoint (both in the bridge's process)."""

    clickhouse_url: str | None = Field(
        default=None,
        description="A ClickHouse server (`http(s)://user:password@host:8123`); default: embedded chDB in "
        "`<state_dir>/clickhouse`.",
    )
    clickhouse_database: str = Field(default="pagestream", description="The analytics database.")
    sink_group: str = Field(
        default="pagestream-sink",
        description="Consumer group of the ClickHouse sink (a new one reads the topics from the beginning).",
    )
    sink_batch_rows: int = Field(
        default=5000, description="The sink writes a batch when this many rows are buffered ..."
    )
    sink_batch_seconds: float = Field(default=1.0, description="... or when the oldest buffered row is this old.")
    sink_retry_max_seconds: float = Field(
        default=30.0, description="Longest wait between write attempts while ClickHouse is down."
    )
    sql_max_rows: int = Field(default=10_000, description="Rows `POST /v1/sql` returns at most.")
    sql_timeout_seconds: float = Field(default=30.0, description="Time limit of a `POST /v1/sql` query.")
    sql_max_memory_bytes: int = Field(
        default=256 * 1024 * 1024,
        description="Memory one `POST /v1/sql` query may use (a per-query limit set on the session, which "
        "a query cannot change).",
    )
    sql_max_rows_read: int = Field(default=200_000_000, description="Rows one `POST /v1/sql` query may read.")
    sql_max_result_bytes: int = Field(
        default=64 * 1024 * 1024, description="Size of the result one `POST /v1/sql` query may build."
    )
    sql_workers: int = Field(
        default=2, description="SQL queries running at once over all tenants (one per tenant, round robin)."
    )
    sql_max_waiting: int = Field(default=8, description="Queries one tenant may have waiting; beyond, 429.")


class SecuritySettings(BaseModel):
    """Security: tenant API keys, rate limits and tenant-scoped SQL on the bridge (connectors/tenants.py)."""

    auth: Literal["off", "on"] = Field(
        default="off",
        description="`on`: an API key is required on every `/v1` request and reads are scoped to its tenant; "
        "`off` (local use) is allowed on a loopback host only.",
    )
    api_key: str | None = Field(
        default=None, description="The key the CLI (`pagestream sql`) and the Python client send."
    )
    rate_limit_per_second: float = Field(
        default=50.0,
        description="With auth on, a token bucket per tenant for `/v1` requests: refill per second (429 beyond).",
    )
    rate_limit_burst: int = Field(default=200, description="Requests a tenant may make at once.")
    auth_failures_burst: int = Field(
        default=20, description="Unknown keys a client address may send before it must wait ..."
    )
    auth_failures_per_second: float = Field(
        default=0.5,
        description="... for this refill (each check costs a scrypt hash); then unknown keys get 429, valid ones pass.",
    )
    auth_check_workers: int = Field(
        default=1,
        description="Threads checking keys not seen before (a scrypt hash each): bounds their CPU.",
    )
    operator_tenants: list[str] = Field(
        default_factory=list,
        description="With auth on, tenants whose keys may read the global operational views (`/v1/sink`, "
        '`/v1/lag`), as JSON: `["ops"]`.',
    )
    sql_tenant_readers: int = Field(default=16, description="Per-tenant read-only ClickHouse sessions kept open.")


class DrillSettings(BaseModel):
    """Testing: knobs for the test suites and fault drills, off by default; leave them alone in production.

    (Not called ``Test...``: pytest would try to collect the class wherever a test imports it.)
    """

    faults: dict[str, int] = Field(
        default_factory=dict,
        description='Fault injection, as JSON `{"STAGE:tenant": K}`: STAGE (`INGEST`, `OCR` or `ASSEMBLE`) fails '
        "with a transient error on the first K attempts of every message of that tenant.",
    )
    fuzz_seconds: float = Field(
        default=3.0,
        description="How long the tests fuzz each target (the upload endpoint, the Avro decoding; hypothesis).",
    )


class Settings(
    LocalSettings,
    KafkaSettings,
    RegistrySettings,
    StorageSettings,
    WorkerSettings,
    IngestSettings,
    OcrSettings,
    ClassifySettings,
    ValidateSettings,
    RetrySettings,
    LimitSettings,
    BridgeSettings,
    AnalyticsSettings,
    SecuritySettings,
    DrillSettings,
    BaseSettings,
):
    """Configuration of pagestream (environment variables ``PAGESTREAM_<FIELD>``)."""

    model_config = SettingsConfigDict(env_prefix="PAGESTREAM_", frozen=True, extra="ignore")

    @property
    def tenants_file(self) -> Path:
        """Tenants and their hashed API keys."""
        return self.state_dir / "tenants.json"

    @property
    def clickhouse_dsn(self) -> str:
        """The clickhouse-connect DSN: the server by URL, else chDB in ``<state_dir>/clickhouse``."""
        return self.clickhouse_url or f"chdb://{(self.state_dir / 'clickhouse').resolve()}"

    @property
    def mlflow_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.state_dir / 'mlflow' / 'mlflow.db'}"

    @property
    def mlflow_artifacts(self) -> Path:
        """Artifact folder of the local MLflow store (unused with a tracking server)."""
        return self.state_dir / "mlflow" / "artifacts"


def load_settings() -> Settings:
    """Read the settings from the environment (a fresh object each call: no global state)."""
    return Settings()
