/**
 * The official SDK's client class, unwrapped once. Node's ESM loader gives module.exports as the
 * default import; vitest unwraps it to `.default`.
 *
 * A module of its own so that no shipped declaration names the SDK's types: a consumer's
 * type-check then never loads `@alicloud/cloudauth20190307`'s declarations (and through them
 * `@darabonba/typescript`'s, which since 1.0.5 reference `ws` without depending on `@types/ws`).
 */
import CloudauthModule from '@alicloud/cloudauth20190307';

const loaded: unknown = CloudauthModule;

export const SdkClientClass = (
  typeof loaded === 'function' ? loaded : CloudauthModule.default
) as typeof CloudauthModule.default;

export type SdkClient = InstanceType<typeof CloudauthModule.default>;
