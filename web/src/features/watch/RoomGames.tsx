import { emit } from '@/realtime/socket';
import { useStore } from '@/store';
import { DuelCard } from './DuelCard';
import { SyncCard } from './SyncCard';

/** The room's games beside the poll: the duel's scoreboard and StripSync (in the phone
 * layout's chunk, loaded on demand: most rooms have neither game). */
export function RoomGames({ streamId }: { streamId: string }) {
  const duel = useStore((s) => s.rooms[streamId]?.duel ?? null);
  const board = useStore((s) => s.rooms[streamId]?.sync ?? null);
  const lang = useStore((s) => s.lang);
  const signedIn = useStore((s) => s.me !== null);
  const setBalance = useStore((s) => s.setBalance);
  return (
    <>
      <DuelCard streamId={streamId} duel={duel} lang={lang} />
      <SyncCard streamId={streamId} board={board} lang={lang} signedIn={signedIn} emit={emit} onBalance={setBalance} />
    </>
  );
}
