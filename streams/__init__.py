"""Faust app, settings, topics, Avro codec, schema registry glue and the CLI."""
