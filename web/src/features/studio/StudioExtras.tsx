/** The studio's further screens for one stream: performers and consent, the ticket show and
 * private show requests, posts with their scan status, chat safety and banned words, and the
 * stream's recordings. Loaded after the studio's first paint (its own chunk). */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, body, data, type Schemas } from '@/api/client';
import { keys } from '@/api/keys';
import { Button } from '@/components/ui/Button';
import { card, Select } from '@/components/ui/Console';
import { Field } from '@/components/ui/Field';
import { ErrorNote } from '@/components/ui/States';
import { useStrings } from '@/i18n';
import { useStore } from '@/store';
import { studioKeys } from './Checklist';
import { strings } from './extrasStrings';

type S = ReturnType<typeof useStrings<keyof typeof strings.en>>;

function Performers({ streamId, s }: { streamId: string; s: S }) {
  const client = useQueryClient();
  const me = useStore((st) => st.me);
  const [handle, setHandle] = useState('');
  const key = studioKeys.performers(streamId);
  const performers = useQuery({
    queryKey: key,
    queryFn: () => data(api.GET('/api/v1/streams/{stream_id}/performers', { params: { path: { stream_id: streamId } } })),
  });
  const refresh = () => client.invalidateQueries({ queryKey: key });
  const invite = useMutation({
    mutationFn: () => data(api.POST('/api/v1/streams/{stream_id}/performers', { params: { path: { stream_id: streamId } }, body: { handle } })),
    onSuccess: () => {
      setHandle('');
      void refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (userId: string) =>
      data(api.DELETE('/api/v1/streams/{stream_id}/performers/{user_id}', { params: { path: { stream_id: streamId, user_id: userId } } })),
    onSuccess: refresh,
  });
  const withdraw = useMutation({
    mutationFn: () => data(api.DELETE('/api/v1/streams/{stream_id}/consent', { params: { path: { stream_id: streamId } } })),
    onSuccess: refresh,
  });
  const list = performers.data;
  const mine = list?.performers.find((p) => p.userId === me?.id);
  return (
    <section className={card} aria-labelledby="performers-title" data-testid="performers">
      <h2 id="performers-title" className="font-semibold">
        {s('performers')}
      </h2>
      <ErrorNote error={performers.error} />
      <ul className="flex flex-col gap-1 text-sm">
        {list?.performers.map((p) => (
          <li key={p.handle} className="flex flex-wrap items-center gap-2">
            <span className="font-semibold">@{p.handle}</span>
            <span className="text-muted">
              {p.verified ? s('verified') : s('notVerified')} · {p.checkedIn ? s('checkedIn') : s('notCheckedIn')}
            </span>
            {p.role === 'co_performer' && p.userId && (
              <Button variant="ghost" onClick={() => remove.mutate(p.userId!)} aria-label={`${s('remove')} @${p.handle}`}>
                {s('remove')}
              </Button>
            )}
          </li>
        ))}
      </ul>
      {list && <p className="text-sm">{list.ready ? s('ready') : s('notReady')}</p>}
      <form
        className="flex flex-wrap items-end gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          invite.mutate();
        }}
      >
        <Field label={s('invite')} value={handle} onChange={(e) => setHandle(e.target.value.replace(/^@/, ''))} autoComplete="off" />
        <Button type="submit" variant="secondary" disabled={!handle || invite.isPending}>
          {s('add')}
        </Button>
      </form>
      <ErrorNote error={invite.error ?? remove.error ?? withdraw.error} />
      {mine?.checkedIn && (
        <Button variant="ghost" className="w-fit" onClick={() => withdraw.mutate()} disabled={withdraw.isPending}>
          {s('withdraw')}
        </Button>
      )}
    </section>
  );
}

