/**
 * Re-render a React component when any of the given signals emits: how a
 * widget subscribes to just the model parts it shows.
 */
import { ISignal } from '@lumino/signaling';
import * as React from 'react';

export function useSignals(...signals: ISignal<unknown, unknown>[]): void {
  const [, rerender] = React.useReducer((count: number) => count + 1, 0);
  // A layout effect connects in the same task as the render that read the
  // state, so no emission falls between the two.
  React.useLayoutEffect(() => {
    const slot = (): void => rerender();
    for (const signal of signals) {
      signal.connect(slot);
    }
    return () => {
      for (const signal of signals) {
        signal.disconnect(slot);
      }
    };
  }, signals);
}
