/**
 * The Cloudauth 2018-09-16 actions: GetVerifyToken, SubmitMaterials, SubmitVerification (RPMin),
 * GetStatus and GetMaterials, answering the legacy envelope `{Code: "1", Success: true, Data}`.
 */
import type { Scheme } from '../../config.js';
import { checkIdNumber } from '../../domain/id-number.js';
import type { PopAction, PopCall } from '../pop/gateway.js';
import { cloudauthErrors } from './cloudauth-errors.js';
import { imageFacts } from './image-facts.js';
import type { OssReader } from './material-links.js';
import { IMAGE_KEYS, checkBinding, parseJsonObject, parseMaterials } from './materials.js';
import {
  type EmulatorRegistry,
  type IssuedToken,
  type Submission,
  latestSubmission,
} from './registry.js';
import { type Verdict, type VerdictRules, judge, visibleStatus } from './verdict.js';

/** Binding fields a scheme requires (spec §1.3). */
const REQUIRED_BINDING: Partial<Record<Scheme, readonly string[]>> = {
  RPBioID: ['Name', 'IdentificationNumber'],
  RPBioOnly: ['Name', 'IdentificationNumber'],
  RPBioOnlyPro: ['Name', 'IdentificationNumber'],
  RPH5BioOnly: ['Name', 'IdentificationNumber'],
  FVBioOnly: ['FaceRetainedPic'],
};

export interface ActionSettings extends SubmissionContext {
  biz: Record<string, Scheme>;
  tokenSeconds: number;
  stsSeconds: number;
  ossEndpoint: string;
  ossBucket: string;
  /** Base URL of the emulator as the person's browser reaches it. */
  publicUrl: () => string;
  clock: () => number;
}

/** A material link handed out by GetMaterials, readable for one hour (spec §1.7). */
export interface MaterialLinks {
  link(value: string, now: number): string;
}

