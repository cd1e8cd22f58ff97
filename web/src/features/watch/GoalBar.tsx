import { useMutation } from '@tanstack/react-query';
import { Target } from 'lucide-react';
import { useState } from 'react';
import { api, data, idempotencyKey } from '@/api/client';
import { useGoal } from '@/api/queries';
import { ErrorNote } from '@/components/ui/States';
import { useT } from '@/i18n';
import { useStore } from '@/store';

/** A pledge: tokens held for the goal, taken only if it is reached in time. */
function Pledge({ streamId }: { streamId: string }) {
  const t = useT();
  const [amount, setAmount] = useState('');
  const pledge = useMutation({
    mutationFn: () =>
      data(
        api.POST('/api/v1/streams/{stream_id}/goal/pledges', {
          params: { path: { stream_id: streamId }, header: { 'Idempotency-Key': idempotencyKey() } },
          body: { amount: Number(amount) },
        }),
      ),
    onSuccess: (p) => {
      useStore.getState().setBalance(p.balance);
      setAmount('');
    },
  });
  return (
    <form
      className="mt-2 flex flex-wrap items-center gap-2 text-sm"
      onSubmit={(e) => {
        e.preventDefault();
        pledge.mutate();
      }}
    >
      <input
        type="number"
        min={1}
        inputMode="numeric"
        aria-label={t('goal.pledgeAmount')}
        placeholder={t('goal.pledgeAmount')}
        value={amount}
        onChange={(e) => setAmount(e.target.value)}
        className="min-h-9 w-28 rounded-lg border border-line bg-panel-2 px-2"
      />
      <button type="submit" disabled={!amount || pledge.isPending} className="min-h-9 rounded-lg border border-line px-3 hover:bg-panel-2 disabled:opacity-50">
        {t('goal.pledge')}
      </button>
      {pledge.data && <span role="status" className="text-ok">{t('goal.pledged', { n: pledge.data.amount })}</span>}
      <ErrorNote error={pledge.error} className="w-full" />
    </form>
  );
}

/** The stream's goal: progress moves live (money:goal.progress folds into this query). */
export function GoalBar({ streamId }: { streamId: string }) {
  const t = useT();
  const goal = useGoal(streamId);
  const me = useStore((s) => s.me);
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
      {g.state === 'open' && me && <Pledge streamId={streamId} />}
    </section>
  );
}
