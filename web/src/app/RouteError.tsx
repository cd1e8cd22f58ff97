import { Component, type ReactNode } from 'react';
import { ErrorNote, Page } from '@/components/ui/States';
import { useT } from '@/i18n';

function RouteErrorPage({ error }: { error: unknown }) {
  const t = useT();
  return (
    <Page title={t('common.somethingWrong')}>
      <ErrorNote error={error} />
    </Page>
  );
}

/** A screen that threw (or whose chunk failed to load) shows the error instead of a blank
 * page; the next route starts clean (the boundary is keyed by the path). */
export class RouteError extends Component<{ children: ReactNode }, { error: unknown }> {
  state = { error: null as unknown };

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  render() {
    return this.state.error ? <RouteErrorPage error={this.state.error} /> : this.props.children;
  }
}
