/**
 * The panel speed benchmark (`jlpm test:benchmark`): the main configuration,
 * on the benchmark folder, which the default `jlpm test` does not run.
 */
const config = require('./playwright.config');

module.exports = {
  ...config,
  testDir: './benchmark',
  retries: 0,
  timeout: 15 * 60 * 1000
};
