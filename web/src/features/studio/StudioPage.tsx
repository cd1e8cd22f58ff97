import { useQueryClient } from '@tanstack/react-query';
import { Radio, Square } from 'lucide-react';
import { lazy, Suspense, useCallback, useEffect, useRef, useState, type FormEvent, type MouseEvent } from 'react';
import { Link, useParams } from '@/lib/router';
import { api, ApiError, data } from '@/api/client';
import { signedInAs, useMe, useStream, useLogout } from '@/api/queries';
import { Button } from '@/components/ui/Button';
import { useErrorText, useT } from '@/i18n';
import { strings as auth } from '@/features/auth/strings';
import { strings } from './strings';
import { holdRoom } from '@/realtime/socket';
import { useStore } from '@/store';
import { ActivityFeed } from '@/features/watch/ActivityFeed';
import { Checklist, studioKeys, useIdentity } from './Checklist';
import { GoalAndMenu } from './GoalAndMenu';
import { explain, type Help, type HelpContext, type RefusalError } from './goLiveHelp';
import { LiveHealth } from './LiveHealth';
import { MoodView } from './MoodView';
import { GamesControls } from './GamesControls';
import { PollControls } from './PollControls';
import { Reactions } from './Reactions';
import { listDevices, openCamera, Publisher, Refusal, type Devices, type PublishState } from './publisher';
import { SafeWord } from './SafeWord';
import { StreamSettings } from './StreamSettings';

// Performers, shows, posts, chat safety and recordings: after the studio's first paint.
const StudioExtras = lazy(() => import('./StudioExtras'));

interface Message {
  text: string;
  error: boolean;
  code?: string | null;
  help?: Help;
}

declare global {
  interface Window {
    teezuStudio?: { start: () => Promise<void>; stop: () => Promise<void>; pc: () => RTCPeerConnection | null; safeWord: () => void };
    teezuGoLiveHelp?: { explain: (code: string, error: RefusalError, ctx: HelpContext) => Help };
  }
}

const STANDING_CODES = ['STREAM_FROZEN', 'ACCOUNT_SUSPENDED', 'ACCOUNT_BANNED'];

/** The creator studio: camera and microphone, go live and stop over WHIP, the safe word,
 * what is missing to go live, live health, stream settings, goal and tip menu. */