function TicketShow({ streamId, s }: { streamId: string; s: S }) {
  const client = useQueryClient();
  const [title, setTitle] = useState('');
  const [price, setPrice] = useState('');
  const shows = useQuery({
    queryKey: keys.shows(streamId),
    queryFn: () => data(api.GET('/api/v1/streams/{stream_id}/shows', { params: { path: { stream_id: streamId } } })),
  });
  const current = shows.data?.ticketShow ?? null;
  const detail = useQuery({
    queryKey: ['studio', 'ticket-show', current?.id ?? ''],
    enabled: Boolean(current),
    queryFn: () => data(api.GET('/api/v1/ticket-shows/{show_id}', { params: { path: { show_id: current!.id } } })),
    refetchInterval: 5000,
  });
  const refresh = () => client.invalidateQueries({ queryKey: keys.shows(streamId) }).then(() => client.invalidateQueries({ queryKey: ['studio', 'ticket-show'] }));
  const announce = useMutation({
    mutationFn: () =>
      data(api.POST('/api/v1/streams/{stream_id}/ticket-shows', { params: { path: { stream_id: streamId } }, body: { title, price: Number(price) } })),
    onSuccess: () => {
      setTitle('');
      setPrice('');
      void refresh();
    },
  });
  const start = useMutation({
    mutationFn: (id: string) => data(api.POST('/api/v1/ticket-shows/{show_id}/start', { params: { path: { show_id: id } } })),
    onSuccess: refresh,
  });
  const close = useMutation({
    mutationFn: (id: string) => data(api.POST('/api/v1/ticket-shows/{show_id}/close', { params: { path: { show_id: id } } })),
    onSuccess: refresh,
  });
  const show = detail.data ?? current;
  const open = show && (show.state === 'announced' || show.state === 'running');
  return (
    <section className={card} aria-labelledby="ticket-title">
      <h2 id="ticket-title" className="font-semibold">
        {s('ticketShows')}
      </h2>
      {show && (
        <p className="text-sm" data-testid="ticket-show">
          {s('showState', { title: show.title, state: s(`state.${show.state}`), tickets: show.tickets })}
        </p>
      )}
      {open ? (
        <div className="flex flex-wrap gap-2">
          {show.state === 'announced' && (
            <Button onClick={() => start.mutate(show.id)} disabled={start.isPending}>
              {s('start')}
            </Button>
          )}
          <Button variant="secondary" onClick={() => close.mutate(show.id)} disabled={close.isPending}>
            {s('close')}
          </Button>
        </div>
      ) : (
        <form
          className="flex flex-wrap items-end gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            announce.mutate();
          }}
        >
          <Field label={s('showTitle')} value={title} onChange={(e) => setTitle(e.target.value)} />
          <Field label={s('showPrice')} type="number" min={1} value={price} onChange={(e) => setPrice(e.target.value)} />
          <Button type="submit" disabled={!title || !price || announce.isPending}>
            {s('announce')}
          </Button>
        </form>
      )}
      <ErrorNote error={shows.error ?? announce.error ?? start.error ?? close.error} />
    </section>
  );
}

function PrivateShowRow({ show, s }: { show: Schemas['PrivateShowOut']; s: S }) {
  const client = useQueryClient();
  const refresh = () => client.invalidateQueries({ queryKey: ['studio', show.streamId, 'private-shows'] });
  const detail = useQuery({
    queryKey: ['studio', 'private-show', show.id],
    enabled: show.state === 'running',
    queryFn: () => data(api.GET('/api/v1/private-shows/{show_id}', { params: { path: { show_id: show.id } } })),
    refetchInterval: 10_000,
  });
  const accept = useMutation({
    mutationFn: () => data(api.POST('/api/v1/private-shows/{show_id}/accept', { params: { path: { show_id: show.id } } })),
    onSuccess: refresh,
  });
  const end = useMutation({
    mutationFn: () => data(api.POST('/api/v1/private-shows/{show_id}/end', { params: { path: { show_id: show.id } } })),
    onSuccess: refresh,
  });
  const p = detail.data ?? show;
  return (
    <li className="flex flex-col gap-1 text-sm" data-testid="private-request">
      <p>{s('privateState', { state: s(`pstate.${p.state}`), price: p.pricePerMinute, minutes: p.billedMinutes })}</p>
      <div className="flex flex-wrap gap-2">
        {p.state === 'requested' && (
          <Button onClick={() => accept.mutate()} disabled={accept.isPending}>
            {s('accept')}
          </Button>
        )}
        <Button variant="secondary" onClick={() => end.mutate()} disabled={end.isPending}>
          {p.state === 'requested' ? s('decline') : s('end')}
        </Button>
      </div>
      <ErrorNote error={accept.error ?? end.error} />
    </li>
  );
}

