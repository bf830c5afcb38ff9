import { describe, expect, it } from 'vitest';
import { SCHEMES } from '../../src/config.js';
import {
  TicketState,
  flowOf,
  isTerminal,
  type Flow,
  type Lease,
  type Ticket,
  type TicketError,
  type TicketEvent,
  type TicketEventType,
  type Verdict,
} from '../../src/domain/ticket.js';
import { canApply, legalEvents, transition } from '../../src/domain/ticket-machine.js';
import { IllegalTransitionError } from '../../src/errors.js';

const T0 = 1_700_000_000_000;
const NOW = T0 + 60_000;

function aLease(issuedAt = T0): Lease {
  return {
    verifyToken: `vt-${issuedAt}`,
    tokenExpiresAt: issuedAt + 30 * 60_000,
    sts: {
      accessKeyId: 'STS.id',
      accessKeySecret: 'sts-secret',
      securityToken: 'CAIS-token',
      endPoint: 'oss-cn-shanghai.aliyuncs.com',
      bucketName: 'verify-img',
      path: 'rp/t-1/',
      expiresAt: issuedAt + 15 * 60_000,
    },
    pageUrl: `https://h5.example.test/verify?token=vt-${issuedAt}`,
    issuedAt,
  };
}

const PASSED: Verdict = { statusCode: 1, trustedScore: 99.5, similarityScore: 98 };
const NOT_PASSED: Verdict = {
  statusCode: 2,
  similarityScore: 12,
  auditConclusions: 'name mismatch',
};

const AN_ERROR: TicketError = {
  code: 'PROVIDER_INVALID_PARAM',
  message: 'InvalidParam.CertifyId',
  retryable: false,
  providerCode: 'InvalidParam.CertifyId',
  requestId: 'req-1',
  at: T0,
};

class TicketBuilder {
  private ticket: Ticket = {
    ticketId: 't-1',
    biz: 'RPMin-demo',
    flow: 'server',
    state: 'queued',
    version: 1,
    attempts: 0,
    createdAt: T0,
    updatedAt: T0,
  };

  inState(state: TicketState): this {
    this.ticket = { ...this.ticket, state };
    return this;
  }

  withFlow(flow: Flow): this {
    this.ticket = { ...this.ticket, flow };
    return this;
  }

  atVersion(version: number): this {
    this.ticket = { ...this.ticket, version };
    return this;
  }

  withAttempts(attempts: number): this {
    this.ticket = { ...this.ticket, attempts };
    return this;
  }

  withLease(lease: Lease = aLease()): this {
    this.ticket = { ...this.ticket, lease };
    return this;
  }

  withVerdict(verdict: Verdict): this {
    this.ticket = { ...this.ticket, verdict };
    return this;
  }

  withLastError(error: TicketError = AN_ERROR): this {
    this.ticket = { ...this.ticket, lastError: error };
    return this;
  }

  finishedAt(at: number): this {
    this.ticket = { ...this.ticket, finishedAt: at };
    return this;
  }

  build(): Ticket {
    return structuredClone(this.ticket);
  }
}

