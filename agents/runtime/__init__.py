"""What the stages' Faust agents share in a worker: the stage context (codecs, object store,
pools, emit, progress, dead letters), retries, and page text by claim check. Bindings only: the
stages' pure cores never import this package."""
