import { describe, expect, it } from 'vitest';
import {
  decide,
  freshRun,
  pollDelay,
  renewalReason,
  verdictOf,
  type DecideSettings,
  type DecidedTicket,
  type LearntStatus,
  type RenewReason,
  type RunMemory,
  type Step,
} from '../../src/domain/decide.js';
import {
  TERMINAL_STATES,
  type Flow,
  type Lease,
  type TicketState,
} from '../../src/domain/ticket.js';

const NOW = 1_700_000_000_000;
const S = 1000;
const MIN = 60 * S;

const SETTINGS: DecideSettings = {
  leaseMarginMs: 120 * S,
  pollInitialMs: 2 * S,
  pollMaxMs: 60 * S,
  pollFactor: 2,
  maxRenewalsPerRun: 3,
};

/** A lease issued `ageMs` before NOW whose token and STS credential live the given times. */
function aLease(ageMs: number, tokenMs: number, stsMs: number): Lease {
  const issuedAt = NOW - ageMs;
  return {
    verifyToken: `vt-${issuedAt}-${tokenMs}-${stsMs}`,
    tokenExpiresAt: issuedAt + tokenMs,
    sts: {
      accessKeyId: 'STS.id',
      accessKeySecret: 'sts-secret',
      securityToken: 'CAIS-token',
      endPoint: 'oss.example.test',
      bucketName: 'verify-img',
      path: 'rp/t-1/',
      expiresAt: issuedAt + stsMs,
    },
    pageUrl: 'https://h5.example.test/verify',
    issuedAt,
  };
}

/** The lease conditions a held lease can be in at NOW (margin 120 s). */
const LEASES = {
  fresh: aLease(0, 30 * MIN, 30 * MIN),
  /** 50 s of a 30 min token left. */
  token_expiring: aLease(29 * MIN + 10 * S, 30 * MIN, 60 * MIN),
  /** 50 s of a 30 min STS credential left. */
  sts_expiring: aLease(29 * MIN + 10 * S, 60 * MIN, 30 * MIN),
  /** Both ran out 200 s ago. */
  expired: aLease(30 * MIN + 200 * S, 30 * MIN, 30 * MIN),
  absent: undefined,
} as const;
type LeaseKind = keyof typeof LEASES;
const LEASE_KINDS = Object.keys(LEASES) as LeaseKind[];

/** The renewal each lease condition calls for (undefined: it will do). */
const RENEWAL: Record<LeaseKind, RenewReason | undefined> = {
  fresh: undefined,
  token_expiring: 'token_expiring',
  sts_expiring: 'sts_expiring',
  expired: 'token_expiring',
  absent: 'absent',
};

const MARK = NOW - 5 * S;

function aTicket(
  state: TicketState,
  o: { flow?: Flow; lease?: Lease | undefined; mark?: number } = {},
): DecidedTicket {
  return {
    ticketId: 't-1',
    biz: 'RPMin',
    flow: o.flow ?? (state === 'awaiting_user' ? 'interactive' : 'server'),
    state,
    version: 3,
    attempts: 0,
    ...(o.lease === undefined ? {} : { lease: o.lease }),
    ...(o.mark === undefined ? {} : { submitStartedAt: o.mark }),
    createdAt: NOW - 40 * MIN,
    updatedAt: NOW - MIN,
  };
}

/** A status answer learnt for `t` as it is (same state, same mark). */
function learnt(
  t: DecidedTicket,
  statusCode: number,
  from: LearntStatus['from'] = 'GetStatus',
): LearntStatus {
  return {
    answer: { statusCode, similarityScore: 97 },
    from,
    state: t.state,
    submitStartedAt: t.submitStartedAt,
  };
}

function runWith(o: Partial<RunMemory> = {}): RunMemory {
  return { ...freshRun(), ...o };
}

const PASSED = { statusCode: 1, similarityScore: 97 } as const;
const NOT_PASSED = { statusCode: 2, similarityScore: 97 } as const;

