import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, data } from '@/api/client';
import { keys } from '@/api/keys';
import { useAvatar, useMilestones, type AvatarOut, type MilestoneOut } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { ErrorNote } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings } from './strings';

const input = 'min-h-10 w-full min-w-0 rounded-lg border border-line bg-panel-2 px-2';

function MilestoneForm({ streamId, current }: { streamId: string; current: MilestoneOut[] }) {
  const t = useT(strings);
  const client = useQueryClient();
  const [rows, setRows] = useState(() =>
    current.filter((m) => !m.reachedAt).map((m) => ({ title: m.title, target: String(m.target) })),
  );
  const save = useMutation({
    mutationFn: () =>
      data(
        api.PUT('/api/v1/streams/{stream_id}/milestones', {
          params: { path: { stream_id: streamId } },
          body: { milestones: rows.filter((r) => r.title.trim()).map((r) => ({ title: r.title.trim(), target: Number(r.target) })) },
        }),
      ),
    onSuccess: (fresh) => client.setQueryData(keys.milestones(streamId), fresh),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <form className="flex flex-col gap-2" onSubmit={submit}>
      {current
        .filter((m) => m.reachedAt)
        .map((m) => (
          <p key={m.id} className="text-sm text-muted">✓ {m.title} ({m.target})</p>
        ))}
      {rows.map((r, i) => (
        <div key={i} className="flex gap-2">
          <label className="flex min-w-0 flex-1 flex-col gap-1 text-sm">
            {t('milestonesAdmin.name', { n: i + 1 })}
            <input value={r.title} maxLength={80} onChange={(e) => setRows(rows.map((x, j) => (j === i ? { ...x, title: e.target.value } : x)))} className={input} />
          </label>
          <label className="flex w-28 shrink-0 flex-col gap-1 text-sm">
            {t('milestonesAdmin.target', { n: i + 1 })}
            <input type="number" value={r.target} onChange={(e) => setRows(rows.map((x, j) => (j === i ? { ...x, target: e.target.value } : x)))} className={input} />
          </label>
        </div>
      ))}
      <div className="flex flex-wrap gap-2">
        {rows.length < 10 && (
          <Button variant="secondary" onClick={() => setRows([...rows, { title: '', target: '' }])}>{t('milestonesAdmin.add')}</Button>
        )}
        <Button type="submit" disabled={save.isPending}>{t('milestonesAdmin.save')}</Button>
      </div>
      {save.isSuccess && <p role="status" className="text-sm text-ok">{t('milestonesAdmin.saved')}</p>}
      {save.isError && <ErrorNote error={save.error} />}
    </form>
  );
}

function AvatarForm({ streamId, avatar }: { streamId: string; avatar: AvatarOut }) {
  const t = useT(strings);
  const client = useQueryClient();
  const [values, setValues] = useState({
    happy: String(avatar.thresholds.happy),
    excited: String(avatar.thresholds.excited),
    wow: String(avatar.thresholds.wow),
  });
  const save = useMutation({
    mutationFn: () =>
      data(
        api.PUT('/api/v1/streams/{stream_id}/avatar', {
          params: { path: { stream_id: streamId } },
          body: { happy: Number(values.happy), excited: Number(values.excited), wow: Number(values.wow) },
        }),
      ),
    onSuccess: (fresh) => client.setQueryData(keys.avatar(streamId), fresh),
  });
  return (
    <form
      className="flex flex-wrap items-end gap-2"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      {(['happy', 'excited', 'wow'] as const).map((k) => (
        <label key={k} className="flex w-28 flex-col gap-1 text-sm">
          {t(`avatarAdmin.${k}`)}
          <input type="number" min={1} value={values[k]} onChange={(e) => setValues({ ...values, [k]: e.target.value })} className={input} />
        </label>
      ))}
      <Button type="submit" disabled={save.isPending}>{t('avatarAdmin.save')}</Button>
      <p className="w-full text-sm text-muted" data-testid="studio-avatar-state">{t('avatarAdmin.now', { state: t(`avatar.${avatar.state}`) })}</p>
      {save.isError && <ErrorNote error={save.error} />}
    </form>
  );
}

/** The studio's milestones (a ladder of tip targets) and the reactive avatar's thresholds. */
export function Reactions({ streamId }: { streamId: string }) {
  const t = useT(strings);
  const ladder = useMilestones(streamId);
  const avatar = useAvatar(streamId);
  return (
    <div className="grid gap-3 lg:grid-cols-2">
      <section aria-labelledby="milestones-admin" className="flex flex-col gap-2 rounded-xl border border-line bg-panel p-3" data-testid="studio-milestones">
        <h2 id="milestones-admin" className="font-semibold">{t('milestonesAdmin.title')}</h2>
        {ladder.data && <MilestoneForm streamId={streamId} current={ladder.data} />}
      </section>
      <section aria-labelledby="avatar-admin" className="flex flex-col gap-2 rounded-xl border border-line bg-panel p-3" data-testid="studio-avatar">
        <h2 id="avatar-admin" className="font-semibold">{t('avatarAdmin.title')}</h2>
        {avatar.data && <AvatarForm key={avatar.data.thresholds.wow} streamId={streamId} avatar={avatar.data} />}
      </section>
    </div>
  );
}
