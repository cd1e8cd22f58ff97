/** Admin: accounts searched and paged by the API, each with its roles; a role is granted or
 * revoked through the API, which applies the rank rule and writes the audit log. */
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, body, data, type Schemas } from '@/api/client';
import { Button } from '@/components/ui/Button';
import { card, Select } from '@/components/ui/Console';
import { Field } from '@/components/ui/Field';
import { Empty, ErrorNote, Loading } from '@/components/ui/States';
import { useStrings } from '@/i18n';
import { useStore } from '@/store';
import { strings } from './strings';

type S = ReturnType<typeof useStrings<keyof typeof strings.en>>;
type Status = 'active' | 'suspended' | 'banned';
export const ROLES: Schemas['Role'][] = ['member', 'member_plus', 'provider', 'creator', 'moderator', 'admin', 'super_admin'];
const usersKey = ['admin', 'users'] as const;

function UserRow({ user, s }: { user: Schemas['AdminUser']; s: S }) {
  const client = useQueryClient();
  const lang = useStore((st) => st.lang);
  const [role, setRole] = useState<Schemas['Role']>('creator');
  const change = useMutation({
    mutationFn: ({ grant, r }: { grant: boolean; r: Schemas['Role'] }) =>
      data(
        grant
          ? api.POST('/api/v1/admin/users/{handle}/roles', { params: { path: { handle: user.handle } }, body: { role: r } })
          : api.DELETE('/api/v1/admin/users/{handle}/roles/{role}', { params: { path: { handle: user.handle, role: r } } }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: usersKey }),
  });
  return (
    <li className={card} data-testid="admin-user">
      <p className="break-all font-semibold">
        @{user.handle}
        {user.displayName && <span className="ml-2 font-normal text-muted">{user.displayName}</span>}
      </p>
      <p className="text-xs text-muted">
        {s(`users.status.${user.status as Status}`)}
        {user.suspendedUntil && ` · ${s('users.until', { when: new Date(user.suspendedUntil).toLocaleString(lang) })}`}
        {' · '}
        {s('users.since', { when: new Date(user.createdAt).toLocaleDateString(lang) })}
      </p>
      <ul className="flex flex-wrap gap-1" aria-label={s('users.roles', { handle: user.handle })}>
        {user.roles.map((r) => (
          <li key={r} className="flex items-center gap-1 rounded-full border border-line px-2 py-0.5 text-xs">
            {r}
            <button
              type="button"
              className="rounded px-1 text-muted hover:text-red-300 focus-visible:outline"
              aria-label={s('users.revoke', { role: r, handle: user.handle })}
              disabled={change.isPending}
              onClick={() => change.mutate({ grant: false, r })}
            >
              ×
            </button>
          </li>
        ))}
      </ul>
      <div className="flex flex-wrap items-end gap-2">
        <div className="w-40">
          <Select label={s('users.grantRole')} value={role} onChange={(e) => setRole(e.target.value as Schemas['Role'])}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </Select>
        </div>
        <Button variant="secondary" disabled={change.isPending || user.roles.includes(role)} onClick={() => change.mutate({ grant: true, r: role })}>
          {s('roles.grant')}
        </Button>
      </div>
      <ErrorNote error={change.error} />
    </li>
  );
}

export function Users({ s }: { s: S }) {
  const [q, setQ] = useState('');
  const [role, setRole] = useState<Schemas['Role'] | ''>('');
  const [status, setStatus] = useState<Status | ''>('');
  const [filter, setFilter] = useState({ q: '', role: '' as Schemas['Role'] | '', status: '' as Status | '' });
  const users = useInfiniteQuery({
    queryKey: [...usersKey, filter],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      body(
        api.GET('/api/v1/admin/users', {
          params: {
            query: {
              limit: 25,
              ...(filter.q ? { q: filter.q } : {}),
              ...(filter.role ? { role: filter.role } : {}),
              ...(filter.status ? { status: filter.status } : {}),
              ...(pageParam ? { cursor: pageParam } : {}),
            },
          },
        }),
      ),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const rows = users.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <>
      <form
        role="search"
        className="flex flex-wrap items-end gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter({ q: q.trim(), role, status });
        }}
      >
        <Field label={s('users.search')} value={q} onChange={(e) => setQ(e.target.value)} autoComplete="off" />
        <div className="w-40">
          <Select label={s('roles.role')} value={role} onChange={(e) => setRole(e.target.value as Schemas['Role'] | '')}>
            <option value="">{s('users.any')}</option>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </Select>
        </div>
        <div className="w-40">
          <Select label={s('users.standing')} value={status} onChange={(e) => setStatus(e.target.value as Status | '')}>
            <option value="">{s('users.any')}</option>
            {(['active', 'suspended', 'banned'] as const).map((v) => (
              <option key={v} value={v}>
                {s(`users.status.${v}`)}
              </option>
            ))}
          </Select>
        </div>
        <Button type="submit" variant="secondary">
          {s('audit.filter')}
        </Button>
      </form>
      {users.isPending && <Loading />}
      <ErrorNote error={users.error} />
      {users.isSuccess && rows.length === 0 && <Empty>{s('empty')}</Empty>}
      <ul className="grid gap-3 lg:grid-cols-2" data-testid="admin-users">
        {rows.map((u) => (
          <UserRow key={u.id} user={u} s={s} />
        ))}
      </ul>
      {users.hasNextPage && (
        <Button variant="secondary" className="w-fit" disabled={users.isFetchingNextPage} onClick={() => users.fetchNextPage()}>
          {s('more')}
        </Button>
      )}
    </>
  );
}
