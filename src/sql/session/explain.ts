// EXPLAIN output: the plan tree as indented lines, in the shape PostgreSQL prints.
import type { ExplainNode, PlanNode } from '../plan/plan_node.js';

export function explainText(plan: PlanNode): string[] {
  const lines: string[] = [];
  const walk = (n: ExplainNode, depth: number): void => {
    const indent = depth === 0 ? '' : `${' '.repeat(depth * 6 - 4)}->  `;
    lines.push(`${indent}${n.title}`);
    for (const d of n.details) lines.push(`${' '.repeat(depth === 0 ? 2 : depth * 6)}${d}`);
    for (const c of n.children) walk(c, depth + 1);
  };
  walk(plan.explain(), 0);
  return lines;
}
