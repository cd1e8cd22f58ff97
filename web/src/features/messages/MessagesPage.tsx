import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from '@/lib/router';
import { useSignedIn } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { Empty, ErrorNote, Loading } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings } from './strings';
import { useStore } from '@/store';
import { useConversations, useMarkRead, useMessages, useSend } from './hooks';

function Conversation({ id }: { id: string }) {
  const t = useT(strings);
  const lang = useStore((s) => s.lang);
  const messages = useMessages(id);
  const send = useSend(id);
  const read = useMarkRead(id);
  const [text, setText] = useState('');
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
            <p className="whitespace-pre-line break-words">{m.text}</p>
            <p className="text-xs text-muted">
              {new Date(m.createdAt).toLocaleTimeString(lang)}
              {m.mine && <span data-testid="receipt"> · {m.readState === 'read' ? t('messages.read') : t('messages.sent')}</span>}
            </p>
          </li>
        ))}
      </ol>
      {list.length === 0 && <Empty>{t('messages.none')}</Empty>}
      <form
        className="flex gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          if (text.trim()) send.mutate(text.trim(), { onSuccess: () => setText('') });
        }}
      >
        <label className="flex min-w-0 flex-1">
          <span className="sr-only">{t('messages.write')}</span>
          <input
            value={text}
            onChange={(e) => setText(e.target.value)}
            maxLength={2000}
            placeholder={t('messages.write')}
            className="min-h-10 w-full min-w-0 rounded-lg border border-line bg-panel-2 px-2"
          />
        </label>
        <Button type="submit" disabled={!text.trim() || send.isPending}>{t('comments.send')}</Button>
      </form>
      <ErrorNote error={send.error} />
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
          <Conversation id={conversationId} />
        </div>
      ) : (
        <p className="hidden text-muted md:block">{t('messages.pick')}</p>
      )}
    </main>
  );
}
