/**
 * What the person and the provider reach without a bearer token, for financial-grade `ID_PRO`
 * tickets (`src/flow/start-links.ts` makes and checks the links):
 *
 * - `GET /v1/start/<token>`: the start page. It loads Alibaba's MetaInfo script
 *   (`FACE_VERIFY_SCRIPT_URL`; in embedded mode the emulator's stand-in, never anything from
 *   elsewhere), calls `window.getMetaInfo()`, posts the MetaInfo back, waits while a worker calls
 *   InitFaceVerify, and sends the browser on to the CertifyUrl. The business sends this one link
 *   and never touches MetaInfo.
 * - `POST /v1/start/<token>`: `{ "metaInfo": "<JSON text>" }`: kept (encrypted) on the ticket and
 *   the ticket's job woken; 202. Once per start: a second post (a reload) changes nothing.
 * - `GET /v1/start/<token>/state`: `preparing`, `ready` with the CertifyUrl, or `ended`.
 * - `GET /v1/start/done`: where the provider's page returns the browser.
 * - `GET /v1/provider/face-verify/callback`: Cloudauth's callback (`t`, `certifyId`, `passed`,
 *   `callbackToken`), authenticated by the ticket's CallbackToken; it wakes the ticket, whose worker
 *   asks DescribeFaceVerify at once for the verdict and its scores (the callback's `passed` is a
 *   SubCode only; DescribeFaceVerify polling stays the fallback when no callback comes).
 *
 * The token in the path is a bearer link: pages are `no-store`, `Referrer-Policy: no-referrer`,
 * and the access log names the route, never the URL.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Queue } from 'bullmq';
import { jobIdOf, runNext, type TicketJobData } from '../adapters/bullmq/queues.js';
import type { TicketStore } from '../adapters/redis/ticket-store.js';
import type { StartLinks } from '../flow/start-links.js';
import { isTerminal } from '../domain/ticket.js';
import { problemError } from './problems.js';
import type { Logger } from '../logger.js';

export interface StartRoutesOptions {
  links: StartLinks;
  store: Pick<TicketStore, 'get' | 'recordStart' | 'wake'>;
  queue: Pick<Queue<TicketJobData>, 'getJob'>;
  /** The MetaInfo script's URL (`FACE_VERIFY_SCRIPT_URL` or its mode's default). */
  scriptUrl: string;
  logger: Logger;
  clock?: () => number;
}

/** Provider callbacks wake one ticket at most this often (a replayed callback is cheap). */
export const CALLBACK_DEBOUNCE_MS = 5000;

/** The longest MetaInfo taken: the real one is a few hundred bytes of device facts. */
export const META_INFO_MAX_BYTES = 8192;

const metaInfoBody = z.object({ metaInfo: z.string().min(2).max(META_INFO_MAX_BYTES) }).strict();

