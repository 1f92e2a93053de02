-- Results per OCR engine and layout model version: volume, confidence, words per page,
-- share of documents that were not OK, and the OCR time per page of that engine version.
WITH
    docs AS (
        SELECT
            versions['ocr'] AS ocr,
            versions['layout'] AS layout,
            count() AS documents,
            sum(page_count) AS pages,
            round(sum(mean_confidence * word_count) / nullIf(sum(word_count), 0), 4) AS confidence,
            round(sum(word_count) / nullIf(sum(pages_ok), 0), 1) AS words_per_page,
            round(countIf(status != 'OK') / count(), 3) AS not_ok_share
        FROM documents FINAL
        WHERE page_count > 0
        GROUP BY ocr, layout
    ),
    ocr_time AS (
        SELECT versions['ocr'] AS ocr, round(quantile(0.95)(duration_ms)) AS ocr_p95_ms
        FROM stage_events FINAL
        WHERE stage = 'OCR' AND status = 'PAGE_DONE'
        GROUP BY ocr
    )
SELECT docs.ocr, docs.layout, documents, pages, confidence, words_per_page, not_ok_share, ocr_time.ocr_p95_ms
FROM docs
LEFT JOIN ocr_time ON docs.ocr = ocr_time.ocr
ORDER BY documents DESC
