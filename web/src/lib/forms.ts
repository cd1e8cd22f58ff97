import type { FieldError as RhfError, FieldValues, Path, UseFormSetError } from 'react-hook-form';
import { ApiError } from '@/api/client';

const API = 'API:';

/**
 * Put the API's field errors next to their fields: VALIDATION_ERROR's `meta.errors`, or a code
 * that is about one field (`codeFields`, e.g. UNDERAGE → dateOfBirth). Messages from the API
 * are marked so `fieldMessage` shows them verbatim. Returns false when the error names no field
 * (the form shows it at the top instead).
 */
export function applyFieldErrors<F extends FieldValues>(
  error: ApiError,
  setError: UseFormSetError<F>,
  errorText: (e: unknown) => string,
  codeFields: Partial<Record<string, Path<F>>> = {},
): boolean {
  const fields = error.fields.filter((f) => f.field);
  if (fields.length) {
    for (const f of fields) {
      const name = f.field.split('.').pop() as Path<F>;
      setError(name, { message: `${API}${f.message}` });
    }
    return true;
  }
  const field = codeFields[error.code];
  if (field) {
    setError(field, { message: `${API}${errorText(error)}` });
    return true;
  }
  return false;
}

/** The text under a field: the API's words when it gave them, else our own `fallback`. */
export function fieldMessage(error: RhfError | undefined, fallback: string): string | undefined {
  if (!error) return undefined;
  return error.message?.startsWith(API) ? error.message.slice(API.length) : fallback;
}
