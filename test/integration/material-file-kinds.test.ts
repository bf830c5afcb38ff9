/**
 * A photo path that names something other than a regular file (a named pipe, a directory, a
 * device) is refused at once, naming the field and not the path: opened plainly, a named pipe
 * would wait for a writer forever (the CLI's check and the worker's read alike).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkImageFile, readMaterialFile } from '../../src/adapters/oss/material-loader.js';
import { DEFAULT_IMAGE_LIMITS } from '../../src/adapters/oss/image-header.js';
import { ValidationError } from '../../src/errors.js';

let dir: string;
let fifo: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'material-kinds-'));
  fifo = join(dir, 'face.jpg');
  execFileSync('mkfifo', [fifo]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('material files that are not regular files', () => {
  it('refuses a named pipe, a directory and a device without waiting on them', async () => {
    for (const path of [fifo, dir, '/dev/zero']) {
      expect(() => checkImageFile('Binding.FacePic', path, DEFAULT_IMAGE_LIMITS)).toThrow(
        new ValidationError('Binding.FacePic', 'is not a regular file'),
      );
      await expect(readMaterialFile('Binding.FacePic', path)).rejects.toThrow(
        new ValidationError('Binding.FacePic', 'is not a regular file'),
      );
    }
  });
});
