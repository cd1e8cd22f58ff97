import { useRouteError } from 'react-router';
import { ErrorNote, Page } from '@/components/ui/States';
import { useT } from '@/i18n';

export function RouteError() {
  const error = useRouteError();
  const t = useT();
  return (
    <Page title={t('common.somethingWrong')}>
      <ErrorNote error={error} />
    </Page>
  );
}
