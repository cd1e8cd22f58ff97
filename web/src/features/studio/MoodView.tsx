import { useStreamMoods } from '@/api/queries';
import { MoodBars } from '@/features/watch/MoodStrip';
import { MOODS } from '@/features/watch/moods';
import { useT } from '@/i18n';
import { strings } from './strings';
import { useStore } from '@/store';

/** The studio's view of the room's mood: the live strip, and the last hour per minute. */
export function MoodView({ streamId }: { streamId: string }) {
  const t = useT(strings);
  const strip = useStore((s) => s.rooms[streamId]?.mood ?? null);
  const history = useStreamMoods(streamId, true);
  const minutes = history.data?.minutes ?? [];
  const peak = Math.max(1, ...minutes.map((m) => m.total));
  return (
    <section aria-labelledby="mood-view-title" className="flex flex-col gap-2 rounded-xl border border-line bg-panel p-3" data-testid="studio-moods">
      <h2 id="mood-view-title" className="font-semibold">{t('moodStrip.studioTitle')}</h2>
      <MoodBars strip={strip} />
      <h3 className="text-sm text-muted">{t('moodStrip.lastHour')}</h3>
      {minutes.length === 0 ? (
        <p className="text-sm text-muted">{t('moodStrip.noHistory')}</p>
      ) : (
        <ol className="flex h-16 items-end gap-px" aria-label={t('moodStrip.lastHour')}>
          {minutes.map((m) => {
            const time = new Date(m.minute).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
            return (
              <li key={m.minute} className="flex min-w-1 flex-1 flex-col-reverse" style={{ height: `${(m.total / peak) * 100}%` }} aria-label={t('moodStrip.minute', { time, n: m.total })}>
                {MOODS.map((mood) =>
                  m.counts[mood] ? (
                    <span key={mood} style={{ height: `${(m.counts[mood] / m.total) * 100}%`, background: `var(--color-mood-${mood})` }} />
                  ) : null,
                )}
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}
