import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { prepareMaterials, uploadMaterials } from '../../src/adapters/oss/materials.js';
import type { MaterialUploader } from '../../src/adapters/oss/uploader.js';

const lease = {
  accessKeyId: 'STS.x',
  accessKeySecret: 's',
  securityToken: 't',
  endPoint: 'http://127.0.0.1:8788',
  bucketName: 'cloudauth-emulator',
  path: 'verify/abc/',
};

/** References need no upload: an uploader that refuses to be called proves it. */
const noUploads: MaterialUploader = {
  upload: () => Promise.reject(new Error('a reference was uploaded')),
};

describe('the SubmitMaterials request built from references', () => {
  it('passes oss:// and https:// references on as they are, in the order of the fields', async () => {
    const prepared = await prepareMaterials({
      IdCardFrontPic: { kind: 'url', url: 'https://img.example.test/front.jpg' },
      FacePic: { kind: 'oss', ref: 'oss://verify-img:rp/face.jpg' },
    });
    expect(await uploadMaterials(noUploads, lease, prepared)).toEqual([
      { type: 'FacePic', value: 'oss://verify-img:rp/face.jpg' },
      { type: 'IdCardFrontPic', value: 'https://img.example.test/front.jpg' },
    ]);
  });

  it("is refused, naming the materials, once it would pass Cloudauth's 8 MB", async () => {
    const url = (n: number) => `https://img.example.test/${'a'.repeat(n)}.jpg`;
    const fits = await prepareMaterials({ FacePic: { kind: 'url', url: url(4_000_000) } });
    expect(await uploadMaterials(noUploads, lease, fits)).toHaveLength(1);
    const over = await prepareMaterials({
      FacePic: { kind: 'url', url: url(4_200_000) },
      IdCardFrontPic: { kind: 'url', url: url(4_200_000) },
    });
    const refused = await uploadMaterials(noUploads, lease, over).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ValidationError);
    expect(refused).toMatchObject({
      field: 'materials',
      message: `materials: the request would exceed ${8 * 1024 * 1024} bytes`,
    });
  });
});
