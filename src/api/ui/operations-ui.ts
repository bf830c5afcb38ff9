/**
 * The operations page at `/ui`: one static HTML page with four small ES modules (the page, its
 * DOM building, and its charts drawn as inline SVG with their pure maths) and a stylesheet
 * from `./assets/` (no build step, nothing loaded from elsewhere, `Content-Security-Policy:
 * default-src 'self'`), served without authentication; the data it shows comes from the
 * authenticated JSON API with the token the operator enters. Under `/ui/queues`, bull-board over the BullMQ queues, read-only (retries
 * and cancellations go through the API and the ticket state machine), behind {@link boardAuth}.
 */
import { readFileSync } from 'node:fs';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { boardAuth } from './board-auth.js';

/** Where the page lives; the HTTP API's bearer check leaves routes under it alone. */
export const UI_PREFIX = '/ui';

/** Where bull-board lives. */
export const BOARD_PREFIX = `${UI_PREFIX}/queues`;

/** What the page and the queue dashboard need. */
export interface OperationsUiOptions {
  /** The API's bearer tokens, accepted by the queue dashboard (cookie or basic password). */
  tokens: readonly string[];
  /** Queues bull-board shows (`tickets`, `webhooks`); none or absent: no dashboard is served. */
  queues?: readonly Queue[] | undefined;
}

/** Sent with the page and its assets. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

const BOARD_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; base-uri 'self'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const ASSETS: readonly (readonly [file: string, type: string])[] = [
  ['app.js', 'text/javascript; charset=utf-8'],
  ['render.js', 'text/javascript; charset=utf-8'],
  ['charts.js', 'text/javascript; charset=utf-8'],
  ['chart-math.js', 'text/javascript; charset=utf-8'],
  ['app.css', 'text/css; charset=utf-8'],
  ['favicon.svg', 'image/svg+xml'],
];

const readAsset = (file: string): Buffer =>
  readFileSync(new URL(`./assets/${file}`, import.meta.url));

function serve(reply: FastifyReply, type: string, body: Buffer): FastifyReply {
  return reply.headers(PAGE_HEADERS).type(type).send(body);
}

async function queueBoard(
  board: FastifyInstance,
  options: { tokens: readonly string[]; queues: readonly Queue[] },
): Promise<void> {
  board.addHook('onRequest', boardAuth(options.tokens));
  board.addHook('onSend', (_request, reply, payload, done) => {
    void reply.headers(BOARD_HEADERS);
    done(null, payload);
  });
  const adapter = new FastifyAdapter().setBasePath(BOARD_PREFIX);
  createBullBoard({
    queues: options.queues.map((q) => new BullMQAdapter(q, { readOnlyMode: true })),
    serverAdapter: adapter,
    options: {
      uiConfig: {
        boardTitle: 'Cloudauth queues',
        hideDocsLink: true,
        miscLinks: [{ text: 'Operations page', url: UI_PREFIX }],
      },
    },
  });
  await board.register(adapter.registerPlugin());
}

/**
 * Registers `GET /ui` (and `/ui/`), its assets under `/ui/assets/`, and bull-board under
 * `/ui/queues` when queues are given. Register it after the API's bearer hook, with
 * {@link UI_PREFIX} among that hook's public prefixes.
 */
export async function operationsUi(
  app: FastifyInstance,
  options: OperationsUiOptions,
): Promise<void> {
  const page = readAsset('index.html');
  for (const url of [UI_PREFIX, `${UI_PREFIX}/`]) {
    app.get(url, (_request, reply) => serve(reply, 'text/html; charset=utf-8', page));
  }
  for (const [file, type] of ASSETS) {
    const body = readAsset(file);
    app.get(`${UI_PREFIX}/assets/${file}`, (_request, reply) => serve(reply, type, body));
  }
  if (options.queues !== undefined && options.queues.length > 0) {
    await app.register(queueBoard, {
      prefix: BOARD_PREFIX,
      tokens: options.tokens,
      queues: options.queues,
    });
  }
}