describe('decide: queued and finished tickets', () => {
  it.each(['server', 'interactive'] as const)('asks for a token for a queued %s ticket', (flow) => {
    expect(decide(aTicket('queued', { flow }), freshRun(), NOW, SETTINGS)).toEqual({
      kind: 'get_token',
    });
  });

  it.each(TERMINAL_STATES)('is done with a ticket in %s, whatever the run learnt', (state) => {
    const t = aTicket(state, { lease: LEASES.expired, mark: MARK });
    const run = runWith({ status: learnt(t, 0), renewals: 3, refusedToken: 'x' });
    expect(decide(t, run, NOW, SETTINGS)).toEqual({ kind: 'done', state });
  });
});

describe('decide: a financial ID_PRO ticket waits for its start link', () => {
  const waiting = { ...aTicket('queued', { flow: 'interactive' }), startBy: NOW + MIN };

  it('waits for the person until the link ends, then expires', () => {
    expect(decide(waiting, freshRun(), NOW, SETTINGS)).toEqual({
      kind: 'await_start',
      until: NOW + MIN,
    });
    expect(decide(waiting, freshRun(), NOW + MIN, SETTINGS)).toEqual({ kind: 'expire' });
  });

  it('asks for its token once the browser handed in MetaInfo', () => {
    const started = { ...waiting, startedAt: NOW - S };
    expect(decide(started, freshRun(), NOW + 2 * MIN, SETTINGS)).toEqual({ kind: 'get_token' });
  });
});

describe('decide: token_issued, no submission yet', () => {
  it.each(LEASE_KINDS)('with a %s lease and no submit mark', (kind) => {
    const t = aTicket('token_issued', { lease: LEASES[kind] });
    const reason = RENEWAL[kind];
    expect(decide(t, freshRun(), NOW, SETTINGS)).toEqual(
      reason === undefined ? { kind: 'upload_and_submit' } : { kind: 'renew', reason },
    );
  });

  it('renews a lease the provider refused in this run, fresh as it looks', () => {
    const t = aTicket('token_issued', { lease: LEASES.fresh });
    const run = runWith({ refusedToken: LEASES.fresh.verifyToken });
    expect(decide(t, run, NOW, SETTINGS)).toEqual({ kind: 'renew', reason: 'refused' });
  });

  it('uses a lease renewed since another was refused', () => {
    const t = aTicket('token_issued', { lease: LEASES.fresh });
    const run = runWith({ refusedToken: 'vt-older', renewals: 1 });
    expect(decide(t, run, NOW, SETTINGS)).toEqual({ kind: 'upload_and_submit' });
  });
});

