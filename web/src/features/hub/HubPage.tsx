import { Download } from 'lucide-react';
import { useMemo, useState, type ReactNode } from 'react';
import { Navigate } from '@/lib/router';
import { useSignedIn } from '@/api/queries';
import { ErrorNote, Loading, Page } from '@/components/ui/States';
import { useStrings, useT, type Key } from '@/i18n';
import { useStore } from '@/store';
import { LineChart } from './LineChart';
import { strings } from './strings';
import { strings as panelStrings } from './panelStrings';
import { csvUrl, PERIODS, useHub, type Period } from './useHub';

function Panel({ title, panel, period, fresh, children }: { title: string; panel: string; period: Period; fresh?: string | null; children: ReactNode }) {
  const t = useT(strings);
  const lang = useStore((s) => s.lang);
  const id = `hub-${panel}`;
  return (
    <section aria-labelledby={id} data-testid={id} className="flex min-w-0 flex-col gap-3 rounded-xl border border-line bg-panel p-4">
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h2 id={id} className="text-lg font-semibold">{title}</h2>
        <div className="flex items-center gap-3 text-xs text-muted">
          <span>{fresh ? t('hub.freshAt', { at: new Date(fresh).toLocaleTimeString(lang) }) : t('hub.notRefreshed')}</span>
          <a href={csvUrl(panel, period)} download className="inline-flex items-center gap-1 rounded px-2 py-1 hover:bg-panel-2" aria-label={t('hub.csvOf', { panel: title })}>
            <Download className="size-3" aria-hidden /> CSV
          </a>
        </div>
      </div>
      {children}
    </section>
  );
}

