"""The kernel: Faust app, settings, topics, Avro codec and registry glue, errors, offsets, metrics,
retry policy. It imports no stage, connector or CLI; the CLI and the drills live in ``cli``."""