const pageHeaders = (scriptOrigin: string): Record<string, string> => ({
  'content-security-policy': `default-src 'none'; script-src 'self' ${scriptOrigin}; connect-src 'self' ${scriptOrigin}; img-src 'self' data:; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
});

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, message: string, scripts: string[] = []): string {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/v1/start/start.css"></head>
<body><main><h1>${escapeHtml(title)}</h1>
<p id="status" role="status">${escapeHtml(message)}</p></main>
${scripts.map((src) => `<script src="${escapeHtml(src)}"></script>`).join('\n')}
</body></html>`;
}

/** The page's own script: MetaInfo in, then on to the CertifyUrl. Served, never inline (CSP). */
const START_JS = `'use strict';
(function () {
  var status = document.getElementById('status');
  // the page's own path: the token exactly as the server checked it
  var base = location.pathname;
  function say(text) { status.textContent = text; }
  function poll(tries) {
    fetch(base + '/state', { cache: 'no-store' }).then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.state === 'ready') { say('正在跳转… Opening the verification page…'); location.replace(s.certifyUrl); return; }
        if (s.state === 'ended') { say('此认证已结束。 This verification has ended.'); return; }
        if (tries > 120) { say('请稍后刷新页面。 Please reload this page in a moment.'); return; }
        setTimeout(function () { poll(tries + 1); }, 1000);
      })
      .catch(function () { setTimeout(function () { poll(tries + 1); }, 2000); });
  }
  function start() {
    if (typeof window.getMetaInfo !== 'function') {
      say('无法加载认证组件。 The verification component did not load.');
      return;
    }
    var metaInfo = JSON.stringify(window.getMetaInfo());
    fetch(base, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ metaInfo: metaInfo }) })
      .then(function (r) {
        if (r.status === 202) { say('正在准备… Preparing your verification…'); poll(0); }
        else { say('此链接已失效。 This link can no longer be used.'); }
      })
      .catch(function () { say('网络错误，请重试。 Network error: please reload.'); });
  }
  start();
})();
`;

const START_CSS = `body{font-family:system-ui,sans-serif;margin:0;padding:2rem 1rem;color:#222}
main{max-width:32rem;margin:0 auto}h1{font-size:1.4rem}#status{font-size:1.1rem}`;

/** Registers the routes above; a fastify plugin (registered without encapsulation concerns). */
export function startRoutes(app: FastifyInstance, options: StartRoutesOptions): Promise<void> {
  const { links, store, queue, logger } = options;
  const clock = options.clock ?? Date.now;
  const headers = pageHeaders(new URL(options.scriptUrl).origin);
  const config = { public: true };

  const html = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).headers(headers).type('text/html; charset=utf-8').send(body);

  /** The ticket of a valid token, or the page that says why there is none. */
  const ticketOf = async (token: string, reply: FastifyReply) => {
    const checked = links.verify(token, clock());
    if ('problem' in checked) {
      await (checked.problem === 'expired'
        ? html(reply, 410, page('链接已过期 Link expired', '此链接已过期。 This link has expired.'))
        : html(reply, 404, page('链接无效 Invalid link', '此链接无效。 This link is not valid.')));
      return undefined;
    }
    const ticket = await store.get(checked.ticketId);
    // a link of a ticket retried since (its end moved) or gone is no link
    if (ticket === undefined || ticket.startBy !== checked.startBy) {
      await html(reply, 404, page('链接无效 Invalid link', '此链接无效。 This link is not valid.'));
      return undefined;
    }
    return ticket;
  };

  /** Wakes the ticket's job; with `debounceMs`, at most once in that time per ticket. */
  const wake = async (ticketId: string, debounceMs?: number) => {
    if (!(await store.wake(ticketId, debounceMs))) return;
    // only a delayed job can be run next; an active one reads the wake flag when it waits
    await runNext(await queue.getJob(jobIdOf(ticketId)));
  };

  app.get('/v1/start/start.js', { config }, (_req, reply) =>
    reply.headers(headers).type('text/javascript; charset=utf-8').send(START_JS),
  );
  app.get('/v1/start/start.css', { config }, (_req, reply) =>
    reply.headers(headers).type('text/css; charset=utf-8').send(START_CSS),
  );
  app.get('/v1/start/done', { config }, (_req, reply) =>
    html(
      reply,
      200,
      page(
        '已完成 Done',
        '认证已提交，您可以关闭此页面。 Your verification was submitted; you may close this page.',
      ),
    ),
  );

  app.get<{ Params: { token: string } }>('/v1/start/:token', { config }, async (req, reply) => {
    const ticket = await ticketOf(req.params.token, reply);
    if (ticket === undefined) return reply;
    if (isTerminal(ticket.state)) {
      return html(
        reply,
        410,
        page('认证已结束 Verification ended', '此认证已结束。 This verification has ended.'),
      );
    }
    return html(
      reply,
      200,
      page('实人认证 Identity verification', '正在加载… Loading…', [
        options.scriptUrl,
        '/v1/start/start.js',
      ]),
    );
  });

  app.post<{ Params: { token: string }; Body: unknown }>(
    '/v1/start/:token',
    { config, bodyLimit: META_INFO_MAX_BYTES * 2 },
    async (req, reply) => {
      const parsed = metaInfoBody.safeParse(req.body);
      const problem = parsed.success
        ? metaInfoProblem(parsed.data.metaInfo)
        : `is missing, or not text of at most ${META_INFO_MAX_BYTES} characters`;
      if (problem !== undefined || !parsed.success) {
        throw problemError('VALIDATION_FAILED', `metaInfo ${problem ?? 'is invalid'}.`, {
          errors: [{ field: 'metaInfo', message: problem ?? 'is invalid' }],
        });
      }
      for (let tries = 0; tries < 3; tries++) {
        const ticket = await ticketOf(req.params.token, reply);
        if (ticket === undefined) return reply;
        if (ticket.state !== 'queued') {
          const started = ticket.startedAt !== undefined;
          return reply.code(started ? 202 : 409).send({ state: started ? 'started' : 'ended' });
        }
        const r =
          ticket.startedAt === undefined
            ? await store.recordStart(
                ticket.ticketId,
                parsed.data.metaInfo,
                clock(),
                ticket.version,
              )
            : 'started';
        if (r === 'conflict') continue;
        // started now, or before (a reload, whose first wake may have been lost to an error): the
        // first MetaInfo stands either way, and the ticket is woken
        await wake(ticket.ticketId);
        if (r === 'applied') {
          logger.info({ ticketId: ticket.ticketId }, 'the person opened the start link');
        }
        return reply.code(202).send({ state: 'started' });
      }
      return reply.code(409).send({ state: 'busy' });
    },
  );

  app.get<{ Params: { token: string } }>(
    '/v1/start/:token/state',
    { config },
    async (req, reply) => {
      void reply.header('cache-control', 'no-store');
      const checked = links.verify(req.params.token, clock());
      if ('problem' in checked) {
        return reply.code(checked.problem === 'expired' ? 410 : 404).send({ state: 'ended' });
      }
      const ticket = await store.get(checked.ticketId);
      if (ticket === undefined || ticket.startBy !== checked.startBy || isTerminal(ticket.state)) {
        return { state: 'ended' };
      }
      const url = ticket.lease?.pageUrl;
      return ticket.state === 'awaiting_user' && url !== undefined && isWebUrl(url)
        ? { state: 'ready', certifyUrl: url }
        : { state: 'preparing' };
    },
  );

  app.get<{ Querystring: Record<string, string | string[] | undefined> }>(
    '/v1/provider/face-verify/callback',
    { config },
    async (req, reply) => {
      const one = (name: string) => {
        const v = req.query[name];
        return typeof v === 'string' ? v : undefined;
      };
      const ticketId = links.verifyCallback(one('t') ?? '', one('callbackToken') ?? '');
      if (ticketId === undefined) return reply.code(403).send({ error: 'not a callback of ours' });
      const certifyId = one('certifyId');
      const ticket = certifyId === undefined ? undefined : await store.get(ticketId);
      // a callback of an earlier CertifyId (the ticket was retried), or of a ticket gone or ended,
      // is acknowledged and ignored: answering otherwise would only make the provider send it
      // again. One wakes the ticket at most once per CALLBACK_DEBOUNCE_MS: a replayed callback
      // costs at most that one DescribeFaceVerify, whoever holds its URL
      if (
        ticket !== undefined &&
        ticket.state === 'awaiting_user' &&
        ticket.lease?.verifyToken === certifyId
      ) {
        await wake(ticketId, CALLBACK_DEBOUNCE_MS);
        logger.info({ ticketId }, 'the provider called back; asking for the verdict now');
      }
      return reply.code(200).send({ ok: true });
    },
  );
  return Promise.resolve();
}

