/**
 * The endpoint resource: the spec the server makes of the saved notebook.
 */
import { ISignal, Signal } from '@lumino/signaling';

import {
  IEndpointSpec,
  IRequestProblem,
  requestProblem,
  RestifiedClient
} from '../api';
import { ActiveNotebook } from './notebook';
import { IResource, LoadState } from './resource';

/**
 * The followed notebook's endpoint, as the server reads the saved file.
 */
export class EndpointResource implements IResource {
  constructor(
    private readonly _client: RestifiedClient,
    private readonly _notebook: ActiveNotebook
  ) {}

  /**
   * Emitted when the spec, its state or its error changes.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The saved notebook's spec; kept while a new one loads. */
  get spec(): IEndpointSpec | null {
    return this._spec;
  }

  get state(): LoadState {
    return this._state;
  }

  /** Why there is no spec: the server's error, condensed. */
  get error(): IRequestProblem | null {
    return this._error;
  }

  /** The endpoint's full URL: the server's word for it, else built here. */
  get url(): string | null {
    const path = this._notebook.path;
    if (!path) {
      return null;
    }
    return this._spec?.path === path
      ? this._spec.url
      : this._client.endpointUrl(path);
  }

  /** The URL of the endpoint's OpenAPI document. */
  openapiUrl(path: string): string {
    return this._client.openapiUrl(path);
  }

  /**
   * Another notebook is followed: show the spec last fetched for it, if any,
   * at once (the next fetch checks it); the state stays until that fetch.
   */
  clear(): void {
    const path = this._notebook.path;
    this._spec = (path && this._cache.get(path)) || null;
    this._error = null;
    this._changed.emit();
  }

  /**
   * Fetch the saved notebook's spec again; an answer that a newer fetch
   * overtook is dropped.
   */
  async refresh(): Promise<void> {
    const path = this._notebook.path;
    const request = ++this._request;
    if (!path) {
      this._spec = null;
      this._error = null;
      this._state = 'idle';
      this._changed.emit();
      return;
    }
    this._state = 'loading';
    this._changed.emit();
    try {
      const spec = await this._client.getSpec(path);
      if (request !== this._request) {
        return;
      }
      this._spec = spec;
      this._error = null;
      this._state = 'ready';
      this._remember(path, spec);
    } catch (error) {
      if (request !== this._request) {
        return;
      }
      this._spec = null;
      this._error = requestProblem(error);
      this._state = 'error';
      this._cache.delete(path);
    }
    this._changed.emit();
  }

  dispose(): void {
    Signal.clearData(this);
  }

  /** Keep the last spec of the most recently fetched notebooks. */
  private _remember(path: string, spec: IEndpointSpec): void {
    this._cache.delete(path);
    this._cache.set(path, spec);
    if (this._cache.size > SPEC_CACHE_SIZE) {
      const oldest = this._cache.keys().next().value;
      if (oldest !== undefined) {
        this._cache.delete(oldest);
      }
    }
  }

  private _changed = new Signal<this, void>(this);
  private _spec: IEndpointSpec | null = null;
  private _state: LoadState = 'idle';
  private _error: IRequestProblem | null = null;
  private _request = 0;
  /** The last spec fetched, by path: shown at once when a notebook is followed again. */
  private _cache = new Map<string, IEndpointSpec>();
}

/**
 * How many notebooks' specs are kept for switching back to them.
 */
const SPEC_CACHE_SIZE = 32;
