/**
 * The chaos run's checks (`chaos/checks.ts`) and plan (`chaos/chaos-tickets.ts`):
 * - billing: any SubmitMaterials the emulator answered OK beyond one per submitted RPMin ticket,
 *   any OuterOrderNo billed two ContrastFaceVerify, any identity billed two Id2MetaVerify fails
 *   the run, even one;
 * - the verdicts a financial-grade ticket must end with, by the emulator's rules;
 * - the plan's mix of both families.
 */
import { describe, expect, it } from 'vitest';
import { CHAOS_BIZ_NAMES, planTickets, type PlannedTicket } from '../../chaos/chaos-tickets.js';
import {
  billingProblems,
  duplicateBillableCalls,
  expectedFinancialVerdict,
  exposedSpans,
  financialVerdictProblem,
  type TicketView,
} from '../../chaos/checks.js';

const judged = (extra: Partial<Parameters<typeof billingProblems>[1]> = {}) => ({
  serverTicketsSubmitted: 80,
  recordedDuplicateSubmissions: [],
  ...extra,
});

/** What the emulator billed: `extra` over one call per ticket that needs one. */
const bill = (extra: Partial<Parameters<typeof billingProblems>[0]> = {}) => ({
  submitMaterials: 80,
  contrastFaceVerify: 40,
  contrastRepeatedOrders: 0,
  id2MetaRepeatedIdentities: 0,
  ...extra,
});

describe('the chaos billing check', () => {
  it('passes one SubmitMaterials per submitted RPMin ticket and no order or identity billed twice', () => {
    expect(duplicateBillableCalls(bill(), judged())).toEqual({
      SubmitMaterials: 0,
      ContrastFaceVerify: 0,
      Id2MetaVerify: 0,
    });
    expect(billingProblems(bill(), judged())).toEqual([]);
  });

  it('fails on one duplicate SubmitMaterials the emulator recorded, naming its ticket and the kind', () => {
    const checks = judged({ recordedDuplicateSubmissions: ['k-7: 2 SubmitMaterials'] });
    const billed = bill({ submitMaterials: 81 });
    expect(duplicateBillableCalls(billed, checks)).toEqual({
      SubmitMaterials: 1,
      ContrastFaceVerify: 0,
      Id2MetaVerify: 0,
    });
    expect(billingProblems(billed, checks)).toEqual([
      '1 duplicate billable SubmitMaterials: 81 answered OK for 80 submitted server tickets',
      'k-7: 2 SubmitMaterials',
    ]);
  });

  it('fails on one duplicate SubmitMaterials sent after the ticket passed, which the emulator counts but does not record', () => {
    expect(billingProblems(bill({ submitMaterials: 81 }), judged())).toHaveLength(1);
  });

  it('fails on one OuterOrderNo billed two ContrastFaceVerify, whatever disruptions there were', () => {
    const billed = bill({ contrastFaceVerify: 41, contrastRepeatedOrders: 1 });
    expect(duplicateBillableCalls(billed, judged()).ContrastFaceVerify).toBe(1);
    expect(billingProblems(billed, judged())).toEqual([
      '1 OuterOrderNos billed more than one ContrastFaceVerify',
    ]);
  });

  it('fails on one identity billed two Id2MetaVerify', () => {
    expect(billingProblems(bill({ id2MetaRepeatedIdentities: 1 }), judged())).toEqual([
      '1 identities billed more than one Id2MetaVerify',
    ]);
  });

  it('names every kind when each is duplicated', () => {
    const problems = billingProblems(
      bill({ submitMaterials: 81, contrastRepeatedOrders: 1, id2MetaRepeatedIdentities: 2 }),
      judged(),
    );
    expect(
      problems.map((p) => /(SubmitMaterials|ContrastFaceVerify|Id2MetaVerify)/.exec(p)?.[1]),
    ).toEqual(['SubmitMaterials', 'ContrastFaceVerify', 'Id2MetaVerify']);
  });
});

