import { useEffect, useRef, useState } from 'react';
import { Link, useNavigate, useParams } from '@/lib/router';
import { useSignedIn } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { Empty, ErrorNote, Loading } from '@/components/ui/States';
import { useStrings, useT } from '@/i18n';
import { strings } from './strings';
import { strings as dmStrings } from './dmStrings';
import { useStore } from '@/store';
import { holdInbox } from '@/realtime/socket';
import { sendTyping, useAttach, useConversations, useMarkRead, useMessages, useSend, useTyping, useUnlock, type MessageOut } from './hooks';

const TYPING_SHOWN_MS = 4000;
const TYPING_EVERY_MS = 2500;

function Attachment({ m }: { m: MessageOut }) {
  const s = useStrings(dmStrings);
  const a = m.attachment;
  if (!a) return null;
  if (a.status !== 'clean' && !m.mine) return null;
  if (a.status !== 'clean') return <p className="text-xs text-muted" data-testid="attachment-status">{s(`attachment.${a.status}`)}</p>;
  return a.kind === 'image' ? (
    <img src={a.url} alt={s('attachment')} className="max-h-64 rounded-lg" loading="lazy" />
  ) : (
    <video src={a.url} controls className="max-h-64 rounded-lg" aria-label={s('attachment')} />
  );
}

function Conversation({ id, other, canPrice }: { id: string; other: string | null; canPrice: boolean }) {
  const t = useT(strings);
  const s = useStrings(dmStrings);
  const lang = useStore((s) => s.lang);
  const messages = useMessages(id);
  const send = useSend(id);
  const read = useMarkRead(id);
  const unlock = useUnlock(id);
  const attach = useAttach(id);
  const [text, setText] = useState('');
  const [price, setPrice] = useState('');
  const typingAt = useTyping(id).data;
  const [typingDone, setTypingDone] = useState<number | null>(null);
  const lastTyped = useRef(0);
  useEffect(() => {
    if (!typingAt) return;
    const timer = setTimeout(() => setTypingDone(typingAt), TYPING_SHOWN_MS);
    return () => clearTimeout(timer);
  }, [typingAt]);
  const typing = typingAt != null && typingDone !== typingAt;
  const newest = messages.data?.data[0]?.id;
  const { mutate: markRead } = read;
  // Reading the conversation marks the other side's messages read (their read receipts).
  useEffect(() => {
    if (newest) markRead();
  }, [newest, markRead]);
  if (messages.isPending) return <Loading />;
  if (messages.isError) return <ErrorNote error={messages.error} />;
  const list = [...messages.data.data].reverse();
  return (
    <section className="flex flex-col gap-2" aria-label={t('messages.conversation')}>
      <ol className="flex flex-col gap-2" data-testid="messages">
        {list.map((m) => (
          <li key={m.id} className={`max-w-[85%] rounded-xl px-3 py-2 ${m.mine ? 'self-end bg-brand/20' : 'self-start bg-panel-2'}`}>
            {m.locked ? (
              <p className="flex flex-wrap items-center gap-2">
                <span>{s('locked', { n: m.price ?? 0 })}</span>
                <Button type="button" disabled={unlock.isPending} onClick={() => unlock.mutate(m.id)}>
                  {s('unlock', { n: m.price ?? 0 })}
                </Button>
              </p>
            ) : (
              <p className="whitespace-pre-line break-words">{m.text}</p>
            )}
            <Attachment m={m} />
            {m.price != null && !m.locked && <p className="text-xs text-muted">{s('paid', { n: m.price })}</p>}
            <p className="text-xs text-muted">
              {new Date(m.createdAt).toLocaleTimeString(lang)}
              {m.mine && <span data-testid="receipt"> · {m.readState === 'read' ? t('messages.read') : t('messages.sent')}</span>}
            </p>
          </li>
        ))}
      </ol>
      {list.length === 0 && <Empty>{t('messages.none')}</Empty>}
      <ErrorNote error={unlock.error} />
      <p className="min-h-5 text-sm text-muted" aria-live="polite" data-testid="typing">
        {typing ? s('typing', { handle: other ? `@${other}` : '' }) : ''}
      </p>
      <form
        className="flex flex-wrap gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          const asked = Number(price);
          if (text.trim())
            send.mutate(
              { text: text.trim(), price: canPrice && asked > 0 ? asked : undefined },
              {
                onSuccess: () => {
                  setText('');
                  setPrice('');
                },
              },
            );
        }}
      >
        <label className="flex min-w-0 flex-1">
          <span className="sr-only">{t('messages.write')}</span>
          <input
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              const now = Date.now();
              if (now - lastTyped.current > TYPING_EVERY_MS) {
                lastTyped.current = now;
                sendTyping(id);
              }
            }}
            maxLength={2000}
            placeholder={t('messages.write')}
            className="min-h-10 w-full min-w-0 rounded-lg border border-line bg-panel-2 px-2"
          />
        </label>
        {canPrice && (
          <label className="flex w-28 flex-col text-xs text-muted">
            {s('price')}
            <input
              type="number"
              min={1}
              max={100000}
              inputMode="numeric"
              value={price}
              onChange={(e) => setPrice(e.target.value)}
              className="min-h-10 rounded-lg border border-line bg-panel-2 px-2 text-base text-fg"
            />
          </label>
        )}
        <Button type="submit" disabled={!text.trim() || send.isPending}>{t('comments.send')}</Button>
      </form>
      <form
        className="flex items-center gap-2"
        onChange={(e) => {
          const form = e.currentTarget;
          const input = form.elements.namedItem('file') as HTMLInputElement | null;
          if (input?.files?.length) attach.mutate(new FormData(form), { onSuccess: () => form.reset() });
        }}
        onSubmit={(e) => e.preventDefault()}
      >
        <label className="cursor-pointer text-sm text-brand underline">
          {attach.isPending ? s('attaching') : s('attach')}
          <input type="file" name="file" accept="image/*,video/*" className="sr-only" disabled={attach.isPending} />
        </label>
      </form>
      <ErrorNote error={send.error} />
      <ErrorNote error={attach.error} />
    </section>
  );
}

