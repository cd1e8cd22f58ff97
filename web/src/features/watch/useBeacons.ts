import { type RefObject, useEffect } from 'react';
import { api } from '@/api/client';

export const BEACON_MS = 10_000;

/** What hls.js tells about the live edge (its `latency` getter, seconds behind live). */
interface LatencySource {
  latency?: number;
}

/**
 * The player's quality-of-experience beacons for its viewing session: every 10 s the seconds
 * actually played (the video's clock advancing), stalls and their length, picture-size
 * switches (the ABR ladder), the latency behind live (hls.js) and the startup time once; a
 * final beacon when the player goes away. Counting never gets in the way of watching: errors
 * are ignored.
 */
export function useBeacons(
  streamId: string,
  session: string | null | undefined,
  video: RefObject<HTMLVideoElement | null>,
  hls: () => LatencySource | null,
) {
  useEffect(() => {
    const v = video.current;
    if (!session || !v) return;
    const mountedAt = performance.now();
    let played = 0;
    let lastTime = v.currentTime;
    let stalls = 0;
    let stallSeconds = 0;
    let stallStart: number | null = null;
    let switches = 0;
    let startup: number | null = null;
    let startupSent = false;
    let everPlayed = false;
    let lastSize = '';

    const onTime = () => {
      const step = v.currentTime - lastTime;
      if (step > 0 && step < 2) played += step; // seeks and live-edge jumps are not playing
      lastTime = v.currentTime;
    };
    const onPlaying = () => {
      if (startup === null) startup = performance.now() - mountedAt;
      if (stallStart !== null) {
        stallSeconds += (performance.now() - stallStart) / 1000;
        stallStart = null;
      }
      everPlayed = true;
    };
    const onWaiting = () => {
      if (everPlayed && stallStart === null) {
        stalls += 1;
        stallStart = performance.now();
      }
    };
    const onResize = () => {
      const size = `${v.videoWidth}x${v.videoHeight}`;
      if (lastSize && size !== lastSize) switches += 1;
      lastSize = size;
    };
    v.addEventListener('timeupdate', onTime);
    v.addEventListener('playing', onPlaying);
    v.addEventListener('waiting', onWaiting);
    v.addEventListener('resize', onResize);

    const send = (final: boolean) => {
      const latency = hls()?.latency;
      const body = {
        viewingSessionId: session,
        playedSeconds: Math.min(600, played),
        latencySeconds: typeof latency === 'number' && Number.isFinite(latency) ? Math.min(600, Math.max(0, latency)) : null,
        stalls: Math.min(100, stalls),
        stallSeconds: Math.min(600, stallSeconds),
        bitrateSwitches: Math.min(100, switches),
        startupMs: !startupSent && startup !== null ? Math.min(120_000, startup) : null,
        final,
      };
      if (body.startupMs !== null) startupSent = true;
      played = 0;
      stalls = 0;
      stallSeconds = 0;
      switches = 0;
      const sent = api.POST('/api/v1/streams/{stream_id}/beacons', { params: { path: { stream_id: streamId } }, body });
      sent.catch(() => undefined);
    };
    const timer = setInterval(() => send(false), BEACON_MS);
    return () => {
      clearInterval(timer);
      v.removeEventListener('timeupdate', onTime);
      v.removeEventListener('playing', onPlaying);
      v.removeEventListener('waiting', onWaiting);
      v.removeEventListener('resize', onResize);
      send(true);
    };
  }, [streamId, session, video, hls]);
}