describe('the tickets a disruption met', () => {
  it('counts the spans a kill or an outage overlaps, edges included', () => {
    const spans = [
      { from: 100, to: 200 },
      { from: 300, to: 400 },
      { from: 500, to: 600 },
    ];
    expect(exposedSpans(spans, [])).toBe(0);
    expect(exposedSpans(spans, [{ from: 250, to: 260 }])).toBe(0);
    expect(exposedSpans(spans, [{ from: 200, to: 210 }])).toBe(1);
    expect(exposedSpans(spans, [{ from: 150, to: 350 }])).toBe(2);
    expect(
      exposedSpans(spans, [
        { from: 550, to: 551 },
        { from: 560, to: 570 },
      ]),
    ).toBe(1);
  });
});

const view = (v: Partial<TicketView>): TicketView => ({
  TicketId: 't',
  state: 'passed',
  attempts: 0,
  verdict: null,
  lastError: null,
  history: [],
  ...v,
});
const step = (from: string, to: string) => ({ from, to, event: to, at: '2025-01-01T00:00:00Z' });
const CERTIFY_ID = '0123456789abcdef0123456789abcdef';

describe('the verdicts of financial-grade tickets', () => {
  it('expects the pre-check to end a FaceServer ticket of a reject-list name, and any other to pass', () => {
    expect(expectedFinancialVerdict({ biz: 'FaceServer', nameKind: 'reject' })).toEqual({
      state: 'not_passed',
      subCode: '201',
      atPrecheck: true,
    });
    // the review list means nothing to the 2019-03-07 verdicts
    for (const nameKind of ['review', 'plain'] as const) {
      expect(expectedFinancialVerdict({ biz: 'FaceServer', nameKind })).toEqual({
        state: 'passed',
        subCode: '200',
        atPrecheck: false,
      });
    }
  });

  it('expects "fail" on the CertifyUrl page to be SubCode 205 whatever the name, and "complete" to follow the lists', () => {
    const fail = { plan: 'fail' as const, openDelayMs: 1, thinkMs: 1 };
    const complete = { plan: 'complete' as const, openDelayMs: 1, thinkMs: 1 };
    expect(expectedFinancialVerdict({ biz: 'FaceH5', nameKind: 'reject', face: fail })).toEqual({
      state: 'not_passed',
      subCode: '205',
      atPrecheck: false,
    });
    expect(expectedFinancialVerdict({ biz: 'FaceH5', nameKind: 'reject', face: complete })).toEqual(
      { state: 'not_passed', subCode: '201', atPrecheck: false },
    );
    expect(
      expectedFinancialVerdict({ biz: 'FaceH5', nameKind: 'review', face: complete }).state,
    ).toBe('passed');
  });

  it('takes a FaceServer ticket ended at the pre-check or judged by its face call, and refuses a face call without a CertifyId', () => {
    const planned = { biz: 'FaceServer' as const, nameKind: 'reject' as const };
    const atPrecheck = view({
      state: 'not_passed',
      verdict: {
        statusCode: 2,
        subCode: '201',
        auditConclusions: 'Id2MetaVerify: name and ID number do not match',
      },
      history: [step('queued', 'not_passed')],
    });
    expect(financialVerdictProblem(atPrecheck, planned)).toBeUndefined();
    const afterFaceCall = view({
      state: 'not_passed',
      verdict: { statusCode: 2, subCode: '201', certifyId: CERTIFY_ID },
      history: [step('queued', 'token_issued'), step('token_issued', 'not_passed')],
    });
    // the pre-check's answer was lost and it was not made again: the face call judged it
    expect(financialVerdictProblem(afterFaceCall, planned)).toBeUndefined();
    const faceCallWithoutId = view({
      state: 'not_passed',
      verdict: { statusCode: 2, subCode: '201' },
      history: [step('queued', 'token_issued'), step('token_issued', 'not_passed')],
    });
    expect(financialVerdictProblem(faceCallWithoutId, planned)).toMatch(/pre-check/);
  });

  it('refuses a passed FaceServer ticket without a CertifyId, a wrong SubCode, a wrong state', () => {
    const planned = { biz: 'FaceServer' as const, nameKind: 'plain' as const };
    const passed = view({ verdict: { statusCode: 1, subCode: '200', certifyId: CERTIFY_ID } });
    expect(financialVerdictProblem(passed, planned)).toBeUndefined();
    expect(
      financialVerdictProblem(view({ verdict: { statusCode: 1, subCode: '200' } }), planned),
    ).toMatch(/without a CertifyId/);
    expect(
      financialVerdictProblem(
        view({ verdict: { statusCode: 1, subCode: '204', certifyId: CERTIFY_ID } }),
        planned,
      ),
    ).toMatch(/SubCode 204, expected 200/);
    expect(
      financialVerdictProblem(
        view({
          state: 'failed',
          lastError: { code: 'CLOUDAUTH_UNAVAILABLE', message: 'x' },
        }),
        planned,
      ),
    ).toMatch(/^ended failed \(CLOUDAUTH_UNAVAILABLE: x\), expected passed SubCode 200$/);
  });

  it('judges a FaceH5 ticket only when its person got the page to take the outcome', () => {
    const planned = {
      biz: 'FaceH5' as const,
      nameKind: 'plain' as const,
      face: { plan: 'fail' as const, openDelayMs: 1, thinkMs: 1 },
    };
    const failed = view({
      state: 'not_passed',
      verdict: { statusCode: 2, subCode: '205', certifyId: CERTIFY_ID },
    });
    expect(financialVerdictProblem(failed, planned, 'failed')).toBeUndefined();
    // the answer was lost and the page then said used: the outcome was taken
    expect(financialVerdictProblem(failed, planned, 'answer_lost')).toBeUndefined();
    expect(financialVerdictProblem(failed, planned, 'page_closed')).toMatch(
      /could not finish \(page_closed\)/,
    );
    expect(financialVerdictProblem(failed, planned)).toMatch(/start link never opened/);
  });
});

