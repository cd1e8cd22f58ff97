import { lazy, Suspense, useEffect } from 'react';
import { useParams } from '@/lib/router';
import { useStream, type StreamOut } from '@/api/queries';
import { ErrorNote, Loading, Page } from '@/components/ui/States';
import { useT } from '@/i18n';
import { useMediaQuery } from '@/lib/useMediaQuery';
import { holdRoom } from '@/realtime/socket';
import { ActivityFeed } from './ActivityFeed';
import { Chat } from './Chat';
import { GoalBar } from './GoalBar';
import { Milestones } from './Milestones';
import { ChatMood } from './ChatMood';
import { MoodStrip } from './MoodStrip';
import { PollCard } from './PollCard';
import { RoomGamesSlot } from './RoomGamesSlot';
import { OnlineUsers } from './OnlineUsers';
import { ProfileCard } from './ProfileCard';
import { ShowsPanel } from './ShowsPanel';
import { TipBar } from './TipBar';
import { WatchPlayer } from './WatchPlayer';


// The phone's layout (with Radix's tabs and dialog) is a chunk of its own.
const Mobile = lazy(() => import('./WatchMobile'));

function Desktop({ stream }: { stream: StreamOut }) {
  const live = stream.state === 'live';
  return (
    <main className="grid min-h-0 flex-1 grid-cols-[240px_minmax(0,1fr)_300px] grid-rows-[minmax(0,1fr)_auto] gap-3 p-3" data-layout="desktop">
      <div className="row-span-2 flex min-h-0 flex-col">
        <OnlineUsers streamId={stream.id} />
      </div>
      <div className="flex min-w-0 flex-col gap-3">
        <ProfileCard stream={stream} />
        <WatchPlayer stream={stream} mood={stream.mood} />
        <ChatMood streamId={stream.id} />
        <GoalBar streamId={stream.id} />
        <Milestones streamId={stream.id} />
        <MoodStrip streamId={stream.id} />
        <RoomGamesSlot streamId={stream.id} />
        <PollCard streamId={stream.id} />
        <ShowsPanel streamId={stream.id} />
      </div>
      <div className="row-span-2 flex min-h-0 flex-col gap-3">
        <div className="max-h-72 min-h-0 shrink-0 overflow-hidden">
          <ActivityFeed streamId={stream.id} />
        </div>
        <Chat streamId={stream.id} />
      </div>
      <div className="min-h-[140px] rounded-xl border border-line bg-panel p-3">
        <TipBar streamId={stream.id} live={live} />
      </div>
    </main>
  );
}

/** The watch room: desktop's four zones, or the phone's single column with tabs. */
export default function WatchPage() {
  const { streamId = '' } = useParams();
  const t = useT();
  const stream = useStream(streamId);
  const desktop = useMediaQuery('(min-width: 1024px)');
  useEffect(() => holdRoom(streamId), [streamId]);
  useEffect(() => {
    if (stream.data) document.title = `${stream.data.title} — TeezU Live`;
  }, [stream.data]);
  if (stream.isPending) return <Loading />;
  if (stream.isError && !stream.data) {
    return (
      <Page title={t('watch.unavailable')}>
        <ErrorNote error={stream.error} />
      </Page>
    );
  }
  return desktop ? (
    <Desktop stream={stream.data} />
  ) : (
    <Suspense fallback={<Loading />}>
      <Mobile stream={stream.data} />
    </Suspense>
  );
}
