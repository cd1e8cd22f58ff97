import { Link } from '@/lib/router';
import { useProfile, type StreamOut } from '@/api/queries';
import { useT } from '@/i18n';

/** The creator's card above the player: avatar, title, handle and followers. */
export function ProfileCard({ stream }: { stream: StreamOut }) {
  const t = useT();
  const profile = useProfile(stream.creatorHandle);
  return (
    <div className="flex min-w-0 items-center gap-3">
      {profile.data?.avatarUrl ? (
        <img src={profile.data.avatarUrl} alt="" className="size-10 rounded-full object-cover" />
      ) : (
        <span className="flex size-10 items-center justify-center rounded-full bg-panel-2 font-bold" aria-hidden>
          {stream.creatorHandle.slice(0, 1).toUpperCase()}
        </span>
      )}
      <div className="min-w-0">
        <h1 className="truncate text-lg font-bold" data-testid="stream-title">{stream.title}</h1>
        <Link to={`/u/${stream.creatorHandle}`} className="truncate text-sm text-muted hover:text-brand">
          @{stream.creatorHandle}
          {profile.data && <> · {t('profile.followers', { n: profile.data.followers })}</>}
        </Link>
      </div>
    </div>
  );
}
