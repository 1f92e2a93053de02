"""The MLflow side of the classifier: where runs and models live, and which version serves.

By default MLflow keeps runs and the model registry in SQLite and artifacts in a folder, both in
the state dir, so nothing needs a server; ``PAGESTREAM_MLFLOW_TRACKING_URI`` points at a tracking
server (or another database) instead. Workers serve ``models:/<name>@<alias>``: the alias is
resolved to a version with ``MlflowClient``, that version is loaded once, and a
``ChampionWatcher`` re-resolves the alias every few seconds so a re-aliased model takes over
without a restart. Every prediction carries the version that made it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pagestream.agents.classify.classifier.model import DocTypeModel, DocTypePyfunc
from pagestream.streams.errors import PagestreamError
from pagestream.streams.settings import Settings

log = logging.getLogger(__name__)

EXPERIMENT = "pagestream-doctype"


class ClassifierUnavailable(PagestreamError):
    """No usable model: nothing registered under the alias, or the registered model is broken."""

    code = "classifier_unavailable"


def _quiet_mlflow() -> None:
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_TRACKING_INSECURE_TLS", "false")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.WARNING)


def client_for(settings: Settings):  # -> MlflowClient (mlflow is imported lazily: the ml extra)
    """A client on the configured tracking store and model registry, set as mlflow's default too."""
    _quiet_mlflow()
    import mlflow
    from mlflow import MlflowClient

    uri = settings.mlflow_uri
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def experiment_id(settings: Settings) -> str:
    """The classifier's experiment (created with artifacts in the state dir for a local store)."""
    client = client_for(settings)
    found = client.get_experiment_by_name(EXPERIMENT)
    if found is not None:
        return found.experiment_id
    location = settings.mlflow_artifacts.as_uri() if settings.mlflow_tracking_uri is None else None
    return client.create_experiment(EXPERIMENT, artifact_location=location)


@dataclass(frozen=True)
class Served:
    """The model a worker serves and where it came from."""

    name: str
    version: str
    run_id: str | None
    model: DocTypeModel
    load_seconds: float

    @property
    def label(self) -> str:
        """How events name the model: ``pagestream-doctype/3``."""
        return f"{self.name}/{self.version}"


def champion_version(settings: Settings) -> str | None:
    """The version the alias points to, or None when the model or the alias does not exist."""
    from mlflow.exceptions import MlflowException

    client = client_for(settings)
    try:
        return str(client.get_model_version_by_alias(settings.classifier_model, settings.classifier_alias).version)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            return None
        raise ClassifierUnavailable(f"the model registry at {settings.mlflow_uri} failed: {exc}") from exc


def load_version(settings: Settings, version: str) -> Served:
    """Load one registered version (the pyfunc and its head); any failure is ClassifierUnavailable."""
    import mlflow

    client = client_for(settings)
    uri = f"models:/{settings.classifier_model}/{version}"
    started = time.perf_counter()
    try:
        pyfunc = mlflow.pyfunc.load_model(uri)
        wrapper = pyfunc.unwrap_python_model()
        if not isinstance(wrapper, DocTypePyfunc):
            raise TypeError(f"expected a DocTypePyfunc model, found {type(wrapper).__name__}")
        run_id = client.get_model_version(settings.classifier_model, version).run_id
    except Exception as exc:  # MLflow, pickle, safetensors and shape errors all mean: cannot serve it
        raise ClassifierUnavailable(f"cannot load {uri}: {type(exc).__name__}: {exc}") from exc
    return Served(settings.classifier_model, version, run_id, wrapper.model, time.perf_counter() - started)


class ChampionWatcher:
    """Serves the version behind the alias and follows the alias when it moves.

    ``refresh`` does blocking registry calls: run it in a thread. ``current`` is swapped in one
    assignment, so readers always see a complete model. When the alias is missing or its model
    cannot be loaded, nothing is served and ``problem`` says why (pages are then typed ``other``
    with that reason); when only the registry is unreachable, the loaded model keeps serving.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.current: Served | None = None
        self.problem: str | None = "the classifier has not been loaded yet"
        self._lock = threading.Lock()
        self._failed_version: str | None = None

    @property
    def uri(self) -> str:
        return f"models:/{self.settings.classifier_model}@{self.settings.classifier_alias}"

    def refresh(self) -> bool:
        """Re-resolve the alias; load a new version if it moved. True when the model changed."""
        with self._lock:
            try:
                version = champion_version(self.settings)
            except Exception as exc:  # the registry is unreachable: keep serving what we have
                self.problem = f"model registry unreachable ({type(exc).__name__}: {exc})"
                log.warning("classifier: %s", self.problem)
                return False
            if version is None:
                self.current = None
                self.problem = f"no model registered as {self.uri}: train one ('pagestream train classifier')"
                return False
            if self.current is not None and self.current.version == version:
                return False
            if version == self._failed_version:
                return False  # already reported; wait for the alias to move again
            try:
                served = load_version(self.settings, version)
            except ClassifierUnavailable as exc:
                self.current, self._failed_version = None, version
                self.problem = str(exc)
                log.error("classifier: %s", exc)
                return False
            previous = self.current
            self.current, self.problem, self._failed_version = served, None, None
            log.info(
                "classifier: serving %s (%s) after %.2f s (was %s)",
                served.label,
                self.uri,
                served.load_seconds,
                previous.label if previous else "none",
            )
            return True
