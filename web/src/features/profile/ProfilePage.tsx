import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Heart, Lock } from 'lucide-react';
import { lazy, Suspense } from 'react';
import { Link, useNavigate, useParams } from '@/lib/router';
import { api, data, idempotencyKey } from '@/api/client';
import { keys } from '@/api/keys';
import { useMemberMood } from '@/api/ai';
import { useTwin } from '@/api/companions';
import { useProfile } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { Empty, ErrorNote, Loading, Page } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings } from './strings';
import { useStore } from '@/store';
import { useBlock, useBlocks, useCreatorStories } from '@/features/feed/hooks';
import { StoryRow } from '@/features/feed/Stories';
import { useOpenConversation } from '@/features/messages/hooks';

// Tip, followers and following, report: after the first paint.
const ProfileExtras = lazy(() => import('./ProfileExtras'));

function Tiers({ creatorId }: { creatorId: string }) {
  const t = useT(strings);
  const me = useStore((s) => s.me);
  const client = useQueryClient();
  const tiers = useQuery({
    queryKey: keys.tiers(creatorId),
    queryFn: () => data(api.GET('/api/v1/creators/{creator_id}/tiers', { params: { path: { creator_id: creatorId } } })),
  });
  const subscribe = useMutation({
    mutationFn: (tierId: string) =>
      data(
        api.POST('/api/v1/creators/{creator_id}/subscribe', {
          params: { path: { creator_id: creatorId }, header: { 'Idempotency-Key': idempotencyKey() } },
          body: { tierId },
        }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.balance });
      void client.invalidateQueries({ queryKey: keys.subscriptions });
    },
  });
  if (!tiers.data?.length) return null;
  return (
    <section aria-label={t('profile.tiers')} className="flex flex-col gap-2">
      <h2 className="font-semibold">{t('profile.tiers')}</h2>
      <ul className="grid gap-2 sm:grid-cols-2">
        {tiers.data.map((tier) => (
          <li key={tier.id} className="flex items-center justify-between gap-2 rounded-xl border border-line bg-panel p-3">
            <span>
              <span className="block font-semibold">{tier.name}</span>
              <span className="text-sm text-muted">{t('profile.perMonth', { n: tier.price })}</span>
            </span>
            <Button disabled={!me || subscribe.isPending} onClick={() => subscribe.mutate(tier.id)}>
              {t('profile.subscribe')}
            </Button>
          </li>
        ))}
      </ul>
      {subscribe.isSuccess && <p role="status" className="text-ok">{t('profile.subscribed')}</p>}
      <ErrorNote error={subscribe.error} />
    </section>
  );
}

function Posts({ creatorId }: { creatorId: string }) {
  const t = useT(strings);
  const posts = useQuery({
    queryKey: keys.posts(creatorId),
    queryFn: () => data(api.GET('/api/v1/posts', { params: { query: { creator: creatorId } as never } })),
  });
  if (posts.isPending) return <Loading />;
  if (posts.isError) return <ErrorNote error={posts.error} />;
  if (!posts.data.length) return <Empty>{t('profile.noPosts')}</Empty>;
  return (
    <ul className="grid grid-cols-3 gap-1" aria-label={t('profile.posts')}>
      {posts.data.map((p) => (
        <li key={p.id} className="relative aspect-square overflow-hidden rounded-md bg-panel-2">
          {p.previewUrl ? <img src={p.previewUrl} alt={p.caption ?? ''} className="size-full object-cover" loading="lazy" /> : <Lock className="m-auto size-6 text-muted" aria-label={t('profile.locked')} />}
        </li>
      ))}
    </ul>
  );
}

