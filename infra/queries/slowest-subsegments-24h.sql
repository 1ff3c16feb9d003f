-- Slowest subsegments in the last 24 hours: each key's worst 5-minute p99, its mean p99 and
-- request, error and fault counts, with the trace IDs of its slowest window.
SELECT
  key,
  service,
  name,
  aws_operation,
  aws_resource,
  SUM("count") AS requests,
  ROUND(MAX(p99_ms), 3) AS worst_p99_ms,
  ROUND(AVG(p99_ms), 3) AS mean_p99_ms,
  ROUND(MAX(max_ms), 3) AS max_ms,
  SUM(error_count) AS errors,
  SUM(fault_count) AS faults,
  MAX_BY(exemplar_trace_ids, p99_ms) AS slowest_window_trace_ids
FROM subsegment_stats
WHERE kind = 'subsegment'
  AND CAST(dt AS VARCHAR) >= CAST(CAST(current_timestamp - INTERVAL '1' DAY AS DATE) AS VARCHAR)
  AND window_start >= current_timestamp - INTERVAL '1' DAY
GROUP BY key, service, name, aws_operation, aws_resource
ORDER BY worst_p99_ms DESC
LIMIT 25
