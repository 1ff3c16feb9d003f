/**
 * How an AWS resource is named in a key, whichever source described it. The X-Ray and the
 * OpenTelemetry decoders both use these, so the same call gets the same key from either.
 */

/**
 * A queue by its name: the last part of its URL.
 *
 * @example queueName('https://sqs.us-east-1.amazonaws.com/123456789012/order-events') === 'order-events'
 */
export function queueName(url: string): string {
  return lastPart(url.replace(/\/+$/, ''), '/');
}

/**
 * A topic by its name: the last part of its ARN.
 *
 * @example topicName('arn:aws:sns:us-east-1:123456789012:orders') === 'orders'
 */
export function topicName(arn: string): string {
  return lastPart(arn, ':');
}

/**
 * A Lambda function by its name, also from an ARN (with or without a qualifier).
 *
 * @example functionName('arn:aws:lambda:us-east-1:123456789012:function:orders-api:live') === 'orders-api'
 */
export function functionName(value: string): string {
  // arn:aws:lambda:region:account:function:name[:qualifier]
  const marker = ':function:';
  const at = value.indexOf(marker);
  if (!value.startsWith('arn:') || at < 0) return value;
  return value.slice(at + marker.length).split(':')[0] || value;
}

function lastPart(value: string, separator: string): string {
  const at = value.lastIndexOf(separator);
  return at >= 0 && at < value.length - 1 ? value.slice(at + 1) : value;
}
