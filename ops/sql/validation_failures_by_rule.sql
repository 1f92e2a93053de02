-- Validation rules that did not hold, by rule and severity ('error' fails the document,
-- 'review' sends it to a person), per document type, with an example message.
SELECT
    rule,
    severity,
    ifNull(doc_type, 'unclassified') AS type,
    count() AS issues,
    uniqExact(doc_id) AS documents,
    any(message) AS example
FROM validation_issues FINAL
GROUP BY rule, severity, type
ORDER BY issues DESC
