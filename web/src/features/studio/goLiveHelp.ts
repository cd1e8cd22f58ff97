/**
 * Why going live was refused, in a creator's words, and where to fix it. Pure: an error
 * envelope's code (WHIP POST or publish-credentials) in, words and one link out. The studio
 * renders it; tests/e2e/test_studio_refusals.py checks what a creator sees.
 */
import type { TWith } from '@/i18n';
import type { strings } from './strings';

export interface RefusalError {
  status?: number;
  code?: string | null;
  message?: string | null;
  meta?: Record<string, unknown>;
  retryAfter?: number | null;
}

export interface HelpContext {
  streamId?: string;
  signedIn?: boolean;
  handle?: string | null; // mine, lower case
  identity?: 'approved' | 'pending' | 'rejected' | 'none' | null;
  identityReason?: string | null;
}

export interface Help {
  text: string;
  href: string;
  label: string;
}

type T = TWith<keyof typeof strings.en>;

const at = (handles: unknown): string =>
  (Array.isArray(handles) ? (handles as string[]) : []).map((h) => `@${h}`).join(', ');

export function explain(code: string | null | undefined, error: RefusalError | null, ctx: HelpContext, t: T): Help {
  const e = error ?? {};
  const meta = e.meta ?? {};
  const me = ctx.handle ?? null;
  const retry = { href: '#golive', label: t('golive.tryAgain') };
  const signIn = { href: '#login', label: t('golive.signIn') };
  const list = Array.isArray(meta.performers) ? (meta.performers as string[]) : [];
  const others = list.filter((h) => h !== me);
  switch (code) {
    case 'PERFORMER_NOT_VERIFIED':
      if (!ctx.signedIn) return { text: t('golive.notVerifiedSignIn', { who: at(list) }), ...signIn };
      if (me && list.includes(me)) {
        if (ctx.identity === 'pending') {
          return { text: t('golive.identityPending'), href: '#check-identity', label: t('golive.seeIdentity') };
        }
        if (ctx.identity === 'rejected') {
          const reason = ctx.identityReason ? ` (${ctx.identityReason})` : '';
          return { text: t('golive.identityRejected', { reason }), href: '#check-identity', label: t('golive.sendNewIdentity') };
        }
        return { text: t('golive.verifyFirst'), href: '#check-identity', label: t('golive.verifyIdentity') };
      }
      return { text: t('golive.othersNotVerified', { who: at(others) }), href: '#check-consent', label: t('golive.seePerformers') };
    case 'CONSENT_REQUIRED':
      if (!ctx.signedIn) return { text: t('golive.consentSignIn', { who: at(list) }), ...signIn };
      if (me && list.includes(me)) {
        return { text: t('golive.consentMine'), href: '#check-consent', label: t('golive.checkIn') };
      }
      return { text: t('golive.consentOthers', { who: at(others) }), href: '#check-consent', label: t('golive.seeCheckIns') };
    case 'STREAM_FROZEN':
      return {
        text: t('golive.frozen', { reason: meta.reason ? ` (${String(meta.reason)})` : '' }),
        href: '#check-standing',
        label: t('golive.streamStatus'),
      };
    case 'ACCOUNT_SUSPENDED':
      return {
        text: t('golive.suspended', { until: meta.until ? ` ${t('golive.until')} ${new Date(String(meta.until)).toLocaleString()}` : '' }),
        href: '#check-standing',
        label: t('golive.accountStatus'),
      };
    case 'ACCOUNT_BANNED':
      return { text: t('golive.banned'), href: '#check-standing', label: t('golive.accountStatus') };
    case 'INVALID_PUBLISH_TOKEN':
      return { text: t('golive.badToken'), ...signIn };
    case 'NOT_STREAM_OWNER':
      return { text: t('golive.notOwner'), ...signIn };
    case 'AUTH_REQUIRED':
    case 'UNAUTHORIZED':
      return { text: t('golive.signedOut'), ...signIn };
    case 'STREAM_NOT_FOUND':
      return { text: t('golive.noStream'), href: '/', label: t('golive.startPage') };
    case 'STREAM_ALREADY_LIVE':
      return { text: t('golive.alreadyLive'), href: `/watch/${ctx.streamId ?? ''}`, label: t('golive.watchIt') };
    case 'SDP_NO_VIDEO':
      return { text: t('golive.noVideo'), ...retry };
    case 'NO_COMMON_CODEC':
    case 'INVALID_SDP':
    case 'UNSUPPORTED_MEDIA_TYPE':
    case 'PAYLOAD_TOO_LARGE':
      return { text: t('golive.badBrowser'), ...retry };
    case 'RATE_LIMITED':
      return { text: t('golive.rateLimited', { seconds: e.retryAfter || 60 }), ...retry };
    case 'NETWORK':
      return { text: t('golive.network'), ...retry };
    default:
      if (!code || (e.status ?? 0) >= 500) return { text: t('golive.serverTrouble'), ...retry };
      return { text: t('golive.refused', { message: e.message || t('golive.noReason') }), ...retry };
  }
}
