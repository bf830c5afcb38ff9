/**
 * The image URLs GetMaterials hands out: `/materials/<id>`, readable for one hour (spec §1.7).
 * `base64://` images are served from memory, `http(s)://` ones redirect, `oss://` ones are read
 * through `readOss` (the OSS emulator) when one is attached.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { MaterialLinks } from './actions.js';

export const LINK_TTL_MS = 60 * 60 * 1000;

/** Reads an OSS object's bytes, or undefined when it does not exist. */
export type OssReader = (bucket: string, key: string) => Promise<Buffer | undefined>;

export class MaterialLinkStore implements MaterialLinks {
  private readonly links = new Map<string, { value: string; expiresAt: number }>();

  constructor(
    private readonly publicUrl: () => string,
    private readonly clock: () => number,
    /** Set by whoever attaches an OSS emulator. */
    public readOss: OssReader | undefined = undefined,
  ) {}

  link(value: string, now: number): string {
    for (const [id, l] of this.links) {
      if (l.expiresAt > now) break;
      this.links.delete(id);
    }
    const id = randomBytes(16).toString('hex');
    this.links.set(id, { value, expiresAt: now + LINK_TTL_MS });
    return `${this.publicUrl()}/materials/${id}`;
  }

  register(app: FastifyInstance): void {
    app.get<{ Params: { id: string } }>('/materials/:id', async (req, reply) => {
      const l = this.links.get(req.params.id);
      if (!l || l.expiresAt <= this.clock())
        return reply.code(404).send({ message: 'not found or expired' });
      if (/^https?:\/\//i.test(l.value)) return reply.redirect(l.value);
      let bytes: Buffer | undefined;
      if (l.value.startsWith('base64://')) bytes = Buffer.from(l.value.slice(9), 'base64');
      else if (l.value.startsWith('oss://') && this.readOss) {
        const [bucket = '', ...key] = l.value.slice(6).split(':');
        bytes = await this.readOss(bucket, key.join(':'));
      }
      if (!bytes) return reply.code(404).send({ message: 'material not available' });
      return reply.header('content-type', sniffImageType(bytes)).send(bytes);
    });
  }
}

function sniffImageType(b: Buffer): string {
  if (b[0] === 0xff && b[1] === 0xd8) return 'image/jpeg';
  if (b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    return 'image/png';
  }
  if (b[0] === 0x42 && b[1] === 0x4d) return 'image/bmp';
  return 'application/octet-stream';
}