describe('decide: guarantee 1, never a second SubmitMaterials after a crash', () => {
  it.each(LEASE_KINDS)(
    'asks GetStatus first for a ticket with a submit mark (lease %s), at any renewal count',
    (kind) => {
      const t = aTicket('token_issued', { lease: LEASES[kind], mark: MARK });
      for (const renewals of [0, 1, 3, 9]) {
        expect(decide(t, runWith({ renewals }), NOW, SETTINGS)).toEqual({
          kind: 'check_status',
          why: 'after_crash',
        });
      }
    },
  );

  it.each([
    [0, { kind: 'record_submitted' }],
    [1, { kind: 'finish', verdict: PASSED }],
    [2, { kind: 'finish', verdict: NOT_PASSED }],
    [3, { kind: 'record_submitted' }],
  ] as const)('goes on from GetStatus %i without submitting', (code, step) => {
    for (const kind of LEASE_KINDS) {
      const t = aTicket('token_issued', { lease: LEASES[kind], mark: MARK });
      expect(decide(t, runWith({ status: learnt(t, code) }), NOW, SETTINGS)).toEqual(step);
    }
  });

  it.each(LEASE_KINDS)(
    'submits again only when GetStatus answers -1 (no submission), the lease %s checked first',
    (kind) => {
      const t = aTicket('token_issued', { lease: LEASES[kind], mark: MARK });
      const reason = RENEWAL[kind];
      expect(decide(t, runWith({ status: learnt(t, -1) }), NOW, SETTINGS)).toEqual(
        reason === undefined ? { kind: 'upload_and_submit' } : { kind: 'renew', reason },
      );
    },
  );

  it.each([-1, 0, 3])('never submits again after SubmitMaterials itself answered %i', (code) => {
    for (const kind of LEASE_KINDS) {
      const t = aTicket('token_issued', { lease: LEASES[kind], mark: MARK });
      const run = runWith({ status: learnt(t, code, 'SubmitMaterials') });
      expect(decide(t, run, NOW, SETTINGS)).toEqual({ kind: 'record_submitted' });
    }
  });

  it('finishes on the verdict SubmitMaterials answered', () => {
    const t = aTicket('token_issued', { lease: LEASES.fresh, mark: MARK });
    const run = runWith({ status: learnt(t, 1, 'SubmitMaterials') });
    expect(decide(t, run, NOW, SETTINGS)).toEqual({ kind: 'finish', verdict: PASSED });
  });

  it('waits out a mark younger than a submission can take before submitting again on -1', () => {
    // two runs of one job (a lock lost to a stalled process): the other run's call may be on its
    // way, and GetStatus cannot know it yet
    const inFlight = { ...SETTINGS, submitInFlightMs: 20 * S };
    const young = aTicket('token_issued', { lease: LEASES.fresh, mark: NOW - 5 * S });
    expect(decide(young, runWith({ status: learnt(young, -1) }), NOW, inFlight)).toEqual({
      kind: 'wait_until',
      at: NOW + 15 * S,
    });
    const old = aTicket('token_issued', { lease: LEASES.fresh, mark: NOW - 20 * S });
    expect(decide(old, runWith({ status: learnt(old, -1) }), NOW, inFlight)).toEqual({
      kind: 'upload_and_submit',
    });
    // any other answer goes on at once, young mark or not
    expect(decide(young, runWith({ status: learnt(young, 0) }), NOW, inFlight)).toEqual({
      kind: 'record_submitted',
    });
    // the run's own call of that mark has ended (a refused token, renewed since): nothing waits
    const own = runWith({ status: learnt(young, -1), endedMark: NOW - 5 * S });
    expect(decide(young, own, NOW, inFlight)).toEqual({ kind: 'upload_and_submit' });
  });

  it('asks again when the mark changed since the answer (another run submitted meanwhile)', () => {
    const t = aTicket('token_issued', { lease: LEASES.fresh, mark: MARK });
    const stale: LearntStatus = { ...learnt(t, -1), submitStartedAt: MARK - 60 * S };
    expect(decide(t, runWith({ status: stale }), NOW, SETTINGS)).toEqual({
      kind: 'check_status',
      why: 'after_crash',
    });
  });

  it('never reaches upload_and_submit with a mark and no -1 from GetStatus, over every case', () => {
    const statuses: (LearntStatus['from'] | 'none')[] = ['none', 'GetStatus', 'SubmitMaterials'];
    for (const kind of LEASE_KINDS)
      for (const from of statuses)
        for (const code of [-1, 0, 1, 2])
          for (const renewals of [0, 3]) {
            const t = aTicket('token_issued', { lease: LEASES[kind], mark: MARK });
            const status = from === 'none' ? undefined : learnt(t, code, from);
            const step = decide(
              t,
              runWith({ renewals, ...(status ? { status } : {}) }),
              NOW,
              SETTINGS,
            );
            if (step.kind === 'upload_and_submit') expect([from, code]).toEqual(['GetStatus', -1]);
          }
  });
});

