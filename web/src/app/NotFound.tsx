import { Link } from '@/lib/router';
import { Page } from '@/components/ui/States';
import { useT } from '@/i18n';
import { strings } from './notFoundStrings';

export default function NotFound() {
  const t = useT(strings);
  return (
    <Page title={t('notFound.title')}>
      <p className="text-muted">{t('notFound.body')}</p>
      <Link className="mt-4 inline-block text-brand underline" to="/">
        {t('nav.discover')}
      </Link>
    </Page>
  );
}
