/**
 * OpenTelemetry tracing: one trace per ticket, from intake through BullMQ (its own telemetry hook,
 * `bullmq-otel`, carries the trace into the job), the worker's run, the Cloudauth calls and OSS
 * uploads, to the webhook deliveries its transitions publish.
 *
 * Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set: then no
 * SDK is loaded or registered (the parts call the API, whose tracer is then the no-op one) and
 * BullMQ is given no telemetry object, so queues and jobs carry nothing extra. When set, a
 * NodeTracerProvider batches spans to an OTLP/HTTP exporter (JSON bodies) and is flushed when the
 * process shuts down. The SDK reads the other standard variables itself (`OTEL_TRACES_SAMPLER`,
 * `OTEL_BSP_*`, `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_RESOURCE_ATTRIBUTES`, …); they are the
 * OpenTelemetry specification's, not settings of `config.ts`.
 *
 * What spans hold is decided here and at the few call sites: codes, counts, states and names
 * from configuration; never an applicant's name or ID number, a photo, a URL (callback URLs,
 * signed and page URLs carry tokens), an object key (it holds the VerifyToken's path) or a
 * secret. A failed span's status names the error code only, never its message (BullMQ's own
 * `process` span adds a failed job's message as an event: our messages name no personal data or
 * secret, but a failed webhook delivery's may name its callback's host, as its log line does).
 */
import {
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';
import type { Telemetry as QueueTelemetry } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import { ConfigError, OrchestratorError } from '../errors.js';
import type { Logger } from '../logger.js';

export { SpanKind };

/** The name of the orchestrator's tracer (and BullMQ's, so both show as one instrumentation). */
export const TRACER_NAME = 'cloudauth-orchestrator';

/** Span attribute names the orchestrator sets (beside BullMQ's own `bullmq.*`). */
export const ATTR = {
  /** The caller's TicketId: a key of its choosing, logged already, not personal data. */
  ticketId: 'cloudauth.ticket_id',
  ticketCount: 'cloudauth.ticket_count',
  /** A configured Biz name (a scenario, from configuration). */
  biz: 'cloudauth.biz',
  /** The ticket's state as a run last saw it. */
  state: 'cloudauth.state',
  /** How a run ended: `settled` (the ticket ended), `waiting`, `retry`, `failed`, `missing`. */
  runOutcome: 'cloudauth.run_outcome',
  /** A Cloudauth action (`GetVerifyToken`, `ContrastFaceVerify`, …) or `PutObject`. */
  action: 'cloudauth.action',
  apiVersion: 'cloudauth.api_version',
  /** `ok` or the error code. */
  outcome: 'cloudauth.outcome',
  /** The provider's own code of a refusal (`Error.InternalError`, `417`, …). */
  providerCode: 'cloudauth.provider_code',
  uploadBytes: 'cloudauth.upload_bytes',
  eventType: 'cloudauth.event_type',
  httpStatus: 'http.response.status_code',
  errorType: 'error.type',
} as const;

/** How a process traces: what its parts need to know of it. */
export interface Tracing {
  /** True when spans are recorded and exported. */
  readonly enabled: boolean;
  /**
   * BullMQ's `telemetry` option for every Queue and Worker of the process; undefined when tracing
   * is off (BullMQ then traces nothing and jobs carry no trace context).
   */
  readonly queueTelemetry: QueueTelemetry | undefined;
  /** Flushes what is buffered and stops exporting; nothing when off. Safe to call twice. */
  shutdown(): Promise<void>;
}

/** Tracing off: the API's no-op tracer, no BullMQ telemetry. */
export const TRACING_OFF: Tracing = {
  enabled: false,
  queueTelemetry: undefined,
  shutdown: () => Promise.resolve(),
};

/**
 * The OTLP/HTTP traces URL of `env`: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as it is, else
 * `OTEL_EXPORTER_OTLP_ENDPOINT` with `/v1/traces` appended (as the specification says); undefined
 * when neither is set. Throws a {@link ConfigError} (naming the variable, never its value, which
 * may hold credentials) for a value that is not an http(s) URL.
 */
export function tracesEndpointOf(env: Record<string, string | undefined>): string | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const [name, url] = traces
    ? ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', traces]
    : base
      ? ['OTEL_EXPORTER_OTLP_ENDPOINT', `${base.replace(/\/+$/, '')}/v1/traces`]
      : [undefined, undefined];
  if (name === undefined) return undefined;
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = '';
  }
  if (protocol !== 'http:' && protocol !== 'https:') {
    throw new ConfigError(`${name} must be an http:// or https:// URL (OTLP over HTTP)`);
  }
  return url;
}

