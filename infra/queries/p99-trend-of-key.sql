-- p50, p99 and request count of one key per window over the last 7 days, oldest first, to chart
-- its trend. Edit the key in `params` (the `key` column of subsegment_stats).
WITH params AS (
  SELECT 'orders > DynamoDB GetItem orders' AS key
)
SELECT
  st.window_start,
  st."count" AS requests,
  ROUND(st.p50_ms, 3) AS p50_ms,
  ROUND(st.p99_ms, 3) AS p99_ms,
  ROUND(st.max_ms, 3) AS max_ms,
  st.error_count,
  st.fault_count
FROM subsegment_stats st
CROSS JOIN params p
WHERE CAST(st.dt AS VARCHAR) >= CAST(CAST(current_timestamp - INTERVAL '7' DAY AS DATE) AS VARCHAR)
  AND st.window_start >= current_timestamp - INTERVAL '7' DAY
  AND st.key = p.key
ORDER BY st.window_start
