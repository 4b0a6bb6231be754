/** Debian's Chromium for the browser tests (driven by playwright-core; never a downloaded browser). */
export const CHROMIUM = '/usr/bin/chromium';

// The flags keep Chromium off the network (it is closed here; otherwise it retries many lookups).
export const LAUNCH = {
  executablePath: CHROMIUM,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};
