import type { SpanNode } from '../../lib/core/model.js';

/** A complete subsegment with every optional field empty; `extra` overrides any field. */
export function spanNode(extra: Partial<SpanNode> = {}): SpanNode {
  return {
    traceId: '1-581cf771-a006649127e371903a2de979',
    id: '0000000000000001',
    parentId: null,
    kind: 'subsegment',
    name: 'span',
    origin: null,
    namespace: null,
    startMs: 0,
    endMs: 1,
    httpMethod: null,
    httpStatus: null,
    httpUrl: null,
    awsOperation: null,
    awsResource: null,
    sqlUrl: null,
    sqlDatabaseType: null,
    serviceVersion: null,
    error: false,
    fault: false,
    throttle: false,
    inferred: false,
    annotations: null,
    children: [],
    location: { source: 'test' },
    ...extra,
  };
}
