import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError, data } from '@/api/client';
import type { StreamOut } from '@/api/queries';

export type Access =
  | { kind: 'open'; src: string; token: null; viewingSessionId: string | null }
  | {
      kind: 'token';
      src: string;
      token: string;
      expiresAt: number;
      refreshAt: number;
      viewingSessionId: string | null;
    }
  | { kind: 'refused'; error: ApiError };

/** A viewing session for a public stream (the hub's viewing facts); null if refused. */
async function openViewingSession(streamId: string): Promise<string | null> {
  try {
    const session = await data(
      api.POST('/api/v1/streams/{stream_id}/viewing-sessions', { params: { path: { stream_id: streamId } } }),
    );
    return session.viewingSessionId;
  } catch {
    return null; // counting is not a reason to stop anyone watching
  }
}

/**
 * Where to play from and with which token: public streams play their `hlsUrl`; others (and
 * age-gated or geo-blocked ones) get a short-lived playback token from the API, asked for
 * again at the grant's ``refreshAt`` (and at once when the media servers refuse it). Either
 * way the player gets a viewing session to name in its beacons; a renewal keeps it.
 */
export function usePlayback(stream: StreamOut | undefined) {
  const live = stream?.state === 'live';
  const needsToken = Boolean(stream && (stream.visibility !== 'public' || stream.viewerAccess?.tokenRequired));
  const queryClient = useQueryClient();
  const queryKey = ['playback', stream?.id, needsToken];
  return useQuery<Access>({
    queryKey,
    enabled: live,
    queryFn: async () => {
      const id = stream!.id;
      const previous = queryClient.getQueryData<Access>(queryKey);
      const session = previous && previous.kind !== 'refused' ? previous.viewingSessionId : null;
      if (!needsToken) {
        return {
          kind: 'open',
          src: stream!.hlsUrl ?? `/hls/${id}/index.m3u8`,
          token: null,
          viewingSessionId: session ?? (await openViewingSession(id)),
        };
      }
      try {
        const grant = await data(
          api.POST('/api/v1/streams/{stream_id}/playback-tokens', {
            params: { path: { stream_id: id } },
            body: session ? { viewingSessionId: session } : {},
          }),
        );
        return {
          kind: 'token',
          src: grant.hlsUrl ?? grant.playbackUrl,
          token: grant.token,
          expiresAt: Number(grant.expiresAt),
          refreshAt: Number(grant.refreshAt ?? grant.expiresAt - 60),
          viewingSessionId: grant.viewingSessionId ?? null,
        };
      } catch (error) {
        if (error instanceof ApiError && error.status >= 400 && error.status < 500) return { kind: 'refused', error };
        throw error;
      }
    },
    refetchInterval: (q) => {
      const d = q.state.data;
      if (d?.kind !== 'token') return false;
      return Math.max(1_000, d.refreshAt * 1000 - Date.now());
    },
  });
}
