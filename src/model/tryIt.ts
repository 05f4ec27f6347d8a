/**
 * Try-it: the form made from the endpoint's typed parameters, the call in
 * flight, and its answer. Lives outside the widget so the call and the answer
 * outlast a re-render; starts over for another notebook.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { IEndpointResponse, IParameter, IRun, RestifiedClient } from '../api';
import {
  IFieldInput,
  IFormReading,
  initialInput,
  readForm
} from '../core/form';

/**
 * What the user entered, by parameter name.
 */
export type FormInputs = Record<string, IFieldInput>;

/**
 * The try-it form of the followed notebook's endpoint.
 */
export class TryItState {
  constructor(private readonly _client: RestifiedClient) {}

  /**
   * Emitted when the fields, the call's progress or its answer change.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * Emitted with the run a background call started.
   */
  get runStarted(): ISignal<this, IRun> {
    return this._runStarted;
  }

  /** Whether Send runs in the background (`Prefer: respond-async`). */
  get background(): boolean {
    return this._background;
  }

  set background(value: boolean) {
    if (value !== this._background) {
      this._background = value;
      this._changed.emit();
    }
  }

  /** The run the last background call started. */
  get run(): IRun | null {
    return this._run;
  }

  /** The declared parameters the form is for. */
  get parameters(): readonly IParameter[] {
    return this._parameters;
  }

  get inputs(): Readonly<FormInputs> {
    return this._inputs;
  }

  /** The values to send, and the problems by name, as the form is filled. */
  get form(): IFormReading {
    return readForm(this._parameters, this._inputs);
  }

  /** Whether a call is in flight. */
  get running(): boolean {
    return this._abort !== null;
  }

  /** The last call's answer (an HTTP error included). */
  get response(): IEndpointResponse | null {
    return this._response;
  }

  /** Why the last call got no answer. */
  get failure(): string | null {
    return this._failure;
  }

  /**
   * The parameters to fill in. The form starts over only when they change
   * (name, type or default), not on every fetch of the same spec.
   */
  setParameters(parameters: readonly IParameter[]): void {
    const signature = JSON.stringify(
      parameters.map(p => [
        p.name,
        p.type,
        p.default,
        p.defaultText,
        p.nullable,
        p.schema
      ])
    );
    this._parameters = parameters;
    if (signature === this._signature) {
      return;
    }
    this._signature = signature;
    this._inputs = initialInputs(parameters);
    this._changed.emit();
  }

  /**
   * The notebook whose endpoint is called (null: none). For another path
   * everything starts over, and a call in flight is cancelled.
   */
  setPath(path: string | null): void {
    if (path === this._path) {
      return;
    }
    this._path = path;
    this._abort?.abort();
    this._abort = null;
    this._inputs = initialInputs(this._parameters);
    this._response = null;
    this._failure = null;
    this._run = null;
    this._changed.emit();
  }

  /**
   * The user changed a field.
   */
  update(name: string, change: Partial<IFieldInput>): void {
    this._inputs = {
      ...this._inputs,
      [name]: { ...this._inputs[name], ...change, touched: true }
    };
    this._changed.emit();
  }

  /**
   * Call the endpoint with the form's values, unless a field is wrong or a
   * call is in flight.
   */
  async send(): Promise<void> {
    const path = this._path;
    const { values, files, problems } = this.form;
    if (!path || Object.keys(problems).length > 0 || this.running) {
      return;
    }
    const controller = new AbortController();
    this._abort = controller;
    this._failure = null;
    this._changed.emit();
    try {
      const background = this._background;
      const answer = await this._client.callEndpoint(path, {
        values,
        files,
        signal: controller.signal,
        background
      });
      if (this._abort === controller) {
        this._response = answer;
        this._run = null;
        if (
          background &&
          answer.status === 202 &&
          answer.body.kind === 'json'
        ) {
          this._run = answer.body.value as unknown as IRun;
          this._runStarted.emit(this._run);
        }
      }
    } catch (error) {
      if (this._abort === controller) {
        this._response = null;
        // Not the error's name: ServerConnection wraps the fetch's AbortError
        // in a NetworkError.
        this._failure = controller.signal.aborted
          ? 'Cancelled.'
          : (error as Error).message;
      }
    } finally {
      // Not when the form started over meanwhile: the call is not its own.
      if (this._abort === controller) {
        this._abort = null;
        this._changed.emit();
      }
    }
  }

  /**
   * Cancel the call in flight (on the server too).
   */
  cancel(): void {
    this._abort?.abort();
  }

  dispose(): void {
    this._abort?.abort();
    this._abort = null;
    Signal.clearData(this);
  }

  private _changed = new Signal<this, void>(this);
  private _runStarted = new Signal<this, IRun>(this);
  private _background = false;
  private _run: IRun | null = null;
  private _parameters: readonly IParameter[] = [];
  private _signature = '[]';
  private _inputs: FormInputs = {};
  private _path: string | null = null;
  private _abort: AbortController | null = null;
  private _response: IEndpointResponse | null = null;
  private _failure: string | null = null;
}

function initialInputs(parameters: readonly IParameter[]): FormInputs {
  const inputs: FormInputs = {};
  for (const parameter of parameters) {
    inputs[parameter.name] = initialInput(parameter);
  }
  return inputs;
}
