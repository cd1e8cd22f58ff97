import { useState, type FormEvent } from 'react';
import { useLiveStreams } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { DuelScoreboard, sideOf } from '@/features/watch/DuelCard';
import { useSecondsLeft } from '@/features/watch/PollCard';
import { adminAckText } from './gameAdminStrings';
import { useGameStrings } from './useGameStrings';
import { emit } from '@/realtime/socket';
import { useStore } from '@/store';

const input = 'min-h-10 rounded-lg border border-line bg-panel-2 px-2';

/** The studio's duels: invite another live creator, answer an invitation, watch the
 * scoreboard, end early (a forfeit). Both rooms hear every change over Socket.IO. */
export function DuelControls({ streamId }: { streamId: string }) {
  const s = useGameStrings();
  const lang = useStore((s) => s.lang);
  const duel = useStore((s) => s.rooms[streamId]?.duel ?? null);
  const live = useLiveStreams({});
  const [opponent, setOpponent] = useState('');
  const [seconds, setSeconds] = useState('180');
  const [note, setNote] = useState<string | null>(null);
  const pending = duel?.state === 'invited';
  const answerIn = useSecondsLeft(pending ? duel.respondBy : null);
  const others = (live.data?.data ?? []).filter((s) => s.id !== streamId);

  const answer = async (event: 'duel:accept' | 'duel:decline' | 'duel:end') => {
    if (!duel) return;
    const ack = await emit(event, { streamId, duelId: duel.id });
    setNote(ack.ok ? null : adminAckText(lang, ack));
  };
  const invite = async (e: FormEvent) => {
    e.preventDefault();
    const ack = await emit('duel:invite', { streamId, opponentStreamId: opponent, seconds: Number(seconds) });
    setNote(ack.ok ? null : adminAckText(lang, ack));
  };
  return (
    <section aria-labelledby="duels-title" className="flex flex-col gap-2 rounded-xl border border-line bg-panel p-3" data-testid="studio-duels">
      <h2 id="duels-title" className="font-semibold">{s('duelAdmin.title')}</h2>
      {duel?.state === 'live' && (
        <div className="flex flex-col gap-2" data-testid="studio-duel-live">
          <DuelScoreboard duel={duel} streamId={streamId} s={s} />
          <Button variant="secondary" onClick={() => void answer('duel:end')}>{s('duelAdmin.end')}</Button>
        </div>
      )}
      {pending && answerIn > 0 && sideOf(duel, streamId) === 'opponent' && (
        <div className="flex flex-col gap-2" data-testid="studio-duel-invitation">
          <p className="text-sm">{s('duelAdmin.invited', { n: Math.round(duel.seconds / 60) || 1, s: answerIn })}</p>
          <p className="text-xs text-muted">{s('duel.rule')}</p>
          <div className="flex gap-2">
            <Button onClick={() => void answer('duel:accept')}>{s('duelAdmin.accept')}</Button>
            <Button variant="secondary" onClick={() => void answer('duel:decline')}>{s('duelAdmin.decline')}</Button>
          </div>
        </div>
      )}
      {pending && answerIn > 0 && sideOf(duel, streamId) === 'challenger' && (
        <div className="flex flex-col gap-2" data-testid="studio-duel-waiting">
          <p className="text-sm">{s('duelAdmin.waiting', { s: answerIn })}</p>
          <Button variant="secondary" onClick={() => void answer('duel:decline')}>{s('duelAdmin.withdraw')}</Button>
        </div>
      )}
      {duel?.state === 'ended' && <DuelScoreboard duel={duel} streamId={streamId} s={s} />}
      {(duel?.state === 'declined' || duel?.state === 'expired') && (
        <p className="text-sm text-muted" data-testid="studio-duel-declined">{s(duel.state === 'declined' ? 'duelAdmin.declined' : 'duelAdmin.expired')}</p>
      )}
      {duel?.state !== 'live' && !(pending && answerIn > 0) && (
        <form onSubmit={(e) => void invite(e)} className="flex flex-col gap-2">
          <label className="flex flex-col gap-1 text-sm">
            {s('duelAdmin.opponent')}
            <select value={opponent} onChange={(e) => setOpponent(e.target.value)} className={input} required>
              <option value="">{s('duelAdmin.choose')}</option>
              {others.map((s) => (
                <option key={s.id} value={s.id}>
                  @{s.creatorHandle}: {s.title}
                </option>
              ))}
            </select>
          </label>
          <label className="flex flex-col gap-1 text-sm">
            {s('duelAdmin.seconds')}
            <input type="number" min={30} max={1800} value={seconds} onChange={(e) => setSeconds(e.target.value)} className={input} />
          </label>
          <p className="text-xs text-muted">{s('duel.rule')}</p>
          <Button type="submit" disabled={!opponent}>{s('duelAdmin.invite')}</Button>
        </form>
      )}
      <p role="status" className="min-h-4 text-xs text-warn" data-testid="duel-note">{note}</p>
    </section>
  );
}
