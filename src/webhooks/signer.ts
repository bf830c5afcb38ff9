/**
 * Which secrets sign a delivery, and the headers they make. A delivery to a host listed in
 * `WEBHOOK_SECRETS_BY_HOST` is signed with that host's secrets only; any other with
 * `WEBHOOK_SECRET` then each of `WEBHOOK_PREVIOUS_SECRETS`. So a receiver holding its own host's
 * secret can verify its events but cannot sign another host's (nor the default ones), and a
 * receiver holding the default secret cannot sign a listed host's.
 *
 * Every delivery carries the Standard Webhooks headers (`standard-signature.ts`); with
 * `WEBHOOK_LEGACY_SIGNATURE=true`, also the deprecated `x-cloudauth-orchestrator-signature`
 * (`signature.ts`) made with the same secrets, for receivers that have not switched yet. Keys are
 * decoded once, when the signer is made; no secret or signature is ever logged.
 */
import { canonicalHost } from './allowlist.js';
import { standardWebhookKey, type WebhookSigningSettings } from './secret.js';
import { SIGNATURE_HEADER, legacySignatureHeader } from './signature.js';
import {
  WEBHOOK_ID_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
  signStandardWebhook,
} from './standard-signature.js';

/** The secrets of one destination: as written (legacy header) and as keys (Standard Webhooks). */
interface SigningSet {
  texts: readonly string[];
  keys: readonly Buffer[];
}

function signingSet(secrets: readonly string[], setting: string): SigningSet {
  return { texts: secrets, keys: secrets.map((s) => standardWebhookKey(s, setting)) };
}

/** Signs deliveries; see the module comment. */
export class WebhookSigner {
  readonly #default: SigningSet;
  readonly #byHost: ReadonlyMap<string, SigningSet>;
  readonly #legacy: boolean;

  /** Throws ConfigError, naming the setting and never the secret, for an invalid secret. */
  constructor(settings: WebhookSigningSettings) {
    this.#default = signingSet(
      [settings.secret, ...(settings.previousSecrets ?? [])],
      'WEBHOOK_SECRET / WEBHOOK_PREVIOUS_SECRETS',
    );
    const byHost = new Map<string, SigningSet>();
    for (const [host, secrets] of Object.entries(settings.secretsByHost ?? {})) {
      if (secrets.length === 0) continue;
      byHost.set(canonicalHost(host), signingSet(secrets, `WEBHOOK_SECRETS_BY_HOST ("${host}")`));
    }
    this.#byHost = byHost;
    this.#legacy = settings.legacySignature === true;
  }

  /**
   * The signature headers of a delivery of event `id` to `url`, with `body` as sent, at
   * `timestampSeconds` (unix seconds): `webhook-id`, `webhook-timestamp`, `webhook-signature`, and
   * the legacy header when enabled.
   */
  headers(url: string, id: string, body: string, timestampSeconds: number): Record<string, string> {
    const set = this.#byHost.get(hostOf(url)) ?? this.#default;
    const headers: Record<string, string> = {
      [WEBHOOK_ID_HEADER]: id,
      [WEBHOOK_TIMESTAMP_HEADER]: String(timestampSeconds),
      [WEBHOOK_SIGNATURE_HEADER]: signStandardWebhook(set.keys, id, timestampSeconds, body),
    };
    if (this.#legacy) {
      headers[SIGNATURE_HEADER] = legacySignatureHeader(set.texts, body, timestampSeconds);
    }
    return headers;
  }
}

/** The canonical host of a URL (`canonicalHost`), or '' when it does not parse. */
function hostOf(url: string): string {
  try {
    return canonicalHost(new URL(url).hostname);
  } catch {
    return '';
  }
}
