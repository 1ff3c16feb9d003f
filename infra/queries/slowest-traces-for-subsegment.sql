-- The slowest traces through one subsegment in the last 24 hours. Edit the service and name in
-- `params` (as in subsegment_stats; aws_operation may stay NULL to match any operation).
WITH params AS (
  SELECT
    'orders' AS service,
    'DynamoDB' AS name,
    CAST(NULL AS VARCHAR) AS aws_operation
)
SELECT
  s.trace_id,
  s.start_time,
  ROUND(s.duration_ms, 3) AS duration_ms,
  ROUND(s.self_ms, 3) AS self_ms,
  s.path,
  s.aws_operation,
  s.aws_resource,
  s.http_status,
  s.error,
  s.fault,
  s.throttle
FROM spans s
CROSS JOIN params p
WHERE CAST(s.dt AS VARCHAR) >= CAST(CAST(current_timestamp - INTERVAL '1' DAY AS DATE) AS VARCHAR)
  AND s.start_time >= current_timestamp - INTERVAL '1' DAY
  AND s.service = p.service
  AND s.name = p.name
  AND (p.aws_operation IS NULL OR s.aws_operation = p.aws_operation)
ORDER BY s.duration_ms DESC
LIMIT 20
