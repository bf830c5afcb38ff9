/**
 * Prometheus metrics of one process: a prom-client {@link Registry} of its own (never the global
 * one) with Node's process metrics, the orchestrator's counters and histograms, and gauges read
 * from Redis at scrape time. Parts take a {@link Telemetry} as an optional dependency and record
 * nothing without one.
 *
 * Every name starts with `cloudauth_orchestrator_`. Labels hold bounded values only (states,
 * actions, error codes, queue names, HTTP route patterns): never a TicketId or personal data.
 */
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type CounterConfiguration,
} from 'prom-client';
import { TicketState } from '../domain/ticket.js';
import type { Logger } from '../logger.js';
import type { TicketStore } from '../adapters/redis/ticket-store.js';
import {
  QUEUE_JOB_STATES,
  jobCounts,
  oldestWaitingAgeSeconds,
  type ObservedQueue,
} from '../adapters/bullmq/queue-stats.js';
import { withTimeLimit } from './time-limit.js';

/** The prefix of every metric name of the orchestrator. */
export const METRIC_PREFIX = 'cloudauth_orchestrator_';

/** Outcomes of a webhook delivery attempt. */
export const WEBHOOK_OUTCOMES = ['delivered', 'retried', 'dead_lettered'] as const;
/** One of {@link WEBHOOK_OUTCOMES}. */
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

/** Buckets of `provider_call_duration_seconds`, up to the default upload timeout (30 s). */
const CALL_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Buckets of `http_request_duration_seconds`: most answers take milliseconds (a read, a 401); an
 * intake of photos or a batch takes up to seconds.
 */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The `route` label of a request that matched no route (a 404, or refused before routing). */
export const UNMATCHED_ROUTE = '(unmatched)';

/** The methods counted by name; any other (WebDAV's, made-up ones) is counted as `OTHER`. */
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** One answered HTTP request, as {@link Telemetry.observeHttpRequest} records it. */
export interface HttpRequestObservation {
  method: string;
  /**
   * The route's pattern (`/v1/tickets/:ticketId`), never the path asked for: a path carries a
   * TicketId, which is unbounded and may be personal. Undefined: no route matched.
   */
  route: string | undefined;
  status: number;
  seconds: number;
}

/** Options of {@link Telemetry}. */
export interface TelemetryOptions {
  /** Collect prom-client's default process metrics (CPU, memory, event loop, GC). Default true. */
  defaultMetrics?: boolean;
  /** How long a scrape-time Redis read may take, in ms; a late one leaves its gauge empty. Default 2000. */
  collectTimeoutMs?: number;
  /** A failed scrape-time read is logged at warn. */
  logger?: Logger;
  clock?: () => number;
}

/** What the scrape-time gauges read. */
export interface TelemetrySources {
  /** `tickets` by state, from {@link TicketStore.countByState}. */
  store?: Pick<TicketStore, 'countByState'>;
  /** `queue_jobs` and `queue_oldest_waiting_age_seconds`, by queue name. */
  queues?: Readonly<Record<string, ObservedQueue>>;
}

/** Records the duration and outcome (`ok` or an error code) of one provider call. */
export type ProviderCallTimer = (outcome: string) => void;

