/**
 * Jest runs the frontend's unit tests (src/__tests__/*.spec.ts) in Node with
 * ts-jest, type-checked against tsconfig.test.json (which, unlike the build's
 * tsconfig.json, includes the tests).
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  testRegex: 'src/__tests__/.*\\.spec\\.tsx?$',
  // The page's modules import with `.js` (plain ES modules in the browser).
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  }
};
