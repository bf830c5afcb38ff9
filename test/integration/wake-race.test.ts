/**
 * A wake never gets lost: the person's start page hands in MetaInfo (and wakes the ticket) in the
 * worst moment, after the worker's first read of a financial ID_PRO ticket and before it takes the
 * wake flag. The run must answer that wake from a fresh read, not wait (delayed) until the start
 * link's end, days away. The race is made exact by a store whose `consumeWake` first lets the
 * person's POST through (the real HTTP API, the real store underneath).
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { Cloudauth2019Client } from '../../src/adapters/cloudauth/client-2019.js';
import { CloudauthFinancialProvider } from '../../src/adapters/cloudauth/provider-financial.js';
import { RoutingProvider } from '../../src/adapters/cloudauth/routing-provider.js';
import type { TicketStore } from '../../src/adapters/redis/ticket-store.js';
import { TEST_KEY_ID, TEST_KEY_SECRET } from '../support/emulator.js';
import { startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';
import { testProcessor, testWorker, type Cleanups } from '../support/processor.js';

const TOKEN = 'wake-race-test-token-0123456789ab';
let o: TestOrchestrator;
const cleanups: Cleanups = [];

beforeAll(async () => {
  o = await startTestOrchestrator({
    workers: false,
    http: true,
    env: { API_TOKENS: TOKEN, CLOUDAUTH_BIZ: 'FaceH5=financial:ID_PRO:1000000006' },
  });
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await o.close();
});

it('answers a start that lands between the first read and the wake flag at once', async () => {
  const created = await fetch(`${o.app.apiUrl}/v1/tickets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      TicketId: 'race-1',
      Biz: 'FaceH5',
      Binding: { Name: '李三', IdentificationNumber: '11010519491231002X' },
    }),
  });
  const { startUrl } = (await created.json()) as { startUrl: string };
  let raced = 0;
  const real = o.app.store;
  const consumeWake = async (ticketId: string) => {
    if (raced++ === 0) {
      const posted = await fetch(startUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ metaInfo: '{"deviceType":"h5"}' }),
      });
      expect(posted.status).toBe(202);
    }
    return real.consumeWake(ticketId);
  };
  // the real store, its consumeWake preceded by the person's POST the first time
  const store = new Proxy(real, {
    get(target, prop) {
      if (prop === 'consumeWake') return consumeWake;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  }) as TicketStore;
  const client = new Cloudauth2019Client({
    endpoint: o.emu.cloudauth.url,
    accessKeyId: TEST_KEY_ID,
    accessKeySecret: TEST_KEY_SECRET,
    timeoutMs: 5000,
  });
  const provider = new RoutingProvider({
    financial: new CloudauthFinancialProvider({
      client,
      catalogue: o.app.config.cloudauth.biz,
      links: o.app.links,
    }),
  });
  testWorker(o, cleanups, testProcessor(o, cleanups, { store, provider }));
  // InitFaceVerify within the test's timeout, not at the start link's end (7 days)
  const t = await o.waitFor('race-1', (x) => x.state === 'awaiting_user');
  expect(t.startedAt).toBeDefined();
  expect(t.lease?.pageUrl).toMatch(/\/face-verify\//);
  expect(raced).toBeGreaterThan(0);
});
