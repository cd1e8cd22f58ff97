import { gameStrings } from '@/features/watch/gameStrings';
import { useStrings } from '@/i18n';
import { useStore } from '@/store';
import { adminStrings } from './gameAdminStrings';

type AdminKey = keyof typeof adminStrings.en;

/** The room games' strings (the watch room's and the studio's own) in the reader's language. */
export function useGameStrings(): (key: string, vars?: Record<string, string | number>) => string {
  const watch = gameStrings(useStore((s) => s.lang));
  const admin = useStrings(adminStrings);
  return (key, vars) => (key in adminStrings.en ? admin(key as AdminKey, vars) : watch(key as never, vars));
}
