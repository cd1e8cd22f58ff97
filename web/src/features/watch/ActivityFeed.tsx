import { Coins, Gift, Info, Target } from 'lucide-react';
import { useT } from '@/i18n';
import { useStore, type FeedItem } from '@/store';

function Item({ item }: { item: FeedItem }) {
  const t = useT();
  switch (item.kind) {
    case 'tip':
      return (
        <li className="flex items-start gap-2" data-kind="tip">
          <Coins className="mt-0.5 size-4 shrink-0 text-warn" aria-hidden />
          <span>
            {item.label
              ? t('feed.tipMenu', { handle: item.handle, amount: item.amount, label: item.label })
              : t('feed.tip', { handle: item.handle, amount: item.amount })}
            {item.message && <span className="block text-muted">“{item.message}”</span>}
          </span>
        </li>
      );
    case 'goal':
      return (
        <li className="flex items-start gap-2" data-kind="goal">
          <Target className="mt-0.5 size-4 shrink-0 text-brand" aria-hidden />
          <span>{item.completed ? t('feed.goalDone') : t('feed.goal', { progress: item.progress, target: item.target })}</span>
        </li>
      );
    case 'unlockable':
      return (
        <li className="flex items-start gap-2" data-kind="unlockable">
          <Gift className="mt-0.5 size-4 shrink-0 text-ok" aria-hidden />
          <span>{t('feed.unlocked', { title: item.title })}</span>
        </li>
      );
    default:
      return (
        <li className="flex items-start gap-2" data-kind="notice">
          <Info className="mt-0.5 size-4 shrink-0" aria-hidden />
          <span>{item.text}</span>
        </li>
      );
  }
}

/** Zone 3: tips, goal progress, unlockables and notices, newest first. */
export function ActivityFeed({ streamId }: { streamId: string }) {
  const t = useT();
  const feed = useStore((s) => s.rooms[streamId]?.feed);
  const frozen = useStore((s) => s.rooms[streamId]?.frozen);
  return (
    <section aria-label={t('feed.title')} className="flex min-h-0 flex-col rounded-xl border border-line bg-panel p-3">
      <h2 className="mb-2 text-sm font-semibold uppercase tracking-wide text-muted">{t('feed.title')}</h2>
      {frozen && <p className="mb-2 rounded bg-warn/15 p-2 text-sm text-warn" role="status">{t('feed.frozen')}</p>}
      {feed && feed.length ? (
        <ol className="flex min-h-0 flex-col gap-2 overflow-y-auto text-sm" aria-live="polite" data-testid="feed">
          {feed.map((item) => (
            <Item key={item.id} item={item} />
          ))}
        </ol>
      ) : (
        <p className="text-sm text-muted">{t('feed.empty')}</p>
      )}
    </section>
  );
}
