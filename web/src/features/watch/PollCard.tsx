import { BarChart3 } from 'lucide-react';
import { useEffect, useState } from 'react';
import { idempotencyKey } from '@/api/client';
import { useT } from '@/i18n';
import { ackText } from '@/realtime/ackText';
import { emit } from '@/realtime/socket';
import { useStore, type Poll } from '@/store';

/** Seconds left until ``deadline`` (0 once past), ticking once a second while there is one. */
export function useSecondsLeft(deadline: string | null): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!deadline) return;
    const tick = () => setNow(Date.now());
    const first = setTimeout(tick);
    const timer = setInterval(tick, 1000);
    return () => {
      clearTimeout(first);
      clearInterval(timer);
    };
  }, [deadline]);
  return deadline ? Math.max(0, Math.ceil((Date.parse(deadline) - now) / 1000)) : 0;
}

/** Each option's share of the weight, as the server counted it. */
export function PollResults({ poll }: { poll: Poll }) {
  const t = useT();
  const total = poll.tally.reduce((n, x) => n + x.weight, 0);
  return (
    <ol className="flex flex-col gap-1">
      {poll.options.map((label, i) => {
        const row = poll.tally.find((x) => x.option === i) ?? { votes: 0, weight: 0 };
        const pct = total ? Math.round((row.weight / total) * 100) : 0;
        const won = poll.state === 'closed' && poll.winner === i;
        return (
          <li key={i} data-testid={`poll-option-${i}`} data-winner={won ? 'yes' : undefined} className="relative overflow-hidden rounded-lg border border-line px-2 py-1 text-sm">
            <div className={`absolute inset-y-0 left-0 ${won ? 'bg-brand/25' : 'bg-panel-2'}`} style={{ width: `${pct}%` }} aria-hidden />
            <span className="relative flex justify-between gap-2">
              <span className="min-w-0 truncate">
                {label}
                {won && <strong className="ml-1 underline">{t('poll.winner')}</strong>}
              </span>
              <span className="shrink-0 tabular-nums">
                {poll.weighted ? t('poll.tokens', { n: row.weight }) : t('poll.votes', { n: row.votes })} · {pct}%
              </span>
            </span>
          </li>
        );
      })}
    </ol>
  );
}

/** The watch room's poll card: the open poll or challenge (vote, or tip to vote), its live
 * tally and countdown; after the deadline, the result. */
export function PollCard({ streamId }: { streamId: string }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const me = useStore((s) => s.me);
  const poll = useStore((s) => s.rooms[streamId]?.poll ?? null);
  const setBalance = useStore((s) => s.setBalance);
  const secs = useSecondsLeft(poll?.state === 'open' ? poll.deadline : null);
  const [note, setNote] = useState<{ text: string; error: boolean } | null>(null);
  const [amount, setAmount] = useState('10');
  const [mine, setMine] = useState<{ poll: string; option: number } | null>(null);
  if (!poll) return null;
  const open = poll.state === 'open' && secs > 0;
  const vote = async (option: number) => {
    const weighted = poll.weighted ? { amount: Number(amount), idempotencyKey: idempotencyKey() } : {};
    const ack = await emit('poll:vote', { streamId, pollId: poll.id, option, ...weighted });
    if (ack.ok) {
      setMine({ poll: poll.id, option });
      if (typeof ack.balance === 'number') setBalance(ack.balance);
      setNote({ text: t('poll.counted', { option: poll.options[option] ?? '' }), error: false });
    } else {
      setNote({ text: ackText(lang, ack), error: true });
    }
  };
  const title = poll.kind === 'challenge' ? t('poll.challenge') : t('poll.poll');
  return (
    <section aria-labelledby={`poll-${poll.id}`} className="flex flex-col gap-2 rounded-xl border border-line bg-panel p-3" data-testid="poll-card" data-state={poll.state}>
      <div className="flex items-center justify-between gap-2 text-sm">
        <h2 id={`poll-${poll.id}`} className="flex min-w-0 items-center gap-1 font-semibold">
          <BarChart3 className="size-4 shrink-0 text-brand" aria-hidden />
          <span className="truncate">
            {title}: {poll.question}
          </span>
        </h2>
        <span className="shrink-0 tabular-nums text-muted" data-testid="poll-countdown">
          {open ? t('poll.secondsLeft', { n: secs }) : t('poll.closed')}
        </span>
      </div>
      <PollResults poll={poll} />
      {poll.state === 'closed' && (
        <p className="text-sm" data-testid="poll-result">
          {poll.winner !== null ? t('poll.won', { option: poll.options[poll.winner] ?? '' }) : poll.tie ? t('poll.tie') : t('poll.noVotes')}
        </p>
      )}
      {open && me && (
        <div className="flex flex-wrap items-end gap-2" role="group" aria-label={t('poll.vote')}>
          {poll.weighted && (
            <label className="flex w-24 flex-col gap-1 text-xs">
              {t('poll.amount')}
              <input type="number" min={1} value={amount} onChange={(e) => setAmount(e.target.value)} className="min-h-10 rounded-lg border border-line bg-panel-2 px-2" />
            </label>
          )}
          {poll.options.map((label, i) => (
            <button
              key={i}
              type="button"
              onClick={() => void vote(i)}
              aria-pressed={mine?.poll === poll.id && mine.option === i}
              className="min-h-10 rounded-lg border border-line px-3 text-sm aria-pressed:border-brand aria-pressed:bg-panel-2"
            >
              {poll.weighted ? t('poll.tipFor', { option: label }) : label}
            </button>
          ))}
        </div>
      )}
      <p role="status" className={`min-h-4 text-xs ${note?.error ? 'text-warn' : 'text-muted'}`} data-testid="poll-note">
        {note?.text ?? ''}
      </p>
    </section>
  );
}
