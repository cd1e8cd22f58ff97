import { Flag } from 'lucide-react';
import { useAvatar, useMilestones } from '@/api/queries';
import { useT } from '@/i18n';

/** The stream's milestone ladder: each one's progress, and the ones reached. */
export function Milestones({ streamId }: { streamId: string }) {
  const t = useT();
  const ladder = useMilestones(streamId);
  const items = ladder.data ?? [];
  if (!items.length) return null;
  return (
    <section aria-labelledby={`milestones-${streamId}`} className="rounded-xl border border-line bg-panel p-3" data-testid="milestones">
      <h2 id={`milestones-${streamId}`} className="mb-1 flex items-center gap-1 text-sm font-semibold">
        <Flag className="size-4 text-brand" aria-hidden />
        {t('milestones.title')}
      </h2>
      <ol className="flex flex-col gap-1">
        {items.map((m) => {
          const reached = Boolean(m.reachedAt) || m.progress >= m.target;
          return (
            <li key={m.id} className="flex items-center gap-2 text-sm" data-reached={m.reachedAt ? 'yes' : 'no'}>
              <span className="min-w-0 flex-1 truncate">
                {reached ? '✓ ' : ''}
                {m.title}
              </span>
              <span className="shrink-0 tabular-nums text-muted">{t('goal.progress', { progress: Math.min(m.progress, m.target), target: m.target })}</span>
              <progress className="h-2 w-16 shrink-0 accent-brand sm:w-24" max={m.target} value={Math.min(m.progress, m.target)} aria-label={m.title} />
            </li>
          );
        })}
      </ol>
    </section>
  );
}

const LOOK: Record<string, string> = {
  idle: 'ring-line',
  happy: 'ring-ok scale-105',
  excited: 'ring-warn scale-110',
  wow: 'ring-brand scale-125 animate-pulse',
};
const FACE: Record<string, string> = { idle: '', happy: '😊', excited: '🤩', wow: '😱' };

/** The creator's reactive avatar: their picture, drawn by the state tips put it in. */
export function ReactiveAvatar({ streamId, src, initial }: { streamId: string; src?: string | null; initial: string }) {
  const t = useT();
  const avatar = useAvatar(streamId);
  const state = avatar.data?.state ?? 'idle';
  return (
    <span className="relative shrink-0" data-testid="reactive-avatar" data-state={state} role="img" aria-label={t(`avatar.${state}` as 'avatar.idle')}>
      {src ? (
        <img src={src} alt="" className={`size-10 rounded-full object-cover ring-2 transition-transform ${LOOK[state]}`} />
      ) : (
        <span className={`flex size-10 items-center justify-center rounded-full bg-panel-2 font-bold ring-2 transition-transform ${LOOK[state]}`} aria-hidden>
          {initial}
        </span>
      )}
      {FACE[state] && (
        <span className="absolute -bottom-1 -right-1 text-base" aria-hidden>
          {FACE[state]}
        </span>
      )}
    </span>
  );
}
