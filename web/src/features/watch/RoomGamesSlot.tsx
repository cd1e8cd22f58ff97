import { lazy, Suspense } from 'react';
import { useStore } from '@/store';

// From the phone layout's chunk, which the route already loads on demand: a chunk of its own
// would make the bundler split the watch route's shared chunks finer (bytes on its budget).
const RoomGames = lazy(() => import('./WatchMobile').then((m) => ({ default: m.RoomGames })));

/** Where the room's games show (loaded once the room has a duel or a StripSync board). */
export function RoomGamesSlot({ streamId }: { streamId: string }) {
  const shown = useStore((s) => Boolean(s.rooms[streamId]?.duel || s.rooms[streamId]?.sync));
  return shown ? (
    <Suspense fallback={null}>
      <RoomGames streamId={streamId} />
    </Suspense>
  ) : null;
}