describe('decide: a submission that cannot be looked up is made at most once', () => {
  /** What an ID_MIN ticket's status answers: nothing known, and nothing to ask. */
  const unknown = (t: DecidedTicket): LearntStatus => ({
    ...learnt(t, -1),
    answer: { statusCode: -1, noLookup: true },
  });

  it('fails the ticket SUBMISSION_OUTCOME_UNKNOWN when a mark stands, instead of paying again', () => {
    const t = aTicket('token_issued', { lease: LEASES.fresh, mark: MARK });
    expect(decide(t, runWith({ status: unknown(t) }), NOW, SETTINGS)).toEqual({
      kind: 'outcome_unknown',
    });
  });

  it('submits when no mark stands (never submitted, or released after a refusal)', () => {
    const t = aTicket('token_issued', { lease: LEASES.fresh });
    expect(decide(t, freshRun(), NOW, SETTINGS)).toEqual({ kind: 'upload_and_submit' });
  });

  it('waits out a young mark first (another run may still be in its call, and answer)', () => {
    const inFlight = { ...SETTINGS, submitInFlightMs: 20 * S };
    const young = aTicket('token_issued', { lease: LEASES.fresh, mark: NOW - 5 * S });
    expect(decide(young, runWith({ status: unknown(young) }), NOW, inFlight)).toEqual({
      kind: 'wait_until',
      at: NOW + 15 * S,
    });
    const old = aTicket('token_issued', { lease: LEASES.fresh, mark: NOW - 20 * S });
    expect(decide(old, runWith({ status: unknown(old) }), NOW, inFlight)).toEqual({
      kind: 'outcome_unknown',
    });
  });

  it('sends it again with resubmitUnknown (UNKNOWN_SUBMISSION=resubmit)', () => {
    const t = aTicket('token_issued', { lease: LEASES.fresh, mark: MARK });
    const again = { ...SETTINGS, resubmitUnknown: true };
    expect(decide(t, runWith({ status: unknown(t) }), NOW, again)).toEqual({
      kind: 'upload_and_submit',
    });
  });

  it('finishes on the verdict its own call answered', () => {
    const t = aTicket('token_issued', { lease: LEASES.fresh, mark: MARK });
    const run = runWith({ status: learnt(t, 2, 'SubmitMaterials') });
    expect(decide(t, run, NOW, SETTINGS)).toEqual({ kind: 'finish', verdict: NOT_PASSED });
  });
});

describe('decide: guarantee 2, a lease is renewed ahead of its end', () => {
  it('renews at the lease margin before the token ends, not before', () => {
    const lease = aLease(0, 30 * MIN, 60 * MIN);
    const at = (leftMs: number) => lease.tokenExpiresAt - leftMs;
    const t = aTicket('token_issued', { lease });
    expect(decide(t, freshRun(), at(120 * S), SETTINGS)).toEqual({ kind: 'upload_and_submit' });
    expect(decide(t, freshRun(), at(120 * S - 1), SETTINGS)).toEqual({
      kind: 'renew',
      reason: 'token_expiring',
    });
  });

  it('renews at the lease margin before the STS credential ends, not before', () => {
    const lease = aLease(0, 60 * MIN, 30 * MIN);
    const at = (leftMs: number) => lease.sts!.expiresAt - leftMs;
    const t = aTicket('token_issued', { lease });
    expect(decide(t, freshRun(), at(120 * S), SETTINGS)).toEqual({ kind: 'upload_and_submit' });
    expect(decide(t, freshRun(), at(120 * S - 1), SETTINGS)).toEqual({
      kind: 'renew',
      reason: 'sts_expiring',
    });
  });

  it('caps the margin at a quarter of a short token lifetime (60 s: 15 s)', () => {
    const lease = aLease(0, 60 * S, 60 * MIN);
    expect(renewalReason(lease, lease.issuedAt + 45 * S, SETTINGS.leaseMarginMs)).toBeUndefined();
    expect(renewalReason(lease, lease.issuedAt + 45 * S + 1, SETTINGS.leaseMarginMs)).toBe(
      'token_expiring',
    );
  });

  it('caps the margin at a quarter of a short STS lifetime (60 s: 15 s)', () => {
    const lease = aLease(0, 30 * MIN, 60 * S);
    expect(renewalReason(lease, lease.issuedAt + 45 * S, SETTINGS.leaseMarginMs)).toBeUndefined();
    expect(renewalReason(lease, lease.issuedAt + 45 * S + 1, SETTINGS.leaseMarginMs)).toBe(
      'sts_expiring',
    );
  });

  it('never finds a lease just issued expiring, however short its credentials live', () => {
    const lifetimes = [1 * S, 10 * S, 60 * S, 119 * S, 120 * S, 480 * S, 30 * MIN, 24 * 60 * MIN];
    for (const token of lifetimes)
      for (const sts of lifetimes) {
        const t = aTicket('token_issued', { lease: aLease(0, token, sts) });
        expect(decide(t, freshRun(), NOW, SETTINGS)).toEqual({ kind: 'upload_and_submit' });
      }
  });
});

