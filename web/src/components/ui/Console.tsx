/** Pieces the staff consoles (moderation, admin) and the studio's business screens share:
 * a card, a labelled select and text area, tabs, and a wait shown in minutes or hours. */
import { Tabs } from 'radix-ui';
import { useId, type ReactNode, type SelectHTMLAttributes, type TextareaHTMLAttributes } from 'react';

export const card = 'flex min-w-0 flex-col gap-2 rounded-xl border border-line bg-panel p-4';

export function Select({ label, children, ...props }: SelectHTMLAttributes<HTMLSelectElement> & { label: string }) {
  const id = useId();
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="text-sm font-medium text-neutral-200">
        {label}
      </label>
      <select id={id} className="min-h-10 rounded-lg border border-line bg-panel-2 px-3 py-2 text-neutral-100" {...props}>
        {children}
      </select>
    </div>
  );
}

export function TextArea({ label, ...props }: TextareaHTMLAttributes<HTMLTextAreaElement> & { label: string }) {
  const id = useId();
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="text-sm font-medium text-neutral-200">
        {label}
      </label>
      <textarea id={id} rows={2} className="rounded-lg border border-line bg-panel-2 px-3 py-2 text-neutral-100" {...props} />
    </div>
  );
}

export function ConsoleTabs({ label, tabs }: { label: string; tabs: { value: string; title: string; body: ReactNode }[] }) {
  return (
    <Tabs.Root defaultValue={tabs[0]?.value} className="flex flex-col gap-3">
      <Tabs.List aria-label={label} className="flex flex-wrap gap-1 rounded-lg bg-panel p-1 text-sm">
        {tabs.map((tab) => (
          <Tabs.Trigger
            key={tab.value}
            value={tab.value}
            className="min-h-10 rounded-md px-3 py-2 data-[state=active]:bg-panel-2 data-[state=active]:text-brand"
          >
            {tab.title}
          </Tabs.Trigger>
        ))}
      </Tabs.List>
      {tabs.map((tab) => (
        <Tabs.Content key={tab.value} value={tab.value} className="flex flex-col gap-3">
          {tab.body}
        </Tabs.Content>
      ))}
    </Tabs.Root>
  );
}

/** "12 s", "5 min", "3 h", "2 d". */
export function age(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}