export default function ProfilePage() {
  const { handle = '' } = useParams();
  const t = useT(strings);
  const me = useStore((s) => s.me);
  const client = useQueryClient();
  const profile = useProfile(handle);
  const mood = useMemberMood(handle);
  const blocks = useBlocks(!!me && me.handle !== handle);
  const block = useBlock(handle);
  const blocked = !!blocks.data?.some((b) => b.handle === handle);
  const stories = useCreatorStories(handle);
  const twin = useTwin(handle, !!me?.permissions.includes('ai.basic') && me.handle !== handle);
  const talk = useOpenConversation();
  const navigate = useNavigate();
  const follow = useMutation({
    mutationFn: (on: boolean) =>
      on
        ? data(api.POST('/api/v1/users/{handle}/follow', { params: { path: { handle } } }))
        : data(api.DELETE('/api/v1/users/{handle}/follow', { params: { path: { handle } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.profile(handle) }),
  });
  if (profile.isPending) return <Loading />;
  if (profile.isError) return <Page title={`@${handle}`}><ErrorNote error={profile.error} /></Page>;
  const p = profile.data;
  return (
    <main className="mx-auto flex w-full max-w-3xl flex-col gap-4 p-4">
      <div
        className="h-28 rounded-xl bg-gradient-to-r from-brand/40 to-mood-dreamy/40"
        style={mood.data?.mood ? { backgroundImage: `linear-gradient(to right, var(--color-brand), var(--color-mood-${mood.data.mood}))`, opacity: 0.5 } : undefined}
        data-mood={mood.data?.mood ?? undefined}
        data-testid="profile-colour"
        aria-hidden
      />
      <div className="-mt-12 flex items-end gap-3 px-2">
        {p.avatarUrl ? (
          <img src={p.avatarUrl} alt="" className="size-20 rounded-full border-4 border-ink object-cover" />
        ) : (
          <span className="flex size-20 items-center justify-center rounded-full border-4 border-ink bg-panel-2 text-2xl font-bold" aria-hidden>{p.handle.slice(0, 1).toUpperCase()}</span>
        )}
        <div className="min-w-0 flex-1">
          <h1 className="truncate text-xl font-bold">{p.displayName || p.handle}</h1>
          <p className="text-sm text-muted">@{p.handle} · <span data-testid="followers">{t('profile.followers', { n: p.followers })}</span></p>
        </div>
        {me && me.handle !== p.handle && (
          <Button variant="secondary" onClick={() => follow.mutate(true)} disabled={follow.isPending}>
            <Heart className="size-4" aria-hidden /> {t('profile.follow')}
          </Button>
        )}
        {me?.permissions.includes('dm.send') && me.handle !== p.handle && !blocked && (
          <Button variant="secondary" disabled={talk.isPending} onClick={() => talk.mutate(p.handle, { onSuccess: (c) => void navigate(`/messages/${c.id}`) })}>
            {t('profile.message')}
          </Button>
        )}
        {twin.data && (
          <Link to={`/ai/twin/${p.handle}`} className="inline-flex min-h-10 items-center rounded-lg border border-line px-4 py-2 text-sm font-semibold hover:bg-panel-2">
            {t('twin.ask')}
          </Link>
        )}
        {me && me.handle !== p.handle && (
          <Button variant="ghost" onClick={() => block.mutate(!blocked)} disabled={block.isPending || blocks.isPending}>
            {blocked ? t('profile.unblock') : t('profile.block')}
          </Button>
        )}
      </div>
      {p.bio && <p className="whitespace-pre-line">{p.bio}</p>}
      {stories.data && <StoryRow stories={stories.data} label={t('profile.stories')} />}
      {blocked && <p role="status" className="text-sm text-muted">{t('profile.blocked')}</p>}
      <ErrorNote error={follow.error ?? block.error ?? talk.error} />
      {p.creator && <Tiers creatorId={p.id} />}
      <Suspense fallback={null}>
        <ProfileExtras profile={p} />
      </Suspense>
      {p.creator && (
        <section className="flex flex-col gap-2">
          <h2 className="font-semibold">{t('profile.posts')}</h2>
          <Posts creatorId={p.id} />
        </section>
      )}
    </main>
  );
}
