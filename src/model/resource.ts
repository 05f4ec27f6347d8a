/**
 * What every fetched part of the model has: a load state, a way to fetch it
 * again, and a signal (the panel's refresh buttons need no more).
 */
import { ISignal } from '@lumino/signaling';

/**
 * The state of a fetch.
 */
export type LoadState = 'idle' | 'loading' | 'ready' | 'error';

/**
 * Something fetched from the server, fetched again on demand.
 */
export interface IResource {
  /** Emitted whenever what it holds, or its state, changes. */
  readonly changed: ISignal<unknown, void>;
  readonly state: LoadState;
  refresh(): Promise<void>;
}
