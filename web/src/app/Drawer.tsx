/** The phone's drawer menu (a Radix dialog), mounted when opened; closing it returns the focus
 * to the menu button (Radix's focus scope). */
import { Dialog } from 'radix-ui';
import { X } from 'lucide-react';
import { useT } from '@/i18n';
import { useStore } from '@/store';
import { NavItems } from './NavItems';

export default function Drawer() {
  const t = useT();
  const setDrawer = useStore((s) => s.setDrawer);
  return (
    <Dialog.Root open onOpenChange={setDrawer}>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-30 bg-black/60" />
        <Dialog.Content className="fixed inset-y-0 left-0 z-40 flex w-72 max-w-[85vw] flex-col gap-1 bg-panel p-4">
          <div className="mb-2 flex items-center justify-between">
            <Dialog.Title className="font-bold">TeezU Live</Dialog.Title>
            <Dialog.Close className="rounded-lg p-2 hover:bg-panel-2" aria-label={t('common.close')}>
              <X className="size-5" aria-hidden />
            </Dialog.Close>
          </div>
          <Dialog.Description className="sr-only">{t('nav.menu')}</Dialog.Description>
          <nav aria-label={t('nav.main')} className="flex flex-col gap-1">
            <NavItems onPick={() => setDrawer(false)} />
          </nav>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
