import { describe, expect, it } from 'vitest';
import { OssMaterialUploader, pathStyle } from '../../src/adapters/oss/uploader.js';

const lease = {
  accessKeyId: 'STS.x',
  accessKeySecret: 's',
  securityToken: 't',
  endPoint: 'http://127.0.0.1:8788',
  bucketName: 'cloudauth-emulator',
  path: 'verify/abc/',
};

describe('OssMaterialUploader', () => {
  it('keys an image by its bytes under the lease path', () => {
    const image = { bytes: Buffer.from('same'), type: 'jpeg' as const };
    const key = OssMaterialUploader.keyFor(lease, image);
    expect(key).toMatch(/^verify\/abc\/[0-9a-f]{64}\.jpg$/);
    expect(OssMaterialUploader.keyFor({ ...lease, path: 'verify/abc' }, image)).toBe(key);
    expect(OssMaterialUploader.keyFor(lease, { ...image, bytes: Buffer.from('other') })).not.toBe(
      key,
    );
  });

  it.each([
    ['oss-cn-hangzhou.aliyuncs.com:443', false],
    ['oss-cn-shanghai.aliyuncs.com', false],
    ['http://127.0.0.1:8788', false],
    ['http://[::1]:8788', false],
    ['http://localhost:8788', true],
    ['http://emulator:8788', true],
  ])('uses path-style requests for %s: %s', (endPoint, expected) => {
    expect(pathStyle(endPoint)).toBe(expected);
  });
});
