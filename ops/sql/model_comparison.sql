-- Champion against challenger on the same documents: the pipeline's own results (documents,
-- typed by the model that served at the time) and every model that replayed them (model_runs,
-- written by `pagestream replay --model-alias ...`). Per model: documents, mean confidence,
-- agreement of doc_type with the pipeline's result, and accuracy against the true types
-- (labels, from `pagestream submit --label`) where a document has one.
WITH
    runs AS (
        SELECT tenant, doc_id, model_alias, model_name, model_version, doc_type, doc_type_confidence
        FROM model_runs FINAL
    ),
    served AS (
        SELECT tenant, doc_id, doc_type, doc_type_confidence, versions['classifier'] AS version
        FROM documents FINAL
        WHERE (tenant, doc_id) IN (SELECT tenant, doc_id FROM runs)
    ),
    truth AS (SELECT tenant, doc_id, doc_type AS label FROM labels FINAL),
    compared AS (
        SELECT 'pipeline' AS source, served.version AS model, served.doc_type AS doc_type,
               served.doc_type_confidence AS confidence, served.doc_type AS pipeline_type, truth.label AS label
        FROM served
        LEFT JOIN truth ON served.tenant = truth.tenant AND served.doc_id = truth.doc_id
        UNION ALL
        SELECT concat('replay @', runs.model_alias), concat(runs.model_name, '/', runs.model_version), runs.doc_type,
               runs.doc_type_confidence, served.doc_type, truth.label
        FROM runs
        LEFT JOIN served ON runs.tenant = served.tenant AND runs.doc_id = served.doc_id
        LEFT JOIN truth ON runs.tenant = truth.tenant AND runs.doc_id = truth.doc_id
    )
SELECT
    source,
    model,
    count() AS documents,
    round(avg(confidence), 4) AS mean_confidence,
    round(countIf(doc_type = pipeline_type) / count(), 3) AS agreement_with_pipeline,
    countIf(label != '') AS labelled,
    round(countIf(label != '' AND doc_type = label) / nullIf(countIf(label != ''), 0), 3) AS accuracy
FROM compared
GROUP BY source, model
ORDER BY source, model
