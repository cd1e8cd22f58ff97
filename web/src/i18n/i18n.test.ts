import { beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '@/api/client';
import { en } from './en';
import { nl } from './nl';
import { errorText, loadLanguage, translate } from './index';

describe('i18n', () => {
  beforeAll(() => loadLanguage('nl'));

  it('has every English key in Dutch, none empty', () => {
    expect(Object.keys(nl).sort()).toEqual(Object.keys(en).sort());
    for (const [key, text] of Object.entries(nl)) expect(text.trim(), key).not.toBe('');
  });

  it("has every screen's own words in Dutch too, none empty, with the same placeholders, none also in en.ts", () => {
    type Table = { en: Record<string, string>; nl: Record<string, string> };
    const isTable = (v: unknown): v is Table =>
      typeof v === 'object' && v !== null && 'en' in v && 'nl' in v;
    const modules = import.meta.glob<Record<string, unknown>>(
      ['../**/strings.ts', '../**/*Strings.ts'],
      { eager: true },
    );
    // Every exported table of every strings module (most export `strings`; some more than one).
    const tables = Object.entries(modules).flatMap(([file, mod]) =>
      Object.entries(mod)
        .filter(([, v]) => isTable(v))
        .map(([name, v]) => [`${file} ${name}`, v as Table] as const),
    );
    expect(tables.length).toBeGreaterThan(10);
    const holes = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [file, strings] of tables) {
      expect(Object.keys(strings.nl).sort(), file).toEqual(Object.keys(strings.en).sort());
      for (const [key, text] of Object.entries(strings.en)) {
        const dutch = strings.nl[key] ?? '';
        expect(dutch.trim(), `${file} ${key}`).not.toBe('');
        expect(holes(dutch), `${file} ${key}`).toEqual(holes(text));
        if (key.includes('.')) expect(key in en, `${file} ${key} is in en.ts too`).toBe(false);
      }
    }
  });

  it('fills placeholders', () => {
    expect(translate('nl', 'feed.tip', { handle: 'ann', amount: 25 })).toBe('ann gaf 25 fooi');
  });

  it('shows a known API code in the chosen language, with the code', () => {
    const error = new ApiError(402, { code: 'INSUFFICIENT_FUNDS', message: 'not enough tokens: 3 < 5' });
    expect(errorText('nl', error)).toBe('Niet genoeg tokens. (INSUFFICIENT_FUNDS)');
    expect(errorText('en', error)).toBe('Not enough tokens. (INSUFFICIENT_FUNDS)');
  });

  it("falls back to the API's own message for a code it does not know", () => {
    const error = new ApiError(409, { code: 'SOMETHING_NEW', message: 'the API says why' });
    expect(errorText('nl', error)).toBe('the API says why (SOMETHING_NEW)');
  });
});
