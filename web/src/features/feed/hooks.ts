/** Server state of the feed, comments, likes and blocks: TanStack Query over the typed client. */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, body, data, type Schemas } from '@/api/client';
import { keys } from '@/api/keys';

export type FeedItem = Schemas['FeedItem'];
export type CommentOut = Schemas['CommentOut'];

export function useFeed(moods: string) {
  return useInfiniteQuery({
    queryKey: keys.feed(moods),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      body(
        api.GET('/api/v1/content/feed', {
          params: { query: { limit: 10, cursor: pageParam ?? undefined, moods: moods || undefined } },
        }),
      ),
    getNextPageParam: (last) => last.nextCursor ?? null,
  });
}

export function useLikes(postId: string, enabled: boolean) {
  return useQuery({
    queryKey: keys.likes(postId),
    queryFn: () => data(api.GET('/api/v1/posts/{post_id}/likes', { params: { path: { post_id: postId } } })),
    enabled,
  });
}

export function useLike(postId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (on: boolean) => {
      const params = { params: { path: { post_id: postId } } };
      return on ? data(api.PUT('/api/v1/posts/{post_id}/like', params)) : data(api.DELETE('/api/v1/posts/{post_id}/like', params));
    },
    onSuccess: (state) => client.setQueryData(keys.likes(postId), state),
  });
}

export function useComments(postId: string, parent: string | null) {
  return useInfiniteQuery({
    queryKey: keys.comments(postId, parent),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      body(
        api.GET('/api/v1/posts/{post_id}/comments', {
          params: { path: { post_id: postId }, query: { parent: parent ?? undefined, cursor: pageParam ?? undefined, limit: 20 } },
        }),
      ),
    getNextPageParam: (last) => last.nextCursor ?? null,
  });
}

function useRefreshThread(postId: string) {
  const client = useQueryClient();
  return () => {
    void client.invalidateQueries({ queryKey: ['comments', postId] });
    void client.invalidateQueries({ queryKey: keys.likes(postId) });
  };
}

export function useAddComment(postId: string) {
  const refresh = useRefreshThread(postId);
  return useMutation({
    mutationFn: (c: { text: string; parentId?: string }) =>
      data(api.POST('/api/v1/posts/{post_id}/comments', { params: { path: { post_id: postId } }, body: { text: c.text, parentId: c.parentId ?? null } })),
    onSuccess: refresh,
  });
}

export function useRemoveComment(postId: string) {
  const refresh = useRefreshThread(postId);
  return useMutation({
    mutationFn: (commentId: string) => data(api.DELETE('/api/v1/comments/{comment_id}', { params: { path: { comment_id: commentId } } })),
    onSuccess: refresh,
  });
}

export function useApproveComment(postId: string) {
  const refresh = useRefreshThread(postId);
  return useMutation({
    mutationFn: (commentId: string) => data(api.POST('/api/v1/comments/{comment_id}/approve', { params: { path: { comment_id: commentId } } })),
    onSuccess: refresh,
  });
}

export function useBlocks(enabled: boolean) {
  return useQuery({
    queryKey: keys.blocks,
    queryFn: () => data(api.GET('/api/v1/me/blocks', { params: { query: { limit: 100 } } })),
    enabled,
  });
}

export function useBlock(handle: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (on: boolean) => {
      const params = { params: { path: { handle } } };
      return on ? data(api.POST('/api/v1/users/{handle}/block', params)) : data(api.DELETE('/api/v1/users/{handle}/block', params));
    },
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: keys.blocks });
      void client.invalidateQueries({ queryKey: ['feed'] });
      void client.invalidateQueries({ queryKey: keys.profile(handle) });
    },
  });
}

export type StoryOut = Schemas['StoryOut'];

/** Stories of the creators I follow or subscribe to, and mine. */
export function useStories(enabled: boolean) {
  return useQuery({
    queryKey: keys.stories,
    queryFn: () => data(api.GET('/api/v1/stories', { params: { query: { limit: 100 } } })),
    enabled,
  });
}

export function useCreatorStories(handle: string) {
  return useQuery({
    queryKey: keys.creatorStories(handle),
    queryFn: () => data(api.GET('/api/v1/users/{handle}/stories', { params: { path: { handle }, query: { limit: 100 } } })),
  });
}

export function useStoryViewers(id: string, enabled: boolean) {
  return useQuery({
    queryKey: keys.storyViewers(id),
    queryFn: () => data(api.GET('/api/v1/stories/{post_id}/viewers', { params: { path: { post_id: id }, query: { limit: 50 } } })),
    enabled,
  });
}

export function useMarkSeen() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => data(api.POST('/api/v1/stories/{post_id}/seen', { params: { path: { post_id: id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.stories }),
  });
}

export function useHighlight() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (s: { id: string; on: boolean }) =>
      data(api.PUT('/api/v1/stories/{post_id}/highlight', { params: { path: { post_id: s.id } }, body: { highlight: s.on } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ['stories'] }),
  });
}

export function useUploadStory() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (form: FormData) =>
      data(api.POST('/api/v1/stories', { body: form as never, bodySerializer: (b: unknown) => b as FormData })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.stories }),
  });
}
