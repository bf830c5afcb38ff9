/**
 * The page behind InitFaceVerify's CertifyUrl, `/face-verify/:token` (spec §4, §9, §12): where the
 * person (or a test) completes or fails the financial-grade verification of one CertifyId.
 *
 * "Valid 30 min and usable for one submission" is read as: the page may be opened any number of
 * times until an outcome is posted or 30 minutes from InitFaceVerify have passed; after either,
 * GET and POST answer 410 (a page saying used or expired). An unknown token answers 404. A link
 * that expired unused leaves the CertifyId without a result (DescribeFaceVerify keeps answering
 * 424, and no callback is sent: the flow was abandoned).
 *
 * Outcomes: "complete" judges the Init identity by the ContrastFaceVerify rules (GB 11643 → 202,
 * reject list → 201, else 200; scores from the hash of name and number, no face bytes exist);
 * "fail" is a failed liveness check, SubCode 205 with `faceAttack: "T"` and zero scores. Then the
 * callback is sent (face-verify-callback.ts) and the browser goes to ReturnUrl, with the parameter
 * `response` (the name doc 173782 uses) holding the JSON `{"certifyId","passed","subCode"}`; the
 * JSON's fields are the emulator's choice, since the real format is NOT FOUND (spec §9, §13).
 * Without an http(s) ReturnUrl a done page is shown.
 *
 * Security as for the 2018 page: nothing loaded from elsewhere, everything shown escaped, personal
 * data masked, and a CSP that allows only the inline style and a form posting to this emulator (and
 * the redirect to the ReturnUrl's origin, which browsers check against `form-action`).
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { maskIdNumber, maskName } from '../../domain/mask.js';
import { escapeXml as escapeHtml } from '../pop/xml.js';
import type { CallbackSender } from './face-verify-callback.js';
import type { FaceVerifyRecord, FaceVerifyResult, FaceVerifyStore } from './face-verify-store.js';
import { judgeFace } from './face-verify-verdict.js';
import type { VerdictRules } from './verdict.js';

export interface FaceVerifyPageSettings extends VerdictRules {
  clock: () => number;
  callbacks: CallbackSender;
}

/** SubCode of a failed liveness check (spec §8.2: 205 liveness risk). */
export const LIVENESS_FAILED_SUBCODE = '205';

const STYLE = `body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}
dt{color:#666;font-size:.85rem}dd{margin:0 0 .8rem}button{font-size:1rem;padding:.6rem 1rem;margin:.3rem .3rem 0 0}`;
const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/** What the stand-in MetaInfo script defines. */
export const META_INFO_STAND_IN = `'use strict';
/* Cloudauth emulator: a stand-in for https://o.alicdn.com/yd-cloudauth/cloudauth-cdn/jsvm_all.js */
window.getMetaInfo = function () {
  return {
    apdidToken: '',
    appName: 'cloudauth-emulator',
    appVersion: '1.0.0',
    bioMetaInfo: 'emulator:stand-in',
    deviceType: 'h5',
    ua: navigator.userAgent
  };
};
`;

type PageState =
  { kind: 'unknown' } | { kind: 'used' | 'expired' } | { kind: 'open'; record: FaceVerifyRecord };

