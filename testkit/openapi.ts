/**
 * The API's committed OpenAPI artifacts and how they are made: `openapi/openapi.json` (the document
 * `GET /openapi.json` serves with the default settings) and `src/api/generated/openapi.ts` (the
 * types openapi-typescript makes of it, which the typed client `createApiClient` takes).
 *
 * `npm run openapi` runs this file and writes both; test/integration/openapi-document.test.ts makes
 * them again the same way and fails when a committed one differs. Here rather than in src/:
 * openapi-typescript and prettier are development tools, and the product never generates its types.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript';
import { pino } from 'pino';
import * as prettier from 'prettier';
import { buildHttpApi } from '../src/api/http-api.js';
import { loadConfig } from '../src/config.js';

const root = new URL('../', import.meta.url);

/** Where the committed document lives. */
export const DOCUMENT_FILE = fileURLToPath(new URL('openapi/openapi.json', root));
/** Where the committed types live. */
export const TYPES_FILE = fileURLToPath(new URL('src/api/generated/openapi.ts', root));
/** What to run when either is stale. */
export const REGENERATE = 'npm run openapi';

/**
 * The document the API serves with the default settings (`API_BATCH_MAX` shows in it), read from
 * `GET /openapi.json` of an API built in process with every route the product serves (as
 * `startApp` builds it: the operations overview included). Its routes only describe themselves
 * here: none is called, so the API is given no store, intake, operations or Redis.
 */
export async function servedDocument(): Promise<Record<string, unknown>> {
  const config = loadConfig({});
  const api = buildHttpApi({
    intake: {} as never,
    operations: {} as never,
    store: {} as never,
    biz: config.cloudauth.biz,
    tokens: ['unused-token-of-the-generator'],
    bodyLimitBytes: config.api.bodyLimitBytes,
    batchMax: config.api.batchMax,
    logger: pino({ level: 'silent' }),
    // only its prefix is read when the route is declared
    overview: { prefix: config.redisPrefix } as never,
  });
  try {
    const res = await api.inject({ method: 'GET', url: '/openapi.json' });
    if (res.statusCode !== 200) throw new Error(`GET /openapi.json answered ${res.statusCode}`);
    return res.json<Record<string, unknown>>();
  } finally {
    await api.close();
  }
}

async function formatted(text: string, file: string): Promise<string> {
  const options = (await prettier.resolveConfig(file)) ?? {};
  return prettier.format(text, { ...options, filepath: file });
}

/** The committed form of `doc`: JSON, formatted as the repository formats it. */
export function documentText(doc: unknown): Promise<string> {
  return formatted(JSON.stringify(doc, null, 2), DOCUMENT_FILE);
}

const TYPES_HEADER = `/**
 * The types of the HTTP API, generated from openapi/openapi.json by openapi-typescript: \`paths\`
 * (what \`createApiClient\` in src/api/client.ts is typed with), \`webhooks\`, \`components\` and
 * \`operations\`. Do not edit: \`npm run openapi\` writes it again, and
 * test/integration/openapi-document.test.ts fails when it differs from what the document gives.
 */
`;

/** The types openapi-typescript makes of `doc`, formatted as the repository formats them. */
export async function typesText(doc: unknown): Promise<string> {
  const ast = await openapiTS(doc as OpenAPI3, { silent: true });
  return formatted(`${TYPES_HEADER}\n${astToString(ast)}`, TYPES_FILE);
}

/** The committed text of `file`; undefined when there is none. */
export function committed(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

// `npm run openapi`: writes both files
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const doc = await servedDocument();
  writeFileSync(DOCUMENT_FILE, await documentText(doc));
  writeFileSync(TYPES_FILE, await typesText(doc));
  process.stdout.write(`wrote ${DOCUMENT_FILE}\nwrote ${TYPES_FILE}\n`);
}
