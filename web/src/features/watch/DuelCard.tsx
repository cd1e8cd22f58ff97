import { useEffect, useState } from 'react';
import type { Duel } from '@/store';
import { gameStrings, type GameT, type Lang } from './gameStrings';

/** Which side of ``duel`` the room ``streamId`` is. */
export function sideOf(duel: Duel, streamId: string): 'challenger' | 'opponent' {
  return duel.challengerStreamId === streamId ? 'challenger' : 'opponent';
}

/** Seconds until ``deadline`` (0 once past), ticking while there is one. (Its own copy of
 * PollCard's: this lazy chunk imports nothing the watch route shares.) */
function useCountdown(deadline: string | null): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!deadline) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [deadline]);
  return deadline ? Math.max(0, Math.ceil((Date.parse(deadline) - now) / 1000)) : 0;
}

/** The duel's scoreboard as one room sees it: this creator against the other, the rule, the
 * countdown, and at the end the winner (or the tie). The same numbers reach both rooms. */
export function DuelScoreboard({ duel, streamId, s }: { duel: Duel; streamId: string; s: GameT }) {
  const secs = useCountdown(duel.state === 'live' ? duel.deadline : null);
  const mine = sideOf(duel, streamId);
  const theirs = mine === 'challenger' ? 'opponent' : 'challenger';
  const us = duel.scores[mine];
  const them = duel.scores[theirs];
  const total = us + them;
  const pct = total ? Math.round((us / total) * 100) : 50;
  const result =
    duel.state !== 'ended' ? null : duel.winner === null ? s('duel.tie') : duel.winner === mine ? s('duel.weWon') : s('duel.theyWon');
  const forfeit = duel.endedBy && duel.endedBy !== 'deadline' ? s(`duel.endedBy.${duel.endedBy}`) : null;
  return (
    <div className="flex flex-col gap-1" data-testid="duel-scoreboard">
      <p className="flex justify-between gap-2 text-sm tabular-nums">
        <span data-testid="duel-score-us">{s('duel.us', { n: us })}</span>
        <span className="text-muted">{duel.state === 'live' ? s('secondsLeft', { n: secs }) : s('closed')}</span>
        <span data-testid="duel-score-them">{s('duel.them', { n: them })}</span>
      </p>
      <div className="h-2 overflow-hidden rounded bg-panel-2" role="img" aria-label={s('duel.bar', { us, them })}>
        <div className="h-full bg-brand" style={{ width: `${pct}%` }} />
      </div>
      <p className="text-xs text-muted">{s('duel.rule')}</p>
      {result && (
        <p className="text-sm font-semibold" data-testid="duel-result">
          {result}
          {forfeit && <span className="font-normal text-muted"> ({forfeit})</span>}
        </p>
      )}
    </div>
  );
}

/** The watch room's duel card: shown while the room duels, and with the last result. */
export function DuelCard({ streamId, duel, lang }: { streamId: string; duel: Duel | null; lang: Lang }) {
  if (!duel || (duel.state !== 'live' && duel.state !== 'ended')) return null;
  const s = gameStrings(lang);
  return (
    <section aria-labelledby={`duel-${duel.id}`} className="flex flex-col gap-2 rounded-xl border border-line bg-panel p-3" data-testid="duel-card" data-state={duel.state}>
      <h2 id={`duel-${duel.id}`} className="text-sm font-semibold">
        {s('duel.title')}
      </h2>
      <DuelScoreboard duel={duel} streamId={streamId} s={s} />
    </section>
  );
}
