/**
 * GetVerifyToken → local JPEG and PNG checked, fitted and uploaded to OSS with the token's STS
 * credentials (the real ali-oss client) → SubmitMaterials with oss:// references → a verdict that
 * depends on what was uploaded. Bad materials are refused before any provider call.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OSS from 'ali-oss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudauthClient } from '../../src/adapters/cloudauth/client.js';
import {
  IMAGE_LIMIT_BYTES,
  type ImageField,
  type MaterialSource,
} from '../../src/domain/binding.js';
import type { Emulators } from '../../src/emulator/start.js';
import {
  MaterialsRejectedError,
  prepareMaterials,
  uploadMaterials,
} from '../../src/adapters/oss/materials.js';
import { OssMaterialUploader, stsLeaseOf } from '../../src/adapters/oss/uploader.js';
import { TEST_KEY_ID, TEST_KEY_SECRET } from '../support/emulator.js';
import { startTestEmulators } from '../support/emulators.js';
import { PDF, noiseJpeg, smallJpeg, smallPng } from '../support/images.js';

const VALID_ID = '11010519491231002X';
let emu: Omit<Emulators, 'demoKey'>;
let client: CloudauthClient;
let dir: string;
const uploader = new OssMaterialUploader({ timeoutMs: 10_000 });

beforeAll(async () => {
  emu = await startTestEmulators();
  client = new CloudauthClient({
    endpoint: emu.cloudauth.url,
    accessKeyId: TEST_KEY_ID,
    accessKeySecret: TEST_KEY_SECRET,
    timeoutMs: 10_000,
  });
  dir = await mkdtemp(join(tmpdir(), 'materials-'));
});
afterAll(async () => {
  client.close();
  await emu.close();
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, bytes: Buffer): Promise<MaterialSource> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return { kind: 'file', path };
}

async function verify(
  ticketId: string,
  sources: Partial<Record<ImageField, MaterialSource>>,
  name = '李三',
) {
  const prepared = await prepareMaterials(sources);
  const token = await client.getVerifyToken({ biz: 'RPBasic', ticketId, binding: { Name: name } });
  const entries = await uploadMaterials(uploader, stsLeaseOf(token), prepared);
  const verdict = await client.submitMaterials({
    verifyToken: token.verifyToken.token,
    materials: [{ type: 'IdentificationNumber', value: VALID_ID }, ...entries],
  });
  return { prepared, entries, verdict, token };
}

describe('materials through OSS', () => {
  it('uploads a local JPEG and PNG and submits them as oss:// references', async () => {
    const { entries, verdict, token } = await verify('oss-1', {
      FacePic: await file('face.jpg', await smallJpeg('#aa7755')),
      IdCardFrontPic: await file('front.png', await smallPng()),
    });
    expect(entries.map((e) => e.type)).toEqual(['FacePic', 'IdCardFrontPic']);
    for (const e of entries) {
      expect(e.value).toMatch(
        new RegExp(`^oss://cloudauth-emulator:${token.stsToken.path}[0-9a-f]{64}\\.(jpg|png)$`),
      );
    }
    expect(verdict.statusCode).toBe(1);
    const stored = await emu.oss.getObject(
      'cloudauth-emulator',
      entries[0]?.value.split(':')[2] ?? '',
    );
    expect(stored?.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
  });

  it('scores by the uploaded face: another photo, another score; the same photo, the same score', async () => {
    const a = await verify('oss-score-a', {
      FacePic: await file('a.jpg', await smallJpeg('#111111')),
    });
    const b = await verify('oss-score-b', {
      FacePic: await file('b.jpg', await smallJpeg('#eeeeee')),
    });
    const a2 = await verify('oss-score-a2', {
      FacePic: await file('a2.jpg', await smallJpeg('#111111')),
    });
    expect(a.verdict.similarityScore).not.toBe(b.verdict.similarityScore);
    expect(a2.verdict.similarityScore).toBe(a.verdict.similarityScore);
  });

  it('gets "not passed" when what sits at the reference is not an image', async () => {
    const token = await client.getVerifyToken({ biz: 'RPBasic', ticketId: 'oss-pdf' });
    const lease = stsLeaseOf(token);
    const raw = new OSS({
      endpoint: lease.endPoint,
      accessKeyId: lease.accessKeyId,
      accessKeySecret: lease.accessKeySecret,
      stsToken: lease.securityToken,
      bucket: lease.bucketName,
      refreshSTSToken: () =>
        Promise.resolve({
          accessKeyId: lease.accessKeyId,
          accessKeySecret: lease.accessKeySecret,
          stsToken: lease.securityToken,
        }),
    });
    await raw.put(`${lease.path}face.jpg`, PDF);
    const verdict = await client.submitMaterials({
      verifyToken: token.verifyToken.token,
      materials: [{ type: 'FacePic', value: `oss://${lease.bucketName}:${lease.path}face.jpg` }],
    });
    expect(verdict.statusCode).toBe(2);
    expect(verdict.auditConclusions).toContain('FacePic is not a JPEG, PNG or BMP image');
    const missing = await client.submitMaterials({
      verifyToken: token.verifyToken.token,
      materials: [{ type: 'FacePic', value: `oss://${lease.bucketName}:${lease.path}nothing.jpg` }],
    });
    expect(missing.auditConclusions).toContain('FacePic could not be read');
  });

  it('uploads the same bytes to the same key, so a repeated upload is harmless', async () => {
    const token = await client.getVerifyToken({ biz: 'RPBasic', ticketId: 'oss-twice' });
    const prepared = await prepareMaterials({
      FacePic: { kind: 'bytes', data: await smallJpeg() },
    });
    const first = await uploadMaterials(uploader, stsLeaseOf(token), prepared);
    const second = await uploadMaterials(uploader, stsLeaseOf(token), prepared);
    expect(second).toEqual(first);
  });

  it('fits a 5 MB photo under 2 MB, uploads it and gets it verified', async () => {
    const big = await noiseJpeg(2600, 2000, 11, 100);
    expect(big.length).toBeGreaterThan(5 * 1024 * 1024);
    const { prepared, entries, verdict } = await verify('oss-big', {
      FacePic: await file('big.jpg', big),
    });
    expect(prepared.changes).toHaveLength(1);
    expect(prepared.changes[0]?.toBytes).toBeLessThanOrEqual(IMAGE_LIMIT_BYTES);
    const key = entries[0]?.value.split(':')[2] ?? '';
    expect((await emu.oss.getObject('cloudauth-emulator', key))?.length).toBe(
      prepared.changes[0]?.toBytes,
    );
    expect(verdict.statusCode).toBe(1);
  });

  it('refuses a PDF, an empty file and a truncated JPEG before any provider call', async () => {
    emu.cloudauth.resetCounters();
    const jpeg = await noiseJpeg(400, 300, 5);
    let error: unknown;
    try {
      await verify('oss-bad', {
        FacePic: await file('doc.pdf', PDF),
        IdCardFrontPic: await file('empty.jpg', Buffer.alloc(0)),
        IdCardBackPic: await file('cut.jpg', jpeg.subarray(0, jpeg.length >> 1)),
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MaterialsRejectedError);
    const problems = (error as MaterialsRejectedError).problems.map((p) => [p.field, p.message]);
    expect(problems).toEqual([
      ['FacePic', 'FacePic: it is a PDF, not an image'],
      ['IdCardFrontPic', 'IdCardFrontPic: the file is empty'],
      ['IdCardBackPic', 'IdCardBackPic: is a damaged or truncated JPEG image'],
    ]);
    expect(emu.cloudauth.counters()).toEqual({});
  });

  it('refuses a missing file naming the material, not the path', async () => {
    const err = await prepareMaterials({
      FacePic: { kind: 'file', path: join(dir, 'nope.jpg') },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MaterialsRejectedError);
    expect((err as Error).message).toBe('materials: FacePic: file does not exist');
  });
});
