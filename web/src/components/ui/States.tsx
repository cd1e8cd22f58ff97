import { AlertTriangle, Loader2 } from 'lucide-react';
import type { ReactNode } from 'react';
import { useErrorText, useT } from '@/i18n';

export function Loading({ label }: { label?: string }) {
  const t = useT();
  return (
    <p role="status" className="flex items-center gap-2 p-4 text-muted">
      <Loader2 className="size-4 animate-spin" aria-hidden /> {label ?? t('common.loading')}
    </p>
  );
}

export function ErrorNote({ error, className = '' }: { error: unknown; className?: string }) {
  const text = useErrorText();
  if (!error) return null;
  return (
    <p role="alert" className={`flex items-start gap-2 rounded-lg border border-red-800 bg-red-950/60 p-3 text-sm text-red-200 ${className}`}>
      <AlertTriangle className="mt-0.5 size-4 shrink-0" aria-hidden /> <span>{text(error)}</span>
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="rounded-lg border border-dashed border-line p-6 text-center text-muted">{children}</p>;
}

export function Page({ title, children, wide = false }: { title: string; children: ReactNode; wide?: boolean }) {
  return (
    <main className={`mx-auto w-full ${wide ? 'max-w-6xl' : 'max-w-xl'} p-4`}>
      <h1 className="mb-4 text-2xl font-bold">{title}</h1>
      {children}
    </main>
  );
}
