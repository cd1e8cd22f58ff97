import { useEffect } from 'react';
import { useNavigate } from '@/lib/router';
import { useSignedIn } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { ErrorNote, Loading } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings } from '@/features/wallet/strings';
import { useStore } from '@/store';
import { useCancelMembership, useJoin, useMyMemberships, usePlans, type Plan } from './hooks';

function PlanCard({ plan, current, onJoin, busy }: { plan: Plan; current: boolean; onJoin: () => void; busy: boolean }) {
  const t = useT(strings);
  return (
    <li className="flex flex-col gap-2 rounded-xl border border-line bg-panel p-4" data-plan={plan.id} aria-current={current || undefined}>
      <h2 className="text-lg font-bold capitalize">{plan.badge}</h2>
      <p className="text-2xl font-bold">{t('membership.price', { n: plan.price })}</p>
      <ul className="text-sm text-muted">
        <li>{t('membership.badge', { badge: plan.badge })}</li>
        <li>{t('membership.ai', { level: plan.aiLevel })}</li>
        {plan.kind === 'member' && (
          <li>{plan.dmPerDay === null ? t('membership.dmUnlimited') : t('membership.dm', { n: plan.dmPerDay })}</li>
        )}
        {plan.grantsRoles.includes('member_plus') && <li>Member+</li>}
        {plan.maxSubscriptionTiers !== null && <li>{t('membership.tiers', { n: plan.maxSubscriptionTiers })}</li>}
      </ul>
      {current ? (
        <p className="font-semibold text-ok">✓ {plan.badge}</p>
      ) : (
        <Button onClick={onJoin} disabled={busy} aria-label={`${t('membership.join')} ${plan.badge}`}>
          {t('membership.join')}
        </Button>
      )}
    </li>
  );
}

/** The membership tiers: what each unlocks (data from the API), joining, cancelling. */
export default function MembershipPage() {
  const t = useT(strings);
  const lang = useStore((s) => s.lang);
  const { me, pending } = useSignedIn();
  const navigate = useNavigate();
  const plans = usePlans();
  const mine = useMyMemberships(!!me);
  const join = useJoin();
  const cancel = useCancelMembership();
  useEffect(() => {
    if (!pending && !me) void navigate('/signin?next=/membership', { replace: true });
  }, [pending, me, navigate]);
  if (pending || !me || plans.isPending) return <Loading />;
  if (plans.isError) return <ErrorNote error={plans.error} />;
  const live = mine.data?.unlocked.plans ?? [];
  const canStream = me.permissions.includes('stream.publish');
  const shown = plans.data.filter((p) => p.kind === 'member' || canStream);
  const active = (mine.data?.memberships ?? []).filter((m) => m.state === 'active' || m.state === 'grace');
  return (
    <main className="mx-auto flex w-full max-w-5xl flex-col gap-4 p-4">
      <h1 className="text-2xl font-bold">{t('membership.title')}</h1>
      <p className="text-muted">{t('membership.intro')}</p>
      <ErrorNote error={join.error ?? cancel.error} />
      <ul className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4" aria-label={t('membership.title')}>
        {shown.map((p) => (
          <PlanCard key={p.id} plan={p} current={live.includes(p.id)} busy={join.isPending} onJoin={() => join.mutate(p.id)} />
        ))}
      </ul>
      {active.length > 0 && (
        <section aria-label={t('membership.mine')} className="flex flex-col gap-2">
          <h2 className="text-lg font-bold">{t('membership.mine')}</h2>
          {active.map((m) => (
            <div key={m.id} className="flex flex-wrap items-center justify-between gap-2 rounded-lg border border-line bg-panel p-3" data-membership={m.plan}>
              <span>
                <span className="capitalize">{m.plan.replace('_plus', '+')}</span> ·{' '}
                {m.cancelAtPeriodEnd
                  ? t('membership.endsOn', { date: new Date(m.currentPeriodEnd).toLocaleDateString(lang) })
                  : t('membership.renewsOn', { date: new Date(m.currentPeriodEnd).toLocaleDateString(lang) })}
              </span>
              {!m.cancelAtPeriodEnd && (
                <Button variant="secondary" onClick={() => cancel.mutate(m.id)} disabled={cancel.isPending}>
                  {t('membership.cancel')}
                </Button>
              )}
            </div>
          ))}
        </section>
      )}
    </main>
  );
}
