"use client";
import { autocompletion, closeBrackets, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { SQLite, sql } from "@codemirror/lang-sql";
import { bracketMatching, defaultHighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { Compartment, EditorState, Prec } from "@codemirror/state";
import { EditorView, keymap, lineNumbers, placeholder } from "@codemirror/view";
import { useEffect, useRef } from "react";

/** Table name -> its column names: what completion offers after `FROM` and `t.`. */
export type CompletionSchema = Record<string, string[]>;

/**
 * A CodeMirror 6 SQL editor (SQLite dialect) with completion from the branch's schema;
 * Ctrl/Cmd-Enter runs. Uncontrolled: `value` seeds it, `onChange` reports edits.
 */
export function SqlEditor({ value, onChange, onRun, schema, label }: {
  value: string;
  onChange: (text: string) => void;
  onRun: () => void;
  schema: CompletionSchema;
  label: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const language = useRef(new Compartment());
  const callbacks = useRef({ onChange, onRun });
  callbacks.current = { onChange, onRun };
  const initial = useRef(value);

  useEffect(() => {
    if (!host.current) return;
    const editor = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: initial.current,
        extensions: [
          lineNumbers(),
          history(),
          closeBrackets(),
          bracketMatching(),
          autocompletion(),
          syntaxHighlighting(defaultHighlightStyle),
          placeholder("SELECT * FROM …"),
          language.current.of(sql({ dialect: SQLite })),
          Prec.highest(keymap.of([{ key: "Mod-Enter", run: () => { callbacks.current.onRun(); return true; } }])),
          keymap.of([...defaultKeymap, ...historyKeymap, ...completionKeymap]),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) callbacks.current.onChange(update.state.doc.toString());
          }),
          EditorView.contentAttributes.of({ "aria-label": label }),
          EditorView.lineWrapping,
        ],
      }),
    });
    view.current = editor;
    return () => editor.destroy();
  }, [label]);

  useEffect(() => {
    view.current?.dispatch({ effects: language.current.reconfigure(sql({ dialect: SQLite, schema })) });
  }, [schema]);

  // A value set from outside (history, another tenant's link) replaces the text.
  useEffect(() => {
    const editor = view.current;
    if (editor && editor.state.doc.toString() !== value) {
      editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: value } });
    }
  }, [value]);

  return <div className="editor" ref={host} data-testid="sql-editor" />;
}
