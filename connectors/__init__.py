"""Connections to the outside: object store and result files, ClickHouse, the HTTP/SSE bridge, and
the producer/consumer client."""
