/** ``/r/:code``: a followed referral link. Records the click (the API keeps the first one in a
 * cookie for 30 days) and goes on to sign-up with the code filled in. */
import { useEffect } from 'react';
import { api, data } from '@/api/client';
import { useNavigate, useParams } from '@/lib/router';
import { Loading } from '@/components/ui/States';
import { useStrings } from '@/i18n';
import { strings } from './strings';

export default function ReferralLanding() {
  const s = useStrings(strings);
  const { code = '' } = useParams();
  const navigate = useNavigate();
  useEffect(() => {
    const go = () => void navigate(`/signup?ref=${encodeURIComponent(code)}`, { replace: true });
    // An unknown code still lands on sign-up (the form says so if it is typed in).
    data(api.POST('/api/v1/affiliates/clicks', { body: { code } })).then(go, go);
  }, [code, navigate]);
  return <Loading label={s('following')} />;
}
