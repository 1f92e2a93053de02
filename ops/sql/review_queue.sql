-- Documents a person should look at: validation says NEEDS_REVIEW or FAILED, or pages have no
-- result, newest first, with the rules that fired.
-- The latest version of each document through argMax (the alternative to FINAL): a
-- re-delivered or re-processed result replaces the older one.
SELECT
    d.doc_id,
    d.tenant,
    d.file,
    d.result,
    d.verdict,
    d.pages_without_result,
    d.code,
    arrayStringConcat(i.rules, ', ') AS rules,
    d.completed
FROM (
    SELECT
        doc_id,
        tenant,
        argMax(filename, completed_at) AS file,
        argMax(status, completed_at) AS result,
        argMax(validation_status, completed_at) AS verdict,
        argMax(page_count - pages_ok, completed_at) AS pages_without_result,
        argMax(error_code, completed_at) AS code,
        max(completed_at) AS completed
    FROM documents
    GROUP BY tenant, doc_id
    HAVING result != 'OK' OR verdict IN ('NEEDS_REVIEW', 'FAILED')
) AS d
LEFT JOIN (
    SELECT doc_id, groupUniqArray(rule) AS rules FROM validation_issues FINAL GROUP BY doc_id
) AS i ON d.doc_id = i.doc_id
ORDER BY d.completed DESC
LIMIT 100
