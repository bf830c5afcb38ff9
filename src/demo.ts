/**
 * One demo ticket through the embedded emulators: a photo is checked and fitted, GetVerifyToken,
 * the photo uploaded to OSS with the token's STS credentials, SubmitMaterials with the `oss://`
 * reference, GetStatus, GetMaterials. Personal data appears masked only.
 */
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import type { CloudauthClient } from './cloudauth/client.js';
import { maskIdNumber, maskName } from './domain/mask.js';
import type { Logger } from './logger.js';
import { prepareMaterials, uploadMaterials } from './oss/materials.js';
import { stsLeaseOf, type MaterialUploader } from './oss/uploader.js';

export async function runDemoTicket(
  client: CloudauthClient,
  uploader: MaterialUploader,
  biz: string,
  logger: Logger,
): Promise<{ ticketId: string; statusCode: number }> {
  const ticketId = `demo-${randomUUID()}`;
  const face = await sharp({
    create: { width: 480, height: 640, channels: 3, background: '#d9b38c' },
  })
    .jpeg()
    .toBuffer();
  const prepared = await prepareMaterials({ FacePic: { kind: 'bytes', data: face } });
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
  const entries = await uploadMaterials(uploader, stsLeaseOf(token), prepared);
  logger.info(
    { ticketId, uploaded: entries.map((e) => e.type) },
    'demo: materials uploaded to OSS',
  );
  const submitted = await client.submitMaterials({
    verifyToken: token.verifyToken.token,
    materials: [{ type: 'IdentificationNumber', value: '11010519491231002X' }, ...entries],
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
