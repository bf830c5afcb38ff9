/**
 * `status <TicketId> [--json] [--api <URL>]`: a ticket's state, verdict, last error, masked
 * applicant and history, read from Redis or from the HTTP API (`GET /v1/tickets/:id`), shown the
 * same either way. Never prints the lease, the images or unmasked personal data. A financial-grade
 * ticket shows its family and OuterOrderNo, its verdict's SubCode and CertifyId, and (ID_PRO, until
 * it ends) the start link to send the person: a bearer link, printed only here, on request.
 * On a terminal the state and the verdict are coloured (see `output.ts`); `--json` prints the view
 * as one JSON document.
 */
import type { TicketBinding } from '../domain/binding.js';
import { outerOrderNoOf, type ApiFamily } from '../domain/biz.js';
import { maskIdNumber, maskName } from '../domain/mask.js';
import type { HistoryEntry, Verdict } from '../domain/ticket.js';
import type { StoredTicket } from '../adapters/redis/ticket-store.js';
import type { TicketView } from '../api/schemas.js';
import type { StartLinkMaker } from '../api/views.js';
import { withApi } from './api-context.js';
import { resolveApiTarget, type ApiOptions } from './api-target.js';
import { loadCliConfig, withApp, type CliIo } from './cli-context.js';
import { CliError, ExitCode } from './exit-codes.js';
import { PLAIN, stylesFor, writeJson, type Styles } from './output.js';
import { cliStartLinks, hasStartLink, START_LINK_UNKNOWN } from './start-links.js';

