/**
 * One demo ticket on the embedded emulators: an RPMin (server-flow) ticket with a generated face
 * photo goes through the real intake and workers — materials checked, GetVerifyToken, upload to
 * OSS with the STS credentials, SubmitMaterials (GetStatus while under review) — until its
 * verdict.
 */
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import type { App } from './app.js';
import { isTerminal } from './domain/ticket.js';
import type { Logger } from './logger.js';

export async function runDemoTicket(
  app: App,
  biz: string,
  logger: Logger,
  timeoutMs = 60_000,
): Promise<{ ticketId: string; state: string }> {
  const ticketId = `demo-${randomUUID()}`;
  const face = await sharp({
    create: { width: 480, height: 640, channels: 3, background: '#d9b38c' },
    limitInputPixels: app.config.images.maxPixels,
  })
    .jpeg()
    .toBuffer();
  await app.intake.enqueue({
    ticketId,
    biz,
    binding: {
      name: '张三',
      idNumber: '11010519491231002X',
      materials: { FacePic: { kind: 'bytes', base64: face.toString('base64') } },
    },
    userData: { source: 'npm start' },
  });
  logger.info({ ticketId, biz }, 'demo: ticket enqueued');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t = await app.store.get(ticketId);
    if (t && isTerminal(t.state)) {
      logger.info(
        { ticketId, state: t.state, similarityScore: t.verdict?.similarityScore },
        'demo: ticket finished',
      );
      return { ticketId, state: t.state };
    }
    if (Date.now() > deadline) return { ticketId, state: t?.state ?? 'missing' };
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A demo ticket of the financial-grade browser flow (an `ID_PRO` Biz): enqueued, it waits for its
 * person; answers its start link, which `npm start` prints for the newcomer to open in a browser
 * (the emulator's stand-in MetaInfo script, then the emulator's page behind CertifyUrl).
 */
export async function startDemoLink(app: App, biz: string, logger: Logger): Promise<string> {
  const ticketId = `demo-h5-${randomUUID()}`;
  const { ticket } = await app.intake.enqueue({
    ticketId,
    biz,
    binding: { name: '张三', idNumber: '11010519491231002X', materials: {} },
    userData: { source: 'npm start' },
  });
  logger.info({ ticketId, biz }, 'demo: browser-flow ticket waits for its start link');
  return app.links.startUrlOf(ticket) ?? '';
}
