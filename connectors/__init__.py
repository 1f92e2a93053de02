"""Connections to the outside: object store, local services, the producer/consumer client."""
