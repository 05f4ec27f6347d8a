/**
 * The followed notebook's endpoint keys: listed (without secrets), created,
 * revoked.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { ICreatedEndpointKey, IEndpointKey, RestifiedClient } from '../api';
import { ActiveNotebook } from './notebook';
import { IResource, LoadState } from './resource';

/**
 * Who made a key, as the list shows it: the display name, with the username
 * when it differs; "unknown" for a key made before keys recorded it.
 */
export function madeBy(key: Pick<IEndpointKey, 'creator'>): string {
  const creator = key.creator;
  if (!creator) {
    return 'unknown';
  }
  const shown = creator.display_name.trim();
  if (!shown || shown === creator.username) {
    return creator.username;
  }
  return `${shown} (${creator.username})`;
}

/**
 * This notebook's keys.
 */
export class EndpointKeys implements IResource {
  constructor(
    private readonly _client: RestifiedClient,
    private readonly _notebook: ActiveNotebook
  ) {}

  /**
   * Emitted when the list, its state or its error changes.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** This notebook's keys (without secrets); null until fetched. */
  get keys(): readonly IEndpointKey[] | null {
    return this._keys;
  }

  get state(): LoadState {
    return this._state;
  }

  get error(): string | null {
    return this._error;
  }

  /**
   * Forget the list (another notebook is followed).
   */
  clear(): void {
    this._keys = null;
    this._error = null;
    this._changed.emit();
  }

  /**
   * Fetch this notebook's keys again; an answer that a newer fetch overtook
   * is dropped.
   */
  async refresh(): Promise<void> {
    const path = this._notebook.path;
    const request = ++this._request;
    if (!path) {
      this._keys = null;
      this._error = null;
      this._state = 'idle';
      this._changed.emit();
      return;
    }
    this._state = 'loading';
    this._changed.emit();
    try {
      const keys = await this._client.listKeys(path);
      if (request !== this._request) {
        return;
      }
      this._keys = keys;
      this._error = null;
      this._state = 'ready';
    } catch (error) {
      if (request !== this._request) {
        return;
      }
      this._error = (error as Error).message;
      this._state = 'error';
    }
    this._changed.emit();
  }

  /**
   * Create a key for this notebook. The answer holds the secret: it is shown
   * once and never stored here.
   */
  async create(
    label: string,
    expires: string | null
  ): Promise<ICreatedEndpointKey> {
    const path = this._notebook.path;
    if (!path) {
      throw new Error('Open a notebook to share its endpoint.');
    }
    const created = await this._client.createKey({ path, label, expires });
    void this.refresh();
    return created;
  }

  /**
   * Revoke a key at once.
   */
  async revoke(id: string): Promise<void> {
    try {
      await this._client.revokeKey(id);
    } finally {
      void this.refresh();
    }
  }

  dispose(): void {
    Signal.clearData(this);
  }

  private _changed = new Signal<this, void>(this);
  private _keys: IEndpointKey[] | null = null;
  private _state: LoadState = 'idle';
  private _error: string | null = null;
  private _request = 0;
}