/** The metrics of one process. Build one per process, in the composition root. */
export class Telemetry {
  /** The registry `GET /metrics` renders. */
  readonly registry: Registry;
  /** `tickets{state}`: tickets per state in the store, read at scrape time. */
  readonly tickets: Gauge<'state'>;
  /** `transitions_total{from,to}`: transitions applied. */
  readonly transitions: Counter<'from' | 'to'>;
  /** `provider_calls_total{action,outcome}`: Cloudauth and OSS calls, `ok` or the error code. */
  readonly providerCalls: Counter<'action' | 'outcome'>;
  /** `provider_call_duration_seconds{action}`: Cloudauth and OSS call durations. */
  readonly providerCallDuration: Histogram<'action'>;
  /** `retries_total{code}`: ticket job attempts that failed with a retryable error and will be retried. */
  readonly retries: Counter<'code'>;
  /** `throttled_total{action}`: Throttling answers, each blocking the action for every worker. */
  readonly throttled: Counter<'action'>;
  /** `token_renewals_total`: new GetVerifyTokens taken for a lease about to run out or refused. */
  readonly tokenRenewals: Counter;
  /** `queue_jobs{queue,state}`: BullMQ jobs per queue and state, read at scrape time. */
  readonly queueJobs: Gauge<'queue' | 'state'>;
  /** `queue_oldest_waiting_age_seconds{queue}`: how long the oldest waiting job has waited. */
  readonly queueOldestWaitingAge: Gauge<'queue'>;
  /** `webhook_deliveries_total{outcome}`: webhook delivery attempts by outcome. */
  readonly webhookDeliveries: Counter<'outcome'>;
  /** `http_requests_total{method,route,status}`: answered HTTP requests (see {@link observeHttpRequest}). */
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  /** `http_request_duration_seconds{method,route,status}`: from the request's arrival to its answer. */
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status'>;

  readonly #options: TelemetryOptions;
  readonly #clock: () => number;
  #store: Pick<TicketStore, 'countByState'> | undefined;
  readonly #queues = new Map<string, ObservedQueue>();

  constructor(options: TelemetryOptions = {}) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    const registry = new Registry();
    this.registry = registry;
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
    const counter = <L extends string>(c: CounterConfiguration<L>) =>
      new Counter<L>({ ...c, name: METRIC_PREFIX + c.name, registers: [registry] });

