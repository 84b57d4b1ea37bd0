//! A [`Graph`] as Graphviz DOT.

use super::{block_header, EdgeKind, Graph, NodeKind};
use std::fmt::Write;

/// Escapes text for a quoted DOT string.
fn dot_str(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Escapes text for a field of a DOT record label.
pub(super) fn dot_record(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '\\' | '"' | '{' | '}' | '|' | '<' | '>') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

impl Graph {
    /// The graph as Graphviz DOT: a record per block (its name, source lines
    /// and instructions), a rounded box per called function; edges labelled
    /// by kind, back edges dashed, calls dotted.
    pub fn to_dot(&self) -> String {
        let (back, _) = self.back_edges();
        let mut out = String::new();
        let _ = writeln!(out, "digraph \"{}\" {{", dot_str(&self.function));
        let _ = writeln!(out, "  node [shape=box fontname=\"monospace\"];");
        let _ = writeln!(out, "  edge [fontname=\"monospace\" fontsize=10];");
        for node in &self.nodes {
            match node.kind {
                NodeKind::Block => {
                    let header = block_header(node);
                    let mut label = format!("{{{}\\l", dot_record(&header));
                    if !node.instrs.is_empty() {
                        label.push('|');
                        for instr in &node.instrs {
                            label.push_str(&dot_record(instr));
                            label.push_str("\\l");
                        }
                    }
                    label.push('}');
                    let _ = writeln!(
                        out,
                        "  \"{}\" [shape=record label=\"{}\" tooltip=\"{}\"];",
                        dot_str(&node.id),
                        label,
                        dot_str(&node.id)
                    );
                }
                NodeKind::Function => {
                    let _ = writeln!(
                        out,
                        "  \"{}\" [style=rounded label=\"{}\" tooltip=\"{}\"];",
                        dot_str(&node.id),
                        dot_str(&node.label),
                        dot_str(&node.id)
                    );
                }
            }
        }
        for (eidx, edge) in self.edges.iter().enumerate() {
            let style = if !edge.kind.is_flow() {
                " style=dotted"
            } else if back[eidx] || edge.kind == EdgeKind::Loop {
                " style=dashed"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  \"{}\" -> \"{}\" [label=\"{}\" color=\"{}\" fontcolor=\"{}\"{style}];",
                dot_str(&edge.from),
                dot_str(&edge.to),
                edge.kind.name(),
                edge.kind.colour(),
                edge.kind.colour()
            );
        }
        out.push_str("}\n");
        out
    }
}