export default function StudioPage() {
  const { streamId = '' } = useParams();
  const t = useT(strings, auth);
  const errorText = useErrorText();
  const client = useQueryClient();
  const me = useStore((s) => s.me);
  const meQuery = useMe();
  const logout = useLogout();
  const stream = useStream(streamId);
  const identity = useIdentity(Boolean(me));
  const roomFrozen = useStore((s) => Boolean(s.rooms[streamId]?.frozen));
  const patchRoom = useStore((s) => s.patchRoom);
  const [state, setState] = useState<PublishState>('idle');
  const [message, setMessage] = useState<Message | null>(null);
  const [token, setToken] = useState(() => new URLSearchParams(window.location.hash.slice(1)).get('token') ?? '');
  const [showLogin, setShowLogin] = useState(false);
  const [standing, setStanding] = useState<string | null>(null);
  const [frozenReason, setFrozenReason] = useState<string | null>(null);
  const [devices, setDevices] = useState<Devices>({ cameras: [], microphones: [] });
  const [cameraId, setCameraId] = useState('');
  const [micId, setMicId] = useState('');
  const [startedAt, setStartedAt] = useState<number | null>(null);
  const media = useRef<MediaStream | null>(null);
  const preview = useRef<HTMLVideoElement>(null);
  const publisher = useRef<Publisher | null>(null);
  const say = (text: string, error = false) => setMessage({ text, error });

  // --- the page's state for people and tests: body data-* as the old studio page had
  useEffect(() => {
    document.body.dataset.state = state;
  }, [state]);
  useEffect(() => {
    if (!meQuery.isPending) document.body.dataset.account = me ? 'signed-in' : 'signed-out';
  }, [me, meQuery.isPending]);
  useEffect(() => {
    document.body.dataset.frozen = roomFrozen ? 'yes' : 'no';
  }, [roomFrozen]);
  useEffect(
    () => () => {
      delete document.body.dataset.state;
      delete document.body.dataset.account;
      delete document.body.dataset.frozen;
    },
    [],
  );

  // The room (one socket per tab) tells whether the stream is frozen, by the safe word or a
  // moderator; signed out there is nothing to do in it.
  useEffect(() => (me ? holdRoom(streamId) : undefined), [me, streamId]);

  // --- camera and microphone
  const startCamera = useCallback(
    async (camera?: string, mic?: string) => {
      try {
        const next = await openCamera(camera || undefined, mic || undefined);
        media.current?.getTracks().forEach((tr) => tr.stop());
        media.current = next;
        if (preview.current) preview.current.srcObject = next;
        setDevices(await listDevices());
        return next;
      } catch (e) {
        say(t('studio.noCamera', { why: e instanceof Error ? e.message : String(e) }), true);
        return null;
      }
    },
    [t],
  );
  useEffect(() => {
    const opening = setTimeout(() => void startCamera()); // after the first paint
    return () => {
      clearTimeout(opening);
      media.current?.getTracks().forEach((tr) => tr.stop());
    };
    // Once on open; a device choice calls startCamera itself.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    publisher.current = new Publisher(streamId, (next, lost) => {
      if (next === 'live') {
        setState('live');
        setStartedAt(Date.now());
        say(t('studio.youAreLive'));
      } else if (lost) {
        setState('error');
        say(t('studio.connectionLost'), true);
      }
    });
    const p = publisher.current;
    const leave = () => p.leave();
    window.addEventListener('pagehide', leave);
    return () => window.removeEventListener('pagehide', leave);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [streamId]);

  const showRefusal = (error: RefusalError) => {
    const help = explain(error.code, error, {
      streamId,
      signedIn: Boolean(me),
      handle: me?.handle.toLowerCase() ?? null,
      identity: identity.data?.state ?? null,
      identityReason: identity.data?.reason ?? null,
    }, t);
    setState('error');
    setMessage({ text: help.text, error: true, code: error.code ?? '', help });
    if (error.code && STANDING_CODES.includes(error.code)) setStanding(help.text);
    void client.invalidateQueries({ queryKey: ['studio'] });
  };

  async function publishToken(): Promise<string | null> {
    // A pasted token (from `teezu streams create`) wins; otherwise the signed-in owner gets a
    // short-lived grant, so the long-lived token never reaches the browser.
    if (token.trim()) return token.trim();
    if (!me) return null;
    try {
      const grant = await data(
        api.POST('/api/v1/streams/{stream_id}/publish-credentials', { params: { path: { stream_id: streamId } } }),
      );
      return grant.token;
    } catch (e) {
      if (!(e instanceof ApiError) || e.status === 0) throw new Refusal({ code: 'NETWORK' });
      throw new Refusal({ status: e.status, code: e.code, message: e.message, meta: e.meta, retryAfter: e.retryAfter ?? null });
    }
  }

  async function start() {
    setState('connecting');
    say(t('studio.connecting'));
    let grant: string | null;
    try {
      grant = await publishToken();
    } catch (e) {
      showRefusal(e instanceof Refusal ? e.error : { code: 'NETWORK' });
      return;
    }
    if (!grant) {
      setState('error');
      say(t('studio.signInToGoLive'), true);
      setShowLogin(true);
      return;
    }
    const m = media.current ?? (await startCamera(cameraId, micId));
    if (!m) {
      setState('error');
      return;
    }
    try {
      await publisher.current!.start(m, grant);
    } catch (e) {
      if (e instanceof Refusal) showRefusal(e.error);
      else {
        setState('error');
        say(t('studio.couldNotGoLive', { why: e instanceof Error ? e.message : String(e) }), true);
      }
    }
  }

  async function stop() {
    setState('stopped');
    setStartedAt(null);
    say(t('studio.ending'));
    const failure = await publisher.current!.stop();
    if (failure) {
      setState('error');
      say(t('studio.stopFailed', { why: failure }), true);
      return;
    }
    setState('stopped');
    say(t('studio.ended'));
    void client.invalidateQueries({ queryKey: studioKeys.performers(streamId) }); // new check-ins
  }

  useEffect(() => {
    window.teezuStudio = {
      start,
      stop,
      pc: () => publisher.current?.pc ?? null,
      safeWord: () => document.getElementById('safeword')?.click(),
    };
    window.teezuGoLiveHelp = { explain: (code, error, ctx) => explain(code, error, ctx, t) };
    return () => {
      delete window.teezuStudio;
      delete window.teezuGoLiveHelp;
    };
  });

  // --- the in-page fixes: scroll there without replacing the URL's #token=... fragment
  function onMessageClick(e: MouseEvent<HTMLParagraphElement>) {
    const link = (e.target as HTMLElement).closest('a');
    const href = link?.getAttribute('href') ?? '';
    if (!href.startsWith('#')) return;
    e.preventDefault();
    const id = href.slice(1);
    if (id === 'login') {
      setShowLogin(true);
      setTimeout(() => document.getElementById('email')?.focus());
      return;
    }
    const target = document.getElementById(id);
    target?.scrollIntoView({ block: 'center' });
    target?.focus();
  }

  const live = state === 'live';
  const busy = state === 'connecting' || live;
  const badge: Record<PublishState, string> = {
    idle: t('studio.badge.idle'),
    connecting: t('studio.badge.connecting'),
    live: t('studio.badge.live'),
    stopped: t('studio.badge.stopped'),
    error: t('studio.badge.error'),
  };
  const loginVisible = !me && (showLogin || !token.trim()) && !meQuery.isPending;

  return (
    <main className="mx-auto grid w-full max-w-6xl gap-4 p-3 lg:grid-cols-[minmax(0,1fr)_380px]">
      <div className="flex min-w-0 flex-col gap-3">
        <h1 className="text-xl font-bold">
          {t('studio.title')}
          {stream.data && <span className="ml-2 text-base font-normal text-muted">{stream.data.title}</span>}
        </h1>
        <div className="relative aspect-video overflow-hidden rounded-xl bg-black">
          <video id="preview" ref={preview} autoPlay muted playsInline className="size-full object-cover" aria-label={t('studio.preview')} />
          <span
            id="badge"
            className={`absolute left-2 top-2 rounded px-2 py-0.5 text-xs font-bold uppercase ${live ? 'bg-live text-white' : 'bg-panel-2 text-neutral-200'}`}
          >
            {badge[state]}
          </span>
        </div>
        <div className="grid gap-2 sm:grid-cols-2">
          <label className="flex flex-col gap-1 text-sm">
            {t('studio.camera')}
            <select
              value={cameraId}
              disabled={busy}
              onChange={(e) => {
                setCameraId(e.target.value);
                void startCamera(e.target.value, micId);
              }}
              className="min-h-10 rounded-lg border border-line bg-panel-2 px-2"
            >
              <option value="">{t('studio.defaultDevice')}</option>
              {devices.cameras.map((d, i) => (
                <option key={d.deviceId || i} value={d.deviceId}>{d.label || `${t('studio.camera')} ${i + 1}`}</option>
              ))}
            </select>
          </label>
          <label className="flex flex-col gap-1 text-sm">
            {t('studio.microphone')}
            <select
              value={micId}
              disabled={busy}
              onChange={(e) => {
                setMicId(e.target.value);
                void startCamera(cameraId, e.target.value);
              }}
              className="min-h-10 rounded-lg border border-line bg-panel-2 px-2"
            >
              <option value="">{t('studio.defaultDevice')}</option>
              {devices.microphones.map((d, i) => (
                <option key={d.deviceId || i} value={d.deviceId}>{d.label || `${t('studio.microphone')} ${i + 1}`}</option>
              ))}
            </select>
          </label>
        </div>
        <div className="flex flex-wrap items-center gap-2">
          <Button id="golive" onClick={() => void start()} disabled={busy}>
            <Radio className="size-4" aria-hidden /> {t('studio.goLive')}
          </Button>
          <Button id="stop" variant="secondary" onClick={() => void stop()} disabled={!busy}>
            <Square className="size-4" aria-hidden /> {t('studio.stop')}
          </Button>
          <Elapsed since={live ? startedAt : null} />
        </div>
        <p
          id="message"
          role="status"
          data-code={message?.code ?? undefined}
          onClick={onMessageClick}
          className={`min-h-6 text-sm ${message?.error ? 'text-red-300' : 'text-neutral-200'}`}
        >
          {message?.text}
          {message?.help && (
            <>
              {' '}
              <a id="fix" href={message.help.href} className="font-semibold text-brand underline">
                {message.help.label}
              </a>
            </>
          )}
          {message?.code && <span className="code ml-2 rounded bg-panel-2 px-1 font-mono text-xs text-muted">{message.code}</span>}
        </p>
        {me && (
          <SafeWord
            streamId={streamId}
            frozen={roomFrozen}
            reason={frozenReason}
            onFrozen={(frozen, reason) => {
              patchRoom(streamId, { frozen });
              setFrozenReason(reason ?? null);
            }}
            onNote={say}
          />
        )}
        <LiveHealth streamId={streamId} live={live} />
        {me && stream.data && (stream.data.creatorId === me.id || me.roles.includes('admin')) && (
          <>
            <MoodView streamId={streamId} />
            <PollControls streamId={streamId} />
            <Reactions streamId={streamId} />
            <GoalAndMenu streamId={streamId} />
            <StreamSettings key={stream.data.id} stream={stream.data} />
            <Suspense fallback={null}>
              <GamesControls streamId={streamId} />
              <StudioExtras streamId={streamId} />
            </Suspense>
          </>
        )}
      </div>
      <aside className="flex min-w-0 flex-col gap-3">
        <section id="account" className="flex flex-col gap-2 rounded-xl border border-line bg-panel p-3">
          {me ? (
            <p id="whoami" className="flex flex-wrap items-center gap-2 text-sm text-muted">
              {t('studio.signedInAs')} <strong id="handle" className="text-neutral-100">@{me.handle}</strong>
              <Button
                id="logout"
                variant="secondary"
                onClick={() =>
                  logout.mutate(undefined, {
                    onSettled: () => say(t('studio.signedOut')),
                  })
                }
              >
                {t('nav.signOut')}
              </Button>
            </p>
          ) : (
            <StudioSignIn
              hidden={!loginVisible}
              onSignedIn={() => {
                setShowLogin(false);
                if (state === 'error') setState('idle');
                say(t('studio.signedIn'));
              }}
              onError={(text) => say(text, true)}
              errorText={errorText}
            />
          )}
        </section>
        {me && (
          <div className="max-h-80 overflow-hidden" data-testid="studio-feed">
            <ActivityFeed streamId={streamId} />
          </div>
        )}
        <Checklist streamId={streamId} standing={standing} onNote={(text, error) => {
          if (!error && state === 'error') setState('idle');
          say(text, error);
        }} />
        <details id="tokenbox" className="rounded-xl border border-line bg-panel p-3 text-sm">
          <summary className="cursor-pointer text-muted">{t('studio.tokenInstead')}</summary>
          <label htmlFor="token" className="mt-2 block">{t('studio.tokenHelp')}</label>
          <input id="token" type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} className="mt-1 min-h-10 w-full rounded-lg border border-line bg-panel-2 px-2" />
        </details>
        <p className="text-sm text-muted">
          {t('studio.viewersWatchAt')}{' '}
          <Link id="watchlink" to={`/watch/${streamId}`} className="break-all text-brand underline">
            {`${window.location.origin}/watch/${streamId}`}
          </Link>
        </p>
      </aside>
    </main>
  );
}

