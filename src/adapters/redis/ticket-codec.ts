/**
 * How a ticket maps onto its Redis hash: numbers as decimal strings, verdict and lastError as
 * JSON, and the lease, binding and user data as {@link FieldCipher} tokens whose associated data
 * names the ticket and the field.
 */
import type { ErasureReason } from '../../errors.js';
import {
  IMAGE_FIELDS,
  type StoredMaterialSource,
  type TicketBinding,
} from '../../domain/binding.js';
import { TicketState, type Flow, type Ticket, type Verdict } from '../../domain/ticket.js';
import type { FieldCipher } from './crypto.js';
import type {
  ListedTicket,
  MaskedApplicant,
  NewTicket,
  StoredTicket,
} from './ticket-store-port.js';

/** Hash fields that are encrypted. */
export type EncryptedField = 'lease' | 'binding' | 'userData' | 'metaInfo';

/**
 * Fields an earlier version wrote and this one neither writes nor reads; every transition names
 * them for deletion (the APPLY script deletes only those present). `providerMaterials` held
 * Cloudauth's GetMaterials answer (name, ID number, image URLs), kept with the verdict for the
 * ticket's retention although its image URLs are readable for one hour only; the orchestrator no
 * longer fetches it (see `finish` in `src/flow/ticket-steps.ts`). A finished ticket that never
 * transitions again keeps it until its retention TTL removes the hash (or an erasure of the
 * ticket's personal data deletes it).
 */
export const RETIRED_FIELDS = ['providerMaterials'] as const;

/** Fields read for a listing: everything but the encrypted ones. */
export const SUMMARY_FIELDS = [
  'state',
  'version',
  'biz',
  'flow',
  'family',
  'startBy',
  'startedAt',
  'attempts',
  'batchId',
  'createdAt',
  'updatedAt',
  'finishedAt',
  'payloadHash',
  'verdict',
  'lastError',
  'callbackUrl',
  'submitStartedAt',
  'precheckedAt',
  'erasedAt',
  'erasure',
  'applicant',
] as const;

/** Fields read for a full ticket: the summary and the lease. */
export const TICKET_FIELDS = [...SUMMARY_FIELDS, 'lease'] as const;

const STATES = new Set<string>(Object.values(TicketState));
const FLOWS = new Set<string>(['server', 'interactive'] satisfies Flow[]);

/** The associated data binding an encrypted value to its ticket and field. */
export function aadOf(ticketId: string, field: EncryptedField): string {
  return JSON.stringify([ticketId, field]);
}

/** Encrypts `value` as JSON for `field` of `ticketId`. */
export function sealJson(
  cipher: FieldCipher,
  ticketId: string,
  field: EncryptedField,
  value: unknown,
): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError(`${field} is not JSON-serialisable`);
  return cipher.encrypt(json, aadOf(ticketId, field));
}

/** Decrypts and parses a value written by {@link sealJson}. */
export function openJson(
  cipher: FieldCipher,
  ticketId: string,
  field: EncryptedField,
  token: string,
): unknown {
  return JSON.parse(cipher.decryptText(token, aadOf(ticketId, field)));
}

/** The one string property of each stored material source's kind. */
const SOURCE_FIELD = { file: 'path', bytes: 'base64', url: 'url', oss: 'ref' } as const;

/**
 * The binding of `ticketId` from its sealed field (null: absent), decrypted and checked to be a
 * {@link TicketBinding}: a copy with only its known fields. An absent or malformed binding is an
 * Error naming the field, never its value. (Hand-checked rather than with a schema library: it
 * runs on every worker step that needs the binding, and a material's bytes are a long string.)
 */
