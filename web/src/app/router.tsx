/** Every route, each screen loaded lazily (its own JavaScript chunk). */
import { lazy, type ComponentType, type LazyExoticComponent } from 'react';

type Screen = LazyExoticComponent<ComponentType>;

export const routes: { path: string; Component: Screen }[] = [
  { path: '/', Component: lazy(() => import('@/features/discover/DiscoverPage')) },
  { path: '/signup', Component: lazy(() => import('@/features/auth/SignUpPage')) },
  { path: '/signin', Component: lazy(() => import('@/features/auth/SignInPage')) },
  { path: '/age', Component: lazy(() => import('@/features/agegate/AgeGatePage')) },
  { path: '/watch/:streamId', Component: lazy(() => import('@/features/watch/WatchPage')) },
  { path: '/u/:handle', Component: lazy(() => import('@/features/profile/ProfilePage')) },
  { path: '/feed', Component: lazy(() => import('@/features/feed/FeedPage')) },
  { path: '/messages', Component: lazy(() => import('@/features/messages/MessagesPage')) },
  { path: '/messages/:conversationId', Component: lazy(() => import('@/features/messages/MessagesPage')) },
  { path: '/wallet', Component: lazy(() => import('@/features/wallet/WalletPage')) },
  { path: '/membership', Component: lazy(() => import('@/features/membership/MembershipPage')) },
  { path: '/services', Component: lazy(() => import('@/features/services/ServicesPage')) },
  { path: '/services/:serviceId', Component: lazy(() => import('@/features/services/ServicePage')) },
  { path: '/bookings', Component: lazy(() => import('@/features/services/BookingsPage')) },
  { path: '/hub', Component: lazy(() => import('@/features/hub/HubPage')) },
  { path: '/account', Component: lazy(() => import('@/features/account/AccountPage')) },
  { path: '/match', Component: lazy(() => import('@/features/match/MatchPage')) },
  { path: '/match/dna', Component: lazy(() => import('@/features/match/DnaQuizPage')) },
  { path: '/vibe', Component: lazy(() => import('@/features/match/VibePage')) },
  { path: '/studio', Component: lazy(() => import('@/features/studio/MyStreamsPage')) },
  { path: '/studio/business', Component: lazy(() => import('@/features/business/BusinessPage')) },
  { path: '/studio/:streamId', Component: lazy(() => import('@/features/studio/StudioPage')) },
  { path: '/moderation', Component: lazy(() => import('@/features/moderation/ModerationPage')) },
  { path: '/admin', Component: lazy(() => import('@/features/admin/AdminPage')) },
];

export const NotFound = lazy(() => import('./NotFound'));
