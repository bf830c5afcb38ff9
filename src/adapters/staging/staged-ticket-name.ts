/**
 * How a TicketId becomes part of a staged object's name: base64url without padding, so that any
 * TicketId (1–128 printable ASCII characters, `/`, `\`, `..` and `%` included) is one safe path
 * segment or key segment of at most 171 characters, and the name can be read back to the TicketId
 * for the orphan sweep. A TicketId is checked before it is encoded: an unchecked one never names
 * a file or an object.
 *
 * Two TicketIds that differ only in letter case encode to names that differ only in letter case:
 * the directory store wants a case-sensitive filesystem (Linux's are; macOS's and Windows' are not
 * by default).
 */
import { ValidationError } from '../../errors.js';

const TICKET_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * Checks a TicketId before it names anything; the message does not repeat the value.
 * @throws ValidationError field `TicketId`
 */
export function checkStagedTicketId(ticketId: unknown): asserts ticketId is string {
  if (typeof ticketId !== 'string' || !TICKET_ID.test(ticketId)) {
    throw new ValidationError(
      'TicketId',
      'must be 1–128 printable ASCII characters without spaces',
    );
  }
}

/**
 * The name segment of a ticket's objects: base64url(ticketId), no padding.
 * @throws ValidationError field `TicketId` when the TicketId is malformed
 */
export function stagedTicketName(ticketId: string): string {
  checkStagedTicketId(ticketId);
  return Buffer.from(ticketId, 'ascii').toString('base64url');
}

/**
 * The TicketId a name segment stands for, or undefined when the segment is not one that
 * {@link stagedTicketName} makes (a stranger's file, an altered name).
 */
export function ticketIdOfStagedName(name: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{2,171}$/.test(name)) return undefined;
  const ticketId = Buffer.from(name, 'base64url').toString('latin1');
  if (!TICKET_ID.test(ticketId)) return undefined;
  // Only the canonical spelling: base64url has several for the same bytes (unused low bits).
  return Buffer.from(ticketId, 'ascii').toString('base64url') === name ? ticketId : undefined;
}
