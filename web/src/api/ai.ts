/** Server state of matching and vibe search: the Erotic DNA quiz, suggestions, swipes, matches. */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, body, data, type Schemas } from './client';
import { keys } from './keys';

export type Quiz = Schemas['Quiz'];
export type DnaOut = Schemas['DnaOut'];
export type DnaIn = Schemas['DnaIn'];
export type Suggestion = Schemas['Suggestion'];
export type VibeHit = Schemas['VibeHit'];

export function useQuiz() {
  return useQuery({ queryKey: keys.quiz, queryFn: () => data(api.GET('/api/v1/ai/dna/quiz')), staleTime: Infinity });
}

/** My DNA, or null before I took the quiz. */
export function useMyDna() {
  return useQuery({
    queryKey: keys.dna,
    queryFn: async () => {
      const res = await api.GET('/api/v1/ai/dna');
      if (res.response.status === 404) return null;
      return data(Promise.resolve(res));
    },
  });
}

export function useSaveDna() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (dna: DnaIn) => data(api.PUT('/api/v1/ai/dna', { body: dna })),
    onSuccess: (saved) => {
      client.setQueryData(keys.dna, saved);
      void client.invalidateQueries({ queryKey: keys.suggestions });
    },
  });
}

export function useDeleteDna() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => data(api.DELETE('/api/v1/ai/dna')),
    onSuccess: () => {
      client.setQueryData(keys.dna, null);
      void client.invalidateQueries({ queryKey: keys.suggestions });
    },
  });
}

export interface SuggestionFilters {
  country: string;
  language: string;
}

/** Suggestions: the basic list, or (AI level full, with a filter) the filtered one. */
export function useSuggestions(enabled: boolean, filters: SuggestionFilters | null) {
  return useQuery({
    queryKey: [...keys.suggestions, filters],
    queryFn: () =>
      filters && (filters.country || filters.language)
        ? data(
            api.POST('/api/v1/ai/match-suggestions', {
              body: {
                limit: 20,
                countries: filters.country ? [filters.country.toUpperCase()] : null,
                languages: filters.language ? [filters.language] : null,
              },
            }),
          )
        : data(api.GET('/api/v1/match/suggestions', { params: { query: { limit: 10 } } })),
    enabled,
  });
}

export function useUnmatch() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (matchId: string) => data(api.POST('/api/v1/match/unmatch', { body: { matchId } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: keys.matches }),
  });
}

export function useBlock() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (handle: string) => data(api.POST('/api/v1/users/{handle}/block', { params: { path: { handle } } })),
    onSuccess: () => {
      for (const key of [keys.suggestions, keys.matches]) void client.invalidateQueries({ queryKey: key });
    },
  });
}

export function useSwipe() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (swipe: { handle: string; action: 'like' | 'pass' }) =>
      data(api.POST('/api/v1/match/swipe', { body: swipe })),
    onSuccess: (result, swipe) => {
      client.setQueriesData<Suggestion[]>({ queryKey: keys.suggestions }, (old) => old?.filter((s) => s.handle !== swipe.handle));
      if (result.newMatch) void client.invalidateQueries({ queryKey: keys.matches });
    },
  });
}

export function useMatches() {
  return useQuery({ queryKey: keys.matches, queryFn: () => data(api.GET('/api/v1/match/matches', { params: { query: { limit: 50 } } })) });
}

export interface VibeFilters {
  q: string;
  kind: 'all' | 'stream' | 'creator' | 'post';
  live: boolean;
}

export function useVibeSearch(filters: VibeFilters) {
  return useQuery({
    queryKey: keys.vibe({ ...filters }),
    queryFn: () =>
      body(api.GET('/api/v1/ai/vibe-search', { params: { query: { q: filters.q, kind: filters.kind, live: filters.live, limit: 30 } } })),
    enabled: filters.q.trim().length > 0,
    placeholderData: keepPreviousData,
  });
}

export type MoodStrip = Schemas['MoodStrip'];
export type MoodMinute = Schemas['MoodMinute'];

/** The room's mood per minute; `mood:update` over the socket folds the current minute in. */
export function useMoodStrip(streamId: string) {
  return useQuery({
    queryKey: keys.mood(streamId),
    queryFn: () => data(api.GET('/api/v1/streams/{stream_id}/mood', { params: { path: { stream_id: streamId }, query: { minutes: 15 } } })),
    refetchInterval: 60_000,
  });
}

/** A member's recent mood (their profile colour). */
export function useMemberMood(handle: string) {
  return useQuery({
    queryKey: keys.memberMood(handle),
    queryFn: () => data(api.GET('/api/v1/users/{handle}/mood', { params: { path: { handle } } })),
    staleTime: 60_000,
  });
}
