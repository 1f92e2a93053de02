"""The assemble stage: pages.classified → docs.assembled. ``core`` gathers a document's pages and
builds its record with no Kafka in sight; ``agent`` binds it to its topics and table."""
