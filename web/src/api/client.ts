/**
 * The typed API client: openapi-fetch over the types generated from /api/v1/openapi.json
 * (src/api/schema.d.ts, regenerated and compared by the test command). Every screen calls the
 * API through `api` (paths are checked by TypeScript) and unwraps with `data()`, which turns
 * the error envelope into an `ApiError`.
 */
import createClient from 'openapi-fetch';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];

// fetch looked up at call time (tests replace it).
export const api = createClient<paths>({
  baseUrl: globalThis.location?.origin ?? '',
  credentials: 'same-origin',
  fetch: (request: Request) => globalThis.fetch(request),
});

export interface FieldError {
  field: string;
  message: string;
}

/** The API's error envelope as an exception: `code` is stable, `message` is the API's words. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly meta: Record<string, unknown>;
  readonly retryAfter: number | undefined;
  readonly requestId: string | undefined;

  constructor(status: number, body: Partial<Envelope> | undefined) {
    super(body?.message ?? `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = body?.code ?? (status === 0 ? 'NETWORK_ERROR' : `HTTP_${status}`);
    this.meta = (body?.meta as Record<string, unknown> | undefined) ?? {};
    this.retryAfter = body?.retryAfter ?? undefined;
    this.requestId = body?.requestId ?? undefined;
  }

  /** Validation errors per field (`meta.errors` of VALIDATION_ERROR). */
  get fields(): FieldError[] {
    const errors = this.meta.errors;
    return Array.isArray(errors) ? (errors as FieldError[]) : [];
  }
}

interface Envelope {
  status: 'error';
  code: string;
  message: string;
  requestId: string;
  retryAfter?: number;
  meta: Record<string, unknown>;
}

type Result<T> = { data?: T; error?: unknown; response: Response };

/** The `data` of a successful answer; throws `ApiError` for the envelope (or a lost network). */
export async function data<T>(call: Promise<Result<T>>): Promise<T extends { data: infer D } ? D : T> {
  let result: Result<T>;
  try {
    result = await call;
  } catch {
    throw new ApiError(0, { message: 'The server could not be reached.' });
  }
  if (result.error !== undefined || !result.response.ok) {
    throw new ApiError(result.response.status, result.error as Partial<Envelope> | undefined);
  }
  const body = result.data as { data?: unknown } | undefined;
  return (body && typeof body === 'object' && 'data' in body ? body.data : body) as never;
}

/** A fresh idempotency key for one money call (retries of that call reuse it). */
export function idempotencyKey(): string {
  return crypto.randomUUID();
}

/** A whole successful body (lists: `{data, nextCursor}`); throws `ApiError` like `data()`. */
export async function body<T>(call: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await call;
  } catch {
    throw new ApiError(0, { message: 'The server could not be reached.' });
  }
  if (result.error !== undefined || !result.response.ok) {
    throw new ApiError(result.response.status, result.error as Partial<Envelope> | undefined);
  }
  return result.data as T;
}