    const tickets: Gauge<'state'> = new Gauge({
      name: `${METRIC_PREFIX}tickets`,
      help: 'Tickets per state in the store (read at scrape time; every process sees the same store).',
      labelNames: ['state'],
      registers: [registry],
      collect: () => this.#collectTickets(tickets),
    });
    this.tickets = tickets;
    this.transitions = counter({
      name: 'transitions_total',
      help: 'Ticket transitions applied, by from and to state.',
      labelNames: ['from', 'to'],
    });
    this.providerCalls = counter({
      name: 'provider_calls_total',
      help: 'Cloudauth and OSS calls by action and outcome (ok, or the error code).',
      labelNames: ['action', 'outcome'],
    });
    this.providerCallDuration = new Histogram({
      name: `${METRIC_PREFIX}provider_call_duration_seconds`,
      help: 'Duration of Cloudauth and OSS calls, by action, in seconds.',
      labelNames: ['action'],
      buckets: CALL_BUCKETS,
      registers: [registry],
    });
    this.retries = counter({
      name: 'retries_total',
      help: 'Ticket job attempts that failed with a retryable error and will be retried, by code.',
      labelNames: ['code'],
    });
    this.throttled = counter({
      name: 'throttled_total',
      help: 'Throttling answers from Cloudauth, by action (each blocks the action for every worker).',
      labelNames: ['action'],
    });
    this.tokenRenewals = counter({
      name: 'token_renewals_total',
      help: 'New GetVerifyTokens taken for a lease about to run out or refused by the provider.',
    });
    const queueJobs: Gauge<'queue' | 'state'> = new Gauge({
      name: `${METRIC_PREFIX}queue_jobs`,
      help: 'BullMQ jobs per queue and state (read at scrape time).',
      labelNames: ['queue', 'state'],
      registers: [registry],
      collect: () => this.#collectQueueJobs(queueJobs),
    });
    this.queueJobs = queueJobs;
    const oldest: Gauge<'queue'> = new Gauge({
      name: `${METRIC_PREFIX}queue_oldest_waiting_age_seconds`,
      help: 'How long the oldest waiting job of each queue has waited, in seconds (0: none waits).',
      labelNames: ['queue'],
      registers: [registry],
      collect: () => this.#collectOldest(oldest),
    });
    this.queueOldestWaitingAge = oldest;
    this.webhookDeliveries = counter({
      name: 'webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome (delivered, retried, dead_lettered).',
      labelNames: ['outcome'],
    });
    for (const outcome of WEBHOOK_OUTCOMES) this.webhookDeliveries.inc({ outcome }, 0);
    this.httpRequests = counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route pattern ((unmatched) for none) and status.',
      labelNames: ['method', 'route', 'status'],
    });
    this.httpRequestDuration = new Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: 'Time from an HTTP request to its answer, by method, route pattern and status, in seconds.',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers: [registry],
    });
  }

  /**
   * Records one answered HTTP request. Every label is bounded: the method (else `OTHER`), the
   * route pattern the router matched (else {@link UNMATCHED_ROUTE}; never the raw path, whose
   * TicketIds are unbounded and personal) and the status code.
   */
  observeHttpRequest(request: HttpRequestObservation): void {
    const labels = {
      method: HTTP_METHODS.has(request.method) ? request.method : 'OTHER',
      route: request.route ?? UNMATCHED_ROUTE,
      status: String(request.status),
    };
    this.httpRequests.inc(labels);
    this.httpRequestDuration.observe(labels, request.seconds);
  }

  /** Sets (or adds to) what the scrape-time gauges read. */
  observe(sources: TelemetrySources): void {
    if (sources.store) this.#store = sources.store;
    for (const [name, queue] of Object.entries(sources.queues ?? {})) this.#queues.set(name, queue);
  }

  /** Starts timing a provider call; the answer records it once the outcome is known. */
  timeProviderCall(action: string): ProviderCallTimer {
    const stop = this.providerCallDuration.startTimer({ action });
    return (outcome) => {
      stop();
      this.providerCalls.inc({ action, outcome });
    };
  }

  /**
   * The registry rendered in Prometheus's text format. prom-client (15.1) writes a NaN sample as
   * `Nan`, where the exposition format spells it `NaN`: the event-loop lag's mean is NaN until the
   * first delay sample, so a scrape right after start-up would carry it.
   */
  async metrics(): Promise<string> {
    return (await this.registry.metrics()).replace(/ Nan$/gm, ' NaN');
  }

  async #collectTickets(gauge: Gauge<'state'>): Promise<void> {
    const store = this.#store;
    const counts = store && (await this.#read('tickets', () => store.countByState()));
    gauge.reset();
    if (!counts) return;
    for (const state of Object.values(TicketState)) gauge.set({ state }, counts[state]);
  }

  async #collectQueueJobs(gauge: Gauge<'queue' | 'state'>): Promise<void> {
    const rows = await this.#read('queue_jobs', () =>
      Promise.all([...this.#queues].map(async ([name, q]) => [name, await jobCounts(q)] as const)),
    );
    gauge.reset();
    for (const [queue, counts] of rows ?? []) {
      for (const state of QUEUE_JOB_STATES) gauge.set({ queue, state }, counts[state]);
    }
  }

  async #collectOldest(gauge: Gauge<'queue'>): Promise<void> {
    const now = this.#clock();
    const rows = await this.#read('queue_oldest_waiting_age_seconds', () =>
      Promise.all(
        [...this.#queues].map(
          async ([name, q]) => [name, await oldestWaitingAgeSeconds(q, now)] as const,
        ),
      ),
    );
    gauge.reset();
    for (const [queue, age] of rows ?? []) gauge.set({ queue }, age);
  }

  async #read<T>(metric: string, read: () => Promise<T>): Promise<T | undefined> {
    try {
      return await withTimeLimit(read(), this.#options.collectTimeoutMs ?? 2000, metric);
    } catch (err) {
      this.#options.logger?.warn(
        { metric, err: { message: err instanceof Error ? err.message : String(err) } },
        'metric not collected',
      );
      return undefined;
    }
  }
}
