import { useState } from 'react';
import { useT } from '@/i18n';
import { ackText } from '@/realtime/ackText';
import { emit } from '@/realtime/socket';
import { useStore, type MoodStrip as Strip } from '@/store';
import { MOODS, shares, type Mood } from './moods';

/** The strip's bar: each mood's share of the window's votes, in its colour. */
export function MoodBars({ strip }: { strip: Strip | null }) {
  const t = useT();
  const total = strip?.total ?? 0;
  const pct = shares(strip?.counts ?? {}, total);
  const summary = total
    ? MOODS.filter((m) => pct[m] > 0)
        .map((m) => `${t(`mood.${m}`)} ${pct[m]}%`)
        .join(', ')
    : t('moodStrip.empty');
  return (
    <div className="flex flex-col gap-1">
      <div className="flex h-3 overflow-hidden rounded-full bg-panel-2" role="img" aria-label={summary} data-testid="mood-bars">
        {MOODS.map((m) =>
          pct[m] > 0 ? (
            <div
              key={m}
              data-mood={m}
              className="h-full transition-[width] duration-300"
              style={{ width: `${pct[m]}%`, background: `var(--color-mood-${m})` }}
            />
          ) : null,
        )}
      </div>
      <p className="text-xs text-muted" data-testid="mood-total">
        {t('moodStrip.total', { n: total, s: strip?.windowSeconds ?? 30 })}
      </p>
    </div>
  );
}

/** The watch room's mood strip: vote one of the eight moods, see the room's mood live. */
export function MoodStrip({ streamId }: { streamId: string }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const strip = useStore((s) => s.rooms[streamId]?.mood ?? null);
  const me = useStore((s) => s.me);
  const [mine, setMine] = useState<Mood | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const pct = shares(strip?.counts ?? {}, strip?.total ?? 0);
  const vote = async (mood: Mood) => {
    const ack = await emit('mood:vote', { streamId, mood });
    if (ack.ok) {
      setMine(mood);
      setNote(null);
    } else {
      setNote(ackText(lang, ack));
    }
  };
  return (
    <section aria-labelledby={`mood-${streamId}`} className="rounded-xl border border-line bg-panel p-3" data-testid="mood-strip">
      <h2 id={`mood-${streamId}`} className="mb-1 text-sm font-semibold">{t('moodStrip.title')}</h2>
      <MoodBars strip={strip} />
      <div role="group" aria-label={t('moodStrip.vote')} className="mt-2 grid grid-cols-4 gap-1 lg:grid-cols-8">
        {MOODS.map((m) => (
          <button
            key={m}
            type="button"
            disabled={!me}
            aria-pressed={mine === m}
            onClick={() => void vote(m)}
            data-testid={`mood-vote-${m}`}
            className="flex min-h-10 min-w-0 items-center justify-center gap-1 rounded-lg border border-line px-1 text-xs aria-pressed:border-brand aria-pressed:bg-panel-2 disabled:opacity-50"
          >
            <span className="size-2.5 shrink-0 rounded-full" style={{ background: `var(--color-mood-${m})` }} aria-hidden />
            <span className="truncate">{t(`mood.${m}`)}</span>{' '}
            <span className="tabular-nums text-muted">{pct[m]}%</span>
          </button>
        ))}
      </div>
      <p role="status" className="mt-1 min-h-4 text-xs text-warn" data-testid="mood-note">
        {note ?? (me ? '' : t('moodStrip.signIn'))}
      </p>
    </section>
  );
}
