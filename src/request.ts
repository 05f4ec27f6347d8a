import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/**
 * An error answered by the server, carrying the contract's JSON error body.
 */
export class RestifiedRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown
  ) {
    super(message);
    this.name = 'RestifiedRequestError';
  }
}

/**
 * The one place the frontend calls the server extension.
 *
 * @param endPoint path under `<baseUrl>/api/restified/`
 * @param init fetch options
 * @returns the parsed JSON body
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'api', 'restified', endPoint);

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }

  const text = await response.text();
  let data: unknown = text;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      // Not JSON: keep the text for the error message.
    }
  }
  if (!response.ok) {
    throw new RestifiedRequestError(
      response.status,
      errorMessage(data) ?? `${response.status} ${response.statusText}`,
      data
    );
  }
  return data as T;
}

function errorMessage(data: unknown): string | undefined {
  if (typeof data === 'object' && data !== null) {
    const { error, message } = data as {
      error?: { message?: string };
      message?: string;
    };
    return error?.message ?? message;
  }
  return typeof data === 'string' && data ? data : undefined;
}
