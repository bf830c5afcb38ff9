/**
 * The chaos run's billing check (`chaos/checks.ts`): any SubmitMaterials the emulator answered OK
 * beyond one per submitted server ticket fails the run, even one.
 */
import { describe, expect, it } from 'vitest';
import { billingProblems, duplicateBillableCalls } from '../../chaos/checks.js';

describe('the chaos billing check', () => {
  it('passes one SubmitMaterials per submitted server ticket', () => {
    const checks = { serverTicketsSubmitted: 80, recordedDuplicateSubmissions: [] };
    expect(duplicateBillableCalls(80, checks)).toBe(0);
    expect(billingProblems(80, checks)).toEqual([]);
  });

  it('fails on one duplicate the emulator recorded, naming its ticket', () => {
    const checks = {
      serverTicketsSubmitted: 80,
      recordedDuplicateSubmissions: ['k-7: 2 SubmitMaterials'],
    };
    expect(duplicateBillableCalls(81, checks)).toBe(1);
    expect(billingProblems(81, checks)).toEqual([
      '1 duplicate billable SubmitMaterials: 81 answered OK for 80 submitted server tickets',
      'k-7: 2 SubmitMaterials',
    ]);
  });

  it('fails on one duplicate sent after the ticket passed, which the emulator counts but does not record', () => {
    const checks = { serverTicketsSubmitted: 80, recordedDuplicateSubmissions: [] };
    expect(billingProblems(81, checks)).toHaveLength(1);
  });
});
