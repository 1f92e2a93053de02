-- Document types per tenant, with the classifier's mean confidence and the validation verdicts.
-- doc_type is NULL until a classifier decides a type: those count as 'unclassified'.
SELECT
    tenant,
    ifNull(doc_type, 'unclassified') AS type,
    count() AS documents,
    sum(page_count) AS pages,
    round(avg(doc_type_confidence), 3) AS mean_type_confidence,
    countIf(validation_status = 'OK') AS valid,
    countIf(validation_status = 'NEEDS_REVIEW') AS needs_review,
    countIf(validation_status = 'FAILED') AS invalid
FROM documents FINAL
GROUP BY tenant, type
ORDER BY tenant, documents DESC