/** True when `env` turns the SDK off (`OTEL_SDK_DISABLED=true`, as the specification says). */
function sdkDisabled(env: Record<string, string | undefined>): boolean {
  return env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
}

/**
 * Starts tracing for a process of `role` from `env`: off (no SDK loaded) without an OTLP endpoint
 * or with `OTEL_SDK_DISABLED=true`; otherwise registers a NodeTracerProvider (the API's global
 * provider, the AsyncLocalStorage context manager and the W3C propagators) exporting in batches.
 * The service is `OTEL_SERVICE_NAME`, else a `service.name` of `OTEL_RESOURCE_ATTRIBUTES`, else
 * `cloudauth-orchestrator-<role>`.
 */
export async function startTracing(
  env: Record<string, string | undefined>,
  role: string,
  logger?: Logger,
): Promise<Tracing> {
  const url = tracesEndpointOf(env);
  if (url === undefined || sdkDisabled(env)) return TRACING_OFF;
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const protocol = env[name]?.trim();
    if (protocol && protocol !== 'http/json') {
      logger?.warn({ [name]: protocol }, 'traces are sent as OTLP/HTTP with JSON bodies only');
      break;
    }
  }
  // loaded only here: a process that does not trace never loads the SDK
  const [{ NodeTracerProvider }, { BatchSpanProcessor }, { OTLPTraceExporter }, resources] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ]);
  const fromEnv = resources.detectResources({ detectors: [resources.envDetector] });
  const serviceName =
    env.OTEL_SERVICE_NAME?.trim() ||
    (typeof fromEnv.attributes['service.name'] === 'string'
      ? fromEnv.attributes['service.name']
      : `cloudauth-orchestrator-${role}`);
  const provider = new NodeTracerProvider({
    resource: resources
      .defaultResource()
      .merge(fromEnv)
      .merge(resources.resourceFromAttributes({ 'service.name': serviceName })),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
  provider.register();
  // host and path only: the URL's query or user part could hold a token
  const where = new URL(url);
  logger?.info(
    { otlpTraces: `${where.protocol}//${where.host}${where.pathname}`, service: serviceName },
    'tracing on: spans exported over OTLP/HTTP',
  );
  return tracingOn(async () => {
    try {
      await provider.shutdown();
    } finally {
      trace.disable();
      context.disable();
      propagation.disable();
    }
  });
}

/**
 * Tracing through the provider registered with the API (by {@link startTracing}, or by a test
 * with an in-memory exporter): BullMQ telemetry on; `shutdown` is the caller's (default nothing).
 */
export function tracingOn(shutdown: () => Promise<void> = () => Promise.resolve()): Tracing {
  let done: Promise<void> | undefined;
  return {
    enabled: true,
    queueTelemetry: new BullMQOtel({ tracerName: TRACER_NAME }),
    shutdown: () => (done ??= shutdown()),
  };
}

/** The orchestrator's tracer (asked for each time: a provider registered later is used). */
function tracer() {
  return trace.getTracer(TRACER_NAME);
}

/** The `error.type` of a failure: its code when it is an {@link OrchestratorError}, else its name. */
export function errorTypeOf(err: unknown): string {
  if (err instanceof OrchestratorError) return err.code;
  return err instanceof Error ? err.name : 'Error';
}

/** Marks `span` failed by `err`: its code as status and `error.type`, never its message. */
export function failSpan(span: Span, err: unknown): void {
  const type = errorTypeOf(err);
  span.setAttribute(ATTR.errorType, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

/**
 * Runs `fn` in a new active span (a child of the active one), ended when `fn` settles; a throw
 * marks it failed ({@link failSpan}) unless `expected(err)` says the throw is how `fn` answers
 * (BullMQ's DelayedError). With tracing off the span is the API's non-recording one.
 */
export function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes; expected?: (err: unknown) => boolean },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer().startActiveSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      ...(options.attributes ? { attributes: options.attributes } : {}),
    },
    async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        if (!options.expected?.(err)) failSpan(span, err);
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

/**
 * One provider call (a Cloudauth action) in its client span named `Cloudauth/<action>`: the
 * outcome (`ok` or the error code), the provider's own code and the HTTP status of a failure are
 * recorded on it; nothing of the request. Both API families' clients use it.
 */
export function inProviderCallSpan<T>(
  action: string,
  apiVersion: string,
  call: (span: Span) => Promise<T>,
): Promise<T> {
  return inSpan(
    `Cloudauth/${action}`,
    { kind: SpanKind.CLIENT, attributes: { [ATTR.action]: action, [ATTR.apiVersion]: apiVersion } },
    async (span) => {
      try {
        const result = await call(span);
        span.setAttribute(ATTR.outcome, 'ok');
        return result;
      } catch (err) {
        if (err instanceof OrchestratorError) {
          span.setAttribute(ATTR.outcome, err.code);
          if (err.providerCode !== undefined)
            span.setAttribute(ATTR.providerCode, err.providerCode);
          if (err.httpStatus !== undefined) span.setAttribute(ATTR.httpStatus, err.httpStatus);
        }
        throw err; // inSpan marks the span failed with the code
      }
    },
  );
}

/**
 * For one ticket of a batch: starts a trace of its own, linked to the batch's active span, and
 * answers the BullMQ job option that carries it into the job (as bullmq-otel writes it: the W3C
 * headers as JSON). A batch of thousands is then thousands of small traces, not one huge one.
 * Undefined when nothing records (tracing off): the job carries nothing.
 */
export function ownTraceOf(
  name: string,
  attributes: Attributes,
): { telemetry: { metadata: string } } | undefined {
  const batch = trace.getActiveSpan();
  if (batch === undefined || !batch.isRecording()) return undefined;
  const span = tracer().startSpan(name, {
    root: true,
    kind: SpanKind.PRODUCER,
    attributes,
    links: [{ context: batch.spanContext() }],
  });
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), carrier);
  span.end();
  return { telemetry: { metadata: JSON.stringify(carrier) } };
}

/**
 * One webhook delivery attempt (`attempt` answers the receiver's HTTP status, or throws an
 * {@link OrchestratorError}) in a client span `webhook.deliver`: the event type, the outcome and
 * the receiver's status; never the URL or its host (callback URLs are the business's and may hold
 * tokens), nor the body.
 */
export function traceDelivery(eventType: string, attempt: () => Promise<number>): Promise<number> {
  return inSpan(
    'webhook.deliver',
    { kind: SpanKind.CLIENT, attributes: { [ATTR.eventType]: eventType } },
    async (span) => {
      try {
        const status = await attempt();
        span.setAttributes({ [ATTR.outcome]: 'ok', [ATTR.httpStatus]: status });
        return status;
      } catch (err) {
        if (err instanceof OrchestratorError) {
          span.setAttribute(ATTR.outcome, err.code);
          if (err.httpStatus !== undefined) span.setAttribute(ATTR.httpStatus, err.httpStatus);
        }
        throw err; // inSpan marks the span failed with the code
      }
    },
  );
}