export function cloudauthActions(
  registry: EmulatorRegistry,
  settings: ActionSettings,
  links: MaterialLinks,
): Record<string, PopAction> {
  const ok = (data: Record<string, unknown>) => ({ Data: data, Code: '1', Success: true });

  const schemeOf = (call: PopCall): [string, Scheme] => {
    const biz = call.params.Biz;
    if (!biz) throw cloudauthErrors.paramMissing('Biz');
    const scheme = settings.biz[biz];
    if (!scheme) throw cloudauthErrors.invalidBiz();
    return [biz, scheme];
  };
  const ticketIdOf = (call: PopCall): string => {
    const id = call.params.TicketId;
    if (!id) throw cloudauthErrors.paramMissing('TicketId');
    return id;
  };

  const verifyStatus = (verdict: Verdict, now: number, withAuthority: boolean) => ({
    StatusCode: visibleStatus(verdict, now),
    TrustedScore: verdict.trustedScore,
    SimilarityScore: verdict.similarityScore,
    ...(withAuthority ? { AuthorityComparisonScore: verdict.authorityComparisonScore } : {}),
    ...(verdict.auditConclusions === undefined
      ? {}
      : { AuditConclusions: verdict.auditConclusions }),
  });

  return {
    GetVerifyToken(call) {
      const [biz, scheme] = schemeOf(call);
      const ticketId = ticketIdOf(call);
      const binding = checkBinding(
        parseJsonObject('Binding', call.params.Binding) ?? {},
        call.method,
      );
      parseJsonObject('UserData', call.params.UserData);
      parseJsonObject('VerifyConfigs', call.params.VerifyConfigs);
      for (const field of REQUIRED_BINDING[scheme] ?? []) {
        if (!binding[field]) throw cloudauthErrors.paramMissing(`Binding.${field}`);
      }
      const now = settings.clock();
      const issued = registry.issue(
        biz,
        scheme,
        ticketId,
        binding,
        {
          tokenMs: settings.tokenSeconds * 1000,
          stsMs: settings.stsSeconds * 1000,
          bucket: settings.ossBucket,
        },
        now,
      );
      return ok({
        CloudauthPageUrl: `${settings.publicUrl()}/h5/verify?token=${issued.token}`,
        VerifyToken: { Token: issued.token, DurationSeconds: settings.tokenSeconds },
        StsToken: {
          AccessKeyId: issued.sts.accessKeyId,
          AccessKeySecret: issued.sts.accessKeySecret,
          // Spec §7: the real format is unknown; STS AssumeRole's ISO 8601 UTC is chosen.
          Expiration: new Date(issued.sts.expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          EndPoint: settings.ossEndpoint,
          BucketName: issued.sts.bucket,
          Path: issued.sts.path,
          Token: issued.sts.securityToken,
        },
      });
    },

    async SubmitMaterials(call) {
      const tokenValue = call.params.VerifyToken;
      if (!tokenValue) throw cloudauthErrors.paramMissing('VerifyToken');
      const now = settings.clock();
      const issued = usableToken(registry, tokenValue, now);
      const materials = parseMaterials(call.params, call.method);
      const verdict = await recordSubmission(
        registry,
        settings,
        issued.biz,
        issued.ticketId,
        'SubmitMaterials',
        { ...issued.binding, ...materials },
        now,
      );
      return ok({ VerifyStatus: verifyStatus(verdict, now, false) });
    },

    async SubmitVerification(call) {
      const [biz, scheme] = schemeOf(call);
      const ticketId = ticketIdOf(call);
      if (scheme !== 'RPMin') {
        throw cloudauthErrors.noPermission(
          `SubmitVerification needs an RPMin scenario, ${biz} is ${scheme}`,
        );
      }
      const materials = parseMaterials(call.params, call.method);
      const now = settings.clock();
      registry.ensureTicket(biz, scheme, ticketId);
      const verdict = await recordSubmission(
        registry,
        settings,
        biz,
        ticketId,
        'SubmitVerification',
        materials,
        now,
      );
      return ok({ VerifyStatus: verifyStatus(verdict, now, true) });
    },

    GetStatus(call) {
      const [biz] = schemeOf(call);
      const ticketId = ticketIdOf(call);
      const latest = latestSubmission(registry.ticket(biz, ticketId));
      if (!latest) return ok({ StatusCode: -1 });
      return ok(verifyStatus(latest.verdict, settings.clock(), true));
    },

    GetMaterials(call) {
      const [biz] = schemeOf(call);
      const ticketId = ticketIdOf(call);
      const latest = latestSubmission(registry.ticket(biz, ticketId));
      if (!latest) return ok({});
      const now = settings.clock();
      const m = latest.materials;
      const data: Record<string, string> = {};
      if (m.Name) data.Name = m.Name;
      if (m.IdentificationNumber) {
        data.IdentificationNumber = m.IdentificationNumber;
        data.IdCardType = 'identityCard';
        const check = checkIdNumber(m.IdentificationNumber);
        if (check.ok) data.Sex = check.sex;
      }
      for (const key of ['IdCardFrontPic', 'IdCardBackPic', 'FacePic'] as const) {
        const value = m[key];
        if (value !== undefined && IMAGE_KEYS.has(key)) data[key] = links.link(value, now);
      }
      return ok(data);
    },
  };
}

/** The live token, or the chosen VerifyToken error (spec §7). */
export function usableToken(registry: EmulatorRegistry, token: string, now: number): IssuedToken {
  const found = registry.token(token, now);
  if (found === undefined) throw cloudauthErrors.tokenInvalid();
  if (found === 'expired') throw cloudauthErrors.tokenExpired();
  return found;
}

/** What recording a submission needs besides the registry. */
export interface SubmissionContext extends VerdictRules {
  /** The attached OSS emulator's reader, if any (read when the submission is judged). */
  readOss: () => OssReader | undefined;
}

/**
 * Judges a submission and records it, unless the ticket has already passed: its verdict then
 * stands and nothing is recorded.
 */
export async function recordSubmission(
  registry: EmulatorRegistry,
  context: SubmissionContext,
  biz: string,
  ticketId: string,
  via: Submission['via'],
  materials: Record<string, string>,
  now: number,
  verdictOverride?: Verdict,
): Promise<Verdict> {
  const images = verdictOverride ? {} : await imageFacts(materials, context.readOss());
  const previous = latestSubmission(registry.ticket(biz, ticketId));
  if (previous && previous.verdict.statusCode === 1) return previous.verdict;
  const verdict = verdictOverride ?? judge(materials, context, now, images);
  registry.record(biz, ticketId, { at: now, via, materials, verdict });
  return verdict;
}
