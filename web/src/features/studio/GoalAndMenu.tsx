import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, data } from '@/api/client';
import { keys } from '@/api/keys';
import { useGoal, useTipMenu } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { ErrorNote } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings } from './strings';

const input = 'min-h-10 rounded-lg border border-line bg-panel-2 px-2';

/** The stream's goal (open one, progress, cancel) and my tip menu (add, retire). */
export function GoalAndMenu({ streamId }: { streamId: string }) {
  const t = useT(strings);
  const client = useQueryClient();
  const goal = useGoal(streamId);
  const menu = useTipMenu(streamId);
  const [goalTitle, setGoalTitle] = useState('');
  const [target, setTarget] = useState('');
  const [label, setLabel] = useState('');
  const [price, setPrice] = useState('');
  const [prompt, setPrompt] = useState(false);
  const [action, setAction] = useState('');
  const openGoal = useMutation({
    mutationFn: () =>
      data(
        api.POST('/api/v1/streams/{stream_id}/goal', {
          params: { path: { stream_id: streamId } },
          body: { title: goalTitle, target: Number(target), mode: 'tips' },
        }),
      ),
    onSuccess: () => {
      setGoalTitle('');
      setTarget('');
      void client.invalidateQueries({ queryKey: keys.goal(streamId) });
    },
  });
  const cancelGoal = useMutation({
    mutationFn: () => data(api.DELETE('/api/v1/streams/{stream_id}/goal', { params: { path: { stream_id: streamId } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.goal(streamId) }),
  });
  const addItem = useMutation({
    mutationFn: () =>
      data(
        api.POST('/api/v1/tip-menu', {
          body: {
            label,
            price: Number(price),
            position: menu.data?.length ?? 0,
            kind: prompt ? 'prompt' : 'menu',
            triggerAction: action.trim() || null,
          },
        }),
      ),
    onSuccess: () => {
      setLabel('');
      setPrice('');
      setAction('');
      void client.invalidateQueries({ queryKey: keys.tipMenu(streamId) });
    },
  });
  const retire = useMutation({
    mutationFn: (itemId: string) => data(api.PATCH('/api/v1/tip-menu/{item_id}', { params: { path: { item_id: itemId } }, body: { active: false } })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.tipMenu(streamId) }),
  });
  const g = goal.data;
  const open = g && g.state === 'open';
  return (
    <div className="grid gap-3 lg:grid-cols-2">
      <section aria-labelledby="goal-title" className="flex flex-col gap-2 rounded-xl border border-line bg-panel p-3">
        <h2 id="goal-title" className="font-semibold">{t('goal.title')}</h2>
        {open ? (
          <>
            <p data-testid="studio-goal">
              {g.title}: <span className="tabular-nums">{t('goal.progress', { progress: g.progress, target: g.target })}</span>
            </p>
            <Button variant="secondary" onClick={() => cancelGoal.mutate()} disabled={cancelGoal.isPending}>{t('studio.cancelGoal')}</Button>
          </>
        ) : (
          <form
            className="flex flex-wrap items-end gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              openGoal.mutate();
            }}
          >
            <label className="flex min-w-0 flex-1 flex-col gap-1 text-sm">
              {t('studio.goalName')}
              <input value={goalTitle} onChange={(e) => setGoalTitle(e.target.value)} required maxLength={120} className={input} />
            </label>
            <label className="flex w-28 flex-col gap-1 text-sm">
              {t('studio.goalTarget')}
              <input type="number" min={1} value={target} onChange={(e) => setTarget(e.target.value)} required className={input} />
            </label>
            <Button type="submit" disabled={openGoal.isPending}>{t('studio.openGoal')}</Button>
          </form>
        )}
        <ErrorNote error={openGoal.error ?? cancelGoal.error} />
      </section>
      <section aria-labelledby="menu-title" className="flex flex-col gap-2 rounded-xl border border-line bg-panel p-3">
        <h2 id="menu-title" className="font-semibold">{t('tip.menu')}</h2>
        <ul className="flex flex-col gap-1 text-sm" data-testid="studio-menu">
          {(menu.data ?? []).filter((i) => i.active).map((i) => (
            <li key={i.id} className="flex items-center justify-between gap-2">
              <span>
                {i.label} · {t('wallet.tokens', { n: i.price })}
                {i.kind === 'prompt' && <span className="ml-1 rounded bg-panel-2 px-1 text-xs">{t('studio.promptBadge')}</span>}
              </span>
              <Button variant="ghost" onClick={() => retire.mutate(i.id)} aria-label={t('studio.retireItem', { label: i.label })}>
                {t('studio.retire')}
              </Button>
            </li>
          ))}
        </ul>
        <form
          className="flex flex-wrap items-end gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            addItem.mutate();
          }}
        >
          <label className="flex min-w-0 flex-1 flex-col gap-1 text-sm">
            {t('studio.itemLabel')}
            <input value={label} onChange={(e) => setLabel(e.target.value)} required maxLength={80} className={input} />
          </label>
          <label className="flex w-28 flex-col gap-1 text-sm">
            {t('studio.itemPrice')}
            <input type="number" min={1} value={price} onChange={(e) => setPrice(e.target.value)} required className={input} />
          </label>
          <label className="flex w-36 flex-col gap-1 text-sm">
            {t('studio.itemAction')}
            <input value={action} onChange={(e) => setAction(e.target.value)} maxLength={80} className={input} />
          </label>
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={prompt} onChange={(e) => setPrompt(e.target.checked)} />
            {t('studio.itemPrompt')}
          </label>
          <Button type="submit" disabled={addItem.isPending}>{t('studio.addItem')}</Button>
        </form>
        <ErrorNote error={addItem.error ?? retire.error} />
      </section>
    </div>
  );
}
