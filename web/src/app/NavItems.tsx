import { BadgeEuro, BarChart3, CalendarDays, Compass, Gavel, Heart, MessageSquare, Newspaper, LogIn, LogOut, ShieldCheck, Sparkles, UserRound, Video, Wallet } from 'lucide-react';
import { NavLink } from '@/lib/router';
import { useLogout } from '@/api/queries';
import { useT } from '@/i18n';
import { useStore } from '@/store';

/** The main menu's links: the header's on a wide screen, the drawer's on a phone. */
export function NavItems({ onPick }: { onPick?: () => void }) {
  const t = useT();
  const me = useStore((s) => s.me);
  const logout = useLogout();
  const link = 'flex min-h-10 items-center gap-2 rounded-lg px-3 py-2 text-sm hover:bg-panel-2 aria-[current=page]:text-brand';
  return (
    <>
      <NavLink to="/" end className={link} onClick={onPick}>
        <Compass className="size-4" aria-hidden /> {t('nav.discover')}
      </NavLink>
      <NavLink to="/feed" className={link} onClick={onPick}>
        <Newspaper className="size-4" aria-hidden /> {t('nav.feed')}
      </NavLink>
      {me && (
        <NavLink to="/messages" className={link} onClick={onPick}>
          <MessageSquare className="size-4" aria-hidden /> {t('nav.messages')}
        </NavLink>
      )}
      {me && (
        <NavLink to="/wallet" className={link} onClick={onPick}>
          <Wallet className="size-4" aria-hidden /> {t('nav.wallet')}
        </NavLink>
      )}
      <NavLink to="/services" className={link} onClick={onPick}>
        <CalendarDays className="size-4" aria-hidden /> {t('nav.services')}
      </NavLink>
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
      {me?.permissions.includes('stream.publish') && (
        <NavLink to="/studio/business" className={link} onClick={onPick}>
          <BadgeEuro className="size-4" aria-hidden /> {t('nav.business')}
        </NavLink>
      )}
      {me?.permissions.includes('moderation.all') && (
        <NavLink to="/moderation" className={link} onClick={onPick}>
          <Gavel className="size-4" aria-hidden /> {t('nav.moderation')}
        </NavLink>
      )}
      {me?.permissions.includes('system.config_limited') && (
        <NavLink to="/admin" className={link} onClick={onPick}>
          <ShieldCheck className="size-4" aria-hidden /> {t('nav.admin')}
        </NavLink>
      )}
      {me?.permissions.includes('system.config_limited') && (
        <NavLink to="/hub" className={link} onClick={onPick}>
          <BarChart3 className="size-4" aria-hidden /> {t('nav.hub')}
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
