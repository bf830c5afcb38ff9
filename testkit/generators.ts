/**
 * Seeded generators of synthetic applicants for tests, benchmarks and the chaos run: valid GB 11643
 * identity numbers and small face JPEGs. No real person's data.
 */
import sharp from 'sharp';
import { idNumberCheckChar } from '../src/domain/id-number.js';

const REGIONS = ['110105', '310104', '440305', '330106', '510107', '420106', '320102', '610113'];

/** mulberry32: small, fast, seeded; numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A valid identity number (region, birth date 1950–2004, sequence, check character). */
export function anIdNumber(random: () => number): string {
  const region = REGIONS[Math.floor(random() * REGIONS.length)] ?? '110105';
  const birth = new Date(Date.UTC(1950, 0, 1) + Math.floor(random() * 55 * 365.25) * 86_400_000);
  const date = birth.toISOString().slice(0, 10).replaceAll('-', '');
  const seq = String(Math.floor(random() * 1000)).padStart(3, '0');
  const first17 = `${region}${date}${seq}`;
  return `${first17}${idNumberCheckChar(first17)}`;
}

/** An ID number valid under GB 11643 for someone born on `birth` (yyyymmdd). */
export function idNumberBornOn(birth: string): string {
  const first17 = `110105${birth}001`;
  return first17 + idNumberCheckChar(first17);
}

/**
 * `count` small JPEGs (48×64) of distinct colours, as `data:` URLs (distinct bytes: distinct
 * content-addressed OSS keys).
 */
export async function faceJpegs(count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const hue = Math.round((360 * i) / count);
    const jpeg = await sharp({
      create: {
        width: 48,
        height: 64,
        channels: 3,
        background: `hsl(${hue}, 60%, 55%)`,
      },
    })
      .jpeg({ quality: 80 })
      .toBuffer();
    out.push(`data:image/jpeg;base64,${jpeg.toString('base64')}`);
  }
  return out;
}
