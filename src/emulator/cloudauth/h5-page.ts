/**
 * The page behind `CloudauthPageUrl`: where the person (or a test, or the chaos run) completes
 * or fails the verification of one VerifyToken. "Complete" applies the emulator's verdict rules to
 * the token's Binding; "Fail" records a not-passed verdict. Personal data is shown masked.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { maskIdNumber, maskName } from '../../domain/mask.js';
import { escapeXml as escapeHtml } from '../pop/xml.js';
import { type SubmissionContext, recordSubmission } from './actions.js';
import type { EmulatorRegistry } from './registry.js';
import { failedByPerson, visibleStatus } from './verdict.js';

export interface H5Settings extends SubmissionContext {
  clock: () => number;
}

export function registerH5Page(
  app: FastifyInstance,
  registry: EmulatorRegistry,
  settings: H5Settings,
): void {
  app.get<{ Querystring: { token?: string } }>('/h5/verify', (req, reply) => {
    const token = req.query.token ?? '';
    const found = registry.token(token, settings.clock());
    if (found === undefined)
      return page(
        reply,
        404,
        'Unknown token',
        '<p>这个认证链接无效。This verification link is not valid.</p>',
      );
    if (found === 'expired')
      return page(
        reply,
        410,
        'Expired',
        '<p>认证已过期。This verification has expired: ask for a new link.</p>',
      );
    const name = found.binding.Name;
    const id = found.binding.IdentificationNumber;
    return page(
      reply,
      200,
      '实人认证 Identity verification',
      `<dl>
  <dt>Biz</dt><dd>${escapeHtml(found.biz)}</dd>
  <dt>姓名 Name</dt><dd data-testid="name">${name ? escapeHtml(maskName(name)) : '—'}</dd>
  <dt>身份证号 ID number</dt><dd data-testid="id">${id ? escapeHtml(maskIdNumber(id)) : '—'}</dd>
</dl>
<form method="post" action="/h5/verify">
  <input type="hidden" name="token" value="${escapeHtml(token)}">
  <button name="outcome" value="complete" data-testid="complete">完成认证 Complete verification</button>
  <button name="outcome" value="fail" data-testid="fail">认证失败 Fail verification</button>
</form>`,
    );
  });

  app.post<{ Body: { token?: string; outcome?: string } }>('/h5/verify', async (req, reply) => {
    const { token = '', outcome } = req.body ?? {};
    if (outcome !== 'complete' && outcome !== 'fail') {
      return page(reply, 400, 'Bad request', '<p>outcome must be complete or fail.</p>');
    }
    const now = settings.clock();
    const found = registry.token(token, now);
    if (found === undefined)
      return page(reply, 404, 'Unknown token', '<p>This verification link is not valid.</p>');
    if (found === 'expired')
      return page(reply, 410, 'Expired', '<p>This verification has expired.</p>');
    const verdict = await recordSubmission(
      registry,
      settings,
      found.biz,
      found.ticketId,
      'H5',
      found.binding,
      now,
      outcome === 'fail' ? failedByPerson() : undefined,
    );
    const status = visibleStatus(verdict, now);
    const text =
      status === 1
        ? '认证通过 Passed'
        : status === 0
          ? '审核中 Under review'
          : '认证不通过 Not passed';
    return page(reply, 200, 'Done', `<p data-testid="result" data-status="${status}">${text}</p>`);
  });
}

function page(reply: FastifyReply, status: number, title: string, body: string) {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store').send(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}
dt{color:#666;font-size:.85rem}dd{margin:0 0 .8rem}button{font-size:1rem;padding:.6rem 1rem;margin:.3rem .3rem 0 0}</style>
</head><body><h1>${escapeHtml(title)}</h1>
${body}
<footer><small>Cloudauth emulator — not a real identity check.</small></footer></body></html>`);
}
