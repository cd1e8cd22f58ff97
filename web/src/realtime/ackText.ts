import { translate, type Lang } from '@/i18n';
import type { Ack } from './socket';

/** The words for a refused acknowledgement: ours for a known code, the server's otherwise. */
export function ackText(lang: Lang, ack: Ack): string {
  const key = `errors.${ack.code}`;
  const known = translate(lang, key as never, { retry: ack.retryAfter ?? '' });
  return `${known !== key && known ? known : ack.message} (${ack.code})`;
}