function PrivateShows({ streamId, s }: { streamId: string; s: S }) {
  const queue = useQuery({
    queryKey: ['studio', streamId, 'private-shows'],
    queryFn: () => body(api.GET('/api/v1/streams/{stream_id}/private-shows', { params: { path: { stream_id: streamId } } })),
    refetchInterval: 5000,
  });
  return (
    <section className={card} aria-labelledby="private-show-title">
      <h2 id="private-show-title" className="font-semibold">
        {s('privateShow')}
      </h2>
      <ErrorNote error={queue.error} />
      {queue.data?.data.length === 0 && <p className="text-sm text-muted">{s('noRequests')}</p>}
      <ul className="flex flex-col gap-2">
        {queue.data?.data.map((show) => <PrivateShowRow key={show.id} show={show} s={s} />)}
      </ul>
    </section>
  );
}

function Posts({ s }: { s: S }) {
  const [posted, setPosted] = useState<string[]>([]);
  const upload = useMutation({
    mutationFn: (form: FormData) =>
      data(api.POST('/api/v1/posts', { body: form as never, bodySerializer: (b: unknown) => b as FormData })),
    onSuccess: (post) => setPosted((ids) => [post.id, ...ids]),
  });
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    upload.mutate(new FormData(form), { onSuccess: () => form.reset() });
  };
  return (
    <section className={card} aria-labelledby="posts-title">
      <h2 id="posts-title" className="font-semibold">
        {s('posts')}
      </h2>
      <form className="flex flex-col gap-2" onSubmit={onSubmit}>
        <Field label={s('file')} name="file" type="file" accept="image/*,video/*" required />
        <Field label={s('caption')} name="caption" />
        <Select label={s('audience')} name="audience" defaultValue="public">
          {(['public', 'followers', 'subscribers'] as const).map((a) => (
            <option key={a} value={a}>
              {s(`audience.${a}`)}
            </option>
          ))}
        </Select>
        <Select label={s('rating')} name="rating" defaultValue="sfw">
          <option value="sfw">SFW</option>
          <option value="adult">18+</option>
        </Select>
        <ErrorNote error={upload.error} />
        <Button type="submit" className="w-fit" disabled={upload.isPending}>
          {s('upload')}
        </Button>
      </form>
      <ul className="flex flex-col gap-1 text-sm">
        {posted.map((id) => (
          <PostStatus key={id} id={id} s={s} />
        ))}
      </ul>
    </section>
  );
}

function PostStatus({ id, s }: { id: string; s: S }) {
  const post = useQuery({
    queryKey: ['studio', 'post', id],
    queryFn: () => data(api.GET('/api/v1/posts/{post_id}', { params: { path: { post_id: id } } })),
    refetchInterval: (q) => (q.state.data?.status === 'pending' ? 2000 : false),
  });
  if (!post.data) return <ErrorNote error={post.error} />;
  return <li data-testid="post-status">{s('postStatus', { id: id.slice(0, 8), status: s(`status.${post.data.status}`) })}</li>;
}

