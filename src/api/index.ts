/**
 * The frontend's one way to the server: the client, its errors, and the
 * TypeScript mirrors of the server's JSON.
 */
export * from './client';
export * from './contract';
export * from './errors';
export * from './types';