/** The time on air, ticking on its own (the rest of the studio does not re-render each second). */
function Elapsed({ since }: { since: number | null }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (since === null) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [since]);
  const seconds = since === null ? 0 : Math.max(0, Math.floor((now - since) / 1000));
  return (
    <span id="elapsed" className="tabular-nums text-muted">
      {since === null ? '' : `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`}
    </span>
  );
}

function StudioSignIn({
  hidden,
  onSignedIn,
  onError,
  errorText,
}: {
  hidden: boolean;
  onSignedIn: () => void;
  onError: (text: string) => void;
  errorText: (e: unknown) => string;
}) {
  const t = useT(strings, auth);
  const client = useQueryClient();
  const [challenge, setChallenge] = useState<string | null>(null);
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    try {
      const result = challenge
        ? await data(api.POST('/api/v1/auth/login/2fa', { body: { challenge, code: String(form.get('totp') ?? '').trim() } }))
        : await data(api.POST('/api/v1/auth/login', { body: { email: String(form.get('email') ?? '').trim(), password: String(form.get('password') ?? '') } }));
      if (result.twoFactorRequired && result.challenge) {
        setChallenge(result.challenge);
        onError(t('auth.twoFactorBody'));
        return;
      }
      setChallenge(null);
      await signedInAs(client, result.user ?? null);
      onSignedIn();
    } catch (err) {
      if (challenge && err instanceof ApiError && err.status === 401) setChallenge(null);
      onError(t('studio.signInFailed', { why: errorText(err) }));
    }
  }
  const input = 'min-h-10 rounded-lg border border-line bg-panel-2 px-2';
  return (
    <form id="login" hidden={hidden} onSubmit={(e) => void submit(e)} className="flex flex-col gap-2">
      <h2 className="font-semibold">{t('studio.signInToGoLiveTitle')}</h2>
      <label htmlFor="email" className="text-sm">{t('auth.email')}</label>
      <input id="email" name="email" type="email" autoComplete="username" required className={input} />
      <label htmlFor="password" className="text-sm">{t('auth.password')}</label>
      <input id="password" name="password" type="password" autoComplete="current-password" required className={input} />
      <div id="totpbox" hidden={!challenge} className="flex flex-col gap-1">
        <label htmlFor="totp" className="text-sm">{t('auth.code')}</label>
        <input id="totp" name="totp" inputMode="numeric" autoComplete="one-time-code" maxLength={20} className={input} />
      </div>
      <Button id="signin" type="submit">{t('auth.signIn')}</Button>
    </form>
  );
}
