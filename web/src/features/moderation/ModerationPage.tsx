/** The moderator console: automated flags (with their snapshots), people's reports, appeals,
 * the identity verification queue (documents shown only here, each read audited by the API),
 * live streams (rating, unfreeze, held chat) and the moderation log. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Navigate } from '@/lib/router';
import { api, body, data, type Schemas } from '@/api/client';
import { useLiveStreams, useSignedIn } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { age, card, ConsoleTabs, Select, TextArea } from '@/components/ui/Console';
import { Empty, ErrorNote, Loading, Page } from '@/components/ui/States';
import { useStrings } from '@/i18n';
import { strings } from './strings';

type S = ReturnType<typeof useStrings<keyof typeof strings.en>>;
const mod = ['moderation'] as const;

function useDone() {
  const client = useQueryClient();
  return () => client.invalidateQueries({ queryKey: mod });
}

function FlagCard({ flag, s }: { flag: Schemas['FlagOut']; s: S }) {
  const done = useDone();
  const [note, setNote] = useState('');
  const [actions, setActions] = useState<Schemas['ResolveIn']['actions']>([]);
  const [details, setDetails] = useState(false);
  const detail = useQuery({
    queryKey: [...mod, 'flag', flag.id],
    enabled: details,
    queryFn: () => data(api.GET('/api/v1/moderation/flags/{flag_id}', { params: { path: { flag_id: flag.id } } })),
  });
  const resolve = useMutation({
    mutationFn: (decision: 'dismiss' | 'confirm') =>
      data(
        api.POST('/api/v1/moderation/flags/{flag_id}/resolve', {
          params: { path: { flag_id: flag.id } },
          body: {
            decision,
            note,
            actions: decision === 'confirm' ? actions : [],
            rating: decision === 'confirm' && actions?.includes('set_rating') ? 'adult' : null,
          },
        }),
      ),
    onSuccess: done,
  });
  const options = flag.kind === 'post' ? (['reject_post'] as const) : (['freeze', 'mark_explicit', 'set_rating'] as const);
  const label = { freeze: s('flag.freeze'), mark_explicit: s('flag.markExplicit'), set_rating: s('flag.setRating'), reject_post: s('flag.rejectPost') };
  const shown = detail.data ?? flag;
  return (
    <li className={card} data-testid="flag">
      <div className="flex flex-wrap items-baseline gap-2">
        <span className="rounded bg-panel-2 px-2 py-0.5 text-xs">{s(`flag.kind.${flag.kind}`)}</span>
        <span className="font-semibold">{flag.reason}</span>
        <span className="text-xs text-muted">{s('waited', { age: age(flag.ageSeconds) })}</span>
      </div>
      <p className="break-all text-xs text-muted">
        {flag.streamId ? `${s('flag.stream')} ${flag.streamId}` : `${s('flag.post')} ${flag.postId ?? ''}`}
      </p>
      {flag.snapshotUrl ? (
        <img src={flag.snapshotUrl} alt={s('flag.snapshot', { id: flag.id.slice(0, 8) })} className="max-h-48 w-fit max-w-full rounded" />
      ) : (
        <p className="text-sm text-muted">{s('flag.noSnapshot')}</p>
      )}
      <Button variant="ghost" className="w-fit" aria-expanded={details} onClick={() => setDetails(!details)}>
        {s('flag.details')}
      </Button>
      {details && detail.isPending && <Loading />}
      {details && shown.decision && (
        <p className="text-sm">
          {s('flag.decision', { action: shown.decision.action, detector: shown.decision.detector, policy: shown.decision.policyVersion })}
        </p>
      )}
      {flag.status === 'open' ? (
        <>
          <fieldset className="flex flex-wrap gap-3 text-sm">
            <legend className="mb-1 text-sm text-muted">{s('flag.actions')}</legend>
            {options.map((a) => (
              <label key={a} className="flex items-center gap-2">
                <input
                  type="checkbox"
                  checked={actions?.includes(a) ?? false}
                  onChange={(e) => setActions(e.target.checked ? [...(actions ?? []), a] : (actions ?? []).filter((x) => x !== a))}
                />
                {label[a]}
              </label>
            ))}
          </fieldset>
          <TextArea label={s('note')} value={note} onChange={(e) => setNote(e.target.value)} />
          <ErrorNote error={resolve.error} />
          <div className="flex flex-wrap gap-2">
            <Button variant="secondary" disabled={resolve.isPending} onClick={() => resolve.mutate('dismiss')}>
              {s('flag.dismiss')}
            </Button>
            <Button disabled={resolve.isPending} onClick={() => resolve.mutate('confirm')}>
              {s('flag.confirm')}
            </Button>
          </div>
        </>
      ) : (
        <p className="text-sm">{s('flag.resolution', { resolution: flag.resolution ?? '' })}</p>
      )}
    </li>
  );
}

function Flags({ s }: { s: S }) {
  const [status, setStatus] = useState<'open' | 'resolved'>('open');
  const flags = useQuery({
    queryKey: [...mod, 'flags', status],
    queryFn: () => body(api.GET('/api/v1/moderation/flags', { params: { query: { status, limit: 50 } } })),
  });
  return (
    <>
      <StatusPicker s={s} value={status} onChange={setStatus} />
      {flags.isPending && <Loading />}
      <ErrorNote error={flags.error} />
      {flags.data?.data.length === 0 && <Empty>{s('empty')}</Empty>}
      <ul className="grid gap-3 lg:grid-cols-2">
        {flags.data?.data.map((f) => <FlagCard key={f.id} flag={f} s={s} />)}
      </ul>
    </>
  );
}

function StatusPicker({ s, value, onChange }: { s: S; value: 'open' | 'resolved'; onChange: (v: 'open' | 'resolved') => void }) {
  return (
    <div className="w-48">
      <Select label={s('show')} value={value} onChange={(e) => onChange(e.target.value as 'open' | 'resolved')}>
        <option value="open">{s('open')}</option>
        <option value="resolved">{s('resolved')}</option>
      </Select>
    </div>
  );
}

function ReportCard({ report, s }: { report: Schemas['ReportOut']; s: S }) {
  const done = useDone();
  const [action, setAction] = useState<Schemas['ActionIn']['action']>('dismiss');
  const [days, setDays] = useState(7);
  const [note, setNote] = useState('');
  const act = useMutation({
    mutationFn: () =>
      data(
        api.POST('/api/v1/moderation/reports/{report_id}/actions', {
          params: { path: { report_id: report.id } },
          body: { action, note, days },
        }),
      ),
    onSuccess: done,
  });
  return (
    <li className={card} data-testid="report">
      <div className="flex flex-wrap items-baseline gap-2">
        <span className="font-semibold">{s('report.reason', { reason: report.reason })}</span>
        <span className="text-xs text-muted">{s('waited', { age: age(report.ageSeconds) })}</span>
      </div>
      <p className="break-all text-xs text-muted">{s('report.target', { type: report.targetType, id: report.targetId })}</p>
      {report.details && <p className="text-sm">{report.details}</p>}
      {report.status === 'open' ? (
        <form
          className="flex flex-col gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            act.mutate();
          }}
        >
          <Select label={s('report.action')} value={action} onChange={(e) => setAction(e.target.value as typeof action)}>
            {(['dismiss', 'remove', 'warn', 'suspend', 'ban'] as const).map((a) => (
              <option key={a} value={a}>
                {s(`action.${a}`)}
              </option>
            ))}
          </Select>
          {action === 'suspend' && (
            <Select label={s('report.days')} value={days} onChange={(e) => setDays(Number(e.target.value))}>
              {[1, 3, 7, 14, 30].map((d) => (
                <option key={d} value={d}>
                  {d}
                </option>
              ))}
            </Select>
          )}
          <TextArea label={s('note')} value={note} onChange={(e) => setNote(e.target.value)} />
          <ErrorNote error={act.error} />
          <Button type="submit" className="w-fit" disabled={act.isPending}>
            {s('report.act')}
          </Button>
        </form>
      ) : (
        <p className="text-sm">{s('flag.resolution', { resolution: report.resolution ?? '' })}</p>
      )}
    </li>
  );
}

function Reports({ s }: { s: S }) {
  const [status, setStatus] = useState<'open' | 'resolved'>('open');
  const reports = useQuery({
    queryKey: [...mod, 'reports', status],
    queryFn: () => body(api.GET('/api/v1/moderation/reports', { params: { query: { status, limit: 50 } } })),
  });
  return (
    <>
      <StatusPicker s={s} value={status} onChange={setStatus} />
      {reports.isPending && <Loading />}
      <ErrorNote error={reports.error} />
      {reports.data?.data.length === 0 && <Empty>{s('empty')}</Empty>}
      <ul className="grid gap-3 lg:grid-cols-2">
        {reports.data?.data.map((r) => <ReportCard key={r.id} report={r} s={s} />)}
      </ul>
    </>
  );
}

function AppealCard({ appeal, s }: { appeal: Schemas['AppealOut']; s: S }) {
  const done = useDone();
  const [note, setNote] = useState('');
  const decide = useMutation({
    mutationFn: (decision: 'upheld' | 'overturned') =>
      data(
        api.POST('/api/v1/moderation/appeals/{appeal_id}/decision', {
          params: { path: { appeal_id: appeal.id } },
          body: { decision, note },
        }),
      ),
    onSuccess: done,
  });
  return (
    <li className={card} data-testid="appeal">
      <p className="text-xs text-muted">
        {s('appeal.about', { id: appeal.reportId.slice(0, 8) })} · {s('waited', { age: age(appeal.ageSeconds) })}
      </p>
      <p className="text-sm">{appeal.text}</p>
      <TextArea label={s('note')} value={note} onChange={(e) => setNote(e.target.value)} />
      <ErrorNote error={decide.error} />
      <div className="flex flex-wrap gap-2">
        <Button variant="secondary" disabled={decide.isPending} onClick={() => decide.mutate('upheld')}>
          {s('appeal.uphold')}
        </Button>
        <Button disabled={decide.isPending} onClick={() => decide.mutate('overturned')}>
          {s('appeal.overturn')}
        </Button>
      </div>
    </li>
  );
}

function Appeals({ s }: { s: S }) {
  const appeals = useQuery({
    queryKey: [...mod, 'appeals'],
    queryFn: () => body(api.GET('/api/v1/moderation/appeals', { params: { query: { limit: 50 } } })),
  });
  return (
    <>
      {appeals.isPending && <Loading />}
      <ErrorNote error={appeals.error} />
      {appeals.data?.data.length === 0 && <Empty>{s('empty')}</Empty>}
      <ul className="grid gap-3 lg:grid-cols-2">
        {appeals.data?.data.map((a) => <AppealCard key={a.id} appeal={a} s={s} />)}
      </ul>
    </>
  );
}

function RecordReview({ id, s }: { id: string; s: S }) {
  const done = useDone();
  const [reason, setReason] = useState('');
  // Reading the record (and each of its documents) is audited by the API.
  const record = useQuery({
    queryKey: [...mod, 'record', id],
    queryFn: () => data(api.GET('/api/v1/verification/records/{record_id}', { params: { path: { record_id: id } } })),
  });
  const review = useMutation({
    mutationFn: (status: 'approved' | 'rejected') =>
      data(api.POST('/api/v1/verification/records/{record_id}/reviews', { params: { path: { record_id: id } }, body: { status, reason } })),
    onSuccess: done,
  });
  if (record.isPending) return <Loading />;
  if (record.error) return <ErrorNote error={record.error} />;
  const r = record.data;
  return (
    <div className="flex flex-col gap-2" data-testid="record">
      <p className="text-xs text-warn">{s('identity.audited')}</p>
      <dl className="grid grid-cols-[auto_1fr] gap-x-3 text-sm">
        <dt className="text-muted">{s('identity.legalName')}</dt>
        <dd>{r.legalName}</dd>
        <dt className="text-muted">{s('identity.dob')}</dt>
        <dd>{r.dateOfBirth}</dd>
        <dt className="text-muted">{s('identity.aliases')}</dt>
        <dd>{r.aliases.join(', ') || '—'}</dd>
      </dl>
      <div className="flex flex-wrap gap-2">
        {Object.keys(r.documents).map((kind) => (
          <img
            key={kind}
            src={`/api/v1/verification/records/${r.id}/documents/${kind}`}
            alt={s('identity.document', { kind })}
            className="max-h-40 max-w-full rounded border border-line"
          />
        ))}
      </div>
      {r.status === 'pending' ? (
        <>
          <TextArea label={s('identity.reason')} value={reason} onChange={(e) => setReason(e.target.value)} />
          <ErrorNote error={review.error} />
          <div className="flex flex-wrap gap-2">
            <Button disabled={review.isPending} onClick={() => review.mutate('approved')}>
              {s('identity.approve')}
            </Button>
            <Button variant="danger" disabled={review.isPending} onClick={() => review.mutate('rejected')}>
              {s('identity.reject')}
            </Button>
          </div>
        </>
      ) : (
        <p className="text-sm">{s('identity.status', { status: r.status })}</p>
      )}
    </div>
  );
}

function Identity({ s }: { s: S }) {
  const [open, setOpen] = useState<string | null>(null);
  const queue = useQuery({
    queryKey: [...mod, 'identity'],
    queryFn: () => body(api.GET('/api/v1/verification/queue', { params: { query: { limit: 50 } } })),
  });
  return (
    <>
      {queue.isPending && <Loading />}
      <ErrorNote error={queue.error} />
      {queue.data?.data.length === 0 && <Empty>{s('empty')}</Empty>}
      <ul className="grid gap-3 lg:grid-cols-2">
        {queue.data?.data.map((r) => (
          <li key={r.id} className={card} data-testid="identity-record">
            <div className="flex flex-wrap items-baseline gap-2">
              <span className="font-semibold">@{r.handle}</span>
              <span className="text-xs text-muted">{s('waited', { age: age(r.ageSeconds) })}</span>
            </div>
            {open === r.id ? (
              <RecordReview id={r.id} s={s} />
            ) : (
              <Button variant="secondary" className="w-fit" onClick={() => setOpen(r.id)} aria-label={`${s('identity.open')} @${r.handle}`}>
                {s('identity.open')}
              </Button>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}

function HeldChat({ streamId, s }: { streamId: string; s: S }) {
  const client = useQueryClient();
  const key = [...mod, 'held', streamId];
  const held = useQuery({
    queryKey: key,
    queryFn: () => data(api.GET('/api/v1/streams/{stream_id}/chat/held', { params: { path: { stream_id: streamId }, query: { limit: 50 } } })),
    refetchInterval: 5000,
  });
  const approve = useMutation({
    mutationFn: (id: string) =>
      data(api.POST('/api/v1/streams/{stream_id}/chat/messages/{message_id}/approve', { params: { path: { stream_id: streamId, message_id: id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: key }),
  });
  const remove = useMutation({
    mutationFn: (id: string) =>
      data(api.DELETE('/api/v1/streams/{stream_id}/chat/messages/{message_id}', { params: { path: { stream_id: streamId, message_id: id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: key }),
  });
  return (
    <div className="flex flex-col gap-2">
      <h3 className="text-sm font-semibold">{s('streams.held')}</h3>
      <ErrorNote error={held.error ?? approve.error ?? remove.error} />
      {held.data?.length === 0 && <p className="text-sm text-muted">{s('streams.noHeld')}</p>}
      <ul className="flex flex-col gap-1">
        {held.data?.map((m) => (
          <li key={m.id} className="flex flex-wrap items-center gap-2 text-sm">
            <span className="font-semibold">{m.user.handle}</span>
            <span className="min-w-0 flex-1 break-words">{m.text}</span>
            <Button variant="secondary" onClick={() => approve.mutate(m.id)}>
              {s('streams.approve')}
            </Button>
            <Button variant="danger" onClick={() => remove.mutate(m.id)}>
              {s('streams.remove')}
            </Button>
          </li>
        ))}
      </ul>
    </div>
  );
}

function StreamModeration({ stream, s }: { stream: Schemas['StreamOut']; s: S }) {
  const client = useQueryClient();
  const [rating, setRating] = useState<'sfw' | 'adult'>('sfw');
  const [note, setNote] = useState('');
  const key = [...mod, 'safety', stream.id];
  const safety = useQuery({
    queryKey: key,
    queryFn: () => data(api.GET('/api/v1/streams/{stream_id}/safety', { params: { path: { stream_id: stream.id } } })),
  });
  const refresh = () => client.invalidateQueries({ queryKey: key });
  const rate = useMutation({
    mutationFn: () => data(api.PUT('/api/v1/streams/{stream_id}/rating', { params: { path: { stream_id: stream.id } }, body: { rating, note } })),
    onSuccess: refresh,
  });
  const unfreeze = useMutation({
    mutationFn: () => data(api.POST('/api/v1/streams/{stream_id}/unfreeze', { params: { path: { stream_id: stream.id } }, body: { note } })),
    onSuccess: refresh,
  });
  return (
    <div className="flex flex-col gap-2">
      {safety.data && (
        <p className="text-sm" data-testid="stream-frozen">
          {safety.data.frozen ? s('streams.frozen', { reason: safety.data.frozenReason ?? '' }) : s('streams.notFrozen')}
        </p>
      )}
      <TextArea label={s('note')} value={note} onChange={(e) => setNote(e.target.value)} />
      <div className="flex flex-wrap items-end gap-2">
        <Select label={s('streams.rating')} value={rating} onChange={(e) => setRating(e.target.value as 'sfw' | 'adult')}>
          <option value="sfw">SFW</option>
          <option value="adult">18+</option>
        </Select>
        <Button variant="secondary" disabled={rate.isPending} onClick={() => rate.mutate()}>
          {s('streams.setRating')}
        </Button>
        {safety.data?.frozen && (
          <Button disabled={unfreeze.isPending} onClick={() => unfreeze.mutate()}>
            {s('streams.unfreeze')}
          </Button>
        )}
      </div>
      <ErrorNote error={rate.error ?? unfreeze.error} />
      <HeldChat streamId={stream.id} s={s} />
    </div>
  );
}

function Streams({ s }: { s: S }) {
  const live = useLiveStreams({});
  const [open, setOpen] = useState<string | null>(null);
  return (
    <>
      {live.isPending && <Loading />}
      <ErrorNote error={live.error} />
      {live.data?.data.length === 0 && <Empty>{s('streams.empty')}</Empty>}
      <ul className="grid gap-3 lg:grid-cols-2">
        {live.data?.data.map((st) => (
          <li key={st.id} className={card}>
            <p className="font-semibold">{st.title}</p>
            <p className="text-xs text-muted">@{st.creatorHandle}</p>
            {open === st.id ? (
              <StreamModeration stream={st} s={s} />
            ) : (
              <Button variant="secondary" className="w-fit" onClick={() => setOpen(st.id)} aria-label={`${s('streams.open')}: ${st.title}`}>
                {s('streams.open')}
              </Button>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}

function Log({ s }: { s: S }) {
  const log = useQuery({
    queryKey: [...mod, 'log'],
    queryFn: () => body(api.GET('/api/v1/moderation/log', { params: { query: { limit: 100 } } })),
  });
  return (
    <>
      {log.isPending && <Loading />}
      <ErrorNote error={log.error} />
      {log.data?.data.length === 0 && <Empty>{s('log.empty')}</Empty>}
      <ul className="flex flex-col gap-1 text-sm" data-testid="moderation-log">
        {log.data?.data.map((e) => (
          <li key={e.id} className="flex flex-wrap gap-2 border-b border-line py-1">
            <time className="text-muted" dateTime={e.at}>
              {new Date(e.at).toLocaleString()}
            </time>
            <span className="font-semibold">{e.action}</span>
            <span className="break-all text-muted">
              {e.targetType ?? ''} {e.targetId ?? ''}
            </span>
            {e.note && <span>“{e.note}”</span>}
          </li>
        ))}
      </ul>
    </>
  );
}

export default function ModerationPage() {
  const s = useStrings(strings);
  const { me, pending } = useSignedIn();
  if (pending) return <Loading />;
  if (!me) return <Navigate to="/signin?next=/moderation" replace />;
  if (!me.permissions.includes('moderation.all')) {
    return (
      <Page title={s('title')}>
        <Empty>{s('notAllowed')}</Empty>
      </Page>
    );
  }
  return (
    <Page title={s('title')} wide>
      <ConsoleTabs
        label={s('title')}
        tabs={[
          { value: 'flags', title: s('tab.flags'), body: <Flags s={s} /> },
          { value: 'reports', title: s('tab.reports'), body: <Reports s={s} /> },
          { value: 'appeals', title: s('tab.appeals'), body: <Appeals s={s} /> },
          { value: 'identity', title: s('tab.identity'), body: <Identity s={s} /> },
          { value: 'streams', title: s('tab.streams'), body: <Streams s={s} /> },
          { value: 'log', title: s('tab.log'), body: <Log s={s} /> },
        ]}
      />
    </Page>
  );
}
