"""The validate stage: docs.assembled → docs.completed. ``core`` extracts fields per document type
and judges them (schemas, rules, MRZ, normal forms) with no Kafka in sight; ``agent`` binds it to
its topics and table."""