function Table({ caption, head, rows, testId }: { caption: string; head: string[]; rows: (string | number)[][]; testId?: string }) {
  return (
    // Focusable so a keyboard can scroll a table wider than the screen (axe: scrollable region).
    <div className="overflow-x-auto" tabIndex={0} role="region" aria-label={caption}>
      <table className="w-full text-left text-sm" data-testid={testId}>
        <caption className="sr-only">{caption}</caption>
        <thead className="text-muted">
          <tr>{head.map((h) => <th key={h} scope="col" className="px-2 py-1 font-medium">{h}</th>)}</tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i} className="border-t border-line">
              {r.map((c, j) => <td key={j} className="px-2 py-1 tabular-nums">{c}</td>)}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function HubPage() {
  const t = useT(strings);
  const { me, pending } = useSignedIn();
  const lang = useStore((s) => s.lang);
  const [period, setPeriod] = useState<Period>('30d');
  const admin = Boolean(me?.permissions.includes('system.config_limited'));
  if (pending) return <Loading />;
  if (!me) return <Navigate to="/signin?next=/hub" replace />;
  if (!admin) return <Page title={t('hub.title')}><ErrorNote error={new Error(t('hub.adminsOnly'))} /></Page>;
  return (
    <Page title={t('hub.title')} wide>
      <label className="mb-4 flex items-center gap-2 text-sm">
        {t('hub.period')}
        <select value={period} onChange={(e) => setPeriod(e.target.value as Period)} className="rounded-lg border border-line bg-panel-2 px-2 py-1" data-testid="hub-period">
          {PERIODS.map((p) => <option key={p} value={p}>{t(`hub.period.${p}` as Key)}</option>)}
        </select>
      </label>
      <HubPanels period={period} lang={lang} />
    </Page>
  );
}

function HubPanels({ period, lang }: { period: Period; lang: string }) {
  const t = useT(strings);
  const h = useStrings(panelStrings);
  const hub = useHub(period);
  const n = (v: number) => new Intl.NumberFormat(lang).format(v);
  const g = hub.growth.data;
  const growthSeries = useMemo(
    () => g ? [
      { label: t('hub.dau'), values: g.days.map((d) => d.dau), color: '#f472b6' },
      { label: t('hub.wau'), values: g.days.map((d) => d.wau), color: '#a78bfa' },
      { label: t('hub.mau'), values: g.days.map((d) => d.mau), color: '#38bdf8' },
      { label: t('hub.signups'), values: g.days.map((d) => d.signups), color: '#4ade80' },
    ] : [],
    // t changes identity every render; the labels follow the language
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [g, lang],
  );
  const r = hub.revenue.data;
  const revenueSeries = useMemo(
    () => r ? [
      { label: t('hub.purchases'), values: r.days.map((d) => d.purchases), color: '#4ade80' },
      { label: t('hub.tips'), values: r.days.map((d) => d.tips), color: '#f472b6' },
      { label: t('hub.platformFees'), values: r.days.map((d) => d.platformFees), color: '#facc15' },
    ] : [],
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [r, lang],
  );
  const c = hub.community.data;
  return (
    <div className="grid grid-cols-1 gap-4 lg:grid-cols-2">
      <Panel title={t('hub.growth')} panel="growth" period={period} fresh={g?.freshAt}>
        <ErrorNote error={hub.growth.error} />
        {g ? (
          <>
            <LineChart label={t('hub.growthChart')} days={g.days.map((d) => d.day)} series={growthSeries} testId="hub-growth-chart" />
            <p className="text-sm" data-testid="hub-signups">{t('hub.signupsTotal', { n: n(g.days.reduce((s, d) => s + d.signups, 0)) })}</p>
          </>
        ) : !hub.growth.error && <Loading />}
      </Panel>
      <Panel title={t('hub.revenue')} panel="revenue" period={period} fresh={r?.freshAt}>
        <ErrorNote error={hub.revenue.error} />
        {r ? (
          <>
            {r.days.length > 0 && <LineChart label={t('hub.revenueChart')} days={r.days.map((d) => d.day)} series={revenueSeries} />}
            <Table
              caption={t('hub.revenueTotals')}
              testId="hub-revenue-totals"
              head={[t('hub.purchases'), t('hub.tips'), t('hub.subscriptions'), t('hub.memberships'), t('hub.shows'), t('hub.platformFees'), t('hub.payouts'), t('hub.chargebacks')]}
              rows={[[r.totals.purchases, r.totals.tips, r.totals.subscriptions, r.totals.memberships, r.totals.shows, r.totals.platformFees, r.totals.payouts, r.totals.chargebacks].map(n)]}
            />
          </>
        ) : !hub.revenue.error && <Loading />}
      </Panel>
      <Panel title={t('hub.streams')} panel="streams" period={period} fresh={hub.streams.data?.freshAt}>
        <ErrorNote error={hub.streams.error} />
        {hub.streams.data && (
          <Table
            caption={t('hub.streams')}
            testId="hub-streams-table"
            head={[t('hub.stream'), t('hub.peak'), t('hub.average'), t('hub.watchHours'), t('hub.tipsPerMinute'), t('hub.latency'), t('hub.stalls')]}
            rows={hub.streams.data.streams.map((s) => [
              s.title, s.peakViewers, s.averageViewers, (s.watchSeconds / 3600).toFixed(2), s.tipsPerMinute,
              s.latency == null ? '–' : `${s.latency.toFixed(1)} s`, s.stalls,
            ])}
          />
        )}
      </Panel>
      <Panel title={t('hub.creators')} panel="creators" period={period} fresh={hub.creators.data?.freshAt}>
        <ErrorNote error={hub.creators.error} />
        {hub.creators.data && (
          <Table
            caption={t('hub.creators')}
            testId="hub-creators-table"
            head={[t('hub.creator'), t('hub.earned'), t('hub.watchHours'), t('hub.followers'), t('hub.conversion')]}
            rows={hub.creators.data.creators.map((x) => [`@${x.handle}`, n(x.earned), x.watchHours.toFixed(2), n(x.followers), `${(x.conversion * 100).toFixed(1)}%`])}
          />
        )}
      </Panel>
      <Panel title={t('hub.community')} panel="community" period={period} fresh={c?.freshAt}>
        <ErrorNote error={hub.community.error} />
        {c && (
          <>
            <p className={c.late ? 'font-semibold text-red-300' : 'text-sm'} data-testid="hub-late">{t('hub.late', { n: c.late })}</p>
            <Table
              caption={t('hub.openComplaints')}
              testId="hub-complaints-table"
              head={[t('hub.reason'), t('hub.target'), t('hub.ageDays')]}
              rows={c.openComplaints.slice(0, 20).map((o) => [o.reason, o.targetType, `${o.ageDays.toFixed(1)}${o.late ? ' ⚠' : ''}`])}
            />
            <p className="text-sm text-muted">
              {t('hub.communityTotals', {
                opened: c.days.reduce((s, d) => s + d.reportsOpened, 0),
                resolved: c.days.reduce((s, d) => s + d.reportsResolved, 0),
                flags: c.days.reduce((s, d) => s + d.flags, 0),
                bans: c.days.reduce((s, d) => s + d.bans, 0),
              })}
            </p>
          </>
        )}
      </Panel>
      <Panel title={t('hub.retention')} panel="retention" period={period} fresh={hub.retention.data?.freshAt}>
        <ErrorNote error={hub.retention.error} />
        {hub.retention.data && (
          <Table
            caption={t('hub.retention')}
            testId="hub-retention-table"
            head={[t('hub.cohort'), t('hub.size'), ...[0, 1, 2, 3, 4, 5].map((w) => t('hub.week', { n: w }))]}
            rows={hub.retention.data.cohorts.map((co) => [
              co.cohort, co.size,
              ...[0, 1, 2, 3, 4, 5].map((w) => (w < co.weeks.length && co.size ? `${Math.round(((co.weeks[w] ?? 0) / co.size) * 100)}%` : '')),
            ])}
          />
        )}
      </Panel>
      <Panel title={t('hub.mood')} panel="mood" period={period} fresh={hub.mood.data?.freshAt}>
        <ErrorNote error={hub.mood.error} />
        {hub.mood.data && (
          <Table
            caption={t('hub.mood')}
            testId="hub-mood-table"
            head={[t('hub.moodName'), t('hub.sessions'), t('hub.watchHours')]}
            rows={Object.entries(
              hub.mood.data.days.reduce<Record<string, [number, number]>>((acc, d) => {
                const [s, w] = acc[d.mood] ?? [0, 0];
                acc[d.mood] = [s + d.sessions, w + d.watchSeconds];
                return acc;
              }, {}),
            ).map(([m, [s, w]]) => [m, n(s), (w / 3600).toFixed(2)])}
          />
        )}
      </Panel>
      <section className="flex min-w-0 flex-col gap-2 rounded-xl border border-line bg-panel p-4" aria-labelledby="hub-errors-title">
        <h2 id="hub-errors-title" className="font-semibold">
          {h('errors')}
        </h2>
        <ErrorNote error={hub.errors.error} />
        {hub.errors.data && (
          <Table
            caption={h('errors')}
            testId="hub-errors-table"
            head={[h('errorType'), h('errorWhere'), h('errorCount'), h('errorLast'), h('errorRequests')]}
            rows={hub.errors.data.groups.map((g) => [
              `${g.errorType}: ${g.message}`,
              g.location,
              n(g.count),
              new Date(g.lastSeen).toLocaleString(lang),
              g.lastRequestIds.join(' '),
            ])}
          />
        )}
      </section>
      <Panel title={h('ai')} panel="ai" period={period} fresh={hub.ai.data?.freshAt}>
        <ErrorNote error={hub.ai.error} />
        {hub.ai.data && (
          <Table
            caption={h('ai')}
            testId="hub-ai-table"
            head={[h('aiFeature'), h('aiRequests'), h('aiRefusals'), h('aiErrors'), h('aiEscalations'), h('aiP95')]}
            rows={Object.entries(
              hub.ai.data.days.reduce<Record<string, [number, number, number, number, number]>>((acc, d) => {
                const [q, r, e, x, p] = acc[d.feature] ?? [0, 0, 0, 0, 0];
                acc[d.feature] = [q + d.requests, r + d.refusals, e + d.errors, x + d.escalations, Math.max(p, d.p95Ms)];
                return acc;
              }, {}),
            ).map(([f, [q, r, e, x, p]]) => [f, n(q), n(r), n(e), n(x), p.toFixed(0)])}
          />
        )}
      </Panel>
    </div>
  );
}

export default HubPage;