export function decodeBinding(
  cipher: FieldCipher,
  ticketId: string,
  sealed: string | null,
): TicketBinding {
  const corrupt = (field: string) =>
    new Error(`ticket ${ticketId}: stored binding${field} is missing or invalid`);
  if (sealed === null) throw corrupt('');
  const value = openJson(cipher, ticketId, 'binding', sealed);
  if (!isObject(value)) throw corrupt('');
  const binding: TicketBinding = { materials: {} };
  for (const field of ['name', 'idNumber'] as const) {
    const text = value[field];
    if (text === undefined) continue;
    if (typeof text !== 'string') throw corrupt(`.${field}`);
    binding[field] = text;
  }
  const materials = value.materials;
  if (!isObject(materials)) throw corrupt('.materials');
  for (const field of IMAGE_FIELDS) {
    const source = materials[field];
    if (source === undefined) continue;
    const kind = isObject(source) ? source.kind : undefined;
    if (kind === 'staged') {
      const { digest, bytes } = source as Record<string, unknown>;
      if (typeof digest !== 'string' || !Number.isSafeInteger(bytes)) {
        throw corrupt(`.materials.${field}`);
      }
      binding.materials[field] = { kind, digest, bytes: bytes as number };
      continue;
    }
    if (typeof kind !== 'string' || !Object.hasOwn(SOURCE_FIELD, kind)) {
      throw corrupt(`.materials.${field}`);
    }
    const key = SOURCE_FIELD[kind as keyof typeof SOURCE_FIELD];
    const text = (source as Record<string, unknown>)[key];
    if (typeof text !== 'string') throw corrupt(`.materials.${field}`);
    binding.materials[field] = { kind, [key]: text } as StoredMaterialSource;
  }
  return binding;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Field/value pairs of a new ticket in state `queued`, version 0. */
export function encodeNewTicket(cipher: FieldCipher, input: NewTicket, now: number): string[] {
  const pairs = [
    ['state', TicketState.queued],
    ['version', '0'],
    ['biz', input.biz],
    ['flow', input.flow],
    ['attempts', '0'],
    ['createdAt', String(now)],
    ['updatedAt', String(now)],
    ['payloadHash', input.payloadHash],
    ['family', input.family ?? 'legacy'],
    ['binding', sealJson(cipher, input.ticketId, 'binding', input.binding)],
  ];
  if (input.userData !== undefined) {
    pairs.push(['userData', sealJson(cipher, input.ticketId, 'userData', input.userData)]);
  }
  if (input.batchId !== undefined) pairs.push(['batchId', input.batchId]);
  if (input.callbackUrl !== undefined) pairs.push(['callbackUrl', input.callbackUrl]);
  if (input.startBy !== undefined) pairs.push(['startBy', String(input.startBy)]);
  return pairs.flat();
}

/** What a transition changes: fields to set and fields to delete (absent in `next`). */
export function encodeTransition(
  cipher: FieldCipher,
  next: Ticket,
): { set: string[]; del: string[] } {
  const set: string[] = [
    'state',
    next.state,
    'version',
    String(next.version),
    'attempts',
    String(next.attempts),
    'updatedAt',
    String(next.updatedAt),
  ];
  const del: string[] = [];
  const optional: [string, string | undefined][] = [
    [
      'lease',
      next.lease === undefined ? undefined : sealJson(cipher, next.ticketId, 'lease', next.lease),
    ],
    ['verdict', next.verdict === undefined ? undefined : encodeVerdict(next.verdict)],
    ['lastError', next.lastError === undefined ? undefined : JSON.stringify(next.lastError)],
    ['finishedAt', next.finishedAt === undefined ? undefined : String(next.finishedAt)],
    ['startedAt', next.startedAt === undefined ? undefined : String(next.startedAt)],
  ];
  for (const [field, value] of optional) {
    if (value === undefined) del.push(field);
    else set.push(field, value);
  }
  if (next.startBy !== undefined) set.push('startBy', String(next.startBy));
  // the MetaInfo serves InitFaceVerify only: it goes once the ticket has its token, and with the
  // start it belongs to (a retry asks the browser for a new one)
  if (next.startedAt === undefined || next.state !== 'queued') del.push('metaInfo');
  // a financial ticket back in `queued` was retried by an operator: the submit mark of a
  // ContrastFaceVerify whose outcome was lost goes, as the retry is the decision to send it again
  // (a legacy ticket keeps its mark: GetStatus by TicketId finds an earlier submission)
  if (next.state === 'queued' && next.family === 'financial') del.push('submitStartedAt');
  del.push(...RETIRED_FIELDS);
  return { set, del };
}

/** A listing row from values read in {@link SUMMARY_FIELDS} order; undefined when absent. */
export function decodeSummary(
  ticketId: string,
  values: readonly (string | null)[],
): ListedTicket | undefined {
  const row = new Map<string, string>();
  SUMMARY_FIELDS.forEach((field, i) => {
    const value = values[i];
    if (value !== null && value !== undefined) row.set(field, value);
  });
  const state = row.get('state');
  if (state === undefined) return undefined;
  const corrupt = (field: string) => new Error(`ticket ${ticketId}: stored ${field} is invalid`);
  const int = (field: string): number | undefined => {
    const text = row.get(field);
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isSafeInteger(n)) throw corrupt(field);
    return n;
  };
  const required = (field: string): number => {
    const n = int(field);
    if (n === undefined) throw corrupt(field);
    return n;
  };
  const flow = row.get('flow');
  const biz = row.get('biz');
  const family = row.get('family');
  if (family !== undefined && family !== 'legacy' && family !== 'financial') {
    throw corrupt('family');
  }
  if (!STATES.has(state)) throw corrupt('state');
  if (flow === undefined || !FLOWS.has(flow)) throw corrupt('flow');
  if (biz === undefined) throw corrupt('biz');

  const ticket: ListedTicket = {
    ticketId,
    biz,
    flow: flow as Flow,
    state: state as TicketState,
    version: required('version'),
    attempts: required('attempts'),
    createdAt: required('createdAt'),
    updatedAt: required('updatedAt'),
    payloadHash: row.get('payloadHash') ?? '',
  };
  const batchId = row.get('batchId');
  const verdict = row.get('verdict');
  const lastError = row.get('lastError');
  const finishedAt = int('finishedAt');
  const submitStartedAt = int('submitStartedAt');
  const callbackUrl = row.get('callbackUrl');
  if (batchId !== undefined) ticket.batchId = batchId;
  if (verdict !== undefined) ticket.verdict = decodeVerdict(verdict);
  if (lastError !== undefined) {
    ticket.lastError = JSON.parse(lastError) as Ticket['lastError'] & object;
  }
  if (finishedAt !== undefined) ticket.finishedAt = finishedAt;
  if (submitStartedAt !== undefined) ticket.submitStartedAt = submitStartedAt;
  const precheckedAt = int('precheckedAt');
  if (precheckedAt !== undefined) ticket.precheckedAt = precheckedAt;
  if (callbackUrl !== undefined) ticket.callbackUrl = callbackUrl;
  if (family !== undefined) ticket.family = family;
  const startBy = int('startBy');
  const startedAt = int('startedAt');
  if (startBy !== undefined) ticket.startBy = startBy;
  if (startedAt !== undefined) ticket.startedAt = startedAt;
  const erasedAt = int('erasedAt');
  const erasure = row.get('erasure');
  if (erasedAt !== undefined) ticket.erasedAt = erasedAt;
  if (erasure !== undefined) ticket.erasure = erasure as ErasureReason;
  const applicant = row.get('applicant');
  if (applicant !== undefined) ticket.maskedApplicant = JSON.parse(applicant) as MaskedApplicant;
  return ticket;
}