/** Deepest nesting of a MetaInfo taken (the real one is a flat object of device facts). */
const META_INFO_MAX_DEPTH = 4;
/** Most keys and items in a MetaInfo taken, all levels together. */
const META_INFO_MAX_ENTRIES = 128;

/**
 * What is wrong with a MetaInfo, or undefined: it must be the JSON text of an object, at most
 * {@link META_INFO_MAX_DEPTH} levels deep and {@link META_INFO_MAX_ENTRIES} entries (the provider
 * is not handed whatever a client posts; the first MetaInfo posted is the one used).
 */
export function metaInfoProblem(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'is not JSON text';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'is not the JSON text of an object';
  }
  let entries = 0;
  const walk = (v: unknown, depth: number): string | undefined => {
    if (typeof v !== 'object' || v === null) return undefined;
    if (depth > META_INFO_MAX_DEPTH) return `is nested deeper than ${META_INFO_MAX_DEPTH} levels`;
    for (const item of Object.values(v)) {
      if (++entries > META_INFO_MAX_ENTRIES) {
        return `has more than ${META_INFO_MAX_ENTRIES} entries`;
      }
      const problem = walk(item, depth + 1);
      if (problem !== undefined) return problem;
    }
    return undefined;
  };
  return walk(value, 1);
}

/** An http(s) URL: the only kind of page the start page sends a browser on to. */
function isWebUrl(url: string): boolean {
  return URL.canParse(url) && /^https?:$/.test(new URL(url).protocol);
}
