"use client";
import dagre from "@dagrejs/dagre";
import { Background, Controls, Handle, Position, ReactFlow, type Edge, type Node, type NodeProps } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useMemo } from "react";
import type { Table } from "@/lib/types";

type TableNode = Node<{ table: Table }, "table">;

const WIDTH = 220;
const ROW = 20;
const HEAD = 30;

function TableBox({ data }: NodeProps<TableNode>) {
  return (
    <div className="er-table">
      <Handle type="target" position={Position.Left} />
      <div className="er-head">{data.table.name}</div>
      {data.table.columns.map((c) => (
        <div key={c.id} className="er-col">
          <span>{c.name}{c.primary_key ? " (PK)" : c.references ? ` → ${c.references}` : ""}</span>
          <span className="muted">{c.type}</span>
        </div>
      ))}
      <Handle type="source" position={Position.Right} />
    </div>
  );
}

const nodeTypes = { table: TableBox };

/** Tables and their foreign keys, laid out left to right by dagre. */
export function ErDiagram({ tables }: { tables: Table[] }) {
  const { nodes, edges } = useMemo(() => {
    const graph = new dagre.graphlib.Graph();
    graph.setGraph({ rankdir: "LR", nodesep: 30, ranksep: 80 });
    graph.setDefaultEdgeLabel(() => ({}));
    const edges: Edge[] = [];
    for (const t of tables) {
      graph.setNode(t.name, { width: WIDTH, height: HEAD + ROW * t.columns.length });
      for (const c of t.columns) {
        const target = c.references?.split(".")[0];
        if (!target || !tables.some((o) => o.name === target)) continue;
        // Drawn from the referenced table to the one that points at it.
        graph.setEdge(target, t.name);
        edges.push({ id: `${t.name}.${c.name}`, source: target, target: t.name, label: c.name, animated: false });
      }
    }
    dagre.layout(graph);
    const nodes: TableNode[] = tables.map((t) => {
      const box = graph.node(t.name);
      return { id: t.name, type: "table", data: { table: t }, position: { x: box.x - box.width / 2, y: box.y - box.height / 2 } };
    });
    return { nodes, edges };
  }, [tables]);

  return (
    <div className="er" data-testid="er-diagram">
      <ReactFlow nodes={nodes} edges={edges} nodeTypes={nodeTypes} fitView nodesConnectable={false} proOptions={{ hideAttribution: true }}>
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
