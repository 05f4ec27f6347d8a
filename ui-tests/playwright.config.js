/**
 * Playwright configuration for the notebook-restified Galata tests.
 *
 * Extends galata's defaults; drives Debian's chromium (/usr/bin/chromium)
 * instead of a Playwright-downloaded browser, and starts the Jupyter server
 * itself (`jlpm start`, port 8888).
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic'
];

module.exports = {
  ...baseConfig,
  testDir: './tests',
  // One worker: every test shares the same Jupyter server, and the test
  // machines have 2 cores.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: process.env.CI ? 1 : 0,
  timeout: 90 * 1000,
  expect: { timeout: 15 * 1000 },
  reporter: [['list'], ['html', { open: 'never' }]],
  use: {
    ...baseConfig.use,
    browserName: 'chromium',
    baseURL: 'http://localhost:8888',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: CHROMIUM_ARGS
    },
    // Video recording needs Playwright's own ffmpeg, which is not installed.
    video: 'off',
    // Traces need no ffmpeg.
    trace: 'retain-on-failure'
  },
  webServer: {
    command: 'jlpm start',
    url: 'http://localhost:8888/lab',
    timeout: 180 * 1000,
    reuseExistingServer: !process.env.CI,
    // Stop JupyterLab as Ctrl-C would, so the server extension stops its kernels and
    // removes their sockets (a kill would leave them behind).
    gracefulShutdown: { signal: 'SIGTERM', timeout: 15 * 1000 }
  }
};
