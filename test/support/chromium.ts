/**
 * Debian's chromium for the browser tests (playwright-core drives it): where it is and how it is
 * started. Without it the suites fail: CI installs it (`.ci/run`).
 */
export const CHROMIUM = '/usr/bin/chromium';

/** Headless, no sandbox (a container), and nothing of its own reaching the network. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
