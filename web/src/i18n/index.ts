/**
 * One i18n layer for every string: English and Dutch dictionaries with the same keys (the
 * Dutch one is typed against the English one, so a missing key fails the type-check).
 * `{name}` placeholders are filled from `vars`. API errors: `errors.<CODE>` when we have the
 * code in the chosen language, else the API's own `message`.
 */
import { useStore } from '@/store';
import { ApiError } from '@/api/client';
import { en, type Key } from './en';

export type Lang = 'en' | 'nl';
export type { Key };
export const LANGS: Lang[] = ['en', 'nl'];
// English is in the first chunk; another language is loaded once, when it is chosen (every
// route's JavaScript has a budget).
const dictionaries: Partial<Record<Lang, Record<Key, string>>> = { en };

/** Load ``lang``'s dictionary (before showing it: `setLang` after this resolves). */
export async function loadLanguage(lang: Lang): Promise<void> {
  if (dictionaries[lang]) return;
  if (lang === 'nl') dictionaries.nl = (await import('./nl')).nl;
}

export type Vars = Record<string, string | number>;

function fill(text: string, vars?: Vars): string {
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in vars ? String(vars[name]) : whole,
  );
}

export function translate(lang: Lang, key: Key, vars?: Vars): string {
  return fill(dictionaries[lang]?.[key] ?? en[key] ?? key, vars);
}

/** A screen's own strings (see `defineStrings`), both languages. */
export type Strings<K extends string> = { en: Record<K, string>; nl: Record<K, string> };

export type T = (key: Key, vars?: Vars) => string;
/** A translator for the shared keys and a screen's own ones. */
export type TWith<K extends string> = (key: Key | K, vars?: Vars) => string;

/** ``key`` from a screen's own ``strings`` when it is one of theirs, else from the shared
 * dictionaries. */
export function translateWith(
  strings: readonly (Strings<string> | undefined)[],
  lang: Lang,
  key: string,
  vars?: Vars,
): string {
  for (const own of strings) {
    if (own && Object.hasOwn(own.en, key)) return fill(own[lang][key] ?? own.en[key] ?? key, vars);
  }
  return translate(lang, key as Key, vars);
}

/** The translator for the chosen language. A screen whose strings live in its own chunk
 * passes them (`useT(strings)`, or two sets: `useT(strings, sharedStrings)`); their keys keep
 * their full names (`studio.title`), so moving a group out of the first chunk changes no call. */
export function useT<K extends string = never, L extends string = never>(
  strings?: Strings<K>,
  more?: Strings<L>,
): TWith<K | L> {
  const lang = useStore((s) => s.lang);
  return (key, vars) => translateWith([strings, more], lang, key, vars);
}

/** The words to show for an error: ours for a known code, the API's message otherwise. */
export function errorText(lang: Lang, error: unknown): string {
  if (error instanceof ApiError) {
    const key = `errors.${error.code}` as Key;
    const known = key in en;
    const text = known ? translate(lang, key, { retry: error.retryAfter ?? '' }) : error.message;
    return `${text} (${error.code})`;
  }
  return error instanceof Error ? error.message : String(error);
}

export function useErrorText(): (error: unknown) => string {
  const lang = useStore((s) => s.lang);
  return (error) => errorText(lang, error);
}

/** A screen's own strings, kept in its chunk (not in the first one, which every route pays
 * for): both languages, the Dutch typed against the English so a missing key fails the
 * type-check. The same placeholders and fallbacks as `translate`. */
export function defineStrings<const E extends Record<string, string>>(
  en: E,
  nl: Record<keyof E, string>,
): { en: E; nl: Record<keyof E, string> } {
  return { en, nl };
}

export function useStrings<K extends string>(strings: Strings<K>): (key: K, vars?: Vars) => string {
  const lang = useStore((s) => s.lang);
  return (key, vars) => fill(strings[lang][key] ?? strings.en[key] ?? key, vars);
}
