import { Target } from 'lucide-react';
import { useGoal } from '@/api/queries';
import { useT } from '@/i18n';

/** The stream's goal: progress moves live (money:goal.progress folds into this query). */
export function GoalBar({ streamId }: { streamId: string }) {
  const t = useT();
  const goal = useGoal(streamId);
  const g = goal.data;
  if (!g || g.state === 'cancelled') return null;
  const pct = Math.min(100, Math.round((g.progress / Math.max(1, g.target)) * 100));
  return (
    <section aria-label={t('goal.title')} className="rounded-xl border border-line bg-panel p-3" data-testid="goal">
      <div className="mb-1 flex items-center justify-between gap-2 text-sm">
        <span className="flex min-w-0 items-center gap-1 font-semibold">
          <Target className="size-4 shrink-0 text-brand" aria-hidden />
          <span className="truncate">{g.title}</span>
        </span>
        <span data-testid="goal-progress" className="shrink-0 tabular-nums">
          {t('goal.progress', { progress: g.progress, target: g.target })}
        </span>
      </div>
      <div
        role="progressbar"
        aria-label={g.title}
        aria-valuemin={0}
        aria-valuemax={g.target}
        aria-valuenow={g.progress}
        className="h-3 overflow-hidden rounded-full bg-panel-2"
      >
        <div className="h-full rounded-full bg-brand transition-[width] duration-500" style={{ width: `${pct}%` }} />
      </div>
      {g.state === 'completed' && <p className="mt-1 text-sm text-ok">{t('goal.completed')}</p>}
    </section>
  );
}
