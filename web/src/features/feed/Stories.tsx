import { Dialog } from 'radix-ui';
import { Pin, X } from 'lucide-react';
import { useState, type FormEvent } from 'react';
import { Button } from '@/components/ui/Button';
import { ErrorNote } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings } from './strings';
import { useStore } from '@/store';
import { useHighlight, useMarkSeen, useStoryViewers, useUploadStory, type StoryOut } from './hooks';

function Viewers({ id }: { id: string }) {
  const t = useT(strings);
  const viewers = useStoryViewers(id, true);
  return (
    <section aria-label={t('stories.seenBy')} className="text-sm">
      <h3 className="font-semibold">{t('stories.seenBy')}</h3>
      <ul data-testid="story-viewers" className="flex flex-wrap gap-1">
        {(viewers.data ?? []).map((v) => (
          <li key={v.id} className="rounded-full bg-panel-2 px-2 py-0.5">@{v.handle}</li>
        ))}
      </ul>
      {viewers.data?.length === 0 && <p className="text-muted">{t('stories.nobodyYet')}</p>}
    </section>
  );
}

/** One story at a time in a dialog: marks it seen; its author sees who saw it and may pin it. */
function StoryViewer({ list, start, onClose }: { list: StoryOut[]; start: number; onClose: () => void }) {
  const t = useT(strings);
  const me = useStore((s) => s.me);
  const [at, setAt] = useState(start);
  const seen = useMarkSeen();
  const pin = useHighlight();
  const open = (i: number) => {
    setAt(i);
    const next = list[i];
    if (me && next && next.creatorId !== me.id && !next.seen) seen.mutate(next.id);
  };
  const story = list[at];
  if (!story) return null;
  const mine = me?.id === story.creatorId;
  return (
    <Dialog.Root open onOpenChange={(o) => !o && onClose()}>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-30 bg-black/80" />
        <Dialog.Content
          className="fixed inset-x-2 top-8 z-40 mx-auto flex max-h-[90dvh] max-w-md flex-col gap-2 overflow-y-auto rounded-xl bg-panel p-3"
          onOpenAutoFocus={() => open(at)}
        >
          <div className="flex items-center justify-between gap-2">
            <Dialog.Title className="font-semibold">@{story.creatorHandle}</Dialog.Title>
            <Dialog.Close className="rounded-lg p-2 hover:bg-panel-2" aria-label={t('common.close')}>
              <X className="size-5" aria-hidden />
            </Dialog.Close>
          </div>
          <Dialog.Description className="text-sm text-muted">
            {t('stories.position', { n: at + 1, of: list.length })}
          </Dialog.Description>
          {story.previewUrl ? (
            <img src={story.mediaUrl ?? story.previewUrl} alt={story.caption || t('stories.story')} className="max-h-[55dvh] w-full rounded-lg object-contain" />
          ) : (
            <p className="text-muted">{t('stories.pending')}</p>
          )}
          {story.caption && <p>{story.caption}</p>}
          <div className="flex flex-wrap gap-2">
            <Button variant="secondary" disabled={at === 0} onClick={() => open(at - 1)}>{t('stories.previous')}</Button>
            <Button variant="secondary" disabled={at === list.length - 1} onClick={() => open(at + 1)}>{t('stories.next')}</Button>
            {mine && (
              <Button variant="ghost" aria-pressed={story.highlight} onClick={() => pin.mutate({ id: story.id, on: !story.highlight })}>
                <Pin className="size-4" aria-hidden /> {story.highlight ? t('stories.unpin') : t('stories.pin')}
              </Button>
            )}
          </div>
          <ErrorNote error={pin.error} />
          {mine && <Viewers id={story.id} />}
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

/** A row of stories (one button each, unseen ones ringed); opens the viewer. */
export function StoryRow({ stories, label }: { stories: StoryOut[]; label: string }) {
  const t = useT(strings);
  const [open, setOpen] = useState<number | null>(null);
  if (stories.length === 0) return null;
  return (
    <section aria-label={label}>
      <ul className="flex gap-2 overflow-x-auto pb-1">
        {stories.map((s, i) => (
          <li key={s.id}>
            <button
              type="button"
              onClick={() => setOpen(i)}
              className={`flex size-16 items-center justify-center overflow-hidden rounded-full border-2 bg-panel-2 text-xs ${s.seen ? 'border-line' : 'border-brand'}`}
            >
              {s.previewUrl ? <img src={s.previewUrl} alt="" className="size-full object-cover" /> : null}
              <span className="sr-only">{t('stories.open', { handle: s.creatorHandle })}</span>
            </button>
          </li>
        ))}
      </ul>
      {open !== null && <StoryViewer list={stories} start={open} onClose={() => setOpen(null)} />}
    </section>
  );
}

/** Creators post a story: a picture or short video, gone after 24 hours unless pinned. */
export function StoryComposer() {
  const t = useT(strings);
  const upload = useUploadStory();
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    upload.mutate(new FormData(form), { onSuccess: () => form.reset() });
  };
  return (
    <form onSubmit={onSubmit} className="flex flex-col gap-2 rounded-xl border border-line bg-panel p-3" aria-label={t('stories.new')}>
      <h2 className="font-semibold">{t('stories.new')}</h2>
      <label className="flex flex-col gap-1 text-sm">
        {t('stories.file')}
        <input name="file" type="file" accept="image/jpeg,image/png,image/webp,video/mp4,video/webm" required className="text-sm" />
      </label>
      <label className="flex flex-col gap-1 text-sm">
        {t('stories.caption')}
        <input name="caption" maxLength={2000} className="min-h-10 rounded-lg border border-line bg-panel-2 px-2" />
      </label>
      <Button type="submit" disabled={upload.isPending}>{t('stories.share')}</Button>
      {upload.isSuccess && <p role="status" className="text-sm text-muted">{t('stories.uploaded')}</p>}
      <ErrorNote error={upload.error} />
    </form>
  );
}
