/**
 * A ticket as producers send it (HTTP body, JSONL line, CSV row, producer library), in Cloudauth's
 * own names: `TicketId`, `Biz`, `Binding` (Name, IdentificationNumber, image materials), `UserData`,
 * and `callbackUrl`. Parsing checks everything that can be checked without I/O and reports every
 * problem with its field. Images given as bytes are checked from their headers (a JPEG, PNG or BMP
 * within the pixel limits) without decoding; the worker decodes and fits them.
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import type { Scheme } from '../config.js';
import { describeBiz, type BizCatalogue, type BizProfile } from '../domain/biz.js';
import {
  IMAGE_FIELDS,
  parseMaterialSource,
  toStoredSource,
  validateIdNumber,
  validateName,
  type ImageField,
  type TicketBinding,
} from '../domain/binding.js';
import { flowOf } from '../domain/ticket.js';
import { vetCallbackUrl, type CallbackPolicy } from '../webhooks/allowlist.js';
import { ValidationError } from '../errors.js';
import {
  DEFAULT_IMAGE_LIMITS,
  bufferReader,
  checkImageHeader,
  type ImageLimits,
} from '../adapters/oss/image-header.js';
import { USERDATA_MAX_BYTES, USERDATA_MAX_DEPTH, userDataProblem } from '../domain/user-data.js';
import { TICKET_ID_MAX, unknownBizMessage, type TicketInput } from './ticket-intake.js';

/** Every problem of one ticket request; `problems` has one error per field. */
export class TicketRejectedError extends ValidationError {
  constructor(readonly problems: readonly ValidationError[]) {
    super(problems[0]?.field ?? 'ticket', 'invalid');
    this.message = problems.map((p) => p.message).join('; ');
  }
}

const imageValue = z.string().max(12 * 1024 * 1024);

/**
 * `UserData`: any JSON object up to {@link USERDATA_MAX_DEPTH} levels deep and
 * {@link USERDATA_MAX_BYTES} bytes of JSON; refused naming the limit, never quoting the value.
 */
