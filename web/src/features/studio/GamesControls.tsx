import { DuelControls } from './DuelControls';
import { Moments } from './Moments';
import { SyncControls } from './SyncControls';

/** The studio's room games: duels, StripSync and trending moments (one lazy chunk). */
export function GamesControls({ streamId }: { streamId: string }) {
  return (
    <>
      <DuelControls streamId={streamId} />
      <SyncControls streamId={streamId} />
      <Moments streamId={streamId} />
    </>
  );
}
