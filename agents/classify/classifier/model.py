"""The document-type model: MiniLM page embeddings plus layout statistics, and a softmax head.

The encoder is frozen (its weights come from a package, see ``encoder``); only the head is
trained: one linear layer over [embedding, standardised statistics], fitted with L-BFGS on a
class-balanced cross entropy with L2. The head is a few kilobytes (safetensors plus a JSON
config), so a registered model version is small and loads in milliseconds once the encoder is in
memory. ``DocTypePyfunc`` wraps it as an MLflow pyfunc model, which is what the registry holds.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pagestream.agents.classify.classifier.encoder import EncoderSpec, load_encoder
from pagestream.agents.classify.classifier.features import FEATURE_NAMES, layout_features

try:  # the pyfunc wrapper needs mlflow; training and serving import this module with it installed
    from mlflow.pyfunc import PythonModel
except ImportError:  # pragma: no cover - the ml extra is not installed
    PythonModel = object  # type: ignore[assignment,misc]

HEAD_WEIGHTS = "head.safetensors"
HEAD_CONFIG = "head.json"


@dataclass(frozen=True)
class HeadParams:
    """Training parameters of the head (logged to MLflow with every run)."""

    l2: float = 1e-3
    max_iter: int = 300
    feature_scale: float = 0.3  # weight of the layout statistics next to the unit-norm embedding


@dataclass(frozen=True)
class Prediction:
    """A page's type, the probability of that type, and the full distribution."""

    label: str
    confidence: float
    probs: dict[str, float]


class DocTypeModel:
    """Encoder + trained head; ``predict`` maps page texts to types."""

    def __init__(
        self,
        encoder: EncoderSpec,
        labels: list[str],
        weight: np.ndarray,
        bias: np.ndarray,
        feature_mean: np.ndarray,
        feature_std: np.ndarray,
        params: HeadParams,
    ) -> None:
        self.encoder_spec = encoder
        self.labels = labels
        self.weight = weight.astype(np.float32)
        self.bias = bias.astype(np.float32)
        self.feature_mean = feature_mean.astype(np.float32)
        self.feature_std = feature_std.astype(np.float32)
        self.params = params

    def inputs(self, embeddings: np.ndarray, features: np.ndarray) -> np.ndarray:
        """The head's input: embedding beside the standardised, scaled statistics."""
        scaled = (features - self.feature_mean) / self.feature_std * self.params.feature_scale
        return np.hstack([embeddings, scaled]).astype(np.float32)

    def probabilities(self, embeddings: np.ndarray, features: np.ndarray) -> np.ndarray:
        logits = self.inputs(embeddings, features) @ self.weight + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, texts: list[str]) -> list[Prediction]:
        """Types of page texts (embedding in this thread; call it off the event loop)."""
        if not texts:
            return []
        embeddings = load_encoder(self.encoder_spec).embed(texts)
        features = np.stack([layout_features(t) for t in texts])
        probs = self.probabilities(embeddings, features)
        out = []
        for row in probs:
            best = int(row.argmax())
            probs = {label: float(p) for label, p in zip(self.labels, row, strict=True)}
            out.append(Prediction(self.labels[best], float(row[best]), probs))
        return out

    def save(self, folder: Path) -> Path:
        from safetensors.numpy import save_file

        folder.mkdir(parents=True, exist_ok=True)
        save_file(
            {
                "weight": self.weight,
                "bias": self.bias,
                "feature_mean": self.feature_mean,
                "feature_std": self.feature_std,
            },
            str(folder / HEAD_WEIGHTS),
        )
        config = {
            "labels": self.labels,
            "encoder": asdict(self.encoder_spec),
            "features": list(FEATURE_NAMES),
            "params": asdict(self.params),
        }
        (folder / HEAD_CONFIG).write_text(json.dumps(config, indent=1))
        return folder

    @classmethod
    def load(cls, folder: Path) -> DocTypeModel:
        """A saved head; a missing or mismatching file is an error that names it."""
        from safetensors.numpy import load_file

        config = json.loads((folder / HEAD_CONFIG).read_text())
        if config["features"] != list(FEATURE_NAMES):
            raise ValueError(f"head in {folder} was trained on other layout statistics: {config['features']}")
        tensors = load_file(str(folder / HEAD_WEIGHTS))
        model = cls(
            EncoderSpec(**config["encoder"]),
            config["labels"],
            tensors["weight"],
            tensors["bias"],
            tensors["feature_mean"],
            tensors["feature_std"],
            HeadParams(**config["params"]),
        )
        if model.weight.shape != (load_encoder(model.encoder_spec).dim + len(FEATURE_NAMES), len(model.labels)):
            raise ValueError(f"head in {folder} does not fit the encoder: weight shape {model.weight.shape}")
        return model


def fit_head(
    embeddings: np.ndarray, features: np.ndarray, labels: list[str], classes: list[str], encoder: EncoderSpec,
    params: HeadParams,
) -> DocTypeModel:
    """Fit the softmax head on embedded training pages (class-balanced, L2-regularised)."""
    import torch

    mean = features.mean(axis=0)
    std = features.std(axis=0) + 1e-3
    model = DocTypeModel(encoder, classes, np.zeros(0), np.zeros(0), mean, std, params)
    x = torch.from_numpy(model.inputs(embeddings, features))
    index = {c: i for i, c in enumerate(classes)}
    y = torch.tensor([index[label] for label in labels])
    counts = torch.bincount(y, minlength=len(classes)).float()
    class_weight = torch.where(counts > 0, counts.sum() / (len(classes) * counts.clamp(min=1)), torch.zeros(()))
    torch.manual_seed(0)
    weight = torch.zeros((x.shape[1], len(classes)), requires_grad=True)
    bias = torch.zeros(len(classes), requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=params.max_iter, line_search_fn="strong_wolfe")
    loss_fn = torch.nn.CrossEntropyLoss(weight=class_weight)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = loss_fn(x @ weight + bias, y) + params.l2 / 2 * (weight**2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return DocTypeModel(
        encoder, classes, weight.detach().numpy(), bias.detach().numpy(), mean, std, params
    )


class DocTypePyfunc(PythonModel):
    """MLflow pyfunc wrapper: page texts in, one {doc_type, confidence} per page out."""

    def load_context(self, context: Any) -> None:
        self.model = DocTypeModel.load(Path(context.artifacts["head"]))

    def predict(self, context: Any, model_input: list[str], params: dict[str, Any] | None = None) -> list[dict]:
        return [{"doc_type": p.label, "confidence": p.confidence} for p in self.model.predict(list(model_input))]