/** A full ticket from values read in {@link TICKET_FIELDS} order, the lease decrypted. */
export function decodeTicket(
  cipher: FieldCipher,
  ticketId: string,
  values: readonly (string | null)[],
): StoredTicket | undefined {
  const summary = decodeSummary(ticketId, values);
  if (summary === undefined) return undefined;
  const sealed = values[SUMMARY_FIELDS.length];
  if (sealed === null || sealed === undefined) return summary;
  const lease = openJson(cipher, ticketId, 'lease', sealed) as StoredTicket['lease'] & object;
  return { ...summary, lease };
}

/**
 * The verdict as its hash field holds it: JSON with one-letter keys (`c` StatusCode, `t`, `s`, `a`
 * the trusted, similarity and authority comparison scores, `m` the audit conclusions, `u` the
 * financial SubCode, `i` its CertifyId, `e` 1 when emulated). Short because a value over 64 bytes (Redis's `hash-max-listpack-value`) turns the
 * whole ticket hash from a compact listpack into a hashtable, about three times the memory; with
 * Cloudauth's own names a verdict with two scores is already 77 bytes (bench `redis-bytes`). A
 * verdict with audit conclusions may still exceed it.
 */
export function encodeVerdict(v: Verdict): string {
  const short: Record<string, unknown> = { c: v.statusCode };
  if (v.trustedScore !== undefined) short.t = v.trustedScore;
  if (v.similarityScore !== undefined) short.s = v.similarityScore;
  if (v.authorityComparisonScore !== undefined) short.a = v.authorityComparisonScore;
  if (v.auditConclusions !== undefined) short.m = v.auditConclusions;
  if (v.subCode !== undefined) short.u = v.subCode;
  if (v.certifyId !== undefined) short.i = v.certifyId;
  if (v.emulated === true) short.e = 1;
  return JSON.stringify(short);
}

/** A verdict from {@link encodeVerdict}'s form, or the long-named JSON earlier versions wrote. */
export function decodeVerdict(text: string): Verdict {
  const raw = JSON.parse(text) as Record<string, unknown>;
  if ('statusCode' in raw) return raw as unknown as Verdict;
  const v: Verdict = { statusCode: raw.c as Verdict['statusCode'] };
  if (typeof raw.t === 'number') v.trustedScore = raw.t;
  if (typeof raw.s === 'number') v.similarityScore = raw.s;
  if (typeof raw.a === 'number') v.authorityComparisonScore = raw.a;
  if (typeof raw.m === 'string') v.auditConclusions = raw.m;
  if (typeof raw.u === 'string') v.subCode = raw.u;
  if (typeof raw.i === 'string') v.certifyId = raw.i;
  if (raw.e === 1) v.emulated = true;
  return v;
}
