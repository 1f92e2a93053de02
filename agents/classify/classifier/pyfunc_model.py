"""MLflow "model from code" entry: logged with each model version and run when it is loaded.

Loading it builds the pyfunc wrapper, whose ``load_context`` reads the version's own head; the
code itself comes from the installed pagestream package, so no pickled Python travels with models.
"""

from mlflow.models import set_model

from pagestream.agents.classify.classifier.model import DocTypePyfunc

set_model(DocTypePyfunc())
