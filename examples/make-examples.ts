/**
 * Writes the sample batch: `examples/applicants.csv` (RPMin applicants with valid identity numbers
 * and face photos drawn here) and `examples/applicants-with-errors.csv` (the same plus rows the
 * preflight refuses). Deterministic: run `npm run examples` again and nothing changes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { idNumberCheckChar } from '../src/domain/id-number.js';
import { DEFAULT_IMAGE_LIMITS } from '../src/adapters/oss/image-header.js';

const here = dirname(fileURLToPath(import.meta.url));

/** A valid GB 11643 number from a region code, a birth date and a sequence number. */
function idNumber(region: string, birth: string, sequence: number): string {
  const first17 = `${region}${birth}${String(sequence).padStart(3, '0')}`;
  return `${first17}${idNumberCheckChar(first17)}`;
}

/** A simple face: skin-tone oval, eyes, mouth, on a plain background. */
function faceSvg(skin: string, background: string, smile: number): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="640">
  <rect width="480" height="640" fill="${background}"/>
  <ellipse cx="240" cy="300" rx="150" ry="200" fill="${skin}"/>
  <ellipse cx="185" cy="260" rx="22" ry="14" fill="#222"/>
  <ellipse cx="295" cy="260" rx="22" ry="14" fill="#222"/>
  <path d="M180 ${400 - smile} Q240 ${400 + smile} 300 ${400 - smile}" stroke="#803030" stroke-width="10" fill="none"/>
  <rect x="90" y="540" width="300" height="100" fill="#2f3d55"/>
</svg>`;
}

const applicants: [name: string, region: string, birth: string, sequence: number][] = [
  ['王芳', '110101', '19900307', 2],
  ['李伟', '310104', '19851122', 15],
  ['张敏', '440106', '19930614', 28],
  ['刘洋', '510107', '19880209', 31],
  ['陈静', '330106', '19950830', 44],
  ['杨磊', '420102', '19870115', 57],
  ['赵丽', '320102', '19920721', 62],
  ['黄勇', '370102', '19891003', 73],
  ['审核', '110105', '19910512', 86],
  ['拒绝', '120101', '19940228', 91],
];
const skins = ['#f1c27d', '#e0ac69', '#c68642', '#ffdbac', '#d1a17a'];
const backgrounds = ['#dfe8f0', '#eef0e2', '#f0e6e6', '#e6eef0'];

async function main(): Promise<void> {
  const photos = join(here, 'photos');
  mkdirSync(photos, { recursive: true });
  const rows = ['TicketId,Name,IdentificationNumber,FacePic'];
  for (const [i, [name, region, birth, sequence]] of applicants.entries()) {
    const file = `face-${String(i + 1).padStart(2, '0')}.jpg`;
    const svg = faceSvg(
      skins[i % skins.length] ?? '#f1c27d',
      backgrounds[i % backgrounds.length] ?? '#fff',
      10 + i * 3,
    );
    await sharp(Buffer.from(svg), { limitInputPixels: DEFAULT_IMAGE_LIMITS.maxPixels })
      .jpeg({ quality: 85 })
      .toFile(join(photos, file));
    rows.push(
      `example-${String(i + 1).padStart(4, '0')},${name},${idNumber(region, birth, sequence)},photos/${file}`,
    );
  }
  writeFileSync(join(here, 'applicants.csv'), `${rows.join('\n')}\n`);
  writeFileSync(
    join(photos, 'not-a-photo.pdf'),
    '%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n%%EOF\n',
  );
  const errors = [
    ...rows,
    'example-0011,孙强,630546198009090099,photos/face-01.jpg',
    'example-0012,周杰,110101199003070011,photos/missing.jpg',
    'example-0013,吴昊,110101199003070011,photos/not-a-photo.pdf',
    'example-0001,重复,11010519491231002X,photos/face-02.jpg',
  ];
  writeFileSync(join(here, 'applicants-with-errors.csv'), `${errors.join('\n')}\n`);
  process.stdout.write(`wrote ${applicants.length} applicants to examples/applicants.csv\n`);
}

await main();