function aTicket(): TicketBuilder {
  return new TicketBuilder();
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function refusal(f: () => unknown): IllegalTransitionError {
  try {
    f();
  } catch (err) {
    if (err instanceof IllegalTransitionError) return err;
    throw err;
  }
  throw new Error('expected an IllegalTransitionError');
}

/** Sample events of every type (`verdict`: one per status code); key order = column order. */
const SAMPLES: { [K in TicketEventType]: Extract<TicketEvent, { type: K }>[] } = {
  token_issued: [{ type: 'token_issued', lease: aLease(NOW) }],
  token_renewed: [{ type: 'token_renewed', lease: aLease(NOW) }],
  submitted: [{ type: 'submitted' }],
  verdict: [
    { type: 'verdict', verdict: PASSED },
    { type: 'verdict', verdict: NOT_PASSED },
  ],
  token_expired: [{ type: 'token_expired' }],
  failed: [{ type: 'failed', error: AN_ERROR }],
  cancelled: [{ type: 'cancelled' }],
  retried: [{ type: 'retried' }],
};
const EVENT_TYPES = Object.keys(SAMPLES) as TicketEventType[];
const COLUMNS: TicketEvent[] = Object.values(SAMPLES).flat();
const STATES = Object.values(TicketState);

const __ = 'illegal';
type Outcome = TicketState | typeof __ | { server: TicketState; interactive: TicketState };
type Row = readonly Outcome[];
const BY_FLOW = { server: 'token_issued', interactive: 'awaiting_user' } as const;

/** Every (state, event) pair: its target, by flow where the flow decides, or illegal. */
// prettier-ignore
const EXPECTED: Record<TicketState, Row> = {
  //              token_issued token_renewed   submitted    verdict 1 verdict 2     token_expired failed    cancelled    retried
  queued:        [BY_FLOW,     __,             __,          'passed', 'not_passed', 'expired',    'failed', 'cancelled', __      ],
  token_issued:  [__,          'token_issued', 'submitted', 'passed', 'not_passed', __,           'failed', 'cancelled', __      ],
  submitted:     [__,          __,             __,          'passed', 'not_passed', __,           'failed', 'cancelled', __      ],
  awaiting_user: [__,          __,             __,          'passed', 'not_passed', 'expired',    'failed', 'cancelled', __      ],
  passed:        [__,          __,             __,          __,       __,           __,           __,       __,          __      ],
  not_passed:    [__,          __,             __,          __,       __,           __,           __,       __,          __      ],
  expired:       [__,          __,             __,          __,       __,           __,           __,       __,          'queued'],
  failed:        [__,          __,             __,          __,       __,           __,           __,       __,          'queued'],
  cancelled:     [__,          __,             __,          __,       __,           __,           __,       __,          __      ],
};

function describeEvent(event: TicketEvent): string {
  return event.type === 'verdict' ? `verdict ${event.verdict.statusCode}` : event.type;
}

const CASES = STATES.flatMap((state) =>
  COLUMNS.flatMap((event, column) =>
    (['server', 'interactive'] as const).map((flow) => {
      const outcome = EXPECTED[state][column];
      if (outcome === undefined) throw new Error(`EXPECTED.${state} has no column ${column}`);
      const expected = typeof outcome === 'object' ? outcome[flow] : outcome;
      const title = `${state} + ${describeEvent(event)} (${flow} flow) → ${expected}`;
      return { state, flow, event, expected, title };
    }),
  ),
);

describe('the transition table', () => {
  it('has a row for every state and a column for every event', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...STATES].sort());
    expect(new Set(COLUMNS.map((e) => e.type))).toEqual(new Set(EVENT_TYPES));
    for (const state of STATES) expect(EXPECTED[state]).toHaveLength(COLUMNS.length);
    expect(CASES).toHaveLength(STATES.length * COLUMNS.length * 2);
  });

  for (const { state, flow, event, expected, title } of CASES) {
    it(title, () => {
      const ticket = aTicket().inState(state).withFlow(flow).build();
      if (expected === __) {
        const err = refusal(() => transition(ticket, event, NOW));
        expect(err).toMatchObject({ code: 'ILLEGAL_TRANSITION', from: state, event: event.type });
        expect(err.retryable).toBe(false);
        expect(err.message).toContain(state);
        expect(err.message).toContain(event.type);
        expect(canApply(state, event.type)).toBe(false);
        expect(legalEvents(state)).not.toContain(event.type);
      } else {
        expect(transition(ticket, event, NOW).ticket.state).toBe(expected);
        expect(canApply(state, event.type)).toBe(true);
        expect(legalEvents(state)).toContain(event.type);
      }
    });
  }

  it('lists legal events in a fixed order, and none for passed', () => {
    expect(legalEvents('token_issued')).toEqual([
      'token_renewed',
      'submitted',
      'verdict',
      'failed',
      'cancelled',
    ]);
    expect(legalEvents('failed')).toEqual(['retried']);
    expect(legalEvents('passed')).toEqual([]);
  });

  it('refuses a state or event type that is not in the table, even an Object.prototype key', () => {
    const corrupt = { ...aTicket().build(), state: 'toString' } as unknown as Ticket;
    expect(refusal(() => transition(corrupt, { type: 'cancelled' }, NOW)).from).toBe('toString');
    const odd = { type: 'constructor' } as unknown as TicketEvent;
    expect(refusal(() => transition(aTicket().build(), odd, NOW)).event).toBe('constructor');
    expect(canApply('queued', 'hasOwnProperty' as TicketEventType)).toBe(false);
    const inherited = { ...aTicket().build(), state: '__proto__' } as unknown as Ticket;
    const toString = { type: 'toString' } as unknown as TicketEvent;
    expect(refusal(() => transition(inherited, toString, NOW)).from).toBe('__proto__');
  });
});

