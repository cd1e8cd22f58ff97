import { Coins, Menu, WifiOff } from 'lucide-react';
import { lazy, Suspense, type ReactNode } from 'react';
import { Link } from '@/lib/router';
import { useBalance, useMe } from '@/api/queries';
import { Loading } from '@/components/ui/States';
import { LANGS, loadLanguage, useT, type Lang } from '@/i18n';
import { useStore } from '@/store';
import { NavItems } from './NavItems';

// The phone's drawer (Radix's dialog) is loaded when it is first opened: every route's
// JavaScript has a budget.
const Drawer = lazy(() => import('./Drawer'));

function LanguagePicker() {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const setLang = useStore((s) => s.setLang);
  return (
    <label className="flex items-center gap-1 text-xs text-muted">
      <span className="sr-only">{t('nav.language')}</span>
      <select
        aria-label={t('nav.language')}
        className="rounded-md border border-line bg-panel-2 px-2 py-1 text-neutral-100"
        value={lang}
        onChange={(e) => {
          const next = e.target.value as Lang;
          void loadLanguage(next).then(() => setLang(next));
        }}
      >
        {LANGS.map((l) => (
          <option key={l} value={l}>
            {l.toUpperCase()}
          </option>
        ))}
      </select>
    </label>
  );
}

function BalanceChip() {
  const t = useT();
  const me = useStore((s) => s.me);
  const balance = useStore((s) => s.balance);
  useBalance(Boolean(me));
  if (!me || balance === null) return null;
  return (
    <Link to="/wallet" className="flex items-center gap-1 rounded-full bg-panel-2 px-3 py-1 text-sm" data-testid="balance">
      <Coins className="size-4 text-warn" aria-hidden />
      <span>{t('wallet.tokens', { n: balance })}</span>
    </Link>
  );
}

export function ConnectionBanner() {
  const t = useT();
  const connection = useStore((s) => s.connection);
  if (connection !== 'reconnecting') return null;
  return (
    <div role="status" data-testid="reconnecting" className="flex items-center justify-center gap-2 bg-warn/20 px-3 py-1 text-sm text-warn">
      <WifiOff className="size-4" aria-hidden /> {t('common.reconnecting')}
    </div>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const t = useT();
  useMe();
  const drawerOpen = useStore((s) => s.drawerOpen);
  const setDrawer = useStore((s) => s.setDrawer);
  return (
    <div className="flex min-h-dvh flex-col">
      <a href="#content" className="sr-only focus:not-sr-only focus:absolute focus:p-2">
        {t('nav.skip')}
      </a>
      <header className="sticky top-0 z-20 flex items-center gap-2 border-b border-line bg-ink/95 px-3 py-2 backdrop-blur">
        <button type="button" className="rounded-lg p-2 hover:bg-panel-2 md:hidden" aria-label={t('nav.menu')} aria-haspopup="dialog" onClick={() => setDrawer(true)}>
          <Menu className="size-5" aria-hidden />
        </button>
        {drawerOpen && (
          <Suspense fallback={null}>
            <Drawer />
          </Suspense>
        )}
        <Link to="/" className="text-lg font-extrabold tracking-tight">
          Teez<span className="text-brand">U</span> Live
        </Link>
        <nav aria-label={t('nav.main')} className="ml-4 hidden items-center gap-1 md:flex">
          <NavItems />
        </nav>
        <div className="ml-auto flex items-center gap-2">
          <BalanceChip />
          <LanguagePicker />
        </div>
      </header>
      <ConnectionBanner />
      <div id="content" className="flex min-w-0 flex-1 flex-col">
        <Suspense fallback={<Loading />}>
          {children}
        </Suspense>
      </div>
    </div>
  );
}
