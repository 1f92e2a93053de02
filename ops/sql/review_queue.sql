-- Documents a person should look at: failed or partial results, newest first.
-- The latest version of each document through argMax (the alternative to FINAL): a
-- re-delivered or re-processed result replaces the older one.
SELECT
    doc_id,
    tenant,
    argMax(filename, completed_at) AS file,
    argMax(status, completed_at) AS result,
    argMax(page_count - pages_ok, completed_at) AS pages_without_result,
    argMax(error_code, completed_at) AS code,
    argMax(error_message, completed_at) AS reason,
    max(completed_at) AS completed
FROM documents
GROUP BY tenant, doc_id
HAVING result != 'OK'
ORDER BY completed DESC
LIMIT 100
