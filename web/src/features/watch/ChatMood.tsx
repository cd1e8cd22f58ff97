import { useMoodStrip } from '@/api/ai';
import { useT, type Key } from '@/i18n';

/** The room's mood, minute by minute, from its chat (the one mood pipeline): each minute a
 * bar in its dominant mood's colour, as tall as the chat was busy. */
export function ChatMood({ streamId }: { streamId: string }) {
  const t = useT();
  const strip = useMoodStrip(streamId);
  const minutes = strip.data?.minutes ?? [];
  const busiest = Math.max(1, ...minutes.map((m) => m.messages));
  const now = minutes.at(-1);
  return (
    <section aria-label={t('mood.strip')} className="flex items-end gap-2 rounded-xl border border-line bg-panel px-3 py-2" data-testid="chat-mood">
      <p className="shrink-0 text-xs text-muted" data-testid="mood-now">
        {now?.dominant ? t('mood.now', { mood: t(`mood.${now.dominant}` as Key) }) : t('mood.quiet')}
      </p>
      <ol className="flex h-6 min-w-0 flex-1 items-end gap-0.5" aria-hidden>
        {minutes.map((m) => (
          <li
            key={m.minute}
            className="w-2 rounded-sm"
            style={{
              height: `${Math.max(15, (m.messages / busiest) * 100)}%`,
              background: m.dominant ? `var(--color-mood-${m.dominant})` : 'var(--color-line)',
            }}
          />
        ))}
      </ol>
    </section>
  );
}
