/**
 * One demo ticket through the embedded emulator: GetVerifyToken → SubmitMaterials → GetStatus →
 * GetMaterials with the typed client. Personal data appears masked only.
 */
import { randomUUID } from 'node:crypto';
import type { CloudauthClient } from './cloudauth/client.js';
import { maskIdNumber, maskName } from './domain/mask.js';
import type { Logger } from './logger.js';

/** A 1×1 PNG. */
const DEMO_FACE =
  'base64://iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

export async function runDemoTicket(
  client: CloudauthClient,
  biz: string,
  logger: Logger,
): Promise<{ ticketId: string; statusCode: number }> {
  const ticketId = `demo-${randomUUID()}`;
  const token = await client.getVerifyToken({
    biz,
    ticketId,
    binding: { Name: '张三' },
    userData: { source: 'npm start' },
  });
  logger.info(
    { ticketId, tokenSeconds: token.verifyToken.durationSeconds },
    'demo: GetVerifyToken',
  );
  const submitted = await client.submitMaterials({
    verifyToken: token.verifyToken.token,
    materials: [
      { type: 'IdentificationNumber', value: '11010519491231002X' },
      { type: 'FacePic', value: DEMO_FACE },
    ],
  });
  logger.info({ ticketId, statusCode: submitted.statusCode }, 'demo: SubmitMaterials');
  const status = await client.getStatus({ biz, ticketId });
  const materials = await client.getMaterials({ biz, ticketId });
  logger.info(
    {
      ticketId,
      statusCode: status.statusCode,
      similarityScore: status.similarityScore,
      holder: materials.name === undefined ? undefined : maskName(materials.name),
      idMasked:
        materials.identificationNumber === undefined
          ? undefined
          : maskIdNumber(materials.identificationNumber),
    },
    'demo: GetStatus and GetMaterials',
  );
  return { ticketId, statusCode: status.statusCode };
}
