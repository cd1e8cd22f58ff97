import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from '@/lib/router';
import { useT } from '@/i18n';
import { emit } from '@/realtime/socket';
import { useStore } from '@/store';

interface Presence {
  count: number;
  users: { id: string; handle: string }[];
}

function usePresence(streamId: string) {
  const joined = useStore((s) => Boolean(s.rooms[streamId]?.joined));
  return useQuery({
    queryKey: ['presence', streamId],
    enabled: joined,
    refetchInterval: 10_000,
    queryFn: async (): Promise<Presence> => {
      const ack = await emit('chat:presence', { streamId });
      return ack.ok ? { count: Number(ack.count), users: (ack.users as Presence['users']) ?? [] } : { count: 0, users: [] };
    },
  });
}

/** Zone 1 (desktop) / the horizontal reel (phone): who is in the room. */
export function OnlineUsers({ streamId, reel = false }: { streamId: string; reel?: boolean }) {
  const t = useT();
  const presence = usePresence(streamId);
  const [filter, setFilter] = useState('');
  const users = (presence.data?.users ?? []).filter((u) => u.handle.toLowerCase().includes(filter.toLowerCase()));
  if (reel) {
    return (
      // A scrollable region must take the keyboard focus (arrow keys scroll it).
      <ul className="flex gap-3 overflow-x-auto px-1 py-2" aria-label={t('online.title')} data-testid="online-reel" tabIndex={0}>
        {users.map((u) => (
          <li key={u.id} className="flex w-14 shrink-0 flex-col items-center gap-1 text-xs">
            <span className="flex size-11 items-center justify-center rounded-full bg-panel-2 text-base font-bold ring-2 ring-brand">{u.handle.slice(0, 1).toUpperCase()}</span>
            <span className="w-full truncate text-center">{u.handle}</span>
          </li>
        ))}
        {!users.length && <li className="text-xs text-muted">{t('online.empty')}</li>}
      </ul>
    );
  }
  return (
    <section aria-label={t('online.title')} className="flex min-h-0 flex-col rounded-xl border border-line bg-panel p-3">
      <h2 className="mb-2 flex items-center justify-between text-sm font-semibold uppercase tracking-wide text-muted">
        {t('online.title')} <span className="rounded bg-live px-1.5 text-[10px] text-white">{t('watch.live')}</span>
      </h2>
      <input value={filter} onChange={(e) => setFilter(e.target.value)} placeholder={t('online.filter')} aria-label={t('online.filter')} className="mb-2 min-h-9 rounded-lg border border-line bg-panel-2 px-2 text-sm" />
      <p className="mb-1 text-xs text-muted">{t('watch.watching', { n: presence.data?.count ?? 0 })}</p>
      <ul className="flex min-h-0 flex-col gap-1 overflow-y-auto text-sm" data-testid="online-users">
        {users.map((u) => (
          <li key={u.id}>
            <Link to={`/u/${u.handle}`} className="block truncate rounded px-2 py-1 hover:bg-panel-2">@{u.handle}</Link>
          </li>
        ))}
      </ul>
    </section>
  );
}
