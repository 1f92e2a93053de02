"""Provisioning done once before workers start: topics, schemas, bucket.

Topics are created explicitly with the configured partition counts (so co-partitioned topics
really are), and schemas are registered ahead of time so no event loop waits on the registry.
"""

from __future__ import annotations

from confluent_kafka.admin import NewTopic

from pagestream.connectors.objectstore import ObjectStore
from pagestream.streams import kafka, topics
from pagestream.streams.codec import register_all, registry_client
from pagestream.streams.errors import ServiceError
from pagestream.streams.settings import Settings


def create_topics(settings: Settings) -> list[str]:
    """Create the pipeline's topics that do not exist yet; returns the names created."""
    admin = kafka.admin(settings)
    existing = set(admin.list_topics(timeout=30).topics)
    wanted = [
        NewTopic(spec.name, num_partitions=settings.topic_partitions, replication_factor=settings.topic_replication)
        for spec in topics.ALL_TOPICS
        if spec.name not in existing
    ]
    if not wanted:
        return []
    for name, future in admin.create_topics(wanted, operation_timeout=30).items():
        try:
            future.result()
        except Exception as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise ServiceError(f"cannot create topic {name}: {exc}") from exc
    return [t.topic for t in wanted]


def register_schemas(settings: Settings) -> dict[str, int]:
    return register_all(registry_client(settings.registry_url), topics.ALL_TOPICS)


def provision(settings: Settings) -> dict:
    created = create_topics(settings)
    ids = register_schemas(settings)
    ObjectStore(settings).ensure_bucket()
    return {"topics_created": created, "schema_ids": ids, "bucket": settings.s3_bucket}
