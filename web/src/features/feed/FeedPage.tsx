import { Heart, MessageCircle, EyeOff } from 'lucide-react';
import { useState } from 'react';
import { Link } from '@/lib/router';
import { Button } from '@/components/ui/Button';
import { Empty, ErrorNote, Loading } from '@/components/ui/States';
import { useT, type Key } from '@/i18n';
import { strings as discover } from '@/features/discover/strings';
import { strings } from './strings';
import { useStore } from '@/store';
import { Comments } from './Comments';
import { useFeed, useLike, useLikes, useStories, type FeedItem } from './hooks';
import { StoryComposer, StoryRow } from './Stories';

const MOODS = ['calm', 'playful', 'flirty', 'intense', 'chill', 'dreamy', 'energetic', 'mysterious'] as const;

function PostCard({ item }: { item: FeedItem }) {
  const t = useT(strings, discover);
  const me = useStore((s) => s.me);
  const post = item.post!;
  const [open, setOpen] = useState(false);
  const likes = useLikes(item.id, open);
  const like = useLike(item.id);
  const state = like.data ?? likes.data ?? { likes: post.likes, comments: post.comments, likedByMe: post.likedByMe };
  const blurred = item.visibility === 'blurred';
  return (
    <article className="overflow-hidden rounded-xl border border-line bg-panel" aria-label={t('social.postBy', { handle: item.creatorHandle })} data-testid="feed-post">
      <header className="flex items-center justify-between gap-2 p-3 text-sm">
        <Link to={`/u/${item.creatorHandle}`} className="font-semibold hover:text-brand">@{item.creatorHandle}</Link>
        <span className="text-muted">{t(`social.reason.${item.reason}` as Key)}</span>
      </header>
      <div className="relative bg-panel-2">
        <img src={post.previewUrl} alt={post.caption || t('social.post')} loading="lazy" className="max-h-[70vh] w-full object-contain" />
        {blurred && (
          <p className="absolute inset-x-0 bottom-0 flex items-center gap-2 bg-black/70 p-2 text-sm">
            <EyeOff className="size-4" aria-hidden /> {t('social.blurred')}
          </p>
        )}
      </div>
      {post.caption && <p className="px-3 pt-2">{post.caption}</p>}
      <div className="flex items-center gap-2 p-2">
        <Button
          variant="ghost"
          aria-pressed={state.likedByMe}
          disabled={!me || like.isPending}
          onClick={() => like.mutate(!state.likedByMe)}
        >
          <Heart className={`size-4 ${state.likedByMe ? 'fill-current text-brand' : ''}`} aria-hidden />
          <span className="sr-only">{state.likedByMe ? t('social.unlike') : t('social.like')}</span>
          <span data-testid="likes">{state.likes}</span>
        </Button>
        <Button variant="ghost" aria-expanded={open} onClick={() => setOpen(!open)} aria-label={t('social.comments', { n: state.comments })}>
          <MessageCircle className="size-4" aria-hidden /> {state.comments}
        </Button>
      </div>
      <ErrorNote error={like.error} className="m-2" />
      {open && (
        <div className="border-t border-line p-3">
          <Comments postId={item.id} />
        </div>
      )}
    </article>
  );
}

function StreamCard({ item }: { item: FeedItem }) {
  const t = useT(strings, discover);
  const s = item.stream!;
  return (
    <article className="overflow-hidden rounded-xl border border-line bg-panel" data-testid="feed-stream">
      <Link to={s.watchUrl} className="group block">
        <div className="relative aspect-video bg-panel-2">
          <img src={s.posterUrl} alt="" loading="lazy" className={`size-full object-cover ${item.visibility === 'blurred' ? 'blur-xl' : ''}`} />
          <span className="absolute left-2 top-2 rounded bg-live px-2 py-0.5 text-xs font-bold uppercase text-white">{t('watch.live')}</span>
        </div>
        <div className="p-3">
          <p className="truncate font-semibold group-hover:text-brand">{s.title}</p>
          <p className="truncate text-sm text-muted">
            @{item.creatorHandle} · {t(`social.reason.${item.reason}` as Key)}
            {s.mood ? ` · ${t(`mood.${s.mood}` as Key)}` : ''}
          </p>
        </div>
      </Link>
    </article>
  );
}

export default function FeedPage() {
  const t = useT(strings, discover);
  const [mood, setMood] = useState('');
  const feed = useFeed(mood);
  const me = useStore((s) => s.me);
  const stories = useStories(!!me);
  const items = feed.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <main className="mx-auto flex w-full max-w-xl flex-col gap-4 p-4">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h1 className="text-2xl font-bold">{t('social.title')}</h1>
        <label className="flex items-center gap-2 text-sm">
          <span>{t('social.mood')}</span>
          <select value={mood} onChange={(e) => setMood(e.target.value)} className="min-h-10 rounded-lg border border-line bg-panel-2 px-2">
            <option value="">{t('discover.any')}</option>
            {MOODS.map((m) => (
              <option key={m} value={m}>{t(`mood.${m}` as Key)}</option>
            ))}
          </select>
        </label>
      </div>
      {stories.data && <StoryRow stories={stories.data} label={t('stories.title')} />}
      {me?.permissions.includes('content.upload') && <StoryComposer />}
      {feed.isPending ? (
        <Loading />
      ) : feed.isError ? (
        <ErrorNote error={feed.error} />
      ) : items.length === 0 ? (
        <Empty>{t('social.empty')}</Empty>
      ) : (
        <ul className="flex flex-col gap-4" aria-label={t('social.title')}>
          {items.map((item) => (
            <li key={`${item.kind}-${item.id}`}>{item.kind === 'post' ? <PostCard item={item} /> : <StreamCard item={item} />}</li>
          ))}
        </ul>
      )}
      {feed.hasNextPage && (
        <Button variant="secondary" disabled={feed.isFetchingNextPage} onClick={() => void feed.fetchNextPage()}>{t('common.more')}</Button>
      )}
    </main>
  );
}
