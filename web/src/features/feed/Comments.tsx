import { useState } from 'react';
import { Button } from '@/components/ui/Button';
import { ErrorNote, Loading } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings } from '@/features/messages/strings';
import { useStore } from '@/store';
import { useAddComment, useApproveComment, useComments, useRemoveComment, type CommentOut } from './hooks';

const MAX = 1000;

function CommentForm({ postId, parentId, label }: { postId: string; parentId?: string; label: string }) {
  const t = useT(strings);
  const [text, setText] = useState('');
  const add = useAddComment(postId);
  return (
    <form
      className="flex flex-col gap-1"
      onSubmit={(e) => {
        e.preventDefault();
        if (text.trim()) add.mutate({ text: text.trim(), parentId }, { onSuccess: () => setText('') });
      }}
    >
      <label className="flex flex-col gap-1 text-sm">
        <span className="sr-only">{label}</span>
        <textarea
          value={text}
          onChange={(e) => setText(e.target.value)}
          maxLength={MAX}
          rows={2}
          placeholder={label}
          className="rounded-lg border border-line bg-panel-2 p-2"
        />
      </label>
      <div className="flex items-center justify-between gap-2">
        <span className="text-xs text-muted">{t('comments.left', { n: MAX - text.length })}</span>
        <Button type="submit" disabled={!text.trim() || add.isPending}>{t('comments.send')}</Button>
      </div>
      {add.data?.held && <p role="status" className="text-sm text-muted">{t('comments.held')}</p>}
      <ErrorNote error={add.error} />
    </form>
  );
}

function Comment({ c, postId, canReply }: { c: CommentOut; postId: string; canReply: boolean }) {
  const t = useT(strings);
  const me = useStore((s) => s.me);
  const [open, setOpen] = useState(false);
  const remove = useRemoveComment(postId);
  const approve = useApproveComment(postId);
  return (
    <li className="flex flex-col gap-1 rounded-lg bg-panel-2/60 p-2" data-testid="comment">
      <p className="text-sm">
        <span className="font-semibold">{c.authorHandle ? `@${c.authorHandle}` : t('comments.erased')}</span>{' '}
        {c.removed ? <em className="text-muted">{t(`comments.removedBy.${c.removedBy ?? 'author'}`)}</em> : <span className="whitespace-pre-line">{c.text}</span>}
      </p>
      <div className="flex flex-wrap gap-1 text-xs">
        {c.held && <span className="rounded bg-yellow-900/60 px-2 py-0.5">{t('comments.waiting')}</span>}
        {c.held && me && c.authorId !== me.id && (
          <Button variant="ghost" className="min-h-8 px-2" onClick={() => approve.mutate(c.id)}>{t('comments.approve')}</Button>
        )}
        {canReply && me && !c.removed && (
          <Button variant="ghost" className="min-h-8 px-2" aria-expanded={open} onClick={() => setOpen(!open)}>
            {t('comments.replies', { n: c.replies })}
          </Button>
        )}
        {c.canRemove && (
          <Button variant="ghost" className="min-h-8 px-2" onClick={() => remove.mutate(c.id)}>{t('comments.remove')}</Button>
        )}
      </div>
      <ErrorNote error={remove.error ?? approve.error} />
      {open && (
        <div className="ml-4 flex flex-col gap-2 border-l border-line pl-3">
          <Thread postId={postId} parent={c.id} />
          <CommentForm postId={postId} parentId={c.id} label={t('comments.reply')} />
        </div>
      )}
    </li>
  );
}

function Thread({ postId, parent }: { postId: string; parent: string | null }) {
  const t = useT(strings);
  const q = useComments(postId, parent);
  if (q.isPending) return <Loading />;
  if (q.isError) return <ErrorNote error={q.error} />;
  const all = q.data.pages.flatMap((p) => p.data);
  return (
    <>
      <ul className="flex flex-col gap-2" aria-label={parent ? t('comments.repliesLabel') : t('comments.title')}>
        {all.map((c) => (
          <Comment key={c.id} c={c} postId={postId} canReply={parent === null} />
        ))}
      </ul>
      {q.hasNextPage && (
        <Button variant="ghost" onClick={() => void q.fetchNextPage()}>{t('common.more')}</Button>
      )}
    </>
  );
}

/** A post's comments: one level of replies, the form for signed-in members. */
export function Comments({ postId }: { postId: string }) {
  const t = useT(strings);
  const me = useStore((s) => s.me);
  return (
    <section className="flex flex-col gap-2" aria-label={t('comments.title')}>
      <Thread postId={postId} parent={null} />
      {me ? <CommentForm postId={postId} label={t('comments.write')} /> : <p className="text-sm text-muted">{t('comments.signIn')}</p>}
    </section>
  );
}
