-- End to end: from submission to the assembled result, per tenant (seconds).
SELECT
    tenant,
    count() AS documents,
    round(quantile(0.5)(dateDiff('millisecond', submitted_at, completed_at)) / 1000, 2) AS p50_s,
    round(quantile(0.95)(dateDiff('millisecond', submitted_at, completed_at)) / 1000, 2) AS p95_s,
    round(avg(dateDiff('millisecond', submitted_at, completed_at) / greatest(page_count, 1)) / 1000, 2) AS s_per_page
FROM documents FINAL
WHERE submitted_at IS NOT NULL AND page_count > 0
GROUP BY tenant
ORDER BY documents DESC
