import { Swords } from 'lucide-react';
import { useT } from '@/i18n';
import { useStore, type Duel } from '@/store';
import { useSecondsLeft } from './PollCard';

/** Which side of ``duel`` the room ``streamId`` is. */
export function sideOf(duel: Duel, streamId: string): 'challenger' | 'opponent' {
  return duel.challengerStreamId === streamId ? 'challenger' : 'opponent';
}

/** The duel's scoreboard as one room sees it: this creator against the other, the rule, the
 * countdown, and at the end the winner (or the tie). The same numbers reach both rooms. */
export function DuelScoreboard({ duel, streamId }: { duel: Duel; streamId: string }) {
  const t = useT();
  const secs = useSecondsLeft(duel.state === 'live' ? duel.deadline : null);
  const mine = sideOf(duel, streamId);
  const theirs = mine === 'challenger' ? 'opponent' : 'challenger';
  const us = duel.scores[mine];
  const them = duel.scores[theirs];
  const total = us + them;
  const pct = total ? Math.round((us / total) * 100) : 50;
  const result =
    duel.state !== 'ended'
      ? null
      : duel.winner === null
        ? t('duel.tie')
        : duel.winner === mine
          ? t('duel.weWon')
          : t('duel.theyWon');
  return (
    <div className="flex flex-col gap-1" data-testid="duel-scoreboard">
      <p className="flex justify-between gap-2 text-sm tabular-nums">
        <span data-testid="duel-score-us">{t('duel.us', { n: us })}</span>
        <span className="text-muted">{duel.state === 'live' ? t('poll.secondsLeft', { n: secs }) : t('poll.closed')}</span>
        <span data-testid="duel-score-them">{t('duel.them', { n: them })}</span>
      </p>
      <div className="h-2 overflow-hidden rounded bg-panel-2" role="img" aria-label={t('duel.bar', { us, them })}>
        <div className="h-full bg-brand" style={{ width: `${pct}%` }} />
      </div>
      <p className="text-xs text-muted">{t('duel.rule')}</p>
      {result && (
        <p className="text-sm font-semibold" data-testid="duel-result">
          {result}
          {duel.endedBy && duel.endedBy !== 'deadline' && ' '}
          {duel.endedBy && duel.endedBy !== 'deadline' && <span className="font-normal text-muted">({t(`duel.endedBy.${duel.endedBy}` as 'duel.endedBy.offline')})</span>}
        </p>
      )}
    </div>
  );
}

/** The watch room's duel card: shown while the room duels, and with the last result. */
export function DuelCard({ streamId }: { streamId: string }) {
  const t = useT();
  const duel = useStore((s) => s.rooms[streamId]?.duel ?? null);
  if (!duel || (duel.state !== 'live' && duel.state !== 'ended')) return null;
  return (
    <section aria-labelledby={`duel-${duel.id}`} className="flex flex-col gap-2 rounded-xl border border-line bg-panel p-3" data-testid="duel-card" data-state={duel.state}>
      <h2 id={`duel-${duel.id}`} className="flex items-center gap-1 text-sm font-semibold">
        <Swords className="size-4 shrink-0 text-brand" aria-hidden />
        {t('duel.title')}
      </h2>
      <DuelScoreboard duel={duel} streamId={streamId} />
    </section>
  );
}
