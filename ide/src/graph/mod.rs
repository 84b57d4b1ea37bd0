//! The basic-block chunk graph of one function, for people and editors.
//!
//! [`graph`] turns one compiled function into a [`Graph`]: a node per basic
//! block (named by its Block chunk id, with its instructions and source
//! range), a node per function it calls or makes a closure of (named by
//! its Function chunk id), and an edge per control transfer (`then`,
//! `else`, `loop`, `jump`) or call (`call`, `closure`).
//!
//! The graph renders three ways: its data as is (`Serialize`: JSON for a
//! webview), [`Graph::to_dot`] (Graphviz input) and [`Graph::to_svg`], a
//! self-contained layered drawing computed here, without Graphviz:
//!
//! * blocks are ranked by their longest path from the entry, ignoring back
//!   edges (edges to a block on the depth-first stack);
//! * edges spanning several ranks go through placeholder points, so no
//!   edge crosses a box;
//! * within a rank, nodes are ordered by the barycenter of their
//!   neighbours (a few sweeps, keeping the order with the fewest
//!   crossings), then placed as close to their neighbours as the spacing
//!   allows;
//! * back edges run in lanes on the right of the blocks, calls go to a
//!   column of function boxes on the far right.
//!
//! [`Graph::layout`] exposes the geometry, so tests (and other renderers)
//! can check it without parsing SVG.

mod build;
mod dot;
mod layout;
mod svg;
#[cfg(test)]
mod tests;

pub use build::graph;
pub use layout::{Layout, LayoutBox, LayoutEdge};

use serde::Serialize;
use std::collections::HashMap;

/// What a node of the graph stands for.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// A basic block of the function.
    Block,
    /// A function called by the function, or one it makes a closure of.
    Function,
}

/// A position in the source.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// Byte offset.
    pub offset: usize,
}

/// A range of the source.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub struct Range {
    /// Where it starts.
    pub start: Pos,
    /// Where it ends (exclusive).
    pub end: Pos,
}

/// A node of the graph: a block or a called function.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Node {
    /// The chunk id as text (`c:0123...`): the Block chunk of a block, the
    /// Function chunk of a function.
    pub id: String,
    /// Block or function.
    pub kind: NodeKind,
    /// The block's index in its function; `None` for a function.
    pub block: Option<u32>,
    /// `b3` for a block, the function's name for a function.
    pub label: String,
    /// The disassembled instructions of a block (empty for a function).
    pub instrs: Vec<String>,
    /// The source the block's instructions come from (the whole
    /// definition for a function); `None` without source.
    pub range: Option<Range>,
}

/// What an edge of the graph stands for.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// The first target of a two-way branch (`Br`, `BrLtI`, `BrLtF`,
    /// `ForStep` going forward).
    Then,
    /// The second target of a two-way branch.
    Else,
    /// The back edge of a `for` loop: the `then` target of a `ForStep` that
    /// goes to an earlier (or the same) block.
    Loop,
    /// An unconditional jump (`Jmp`).
    Jump,
    /// A call of a function item (`Call`).
    Call,
    /// Making a closure (`MkClo`).
    Closure,
}

impl EdgeKind {
    /// The kind's name, as in JSON.
    pub fn name(self) -> &'static str {
        match self {
            EdgeKind::Then => "then",
            EdgeKind::Else => "else",
            EdgeKind::Loop => "loop",
            EdgeKind::Jump => "jump",
            EdgeKind::Call => "call",
            EdgeKind::Closure => "closure",
        }
    }

    /// Whether the edge goes from a block to a block (not to a function).
    pub fn is_flow(self) -> bool {
        !matches!(self, EdgeKind::Call | EdgeKind::Closure)
    }

    /// The colour edges of this kind are drawn in.
    fn colour(self) -> &'static str {
        match self {
            EdgeKind::Then => "#2e7d32",
            EdgeKind::Else => "#c62828",
            EdgeKind::Loop => "#1565c0",
            EdgeKind::Jump => "#546e7a",
            EdgeKind::Call => "#6a1b9a",
            EdgeKind::Closure => "#00838f",
        }
    }

    /// The label drawn on edges of this kind (none on plain jumps).
    fn label(self) -> Option<&'static str> {
        match self {
            EdgeKind::Jump => None,
            other => Some(other.name()),
        }
    }
}

/// An edge of the graph, between node ids.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Edge {
    /// The source node's id (always a block).
    pub from: String,
    /// The target node's id.
    pub to: String,
    /// What the edge stands for.
    pub kind: EdgeKind,
}

/// The chunk graph of one function.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Graph {
    /// The function's name.
    pub function: String,
    /// The blocks, in block order, then the called functions, in first-use order.
    pub nodes: Vec<Node>,
    /// The edges, by source block, in instruction order; no duplicates.
    pub edges: Vec<Edge>,
}

/// A block's header line: its label, then its source lines when known.
fn block_header(node: &Node) -> String {
    let mut header = node.label.clone();
    if let Some(range) = &node.range {
        header.push_str("  ");
        header.push_str(&lines_text(range));
    }
    header
}

/// `line 4` or `lines 4-6`.
fn lines_text(range: &Range) -> String {
    if range.start.line == range.end.line {
        format!("line {}", range.start.line)
    } else {
        format!("lines {}-{}", range.start.line, range.end.line)
    }
}

impl Graph {
    fn index(&self) -> HashMap<&str, usize> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(idx, node)| (node.id.as_str(), idx))
            .collect()
    }

    /// The entry block's node: block 0, else the first block.
    fn entry(&self) -> Option<usize> {
        self.nodes
            .iter()
            .position(|node| node.block == Some(0))
            .or_else(|| {
                self.nodes
                    .iter()
                    .position(|node| node.kind == NodeKind::Block)
            })
    }

    /// Which edges are back edges (to a block on the depth-first stack, from
    /// the entry, then from each block not reached yet), and the depth-first
    /// preorder number of each node.
    fn back_edges(&self) -> (Vec<bool>, Vec<usize>) {
        let index = self.index();
        let n = self.nodes.len();
        let mut succ: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
        for (eidx, edge) in self.edges.iter().enumerate() {
            if !edge.kind.is_flow() {
                continue;
            }
            if let (Some(&from), Some(&to)) =
                (index.get(edge.from.as_str()), index.get(edge.to.as_str()))
            {
                succ[from].push((eidx, to));
            }
        }
        let mut back = vec![false; self.edges.len()];
        let mut pre = vec![usize::MAX; n];
        let mut state = vec![0u8; n];
        let mut counter = 0;
        let roots = self.entry().into_iter().chain(
            self.nodes
                .iter()
                .enumerate()
                .filter(|(_, node)| node.kind == NodeKind::Block)
                .map(|(idx, _)| idx),
        );
        for root in roots {
            if state[root] != 0 {
                continue;
            }
            state[root] = 1;
            pre[root] = counter;
            counter += 1;
            let mut stack = vec![(root, 0usize)];
            while let Some(top) = stack.len().checked_sub(1) {
                let (node, next) = stack[top];
                if let Some(&(eidx, to)) = succ[node].get(next) {
                    stack[top].1 += 1;
                    match state[to] {
                        0 => {
                            state[to] = 1;
                            pre[to] = counter;
                            counter += 1;
                            stack.push((to, 0));
                        }
                        1 => back[eidx] = true,
                        _ => {}
                    }
                } else {
                    state[node] = 2;
                    stack.pop();
                }
            }
        }
        (back, pre)
    }
}
