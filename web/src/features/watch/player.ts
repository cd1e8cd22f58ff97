/**
 * Playback of one stream in one <video>: LL-HLS through hls.js (its light build, loaded only
 * when needed; Safari plays HLS natively), or WebRTC (WHEP) when low latency is on, falling back
 * to HLS when WebRTC fails. Pure browser plumbing, no React: `WatchPlayer` drives it.
 */
import type HlsType from 'hls.js';

export type PlaybackMode = 'none' | 'hls' | 'webrtc';
export type PlayerStatus = 'idle' | 'loading' | 'playing' | 'reconnecting';

export interface PlayerEvents {
  onStatus: (status: PlayerStatus) => void;
  onMode: (mode: PlaybackMode) => void;
  onFallback: (why: string) => void;
  /** The media servers refused the token (expired or revoked): ask the API for a new one. */
  onForbidden: () => void;
}

interface RtcSession {
  pc: RTCPeerConnection;
  location: string | null;
  auth: string | null; // the session's DELETE needs the POST's token
  tracks: MediaStreamTrack[];
}

function gathered(pc: RTCPeerConnection): Promise<void> {
  // No trickle ICE: the offer goes out with its candidates (bounded wait).
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') resolve();
    });
    setTimeout(resolve, 2000);
  });
}

/** `url` with its `token` query parameter set to `token` (left alone when there is none). */
export function withToken(url: string, token: string | null): string {
  if (!token) return url;
  const u = new URL(url, window.location.href);
  if (!u.searchParams.has('token')) return url;
  u.searchParams.set('token', token);
  return u.toString();
}

function stripToken(url: string): string {
  if (!url) return url;
  const u = new URL(url, window.location.href);
  u.searchParams.delete('token');
  return u.toString();
}

