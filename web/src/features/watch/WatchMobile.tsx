/** The phone's watch room: tabs (Public · Private · AI), the reel of people, the player and
 * chat, and the floating tip button's sheet. Its own chunk: the desktop never loads it. */
import { Dialog, Tabs } from 'radix-ui';
import { Coins, X } from 'lucide-react';
import type { StreamOut } from '@/api/queries';
import { useT } from '@/i18n';
import { ActivityFeed } from './ActivityFeed';
import { Chat } from './Chat';
import { GoalBar } from './GoalBar';
import { Milestones } from './Milestones';
import { ChatMood } from './ChatMood';
import { MoodStrip } from './MoodStrip';
import { PollCard } from './PollCard';
import { RoomGamesSlot } from './RoomGamesSlot';

export { RoomGames } from './RoomGames';
export { joinGames, listenGames } from '@/realtime/games';
import { OnlineUsers } from './OnlineUsers';
import { ProfileCard } from './ProfileCard';
import { ShowsPanel } from './ShowsPanel';
import { TipBar } from './TipBar';
import { WatchPlayer } from './WatchPlayer';


export default function WatchMobile({ stream }: { stream: StreamOut }) {
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
        <ChatMood streamId={stream.id} />
        <GoalBar streamId={stream.id} />
        <Milestones streamId={stream.id} />
        <MoodStrip streamId={stream.id} />
        <RoomGamesSlot streamId={stream.id} />
        <PollCard streamId={stream.id} />
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
