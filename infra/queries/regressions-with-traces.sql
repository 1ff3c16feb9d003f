-- Regressions found in the last 7 days, newest first: what got slower, by how much, since when,
-- with the slow trace IDs now and typical trace IDs from before (open them in the X-Ray console).
SELECT
  window_start,
  severity,
  key,
  kind,
  statistic,
  ROUND(baseline_ms, 3) AS baseline_ms,
  ROUND(current_ms, 3) AS current_ms,
  ROUND(ratio, 3) AS ratio,
  since,
  new_version,
  summary,
  exemplar_trace_ids,
  baseline_exemplar_trace_ids
FROM regressions
WHERE CAST(dt AS VARCHAR) >= CAST(CAST(current_timestamp - INTERVAL '7' DAY AS DATE) AS VARCHAR)
ORDER BY window_start DESC, ratio DESC
LIMIT 100
