/**
 * `GET /api/restified/status`.
 */
export interface IServerStatus {
  version: string;
  config: Record<string, unknown>;
}