export default function MessagesPage() {
  const t = useT(strings);
  const { conversationId } = useParams();
  const { me, pending } = useSignedIn();
  const navigate = useNavigate();
  const conversations = useConversations(!!me);
  useEffect(() => {
    if (me) holdInbox(); // messages, receipts and typing arrive on the tab's socket
  }, [me]);
  useEffect(() => {
    if (!pending && !me) void navigate(`/signin?next=/messages`, { replace: true });
  }, [pending, me, navigate]);
  if (pending || !me) return <Loading />;
  const current = conversations.data?.find((c) => c.id === conversationId);
  return (
    <main className="mx-auto grid w-full max-w-4xl gap-4 p-4 md:grid-cols-[16rem_1fr]">
      <h1 className="text-2xl font-bold md:col-span-2">{t('messages.title')}</h1>
      <nav aria-label={t('messages.inbox')} className={conversationId ? 'hidden md:block' : ''}>
        {conversations.isPending ? (
          <Loading />
        ) : conversations.isError ? (
          <ErrorNote error={conversations.error} />
        ) : conversations.data.length === 0 ? (
          <Empty>{t('messages.empty')}</Empty>
        ) : (
          <ul className="flex flex-col gap-1">
            {conversations.data.map((c) => (
              <li key={c.id}>
                <Link
                  to={`/messages/${c.id}`}
                  aria-current={c.id === conversationId ? 'page' : undefined}
                  className="flex items-center justify-between gap-2 rounded-lg border border-line bg-panel p-2 hover:border-brand aria-[current=page]:border-brand"
                >
                  <span className="min-w-0">
                    <span className="block truncate font-semibold">{c.otherHandle ? `@${c.otherHandle}` : t('comments.erased')}</span>
                    <span className="block truncate text-sm text-muted">{c.lastText ?? ''}</span>
                  </span>
                  {c.unread > 0 && (
                    <span className="rounded-full bg-brand px-2 text-xs font-bold text-black" data-testid="unread">
                      {t('messages.unread', { n: c.unread })}
                    </span>
                  )}
                </Link>
              </li>
            ))}
          </ul>
        )}
      </nav>
      {conversationId ? (
        <div className="flex flex-col gap-2">
          <h2 className="font-semibold">{current?.otherHandle ? `@${current.otherHandle}` : t('messages.conversation')}</h2>
          <Conversation
            key={conversationId}
            id={conversationId}
            other={current?.otherHandle ?? null}
            canPrice={me.permissions.includes('content.upload')}
          />
        </div>
      ) : (
        <p className="hidden text-muted md:block">{t('messages.pick')}</p>
      )}
    </main>
  );
}
