/**
 * Publishing the camera over WHIP (RFC 9725): the offer with all ICE candidates (no trickle),
 * H.264 preferred (far cheaper for the server to decode than VP8), 720p held at up to 4 Mbit/s,
 * DELETE of the session resource to stop. Pure browser plumbing, no React.
 */
import type { RefusalError } from './goLiveHelp';

export type PublishState = 'idle' | 'connecting' | 'live' | 'stopped' | 'error';

/** A refused go-live: the API's error envelope (or NETWORK when it could not be reached). */
export class Refusal extends Error {
  constructor(readonly error: RefusalError) {
    super(error.message ?? error.code ?? 'refused');
  }
}

export async function refusalOf(res: Response): Promise<Refusal> {
  type Envelope = { code?: string; message?: string; meta?: Record<string, unknown>; retryAfter?: number };
  const body = (await res.json().catch(() => null)) as Envelope | null; // null: a proxy's page
  return new Refusal({
    status: res.status,
    code: body?.code ?? null,
    message: body?.message ?? null,
    meta: body?.meta ?? {},
    retryAfter: body?.retryAfter ?? null,
  });
}

function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') resolve();
    });
    setTimeout(resolve, 2000);
  });
}

function preferH264(transceiver: RTCRtpTransceiver): void {
  const caps = RTCRtpSender.getCapabilities?.('video');
  if (!caps || !transceiver.setCodecPreferences) return;
  const rank = (c: { mimeType: string }) => (c.mimeType === 'video/H264' ? 0 : c.mimeType === 'video/VP8' ? 1 : 2);
  transceiver.setCodecPreferences([...caps.codecs].sort((a, b) => rank(a) - rank(b)));
}

export interface Devices {
  cameras: MediaDeviceInfo[];
  microphones: MediaDeviceInfo[];
}

export async function listDevices(): Promise<Devices> {
  const all = await navigator.mediaDevices.enumerateDevices();
  return {
    cameras: all.filter((d) => d.kind === 'videoinput'),
    microphones: all.filter((d) => d.kind === 'audioinput'),
  };
}

export async function openCamera(cameraId?: string, microphoneId?: string): Promise<MediaStream> {
  return navigator.mediaDevices.getUserMedia({
    video: {
      width: { ideal: 1280 },
      height: { ideal: 720 },
      frameRate: { ideal: 30 },
      ...(cameraId ? { deviceId: { exact: cameraId } } : {}),
    },
    audio: microphoneId ? { deviceId: { exact: microphoneId } } : true,
  });
}

export class Publisher {
  pc: RTCPeerConnection | null = null;
  private resource: string | null = null;
  private auth: string | null = null; // the session's DELETE needs the POST's token
  private attempts = 0;

  constructor(
    private readonly streamId: string,
    private readonly onState: (state: PublishState, lost?: boolean) => void,
  ) {}

  /** Go live with ``media`` and a WHIP bearer ``token``; throws Refusal when refused. */
  async start(media: MediaStream, token: string): Promise<void> {
    const attempt = ++this.attempts; // a Stop (or a new Go live) meanwhile supersedes this one
    const current = () => attempt === this.attempts;
    this.pc?.close(); // a connection that was lost: its session is gone on the server
    this.resource = null;
    const peer = new RTCPeerConnection({ iceServers: [] });
    this.pc = peer;
    try {
      for (const track of media.getTracks()) {
        const t = peer.addTransceiver(track, { direction: 'sendonly', streams: [media] });
        if (track.kind === 'video') {
          preferH264(t);
          const params = t.sender.getParameters();
          params.degradationPreference = 'maintain-resolution';
          params.encodings = params.encodings?.length ? params.encodings : [{}];
          params.encodings[0]!.maxBitrate = 4_000_000;
          await t.sender.setParameters(params).catch(() => undefined);
        }
      }
      peer.addEventListener('connectionstatechange', () => {
        if (!current() || this.pc !== peer) return; // stopped: the changes are expected
        if (peer.connectionState === 'failed' || peer.connectionState === 'disconnected') {
          this.onState('error', true);
        } else if (peer.connectionState === 'connected') {
          this.onState('live');
        }
      });
      await peer.setLocalDescription(await peer.createOffer());
      await gathered(peer);
      if (!current()) return;
      let res: Response;
      try {
        res = await fetch(`/whip/${this.streamId}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${token}` },
          body: peer.localDescription!.sdp,
        });
      } catch {
        throw new Refusal({ code: 'NETWORK' });
      }
      if (!current()) {
        // Stopped while connecting: end the session the server has just created, if it did.
        if (res.status === 201) {
          fetch(res.headers.get('Location')!, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } }).catch(
            () => undefined,
          );
        }
        return;
      }
      if (res.status !== 201) throw await refusalOf(res);
      this.resource = res.headers.get('Location');
      this.auth = `Bearer ${token}`;
      await peer.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    } catch (e) {
      if (current()) {
        peer.close();
        if (this.pc === peer) this.pc = null;
      }
      throw e;
    }
  }

  /** WHIP: DELETE the session first, then close the peer connection (closing first makes the
   * server see a lost connection and the DELETE get a 404). Returns a failure text or null. */
  async stop(): Promise<string | null> {
    const url = this.resource;
    const headers: Record<string, string> = this.auth ? { Authorization: this.auth } : {};
    const peer = this.pc;
    this.attempts++;
    this.resource = null;
    this.auth = null;
    this.pc = null;
    let failure: string | null = null;
    if (url) {
      const res = await fetch(url, { method: 'DELETE', headers }).catch(() => null);
      if (res && !res.ok && res.status !== 404) {
        const r = await refusalOf(res);
        failure = `${r.error.message ?? ''} (${r.error.code ?? res.status})`;
      } else if (res) await res.arrayBuffer().catch(() => undefined);
    }
    peer?.close();
    return failure;
  }

  /** On leaving the page: end the session without waiting. */
  leave(): void {
    if (!this.resource) return;
    const headers: Record<string, string> = this.auth ? { Authorization: this.auth } : {};
    fetch(this.resource, { method: 'DELETE', headers, keepalive: true }).catch(() => undefined);
  }
}
