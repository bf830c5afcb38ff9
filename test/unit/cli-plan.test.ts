import { describe, expect, it } from 'vitest';
import { ExitCode, enqueueExitCode } from '../../src/cli/exit-codes.js';
import { allEnded } from '../../src/cli/follow-batch.js';
import {
  addCalls,
  CALLS_PER_TICKET,
  callsPerTicket,
  estimateDuration,
  formatCounts,
  formatDuration,
  formatPlan,
  type Plan,
} from '../../src/cli/plan.js';
import { parseBizEntry, type BizProfile } from '../../src/domain/biz.js';
import { TicketState } from '../../src/domain/ticket.js';

/** The calls of legacy tickets by flow. */
function legacy(tickets: { server: number; interactive: number }): Record<string, number> {
  const calls: Record<string, number> = {};
  addCalls(calls, CALLS_PER_TICKET.server, tickets.server);
  addCalls(calls, CALLS_PER_TICKET.interactive, tickets.interactive);
  return calls;
}

function profile(entry: string): BizProfile {
  const parsed = parseBizEntry(entry);
  if (!('profile' in parsed)) throw new Error(parsed.problem);
  return parsed.profile;
}

function counts(given: Partial<Record<TicketState, number>>): Record<TicketState, number> {
  const all = Object.fromEntries(Object.values(TicketState).map((s) => [s, 0]));
  return { ...all, ...given } as Record<TicketState, number>;
}

describe('expected duration', () => {
  it('divides the calls of the busiest action by its QPS, with the headroom', () => {
    expect(estimateDuration(legacy({ server: 100, interactive: 0 }), { '*': 20 })).toEqual({
      kind: 'limited',
      seconds: 5,
      action: 'GetVerifyToken',
      calls: 100,
      qps: 20,
    });
    expect(
      estimateDuration(legacy({ server: 100, interactive: 0 }), { '*': 20 }, 0.03),
    ).toMatchObject({
      seconds: 5.15,
    });
  });

  it('finds the bottleneck among per-action limits', () => {
    const qps = { '*': 20, SubmitMaterials: 2 };
    expect(estimateDuration(legacy({ server: 10, interactive: 30 }), qps)).toEqual({
      kind: 'limited',
      seconds: 5,
      action: 'SubmitMaterials',
      calls: 10,
      qps: 2,
    });
    expect(estimateDuration(legacy({ server: 0, interactive: 30 }), qps)).toMatchObject({
      action: 'GetVerifyToken',
      calls: 30,
    });
  });

  it('says so when no limit applies, or nothing is to be done', () => {
    expect(estimateDuration(legacy({ server: 5, interactive: 0 }), { '*': 0 })).toEqual({
      kind: 'unlimited',
    });
    expect(estimateDuration(legacy({ server: 5, interactive: 0 }), {})).toEqual({
      kind: 'unlimited',
    });
    expect(estimateDuration(legacy({ server: 0, interactive: 0 }), { '*': 20 })).toEqual({
      kind: 'none',
    });
    expect(
      estimateDuration(legacy({ server: 5, interactive: 0 }), { '*': 0, SubmitMaterials: 1 }),
    ).toMatchObject({ kind: 'limited', action: 'SubmitMaterials', seconds: 5 });
  });

  it("counts each Biz's own calls: the legacy scheme's, the financial product's and its pre-check", () => {
    expect(callsPerTicket('RPMin')).toEqual({ GetVerifyToken: 1, SubmitMaterials: 1 });
    expect(callsPerTicket('RPH5BioOnly')).toEqual({ GetVerifyToken: 1 });
    expect(callsPerTicket(profile('financial:ID_MIN:1000000007'))).toEqual({
      ContrastFaceVerify: 1,
    });
    expect(callsPerTicket(profile('financial:ID_MIN:1000000007:precheck'))).toEqual({
      Id2MetaVerify: 1,
      ContrastFaceVerify: 1,
    });
    expect(callsPerTicket(profile('financial:ID_PRO:1000000006:precheck'))).toEqual({
      Id2MetaVerify: 1,
      InitFaceVerify: 1,
    });
  });

  it('finds the bottleneck of a mixed file among the financial actions', () => {
    const calls: Record<string, number> = {};
    addCalls(calls, callsPerTicket('RPMin'), 10);
    addCalls(calls, callsPerTicket(profile('financial:ID_MIN:1000000007:precheck')), 30);
    addCalls(calls, callsPerTicket(profile('financial:ID_PRO:1000000006:precheck')), 20);
    expect(calls).toEqual({
      GetVerifyToken: 10,
      SubmitMaterials: 10,
      Id2MetaVerify: 50,
      ContrastFaceVerify: 30,
      InitFaceVerify: 20,
    });
    expect(estimateDuration(calls, { '*': 20, Id2MetaVerify: 5 })).toEqual({
      kind: 'limited',
      seconds: 10,
      action: 'Id2MetaVerify',
      calls: 50,
      qps: 5,
    });
    // none of the legacy limits holds financial tickets back
    const financialOnly: Record<string, number> = {};
    addCalls(financialOnly, callsPerTicket(profile('financial:ID_MIN:1000000007')), 40);
    expect(
      estimateDuration(financialOnly, { '*': 0, GetVerifyToken: 1, SubmitMaterials: 1 }),
    ).toEqual({ kind: 'unlimited' });
  });

  it('prints durations in seconds, minutes and hours', () => {
    expect(formatDuration(0.2)).toBe('1 s');
    expect(formatDuration(45)).toBe('45 s');
    expect(formatDuration(725)).toBe('12 min 5 s');
    expect(formatDuration(600)).toBe('10 min');
    expect(formatDuration(12_000)).toBe('3 h 20 min');
  });
});

