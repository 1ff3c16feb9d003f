import { describe, expect, it } from 'vitest';
import { functionName, queueName, topicName } from '../../lib/core/aws-names.js';

describe('AWS resource names in keys', () => {
  it('names a queue by the last part of its URL, trailing slash or not', () => {
    expect(queueName('https://sqs.us-east-1.amazonaws.com/123456789012/order-events')).toBe('order-events');
    expect(queueName('https://sqs.us-east-1.amazonaws.com/123456789012/order-events/')).toBe('order-events');
    expect(queueName('order-events')).toBe('order-events');
  });

  it('names a topic by the last part of its ARN', () => {
    expect(topicName('arn:aws:sns:us-east-1:123456789012:orders')).toBe('orders');
    expect(topicName('orders')).toBe('orders');
  });

  it('names a function from an ARN, dropping a qualifier, and keeps a plain name', () => {
    expect(functionName('arn:aws:lambda:us-east-1:123456789012:function:orders-api')).toBe('orders-api');
    expect(functionName('arn:aws:lambda:us-east-1:123456789012:function:orders-api:live')).toBe('orders-api');
    expect(functionName('orders-api')).toBe('orders-api');
    expect(functionName('not-an-arn:function:x')).toBe('not-an-arn:function:x');
  });
});
