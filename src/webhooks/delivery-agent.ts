/**
 * The HTTP client of deliveries: an undici `Agent` whose sockets connect only to vetted addresses.
 * Each new connection resolves its host once, through the policy's resolver; every address of the
 * answer is vetted, and the first is handed to the socket as it is: nothing resolves the name a
 * second time, so a resolver that answers a public address and then a loopback one (DNS
 * rebinding) cannot steer the connection. The URL is unchanged, so the Host header and the TLS
 * server name (SNI, certificate check) stay the URL's host. Redirects are never followed (undici's
 * `request` has no redirect handling unless an interceptor adds it).
 */
import type { LookupAddress, LookupOptions } from 'node:dns';
import { Agent } from 'undici';
import {
  resolveCallbackHost,
  systemLookup,
  type CallbackPolicy,
  type HostLookup,
} from './allowlist.js';

/** `net.connect`'s `lookup` option. */
export type SocketLookup = (
  hostname: string,
  options: LookupOptions,
  callback: (
    err: NodeJS.ErrnoException | null,
    address: string | LookupAddress[],
    family?: number,
  ) => void,
) => void;

/**
 * A socket `lookup` that answers the one vetted address of `hostname` (see
 * {@link resolveCallbackHost}), or fails with its refusal (a `ValidationError` on `callbackUrl`, or
 * `WEBHOOK_HOST_UNRESOLVED`), which the request then rejects with.
 */
export function vettingLookup(policy: CallbackPolicy, lookup: HostLookup): SocketLookup {
  return (hostname, options, callback) => {
    resolveCallbackHost(hostname, policy, lookup).then(
      ({ address, family }) => {
        if (options.all === true) callback(null, [{ address, family }]);
        else callback(null, address, family);
      },
      (err: unknown) => callback(err as NodeJS.ErrnoException, ''),
    );
  };
}

export interface DeliveryAgentOptions {
  policy: CallbackPolicy;
  /** The resolver; default the system's (`getaddrinfo`). */
  lookup?: HostLookup | undefined;
  /** Longest wait for a connection (TCP and TLS), in ms. */
  connectTimeoutMs: number;
}

/** The dispatcher of deliveries (see the module comment). Close it after the worker. */
export function createDeliveryAgent(options: DeliveryAgentOptions): Agent {
  return new Agent({
    connect: {
      lookup: vettingLookup(options.policy, options.lookup ?? systemLookup),
      timeout: options.connectTimeoutMs,
    },
  });
}
