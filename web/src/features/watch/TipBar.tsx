import { Coins, ListChecks } from 'lucide-react';
import { useState } from 'react';
import { Link } from '@/lib/router';
import { ApiError } from '@/api/client';
import { useTip, useTipMenu } from '@/api/queries';
import { ErrorNote } from '@/components/ui/States';
import { useT } from '@/i18n';
import { useStore } from '@/store';

export const QUICK_TIPS = [5, 10, 25, 50, 100, 500] as const;

/** Zone 4's money: quick tips (5–500 tokens), a custom amount and the creator's tip menu. */
export function TipBar({ streamId, live }: { streamId: string; live: boolean }) {
  const t = useT();
  const me = useStore((s) => s.me);
  const tip = useTip(streamId);
  const menu = useTipMenu(streamId);
  const [custom, setCustom] = useState('');
  const [pops, setPops] = useState<{ id: number; amount: number }[]>([]);
  const [menuOpen, setMenuOpen] = useState(false);

  const send = (amount: number, menuItemId?: string) =>
    tip.mutate(
      { amount, ...(menuItemId ? { menuItemId } : {}) },
      {
        onSuccess: () => {
          const id = Date.now();
          setPops((p) => [...p, { id, amount }]);
          setTimeout(() => setPops((p) => p.filter((x) => x.id !== id)), 2500);
        },
      },
    );

  if (!me) {
    return (
      <p className="text-sm text-muted">
        <Link className="text-brand underline" to={`/signup?next=/watch/${streamId}`}>{t('tip.signUpToTip')}</Link>
      </p>
    );
  }
  const disabled = !live || tip.isPending;
  const items = menu.data?.filter((i) => i.active) ?? [];
  return (
    <div className="relative flex flex-col gap-2" aria-label={t('tip.title')} role="group">
      <div className="flex flex-wrap items-center gap-2">
        {QUICK_TIPS.map((amount) => (
          <button
            key={amount}
            type="button"
            disabled={disabled}
            onClick={() => send(amount)}
            className="inline-flex min-h-10 items-center gap-1 rounded-full border border-warn/40 bg-warn/10 px-3 text-sm font-semibold text-warn hover:bg-warn/20 disabled:opacity-40"
            aria-label={t('tip.quick', { n: amount })}
          >
            <Coins className="size-4" aria-hidden /> {amount}
          </button>
        ))}
        <form
          className="flex items-center gap-1"
          onSubmit={(e) => {
            e.preventDefault();
            const n = Number(custom);
            if (Number.isInteger(n) && n > 0) send(n);
          }}
        >
          <input
            type="number"
            min={1}
            inputMode="numeric"
            value={custom}
            onChange={(e) => setCustom(e.target.value)}
            aria-label={t('tip.customAmount')}
            placeholder={t('tip.custom')}
            className="min-h-10 w-24 rounded-lg border border-line bg-panel-2 px-2"
          />
          <button type="submit" disabled={disabled || !custom} className="min-h-10 rounded-lg bg-brand px-3 text-sm font-semibold text-black disabled:opacity-40">
            {t('tip.send')}
          </button>
        </form>
        {items.length > 0 && (
          // A disclosure, not a popover: the list opens in place (no positioning library on
          // the watch route, whose JavaScript has a budget).
          <button
            type="button"
            aria-expanded={menuOpen}
            aria-controls="tip-menu-items"
            onClick={() => setMenuOpen(!menuOpen)}
            className="inline-flex min-h-10 items-center gap-1 rounded-lg border border-line px-3 text-sm aria-expanded:border-brand"
          >
            <ListChecks className="size-4" aria-hidden /> {t('tip.menu')}
          </button>
        )}
      </div>
      {items.length > 0 && menuOpen && (
                <ul id="tip-menu-items" aria-label={t('tip.menu')} className="flex flex-col rounded-xl border border-line bg-panel-2 p-1">
                  {items.map((item) => (
                    <li key={item.id}>
                      <button
                        type="button"
                        disabled={disabled}
                        onClick={() => send(item.price, item.id)}
                        className="flex w-full items-center justify-between rounded-lg px-3 py-2 text-left text-sm hover:bg-panel-2 disabled:opacity-40"
                      >
                        <span>{item.label}</span>
                        <span className="text-warn">{t('wallet.tokens', { n: item.price })}</span>
                      </button>
                    </li>
                  ))}
                </ul>
      )}
      {tip.error && (
        <div className="flex flex-wrap items-center gap-2">
          <ErrorNote error={tip.error} />
          {tip.error instanceof ApiError && tip.error.code === 'INSUFFICIENT_FUNDS' && (
            <Link to="/wallet" className="text-sm text-brand underline">{t('tip.buyTokens')}</Link>
          )}
        </div>
      )}
      {tip.isSuccess && <p role="status" className="text-sm text-ok" data-testid="tip-sent">{t('tip.sent', { n: tip.data.amount })}</p>}
      <div className="pointer-events-none absolute -top-4 right-4" aria-hidden>
        {pops.map((p) => (
          // Decorative (the status line says it in words): drawn by CSS from data-amount.
          <span key={p.id} className="tip-pop absolute text-lg font-bold text-warn" data-amount={`+${p.amount}`} />
        ))}
      </div>
    </div>
  );
}
