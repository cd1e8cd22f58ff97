/** Server state of the AI companions and the creator twins. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, data, type Schemas } from './client';
import { keys } from './keys';

export type Persona = Schemas['PersonaOut'];
export type Exchange = Schemas['ExchangeOut'];
export type CompanionReply = Schemas['CompanionReplyOut'];
export type TwinSettings = Schemas['TwinSettingsOut'];
export type TwinReply = Schemas['TwinReplyOut'];

export function usePersonas(enabled = true) {
  return useQuery({ queryKey: keys.personas, queryFn: () => data(api.GET('/api/v1/ai/personas')), enabled, staleTime: 60_000 });
}

export function usePersonaMessages(key: string) {
  return useQuery({
    queryKey: keys.personaMessages(key),
    queryFn: () => data(api.GET('/api/v1/ai/personas/{key}/messages', { params: { path: { key }, query: { limit: 30 } } })),
    enabled: key !== '',
  });
}

export function useTalk(key: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (prompt: string) =>
      data(api.POST('/api/v1/ai/personas/{key}/messages', { params: { path: { key } }, body: { prompt } })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.personaMessages(key) });
      void client.invalidateQueries({ queryKey: keys.personaMemory(key) });
    },
  });
}

export function usePersonaMemory(key: string) {
  return useQuery({
    queryKey: keys.personaMemory(key),
    queryFn: () => data(api.GET('/api/v1/ai/personas/{key}/memory', { params: { path: { key } } })),
    enabled: key !== '',
  });
}

export function useForget(key: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => data(api.DELETE('/api/v1/ai/personas/{key}/memory', { params: { path: { key } } })),
    onSuccess: () => void client.invalidateQueries({ queryKey: keys.personaMemory(key) }),
  });
}

export function useMyTwin(enabled: boolean) {
  return useQuery({ queryKey: keys.myTwin, queryFn: () => data(api.GET('/api/v1/ai/twin')), enabled });
}

export function useSaveTwin() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas['TwinIn']) => data(api.PUT('/api/v1/ai/twin', { body })),
    onSuccess: (saved) => client.setQueryData(keys.myTwin, saved),
  });
}

/** A creator's twin, or null when they have none (404). */
export function useTwin(handle: string, enabled = true) {
  return useQuery({
    queryKey: keys.twin(handle),
    queryFn: async () => {
      const res = await api.GET('/api/v1/ai/twins/{handle}', { params: { path: { handle } } });
      if (res.response.status === 404) return null;
      return data(Promise.resolve(res));
    },
    enabled: enabled && handle !== '',
    retry: false,
  });
}

export function useAskTwin(handle: string) {
  return useMutation({
    mutationFn: (prompt: string) =>
      data(api.POST('/api/v1/ai/twins/{handle}/messages', { params: { path: { handle } }, body: { prompt } })),
  });
}

export type CoachReport = Schemas['CoachReport'];

/** The content coach's report on a picture (and a planned caption). */
export function useCoach() {
  return useMutation({
    mutationFn: ({ file, caption }: { file: File; caption: string }) =>
      data(
        api.POST('/api/v1/ai/content-coach', {
          params: { query: { caption } },
          body: file as never,
          bodySerializer: (b: unknown) => b as Blob,
          headers: { 'Content-Type': file.type || 'application/octet-stream' },
        }),
      ),
  });
}
