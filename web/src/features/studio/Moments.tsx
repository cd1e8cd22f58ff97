import { useMoments } from '@/api/queries';
import { useGameStrings } from './useGameStrings';
import { useStore } from '@/store';

/** The stream's trending moments (when the room's heat jumped), newest first: the marks the
 * playlists carry as com.teezu.moment date ranges. */
export function Moments({ streamId }: { streamId: string }) {
  const s = useGameStrings();
  const lang = useStore((s) => s.lang);
  const moments = useMoments(streamId);
  const list = [...(moments.data ?? [])].reverse().slice(0, 10);
  return (
    <section aria-labelledby="moments-title" className="flex flex-col gap-2 rounded-xl border border-line bg-panel p-3" data-testid="studio-moments">
      <h2 id="moments-title" className="font-semibold">
        {s('moments.title')}
      </h2>
      {list.length === 0 ? (
        <p className="text-sm text-muted">{s('moments.none')}</p>
      ) : (
        <ol className="flex flex-col gap-1 text-sm">
          {list.map((m) => (
            <li key={m.id} className="flex justify-between gap-2 tabular-nums">
              <span>{new Date(m.at).toLocaleTimeString(lang)}</span>
              <span className="text-muted">{s('moments.heat', { n: Math.round(m.heat) })}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