export function registerFaceVerifyPage(
  app: FastifyInstance,
  store: FaceVerifyStore,
  settings: FaceVerifyPageSettings,
): void {
  const stateOf = (token: string, now: number): PageState => {
    const record = store.byToken(token);
    if (record === undefined) return { kind: 'unknown' };
    if (record.result !== undefined) return { kind: 'used' };
    if (record.expiresAt !== undefined && now >= record.expiresAt) return { kind: 'expired' };
    return { kind: 'open', record };
  };

  // the stand-in of Alibaba's `jsvm_all.js` (spec cloudauth-2019.md §2): `window.getMetaInfo()`
  // answers an object shaped like the real one's (device facts, no person); registered before the
  // page route so that its name is never taken for a page token
  app.get('/face-verify/jsvm_all.js', (_req, reply) =>
    reply
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .type('text/javascript; charset=utf-8')
      .send(META_INFO_STAND_IN),
  );

  app.get<{ Params: { token: string } }>('/face-verify/:token', (req, reply) => {
    const state = stateOf(req.params.token, settings.clock());
    if (state.kind !== 'open') return closedPage(reply, state.kind);
    const { record } = state;
    const identity = record.identity;
    return page(
      reply,
      200,
      '实人认证 Identity verification',
      `<dl>
  <dt>姓名 Name</dt><dd data-testid="name">${identity ? escapeHtml(maskName(identity.certName)) : '—'}</dd>
  <dt>身份证号 ID number</dt><dd data-testid="id">${identity ? escapeHtml(maskIdNumber(identity.certNo)) : '—'}</dd>
</dl>
<form method="post" action="/face-verify/${escapeHtml(encodeURIComponent(req.params.token))}">
  <button name="outcome" value="complete" data-testid="complete">完成认证 Complete verification</button>
  <button name="outcome" value="fail" data-testid="fail">认证失败 Fail verification</button>
</form>`,
      returnOrigin(record.returnUrl),
    );
  });

  app.post<{ Params: { token: string }; Body: { outcome?: string } | undefined }>(
    '/face-verify/:token',
    (req, reply) => {
      const outcome = req.body?.outcome;
      if (outcome !== 'complete' && outcome !== 'fail') {
        return page(reply, 400, 'Bad request', '<p>outcome must be complete or fail.</p>');
      }
      const now = settings.clock();
      const state = stateOf(req.params.token, now);
      if (state.kind !== 'open') return closedPage(reply, state.kind);
      const { record } = state;
      const result = outcomeResult(record, outcome, settings, now);
      // single-threaded: nothing else can finish this record between stateOf and here
      store.complete(record.certifyId, result);
      if (record.callbackUrl !== undefined) {
        settings.callbacks.send({
          certifyId: record.certifyId,
          callbackUrl: record.callbackUrl,
          subCode: result.subCode,
          ...(record.callbackToken !== undefined ? { callbackToken: record.callbackToken } : {}),
        });
      }
      const back = returnTarget(record, result);
      if (back !== undefined) {
        return reply.code(303).header('location', back).header('cache-control', 'no-store').send();
      }
      const text = result.passed ? '认证通过 Passed' : '认证不通过 Not passed';
      return page(
        reply,
        200,
        'Done',
        `<p data-testid="result" data-passed="${result.passed ? 'T' : 'F'}" data-subcode="${escapeHtml(result.subCode)}">${text}</p>`,
      );
    },
  );
}

/** The result a posted outcome gives the record. */
function outcomeResult(
  record: FaceVerifyRecord,
  outcome: 'complete' | 'fail',
  rules: VerdictRules,
  now: number,
): FaceVerifyResult {
  // the live face is not captured: its seed only lets a later ContrastFaceVerify name this CertifyId
  const faceSeed = `face-verify:${record.certifyId}`;
  const base = { deviceToken: '', faceSeed, completedAt: now };
  if (outcome === 'fail' || record.identity === undefined) {
    return {
      ...base,
      passed: false,
      subCode: LIVENESS_FAILED_SUBCODE,
      materialInfo: JSON.stringify({
        faceAttack: 'T',
        facialPictureFront: { qualityScore: 0, verifyScore: 0 },
      }),
    };
  }
  const judgement = judgeFace(
    record.identity,
    { reference: '', fact: { state: 'unchecked' } },
    rules,
    now,
  );
  return {
    ...base,
    passed: judgement.passed,
    subCode: judgement.subCode,
    materialInfo: JSON.stringify(judgement.materialInfo),
  };
}

/** ReturnUrl with `response` added, or undefined when there is none or it is not http(s). */
function returnTarget(record: FaceVerifyRecord, result: FaceVerifyResult): string | undefined {
  if (returnOrigin(record.returnUrl) === undefined || record.returnUrl === undefined)
    return undefined;
  const url = new URL(record.returnUrl);
  url.searchParams.set(
    'response',
    JSON.stringify({
      certifyId: record.certifyId,
      passed: result.passed ? 'T' : 'F',
      subCode: result.subCode,
    }),
  );
  return url.toString();
}

/** The origin of an http(s) URL (safe inside a CSP: scheme, host and port only). */
function returnOrigin(url: string | undefined): string | undefined {
  if (url === undefined || !URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin : undefined;
}

function closedPage(reply: FastifyReply, kind: 'unknown' | 'used' | 'expired') {
  if (kind === 'unknown')
    return page(
      reply,
      404,
      'Unknown link',
      '<p>这个认证链接无效。This verification link is not valid.</p>',
    );
  if (kind === 'used')
    return page(
      reply,
      410,
      'Already used',
      '<p data-testid="closed" data-reason="used">认证链接已使用。This verification link has already been used.</p>',
    );
  return page(
    reply,
    410,
    'Expired',
    '<p data-testid="closed" data-reason="expired">认证已过期。This verification has expired: ask for a new link.</p>',
  );
}

function page(
  reply: FastifyReply,
  status: number,
  title: string,
  body: string,
  formTarget?: string,
) {
  const formAction = formTarget === undefined ? "'self'" : `'self' ${formTarget}`;
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header(
      'content-security-policy',
      `default-src 'none'; style-src ${STYLE_HASH}; form-action ${formAction}; base-uri 'none'; frame-ancestors 'none'`,
    )
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer').send(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head><body><h1>${escapeHtml(title)}</h1>
${body}
<footer><small>Cloudauth emulator — not a real identity check.</small></footer></body></html>`);
}