describe('the chaos plan', () => {
  const plan = planTickets({ count: 4000, runId: 'u', seed: 7, tokenMs: 20_000 }, [
    'data:image/jpeg;base64,AA==',
  ]);
  const share = (f: (t: PlannedTicket) => boolean) => plan.filter(f).length / plan.length;

  it('mixes both families: ~45% RPMin, ~20% RPH5BioOnly, ~20% FaceServer, ~15% FaceH5', () => {
    const want = { RPMin: 0.45, RPH5BioOnly: 0.2, FaceServer: 0.2, FaceH5: 0.15 };
    for (const biz of CHAOS_BIZ_NAMES) {
      expect(share((t) => t.biz === biz)).toBeCloseTo(want[biz], 1);
    }
  });

  it('gives each flow what it needs: a photo to the server flows, a person to the others, no FaceH5 person who leaves', () => {
    for (const t of plan.filter((x) => x.valid)) {
      const binding = (t.request as { Binding: Record<string, unknown> }).Binding;
      expect(t.request.Biz).toBe(t.biz);
      expect('FacePic' in binding).toBe(t.biz === 'RPMin' || t.biz === 'FaceServer');
      expect(t.h5 !== undefined).toBe(t.biz === 'RPH5BioOnly');
      expect(t.face !== undefined).toBe(t.biz === 'FaceH5');
    }
    expect(new Set(plan.flatMap((t) => (t.face ? [t.face.plan] : [])))).toEqual(
      new Set(['complete', 'fail']),
    );
    expect(share((t) => !t.valid)).toBeGreaterThan(0);
    expect(share((t) => t.nameKind === 'reject' && t.biz === 'FaceServer')).toBeGreaterThan(0);
  });

  it('is the same plan for the same seed', () => {
    const again = planTickets({ count: 4000, runId: 'u', seed: 7, tokenMs: 20_000 }, [
      'data:image/jpeg;base64,AA==',
    ]);
    expect(again).toEqual(plan);
  });
});
