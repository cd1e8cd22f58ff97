/**
 * Routing on wouter (a router of a few KB: react-router's 30 KB did not fit the watch route's
 * JavaScript budget), with the few names the screens use: `Link`, `NavLink` (marks the
 * current page with `aria-current`), `Navigate`, `useNavigate`, `useParams`,
 * `useSearchParams`, and `MemoryRouter` for component tests.
 */
import type { AnchorHTMLAttributes, ReactNode } from 'react';
import { Link as WLink, Redirect, Router, useLocation, useParams as useWParams } from 'wouter';
import { memoryLocation } from 'wouter/memory-location';

export { useSearchParams } from 'wouter';

type LinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> & { to: string; replace?: boolean };

export function Link({ to, ...props }: LinkProps) {
  return <WLink href={to} {...props} />;
}

/** A link that says when it is the current page (`end`: only on exactly that path). */
export function NavLink({ to, end = false, ...props }: LinkProps & { end?: boolean }) {
  const [path] = useLocation();
  const current = path === to || (!end && path.startsWith(`${to}/`));
  return <WLink href={to} aria-current={current ? 'page' : undefined} {...props} />;
}

export function Navigate({ to, replace = false }: { to: string; replace?: boolean }) {
  return <Redirect to={to} replace={replace} />;
}

export function useNavigate(): (to: string, options?: { replace?: boolean }) => void {
  const [, navigate] = useLocation();
  return navigate;
}

export function useParams(): Record<string, string | undefined> {
  return useWParams() as Record<string, string | undefined>;
}

export function MemoryRouter({ children, path = '/' }: { children: ReactNode; path?: string }) {
  return <Router hook={memoryLocation({ path }).hook}>{children}</Router>;
}
