/**
 * The demo shop: names, addresses and latency profiles of its services and dependencies. Kept
 * apart from the generator so a test or a benchmark can read what "normal" is.
 */

export const REGION = 'us-east-1';
export const ACCOUNT_ID = '123456789012';

export const API_STAGE_NAME = 'shop-api/prod';
export const REST_API_ID = 'k3v9q2x7za';
export const API_HOST = `${REST_API_ID}.execute-api.${REGION}.amazonaws.com`;

export const ORDERS_API = 'orders-api';
export const ORDER_WORKER = 'order-worker';
export const INVENTORY = 'inventory';

export const ORDERS_TABLE = 'orders';
export const CUSTOMERS_TABLE = 'customers';
export const INVOICES_BUCKET = 'shop-invoices';
export const ORDER_EVENTS_QUEUE = 'order-events';
export const ORDER_EVENTS_QUEUE_URL = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT_ID}/${ORDER_EVENTS_QUEUE}`;
export const PAYMENTS_HOST = 'payments.example.com';
export const INVENTORY_HOST = 'inventory.shop.internal';
export const INVENTORY_DB_HOST = 'inventory-db.cluster-c7xq2n4k8m1p.us-east-1.rds.amazonaws.com';
/** The SQL subsegment name, as the X-Ray SDKs write it: `<database>@<host>`. */
export const INVENTORY_SQL_NAME = `inventory@${INVENTORY_DB_HOST}`;

export function functionArn(name: string): string {
  return `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${name}`;
}

/** `service.version` before and after the deploy that comes with the injected regression. */
export const SERVICE_VERSIONS: Readonly<Record<string, readonly [before: string, after: string]>> = {
  [ORDERS_API]: ['2.3.1', '2.4.0'],
  [ORDER_WORKER]: ['1.8.2', '1.9.0'],
  [INVENTORY]: ['0.14.3', '0.15.0'],
};

/** Median and 99th percentile of a latency, in milliseconds. */
export interface LatencyProfile {
  readonly p50: number;
  readonly p99: number;
}

/** Latency of each dependency call, client side (what the caller's subsegment measures). */
export const LATENCY = {
  dynamodb: {
    GetItem: { p50: 5, p99: 24 },
    Query: { p50: 7, p99: 32 },
    PutItem: { p50: 6.5, p99: 28 },
    UpdateItem: { p50: 7, p99: 30 },
  },
  s3: {
    GetObject: { p50: 24, p99: 60 },
    PutObject: { p50: 38, p99: 95 },
  },
  sqsSendMessage: { p50: 11, p99: 42 },
  payments: { p50: 120, p99: 900 },
  sql: {
    select: { p50: 3.5, p99: 15 },
    update: { p50: 6, p99: 22 },
  },
  /** Handler code between two calls (JSON parsing, mapping, validation). */
  compute: { p50: 0.35, p99: 3 },
  /** The ECS service's own work around its queries. */
  inventoryHandler: { p50: 0.8, p99: 4 },
  /** Lambda `Initialization` on a cold start; the brief range is 200–900 ms. */
  coldStart: { p50: 380, p99: 850 },
  /** SQS → Lambda event source mapping delay before the worker's trace starts. */
  sqsDelivery: { p50: 45, p99: 900 },
} as const satisfies Record<string, LatencyProfile | Record<string, LatencyProfile>>;

export const COLD_START_RANGE_MS = [200, 900] as const;
export const COLD_START_PROBABILITY = 0.02;

/** The API routes and how often each is called. */
export const ROUTES = [
  { route: 'getOrder', method: 'GET', weight: 0.4 },
  { route: 'listOrders', method: 'GET', weight: 0.3 },
  { route: 'createOrder', method: 'POST', weight: 0.2 },
  { route: 'getStock', method: 'GET', weight: 0.1 },
] as const;
export type Route = (typeof ROUTES)[number]['route'];

/** How often things go wrong, per call. */
export const FAILURE_RATES = {
  /**
   * DynamoDB `ProvisionedThroughputExceededException` after the SDK's retries; ×3 in a burst.
   * Kept under 1 % even in a burst so throttles alone never move a window's p99.
   */
  dynamodbThrottle: 0.001,
  burstThrottleMultiplier: 3,
  paymentsFault: 0.006,
  paymentsThrottle: 0.004,
  /** GET /orders/{id} for an order that does not exist. */
  orderNotFound: 0.02,
  /** POST /orders with an invalid body, rejected before any call. */
  invalidOrder: 0.01,
  /** Out of stock: inventory answers 409 and the order is refused. */
  outOfStock: 0.015,
  /** A rare pause (GC, network) that multiplies one call's latency. */
  latencyHiccup: 0.003,
} as const;

export const USER_AGENTS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'shop-mobile/5.2.0 (Android 14; Pixel 8)',
  'okhttp/4.12.0',
] as const;