describe('decide: guarantee 3, the renewal cap per run', () => {
  const reasons = [
    ['token_expiring', LEASES.token_expiring, undefined],
    ['sts_expiring', LEASES.sts_expiring, undefined],
    ['refused', LEASES.fresh, LEASES.fresh.verifyToken],
  ] as const;

  it.each(reasons)(
    'renews (%s) while the run took fewer than the cap',
    (reason, lease, refused) => {
      const t = aTicket('token_issued', { lease });
      for (const renewals of [0, 1, 2]) {
        const run = runWith({ renewals, ...(refused ? { refusedToken: refused } : {}) });
        expect(decide(t, run, NOW, SETTINGS)).toEqual({ kind: 'renew', reason });
      }
    },
  );

  it.each(reasons)(
    'gives the job back (%s) once the run took the cap',
    (_reason, lease, refused) => {
      const t = aTicket('token_issued', { lease });
      for (const renewals of [3, 4]) {
        const run = runWith({ renewals, ...(refused ? { refusedToken: refused } : {}) });
        expect(decide(t, run, NOW, SETTINGS)).toEqual({
          kind: 'give_back',
          cause: 'renewals_exhausted',
        });
      }
    },
  );

  it('still submits with a fresh lease at the cap', () => {
    const t = aTicket('token_issued', { lease: LEASES.fresh });
    expect(decide(t, runWith({ renewals: 3 }), NOW, SETTINGS)).toEqual({
      kind: 'upload_and_submit',
    });
  });
});

describe('decide: submitted', () => {
  it.each(LEASE_KINDS)('asks the status when this run has not (lease %s)', (kind) => {
    const t = aTicket('submitted', { lease: LEASES[kind], mark: MARK });
    expect(decide(t, freshRun(), NOW, SETTINGS)).toEqual({ kind: 'check_status', why: 'poll' });
  });

  it.each([
    [-1, { kind: 'wait_until', at: NOW + 2 * S }],
    [0, { kind: 'wait_until', at: NOW + 2 * S }],
    [1, { kind: 'finish', verdict: PASSED }],
    [2, { kind: 'finish', verdict: NOT_PASSED }],
  ] as const)('after GetStatus %i', (code, step) => {
    const t = aTicket('submitted', { lease: LEASES.fresh, mark: MARK });
    expect(decide(t, runWith({ status: learnt(t, code) }), NOW, SETTINGS)).toEqual(step);
  });

  it('ignores an answer learnt in token_issued and asks again', () => {
    const t = aTicket('submitted', { lease: LEASES.fresh, mark: MARK });
    const status = { ...learnt(t, 0), state: 'token_issued' as const };
    expect(decide(t, runWith({ status }), NOW, SETTINGS)).toEqual({
      kind: 'check_status',
      why: 'poll',
    });
  });

  it('waits longer after each re-check, up to the longest delay', () => {
    const t = aTicket('submitted', { lease: LEASES.fresh, mark: MARK });
    const at = (polls: number): Step =>
      decide(t, runWith({ polls, status: learnt(t, 0) }), NOW, SETTINGS);
    expect(at(0)).toEqual({ kind: 'wait_until', at: NOW + 2 * S });
    expect(at(1)).toEqual({ kind: 'wait_until', at: NOW + 4 * S });
    expect(at(3)).toEqual({ kind: 'wait_until', at: NOW + 16 * S });
    expect(at(10)).toEqual({ kind: 'wait_until', at: NOW + 60 * S });
    expect(pollDelay(5, SETTINGS)).toBe(60 * S);
  });
});