describe('transition', () => {
  it('returns a new ticket with version + 1 and updatedAt = now, leaving the deep-frozen input untouched', () => {
    const input = deepFreeze(
      aTicket().inState('token_issued').atVersion(7).withAttempts(2).withLease().build(),
    );
    const snapshot = structuredClone(input);
    const { ticket } = transition(input, { type: 'submitted' }, NOW);
    expect(ticket).not.toBe(input);
    expect(input).toEqual(snapshot);
    expect(ticket).toEqual({ ...snapshot, state: 'submitted', version: 8, updatedAt: NOW });
  });

  it('bumps the version by exactly 1 on every legal transition', () => {
    for (const { state, flow, event, expected } of CASES) {
      if (expected === __) continue;
      const input = deepFreeze(aTicket().inState(state).withFlow(flow).atVersion(41).build());
      expect(transition(input, event, NOW).ticket.version).toBe(42);
    }
  });

  it('token_issued sets the lease (server flow → token_issued)', () => {
    const lease = aLease(NOW);
    const { ticket } = transition(aTicket().build(), { type: 'token_issued', lease }, NOW);
    expect(ticket).toMatchObject({ state: 'token_issued', lease });
    expect(ticket).not.toHaveProperty('finishedAt');
  });

  it('token_issued sets the lease (interactive flow → awaiting_user)', () => {
    const lease = aLease(NOW);
    const input = aTicket().withFlow('interactive').build();
    const { ticket } = transition(input, { type: 'token_issued', lease }, NOW);
    expect(ticket).toMatchObject({ state: 'awaiting_user', lease });
  });

  it('token_renewed replaces the old lease', () => {
    const input = deepFreeze(aTicket().inState('token_issued').withLease(aLease(T0)).build());
    const lease = aLease(NOW);
    const { ticket } = transition(input, { type: 'token_renewed', lease }, NOW);
    expect(ticket.state).toBe('token_issued');
    expect(ticket.lease).toEqual(lease);
    expect(input.lease?.issuedAt).toBe(T0);
  });

  it('a passing verdict sets verdict and finishedAt', () => {
    const input = aTicket().inState('submitted').withLease().build();
    const { ticket } = transition(input, { type: 'verdict', verdict: PASSED }, NOW);
    expect(ticket).toMatchObject({ state: 'passed', verdict: PASSED, finishedAt: NOW });
  });

  it('verdict statusCode 2 → not_passed, with the conclusion in the history cause', () => {
    const input = aTicket()
      .inState('awaiting_user')
      .withFlow('interactive')
      .withAttempts(1)
      .build();
    const result = transition(input, { type: 'verdict', verdict: NOT_PASSED }, NOW);
    expect(result.ticket).toMatchObject({
      state: 'not_passed',
      verdict: NOT_PASSED,
      finishedAt: NOW,
    });
    expect(result.history).toEqual({
      from: 'awaiting_user',
      to: 'not_passed',
      event: 'verdict',
      cause: 'not_passed: name mismatch',
      at: NOW,
      attempt: 1,
    });
  });

  it('a verdict without conclusions gives the bare outcome as cause', () => {
    const input = aTicket().inState('submitted').build();
    const { history } = transition(input, { type: 'verdict', verdict: { statusCode: 2 } }, NOW);
    expect(history.cause).toBe('not_passed');
    expect(transition(input, { type: 'verdict', verdict: PASSED }, NOW).history.cause).toBe(
      'passed',
    );
  });

  it('failed sets lastError and finishedAt, drops the lease and names the error code in the history', () => {
    const input = aTicket().inState('token_issued').withAttempts(3).withLease().build();
    const result = transition(input, { type: 'failed', error: AN_ERROR }, NOW);
    expect(result.ticket).toMatchObject({ state: 'failed', lastError: AN_ERROR, finishedAt: NOW });
    expect(result.ticket).not.toHaveProperty('lease');
    expect(result.history).toEqual({
      from: 'token_issued',
      to: 'failed',
      event: 'failed',
      cause: 'PROVIDER_INVALID_PARAM',
      at: NOW,
      attempt: 3,
    });
  });

  it.each(['expired', 'cancelled'] as const)('entering %s sets finishedAt', (to) => {
    const input = aTicket().inState('awaiting_user').withFlow('interactive').build();
    const event: TicketEvent = { type: to === 'expired' ? 'token_expired' : 'cancelled' };
    const { ticket } = transition(input, event, NOW);
    expect(ticket).toMatchObject({ state: to, finishedAt: NOW });
  });

  it.each([
    ['submitted', 'token_issued', 'submitted'],
    ['token_expired', 'awaiting_user', 'expired'],
    ['cancelled', 'submitted', 'cancelled'],
  ] as const)(
    '%s changes nothing but the state and its stamps (and ends the lease)',
    (type, from, to) => {
      const input = deepFreeze(
        aTicket().inState(from).withAttempts(2).withLease().withLastError().build(),
      );
      const { ticket } = transition(input, { type }, NOW);
      const { lease, ...withoutLease } = input;
      expect(ticket).toEqual({
        ...(isTerminal(to) ? withoutLease : { ...withoutLease, lease }),
        state: to,
        version: input.version + 1,
        updatedAt: NOW,
        ...(isTerminal(to) ? { finishedAt: NOW } : {}),
      });
    },
  );

  it('a finished ticket keeps no lease, whatever ended it', () => {
    for (const c of CASES) {
      if (c.expected === __ || !isTerminal(c.expected)) continue;
      const input = aTicket().inState(c.state).withFlow(c.flow).withLease().build();
      expect(
        transition(input, c.event, NOW).ticket,
        `${c.state} ${c.event.type}`,
      ).not.toHaveProperty('lease');
    }
  });

  it('leaves finishedAt off on non-terminal targets', () => {
    for (const c of CASES) {
      if (c.expected === __ || isTerminal(c.expected)) continue;
      const input = aTicket().inState(c.state).withFlow(c.flow).build();
      expect(transition(input, c.event, NOW).ticket).not.toHaveProperty('finishedAt');
    }
  });

  it.each(['failed', 'expired'] as const)(
    'retried from %s clears finishedAt, lease and verdict, resets attempts, keeps lastError',
    (from) => {
      const input = deepFreeze(
        aTicket()
          .inState(from)
          .withFlow('interactive')
          .withAttempts(5)
          .withLease()
          .withVerdict(PASSED)
          .withLastError()
          .finishedAt(T0)
          .atVersion(9)
          .build(),
      );
      const result = transition(input, { type: 'retried' }, NOW);
      expect(result.ticket).toEqual({
        ticketId: 't-1',
        biz: 'RPMin-demo',
        flow: 'interactive',
        state: 'queued',
        version: 10,
        attempts: 0,
        lastError: AN_ERROR,
        createdAt: T0,
        updatedAt: NOW,
      });
      for (const key of ['finishedAt', 'lease', 'verdict']) {
        expect(result.ticket).not.toHaveProperty(key);
      }
      expect(result.history).toEqual({ from, to: 'queued', event: 'retried', at: NOW, attempt: 5 });
    },
  );

  it('omits the history cause (rather than setting undefined) for events that carry none', () => {
    for (const c of CASES) {
      if (c.expected === __ || c.event.type === 'failed' || c.event.type === 'verdict') continue;
      const input = aTicket().inState(c.state).withFlow(c.flow).withAttempts(2).build();
      const { history } = transition(input, c.event, NOW);
      expect(history).toEqual({
        from: c.state,
        to: c.expected,
        event: c.event.type,
        at: NOW,
        attempt: 2,
      });
      expect(Object.keys(history)).not.toContain('cause');
    }
  });

  it('keeps ticketId, biz, flow, batchId and createdAt', () => {
    const input = { ...aTicket().withFlow('interactive').build(), batchId: 'b-1' };
    const { ticket } = transition(input, { type: 'token_issued', lease: aLease(NOW) }, NOW);
    expect(ticket).toMatchObject({
      ticketId: 't-1',
      biz: 'RPMin-demo',
      flow: 'interactive',
      batchId: 'b-1',
      createdAt: T0,
    });
  });
});

describe('the financial start (ID_PRO)', () => {
  it('a retry drops the start and takes the new link end it is given', () => {
    const t = { ...aTicket().inState('expired').build(), startBy: T0, startedAt: T0 - 5 };
    const { ticket } = transition(t, { type: 'retried', startBy: NOW + 1000 }, NOW);
    expect(ticket.state).toBe('queued');
    expect(ticket.startBy).toBe(NOW + 1000);
    expect(ticket.startedAt).toBeUndefined();
  });

  it('a pre-check mismatch ends a queued ticket not_passed; an unopened link expires it', () => {
    const queued = aTicket().build();
    expect(transition(queued, { type: 'verdict', verdict: NOT_PASSED }, NOW).ticket.state).toBe(
      'not_passed',
    );
    expect(transition(queued, { type: 'token_expired' }, NOW).ticket).toMatchObject({
      state: 'expired',
      finishedAt: NOW,
    });
  });
});

describe('flowOf', () => {
  it('runs RPMin on the server flow and every other scheme interactively', () => {
    expect(flowOf('RPMin')).toBe('server');
    for (const scheme of SCHEMES.filter((s) => s !== 'RPMin')) {
      expect(flowOf(scheme)).toBe('interactive');
    }
  });
});
