/** A unified diff with added and removed lines marked. */
export function Patch({ text }: { text: string }) {
  if (!text.trim()) return <p className="empty">No change to schema.sql.</p>;
  return (
    <pre className="patch" data-testid="patch">
      {text.split("\n").map((line, i) => {
        const kind = line.startsWith("@@") ? "hunk" : line.startsWith("+") && !line.startsWith("+++") ? "add"
          : line.startsWith("-") && !line.startsWith("---") ? "del" : "";
        return <span key={i} className={kind || undefined}>{line}{"\n"}</span>;
      })}
    </pre>
  );
}