describe('the plan', () => {
  const plan: Plan = {
    file: '/in/a.csv',
    batchId: 'b-1',
    rowsRead: 10,
    validNew: { server: 3, interactive: 1 },
    alreadyKnown: 1,
    invalid: 5,
    invalidRows: [
      {
        line: 7,
        ticketId: 't-7',
        problems: [
          {
            field: 'Binding.IdentificationNumber',
            message: 'check digit does not match (GB 11643)',
          },
        ],
      },
      {
        line: 9,
        problems: [
          { field: 'Binding.Name', message: 'is empty' },
          { field: 'Binding.FacePic', message: 'file does not exist' },
        ],
      },
    ],
    invalidLog: '/in/a.csv.invalid.jsonl',
  };

  it('lists the counts, the first invalid rows with their reasons, and the duration', () => {
    const text = formatPlan(
      plan,
      { kind: 'limited', seconds: 90, action: 'GetVerifyToken', calls: 4, qps: 20 },
      1,
    );
    expect(text).toContain('  rows read         10\n');
    expect(text).toContain('  valid, new        4 (server flow 3, interactive flow 1)\n');
    expect(text).toContain('  already enqueued  1\n');
    expect(text).toContain('  invalid           5\n');
    expect(text).toContain(
      '    line 7: Binding.IdentificationNumber: check digit does not match (GB 11643)\n',
    );
    expect(text).not.toContain('line 9');
    expect(text).toContain('    … and 4 more\n');
    expect(text).toContain('  all invalid rows  /in/a.csv.invalid.jsonl\n');
    expect(text).toContain(
      'about 1 min 30 s (GetVerifyToken: 4 calls at 20 QPS is the bottleneck), plus GetStatus polls',
    );
  });

  it('says how many valid rows wait for their start link, and that people open it', () => {
    const text = formatPlan(
      { ...plan, validNew: { server: 3, interactive: 2 }, validNewStartLink: 2 },
      { kind: 'limited', seconds: 2, action: 'InitFaceVerify', calls: 2, qps: 1 },
    );
    expect(text).toContain('  valid, new        5 (server flow 3, interactive flow 2)\n');
    expect(text).toContain(
      '  of which ID_PRO   2 (each waits until its person opens the start link that status <TicketId> shows)\n',
    );
    expect(text).toContain(
      'about 2 s (InitFaceVerify: 2 calls at 1 QPS is the bottleneck), plus the time people take to open their start link',
    );
    expect(text).not.toContain('GetStatus polls');
    // legacy interactive tickets beside them: both waits
    const mixed = formatPlan(
      { ...plan, validNew: { server: 0, interactive: 3 }, validNewStartLink: 1 },
      { kind: 'unlimited' },
    );
    expect(mixed).toContain(
      'as fast as the workers go, plus GetStatus polls until people finish the page, and the time people take to open their start link',
    );
    expect(formatPlan(plan, { kind: 'unlimited' })).not.toContain('ID_PRO');
  });

  it("quotes a workbook's sheet name: a line break in it cannot add a line to the plan", () => {
    const text = formatPlan(
      { ...plan, sheet: 'Sheet1\n  valid, new        0' },
      { kind: 'unlimited' },
    );
    expect(text).toContain('  sheet             "Sheet1\\n  valid, new        0"\n');
    expect(text.match(/^ {2}valid, new/gm)).toHaveLength(1);
  });

  it('joins the problems of one row', () => {
    expect(formatPlan(plan, { kind: 'unlimited' })).toContain(
      '    line 9: Binding.Name: is empty; Binding.FacePic: file does not exist\n',
    );
  });

  it('counts tickets by state, leaving empty states out', () => {
    expect(formatCounts(counts({ queued: 3, passed: 9 }))).toBe('12 tickets: queued 3, passed 9');
    expect(formatCounts(counts({ passed: 1 }))).toBe('1 ticket: passed 1');
    expect(formatCounts(counts({}))).toBe('0 tickets');
  });
});

describe('exit codes of enqueue', () => {
  it.each([
    [{ invalid: 0 }, ExitCode.ok],
    [{ invalid: 2 }, ExitCode.invalidRows],
    [{ invalid: 0, final: counts({ passed: 3, not_passed: 1 }) }, ExitCode.ok],
    [{ invalid: 0, final: counts({ passed: 3, failed: 1 }) }, ExitCode.ticketsUnsuccessful],
    [{ invalid: 0, final: counts({ expired: 1 }) }, ExitCode.ticketsUnsuccessful],
    [{ invalid: 0, final: counts({ cancelled: 1 }) }, ExitCode.ticketsUnsuccessful],
    [{ invalid: 1, final: counts({ failed: 1 }) }, ExitCode.invalidRows],
  ])('%j exits %i', (outcome, code) => {
    expect(enqueueExitCode(outcome)).toBe(code);
  });

  it('a batch has ended when no ticket is in a state that goes on', () => {
    expect(allEnded(counts({ passed: 2, failed: 1 }))).toBe(true);
    expect(allEnded(counts({}))).toBe(true);
    expect(allEnded(counts({ passed: 2, awaiting_user: 1 }))).toBe(false);
  });
});
