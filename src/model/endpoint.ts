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
import { ISpecContent } from '../core/specContent';
import { ActiveNotebook } from './notebook';
import { IResource, LoadState } from './resource';

/**
 * The followed notebook's endpoint, as the server reads the saved file.
 */
export class EndpointResource implements IResource {
  /**
   * @param savedKey - the `specKey` of what the followed notebook's endpoint
   *   runs (as last loaded or saved), null while unknown.
   */
  constructor(
    private readonly _client: RestifiedClient,
    private readonly _notebook: ActiveNotebook,
    private readonly _savedKey: () => string | null
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
   * Another notebook is followed (or it is loaded): show at once the spec of
   * its saved content if that content was seen before (the next fetch checks
   * it); the state stays until that fetch.
   */
  clear(): void {
    const path = this._notebook.path;
    const key = path ? this._savedKey() : null;
    this._spec = (path && key && this._cache.get(cacheKey(path, key))) || null;
    this._error = null;
    this._changed.emit();
  }

  /**
   * The followed notebook is being saved with `content` (its `specKey` is
   * `key`): show the spec of what the save writes, without waiting for the
   * save: from the cache, else from `POST spec/<path>`, which reads only that
   * part of the notebook.
   */
  async saving(content: ISpecContent, key: string): Promise<void> {
    const path = this._notebook.path;
    if (!path) {
      return;
    }
    const request = ++this._request;
    const cached = this._cache.get(cacheKey(path, key));
    if (cached) {
      this._settle(path, key, cached, null);
      return;
    }
    this._state = 'loading';
    this._changed.emit();
    try {
      const spec = await this._specOf(path, content, key);
      if (request === this._request) {
        this._settle(path, key, spec, null);
      }
    } catch (error) {
      if (request === this._request) {
        this._settle(path, key, null, error);
      }
    }
  }

  /**
   * Fetch the saved notebook's spec again; an answer that a newer fetch
   * overtook is dropped.
   */
  /**
   * Ask ahead for the spec of the followed notebook's unsaved `content`
   * (whose `specKey` is `key`), and keep it: a save of it then shows it at
   * once. Nothing is shown; an error is dropped (the save asks again).
   */
  async prefetch(content: ISpecContent, key: string): Promise<void> {
    const path = this._notebook.path;
    if (!path || this._cache.has(cacheKey(path, key))) {
      return;
    }
    try {
      await this._specOf(path, content, key);
    } catch {
      // Asked again when saved.
    }
  }

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
    // The saved file's content, as far as known here.
    const key = this._savedKey();
    this._state = 'loading';
    this._changed.emit();
    try {
      const spec = await this._client.getSpec(path);
      if (request === this._request) {
        this._settle(path, key, spec, null);
      }
    } catch (error) {
      if (request === this._request) {
        this._settle(path, key, null, error);
      }
    }
  }

  dispose(): void {
    Signal.clearData(this);
  }

  /**
   * `POST spec/<path>` of `content`, kept under its key; one request for a
   * content asked for again while it is under way.
   */
  private _specOf(
    path: string,
    content: ISpecContent,
    key: string
  ): Promise<IEndpointSpec> {
    const where = cacheKey(path, key);
    let asked = this._asked.get(where);
    if (!asked) {
      asked = this._client.postSpec(path, content);
      this._asked.set(where, asked);
      asked
        .then(
          spec => this._remember(where, spec),
          () => undefined
        )
        .finally(() => this._asked.delete(where));
    }
    return asked;
  }

  /**
   * The answer for `path` whose content's key is `key` (null: unknown):
   * shown, and the spec kept under its key.
   */
  private _settle(
    path: string,
    key: string | null,
    spec: IEndpointSpec | null,
    error: unknown
  ): void {
    this._spec = spec;
    this._error = spec ? null : requestProblem(error);
    this._state = spec ? 'ready' : 'error';
    // Kept only when the content is still the one asked about.
    if (key !== null && key === this._savedKey()) {
      if (spec) {
        this._remember(cacheKey(path, key), spec);
      } else {
        this._cache.delete(cacheKey(path, key));
      }
    }
    this._changed.emit();
  }

  /** Keep the specs of the most recently seen notebook contents. */
  private _remember(key: string, spec: IEndpointSpec): void {
    this._cache.delete(key);
    this._cache.set(key, spec);
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
  /**
   * Specs by path and content key (`cacheKey`): shown at once when a notebook
   * is followed again, or saved as it was before.
   */
  private _cache = new Map<string, IEndpointSpec>();
  /** `POST spec` requests under way, by `cacheKey`. */
  private _asked = new Map<string, Promise<IEndpointSpec>>();
}

/**
 * How many specs (of a notebook path and content) are kept.
 */
const SPEC_CACHE_SIZE = 64;

/**
 * Where the spec of `path` with content key `key` is kept.
 */
function cacheKey(path: string, key: string): string {
  return `${key} ${path}`;
}
