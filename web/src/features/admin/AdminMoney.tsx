/** Admin: the fee schedule versions (and scheduling a new one, for super admins) and the kill
 * switch on a stream's billing. Amounts, states and who may act come from the API. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, body, data, type Schemas } from '@/api/client';
import { useLiveStreams } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { card, Select, TextArea } from '@/components/ui/Console';
import { Field } from '@/components/ui/Field';
import { ErrorNote, Loading } from '@/components/ui/States';
import { useStrings } from '@/i18n';
import { useStore } from '@/store';
import { strings } from './strings';

type S = ReturnType<typeof useStrings<keyof typeof strings.en>>;
const feesKey = ['admin', 'fees'] as const;
const pct = (bps: number) => `${(bps / 100).toLocaleString(undefined, { maximumFractionDigits: 2 })}%`;

function NewSchedule({ s }: { s: S }) {
  const client = useQueryClient();
  const [version, setVersion] = useState('');
  const [platform, setPlatform] = useState('20');
  const [referral, setReferral] = useState('5');
  const [when, setWhen] = useState('');
  const save = useMutation({
    mutationFn: () =>
      data(
        api.POST('/api/v1/admin/fee-schedules', {
          body: {
            version,
            platformBps: Math.round(Number(platform) * 100),
            referralBps: Math.round(Number(referral) * 100),
            platformRounding: 'ceil',
            effectiveFrom: when ? new Date(when).toISOString() : null,
          },
        }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: feesKey }),
  });
  return (
    <form
      className={card}
      aria-labelledby="new-fees"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <h2 id="new-fees" className="font-semibold">
        {s('fees.new')}
      </h2>
      <p className="text-xs text-muted">{s('fees.newHelp')}</p>
      <Field label={s('fees.version')} value={version} onChange={(e) => setVersion(e.target.value)} autoComplete="off" />
      <Field label={s('fees.platform')} inputMode="decimal" value={platform} onChange={(e) => setPlatform(e.target.value)} />
      <Field label={s('fees.referral')} inputMode="decimal" value={referral} onChange={(e) => setReferral(e.target.value)} />
      <Field label={s('fees.from')} type="datetime-local" value={when} onChange={(e) => setWhen(e.target.value)} />
      <ErrorNote error={save.error} />
      {save.isSuccess && (
        <p role="status" className="text-sm text-brand">
          {s('fees.scheduled', { version: save.data.version })}
        </p>
      )}
      <Button type="submit" className="w-fit" disabled={!version || save.isPending}>
        {s('fees.schedule')}
      </Button>
    </form>
  );
}

function Fees({ s }: { s: S }) {
  const lang = useStore((st) => st.lang);
  const me = useStore((st) => st.me);
  const fees = useQuery({ queryKey: feesKey, queryFn: () => body(api.GET('/api/v1/admin/fee-schedules')) });
  return (
    <div className="grid gap-3 lg:grid-cols-2">
      <section className={card} aria-labelledby="fee-versions">
        <h2 id="fee-versions" className="font-semibold">
          {s('fees.title')}
        </h2>
        {fees.isPending && <Loading />}
        <ErrorNote error={fees.error} />
        <ul className="flex flex-col divide-y divide-line text-sm" data-testid="fee-schedules">
          {fees.data?.data.map((f) => (
            <li key={f.version} className="flex flex-col gap-0.5 py-2">
              <span className="font-semibold">
                {f.version} · {s(`fees.state.${f.state}`)}
              </span>
              <span>{s('fees.split', { creator: pct(f.creatorBps), platform: pct(f.platformBps), referral: pct(f.referralBps) })}</span>
              <span className="text-xs text-muted">
                {s('fees.since', { when: new Date(f.effectiveFrom).toLocaleString(lang) })} · {s(`fees.rounding.${f.platformRounding}`)}
              </span>
            </li>
          ))}
        </ul>
      </section>
      {me?.permissions.includes('system.config_root') ? <NewSchedule s={s} /> : <p className="text-sm text-muted">{s('fees.rootOnly')}</p>}
    </div>
  );
}

function KillSwitch({ s }: { s: S }) {
  const live = useLiveStreams({});
  const [streamId, setStreamId] = useState('');
  const [reason, setReason] = useState('');
  const [confirming, setConfirming] = useState(false);
  const stop = useMutation({
    mutationFn: () =>
      data(api.POST('/api/v1/admin/streams/{stream_id}/billing-stop', { params: { path: { stream_id: streamId.trim() } }, body: { reason } })),
    onSettled: () => setConfirming(false),
  });
  const result: Schemas['BillingStopOut'] | undefined = stop.data;
  return (
    <form
      className={`${card} border-red-900`}
      aria-labelledby="kill-switch"
      onSubmit={(e) => {
        e.preventDefault();
        if (confirming) stop.mutate();
        else setConfirming(true);
      }}
    >
      <h2 id="kill-switch" className="font-semibold text-red-300">
        {s('kill.title')}
      </h2>
      <p className="text-xs text-muted">{s('kill.help')}</p>
      <Select label={s('kill.live')} value={streamId} onChange={(e) => setStreamId(e.target.value)}>
        <option value="">{s('kill.pick')}</option>
        {live.data?.data.map((st) => (
          <option key={st.id} value={st.id}>
            {st.title} · @{st.creatorHandle}
          </option>
        ))}
      </Select>
      <Field label={s('kill.stream')} value={streamId} onChange={(e) => setStreamId(e.target.value)} autoComplete="off" />
      <TextArea label={s('kill.reason')} value={reason} onChange={(e) => setReason(e.target.value)} />
      <ErrorNote error={stop.error} />
      {result && (
        <p role="status" className="text-sm" data-testid="kill-result">
          {s('kill.done', { holds: result.holds.length, released: result.released, captured: result.captured })}
        </p>
      )}
      <Button type="submit" variant="danger" className="w-fit" disabled={!streamId || reason.trim().length < 3 || stop.isPending}>
        {confirming ? s('kill.confirm') : s('kill.stop')}
      </Button>
    </form>
  );
}

export function Money({ s }: { s: S }) {
  return (
    <div className="flex flex-col gap-3">
      <Fees s={s} />
      <KillSwitch s={s} />
    </div>
  );
}
