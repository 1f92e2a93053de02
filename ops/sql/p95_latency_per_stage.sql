-- Time each stage spends on a page: median, p95 and worst, from the per-page stage events.
SELECT
    stage,
    count() AS pages,
    round(quantile(0.5)(duration_ms)) AS p50_ms,
    round(quantile(0.95)(duration_ms)) AS p95_ms,
    max(duration_ms) AS max_ms
FROM stage_events FINAL
WHERE status = 'PAGE_DONE' AND duration_ms IS NOT NULL
GROUP BY stage
ORDER BY p95_ms DESC
