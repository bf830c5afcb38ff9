/**
 * The `all` role (`npm start`): the orchestrator on the configured (or embedded) defaults in one
 * process: the HTTP API, ticket workers, the emulators in process where no Cloudauth endpoint is
 * configured, and a local redis-server where REDIS_URL is unset and nothing answers on
 * 127.0.0.1:6379. On the embedded emulators it drives one demo ticket to its verdict, then serves
 * until SIGINT/SIGTERM.
 */
import { startApp, type App } from '../app.js';
import type { Config } from '../config.js';
import { runDemoTicket, startDemoLink } from '../demo.js';
import { ensureEmbeddedRedis } from '../embedded-redis.js';
import type { Logger } from '../logger.js';
import type { Tracing } from '../ops/tracing.js';
import { releaseInReverse } from '../process.js';
import type { RunningRole } from './roles.js';

/** Starts everything in this process. */
export async function startAll(
  loaded: Config,
  logger: Logger,
  tracing?: Tracing,
): Promise<RunningRole> {
  const releasers: (() => Promise<unknown> | void)[] = [];
  const close = () => releaseInReverse(releasers);
  try {
    const redis =
      loaded.mode === 'embedded' &&
      loaded.redisUrl === undefined &&
      loaded.redis.sentinels === undefined &&
      loaded.redis.clusterNodes === undefined
        ? await ensureEmbeddedRedis('data', logger)
        : undefined;
    if (redis?.stop) releasers.push(redis.stop);
    const config = redis ? { ...loaded, redisUrl: redis.url } : loaded;
    const app: App = await startApp(config, logger, {
      embedEmulators: true,
      workers: true,
      http: true,
      tracing,
    });
    releasers.push(() => app.close());
    process.stdout.write(
      [
        '',
        `  HTTP API                             ${app.apiUrl ?? '(off)'}   (OpenAPI at /openapi.json)`,
        ...(app.apiTokenFile
          ? [
              `  API token                            in ${app.apiTokenFile}, e.g.`,
              `    curl -H "Authorization: Bearer $(cat ${app.apiTokenFile})" ${app.apiUrl ?? ''}/v1/tickets`,
            ]
          : []),
        '',
      ].join('\n') + '\n',
    );
    const serverBiz = Object.entries(config.cloudauth.biz).find(([, s]) => s === 'RPMin')?.[0];
    if (app.emulators && serverBiz !== undefined) {
      await runDemoTicket(app, serverBiz, logger);
      const browserBiz = Object.entries(config.cloudauth.biz).find(
        ([, p]) => typeof p !== 'string' && p.productCode === 'ID_PRO',
      )?.[0];
      if (browserBiz !== undefined) {
        const link = await startDemoLink(app, browserBiz, logger);
        process.stdout.write(
          [
            '',
            `  Financial-grade browser flow (${browserBiz}): open this start link in a browser`,
            `    ${link}`,
            '',
          ].join('\n') + '\n',
        );
      }
      logger.info('workers running; the emulators keep serving (Ctrl-C to stop)');
    } else {
      logger.info({ mode: config.mode }, 'workers running');
    }
    return { logger, opsUrl: app.apiUrl ?? '', close };
  } catch (err) {
    await close();
    throw err;
  }
}
