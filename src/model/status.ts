/**
 * The server extension's status: its version, or why it is unavailable.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { IServerStatus, RestifiedClient } from '../api';

/**
 * What `GET /api/restified/status` last answered.
 */
export class ServerStatus {
  constructor(private readonly _client: RestifiedClient) {}

  /**
   * Emitted after each fetch.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get status(): IServerStatus | null {
    return this._status;
  }

  get error(): string | null {
    return this._error;
  }

  /**
   * Fetch the server extension's status again.
   */
  async refresh(): Promise<void> {
    try {
      this._status = await this._client.getStatus();
      this._error = null;
    } catch (error) {
      this._status = null;
      this._error = (error as Error).message;
    }
    this._changed.emit();
  }

  dispose(): void {
    Signal.clearData(this);
  }

  private _changed = new Signal<this, void>(this);
  private _status: IServerStatus | null = null;
  private _error: string | null = null;
}
