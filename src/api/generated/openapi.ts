/**
 * The types of the HTTP API, generated from openapi/openapi.json by openapi-typescript: `paths`
 * (what `createApiClient` in src/api/client.ts is typed with), `webhooks`, `components` and
 * `operations`. Do not edit: `npm run openapi` writes it again, and
 * test/integration/openapi-document.test.ts fails when it differs from what the document gives.
 */

export interface paths {
  '/v1/tickets': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** List tickets, newest first, by state and/or batch. */
    get: operations['listTickets'];
    put?: never;
    /** Accept one ticket: 202 when created, 200 for a repeat with the same payload, 409 for the same TicketId with a different payload. */
    post: operations['createTicket'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/tickets/{id}': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** One ticket with its masked applicant and its history. */
    get: operations['getTicket'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/tickets/{id}/retry': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Send a failed or expired ticket back to the queue. */
    post: operations['retryTicket'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/tickets/{id}/cancel': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Cancel a ticket that has not finished. */
    post: operations['cancelTicket'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/tickets/{id}/erase': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Erase the applicant's personal data (name, ID number, staged photos) on request, whatever the state: a ticket still running is cancelled first. The erasure is recorded (`personalDataErasedAt`, `erasure: request`); the masked applicant, verdict and history stay. */
    post: operations['eraseTicket'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/tickets/batch': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /** Accept up to 1000 tickets; each item gets its own outcome. */
    post: operations['createTicketBatch'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/summary': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Tickets per state, and the progress of one batch. */
    get: operations['getSummary'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/v1/ops/overview': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** What the operations page draws: finished tickets, provider calls, retries, the queue, batches. */
    get: operations['getOpsOverview'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/openapi.json': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** This document. */
    get: operations['getOpenApi'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/healthz': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Liveness: 200 while the process answers. */
    get: operations['getHealth'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/readyz': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Readiness: 200 when Redis answers and this process’s workers run, else 503. */
    get: operations['getReadiness'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  '/metrics': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    /** Prometheus metrics: counts by state, action, error code and route pattern; no ticket ids, no personal data. */
    get: operations['getMetrics'];
    put?: never;
    post?: never;
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
}
export interface webhooks {
  'ticket.start_link_issued': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * A start link is ready to send
     * @description Financial-grade `ID_PRO` tickets: the ticket waits for its person, and `pageUrl` is the one signed, expiring start link to send them (by SMS or mail). It collects the device MetaInfo in their browser and leads them on to the provider.
     */
    post: operations['onTicketStartLinkIssued'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  'ticket.token_issued': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * The verification page is out
     * @description Interactive tickets: the ticket is `awaiting_user` and `pageUrl` is the page the person completes (legacy: the H5 page to send them to; financial `ID_PRO`: the provider’s CertifyUrl, to which the start page has already sent them on).
     */
    post: operations['onTicketTokenIssued'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  'ticket.passed': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * The person was verified
     * @description The verdict is in and passed (`verdict.statusCode` 1). `emulated: true` marks a verdict of the emulator in embedded mode: no real check was made.
     */
    post: operations['onTicketPassed'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  'ticket.not_passed': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * The person was not verified
     * @description The verdict is in and did not pass (`verdict.statusCode` 2); `verdict.subCode` gives the reason in the financial-grade family.
     */
    post: operations['onTicketNotPassed'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  'ticket.expired': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * The person did not finish in time
     * @description Interactive tickets: the token or start link ran out before the person finished. `POST /v1/tickets/{id}/retry` runs it again.
     */
    post: operations['onTicketExpired'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  'ticket.failed': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * The ticket failed
     * @description A permanent error, or retries exhausted; `error` holds the log-safe cause. `POST /v1/tickets/{id}/retry` runs it again.
     */
    post: operations['onTicketFailed'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
  'ticket.cancelled': {
    parameters: {
      query?: never;
      header?: never;
      path?: never;
      cookie?: never;
    };
    get?: never;
    put?: never;
    /**
     * The ticket was cancelled
     * @description The ticket was cancelled (`POST /v1/tickets/{id}/cancel`, or `/erase` of a running ticket) before it finished.
     */
    post: operations['onTicketCancelled'];
    delete?: never;
    options?: never;
    head?: never;
    patch?: never;
    trace?: never;
  };
}
export interface components {
  schemas: {
    TicketRequest: {
      /** @description Your identifier of this verification; a repeat with the same payload is one ticket. */
      TicketId: string;
      /** @description A Biz scenario configured in CLOUDAUTH_BIZ. */
      Biz: string;
      /** @default {} */
      Binding: {
        /** @description Applicant's name. */
        Name?: string;
        /** @description 18-character resident ID number (GB 11643). */
        IdentificationNumber?: string;
        /** @description Face photo: data:/base64 bytes, https URL or oss://bucket:path. */
        FacePic?: string;
        /** @description ID card, portrait side. */
        IdCardFrontPic?: string;
        /** @description ID card, emblem side. */
        IdCardBackPic?: string;
        /** @description Retained portrait (FVBioOnly). */
        FaceRetainedPic?: string;
        /** @description Photo read from the ID card chip. */
        IDPic?: string;
      };
      /** @description Echoed back by Cloudauth. At most 8 levels of objects and arrays (this object is the first) and 8192 bytes as JSON. */
      UserData?: {
        [key: string]: unknown;
      };
      /**
       * Format: uri
       * @description Where webhooks for this ticket go.
       */
      callbackUrl?: string;
    };
    BatchRequest: {
      /** @description Groups the tickets for listing and retries. Absent: `b-YYYYMMDD-<8 hex>`. */
      batchId?: string;
      tickets: components['schemas']['TicketRequest'][];
    };
    TicketSummary: {
      TicketId: string;
      Biz: string;
      /** @enum {string} */
      flow: 'server' | 'interactive';
      /**
       * @description The API family the ticket runs on: `legacy` (Cloudauth 2018-09-16) or `financial` (the financial-grade family of 2019-03-07), from its Biz in CLOUDAUTH_BIZ.
       * @enum {string}
       */
      family: 'legacy' | 'financial';
      /** @description Financial-grade family: the OuterOrderNo sent to the provider (the TicketId when it is at most 32 letters and digits, else the first 32 hex digits of its SHA-256). Null for legacy tickets. */
      outerOrderNo: string | null;
      /** @enum {string} */
      state:
        | 'queued'
        | 'token_issued'
        | 'submitted'
        | 'awaiting_user'
        | 'passed'
        | 'not_passed'
        | 'expired'
        | 'failed'
        | 'cancelled';
      /** @description Bumped by every transition and every recorded attempt error. */
      version: number;
      /** @description Failed processing attempts so far. */
      attempts: number;
      batchId: string | null;
      /**
       * Format: date-time
       * @description ISO 8601, UTC.
       */
      createdAt: string;
      /**
       * Format: date-time
       * @description ISO 8601, UTC.
       */
      updatedAt: string;
      finishedAt: string | null;
      verdict: {
        /** @description 1 passed, 2 not passed. */
        statusCode: 1 | 2;
        trustedScore?: number;
        similarityScore?: number;
        authorityComparisonScore?: number;
        auditConclusions?: string;
        /** @description Financial-grade family: the provider's reason code (SubCode): 200 passed, 201 name and ID number do not match, 202 not found at the authority, 203 no usable authority photo, 204 face mismatch, 205 liveness risk, 206 business policy. */
        subCode?: string;
        /** @description Financial-grade family: the provider's CertifyId of the verification. */
        certifyId?: string;
      } | null;
      /** @description True when the verdict was reached in embedded mode, on the Cloudauth emulator: no real check of the person was made. False for a real verdict and for a ticket without one. */
      emulated: boolean;
      lastError: {
        /** @description An error code of the orchestrator, e.g. `PROVIDER_INVALID_BIZ`. */
        code: string;
        message: string;
        retryable: boolean;
        providerCode?: string;
        requestId?: string;
        /**
         * Format: date-time
         * @description ISO 8601, UTC.
         */
        at: string;
      } | null;
      /** @description When the applicant's personal data (name, ID number, staged photos) was erased: when the ticket finished passed, not_passed or cancelled, after MATERIAL_RETENTION_SECONDS in failed or expired, or on request. Null while it is kept. The masked applicant, verdict, scores and history stay. */
      personalDataErasedAt: string | null;
      /** @description Why it was erased; null while it is kept. */
      erasure: ('finished' | 'retention' | 'request') | null;
    };
    TicketView: {
      TicketId: string;
      Biz: string;
      /** @enum {string} */
      flow: 'server' | 'interactive';
      /**
       * @description The API family the ticket runs on: `legacy` (Cloudauth 2018-09-16) or `financial` (the financial-grade family of 2019-03-07), from its Biz in CLOUDAUTH_BIZ.
       * @enum {string}
       */
      family: 'legacy' | 'financial';
      /** @description Financial-grade family: the OuterOrderNo sent to the provider (the TicketId when it is at most 32 letters and digits, else the first 32 hex digits of its SHA-256). Null for legacy tickets. */
      outerOrderNo: string | null;
      /** @enum {string} */
      state:
        | 'queued'
        | 'token_issued'
        | 'submitted'
        | 'awaiting_user'
        | 'passed'
        | 'not_passed'
        | 'expired'
        | 'failed'
        | 'cancelled';
      /** @description Bumped by every transition and every recorded attempt error. */
      version: number;
      /** @description Failed processing attempts so far. */
      attempts: number;
      batchId: string | null;
      /**
       * Format: date-time
       * @description ISO 8601, UTC.
       */
      createdAt: string;
      /**
       * Format: date-time
       * @description ISO 8601, UTC.
       */
      updatedAt: string;
      finishedAt: string | null;
      verdict: {
        /** @description 1 passed, 2 not passed. */
        statusCode: 1 | 2;
        trustedScore?: number;
        similarityScore?: number;
        authorityComparisonScore?: number;
        auditConclusions?: string;
        /** @description Financial-grade family: the provider's reason code (SubCode): 200 passed, 201 name and ID number do not match, 202 not found at the authority, 203 no usable authority photo, 204 face mismatch, 205 liveness risk, 206 business policy. */
        subCode?: string;
        /** @description Financial-grade family: the provider's CertifyId of the verification. */
        certifyId?: string;
      } | null;
      /** @description True when the verdict was reached in embedded mode, on the Cloudauth emulator: no real check of the person was made. False for a real verdict and for a ticket without one. */
      emulated: boolean;
      lastError: {
        /** @description An error code of the orchestrator, e.g. `PROVIDER_INVALID_BIZ`. */
        code: string;
        message: string;
        retryable: boolean;
        providerCode?: string;
        requestId?: string;
        /**
         * Format: date-time
         * @description ISO 8601, UTC.
         */
        at: string;
      } | null;
      /** @description When the applicant's personal data (name, ID number, staged photos) was erased: when the ticket finished passed, not_passed or cancelled, after MATERIAL_RETENTION_SECONDS in failed or expired, or on request. Null while it is kept. The masked applicant, verdict, scores and history stay. */
      personalDataErasedAt: string | null;
      /** @description Why it was erased; null while it is kept. */
      erasure: ('finished' | 'retention' | 'request') | null;
      /** @description Interactive tickets while `awaiting_user`: the page the person completes (legacy: the CloudauthPageUrl; financial ID_PRO: the CertifyUrl, 30 minutes, one use). */
      pageUrl: string | null;
      /** @description Financial ID_PRO tickets until they end: the one signed, expiring link to send the person (by SMS or mail). It collects the MetaInfo in their browser, has a worker call InitFaceVerify and sends them on to the CertifyUrl. Valid START_LINK_SECONDS; a retry makes a new one. */
      startUrl: string | null;
      applicant: {
        /** @description Masked: 李*. */
        name: string | null;
        /** @description Masked: 6305**********0090. */
        idNumber: string | null;
      };
      /** @description Transitions, oldest first. */
      history: {
        /** @enum {string} */
        from:
          | 'queued'
          | 'token_issued'
          | 'submitted'
          | 'awaiting_user'
          | 'passed'
          | 'not_passed'
          | 'expired'
          | 'failed'
          | 'cancelled';
        /** @enum {string} */
        to:
          | 'queued'
          | 'token_issued'
          | 'submitted'
          | 'awaiting_user'
          | 'passed'
          | 'not_passed'
          | 'expired'
          | 'failed'
          | 'cancelled';
        event: string;
        cause?: string;
        /**
         * Format: date-time
         * @description ISO 8601, UTC.
         */
        at: string;
        attempt: number;
      }[];
    };
    TicketList: {
      tickets: components['schemas']['TicketSummary'][];
      /** @description Present when more tickets follow. */
      nextCursor?: string;
    };
    BatchResult: {
      batchId: string;
      /** @description Tickets created. */
      accepted: number;
      /** @description Tickets that existed with the same payload. */
      duplicates: number;
      /** @description TicketIds that existed with a different payload. */
      conflicts: number;
      /** @description Items that failed validation. */
      rejected: number;
      results: {
        index: number;
        TicketId: string | null;
        /** @enum {string} */
        outcome: 'created' | 'duplicate' | 'conflict' | 'invalid';
        problems?: components['schemas']['FieldProblem'][];
      }[];
    };
    Summary: {
      /** @description Tickets per state, from the state indexes (finished tickets past retention left out). */
      byState: {
        queued: number;
        token_issued: number;
        submitted: number;
        awaiting_user: number;
        passed: number;
        not_passed: number;
        expired: number;
        failed: number;
        cancelled: number;
      };
      total: number;
      /** @description The batch asked for with `batch`, read ticket by ticket; null without `batch`. */
      batch: {
        batchId: string;
        /** @description Tickets per state. */
        byState: {
          queued: number;
          token_issued: number;
          submitted: number;
          awaiting_user: number;
          passed: number;
          not_passed: number;
          expired: number;
          failed: number;
          cancelled: number;
        };
        total: number;
        /** @description Tickets of the batch in a terminal state. */
        finished: number;
      } | null;
    };
    FieldProblem: {
      /** @description Dotted path, e.g. `Binding.IdentificationNumber`; `(body)`. */
      field: string;
      message: string;
    };
    Problem: {
      /** @description A URI naming the kind of problem: `urn:cloudauth-orchestrator:problem:<kind>` (e.g. `…:unknown-ticket`), or `about:blank` for an HTTP refusal of no kind of ours. Branch on it (or on `code`), never on `title` or `detail`. */
      type: string;
      /** @description A short summary of the kind of problem; the same for every instance. */
      title: string;
      /** @description The HTTP status of the answer. */
      status: number;
      /** @description The error code of the orchestrator (`src/errors.ts`) the problem reports, when it has one: `VALIDATION_FAILED`, `ILLEGAL_TRANSITION`, `PERSONAL_DATA_ERASED`, `STORE_UNAVAILABLE`, `STORE_FULL`, `STAGING_UNAVAILABLE`, `STAGING_FULL`. */
      code?: string;
      /** @description What went wrong with this request, for a person; never personal data or a secret. */
      detail: string;
      /** @description The request it answers, `urn:cloudauth-orchestrator:request:<request id>`, the id also answered in `x-request-id` and found on the server's log lines of the request. Present on every problem of this API. */
      instance?: string;
      /** @description Validation problems (400, 422): every bad field, each named once. */
      errors?: components['schemas']['FieldProblem'][];
    };
    WebhookEvent: {
      /** @description `<TicketId>:<version>:<type>`: the same on every delivery attempt and every re-publish, and the `webhook-id` header. Deduplicate on it. */
      id: string;
      /**
       * @description What happened; the `webhooks` entry of that name.
       * @enum {string}
       */
      type:
        | 'ticket.start_link_issued'
        | 'ticket.token_issued'
        | 'ticket.passed'
        | 'ticket.not_passed'
        | 'ticket.expired'
        | 'ticket.failed'
        | 'ticket.cancelled';
      /** @description The payload's shape: 1 for the one described here. Fields and event types may be added within a version (ignore what you do not know); a change that could break a receiver (a field removed, renamed or retyped) comes with a new version. */
      schemaVersion: number;
      /** @description The TicketId the business gave. */
      ticketId: string;
      /** @description The Biz scenario of the ticket. */
      biz: string;
      /**
       * @description The API family of the Biz: `legacy` (Cloudauth 2018-09-16) or `financial` (the financial-grade family, 2019-03-07).
       * @enum {string}
       */
      family: 'legacy' | 'financial';
      /** @description Financial-grade family: the OuterOrderNo sent to the provider; null for legacy. */
      outerOrderNo: string | null;
      /** @description The batch of the ticket, when it has one. */
      batchId?: string;
      /**
       * @description The ticket's state at `version`.
       * @enum {string}
       */
      state:
        | 'queued'
        | 'token_issued'
        | 'submitted'
        | 'awaiting_user'
        | 'passed'
        | 'not_passed'
        | 'expired'
        | 'failed'
        | 'cancelled';
      /** @description The ticket version the event describes. */
      version: number;
      /**
       * Format: date-time
       * @description When the ticket reached this version, ISO 8601 UTC.
       */
      occurredAt: string;
      /** @description `ticket.passed`, `ticket.not_passed`: Cloudauth's verdict and scores. */
      verdict?: {
        /** @description 1 passed, 2 not passed. */
        statusCode: 1 | 2;
        similarityScore?: number;
        trustedScore?: number;
        authorityComparisonScore?: number;
        auditConclusions?: string;
        /** @description Financial-grade family: the provider's reason code (SubCode: 200 passed, 204 no match, …). */
        subCode?: string;
        /** @description Financial-grade family: the provider's CertifyId of the verification. */
        certifyId?: string;
      };
      /**
       * @description `ticket.passed`, `ticket.not_passed`: present (true) when the verdict was reached in embedded mode, on the Cloudauth emulator: no real check of the person was made. Absent for a real one.
       * @constant
       */
      emulated?: true;
      /** @description `ticket.token_issued`: the page the person completes; `ticket.start_link_issued`: the start link to send the person. A bearer link: never log it. */
      pageUrl?: string;
      /** @description `ticket.failed`: the log-safe cause (an orchestrator error code and its message). */
      error?: {
        code: string;
        message: string;
      };
    };
  };
  responses: never;
  parameters: {
    /**
     * @description Your id of the request, answered back in `x-request-id` and written on the server’s log lines of it: 1–128 characters of letters, digits and `.` `_` `:` `-` (any other value is replaced by a new UUID).
     * @example 0f8e4c1a-6b2d-4f7e-9a51-3c2d8e7b6a10
     */
    RequestId: string;
  };
  requestBodies: never;
  headers: {
    /**
     * @description The id of the request: the `x-request-id` it came with when that was 1–128 characters of letters, digits and `.` `_` `:` `-`, else a new UUID. On every answer, as the `instance` of every problem, and on the server’s log lines of the request.
     * @example 0f8e4c1a-6b2d-4f7e-9a51-3c2d8e7b6a10
     */
    RequestId: string;
    /**
     * @description The path of the ticket, its TicketId percent-encoded: `/v1/tickets/{id}`.
     * @example /v1/tickets/order-20260301-0001
     */
    Location: string;
    /**
     * @description Whole seconds to wait before sending the request again. Absent when waiting cannot help (a staging store refused by its configuration).
     * @example 2
     */
    RetryAfter: number;
    /**
     * @description The bearer challenge (RFC 6750); `error="invalid_token"` when a token was sent.
     * @example Bearer realm="cloudauth-orchestrator", error="invalid_token"
     */
    WWWAuthenticate: string;
  };
  pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
  listTickets: {
    parameters: {
      query?: {
        /** @description Only tickets in this state. */
        state?:
          | 'queued'
          | 'token_issued'
          | 'submitted'
          | 'awaiting_user'
          | 'passed'
          | 'not_passed'
          | 'expired'
          | 'failed'
          | 'cancelled';
        /** @description Only tickets of this batch. */
        batch?: string;
        /** @description `nextCursor` of the previous page. */
        cursor?: string;
        /** @description Page size. */
        limit?: number;
      };
      header?: {
        /**
         * @description Your id of the request, answered back in `x-request-id` and written on the server’s log lines of it: 1–128 characters of letters, digits and `.` `_` `:` `-` (any other value is replaced by a new UUID).
         * @example 0f8e4c1a-6b2d-4f7e-9a51-3c2d8e7b6a10
         */
        'x-request-id'?: components['parameters']['RequestId'];
      };
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description One page. */
      200: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['TicketList'];
        };
      };
      /** @description The request is malformed */
      400: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description A valid bearer token is required */
      401: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'WWW-Authenticate': components['headers']['WWWAuthenticate'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description Internal server error */
      500: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The ticket store is unavailable; The ticket store is full; The server is shutting down */
      503: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'Retry-After': components['headers']['RetryAfter'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  createTicket: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Your id of the request, answered back in `x-request-id` and written on the server’s log lines of it: 1–128 characters of letters, digits and `.` `_` `:` `-` (any other value is replaced by a new UUID).
         * @example 0f8e4c1a-6b2d-4f7e-9a51-3c2d8e7b6a10
         */
        'x-request-id'?: components['parameters']['RequestId'];
      };
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['TicketRequest'];
      };
    };
    responses: {
      /** @description Known already, with the same payload. */
      200: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['TicketView'];
        };
      };
      /** @description Created and queued. */
      202: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          Location: components['headers']['Location'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['TicketView'];
        };
      };
      /** @description The request is malformed */
      400: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description A valid bearer token is required */
      401: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'WWW-Authenticate': components['headers']['WWWAuthenticate'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The TicketId exists with a different payload */
      409: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The request body is too large */
      413: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The request body must be application/json */
      415: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The request failed validation */
      422: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description Internal server error */
      500: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The material staging store is unavailable; The material staging store is full; The ticket store is unavailable; The ticket store is full; The server is shutting down */
      503: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'Retry-After': components['headers']['RetryAfter'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  getTicket: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Your id of the request, answered back in `x-request-id` and written on the server’s log lines of it: 1–128 characters of letters, digits and `.` `_` `:` `-` (any other value is replaced by a new UUID).
         * @example 0f8e4c1a-6b2d-4f7e-9a51-3c2d8e7b6a10
         */
        'x-request-id'?: components['parameters']['RequestId'];
      };
      path: {
        /**
         * @description The TicketId (percent-encoded in the path).
         * @example order-20260301-0001
         */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The ticket. */
      200: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['TicketView'];
        };
      };
      /** @description The request is malformed */
      400: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description A valid bearer token is required */
      401: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'WWW-Authenticate': components['headers']['WWWAuthenticate'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description No such ticket */
      404: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The URL is too long */
      414: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description Internal server error */
      500: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The ticket store is unavailable; The ticket store is full; The server is shutting down */
      503: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'Retry-After': components['headers']['RetryAfter'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  retryTicket: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Your id of the request, answered back in `x-request-id` and written on the server’s log lines of it: 1–128 characters of letters, digits and `.` `_` `:` `-` (any other value is replaced by a new UUID).
         * @example 0f8e4c1a-6b2d-4f7e-9a51-3c2d8e7b6a10
         */
        'x-request-id'?: components['parameters']['RequestId'];
      };
      path: {
        /**
         * @description The TicketId (percent-encoded in the path).
         * @example order-20260301-0001
         */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The ticket. */
      200: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['TicketView'];
        };
      };
      /** @description The request is malformed */
      400: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description A valid bearer token is required */
      401: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'WWW-Authenticate': components['headers']['WWWAuthenticate'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description No such ticket */
      404: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The ticket's state does not allow this; The ticket's personal data was erased */
      409: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The URL is too long */
      414: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description Internal server error */
      500: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The ticket store is unavailable; The ticket store is full; The server is shutting down */
      503: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'Retry-After': components['headers']['RetryAfter'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  cancelTicket: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Your id of the request, answered back in `x-request-id` and written on the server’s log lines of it: 1–128 characters of letters, digits and `.` `_` `:` `-` (any other value is replaced by a new UUID).
         * @example 0f8e4c1a-6b2d-4f7e-9a51-3c2d8e7b6a10
         */
        'x-request-id'?: components['parameters']['RequestId'];
      };
      path: {
        /**
         * @description The TicketId (percent-encoded in the path).
         * @example order-20260301-0001
         */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The ticket. */
      200: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['TicketView'];
        };
      };
      /** @description The request is malformed */
      400: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description A valid bearer token is required */
      401: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'WWW-Authenticate': components['headers']['WWWAuthenticate'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description No such ticket */
      404: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The ticket's state does not allow this; The ticket's personal data was erased */
      409: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The URL is too long */
      414: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description Internal server error */
      500: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The ticket store is unavailable; The ticket store is full; The server is shutting down */
      503: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'Retry-After': components['headers']['RetryAfter'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  eraseTicket: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Your id of the request, answered back in `x-request-id` and written on the server’s log lines of it: 1–128 characters of letters, digits and `.` `_` `:` `-` (any other value is replaced by a new UUID).
         * @example 0f8e4c1a-6b2d-4f7e-9a51-3c2d8e7b6a10
         */
        'x-request-id'?: components['parameters']['RequestId'];
      };
      path: {
        /**
         * @description The TicketId (percent-encoded in the path).
         * @example order-20260301-0001
         */
        id: string;
      };
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The ticket. */
      200: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['TicketView'];
        };
      };
      /** @description The request is malformed */
      400: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description A valid bearer token is required */
      401: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'WWW-Authenticate': components['headers']['WWWAuthenticate'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description No such ticket */
      404: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The ticket's state does not allow this; The ticket's personal data was erased */
      409: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The URL is too long */
      414: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description Internal server error */
      500: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The ticket store is unavailable; The ticket store is full; The server is shutting down */
      503: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'Retry-After': components['headers']['RetryAfter'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  createTicketBatch: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Your id of the request, answered back in `x-request-id` and written on the server’s log lines of it: 1–128 characters of letters, digits and `.` `_` `:` `-` (any other value is replaced by a new UUID).
         * @example 0f8e4c1a-6b2d-4f7e-9a51-3c2d8e7b6a10
         */
        'x-request-id'?: components['parameters']['RequestId'];
      };
      path?: never;
      cookie?: never;
    };
    requestBody: {
      content: {
        'application/json': components['schemas']['BatchRequest'];
      };
    };
    responses: {
      /** @description One result per item, in order. */
      200: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['BatchResult'];
        };
      };
      /** @description The request is malformed */
      400: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description A valid bearer token is required */
      401: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'WWW-Authenticate': components['headers']['WWWAuthenticate'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The request body is too large */
      413: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The request body must be application/json */
      415: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The request failed validation */
      422: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description Internal server error */
      500: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The ticket store is unavailable; The ticket store is full; The server is shutting down */
      503: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'Retry-After': components['headers']['RetryAfter'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  getSummary: {
    parameters: {
      query?: {
        /** @description Also count this batch's tickets per state. */
        batch?: string;
      };
      header?: {
        /**
         * @description Your id of the request, answered back in `x-request-id` and written on the server’s log lines of it: 1–128 characters of letters, digits and `.` `_` `:` `-` (any other value is replaced by a new UUID).
         * @example 0f8e4c1a-6b2d-4f7e-9a51-3c2d8e7b6a10
         */
        'x-request-id'?: components['parameters']['RequestId'];
      };
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The counts. */
      200: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/json': components['schemas']['Summary'];
        };
      };
      /** @description The request is malformed */
      400: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description A valid bearer token is required */
      401: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'WWW-Authenticate': components['headers']['WWWAuthenticate'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description Internal server error */
      500: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The ticket store is unavailable; The ticket store is full; The server is shutting down */
      503: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'Retry-After': components['headers']['RetryAfter'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  getOpsOverview: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Your id of the request, answered back in `x-request-id` and written on the server’s log lines of it: 1–128 characters of letters, digits and `.` `_` `:` `-` (any other value is replaced by a new UUID).
         * @example 0f8e4c1a-6b2d-4f7e-9a51-3c2d8e7b6a10
         */
        'x-request-id'?: components['parameters']['RequestId'];
      };
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The overview. */
      200: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            /** @description When it was read, by Redis's clock. */
            at: string;
            /** @description Tickets finished per minute by outcome, last hour, oldest first (a ticket counts in the minute of its last transition while it stays there). */
            finished: {
              /** @description Start of the first minute. */
              start: string;
              /** @constant */
              stepSeconds: 60;
              byOutcome: {
                /** @description Tickets that reached passed, per minute. */
                passed: number[];
                /** @description Tickets that reached not_passed, per minute. */
                not_passed: number[];
                /** @description Tickets that reached expired, per minute. */
                expired: number[];
                /** @description Tickets that reached failed, per minute. */
                failed: number[];
                /** @description Tickets that reached cancelled, per minute. */
                cancelled: number[];
              };
            };
            /** @description Provider calls per second by action, last five minutes, oldest first. */
            calls: {
              /** @description Start of the first second. */
              start: string;
              /** @constant */
              stepSeconds: 1;
              actions: {
                action: string;
                /** @description Its configured QPS; 0: no limit. */
                qps: number;
                /** @description False without a QPS limit: such calls skip the limiter, uncounted. */
                counted: boolean;
                /** @description Calls per second, by the second they left. */
                perSecond: number[];
              }[];
            };
            /** @description Retries and throttling per minute, last hour, oldest first. */
            troubles: {
              /** @description Start of the first minute. */
              start: string;
              /** @constant */
              stepSeconds: 60;
              /** @description Failed attempts that were retried, per minute. */
              retried: number[];
              /** @description Throttling answers (every action), per minute. */
              throttled: number[];
              /** @description Throttling answers by action. */
              throttledBy: {
                [key: string]: number[];
              };
            };
            queue: {
              /** @description Ticket jobs waiting for a worker. */
              waiting: number;
              /** @description Ticket jobs waiting for a re-check or a backoff. */
              delayed: number;
              /** @description Ticket jobs being processed. */
              active: number;
              /** @description How long the job next in line has waited, in ms: since it was added, or since its previous run started for one that ran before (an upper bound: a re-check waits out its delay first); null when none waits. */
              oldestWaitingMs: number | null;
            };
            /** @description The 20 newest batches, newest first. */
            batches: {
              batchId: string;
              /** @description When its newest ticket was created. */
              lastCreatedAt: string;
              total: number;
              /** @description Tickets in a finished state. */
              finished: number;
              /** @description Tickets in `failed`. */
              failed: number;
              byState: {
                queued: number;
                token_issued: number;
                submitted: number;
                awaiting_user: number;
                passed: number;
                not_passed: number;
                expired: number;
                failed: number;
                cancelled: number;
              };
              /** @description Time left if the batch had the quota to itself: the calls its unfinished tickets still make over each action's QPS (headroom included). `waiting`: the tickets left wait for the provider or a person; `unlimited`: no QPS configured. */
              eta: {
                /** @enum {string} */
                kind: 'limited' | 'unlimited' | 'waiting' | 'done';
                seconds: number | null;
                /** @description The bottleneck action. */
                action: string | null;
                /** @description The bottleneck action's QPS. */
                qps: number | null;
              };
            }[];
          };
        };
      };
      /** @description A valid bearer token is required */
      401: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'WWW-Authenticate': components['headers']['WWWAuthenticate'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description Internal server error */
      500: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The ticket store is unavailable; The ticket store is full; The server is shutting down */
      503: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'Retry-After': components['headers']['RetryAfter'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  getOpenApi: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Your id of the request, answered back in `x-request-id` and written on the server’s log lines of it: 1–128 characters of letters, digits and `.` `_` `:` `-` (any other value is replaced by a new UUID).
         * @example 0f8e4c1a-6b2d-4f7e-9a51-3c2d8e7b6a10
         */
        'x-request-id'?: components['parameters']['RequestId'];
      };
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The OpenAPI 3.1 document. */
      200: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/json': {
            [key: string]: unknown;
          };
        };
      };
      /** @description Internal server error */
      500: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The server is shutting down */
      503: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'Retry-After': components['headers']['RetryAfter'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  getHealth: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Your id of the request, answered back in `x-request-id` and written on the server’s log lines of it: 1–128 characters of letters, digits and `.` `_` `:` `-` (any other value is replaced by a new UUID).
         * @example 0f8e4c1a-6b2d-4f7e-9a51-3c2d8e7b6a10
         */
        'x-request-id'?: components['parameters']['RequestId'];
      };
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The process answers. */
      200: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "status": "ok"
           *     }
           */
          'application/json': {
            /** @constant */
            status: 'ok';
          };
        };
      };
      /** @description Internal server error */
      500: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The server is shutting down */
      503: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'Retry-After': components['headers']['RetryAfter'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  getReadiness: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Your id of the request, answered back in `x-request-id` and written on the server’s log lines of it: 1–128 characters of letters, digits and `.` `_` `:` `-` (any other value is replaced by a new UUID).
         * @example 0f8e4c1a-6b2d-4f7e-9a51-3c2d8e7b6a10
         */
        'x-request-id'?: components['parameters']['RequestId'];
      };
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description Ready. */
      200: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "status": "ok",
           *       "checks": {
           *         "redis": "ok",
           *         "workers": "ok"
           *       }
           *     }
           */
          'application/json': {
            /** @enum {string} */
            status: 'ok' | 'unavailable';
            /** @description Each check `ok` or `fail`: `redis` (a PING), `workers` (this process’s workers, when it runs any). */
            checks: {
              [key: string]: 'ok' | 'fail';
            };
          };
        };
      };
      /** @description Internal server error */
      500: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description Not ready (a check failed), or shutting down (a problem). */
      503: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'Retry-After': components['headers']['RetryAfter'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example {
           *       "status": "unavailable",
           *       "checks": {
           *         "redis": "fail",
           *         "workers": "ok"
           *       }
           *     }
           */
          'application/json': {
            /** @enum {string} */
            status: 'ok' | 'unavailable';
            /** @description Each check `ok` or `fail`: `redis` (a PING), `workers` (this process’s workers, when it runs any). */
            checks: {
              [key: string]: 'ok' | 'fail';
            };
          };
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  getMetrics: {
    parameters: {
      query?: never;
      header?: {
        /**
         * @description Your id of the request, answered back in `x-request-id` and written on the server’s log lines of it: 1–128 characters of letters, digits and `.` `_` `:` `-` (any other value is replaced by a new UUID).
         * @example 0f8e4c1a-6b2d-4f7e-9a51-3c2d8e7b6a10
         */
        'x-request-id'?: components['parameters']['RequestId'];
      };
      path?: never;
      cookie?: never;
    };
    requestBody?: never;
    responses: {
      /** @description The registry in Prometheus’s text format. */
      200: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          /**
           * @example # HELP cloudauth_orchestrator_tickets Tickets per state in the store (read at scrape time; every process sees the same store).
           *     # TYPE cloudauth_orchestrator_tickets gauge
           *     cloudauth_orchestrator_tickets{state="passed"} 1210
           */
          'text/plain': string;
        };
      };
      /** @description A valid bearer token is required */
      401: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'WWW-Authenticate': components['headers']['WWWAuthenticate'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description Internal server error */
      500: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
      /** @description The server is shutting down */
      503: {
        headers: {
          'x-request-id': components['headers']['RequestId'];
          'Retry-After': components['headers']['RetryAfter'];
          [name: string]: unknown;
        };
        content: {
          'application/problem+json': components['schemas']['Problem'];
        };
      };
    };
  };
  onTicketStartLinkIssued: {
    parameters: {
      query?: never;
      header: {
        /**
         * @description The event's `id` (`<TicketId>:<version>:<type>`): the same on every attempt. Deduplicate on it, and verify the signature before trusting it.
         * @example order-20260301-0001:3:ticket.passed
         */
        'webhook-id': string;
        /**
         * @description When this attempt was signed, in Unix seconds. Refuse a delivery whose timestamp is far from now (the libraries allow 5 minutes) to defeat replays.
         * @example 1772352003
         */
        'webhook-timestamp': string;
        /**
         * @description Space-separated `v1,<base64 HMAC-SHA256>` signatures of `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the base64 decoding of the secret after its `whsec_` prefix: the secret of the destination’s host in WEBHOOK_SECRETS_BY_HOST when it has one, else WEBHOOK_SECRET and each of WEBHOOK_PREVIOUS_SECRETS (one signature each while a secret is rotated: one valid signature is enough). Verify with a Standard Webhooks library (`standardwebhooks` for Node and Python, the Go, Java and other libraries of github.com/standard-webhooks) over the raw body.
         * @example v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=
         */
        'webhook-signature': string;
        /**
         * @description The event's `type`, to route a delivery before reading its body.
         * @example ticket.passed
         */
        'x-cloudauth-orchestrator-event': string;
        /**
         * @description The event's `id` again (as `webhook-id`), for receivers written before it.
         * @example order-20260301-0001:3:ticket.passed
         */
        'x-cloudauth-orchestrator-delivery': string;
        /**
         * @deprecated
         * @description Deprecated, sent only with WEBHOOK_LEGACY_SIGNATURE=true while receivers move to `webhook-signature`, and removed in the next release: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, one `v1=` per secret.
         * @example t=1772352003,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
         */
        'x-cloudauth-orchestrator-signature'?: string;
      };
      path?: never;
      cookie?: never;
    };
    /** @description The event, `type` `ticket.start_link_issued`. Verify `webhook-signature` over the raw body before parsing it. */
    requestBody: {
      content: {
        'application/json': components['schemas']['WebhookEvent'] & {
          /** @constant */
          type: 'ticket.start_link_issued';
        };
      };
    };
    responses: {
      /** @description Tried again with backoff (WEBHOOK_* settings); a `Retry-After` (seconds or an HTTP date) is a minimum, up to an hour. */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Delivered: the event is not sent again. */
      '2XX': {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Tried again with backoff (WEBHOOK_* settings); a `Retry-After` (seconds or an HTTP date) is a minimum, up to an hour. */
      '5XX': {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Any other answer (a redirect too: redirects are not followed) dead-letters the delivery at once. */
      default: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
    };
  };
  onTicketTokenIssued: {
    parameters: {
      query?: never;
      header: {
        /**
         * @description The event's `id` (`<TicketId>:<version>:<type>`): the same on every attempt. Deduplicate on it, and verify the signature before trusting it.
         * @example order-20260301-0001:3:ticket.passed
         */
        'webhook-id': string;
        /**
         * @description When this attempt was signed, in Unix seconds. Refuse a delivery whose timestamp is far from now (the libraries allow 5 minutes) to defeat replays.
         * @example 1772352003
         */
        'webhook-timestamp': string;
        /**
         * @description Space-separated `v1,<base64 HMAC-SHA256>` signatures of `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the base64 decoding of the secret after its `whsec_` prefix: the secret of the destination’s host in WEBHOOK_SECRETS_BY_HOST when it has one, else WEBHOOK_SECRET and each of WEBHOOK_PREVIOUS_SECRETS (one signature each while a secret is rotated: one valid signature is enough). Verify with a Standard Webhooks library (`standardwebhooks` for Node and Python, the Go, Java and other libraries of github.com/standard-webhooks) over the raw body.
         * @example v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=
         */
        'webhook-signature': string;
        /**
         * @description The event's `type`, to route a delivery before reading its body.
         * @example ticket.passed
         */
        'x-cloudauth-orchestrator-event': string;
        /**
         * @description The event's `id` again (as `webhook-id`), for receivers written before it.
         * @example order-20260301-0001:3:ticket.passed
         */
        'x-cloudauth-orchestrator-delivery': string;
        /**
         * @deprecated
         * @description Deprecated, sent only with WEBHOOK_LEGACY_SIGNATURE=true while receivers move to `webhook-signature`, and removed in the next release: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, one `v1=` per secret.
         * @example t=1772352003,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
         */
        'x-cloudauth-orchestrator-signature'?: string;
      };
      path?: never;
      cookie?: never;
    };
    /** @description The event, `type` `ticket.token_issued`. Verify `webhook-signature` over the raw body before parsing it. */
    requestBody: {
      content: {
        'application/json': components['schemas']['WebhookEvent'] & {
          /** @constant */
          type: 'ticket.token_issued';
        };
      };
    };
    responses: {
      /** @description Tried again with backoff (WEBHOOK_* settings); a `Retry-After` (seconds or an HTTP date) is a minimum, up to an hour. */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Delivered: the event is not sent again. */
      '2XX': {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Tried again with backoff (WEBHOOK_* settings); a `Retry-After` (seconds or an HTTP date) is a minimum, up to an hour. */
      '5XX': {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Any other answer (a redirect too: redirects are not followed) dead-letters the delivery at once. */
      default: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
    };
  };
  onTicketPassed: {
    parameters: {
      query?: never;
      header: {
        /**
         * @description The event's `id` (`<TicketId>:<version>:<type>`): the same on every attempt. Deduplicate on it, and verify the signature before trusting it.
         * @example order-20260301-0001:3:ticket.passed
         */
        'webhook-id': string;
        /**
         * @description When this attempt was signed, in Unix seconds. Refuse a delivery whose timestamp is far from now (the libraries allow 5 minutes) to defeat replays.
         * @example 1772352003
         */
        'webhook-timestamp': string;
        /**
         * @description Space-separated `v1,<base64 HMAC-SHA256>` signatures of `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the base64 decoding of the secret after its `whsec_` prefix: the secret of the destination’s host in WEBHOOK_SECRETS_BY_HOST when it has one, else WEBHOOK_SECRET and each of WEBHOOK_PREVIOUS_SECRETS (one signature each while a secret is rotated: one valid signature is enough). Verify with a Standard Webhooks library (`standardwebhooks` for Node and Python, the Go, Java and other libraries of github.com/standard-webhooks) over the raw body.
         * @example v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=
         */
        'webhook-signature': string;
        /**
         * @description The event's `type`, to route a delivery before reading its body.
         * @example ticket.passed
         */
        'x-cloudauth-orchestrator-event': string;
        /**
         * @description The event's `id` again (as `webhook-id`), for receivers written before it.
         * @example order-20260301-0001:3:ticket.passed
         */
        'x-cloudauth-orchestrator-delivery': string;
        /**
         * @deprecated
         * @description Deprecated, sent only with WEBHOOK_LEGACY_SIGNATURE=true while receivers move to `webhook-signature`, and removed in the next release: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, one `v1=` per secret.
         * @example t=1772352003,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
         */
        'x-cloudauth-orchestrator-signature'?: string;
      };
      path?: never;
      cookie?: never;
    };
    /** @description The event, `type` `ticket.passed`. Verify `webhook-signature` over the raw body before parsing it. */
    requestBody: {
      content: {
        'application/json': components['schemas']['WebhookEvent'] & {
          /** @constant */
          type: 'ticket.passed';
        };
      };
    };
    responses: {
      /** @description Tried again with backoff (WEBHOOK_* settings); a `Retry-After` (seconds or an HTTP date) is a minimum, up to an hour. */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Delivered: the event is not sent again. */
      '2XX': {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Tried again with backoff (WEBHOOK_* settings); a `Retry-After` (seconds or an HTTP date) is a minimum, up to an hour. */
      '5XX': {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Any other answer (a redirect too: redirects are not followed) dead-letters the delivery at once. */
      default: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
    };
  };
  onTicketNotPassed: {
    parameters: {
      query?: never;
      header: {
        /**
         * @description The event's `id` (`<TicketId>:<version>:<type>`): the same on every attempt. Deduplicate on it, and verify the signature before trusting it.
         * @example order-20260301-0001:3:ticket.passed
         */
        'webhook-id': string;
        /**
         * @description When this attempt was signed, in Unix seconds. Refuse a delivery whose timestamp is far from now (the libraries allow 5 minutes) to defeat replays.
         * @example 1772352003
         */
        'webhook-timestamp': string;
        /**
         * @description Space-separated `v1,<base64 HMAC-SHA256>` signatures of `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the base64 decoding of the secret after its `whsec_` prefix: the secret of the destination’s host in WEBHOOK_SECRETS_BY_HOST when it has one, else WEBHOOK_SECRET and each of WEBHOOK_PREVIOUS_SECRETS (one signature each while a secret is rotated: one valid signature is enough). Verify with a Standard Webhooks library (`standardwebhooks` for Node and Python, the Go, Java and other libraries of github.com/standard-webhooks) over the raw body.
         * @example v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=
         */
        'webhook-signature': string;
        /**
         * @description The event's `type`, to route a delivery before reading its body.
         * @example ticket.passed
         */
        'x-cloudauth-orchestrator-event': string;
        /**
         * @description The event's `id` again (as `webhook-id`), for receivers written before it.
         * @example order-20260301-0001:3:ticket.passed
         */
        'x-cloudauth-orchestrator-delivery': string;
        /**
         * @deprecated
         * @description Deprecated, sent only with WEBHOOK_LEGACY_SIGNATURE=true while receivers move to `webhook-signature`, and removed in the next release: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, one `v1=` per secret.
         * @example t=1772352003,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
         */
        'x-cloudauth-orchestrator-signature'?: string;
      };
      path?: never;
      cookie?: never;
    };
    /** @description The event, `type` `ticket.not_passed`. Verify `webhook-signature` over the raw body before parsing it. */
    requestBody: {
      content: {
        'application/json': components['schemas']['WebhookEvent'] & {
          /** @constant */
          type: 'ticket.not_passed';
        };
      };
    };
    responses: {
      /** @description Tried again with backoff (WEBHOOK_* settings); a `Retry-After` (seconds or an HTTP date) is a minimum, up to an hour. */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Delivered: the event is not sent again. */
      '2XX': {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Tried again with backoff (WEBHOOK_* settings); a `Retry-After` (seconds or an HTTP date) is a minimum, up to an hour. */
      '5XX': {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Any other answer (a redirect too: redirects are not followed) dead-letters the delivery at once. */
      default: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
    };
  };
  onTicketExpired: {
    parameters: {
      query?: never;
      header: {
        /**
         * @description The event's `id` (`<TicketId>:<version>:<type>`): the same on every attempt. Deduplicate on it, and verify the signature before trusting it.
         * @example order-20260301-0001:3:ticket.passed
         */
        'webhook-id': string;
        /**
         * @description When this attempt was signed, in Unix seconds. Refuse a delivery whose timestamp is far from now (the libraries allow 5 minutes) to defeat replays.
         * @example 1772352003
         */
        'webhook-timestamp': string;
        /**
         * @description Space-separated `v1,<base64 HMAC-SHA256>` signatures of `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the base64 decoding of the secret after its `whsec_` prefix: the secret of the destination’s host in WEBHOOK_SECRETS_BY_HOST when it has one, else WEBHOOK_SECRET and each of WEBHOOK_PREVIOUS_SECRETS (one signature each while a secret is rotated: one valid signature is enough). Verify with a Standard Webhooks library (`standardwebhooks` for Node and Python, the Go, Java and other libraries of github.com/standard-webhooks) over the raw body.
         * @example v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=
         */
        'webhook-signature': string;
        /**
         * @description The event's `type`, to route a delivery before reading its body.
         * @example ticket.passed
         */
        'x-cloudauth-orchestrator-event': string;
        /**
         * @description The event's `id` again (as `webhook-id`), for receivers written before it.
         * @example order-20260301-0001:3:ticket.passed
         */
        'x-cloudauth-orchestrator-delivery': string;
        /**
         * @deprecated
         * @description Deprecated, sent only with WEBHOOK_LEGACY_SIGNATURE=true while receivers move to `webhook-signature`, and removed in the next release: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, one `v1=` per secret.
         * @example t=1772352003,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
         */
        'x-cloudauth-orchestrator-signature'?: string;
      };
      path?: never;
      cookie?: never;
    };
    /** @description The event, `type` `ticket.expired`. Verify `webhook-signature` over the raw body before parsing it. */
    requestBody: {
      content: {
        'application/json': components['schemas']['WebhookEvent'] & {
          /** @constant */
          type: 'ticket.expired';
        };
      };
    };
    responses: {
      /** @description Tried again with backoff (WEBHOOK_* settings); a `Retry-After` (seconds or an HTTP date) is a minimum, up to an hour. */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Delivered: the event is not sent again. */
      '2XX': {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Tried again with backoff (WEBHOOK_* settings); a `Retry-After` (seconds or an HTTP date) is a minimum, up to an hour. */
      '5XX': {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Any other answer (a redirect too: redirects are not followed) dead-letters the delivery at once. */
      default: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
    };
  };
  onTicketFailed: {
    parameters: {
      query?: never;
      header: {
        /**
         * @description The event's `id` (`<TicketId>:<version>:<type>`): the same on every attempt. Deduplicate on it, and verify the signature before trusting it.
         * @example order-20260301-0001:3:ticket.passed
         */
        'webhook-id': string;
        /**
         * @description When this attempt was signed, in Unix seconds. Refuse a delivery whose timestamp is far from now (the libraries allow 5 minutes) to defeat replays.
         * @example 1772352003
         */
        'webhook-timestamp': string;
        /**
         * @description Space-separated `v1,<base64 HMAC-SHA256>` signatures of `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the base64 decoding of the secret after its `whsec_` prefix: the secret of the destination’s host in WEBHOOK_SECRETS_BY_HOST when it has one, else WEBHOOK_SECRET and each of WEBHOOK_PREVIOUS_SECRETS (one signature each while a secret is rotated: one valid signature is enough). Verify with a Standard Webhooks library (`standardwebhooks` for Node and Python, the Go, Java and other libraries of github.com/standard-webhooks) over the raw body.
         * @example v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=
         */
        'webhook-signature': string;
        /**
         * @description The event's `type`, to route a delivery before reading its body.
         * @example ticket.passed
         */
        'x-cloudauth-orchestrator-event': string;
        /**
         * @description The event's `id` again (as `webhook-id`), for receivers written before it.
         * @example order-20260301-0001:3:ticket.passed
         */
        'x-cloudauth-orchestrator-delivery': string;
        /**
         * @deprecated
         * @description Deprecated, sent only with WEBHOOK_LEGACY_SIGNATURE=true while receivers move to `webhook-signature`, and removed in the next release: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, one `v1=` per secret.
         * @example t=1772352003,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
         */
        'x-cloudauth-orchestrator-signature'?: string;
      };
      path?: never;
      cookie?: never;
    };
    /** @description The event, `type` `ticket.failed`. Verify `webhook-signature` over the raw body before parsing it. */
    requestBody: {
      content: {
        'application/json': components['schemas']['WebhookEvent'] & {
          /** @constant */
          type: 'ticket.failed';
        };
      };
    };
    responses: {
      /** @description Tried again with backoff (WEBHOOK_* settings); a `Retry-After` (seconds or an HTTP date) is a minimum, up to an hour. */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Delivered: the event is not sent again. */
      '2XX': {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Tried again with backoff (WEBHOOK_* settings); a `Retry-After` (seconds or an HTTP date) is a minimum, up to an hour. */
      '5XX': {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Any other answer (a redirect too: redirects are not followed) dead-letters the delivery at once. */
      default: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
    };
  };
  onTicketCancelled: {
    parameters: {
      query?: never;
      header: {
        /**
         * @description The event's `id` (`<TicketId>:<version>:<type>`): the same on every attempt. Deduplicate on it, and verify the signature before trusting it.
         * @example order-20260301-0001:3:ticket.passed
         */
        'webhook-id': string;
        /**
         * @description When this attempt was signed, in Unix seconds. Refuse a delivery whose timestamp is far from now (the libraries allow 5 minutes) to defeat replays.
         * @example 1772352003
         */
        'webhook-timestamp': string;
        /**
         * @description Space-separated `v1,<base64 HMAC-SHA256>` signatures of `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the base64 decoding of the secret after its `whsec_` prefix: the secret of the destination’s host in WEBHOOK_SECRETS_BY_HOST when it has one, else WEBHOOK_SECRET and each of WEBHOOK_PREVIOUS_SECRETS (one signature each while a secret is rotated: one valid signature is enough). Verify with a Standard Webhooks library (`standardwebhooks` for Node and Python, the Go, Java and other libraries of github.com/standard-webhooks) over the raw body.
         * @example v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=
         */
        'webhook-signature': string;
        /**
         * @description The event's `type`, to route a delivery before reading its body.
         * @example ticket.passed
         */
        'x-cloudauth-orchestrator-event': string;
        /**
         * @description The event's `id` again (as `webhook-id`), for receivers written before it.
         * @example order-20260301-0001:3:ticket.passed
         */
        'x-cloudauth-orchestrator-delivery': string;
        /**
         * @deprecated
         * @description Deprecated, sent only with WEBHOOK_LEGACY_SIGNATURE=true while receivers move to `webhook-signature`, and removed in the next release: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, one `v1=` per secret.
         * @example t=1772352003,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
         */
        'x-cloudauth-orchestrator-signature'?: string;
      };
      path?: never;
      cookie?: never;
    };
    /** @description The event, `type` `ticket.cancelled`. Verify `webhook-signature` over the raw body before parsing it. */
    requestBody: {
      content: {
        'application/json': components['schemas']['WebhookEvent'] & {
          /** @constant */
          type: 'ticket.cancelled';
        };
      };
    };
    responses: {
      /** @description Tried again with backoff (WEBHOOK_* settings); a `Retry-After` (seconds or an HTTP date) is a minimum, up to an hour. */
      429: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Delivered: the event is not sent again. */
      '2XX': {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Tried again with backoff (WEBHOOK_* settings); a `Retry-After` (seconds or an HTTP date) is a minimum, up to an hour. */
      '5XX': {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
      /** @description Any other answer (a redirect too: redirects are not followed) dead-letters the delivery at once. */
      default: {
        headers: {
          [name: string]: unknown;
        };
        content?: never;
      };
    };
  };
}
