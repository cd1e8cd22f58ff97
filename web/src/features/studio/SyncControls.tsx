import { useState, type FormEvent } from 'react';
import { Button } from '@/components/ui/Button';
import { adminAckText } from './gameAdminStrings';
import { useGameStrings } from './useGameStrings';
import { emit } from '@/realtime/socket';
import { useStore } from '@/store';

/** The studio's StripSync: queue actions (one a line), see how the room weighs them, take
 * the next one (the heaviest), drop one. */
export function SyncControls({ streamId }: { streamId: string }) {
  const s = useGameStrings();
  const lang = useStore((s) => s.lang);
  const board = useStore((s) => s.rooms[streamId]?.sync ?? null);
  const patchRoom = useStore((s) => s.patchRoom);
  const [text, setText] = useState('');
  const [note, setNote] = useState<string | null>(null);
  const apply = (ack: Record<string, unknown>) => {
    if (Array.isArray(ack.queued) && Array.isArray(ack.picked)) patchRoom(streamId, { sync: { queued: ack.queued, picked: ack.picked } });
  };
  const queue = async (e: FormEvent) => {
    e.preventDefault();
    const actions = text.split('\n').map((l) => l.trim()).filter(Boolean);
    const ack = await emit('sync:queue', { streamId, actions });
    if (ack.ok) {
      setText('');
      apply(ack);
    }
    setNote(ack.ok ? null : adminAckText(lang, ack));
  };
  const next = async () => {
    const ack = await emit('sync:next', { streamId });
    setNote(ack.ok ? null : adminAckText(lang, ack));
  };
  const drop = async (actionId: string) => {
    const ack = await emit('sync:drop', { streamId, actionId });
    if (ack.ok) apply(ack);
    setNote(ack.ok ? null : adminAckText(lang, ack));
  };
  const last = board?.picked[board.picked.length - 1];
  return (
    <section aria-labelledby="sync-admin-title" className="flex flex-col gap-2 rounded-xl border border-line bg-panel p-3" data-testid="studio-sync">
      <h2 id="sync-admin-title" className="font-semibold">{s('syncAdmin.title')}</h2>
      {last && <p className="text-sm">{s('sync.now', { n: last.order ?? 0, label: last.label })}</p>}
      <ol className="flex flex-col gap-1 text-sm">
        {(board?.queued ?? []).map((a) => (
          <li key={a.id} className="flex items-center justify-between gap-2">
            <span className="min-w-0 truncate">
              {a.label} <span className="tabular-nums text-muted">{s('sync.points', { n: a.points })}</span>
            </span>
            <Button variant="secondary" onClick={() => void drop(a.id)} aria-label={s('syncAdmin.drop', { label: a.label })}>
              ×
            </Button>
          </li>
        ))}
      </ol>
      <Button onClick={() => void next()} disabled={!board?.queued.length}>{s('syncAdmin.next')}</Button>
      <form onSubmit={(e) => void queue(e)} className="flex flex-col gap-2">
        <label className="flex flex-col gap-1 text-sm">
          {s('syncAdmin.actions')}
          <textarea value={text} onChange={(e) => setText(e.target.value)} rows={3} className="rounded-lg border border-line bg-panel-2 p-2" />
        </label>
        <Button type="submit" variant="secondary" disabled={!text.trim()}>{s('syncAdmin.queue')}</Button>
      </form>
      <p role="status" className="min-h-4 text-xs text-warn">{note}</p>
    </section>
  );
}