export class Player {
  private hls: HlsType | null = null;
  private rtc: RtcSession | null = null;
  private nextRtc: RtcSession | null = null; // made with a renewed token, taking over
  private retry: ReturnType<typeof setTimeout> | null = null;
  private src = '';
  private token: string | null = null;
  private wanted = false;
  private lowLatency = false;
  private destroyed = false;

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly streamId: string,
    private readonly events: PlayerEvents,
  ) {
    video.addEventListener('playing', () => this.events.onStatus('playing'));
    video.addEventListener('waiting', () => {
      if (this.wanted) this.events.onStatus('loading');
    });
  }

  get mode(): PlaybackMode {
    return this.rtc ? 'webrtc' : this.hls || this.video.getAttribute('src') ? 'hls' : 'none';
  }

  get hlsInstance(): HlsType | null {
    return this.hls;
  }

  get peer(): RTCPeerConnection | null {
    return this.rtc?.pc ?? null;
  }

  /** A renewed playback token, swapped in without stopping the picture: hls.js's next
   * requests carry it; a WebRTC session is replaced by one made with it (make before break). */
  setToken(token: string | null): void {
    const changed = token !== this.token;
    this.token = token;
    if (changed && token && this.rtc && !this.nextRtc) void this.playRtc(true);
  }

  /** Play `src` (the HLS URL) with an optional playback token for WHEP. */
  play(src: string, token: string | null, lowLatency: boolean): void {
    const changed = stripToken(src) !== stripToken(this.src) || lowLatency !== this.lowLatency;
    this.src = src;
    this.token = token;
    this.wanted = true;
    if (changed && this.mode !== 'none') this.stopAll();
    this.lowLatency = lowLatency;
    if (this.mode !== 'none') return;
    this.events.onStatus('loading');
    if (lowLatency) void this.playRtc();
    else void this.playHls();
  }

  stop(): void {
    this.wanted = false;
    this.stopAll();
    this.events.onStatus('idle');
  }

  destroy(): void {
    this.destroyed = true;
    this.stop();
  }

  private stopAll(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    this.stopRtc();
    this.stopHls();
    this.events.onMode('none');
  }

  private async playHls(): Promise<void> {
    const video = this.video;
    const { default: Hls } = await import('hls.js/light');
    if (this.destroyed || !this.wanted || this.mode !== 'none' || this.lowLatency) return;
    if (Hls.isSupported()) {
      // No liveSyncDuration* option: those override the playlist's PART-HOLD-BACK. After a
      // stall hold back only half a second more, and catch up at up to 1.25x.
      const hls = new Hls({
        lowLatencyMode: true,
        liveSyncOnStallIncrease: 0.5,
        maxLiveSyncPlaybackRate: 1.25,
        manifestLoadingMaxRetry: 30,
        manifestLoadingRetryDelay: 1000,
        // A refreshed playback token replaces the one in every URI the playlists carry, so a
        // new token never restarts playback.
        xhrSetup: (xhr, url) => xhr.open('GET', withToken(url, this.token), true),
      });
      this.hls = hls;
      hls.on(Hls.Events.ERROR, (_e, info) => {
        // 403: the token expired or was revoked; hls.js's retries carry the new one.
        if (info.response?.code === 403) this.events.onForbidden();
        if (!info.fatal || this.hls !== hls) return;
        if (info.type === Hls.ErrorTypes.MEDIA_ERROR) {
          hls.recoverMediaError();
          return;
        }
        // A lost server (restart) or the first seconds before a segment exists: start again.
        this.events.onStatus('reconnecting');
        hls.destroy();
        this.hls = null;
        this.retry = setTimeout(() => {
          if (this.wanted && !this.lowLatency) void this.playHls();
        }, 1000);
      });
      hls.loadSource(this.src);
      hls.attachMedia(video);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = this.src;
    } else {
      this.events.onFallback('hls');
      return;
    }
    video.play().catch(() => undefined);
    this.events.onMode('hls');
  }

  private stopHls(): void {
    if (this.hls) {
      this.hls.destroy();
      this.hls = null;
    }
    if (this.video.getAttribute('src')) {
      this.video.removeAttribute('src');
      this.video.load();
    }
  }

  /** ``replace``: a session made with a renewed token, taking over from the playing one once
   * its picture arrives. */
  private async playRtc(replace = false): Promise<void> {
    if (!window.RTCPeerConnection) {
      this.fallBack('no WebRTC');
      return;
    }
    const session: RtcSession = { pc: new RTCPeerConnection({ iceServers: [] }), location: null, auth: null, tracks: [] };
    if (replace) this.nextRtc = session;
    else this.rtc = session;
    const pc = session.pc;
    if (!replace) this.events.onMode('webrtc');
    try {
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.ontrack = (e) => {
        if (this.nextRtc === session) {
          session.tracks.push(e.track);
          if (e.track.kind !== 'video') return;
          const old = this.rtc;
          this.rtc = session;
          this.nextRtc = null;
          this.video.srcObject = new MediaStream(session.tracks);
          this.video.play().catch(() => undefined);
          if (old) this.endRtc(old);
          return;
        }
        if (this.rtc !== session) return;
        this.stopHls();
        if (!(this.video.srcObject instanceof MediaStream)) this.video.srcObject = new MediaStream();
        (this.video.srcObject as MediaStream).addTrack(e.track);
        this.video.play().catch(() => undefined);
      };
      pc.onconnectionstatechange = () => {
        // The server closes a session whose access ended; HLS then asks the API again.
        if (this.rtc === session && (pc.connectionState === 'failed' || pc.connectionState === 'closed')) {
          this.fallBack('the connection ended');
        }
        if (this.nextRtc === session && pc.connectionState === 'failed') {
          this.nextRtc = null;
          this.endRtc(session);
        }
      };
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      const headers: Record<string, string> = { 'Content-Type': 'application/sdp' };
      if (this.token) headers.Authorization = `Bearer ${this.token}`;
      const res = await fetch(`/whep/${this.streamId}`, { method: 'POST', headers, body: pc.localDescription!.sdp });
      if (res.status !== 201) {
        let why = `HTTP ${res.status}`;
        try {
          const b = (await res.json()) as { code: string };
          why = b.code;
        } catch {
          /* not JSON */
        }
        throw new Error(why);
      }
      session.location = res.headers.get('Location');
      session.auth = headers.Authorization ?? null;
      const answer = await res.text();
      if (this.rtc !== session && this.nextRtc !== session) {
        this.endRtc(session);
        return;
      }
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    } catch (e) {
      if (this.rtc === session) this.fallBack(e instanceof Error ? e.message : String(e));
      else if (this.nextRtc === session) {
        this.nextRtc = null;
        this.endRtc(session);
      }
    }
  }

  private endRtc(session: RtcSession): void {
    session.pc.close();
    if (session.location) {
      const headers: Record<string, string> = session.auth ? { Authorization: session.auth } : {};
      fetch(session.location, { method: 'DELETE', headers, keepalive: true }).catch(() => undefined);
    }
  }

  private stopRtc(): void {
    if (this.nextRtc) {
      this.endRtc(this.nextRtc);
      this.nextRtc = null;
    }
    if (!this.rtc) return;
    const session = this.rtc;
    this.rtc = null;
    this.endRtc(session);
    if (this.video.srcObject) this.video.srcObject = null;
  }

  private fallBack(why: string): void {
    this.stopRtc();
    this.lowLatency = false;
    this.events.onFallback(why);
    this.events.onMode('none');
    if (this.wanted) void this.playHls();
  }
}