const userDataSchema = z
  .record(z.string(), z.unknown())
  .superRefine((value, ctx) => {
    const problem = userDataProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe(
    `Echoed back by Cloudauth. At most ${USERDATA_MAX_DEPTH} levels of objects and arrays (this object is the first) and ${USERDATA_MAX_BYTES} bytes as JSON.`,
  );

/** The JSON shape; `.strict()` so that a misspelt field is named rather than ignored. */
export const ticketRequestSchema = z
  .object({
    TicketId: z
      .string()
      .min(1)
      .max(TICKET_ID_MAX)
      .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
      .describe(
        'Your identifier of this verification; a repeat with the same payload is one ticket.',
      ),
    Biz: z.string().min(1).max(64).describe('A Biz scenario configured in CLOUDAUTH_BIZ.'),
    Binding: z
      .object({
        Name: z.string().max(256).optional().describe("Applicant's name."),
        IdentificationNumber: z
          .string()
          .max(64)
          .optional()
          .describe('18-character resident ID number (GB 11643).'),
        FacePic: imageValue
          .optional()
          .describe('Face photo: data:/base64 bytes, https URL or oss://bucket:path.'),
        IdCardFrontPic: imageValue.optional().describe('ID card, portrait side.'),
        IdCardBackPic: imageValue.optional().describe('ID card, emblem side.'),
        FaceRetainedPic: imageValue.optional().describe('Retained portrait (FVBioOnly).'),
        IDPic: imageValue.optional().describe('Photo read from the ID card chip.'),
      })
      .strict()
      .default({}),
    UserData: userDataSchema.optional(),
    callbackUrl: z
      .string()
      .url()
      .max(2048)
      .optional()
      .describe('Where webhooks for this ticket go.'),
  })
  .strict();

export type TicketRequest = z.input<typeof ticketRequestSchema>;

export interface ParseOptions {
  /** Biz → scheme. */
  biz: BizCatalogue;
  /** Local paths are allowed for the CLI only (never over HTTP); relative ones resolve here. */
  localFiles?: { baseDir: string };
  batchId?: string;
  /** Field names are prefixed with this (e.g. `rows[3].`). */
  fieldPrefix?: string;
  /**
   * Pixel limits of images given as bytes, checked from their headers (IMAGE_MAX_PIXELS,
   * IMAGE_MAX_SIDE_PX). Default {@link DEFAULT_IMAGE_LIMITS}.
   */
  imageLimits?: ImageLimits;
  /**
   * The callback URL policy (WEBHOOK_ALLOWED_HOSTS; https only in production), checked without DNS:
   * scheme, credentials, an IP literal's range. Names are resolved and vetted at delivery (and by
   * the HTTP API at intake). Unset: the URL's form only.
   */
  callbackPolicy?: CallbackPolicy;
}

/** Materials a scheme needs in the Binding. */
const REQUIRED: Partial<Record<Scheme, readonly (keyof TicketBinding | ImageField)[]>> = {
  RPMin: ['name', 'idNumber', 'FacePic'],
  RPBioID: ['name', 'idNumber'],
  RPBioOnly: ['name', 'idNumber'],
  RPBioOnlyPro: ['name', 'idNumber'],
  RPH5BioOnly: ['name', 'idNumber'],
  FVBioOnly: ['FaceRetainedPic'],
};
const WIRE_NAME: Record<string, string> = { name: 'Name', idNumber: 'IdentificationNumber' };

/** What a Biz needs in the Binding: its scheme's list, or the financial product's. */
function requiredBy(profile: BizProfile): readonly (keyof TicketBinding | ImageField)[] {
  if (typeof profile === 'string') return REQUIRED[profile] ?? [];
  return profile.productCode === 'ID_MIN' ? ['name', 'idNumber', 'FacePic'] : ['name', 'idNumber'];
}

/**
 * How a refusal names a key the schema does not know: as it is when it reads as a field name,
 * else as `(unknown field)`. A key is input like any other: a shifted or hand-made body can make it
 * a name or an identity number, and a refusal never repeats personal data.
 */
export function unknownKeyName(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/.test(key) && !/\d{5}/.test(key) ? key : '(unknown field)';
}

/** Most unknown keys of one object named in a refusal; the rest are counted. */
export const UNKNOWN_KEYS_NAMED = 10;

/**
 * The unknown keys of one object as refusals: the first {@link UNKNOWN_KEYS_NAMED} by name (see
 * {@link unknownKeyName}), the rest counted in one more, so that an object of a million unknown
 * keys is one short refusal, not a million.
 */
export function unknownKeyProblems(
  keys: readonly string[],
  field: (name: string) => string,
): { field: string; message: string }[] {
  const named = keys
    .slice(0, UNKNOWN_KEYS_NAMED)
    .map((k) => ({ field: field(unknownKeyName(k)), message: 'is not a known field' }));
  const rest = keys.length - named.length;
  if (rest > 0) {
    named.push({
      field: field('(unknown fields)'),
      message: `${rest} more field${rest > 1 ? 's are' : ' is'} not known`,
    });
  }
  return named;
}

/** Parses and checks one request; throws {@link TicketRejectedError} naming every bad field. */
export function parseTicketRequest(raw: unknown, options: ParseOptions): TicketInput {
  const prefix = options.fieldPrefix ?? '';
  const parsed = ticketRequestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new TicketRejectedError(
      parsed.error.issues.flatMap((i) => {
        const at = i.path.map(String);
        if (i.code === 'unrecognized_keys') {
          return unknownKeyProblems(i.keys, (name) => `${prefix}${[...at, name].join('.')}`).map(
            (p) => new ValidationError(p.field, p.message),
          );
        }
        return [new ValidationError(`${prefix}${at.join('.') || '(body)'}`, i.message)];
      }),
    );
  }
  const r = parsed.data;
  const problems: ValidationError[] = [];
  const attempt = <T>(f: () => T): T | undefined => {
    try {
      return f();
    } catch (err) {
      if (err instanceof ValidationError) {
        problems.push(err);
        return undefined;
      }
      throw err;
    }
  };
  const scheme = options.biz[r.Biz];
  if (scheme === undefined) {
    problems.push(new ValidationError(`${prefix}Biz`, unknownBizMessage(options.biz)));
  }
  const binding: TicketBinding = { materials: {} };
  if (r.Binding.Name !== undefined) {
    const name = attempt(() => validateName(`${prefix}Binding.Name`, r.Binding.Name));
    if (name !== undefined) binding.name = name;
  }
  if (r.Binding.IdentificationNumber !== undefined) {
    const id = attempt(() =>
      validateIdNumber(`${prefix}Binding.IdentificationNumber`, r.Binding.IdentificationNumber),
    );
    if (id !== undefined) binding.idNumber = id;
  }
  for (const field of IMAGE_FIELDS) {
    const value = r.Binding[field];
    if (value === undefined) continue;
    const name = `${prefix}Binding.${field}`;
    const source = attempt(() => parseMaterialSource(name, value));
    if (!source) continue;
    if (source.kind === 'file') {
      if (!options.localFiles) {
        problems.push(
          new ValidationError(
            name,
            'local paths are not accepted here; send bytes, a URL or oss://',
          ),
        );
        continue;
      }
      const path = isAbsolute(source.path)
        ? source.path
        : resolve(options.localFiles.baseDir, source.path);
      binding.materials[field] = { kind: 'file', path };
    } else {
      if (source.kind === 'bytes') {
        // the header only, never a decode: a bomb is refused here, before anything is stored
        const limits = options.imageLimits ?? DEFAULT_IMAGE_LIMITS;
        if (!attempt(() => checkImageHeader(name, bufferReader(source.data), limits))) continue;
      }
      binding.materials[field] = toStoredSource(source);
    }
  }
  if (scheme !== undefined) {
    for (const need of requiredBy(scheme)) {
      const present =
        need === 'name' || need === 'idNumber'
          ? binding[need]
          : binding.materials[need as ImageField];
      const already = problems.some(
        (p) => p.field === `${prefix}Binding.${WIRE_NAME[need] ?? need}`,
      );
      if (present === undefined && !already) {
        problems.push(
          new ValidationError(
            `${prefix}Binding.${WIRE_NAME[need] ?? need}`,
            `is required by ${describeBiz(scheme)}`,
          ),
        );
      }
    }
    if (typeof scheme !== 'string') {
      // the financial family takes the face photo (ID_MIN) and nothing else
      for (const field of Object.keys(binding.materials)) {
        if (field === 'FacePic' && scheme.productCode === 'ID_MIN') continue;
        problems.push(
          new ValidationError(
            `${prefix}Binding.${field}`,
            `is not used by ${describeBiz(scheme)}${scheme.productCode === 'ID_MIN' ? ' (it takes FacePic only)' : " (the person takes their photo on the provider's page)"}`,
          ),
        );
      }
    } else if (flowOf(scheme) === 'interactive' && Object.keys(binding.materials).length > 0) {
      for (const [field, s] of Object.entries(binding.materials)) {
        if (s.kind === 'file' || s.kind === 'bytes') {
          problems.push(
            new ValidationError(
              `${prefix}Binding.${field}`,
              `${scheme} is an interactive scheme: give images as https URLs or oss:// references`,
            ),
          );
        }
      }
    }
  }
  const { callbackPolicy } = options;
  if (r.callbackUrl !== undefined && callbackPolicy !== undefined) {
    try {
      vetCallbackUrl(r.callbackUrl, callbackPolicy);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      const reason = err.message.slice(`${err.field}: `.length);
      problems.push(new ValidationError(`${prefix}callbackUrl`, reason));
    }
  }
  if (problems.length > 0) throw new TicketRejectedError(problems);
  return {
    ticketId: r.TicketId,
    biz: r.Biz,
    binding,
    ...(r.UserData === undefined ? {} : { userData: r.UserData }),
    ...(r.callbackUrl === undefined ? {} : { callbackUrl: r.callbackUrl }),
    ...(options.batchId === undefined ? {} : { batchId: options.batchId }),
  };
}