describe('decide: awaiting_user', () => {
  const running = aLease(MIN, 30 * MIN, 30 * MIN); // 29 min of the token left
  const ended = aLease(30 * MIN + 1, 30 * MIN, 30 * MIN); // ended 1 ms ago

  it.each([
    ['running', running],
    ['ended', ended],
  ] as const)('asks the status when this run has not (token %s)', (_name, lease) => {
    const t = aTicket('awaiting_user', { lease });
    expect(decide(t, freshRun(), NOW, SETTINGS)).toEqual({ kind: 'check_status', why: 'poll' });
  });

  it.each([
    ['running', running, -1, { kind: 'wait_until', at: NOW + 2 * S }],
    ['running', running, 0, { kind: 'wait_until', at: NOW + 2 * S }],
    ['running', running, 1, { kind: 'finish', verdict: PASSED }],
    ['running', running, 2, { kind: 'finish', verdict: NOT_PASSED }],
    ['ended', ended, -1, { kind: 'expire' }],
    ['ended', ended, 0, { kind: 'wait_until', at: NOW + 2 * S }],
    ['ended', ended, 1, { kind: 'finish', verdict: PASSED }],
    ['ended', ended, 2, { kind: 'finish', verdict: NOT_PASSED }],
  ] as const)('token %s, GetStatus %i', (_name, lease, code, step) => {
    const t = aTicket('awaiting_user', { lease });
    expect(decide(t, runWith({ status: learnt(t, code) }), NOW, SETTINGS)).toEqual(step);
  });

  it('re-checks soon after the token ends rather than a full poll later', () => {
    const lease = aLease(30 * MIN - 10 * S, 30 * MIN, 30 * MIN); // 10 s left
    const t = aTicket('awaiting_user', { lease });
    const run = runWith({ polls: 10, status: learnt(t, -1) });
    expect(decide(t, run, NOW, SETTINGS)).toEqual({ kind: 'wait_until', at: NOW + 11 * S });
  });

  it('expires a ticket without a lease when nobody started', () => {
    const t = aTicket('awaiting_user');
    expect(decide(t, runWith({ status: learnt(t, -1) }), NOW, SETTINGS)).toEqual({
      kind: 'expire',
    });
  });
});

describe('verdictOf, financial fields', () => {
  it('keeps the SubCode and the CertifyId', () => {
    expect(verdictOf({ statusCode: 2, subCode: '204', certifyId: 'c1' })).toEqual({
      statusCode: 2,
      subCode: '204',
      certifyId: 'c1',
    });
  });
});

describe('verdictOf', () => {
  it('keeps the scores and conclusions of a verdict, and finds none in 0 or -1', () => {
    expect(
      verdictOf({
        statusCode: 2,
        trustedScore: 1,
        similarityScore: 2,
        authorityComparisonScore: 3,
        auditConclusions: 'mismatch',
      }),
    ).toEqual({
      statusCode: 2,
      trustedScore: 1,
      similarityScore: 2,
      authorityComparisonScore: 3,
      auditConclusions: 'mismatch',
    });
    expect(verdictOf({ statusCode: 1 })).toEqual({ statusCode: 1 });
    expect(verdictOf({ statusCode: 0 })).toBeUndefined();
    expect(verdictOf({ statusCode: -1 })).toBeUndefined();
  });
});
