import { beforeAll, describe, expect, it } from 'vitest';
import { loadLanguage, translateWith, type Key, type Vars } from '@/i18n';
import { explain } from './goLiveHelp';
import { strings } from './strings';

type K = Key | keyof typeof strings.en;
const en = (key: K, vars?: Vars) => translateWith([strings], 'en', key, vars);
const nl = (key: K, vars?: Vars) => translateWith([strings], 'nl', key, vars);
const BARE_STATUS = /\b(HTTP|[45]\d\d)\b/;
// Every refusal of WHIP POST and the publish grant (tests/e2e/test_studio_refusals.py lists
// them from the server's error classes).
const CODES = [
  'INVALID_PUBLISH_TOKEN', 'STREAM_NOT_FOUND', 'STREAM_ALREADY_LIVE', 'INVALID_SDP', 'SDP_NO_VIDEO',
  'NO_COMMON_CODEC', 'UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE', 'ACCOUNT_SUSPENDED', 'ACCOUNT_BANNED',
  'STREAM_FROZEN', 'PERFORMER_NOT_VERIFIED', 'CONSENT_REQUIRED', 'NOT_STREAM_OWNER',
];

describe('go-live refusals in a creator\'s words', () => {
  beforeAll(() => loadLanguage('nl'));

  it.each(CODES)('%s has its own words and a link, in English and Dutch', (code) => {
    for (const t of [en, nl]) {
      const fallback = explain('SOMETHING_NEW', { status: 403, message: 'm' }, {}, t).text;
      for (const ctx of [{ signedIn: false }, { signedIn: true, handle: 'me', identity: 'none' as const }]) {
        const help = explain(code, { status: 400, message: 'm', meta: { performers: ['me'] } }, { streamId: 'x', ...ctx }, t);
        expect(help.text).not.toBe(fallback);
        expect(help.href && help.label).toBeTruthy();
        expect(help.text).not.toMatch(BARE_STATUS);
      }
    }
  });

  it('names whom to sign in as, and what a reviewed identity still waits for', () => {
    const meta = { performers: ['ann', 'bob'] };
    expect(explain('PERFORMER_NOT_VERIFIED', { meta }, { signedIn: false }, en).text).toContain('Sign in as @ann, @bob');
    const pending = explain('PERFORMER_NOT_VERIFIED', { meta }, { signedIn: true, handle: 'ann', identity: 'pending' }, en);
    expect(pending).toMatchObject({ href: '#check-identity' });
    expect(pending.text).toContain("waiting for a moderator's review");
    // ann has checked in, bob has not: ann is told whom the studio waits for.
    const other = explain('CONSENT_REQUIRED', { meta: { performers: ['bob'] } }, { signedIn: true, handle: 'ann' }, en);
    expect(other.text).toContain('Waiting for @bob');
    expect(explain('CONSENT_REQUIRED', { meta }, { signedIn: true, handle: 'ann' }, en).href).toBe('#check-consent');
  });

  it('shows an unknown code by the API\'s own reason', () => {
    expect(explain('SOMETHING_NEW', { status: 403, message: 'why' }, {}, en).text).toBe('Going live was refused: why.');
    expect(explain(null, { status: 502 }, {}, en).href).toBe('#golive');
  });
});
