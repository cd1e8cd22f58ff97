import { Dialog, Tabs } from 'radix-ui';
import { Coins, X } from 'lucide-react';
import { useEffect } from 'react';
import { Link, useParams } from 'react-router';
import { useProfile, useStream, type StreamOut } from '@/api/queries';
import { ErrorNote, Loading, Page } from '@/components/ui/States';
import { useT } from '@/i18n';
import { useMediaQuery } from '@/lib/useMediaQuery';
import { holdRoom } from '@/realtime/socket';
import { ActivityFeed } from './ActivityFeed';
import { Chat } from './Chat';
import { GoalBar } from './GoalBar';
import { MoodStrip } from './MoodStrip';
import { OnlineUsers } from './OnlineUsers';
import { ShowsPanel } from './ShowsPanel';
import { TipBar } from './TipBar';
import { WatchPlayer } from './WatchPlayer';

function ProfileCard({ stream }: { stream: StreamOut }) {
  const t = useT();
  const profile = useProfile(stream.creatorHandle);
  return (
    <div className="flex min-w-0 items-center gap-3">
      {profile.data?.avatarUrl ? (
        <img src={profile.data.avatarUrl} alt="" className="size-10 rounded-full object-cover" />
      ) : (
        <span className="flex size-10 items-center justify-center rounded-full bg-panel-2 font-bold" aria-hidden>
          {stream.creatorHandle.slice(0, 1).toUpperCase()}
        </span>
      )}
      <div className="min-w-0">
        <h1 className="truncate text-lg font-bold" data-testid="stream-title">{stream.title}</h1>
        <Link to={`/u/${stream.creatorHandle}`} className="truncate text-sm text-muted hover:text-brand">
          @{stream.creatorHandle}
          {profile.data && <> · {t('profile.followers', { n: profile.data.followers })}</>}
        </Link>
      </div>
    </div>
  );
}

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
        <MoodStrip streamId={stream.id} />
        <GoalBar streamId={stream.id} />
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

function Mobile({ stream }: { stream: StreamOut }) {
  const t = useT();
  const live = stream.state === 'live';
  return (
    <main className="flex min-w-0 flex-1 flex-col gap-2 p-2 pb-24" data-layout="phone">
      <Tabs.Root defaultValue="public" className="flex flex-col gap-2">
        <Tabs.List aria-label={t('watch.tabs')} className="grid grid-cols-3 rounded-lg bg-panel p-1 text-sm">
          <Tabs.Trigger value="public" className="rounded-md py-2 data-[state=active]:bg-panel-2 data-[state=active]:text-brand">{t('watch.tabPublic')}</Tabs.Trigger>
          <Tabs.Trigger value="private" className="rounded-md py-2 data-[state=active]:bg-panel-2 data-[state=active]:text-brand">{t('watch.tabPrivate')}</Tabs.Trigger>
          <Tabs.Trigger value="ai" className="rounded-md py-2 data-[state=active]:bg-panel-2 data-[state=active]:text-brand">{t('watch.tabAi')}</Tabs.Trigger>
        </Tabs.List>
        <OnlineUsers streamId={stream.id} reel />
        <ProfileCard stream={stream} />
        <WatchPlayer stream={stream} mood={stream.mood} />
        <MoodStrip streamId={stream.id} />
        <GoalBar streamId={stream.id} />
        <Tabs.Content value="public" className="flex flex-col gap-2">
          <div className="max-h-40 overflow-hidden">
            <ActivityFeed streamId={stream.id} />
          </div>
          <Chat streamId={stream.id} compact />
        </Tabs.Content>
        <Tabs.Content value="private" className="rounded-xl border border-line bg-panel p-3">
          <ShowsPanel streamId={stream.id} />
        </Tabs.Content>
        <Tabs.Content value="ai" className="rounded-xl border border-line bg-panel p-3 text-sm text-muted">
          {t('watch.aiComing')}
        </Tabs.Content>
      </Tabs.Root>
      <Dialog.Root>
        <Dialog.Trigger asChild>
          <button type="button" className="fixed bottom-24 right-4 z-10 flex size-14 items-center justify-center rounded-full bg-warn text-black shadow-lg" aria-label={t('tip.open')} data-testid="tip-fab">
            <Coins className="size-6" aria-hidden />
          </button>
        </Dialog.Trigger>
        <Dialog.Portal>
          <Dialog.Overlay className="fixed inset-0 z-30 bg-black/60" />
          <Dialog.Content className="safe-bottom fixed inset-x-0 bottom-0 z-40 flex flex-col gap-3 rounded-t-2xl bg-panel p-4">
            <div className="flex items-center justify-between">
              <Dialog.Title className="font-bold">{t('tip.title')}</Dialog.Title>
              <Dialog.Close className="rounded-lg p-2" aria-label={t('common.close')}>
                <X className="size-5" aria-hidden />
              </Dialog.Close>
            </div>
            <Dialog.Description className="sr-only">{t('tip.title')}</Dialog.Description>
            <TipBar streamId={stream.id} live={live} />
          </Dialog.Content>
        </Dialog.Portal>
      </Dialog.Root>
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
  return desktop ? <Desktop stream={stream.data} /> : <Mobile stream={stream.data} />;
}
