-- Error (4xx), fault (5xx) and throttle rates by subsegment over the last 24 hours, worst first.
SELECT
  key,
  service,
  name,
  SUM("count") AS requests,
  SUM(error_count) AS errors,
  SUM(fault_count) AS faults,
  SUM(throttle_count) AS throttles,
  ROUND(CAST(SUM(error_count) AS DOUBLE) / SUM("count"), 4) AS error_rate,
  ROUND(CAST(SUM(fault_count) AS DOUBLE) / SUM("count"), 4) AS fault_rate,
  ROUND(CAST(SUM(throttle_count) AS DOUBLE) / SUM("count"), 4) AS throttle_rate
FROM subsegment_stats
WHERE CAST(dt AS VARCHAR) >= CAST(CAST(current_timestamp - INTERVAL '1' DAY AS DATE) AS VARCHAR)
  AND window_start >= current_timestamp - INTERVAL '1' DAY
GROUP BY key, service, name
HAVING SUM("count") > 0
ORDER BY fault_rate DESC, error_rate DESC, requests DESC
LIMIT 50
