"""ClickHouse analytics: tables and migrations, the Kafka sink that fills them, the SQL endpoint.

Embedded default: chDB through clickhouse-connect (``chdb://<state_dir>/clickhouse``); a real
server by ``PAGESTREAM_CLICKHOUSE_URL``. chDB lets one process own a data directory, so the sink
and the SQL endpoint run in one process (``http.ClickHouseService``).
"""
