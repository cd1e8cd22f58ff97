import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { keys } from '@/api/keys';
import { useStreamPolls } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { PollResults, useSecondsLeft } from '@/features/watch/PollCard';
import { useT } from '@/i18n';
import { strings } from './strings';
import { ackText } from '@/realtime/ackText';
import { emit } from '@/realtime/socket';
import { useStore } from '@/store';

const input = 'min-h-10 rounded-lg border border-line bg-panel-2 px-2';

/** The studio's polls and challenges: open one, watch its tally, close it early; recent
 * results. The room hears every change over Socket.IO. */
export function PollControls({ streamId }: { streamId: string }) {
  const t = useT(strings);
  const lang = useStore((s) => s.lang);
  const client = useQueryClient();
  const poll = useStore((s) => s.rooms[streamId]?.poll ?? null);
  const recent = useStreamPolls(streamId);
  const [kind, setKind] = useState<'poll' | 'challenge'>('poll');
  const [question, setQuestion] = useState('');
  const [options, setOptions] = useState(['', '']);
  const [seconds, setSeconds] = useState('60');
  const [weighted, setWeighted] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const open = poll?.state === 'open';
  const secs = useSecondsLeft(open ? poll.deadline : null);
  useEffect(() => {
    if (poll?.state === 'closed') void client.invalidateQueries({ queryKey: keys.polls(streamId) });
  }, [client, poll?.id, poll?.state, streamId]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const ack = await emit('poll:open', { streamId, kind, question, options, seconds: Number(seconds), weighted });
    if (ack.ok) {
      setQuestion('');
      setOptions(['', '']);
      setNote(null);
      void client.invalidateQueries({ queryKey: keys.polls(streamId) });
    } else setNote(ackText(lang, ack));
  };
  const closeNow = async () => {
    if (!poll) return;
    const ack = await emit('poll:close', { streamId, pollId: poll.id });
    setNote(ack.ok ? null : ackText(lang, ack));
  };
  return (
    <section aria-labelledby="polls-title" className="flex flex-col gap-2 rounded-xl border border-line bg-panel p-3" data-testid="studio-polls">
      <h2 id="polls-title" className="font-semibold">{t('pollAdmin.title')}</h2>
      {open ? (
        <div className="flex flex-col gap-2" data-testid="studio-poll-open">
          <p className="flex justify-between gap-2 text-sm">
            <span className="min-w-0 truncate">{poll.question}</span>
            <span className="shrink-0 tabular-nums text-muted">{t('poll.secondsLeft', { n: secs })}</span>
          </p>
          <PollResults poll={poll} />
          <Button variant="secondary" onClick={() => void closeNow()}>{t('pollAdmin.closeNow')}</Button>
        </div>
      ) : (
        <form className="flex flex-col gap-2" onSubmit={(e) => void submit(e)}>
          <div className="flex flex-wrap gap-2">
            <label className="flex flex-col gap-1 text-sm">
              {t('pollAdmin.kind')}
              <select value={kind} onChange={(e) => setKind(e.target.value as 'poll' | 'challenge')} className={input}>
                <option value="poll">{t('poll.poll')}</option>
                <option value="challenge">{t('poll.challenge')}</option>
              </select>
            </label>
            <label className="flex min-w-0 flex-1 flex-col gap-1 text-sm">
              {t('pollAdmin.question')}
              <input value={question} onChange={(e) => setQuestion(e.target.value)} required maxLength={200} className={input} />
            </label>
          </div>
          {options.map((o, i) => (
            <div key={i} className="flex items-end gap-2">
              <label className="flex min-w-0 flex-1 flex-col gap-1 text-sm">
                {t('pollAdmin.option', { n: i + 1 })}
                <input value={o} onChange={(e) => setOptions(options.map((x, j) => (j === i ? e.target.value : x)))} required maxLength={80} className={input} />
              </label>
              {options.length > 2 && (
                <Button variant="secondary" onClick={() => setOptions(options.filter((_, j) => j !== i))} aria-label={t('pollAdmin.removeOption', { n: i + 1 })}>
                  ×
                </Button>
              )}
            </div>
          ))}
          <div className="flex flex-wrap items-end gap-2">
            {options.length < 6 && (
              <Button variant="secondary" onClick={() => setOptions([...options, ''])}>{t('pollAdmin.addOption')}</Button>
            )}
            <label className="flex w-40 flex-col gap-1 text-sm">
              {t('pollAdmin.seconds')}
              <input type="number" min={5} max={3600} value={seconds} onChange={(e) => setSeconds(e.target.value)} required className={input} />
            </label>
            <label className="flex items-center gap-2 text-sm">
              <input type="checkbox" checked={weighted} onChange={(e) => setWeighted(e.target.checked)} />
              {t('pollAdmin.weighted')}
            </label>
            <Button type="submit">{t('pollAdmin.open')}</Button>
          </div>
          <p className="text-xs text-muted">{t('pollAdmin.rule')}</p>
        </form>
      )}
      <p role="status" className="min-h-4 text-xs text-warn">{note ?? ''}</p>
      <h3 className="text-sm text-muted">{t('pollAdmin.recent')}</h3>
      {recent.data?.length ? (
        <ul className="flex flex-col gap-1 text-sm" data-testid="studio-poll-history">
          {recent.data
            .filter((p) => p.state === 'closed')
            .map((p) => (
              <li key={p.id} className="flex justify-between gap-2">
                <span className="min-w-0 truncate">{p.question}</span>
                <span className="shrink-0 text-muted">
                  {p.winner !== null && p.winner !== undefined ? t('poll.won', { option: p.options[p.winner] ?? '' }) : p.tie ? t('poll.tie') : t('poll.noVotes')}
                </span>
              </li>
            ))}
        </ul>
      ) : (
        <p className="text-sm text-muted">{t('pollAdmin.none')}</p>
      )}
    </section>
  );
}
