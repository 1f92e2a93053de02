-- Document types per tenant. doc_type stays NULL until classification reports types
-- (DocumentCompleted has no type yet), so every document counts as 'unclassified' for now.
SELECT
    tenant,
    ifNull(doc_type, 'unclassified') AS type,
    count() AS documents,
    sum(page_count) AS pages
FROM documents FINAL
GROUP BY tenant, type
ORDER BY tenant, documents DESC