function ChatSafety({ s }: { s: S }) {
  const client = useQueryClient();
  const safety = useQuery({ queryKey: ['studio', 'chat-safety'], queryFn: () => data(api.GET('/api/v1/chat/safety')) });
  const words = useQuery({ queryKey: ['studio', 'banned-words'], queryFn: () => data(api.GET('/api/v1/chat/banned-words')) });
  const [word, setWord] = useState('');
  const save = useMutation({
    mutationFn: (patch: Schemas['SafetyIn']) => data(api.PATCH('/api/v1/chat/safety', { body: patch })),
    onSuccess: (out) => client.setQueryData(['studio', 'chat-safety'], out),
  });
  const ban = useMutation({
    mutationFn: () => data(api.POST('/api/v1/chat/banned-words', { body: { word } })),
    onSuccess: () => {
      setWord('');
      void client.invalidateQueries({ queryKey: ['studio', 'banned-words'] });
    },
  });
  const unban = useMutation({
    mutationFn: (id: string) => data(api.DELETE('/api/v1/chat/banned-words/{word_id}', { params: { path: { word_id: id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ['studio', 'banned-words'] }),
  });
  const cur = safety.data;
  return (
    <section className={card} aria-labelledby="chat-safety-title">
      <h2 id="chat-safety-title" className="font-semibold">
        {s('chatSafety')}
      </h2>
      <ErrorNote error={safety.error ?? save.error} />
      {cur && (
        <div className="grid gap-2 sm:grid-cols-2">
          <Select label={s('reviewMode')} value={cur.reviewMode} onChange={(e) => save.mutate({ reviewMode: e.target.value as 'off' | 'hold' | 'delay' })}>
            {(['off', 'hold', 'delay'] as const).map((m) => (
              <option key={m} value={m}>
                {s(`review.${m}`)}
              </option>
            ))}
          </Select>
          {cur.reviewMode === 'delay' && (
            <Select label={s('delaySeconds')} value={cur.delaySeconds} onChange={(e) => save.mutate({ delaySeconds: Number(e.target.value) })}>
              {[2, 5, 10, 30].map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </Select>
          )}
          <Select label={s('bannedWordAction')} value={cur.bannedWordAction} onChange={(e) => save.mutate({ bannedWordAction: e.target.value as 'block' | 'hold' | 'mask' })}>
            {(['block', 'hold', 'mask'] as const).map((a) => (
              <option key={a} value={a}>
                {s(`action.${a}`)}
              </option>
            ))}
          </Select>
          <Select label={s('profanity')} value={cur.profanityAction} onChange={(e) => save.mutate({ profanityAction: e.target.value as 'off' | 'block' | 'hold' | 'mask' })}>
            {(['off', 'block', 'hold', 'mask'] as const).map((a) => (
              <option key={a} value={a}>
                {s(`action.${a}`)}
              </option>
            ))}
          </Select>
        </div>
      )}
      {save.isSuccess && (
        <p role="status" className="text-sm text-brand">
          {s('saved')}
        </p>
      )}
      <h3 className="text-sm font-semibold">{s('bannedWords')}</h3>
      {words.data?.length === 0 && <p className="text-sm text-muted">{s('noWords')}</p>}
      <ul className="flex flex-wrap gap-1">
        {words.data?.map((w) => (
          <li key={w.id}>
            <button
              type="button"
              className="min-h-8 rounded-full border border-line bg-panel-2 px-3 text-sm hover:bg-line"
              onClick={() => unban.mutate(w.id)}
              aria-label={s('unban', { word: w.word })}
            >
              {w.word} ×
            </button>
          </li>
        ))}
      </ul>
      <form
        className="flex flex-wrap items-end gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          ban.mutate();
        }}
      >
        <Field label={s('newWord')} value={word} onChange={(e) => setWord(e.target.value)} autoComplete="off" />
        <Button type="submit" variant="secondary" disabled={!word || ban.isPending}>
          {s('ban')}
        </Button>
      </form>
      <ErrorNote error={words.error ?? ban.error ?? unban.error} />
    </section>
  );
}

function Recordings({ streamId, s }: { streamId: string; s: S }) {
  const vods = useQuery({
    queryKey: ['studio', streamId, 'vods'],
    queryFn: () => body(api.GET('/api/v1/streams/{stream_id}/vods', { params: { path: { stream_id: streamId } } })),
  });
  return (
    <section className={card} aria-labelledby="vods-title">
      <h2 id="vods-title" className="font-semibold">
        {s('recordings')}
      </h2>
      <ErrorNote error={vods.error} />
      {vods.data?.data.length === 0 && <p className="text-sm text-muted">{s('noRecordings')}</p>}
      <ul className="flex flex-col gap-1 text-sm">
        {vods.data?.data.map((v) => (
          <li key={v.id} className="flex flex-wrap justify-between gap-2">
            <span>{s('recording', { when: new Date(v.startedAt).toLocaleString(), minutes: Math.round((v.durationSeconds ?? 0) / 60) })}</span>
            <a className="text-brand underline" href={v.playbackUrl}>
              {s('play')}
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}

export default function StudioExtras({ streamId }: { streamId: string }) {
  const s = useStrings(strings);
  return (
    <>
      <Performers streamId={streamId} s={s} />
      <TicketShow streamId={streamId} s={s} />
      <PrivateShows streamId={streamId} s={s} />
      <Posts s={s} />
      <ChatSafety s={s} />
      <Recordings streamId={streamId} s={s} />
    </>
  );
}
