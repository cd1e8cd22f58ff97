import { useQuery } from '@tanstack/react-query';
import { api, ApiError, data } from '@/api/client';
import type { StreamOut } from '@/api/queries';

export type Access =
  | { kind: 'open'; src: string; token: null }
  | { kind: 'token'; src: string; token: string; expiresAt: number; refreshAt: number }
  | { kind: 'refused'; error: ApiError };

/**
 * Where to play from and with which token: public streams play their `hlsUrl`; others (and
 * age-gated or geo-blocked ones) get a short-lived playback token from the API, asked for
 * again at the grant's ``refreshAt`` (and at once when the media servers refuse it).
 */
export function usePlayback(stream: StreamOut | undefined) {
  const live = stream?.state === 'live';
  const needsToken = Boolean(stream && (stream.visibility !== 'public' || stream.viewerAccess?.tokenRequired));
  return useQuery<Access>({
    queryKey: ['playback', stream?.id, needsToken],
    enabled: live,
    queryFn: async () => {
      const id = stream!.id;
      if (!needsToken) return { kind: 'open', src: stream!.hlsUrl ?? `/hls/${id}/index.m3u8`, token: null };
      try {
        const grant = await data(
          api.POST('/api/v1/streams/{stream_id}/playback-tokens', { params: { path: { stream_id: id } }, body: {} }),
        );
        return {
          kind: 'token',
          src: grant.hlsUrl ?? grant.playbackUrl,
          token: grant.token,
          expiresAt: Number(grant.expiresAt),
          refreshAt: Number(grant.refreshAt ?? grant.expiresAt - 60),
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
