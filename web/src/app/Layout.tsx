import { Dialog } from 'radix-ui';
import { Coins, Compass, Heart, LogIn, LogOut, Menu, Sparkles, UserRound, Video, Wallet, WifiOff, X } from 'lucide-react';
import { Suspense } from 'react';
import { Link, NavLink, Outlet, useNavigation } from 'react-router';
import { useBalance, useLogout, useMe } from '@/api/queries';
import { Loading } from '@/components/ui/States';
import { LANGS, loadLanguage, useT, type Lang } from '@/i18n';
import { useStore } from '@/store';

function NavItems({ onPick }: { onPick?: () => void }) {
  const t = useT();
  const me = useStore((s) => s.me);
  const logout = useLogout();
  const link = 'flex min-h-10 items-center gap-2 rounded-lg px-3 py-2 text-sm hover:bg-panel-2 aria-[current=page]:text-brand';
  return (
    <>
      <NavLink to="/" end className={link} onClick={onPick}>
        <Compass className="size-4" aria-hidden /> {t('nav.discover')}
      </NavLink>
      {me && (
        <NavLink to="/wallet" className={link} onClick={onPick}>
          <Wallet className="size-4" aria-hidden /> {t('nav.wallet')}
        </NavLink>
      )}
      {me && (
        <NavLink to="/account" className={link} onClick={onPick}>
          <UserRound className="size-4" aria-hidden /> {t('nav.account')}
        </NavLink>
      )}
      {me?.permissions.includes('ai.basic') && (
        <NavLink to="/match" className={link} onClick={onPick}>
          <Heart className="size-4" aria-hidden /> {t('nav.match')}
        </NavLink>
      )}
      {me?.permissions.includes('ai.basic') && (
        <NavLink to="/vibe" className={link} onClick={onPick}>
          <Sparkles className="size-4" aria-hidden /> {t('nav.vibe')}
        </NavLink>
      )}
      {me?.permissions.includes('stream.publish') && (
        <NavLink to="/studio" className={link} onClick={onPick}>
          <Video className="size-4" aria-hidden /> {t('nav.studio')}
        </NavLink>
      )}
      {me ? (
        <button
          type="button"
          className={link}
          onClick={() => {
            onPick?.();
            logout.mutate();
          }}
        >
          <LogOut className="size-4" aria-hidden /> {t('nav.signOut')}
        </button>
      ) : (
        <>
          <NavLink to="/signin" className={link} onClick={onPick}>
            <LogIn className="size-4" aria-hidden /> {t('nav.signIn')}
          </NavLink>
          <NavLink to="/signup" className={`${link} bg-brand font-semibold text-black hover:bg-brand-strong`} onClick={onPick}>
            {t('nav.signUp')}
          </NavLink>
        </>
      )}
    </>
  );
}

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

export function Layout() {
  const t = useT();
  useMe();
  const navigation = useNavigation();
  const drawerOpen = useStore((s) => s.drawerOpen);
  const setDrawer = useStore((s) => s.setDrawer);
  return (
    <div className="flex min-h-dvh flex-col">
      <a href="#content" className="sr-only focus:not-sr-only focus:absolute focus:p-2">
        {t('nav.skip')}
      </a>
      <header className="sticky top-0 z-20 flex items-center gap-2 border-b border-line bg-ink/95 px-3 py-2 backdrop-blur">
        <Dialog.Root open={drawerOpen} onOpenChange={setDrawer}>
          <Dialog.Trigger asChild>
            <button type="button" className="rounded-lg p-2 hover:bg-panel-2 md:hidden" aria-label={t('nav.menu')}>
              <Menu className="size-5" aria-hidden />
            </button>
          </Dialog.Trigger>
          <Dialog.Portal>
            <Dialog.Overlay className="fixed inset-0 z-30 bg-black/60" />
            <Dialog.Content className="fixed inset-y-0 left-0 z-40 flex w-72 max-w-[85vw] flex-col gap-1 bg-panel p-4">
              <div className="mb-2 flex items-center justify-between">
                <Dialog.Title className="font-bold">TeezU Live</Dialog.Title>
                <Dialog.Close className="rounded-lg p-2 hover:bg-panel-2" aria-label={t('common.close')}>
                  <X className="size-5" aria-hidden />
                </Dialog.Close>
              </div>
              <Dialog.Description className="sr-only">{t('nav.menu')}</Dialog.Description>
              <nav aria-label={t('nav.main')} className="flex flex-col gap-1">
                <NavItems onPick={() => setDrawer(false)} />
              </nav>
            </Dialog.Content>
          </Dialog.Portal>
        </Dialog.Root>
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
      {navigation.state === 'loading' && <div className="h-0.5 animate-pulse bg-brand" aria-hidden />}
      <div id="content" className="flex min-w-0 flex-1 flex-col">
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </div>
    </div>
  );
}
