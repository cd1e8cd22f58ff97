import { useState } from 'react';
import type { Ack } from '@/realtime/socket';
import type { SyncBoard } from '@/store';
import { gameAckText, gameStrings, type Lang } from './gameStrings';

export interface SyncCardProps {
  streamId: string;
  board: SyncBoard | null;
  lang: Lang;
  signedIn: boolean;
  emit: (event: string, payload: Record<string, unknown>) => Promise<Ack>;
  onBalance: (balance: number) => void;
}

/** StripSync in the watch room: the creator's queued actions with their weight, a free vote
 * or a tip for each (its own idempotency key), and the action the room picked last. */
export function SyncCard({ streamId, board, lang, signedIn, emit, onBalance }: SyncCardProps) {
  const s = gameStrings(lang);
  const [amount, setAmount] = useState('10');
  const [note, setNote] = useState<{ text: string; error: boolean } | null>(null);
  if (!board || (board.queued.length === 0 && board.picked.length === 0)) return null;
  const vote = async (actionId: string, label: string, tip: boolean) => {
    const extra = tip ? { amount: Number(amount), idempotencyKey: crypto.randomUUID() } : {};
    const ack = await emit('sync:vote', { streamId, actionId, ...extra });
    if (ack.ok) {
      if (typeof ack.balance === 'number') onBalance(ack.balance);
      setNote({ text: s('sync.counted', { label }), error: false });
    } else setNote({ text: gameAckText(lang, ack), error: true });
  };
  const now = board.picked[board.picked.length - 1];
  return (
    <section aria-labelledby="sync-title" className="flex flex-col gap-2 rounded-xl border border-line bg-panel p-3" data-testid="sync-card">
      <h2 id="sync-title" className="text-sm font-semibold">
        {s('sync.title')}
      </h2>
      {now && <p className="text-sm" data-testid="sync-now">{s('sync.now', { n: now.order ?? 0, label: now.label })}</p>}
      {board.queued.length > 0 && signedIn && (
        <label className="flex w-24 flex-col gap-1 text-xs">
          {s('amount')}
          <input type="number" min={1} value={amount} onChange={(e) => setAmount(e.target.value)} className="min-h-10 rounded-lg border border-line bg-panel-2 px-2" />
        </label>
      )}
      <ol className="flex flex-col gap-1">
        {board.queued.map((a) => (
          <li key={a.id} className="flex flex-wrap items-center justify-between gap-2 text-sm">
            <span className="min-w-0 truncate">
              {a.label} <span className="tabular-nums text-muted">{s('sync.points', { n: a.points })}</span>
            </span>
            {signedIn && (
              <span className="flex gap-1">
                <button type="button" className="min-h-10 rounded-lg border border-line px-3" onClick={() => void vote(a.id, a.label, false)} aria-label={s('sync.voteFor', { label: a.label })}>
                  {s('sync.vote')}
                </button>
                <button type="button" className="min-h-10 rounded-lg border border-line px-3" onClick={() => void vote(a.id, a.label, true)} aria-label={s('sync.tipFor', { label: a.label })}>
                  {s('sync.tip')}
                </button>
              </span>
            )}
          </li>
        ))}
      </ol>
      <p role="status" className={`min-h-4 text-xs ${note?.error ? 'text-warn' : 'text-muted'}`}>{note?.text}</p>
    </section>
  );
}
