-- Documents and pages completed per minute over the last day.
-- FINAL reads one row per document even before ClickHouse merged re-delivered copies.
SELECT
    toStartOfMinute(completed_at) AS minute,
    count() AS documents,
    sum(page_count) AS pages,
    round(sum(page_count) / 60, 3) AS pages_per_second
FROM documents FINAL
WHERE completed_at >= now64(3) - INTERVAL 1 DAY
GROUP BY minute
ORDER BY minute
