import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { Route, Switch, useLocation } from 'wouter';
import { useEffect } from 'react';
import { ApiError } from '@/api/client';
import { bindQueryClient } from '@/realtime/socket';
import { useStore } from '@/store';
import { Layout } from './Layout';
import { RouteError } from './RouteError';
import { NotFound, routes } from './router';

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A refusal (4xx) will not change by asking again; a lost connection will.
      retry: (count, error) => count < 3 && !(error instanceof ApiError && error.status >= 400 && error.status < 500),
      refetchOnWindowFocus: false,
    },
  },
});
bindQueryClient(queryClient);

function Screens() {
  const [path] = useLocation();
  return (
    <RouteError key={path}>
      <Switch>
        {routes.map(({ path: pattern, Component }) => (
          <Route key={pattern} path={pattern} component={Component} />
        ))}
        <Route component={NotFound} />
      </Switch>
    </RouteError>
  );
}

export function App() {
  const lang = useStore((s) => s.lang);
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  return (
    <QueryClientProvider client={queryClient}>
      <Layout>
        <Screens />
      </Layout>
    </QueryClientProvider>
  );
}
