"""The document-type classifier: page embeddings, a trained head, MLflow training and serving.

Nothing here may reach the network at run time: the model hubs are switched off (the encoder's
weights come from a package) and MLflow's and the hub's usage telemetry are disabled, before
any of those libraries is imported.
"""

import os

for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ.setdefault(_name, _value)
