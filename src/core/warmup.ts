/**
 * The declared warm-up (`metadata.restified.warmup`): what the notebook says,
 * the metadata a switch writes, and what the saved spec says of it.
 */

/**
 * What `metadata.restified.warmup` declares: `defaults` (true), `list` (a
 * list of parameter objects) or `none` (absent, false, or anything else).
 */
export type WarmupDeclared = 'defaults' | 'list' | 'none';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * What the notebook's `restified` metadata declares as its warm-up.
 */
export function readWarmup(restified: unknown): WarmupDeclared {
  if (!isObject(restified)) {
    return 'none';
  }
  const warmup = restified.warmup;
  if (warmup === true) {
    return 'defaults';
  }
  return Array.isArray(warmup) ? 'list' : 'none';
}

/**
 * The notebook's `restified` metadata with `warmup` set to `on`: the other
 * keys (`isolation`, ...) are kept as they are. A new object; the input is
 * not changed.
 */
export function withWarmup(
  restified: unknown,
  on: boolean
): Record<string, unknown> {
  const kept = isObject(restified) ? restified : {};
  return { ...kept, warmup: on };
}

/**
 * The state of the warm-up in the kernel serving the saved version
 * (`warmup_state` of the spec route).
 */
export interface IWarmupState {
  runs: number;
  done: number;
  /**
   * What it runs on: setup's own objects, or deep copies of them (it changed
   * them, or they cannot be compared).
   */
  on?: 'setup' | 'copies';
  error?: { type: string; message: string };
}

/**
 * One line on the saved version's warm-up, from the spec route's `warmup`
 * (the runs it declares) and `warmup_state` (null: not warm yet).
 */
export function describeWarmup(
  runs: unknown[] | undefined,
  state: IWarmupState | null | undefined
): string {
  const count = runs?.length ?? 0;
  if (count === 0) {
    return 'Saved version: no warm-up; each call starts from the state after setup.';
  }
  const what =
    count === 1 ? 'one run of the body' : `${count} runs of the body`;
  if (!state) {
    return `Saved version: ${what} after setup, when its kernel warms.`;
  }
  if (state.error) {
    return `Saved version: the warm-up failed (${state.error.message}); calls run without it.`;
  }
  const done = `done (${state.done} of ${state.runs})`;
  if (state.on === 'copies') {
    return `Saved version: ${what} after setup, ${done} on copies of setup's values (it changes them, or they cannot be compared), so caches kept on those values stay cold.`;
  }
  return `Saved version: ${what} after setup, ${done}.`;
}
