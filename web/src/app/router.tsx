/** Every route, each screen loaded lazily (its own JavaScript chunk). */
import { createBrowserRouter } from 'react-router';
import { Layout } from './Layout';
import { RouteError } from './RouteError';
import { Loading } from '@/components/ui/States';

const lazy = (load: () => Promise<{ default: React.ComponentType }>) => async () => ({
  Component: (await load()).default,
});

export const routes = [
  {
    path: '/',
    Component: Layout,
    ErrorBoundary: RouteError,
    HydrateFallback: Loading,
    children: [
      { index: true, lazy: lazy(() => import('@/features/discover/DiscoverPage')) },
      { path: 'signup', lazy: lazy(() => import('@/features/auth/SignUpPage')) },
      { path: 'signin', lazy: lazy(() => import('@/features/auth/SignInPage')) },
      { path: 'age', lazy: lazy(() => import('@/features/agegate/AgeGatePage')) },
      { path: 'watch/:streamId', lazy: lazy(() => import('@/features/watch/WatchPage')) },
      { path: 'u/:handle', lazy: lazy(() => import('@/features/profile/ProfilePage')) },
      { path: 'wallet', lazy: lazy(() => import('@/features/wallet/WalletPage')) },
      { path: 'account', lazy: lazy(() => import('@/features/account/AccountPage')) },
      { path: 'match', lazy: lazy(() => import('@/features/match/MatchPage')) },
      { path: 'match/dna', lazy: lazy(() => import('@/features/match/DnaQuizPage')) },
      { path: 'vibe', lazy: lazy(() => import('@/features/match/VibePage')) },
      { path: 'studio', lazy: lazy(() => import('@/features/studio/MyStreamsPage')) },
      { path: 'studio/:streamId', lazy: lazy(() => import('@/features/studio/StudioPage')) },
      { path: '*', lazy: lazy(() => import('./NotFound')) },
    ],
  },
];

export const router = createBrowserRouter(routes);
