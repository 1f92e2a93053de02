-- Failures from the dead-letter topic (pages.dlq) by stage and reason, with an example.
-- Stage SINK: messages on the result topics that the ClickHouse sink could not read.
SELECT
    stage,
    error_code,
    count() AS errors,
    uniqExact(doc_id) AS documents,
    any(message) AS example,
    max(at) AS last_seen
FROM errors FINAL
GROUP BY stage, error_code
ORDER BY errors DESC