/** A ticket as `status` shows it: no lease, applicant masked, times as ISO 8601. */
export interface TicketStatusView {
  ticketId: string;
  biz: string;
  flow: string;
  /** The API family the ticket runs on (`legacy` for one an earlier version created). */
  family: ApiFamily;
  /** Financial family: the OuterOrderNo sent to the provider (what its console shows). */
  outerOrderNo?: string;
  state: string;
  /**
   * Financial ID_PRO tickets until they end: the start link to send the person. A bearer link.
   * Absent in direct mode where the API's public URL is unknown (see `start-links.ts`).
   */
  startUrl?: string;
  batchId?: string;
  attempts: number;
  applicant: { name?: string; idNumber?: string };
  verdict?: Omit<Verdict, 'emulated'>;
  /** Present (true) when the verdict was reached in embedded mode, on the Cloudauth emulator. */
  emulated?: true;
  lastError?: { code: string; message: string; retryable: boolean; at: string };
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
  /** When and why the applicant's personal data was erased; absent while it is kept. */
  personalDataErased?: { at: string; reason: string };
  history: { at: string; from: string; to: string; event: string; cause?: string }[];
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The view of a ticket, its binding and history; `links` makes its start link. Pure. */
export function statusView(
  t: StoredTicket,
  binding: Partial<TicketBinding> | undefined,
  history: readonly HistoryEntry[],
  links?: StartLinkMaker,
): TicketStatusView {
  const applicant: TicketStatusView['applicant'] = {};
  if (t.maskedApplicant !== undefined) {
    // erased: the applicant as it was masked then
    if (t.maskedApplicant.name !== undefined) applicant.name = t.maskedApplicant.name;
    if (t.maskedApplicant.idNumber !== undefined) applicant.idNumber = t.maskedApplicant.idNumber;
  }
  if (typeof binding?.name === 'string') applicant.name = maskName(binding.name);
  if (typeof binding?.idNumber === 'string') applicant.idNumber = maskIdNumber(binding.idNumber);
  const startUrl = hasStartLink(t) ? links?.startUrlOf(t) : undefined;
  return {
    ticketId: t.ticketId,
    biz: t.biz,
    flow: t.flow,
    family: t.family ?? 'legacy',
    ...(t.family === 'financial' ? { outerOrderNo: outerOrderNoOf(t.ticketId) } : {}),
    state: t.state,
    ...(startUrl === undefined ? {} : { startUrl }),
    ...(t.batchId === undefined ? {} : { batchId: t.batchId }),
    attempts: t.attempts,
    applicant,
    ...(t.verdict === undefined ? {} : verdictParts(t.verdict)),
    ...(t.lastError === undefined
      ? {}
      : {
          lastError: {
            code: t.lastError.code,
            message: t.lastError.message,
            retryable: t.lastError.retryable,
            at: iso(t.lastError.at),
          },
        }),
    createdAt: iso(t.createdAt),
    updatedAt: iso(t.updatedAt),
    ...(t.finishedAt === undefined ? {} : { finishedAt: iso(t.finishedAt) }),
    ...(t.erasedAt === undefined
      ? {}
      : { personalDataErased: { at: iso(t.erasedAt), reason: t.erasure ?? 'finished' } }),
    history: history.map((h) => ({
      at: iso(h.at),
      from: h.from,
      to: h.to,
      event: h.event,
      ...(h.cause === undefined ? {} : { cause: h.cause }),
    })),
  };
}

/** The verdict without its mark, and the mark beside it (only when set). */
function verdictParts({
  emulated,
  ...verdict
}: Verdict): Pick<TicketStatusView, 'verdict' | 'emulated'> {
  return emulated === true ? { verdict, emulated } : { verdict };
}

/** A state in the colour of its outcome: passed good; not passed, failed, expired bad. */
function styledState(state: string, styles: Styles): string {
  if (state === 'passed') return styles.good(state);
  if (state === 'not_passed' || state === 'failed' || state === 'expired') return styles.bad(state);
  if (state === 'cancelled') return styles.notice(state);
  return state;
}

/** The view as text for a person, in `styles` (default none). Pure. */
export function formatStatus(v: TicketStatusView, styles: Styles = PLAIN): string {
  const lines = [
    `TicketId    ${v.ticketId}`,
    `Biz         ${v.biz} (${v.family === 'financial' ? 'financial-grade, ' : ''}${v.flow} flow)`,
  ];
  if (v.outerOrderNo !== undefined) lines.push(`OuterOrderNo ${v.outerOrderNo}`);
  lines.push(`State       ${styledState(v.state, styles)}`);
  if (v.startUrl !== undefined) lines.push(`Start link  ${v.startUrl}`);
  if (v.batchId !== undefined) lines.push(`Batch       ${v.batchId}`);
  const who = [v.applicant.name, v.applicant.idNumber].filter((x) => x !== undefined);
  if (who.length > 0) lines.push(`Applicant   ${who.join('  ')}`);
  if (v.verdict) {
    const d = v.verdict;
    const scores = [
      d.similarityScore === undefined ? undefined : `similarity ${d.similarityScore}`,
      d.trustedScore === undefined ? undefined : `trusted ${d.trustedScore}`,
      d.authorityComparisonScore === undefined
        ? undefined
        : `authority ${d.authorityComparisonScore}`,
    ].filter((x) => x !== undefined);
    const verdict = d.statusCode === 1 ? styles.good('passed') : styles.bad('not passed');
    const subCode = d.subCode === undefined ? '' : `, SubCode ${d.subCode}`;
    lines.push(
      `Verdict     ${verdict} (StatusCode ${d.statusCode}${subCode})${scores.length ? `, ${scores.join(', ')}` : ''}`,
    );
    if (d.auditConclusions) lines.push(`Conclusion  ${d.auditConclusions}`);
    if (d.certifyId !== undefined) lines.push(`CertifyId   ${d.certifyId}`);
  }
  if (v.emulated) {
    lines.push(
      'Emulated    yes: reached in embedded mode on the Cloudauth emulator, not a real check',
    );
  }
  if (v.lastError) {
    const e = v.lastError;
    lines.push(
      `Last error  ${e.code}: ${e.message} (${e.retryable ? 'retryable' : 'permanent'}, ${e.at})`,
    );
  }
  lines.push(
    `Attempts    ${v.attempts}`,
    `Created     ${v.createdAt}`,
    `Updated     ${v.updatedAt}`,
  );
  if (v.finishedAt !== undefined) lines.push(`Finished    ${v.finishedAt}`);
  if (v.personalDataErased !== undefined) {
    const e = v.personalDataErased;
    lines.push(`Erased      name, ID number and photos, ${e.at} (${e.reason})`);
  }
  lines.push('History');
  if (v.history.length === 0) lines.push('  (none yet)');
  for (const h of v.history) {
    lines.push(`  ${h.at}  ${h.from} → ${h.to}  (${h.event}${h.cause ? `: ${h.cause}` : ''})`);
  }
  return `${lines.join('\n')}\n`;
}

/** `o` without its keys whose value is undefined (JSON has none; zod's types allow them). */
function definedOnly<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

/** The view of a ticket as the API answers it (already masked), as direct mode shows it. Pure. */
export function statusViewOfApi(v: TicketView): TicketStatusView {
  const applicant: TicketStatusView['applicant'] = {};
  if (v.applicant.name !== null) applicant.name = v.applicant.name;
  if (v.applicant.idNumber !== null) applicant.idNumber = v.applicant.idNumber;
  const e = v.lastError;
  return {
    ticketId: v.TicketId,
    biz: v.Biz,
    flow: v.flow,
    family: v.family,
    ...(v.outerOrderNo === null ? {} : { outerOrderNo: v.outerOrderNo }),
    state: v.state,
    ...(v.startUrl === null ? {} : { startUrl: v.startUrl }),
    ...(v.batchId === null ? {} : { batchId: v.batchId }),
    attempts: v.attempts,
    applicant,
    ...(v.verdict === null ? {} : { verdict: definedOnly(v.verdict) }),
    ...(v.verdict !== null && v.emulated ? { emulated: true as const } : {}),
    ...(e === null
      ? {}
      : { lastError: { code: e.code, message: e.message, retryable: e.retryable, at: e.at } }),
    createdAt: v.createdAt,
    updatedAt: v.updatedAt,
    ...(v.finishedAt === null ? {} : { finishedAt: v.finishedAt }),
    ...(v.personalDataErasedAt === null
      ? {}
      : {
          personalDataErased: {
            at: v.personalDataErasedAt,
            reason: v.erasure ?? 'finished',
          },
        }),
    history: v.history.map((h) => ({
      at: h.at,
      from: h.from,
      to: h.to,
      event: h.event,
      ...(h.cause === undefined ? {} : { cause: h.cause }),
    })),
  };
}

/** Runs `status`; answers the exit code (5 for an unknown TicketId). */
export async function statusCommand(
  ticketId: string,
  options: { json?: boolean } & ApiOptions,
  io: CliIo,
): Promise<ExitCode> {
  const print = (view: TicketStatusView) => {
    if (options.json) writeJson(io.stdout, view);
    else io.stdout.write(formatStatus(view, stylesFor(io.stdout, io.env)));
    return ExitCode.ok;
  };
  const unknown = () => new CliError(ExitCode.unknown, `no ticket ${JSON.stringify(ticketId)}`);
  const target = await resolveApiTarget(options, io.env, io.cwd, io.stderr);
  if (target !== undefined) {
    return withApi(target, async (client) => {
      const view = await client.ticket(ticketId);
      if (view === undefined) throw unknown();
      return print(statusViewOfApi(view));
    });
  }
  const config = loadCliConfig(io);
  return withApp(config, async (app) => {
    const t = await app.store.get(ticketId);
    if (!t) throw unknown();
    // an erased ticket has no binding: its masked applicant is on the ticket
    const binding = t.erasedAt === undefined ? await app.store.getBinding(ticketId) : undefined;
    const links = hasStartLink(t) ? cliStartLinks(config) : undefined;
    if (hasStartLink(t) && links === undefined) io.stderr.write(`status: ${START_LINK_UNKNOWN}\n`);
    return print(statusView(t, binding, await app.store.history(ticketId), links));
  });
}
