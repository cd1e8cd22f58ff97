import { Loader2, WifiOff, Zap } from 'lucide-react';
import { useCallback, useEffect, useRef, useState } from 'react';
import { Link } from '@/lib/router';
import type { StreamOut } from '@/api/queries';
import { useErrorText, useT } from '@/i18n';
import { useStore } from '@/store';
import { Player, type PlaybackMode, type PlayerStatus } from './player';
import { usePlayback } from './usePlayback';

declare global {
  interface Window {
    /** For the browser tests: what the player does (never used by the app itself). */
    teezuWatch?: {
      video: () => HTMLVideoElement | null;
      state: () => string;
      playback: () => PlaybackMode;
      peer: () => RTCPeerConnection | null;
      hls: () => unknown;
      grant: () => { token: string } | null;
      renew: () => Promise<void>;
    };
  }
}

export type RoomState = 'offline' | 'live' | 'ended' | 'denied';

export function WatchPlayer({ stream, mood }: { stream: StreamOut; mood?: string | null }) {
  const t = useT();
  const errorText = useErrorText();
  const videoRef = useRef<HTMLVideoElement>(null);
  const playerRef = useRef<Player | null>(null);
  const lowLatency = useStore((s) => s.lowLatency);
  const setLowLatency = useStore((s) => s.setLowLatency);
  const [status, setStatus] = useState<PlayerStatus>('idle');
  const [mode, setMode] = useState<PlaybackMode>('none');
  const [note, setNote] = useState('');
  const [forbidden, setForbidden] = useState(0); // counts the media servers' 403s
  const access = usePlayback(stream);

  const refused = access.data?.kind === 'refused' ? access.data.error : null;
  const roomState: RoomState =
    stream.state === 'live' ? (refused ? 'denied' : 'live') : stream.state === 'ended' ? 'ended' : 'offline';

  useEffect(() => {
    const video = videoRef.current!;
    const player = new Player(video, stream.id, {
      onStatus: setStatus,
      onMode: setMode,
      onFallback: (why) => {
        setLowLatency(false);
        setNote(t('watch.lowLatencyUnavailable', { why }));
      },
      onForbidden: () => setForbidden((n) => n + 1),
    });
    playerRef.current = player;
    return () => {
      player.destroy();
      playerRef.current = null;
    };
    // One player per stream; t and setLowLatency are stable enough for the fallback note.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [stream.id]);

  const a = access.data;
  useEffect(() => {
    const player = playerRef.current;
    if (!player) return;
    if (roomState !== 'live' || !a || a.kind === 'refused') {
      player.stop();
      return;
    }
    player.setToken(a.token);
    player.play(a.src, a.token, lowLatency);
  }, [roomState, a, lowLatency]);

  // One renewal at a time (a burst of 403s asks once).
  const renewing = useRef<Promise<void> | null>(null);
  const grantRef = useRef<{ token: string } | null>(null);
  const refetch = access.refetch;
  const renew = useCallback(() => {
    renewing.current ??= refetch()
      .then((r) => {
        grantRef.current = r.data?.kind === 'token' ? { token: r.data.token } : null;
      })
      .finally(() => {
        renewing.current = null;
      });
    return renewing.current;
  }, [refetch]);
  useEffect(() => {
    grantRef.current = a?.kind === 'token' ? { token: a.token } : null;
  }, [a]);
  useEffect(() => {
    if (forbidden) void renew();
  }, [forbidden, renew]);

  const stateRef = useRef(roomState);
  useEffect(() => {
    stateRef.current = roomState;
  }, [roomState]);
  useEffect(() => {
    window.teezuWatch = {
      video: () => videoRef.current,
      state: () => stateRef.current,
      playback: () => playerRef.current?.mode ?? 'none',
      peer: () => playerRef.current?.peer ?? null,
      hls: () => playerRef.current?.hlsInstance ?? null,
      grant: () => grantRef.current,
      renew,
    };
    return () => {
      delete window.teezuWatch;
    };
  }, [renew]);

  const message =
    roomState === 'ended'
      ? t('watch.ended')
      : roomState === 'offline'
        ? t('watch.offline')
        : refused
          ? refused.code === 'AGE_VERIFICATION_REQUIRED'
            ? t('watch.ageRequired')
            : refused.code === 'GEO_BLOCKED'
              ? t('watch.geoBlocked')
              : errorText(refused)
          : '';

  return (
    <div className="flex flex-col gap-2">
      <div
        data-testid="player"
        data-state={roomState}
        data-status={status}
        data-playback={mode}
        className="glow relative aspect-video w-full overflow-hidden rounded-xl bg-black"
        style={mood ? ({ '--glow': `var(--color-mood-${mood})` } as React.CSSProperties) : undefined}
      >
        <video ref={videoRef} autoPlay muted playsInline controls className="size-full" aria-label={t('watch.video')} />
        <span
          className={`absolute left-2 top-2 rounded px-2 py-0.5 text-xs font-bold uppercase ${roomState === 'live' ? 'bg-live text-white' : 'bg-panel-2 text-muted'}`}
          data-testid="live-badge"
        >
          {t(`watch.badge.${roomState}`)}
        </span>
        {roomState === 'live' && status === 'reconnecting' && (
          <div role="status" className="absolute inset-0 flex items-center justify-center gap-2 bg-black/60 text-warn" data-testid="player-reconnecting">
            <WifiOff className="size-5" aria-hidden /> {t('common.reconnecting')}
          </div>
        )}
        {roomState === 'live' && status === 'loading' && (
          <div className="pointer-events-none absolute inset-0 flex items-center justify-center" aria-hidden>
            <Loader2 className="size-8 animate-spin text-neutral-300" />
          </div>
        )}
        {message && (
          <div className="absolute inset-x-0 bottom-0 bg-black/70 p-3 text-sm" role="status" data-testid="player-message">
            {message}
            {refused?.code === 'AGE_VERIFICATION_REQUIRED' && (
              <>
                {' '}
                <Link className="text-brand underline" to={`/age?next=/watch/${stream.id}`}>
                  {t('watch.openAgeGate')}
                </Link>
              </>
            )}
          </div>
        )}
      </div>
      <div className="flex flex-wrap items-center gap-2">
        <button
          type="button"
          aria-pressed={lowLatency}
          onClick={() => {
            setNote('');
            setLowLatency(!lowLatency);
          }}
          className="inline-flex min-h-9 items-center gap-1 rounded-lg border border-line bg-panel-2 px-3 text-sm aria-pressed:border-brand aria-pressed:text-brand"
          title={t('watch.lowLatencyHelp')}
          data-testid="low-latency"
        >
          <Zap className="size-4" aria-hidden /> {lowLatency ? t('watch.lowLatencyOn') : t('watch.lowLatencyOff')}
        </button>
        {note && <p className="text-sm text-warn" role="status">{note}</p>}
      </div>
    </div>
  );
}
