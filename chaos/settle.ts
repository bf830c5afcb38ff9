/** Waiting for the accepted tickets to end, cheaply: batch listings first, single reads last. */
import type { OrchestratorApi } from './api-client.js';

const TERMINAL = new Set(['passed', 'not_passed', 'expired', 'failed', 'cancelled']);
/** Below this many open tickets, each is read on its own. */
const SINGLE_READS = 300;

/**
 * Drops from `pending` the tickets now terminal: by listing the batch (cheap), then, for the few
 * left (a batch index entry can be missing after a crash), one by one. A ticket the API does not
 * know is dropped too: it is lost, and the checks will say so; waiting would not bring it back.
 */
export async function settleRound(
  api: OrchestratorApi,
  batchId: string,
  pending: Set<string>,
): Promise<void> {
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({ batch: batchId, limit: '500' });
    if (cursor !== undefined) query.set('cursor', cursor);
    const page = await api.get<{
      tickets?: { TicketId: string; state: string }[];
      nextCursor?: string;
    }>(`/v1/tickets?${query.toString()}`);
    if (page.status !== 200) return;
    for (const t of page.body.tickets ?? []) if (TERMINAL.has(t.state)) pending.delete(t.TicketId);
    cursor = page.body.nextCursor;
  } while (cursor !== undefined);
  if (pending.size > 0 && pending.size <= SINGLE_READS) {
    for (const id of [...pending]) {
      const one = await api.get<{ state?: string }>(`/v1/tickets/${encodeURIComponent(id)}`);
      const ended = one.body.state !== undefined && TERMINAL.has(one.body.state);
      if (one.status === 404 || (one.status === 200 && ended)) pending.delete(id);
    }
  }
}
