"""The classify stage: pages.layout → pages.classified. ``core`` decides a document's type from
its pages' votes, ``classifier`` is the model (embeddings, head, MLflow training and serving);
``agent`` binds them to their topics."""
