//! The basic-block chunk graph of one function, for people and editors.
//!
//! [`graph`] turns one compiled function into a [`Graph`]: a node per basic
//! block (named by its Block chunk id, with its instructions and source
//! range), a node per function it calls or makes a closure of (named by
//! its Function chunk id), and an edge per control transfer (`then`,
//! `else`, `loop`, `jump`) or call (`call`, `closure`).
//!
//! The graph renders three ways: [`Graph::to_json`] (the data as is, for a
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

use chunkvm::compile::chunks::CodeIds;
use chunkvm::compile::disasm::instr_text;
use chunkvm::compile::ir::{unpack_targets, Op, Program};
use chunkvm::syntax::span::{LineIndex, Span};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write;

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

/// The source range of some spans; spans `0..0` (instructions the compiler
/// made up without a place) are left out. `None` when nothing remains.
fn range_of(
    spans: impl Iterator<Item = Span>,
    source: Option<(&str, &LineIndex)>,
) -> Option<Range> {
    let (text, index) = source?;
    let span = spans
        .filter(|span| !(span.start == 0 && span.end == 0))
        .reduce(Span::cover)?;
    let pos = |offset: usize| {
        let lc = index.line_col(text, offset);
        Pos {
            line: lc.line,
            column: lc.col,
            offset: offset.min(text.len()),
        }
    };
    Some(Range {
        start: pos(span.start),
        end: pos(span.end),
    })
}

/// The chunk graph of function number `func` of `program`, whose chunks are
/// `ids`; `source` gives the nodes their source ranges. `None` when there is
/// no such function.
pub fn graph(program: &Program, ids: &CodeIds, func: usize, source: Option<&str>) -> Option<Graph> {
    let function = program.functions.get(func)?;
    let index = source.map(|text| (text, LineIndex::new(text)));
    let source = index.as_ref().map(|(text, index)| (*text, index));
    let block_id = |block: usize| {
        ids.blocks
            .get(func)
            .and_then(|blocks| blocks.get(block))
            .map_or_else(|| format!("f{func}.b{block}"), ToString::to_string)
    };
    let function_id = |idx: usize| {
        ids.functions
            .get(idx)
            .map_or_else(|| format!("f{idx}"), ToString::to_string)
    };
    let nblocks = function.blocks.len();
    let mut nodes = Vec::new();
    let mut edges: Vec<Edge> = Vec::new();
    let mut callees: Vec<usize> = Vec::new();
    for (bidx, block) in function.blocks.iter().enumerate() {
        nodes.push(Node {
            id: block_id(bidx),
            kind: NodeKind::Block,
            block: Some(bidx as u32),
            label: format!("b{bidx}"),
            instrs: block
                .instrs
                .iter()
                .map(|instr| instr_text(program, instr))
                .collect(),
            range: range_of(block.spans.iter().copied(), source),
        });
        let mut add = |to: String, kind: EdgeKind| {
            let edge = Edge {
                from: block_id(bidx),
                to,
                kind,
            };
            if !edges.contains(&edge) {
                edges.push(edge);
            }
        };
        for instr in &block.instrs {
            match instr.op {
                Op::Jmp if (instr.k as usize) < nblocks => {
                    add(block_id(instr.k as usize), EdgeKind::Jump);
                }
                op if op.shape().3 == chunkvm::compile::ir::Imm::Block2 => {
                    let (then, otherwise) = unpack_targets(instr.k);
                    let then_kind = if matches!(instr.op, Op::ForStep | Op::ForStepK)
                        && then as usize <= bidx
                    {
                        EdgeKind::Loop
                    } else {
                        EdgeKind::Then
                    };
                    if (then as usize) < nblocks {
                        add(block_id(then as usize), then_kind);
                    }
                    if (otherwise as usize) < nblocks {
                        add(block_id(otherwise as usize), EdgeKind::Else);
                    }
                }
                Op::Call | Op::MkClo => {
                    let callee = instr.k as usize;
                    if callee < program.functions.len() {
                        if !callees.contains(&callee) {
                            callees.push(callee);
                        }
                        let kind = if instr.op == Op::Call {
                            EdgeKind::Call
                        } else {
                            EdgeKind::Closure
                        };
                        add(function_id(callee), kind);
                    }
                }
                _ => {}
            }
        }
    }
    for callee in callees {
        let Some(called) = program.functions.get(callee) else {
            continue;
        };
        nodes.push(Node {
            id: function_id(callee),
            kind: NodeKind::Function,
            block: None,
            label: called.name.clone(),
            instrs: Vec::new(),
            range: range_of(std::iter::once(called.span), source),
        });
    }
    Some(Graph {
        function: function.name.clone(),
        nodes,
        edges,
    })
}

/// One node's box in a [`Layout`].
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct LayoutBox {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
    /// The block's rank (0: the entry's); `None` for a function.
    pub rank: Option<u32>,
    /// The text lines drawn in the box: the header, then the instructions shown.
    pub lines: Vec<String>,
}

impl LayoutBox {
    /// Whether the two boxes share some area.
    pub fn overlaps(&self, other: &LayoutBox) -> bool {
        self.x < other.x + other.width
            && other.x < self.x + self.width
            && self.y < other.y + other.height
            && other.y < self.y + self.height
    }
}

/// One edge's path in a [`Layout`].
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct LayoutEdge {
    /// SVG path data, ending at the target (where the arrowhead goes).
    pub path: String,
    /// Whether this is a back edge (to a block on the depth-first stack).
    pub back: bool,
    /// The label drawn on the edge, if any.
    pub label: Option<String>,
    /// Where the label's centre goes.
    pub label_at: (f64, f64),
}

/// Where everything of a [`Graph`] goes in its SVG drawing.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct Layout {
    /// Width of the drawing.
    pub width: f64,
    /// Height of the drawing.
    pub height: f64,
    /// One box per node of the graph, in the same order.
    pub boxes: Vec<LayoutBox>,
    /// One path per edge of the graph, in the same order.
    pub edges: Vec<LayoutEdge>,
}

const CHAR_W: f64 = 7.2;
const LINE_H: f64 = 16.0;
const HEADER_H: f64 = 20.0;
const PAD_X: f64 = 8.0;
const MIN_W: f64 = 56.0;
const MAX_INSTRS: usize = 12;
const MAX_CHARS: usize = 60;
const H_GAP: f64 = 40.0;
const DUMMY_GAP: f64 = 18.0;
const V_GAP: f64 = 88.0;
const MARGIN: f64 = 20.0;
const LANE_STEP: f64 = 16.0;
const APPROACH: f64 = 72.0;
const FN_H: f64 = 28.0;
const PORT_STEP: f64 = 16.0;
const MAX_SWEPT_ITEMS: usize = 3000;

/// A box or a placeholder point of a long edge, in one rank.
struct Item {
    /// The graph node, or `None` for a placeholder.
    node: Option<usize>,
    rank: usize,
    width: f64,
    /// Left edge, once placed.
    x: f64,
}

impl Item {
    fn centre(&self) -> f64 {
        self.x + self.width / 2.0
    }
}

/// Shortens a line to `MAX_CHARS` characters.
fn clip(text: &str) -> String {
    if text.chars().count() <= MAX_CHARS {
        text.to_string()
    } else {
        let mut out: String = text.chars().take(MAX_CHARS - 3).collect();
        out.push_str("...");
        out
    }
}

fn text_width(lines: &[String]) -> f64 {
    let chars = lines
        .iter()
        .map(|line| line.chars().count())
        .max()
        .unwrap_or(0);
    (chars as f64 * CHAR_W + 2.0 * PAD_X).max(MIN_W).ceil()
}

/// `line 4` or `lines 4-6`.
fn lines_text(range: &Range) -> String {
    if range.start.line == range.end.line {
        format!("line {}", range.start.line)
    } else {
        format!("lines {}-{}", range.start.line, range.end.line)
    }
}

/// Least-squares placement of a row: left edges as close to `desired` as the
/// order and the spacing allow (pool adjacent violators).
fn place_row(desired: &[f64], widths: &[f64], gaps: &[f64]) -> Vec<f64> {
    let mut offsets = Vec::with_capacity(desired.len());
    let mut offset = 0.0;
    for idx in 0..desired.len() {
        if idx > 0 {
            offset += widths[idx - 1] + gaps[idx];
        }
        offsets.push(offset);
    }
    // Pools: (sum, count, first index).
    let mut pools: Vec<(f64, f64, usize)> = Vec::new();
    for idx in 0..desired.len() {
        pools.push((desired[idx] - offsets[idx], 1.0, idx));
        while pools.len() >= 2 {
            let last = pools[pools.len() - 1];
            let prev = pools[pools.len() - 2];
            if prev.0 / prev.1 > last.0 / last.1 {
                pools.pop();
                let len = pools.len();
                pools[len - 1] = (prev.0 + last.0, prev.1 + last.1, prev.2);
            } else {
                break;
            }
        }
    }
    let mut out = vec![0.0; desired.len()];
    for (pidx, pool) in pools.iter().enumerate() {
        let end = pools.get(pidx + 1).map_or(desired.len(), |next| next.2);
        for idx in pool.2..end {
            out[idx] = pool.0 / pool.1 + offsets[idx];
        }
    }
    out
}

/// The y of a cubic with vertical tangents from `(x0, y0)` to `(x1, y1)` at
/// height `y`: its x there.
fn cubic_x_at(x0: f64, y0: f64, x1: f64, y1: f64, y: f64) -> f64 {
    let ym = (y0 + y1) / 2.0;
    let at = |t: f64, a: f64, b: f64, c: f64, d: f64| {
        let u = 1.0 - t;
        u * u * u * a + 3.0 * u * u * t * b + 3.0 * u * t * t * c + t * t * t * d
    };
    let (mut lo, mut hi) = (0.0, 1.0);
    for _ in 0..40 {
        let mid = (lo + hi) / 2.0;
        if at(mid, y0, ym, ym, y1) < y {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    at(lo, x0, x0, x1, x1)
}

/// A polyline as a path with rounded corners.
fn rounded_path(points: &[(f64, f64)]) -> String {
    let mut out = String::new();
    let Some(first) = points.first() else {
        return out;
    };
    let _ = write!(out, "M{:.1},{:.1}", first.0, first.1);
    for idx in 1..points.len() {
        let (x, y) = points[idx];
        if let Some(&(nx, ny)) = points.get(idx + 1) {
            let (px, py) = points[idx - 1];
            let len_in = ((x - px).powi(2) + (y - py).powi(2)).sqrt();
            let len_out = ((nx - x).powi(2) + (ny - y).powi(2)).sqrt();
            let r = 6.0_f64.min(len_in / 2.0).min(len_out / 2.0);
            if r > 0.5 {
                let ax = x - (x - px) / len_in * r;
                let ay = y - (y - py) / len_in * r;
                let bx = x + (nx - x) / len_out * r;
                let by = y + (ny - y) / len_out * r;
                let _ = write!(out, " L{ax:.1},{ay:.1} Q{x:.1},{y:.1} {bx:.1},{by:.1}");
                continue;
            }
        }
        let _ = write!(out, " L{x:.1},{y:.1}");
    }
    out
}

/// Escapes text for XML.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            ch if (ch as u32) < 0x20 && ch != '\n' && ch != '\t' => out.push(' '),
            ch => out.push(ch),
        }
    }
    out
}

/// Escapes text for a quoted DOT string.
fn dot_str(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Escapes text for a field of a DOT record label.
fn dot_record(text: &str) -> String {
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

    /// The text lines of a node's box: the header, then the instructions
    /// (at most `MAX_INSTRS`, then a `... N more` line).
    fn box_lines(&self, node: &Node, closure: bool) -> Vec<String> {
        match node.kind {
            NodeKind::Block => {
                let mut header = node.label.clone();
                if let Some(range) = &node.range {
                    header.push_str("  ");
                    header.push_str(&lines_text(range));
                }
                let mut lines = vec![header];
                if node.instrs.len() > MAX_INSTRS {
                    lines.extend(
                        node.instrs
                            .iter()
                            .take(MAX_INSTRS - 1)
                            .map(|text| clip(text)),
                    );
                    lines.push(format!("... {} more", node.instrs.len() - (MAX_INSTRS - 1)));
                } else {
                    lines.extend(node.instrs.iter().map(|text| clip(text)));
                }
                lines
            }
            NodeKind::Function => {
                let what = if closure { "closure" } else { "fn" };
                vec![clip(&format!("{what} {}", node.label))]
            }
        }
    }

    /// Where every node and edge goes in the SVG drawing.
    pub fn layout(&self) -> Layout {
        let index = self.index();
        let n = self.nodes.len();
        let ends: Vec<Option<(usize, usize)>> = self
            .edges
            .iter()
            .map(|edge| {
                Some((
                    *index.get(edge.from.as_str())?,
                    *index.get(edge.to.as_str())?,
                ))
            })
            .collect();
        let closure_target: Vec<bool> = (0..n)
            .map(|node| {
                self.edges.iter().zip(&ends).any(|(edge, ends)| {
                    edge.kind == EdgeKind::Closure && ends.is_some_and(|(_, to)| to == node)
                })
            })
            .collect();
        let mut boxes: Vec<LayoutBox> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(idx, node)| {
                let lines = self.box_lines(node, closure_target[idx]);
                let width = text_width(&lines);
                let height = match node.kind {
                    NodeKind::Block => HEADER_H + 8.0 + (lines.len() - 1) as f64 * LINE_H,
                    NodeKind::Function => FN_H,
                };
                LayoutBox {
                    x: 0.0,
                    y: 0.0,
                    width,
                    height,
                    rank: None,
                    lines,
                }
            })
            .collect();

        // Ranks: longest path from the roots over the forward edges.
        let (back, pre) = self.back_edges();
        let is_block = |idx: usize| self.nodes[idx].kind == NodeKind::Block;
        let flow: Vec<(usize, usize, usize)> = ends
            .iter()
            .enumerate()
            .filter_map(|(eidx, ends)| {
                let (from, to) = (*ends)?;
                (self.edges[eidx].kind.is_flow() && is_block(from) && is_block(to))
                    .then_some((eidx, from, to))
            })
            .collect();
        let mut rank = vec![0usize; n];
        {
            let mut indeg = vec![0usize; n];
            let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
            for &(eidx, from, to) in &flow {
                if !back[eidx] {
                    indeg[to] += 1;
                    out[from].push(to);
                }
            }
            let mut queue: Vec<usize> = (0..n)
                .filter(|&idx| is_block(idx) && indeg[idx] == 0)
                .collect();
            queue.sort_by_key(|&idx| pre[idx]);
            let mut head = 0;
            while let Some(&node) = queue.get(head) {
                head += 1;
                for &to in &out[node] {
                    rank[to] = rank[to].max(rank[node] + 1);
                    indeg[to] -= 1;
                    if indeg[to] == 0 {
                        queue.push(to);
                    }
                }
            }
        }
        let nranks = (0..n)
            .filter(|&idx| is_block(idx))
            .map(|idx| rank[idx] + 1)
            .max()
            .unwrap_or(0);

        // Items: the blocks, and a placeholder per rank crossed by a long edge.
        let mut items: Vec<Item> = Vec::new();
        let mut item_of = vec![usize::MAX; n];
        for idx in 0..n {
            if is_block(idx) {
                item_of[idx] = items.len();
                items.push(Item {
                    node: Some(idx),
                    rank: rank[idx],
                    width: boxes[idx].width,
                    x: 0.0,
                });
            }
        }
        let mut chains: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut order_key: Vec<f64> = items
            .iter()
            .map(|item| item.node.map_or(0.0, |node| pre[node] as f64))
            .collect();
        for &(eidx, from, to) in &flow {
            if back[eidx] {
                continue;
            }
            let mut chain = vec![item_of[from]];
            for r in rank[from] + 1..rank[to] {
                chain.push(items.len());
                order_key.push(pre[from] as f64 + 0.5);
                items.push(Item {
                    node: None,
                    rank: r,
                    width: 0.0,
                    x: 0.0,
                });
            }
            chain.push(item_of[to]);
            chains.insert(eidx, chain);
        }
        let mut ipred: Vec<Vec<usize>> = vec![Vec::new(); items.len()];
        let mut isucc: Vec<Vec<usize>> = vec![Vec::new(); items.len()];
        for chain in chains.values() {
            for pair in chain.windows(2) {
                isucc[pair[0]].push(pair[1]);
                ipred[pair[1]].push(pair[0]);
            }
        }
        let mut rows: Vec<Vec<usize>> = vec![Vec::new(); nranks];
        for (iidx, item) in items.iter().enumerate() {
            rows[item.rank].push(iidx);
        }
        for row in &mut rows {
            row.sort_by(|a, b| order_key[*a].total_cmp(&order_key[*b]));
        }

        // Order within ranks: barycenter sweeps, keeping the best.
        let mut pos = vec![0usize; items.len()];
        let set_pos = |rows: &Vec<Vec<usize>>, pos: &mut Vec<usize>| {
            for row in rows {
                for (at, &item) in row.iter().enumerate() {
                    pos[item] = at;
                }
            }
        };
        let crossings = |rows: &Vec<Vec<usize>>, pos: &Vec<usize>| {
            let mut total = 0usize;
            for row in rows {
                let pairs: Vec<(usize, usize)> = row
                    .iter()
                    .flat_map(|&a| isucc[a].iter().map(move |&b| (a, b)))
                    .map(|(a, b)| (pos[a], pos[b]))
                    .collect();
                for (i, p) in pairs.iter().enumerate() {
                    for q in &pairs[i + 1..] {
                        if (p.0 < q.0 && p.1 > q.1) || (p.0 > q.0 && p.1 < q.1) {
                            total += 1;
                        }
                    }
                }
            }
            total
        };
        set_pos(&rows, &mut pos);
        let mut best = (crossings(&rows, &pos), rows.clone());
        // Counting crossings is quadratic in the edges of a rank: huge
        // functions keep their depth-first order.
        let sweeps = if items.len() > MAX_SWEPT_ITEMS { 0 } else { 8 };
        for sweep in 0..sweeps {
            let down = sweep % 2 == 0;
            let ranks: Vec<usize> = if down {
                (1..nranks).collect()
            } else {
                (0..nranks.saturating_sub(1)).rev().collect()
            };
            for r in ranks {
                let keys: HashMap<usize, f64> = rows[r]
                    .iter()
                    .map(|&item| {
                        let near = if down { &ipred[item] } else { &isucc[item] };
                        let key = if near.is_empty() {
                            pos[item] as f64
                        } else {
                            near.iter().map(|&other| pos[other] as f64).sum::<f64>()
                                / near.len() as f64
                        };
                        (item, key)
                    })
                    .collect();
                rows[r].sort_by(|a, b| keys[a].total_cmp(&keys[b]));
                for (at, &item) in rows[r].iter().enumerate() {
                    pos[item] = at;
                }
            }
            let count = crossings(&rows, &pos);
            if count < best.0 {
                best = (count, rows.clone());
            }
        }
        let rows = best.1;

        // Horizontal placement: each rank as close to its neighbours as it fits.
        let gap = |a: &Item, b: &Item| {
            if a.node.is_none() || b.node.is_none() {
                DUMMY_GAP
            } else {
                H_GAP
            }
        };
        for row in &rows {
            let mut x = 0.0;
            for (at, &item) in row.iter().enumerate() {
                if at > 0 {
                    x += gap(&items[row[at - 1]], &items[item]);
                }
                items[item].x = x;
                x += items[item].width;
            }
        }
        let passes: [(bool, bool, bool); 4] = [
            (true, true, false),
            (false, false, true),
            (true, true, true),
            (false, true, true),
        ];
        for (down, use_pred, use_succ) in passes {
            let ranks: Vec<usize> = if down {
                (0..nranks).collect()
            } else {
                (0..nranks).rev().collect()
            };
            for r in ranks {
                let row = &rows[r];
                let desired: Vec<f64> = row
                    .iter()
                    .map(|&item| {
                        let mut near: Vec<f64> = Vec::new();
                        if use_pred {
                            near.extend(ipred[item].iter().map(|&other| items[other].centre()));
                        }
                        if use_succ {
                            near.extend(isucc[item].iter().map(|&other| items[other].centre()));
                        }
                        let centre = if near.is_empty() {
                            items[item].centre()
                        } else {
                            near.iter().sum::<f64>() / near.len() as f64
                        };
                        centre - items[item].width / 2.0
                    })
                    .collect();
                let widths: Vec<f64> = row.iter().map(|&item| items[item].width).collect();
                let gaps: Vec<f64> = row
                    .iter()
                    .enumerate()
                    .map(|(at, &item)| {
                        if at == 0 {
                            0.0
                        } else {
                            gap(&items[row[at - 1]], &items[item])
                        }
                    })
                    .collect();
                let placed = place_row(&desired, &widths, &gaps);
                for (&item, x) in row.iter().zip(placed) {
                    items[item].x = x;
                }
            }
        }
        let min_x = items
            .iter()
            .map(|item| item.x)
            .fold(f64::INFINITY, f64::min);
        let shift = if min_x.is_finite() {
            MARGIN - min_x
        } else {
            0.0
        };
        for item in &mut items {
            item.x = (item.x + shift).round();
        }

        // Vertical placement.
        let back_into_top = self
            .edges
            .iter()
            .zip(&ends)
            .zip(&back)
            .any(|((_, ends), back)| *back && ends.is_some_and(|(_, to)| rank[to] == 0));
        let mut rank_y = vec![0.0; nranks];
        let mut rank_h = vec![0.0f64; nranks];
        for item in &items {
            if let Some(node) = item.node {
                rank_h[item.rank] = rank_h[item.rank].max(boxes[node].height);
            }
        }
        let mut y = MARGIN + if back_into_top { 28.0 } else { 0.0 };
        for r in 0..nranks {
            rank_y[r] = y;
            y += rank_h[r] + V_GAP;
        }
        for item in &items {
            if let Some(node) = item.node {
                boxes[node].x = item.x;
                boxes[node].y = rank_y[item.rank];
                boxes[node].rank = Some(item.rank as u32);
            }
        }
        let rank_bottom = |r: usize| rank_y[r] + rank_h[r];
        let mut max_x = items
            .iter()
            .map(|item| item.x + item.width)
            .fold(MARGIN, f64::max);
        let mut max_y = (0..nranks).map(rank_bottom).fold(MARGIN, f64::max);

        // Back-edge lanes, inner loops nearest.
        let mut back_list: Vec<(usize, usize, usize)> = ends
            .iter()
            .enumerate()
            .filter_map(|(eidx, ends)| {
                let (from, to) = (*ends)?;
                back[eidx].then_some((eidx, from, to))
            })
            .collect();
        back_list.sort_by_key(|&(eidx, from, to)| {
            (rank[from] - rank[to].min(rank[from]), rank[from], eidx)
        });
        let mut lanes: HashMap<usize, (f64, usize)> = HashMap::new();
        let mut assigned: Vec<(usize, usize, f64)> = Vec::new();
        for (slot, &(eidx, from, to)) in back_list.iter().enumerate() {
            let (lo, hi) = (rank[to].min(rank[from]), rank[to].max(rank[from]));
            let mut x = items
                .iter()
                .filter(|item| item.rank >= lo && item.rank <= hi)
                .map(|item| item.x + item.width)
                .fold(MARGIN, f64::max)
                + 20.0;
            for &(alo, ahi, ax) in &assigned {
                if alo <= hi && lo <= ahi {
                    x = x.max(ax + LANE_STEP);
                }
            }
            assigned.push((lo, hi, x));
            lanes.insert(eidx, (x, slot));
            max_x = max_x.max(x + 16.0);
        }

        // Ports: where edges leave the bottom and enter the top of blocks.
        let mut out_ports: HashMap<usize, f64> = HashMap::new();
        let mut in_ports: HashMap<usize, f64> = HashMap::new();
        for node in (0..n).filter(|&idx| is_block(idx)) {
            let bx = &boxes[node];
            let mut outs: Vec<(f64, usize)> = Vec::new();
            let mut ins: Vec<(f64, usize)> = Vec::new();
            for &(eidx, from, to) in &flow {
                if from == node {
                    let key = match chains.get(&eidx) {
                        Some(chain) => chain.get(1).map_or(0.0, |&next| items[next].centre()),
                        None => f64::INFINITY,
                    };
                    outs.push((key, eidx));
                }
                if to == node {
                    let key = match chains.get(&eidx) {
                        Some(chain) => chain
                            .len()
                            .checked_sub(2)
                            .and_then(|at| chain.get(at))
                            .map_or(0.0, |&prev| items[prev].centre()),
                        None => f64::INFINITY,
                    };
                    ins.push((key, eidx));
                }
            }
            for (list, ports) in [(&mut outs, &mut out_ports), (&mut ins, &mut in_ports)] {
                list.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                let count = list.len() as f64;
                for (at, &(_, eidx)) in list.iter().enumerate() {
                    ports.insert(
                        eidx,
                        (bx.x + bx.width * (at as f64 + 1.0) / (count + 1.0)).round(),
                    );
                }
            }
        }

        // Function column.
        let calls: Vec<(usize, usize, usize)> = ends
            .iter()
            .enumerate()
            .filter_map(|(eidx, ends)| {
                let (from, to) = (*ends)?;
                (!self.edges[eidx].kind.is_flow() && is_block(from) && !is_block(to))
                    .then_some((eidx, from, to))
            })
            .collect();
        let approach_base = max_x + 24.0;
        let col_x = approach_base + 8.0 * calls.len() as f64 + APPROACH;
        let call_y = |eidx: usize, from: usize, to: usize| -> f64 {
            let bx = &boxes[from];
            let op = if self.edges[eidx].kind == EdgeKind::Call {
                "Call "
            } else {
                "MkClo "
            };
            let name = &self.nodes[to].label;
            let found = self.nodes[from]
                .instrs
                .iter()
                .take(bx.lines.len().saturating_sub(1))
                .position(|text| text.starts_with(op) && text.ends_with(&format!(" {name}")));
            match found {
                Some(at) => bx.y + HEADER_H + 4.0 + at as f64 * LINE_H + LINE_H / 2.0,
                None => bx.y + HEADER_H / 2.0,
            }
        };
        let call_ys: HashMap<usize, f64> = calls
            .iter()
            .map(|&(eidx, from, to)| (eidx, call_y(eidx, from, to)))
            .collect();
        let call_y = |eidx: usize| call_ys.get(&eidx).copied().unwrap_or(MARGIN);
        let mut fn_nodes: Vec<(f64, usize)> = (0..n)
            .filter(|&idx| !is_block(idx))
            .map(|idx| {
                let first = calls
                    .iter()
                    .filter(|&&(_, _, to)| to == idx)
                    .map(|&(eidx, _, _)| call_y(eidx))
                    .fold(f64::INFINITY, f64::min);
                (if first.is_finite() { first } else { MARGIN }, idx)
            })
            .collect();
        fn_nodes.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut fn_ports: HashMap<usize, f64> = HashMap::new();
        let mut next_top = MARGIN;
        for &(first, idx) in &fn_nodes {
            let mut incoming: Vec<(f64, usize)> = calls
                .iter()
                .filter(|&&(_, _, to)| to == idx)
                .map(|&(eidx, _, _)| (call_y(eidx), eidx))
                .collect();
            incoming.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let height = FN_H.max(PORT_STEP * incoming.len() as f64 + 12.0);
            let top = (first - FN_H / 2.0).max(next_top).round();
            let bx = &mut boxes[idx];
            bx.x = col_x;
            bx.y = top;
            bx.height = height;
            next_top = top + height + 16.0;
            for (at, &(_, eidx)) in incoming.iter().enumerate() {
                let offset = (height - PORT_STEP * (incoming.len() as f64 - 1.0)) / 2.0;
                fn_ports.insert(eidx, top + offset + at as f64 * PORT_STEP);
            }
            max_y = max_y.max(top + height);
        }

        // Edge paths.
        let mut edges_out = Vec::with_capacity(self.edges.len());
        let mut orthogonal = 0usize;
        for (eidx, edge) in self.edges.iter().enumerate() {
            let label = edge.kind.label().map(str::to_string);
            let Some((from, to)) = ends[eidx] else {
                edges_out.push(LayoutEdge {
                    path: String::new(),
                    back: back[eidx],
                    label: None,
                    label_at: (0.0, 0.0),
                });
                continue;
            };
            let sb = &boxes[from];
            let tb = &boxes[to];
            let (path, label_at) = if let Some(chain) = chains.get(&eidx) {
                // Forward: down through the placeholders.
                let start_x = out_ports
                    .get(&eidx)
                    .copied()
                    .unwrap_or(sb.x + sb.width / 2.0);
                let end_x = in_ports
                    .get(&eidx)
                    .copied()
                    .unwrap_or(tb.x + tb.width / 2.0);
                let mut points = vec![(start_x, sb.y + sb.height)];
                for &item in &chain[1..chain.len() - 1] {
                    let it = &items[item];
                    points.push((it.centre(), rank_y[it.rank]));
                    points.push((it.centre(), rank_bottom(it.rank)));
                }
                points.push((end_x, tb.y));
                let mut path = format!("M{:.1},{:.1}", points[0].0, points[0].1);
                for (at, pair) in points.windows(2).enumerate() {
                    let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
                    if at % 2 == 0 {
                        let ym = (y0 + y1) / 2.0;
                        let _ = write!(path, " C{x0:.1},{ym:.1} {x1:.1},{ym:.1} {x1:.1},{y1:.1}");
                    } else {
                        let _ = write!(path, " L{x1:.1},{y1:.1}");
                    }
                }
                let (x0, y0) = points[0];
                let (x1, y1) = points[1];
                let ly = rank_bottom(rank[from]) + V_GAP * 0.43;
                let ly = ly.clamp(y0.min(y1), y0.max(y1));
                (path, (cubic_x_at(x0, y0, x1, y1, ly), ly))
            } else if let Some(&(lane, slot)) = lanes.get(&eidx) {
                // Back: down, right to the lane, up, left, down into the target.
                let start_x = out_ports
                    .get(&eidx)
                    .copied()
                    .unwrap_or(sb.x + sb.width / 2.0);
                let end_x = in_ports
                    .get(&eidx)
                    .copied()
                    .unwrap_or(tb.x + tb.width / 2.0);
                let below = rank_bottom(rank[from]) + 8.0 + 4.0 * (slot % 5) as f64;
                let above = rank_y[rank[to]] - 8.0 - 4.0 * (slot % 5) as f64;
                let points = [
                    (start_x, sb.y + sb.height),
                    (start_x, below),
                    (lane, below),
                    (lane, above),
                    (end_x, above),
                    (end_x, tb.y),
                ];
                max_y = max_y.max(below);
                (rounded_path(&points), (lane, (below + above) / 2.0))
            } else if let Some(&port_y) = fn_ports.get(&eidx) {
                // Call: to the left side of the function box.
                let start = (sb.x + sb.width, call_y(eidx));
                let (y_lo, y_hi) = (start.1.min(port_y) - 4.0, start.1.max(port_y) + 4.0);
                let clear = items.iter().all(|item| {
                    if item.node == Some(from) || item.x + item.width <= start.0 + 1.0 {
                        return true;
                    }
                    let (top, bottom) = match item.node {
                        Some(node) => (boxes[node].y, boxes[node].y + boxes[node].height),
                        None => (rank_y[item.rank], rank_bottom(item.rank)),
                    };
                    bottom < y_lo || top > y_hi
                });
                let reach = col_x - APPROACH;
                let path = if clear {
                    let mid = (start.0 + reach) / 2.0;
                    format!(
                        "M{:.1},{:.1} C{mid:.1},{:.1} {mid:.1},{port_y:.1} {reach:.1},{port_y:.1} L{col_x:.1},{port_y:.1}",
                        start.0, start.1, start.1
                    )
                } else {
                    let channel = start.0 + 12.0;
                    let below = rank_bottom(rank[from]) + 50.0 + 4.0 * (orthogonal % 3) as f64;
                    let approach = approach_base + 8.0 * orthogonal as f64;
                    orthogonal += 1;
                    max_y = max_y.max(below);
                    rounded_path(&[
                        start,
                        (channel, start.1),
                        (channel, below),
                        (approach, below),
                        (approach, port_y),
                        (col_x, port_y),
                    ])
                };
                (path, (col_x - APPROACH / 2.0, port_y - 5.0))
            } else {
                (String::new(), (0.0, 0.0))
            };
            edges_out.push(LayoutEdge {
                path,
                back: back[eidx],
                label,
                label_at,
            });
        }
        let right = boxes.iter().map(|bx| bx.x + bx.width).fold(max_x, f64::max);
        Layout {
            width: (right + MARGIN).ceil(),
            height: (max_y + MARGIN).ceil(),
            boxes,
            edges: edges_out,
        }
    }

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
                    let mut header = node.label.clone();
                    if let Some(range) = &node.range {
                        header.push_str("  ");
                        header.push_str(&lines_text(range));
                    }
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

    /// The graph as JSON: `{function, nodes: [{id, kind, block, label,
    /// instrs, range}], edges: [{from, to, kind}]}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// The graph drawn as a standalone SVG document (see [`Graph::layout`]).
    /// Each block is a `<g class="block" data-block="N" data-line="L">`
    /// (`data-line` when the source is known), each function a
    /// `<g class="function">`; both carry `data-id` and a `<title>`.
    pub fn to_svg(&self) -> String {
        let layout = self.layout();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"12\">",
            w = layout.width,
            h = layout.height
        );
        let _ = writeln!(out, "<title>{}</title>", xml(&self.function));
        out.push_str("<style>.block, .function { cursor: pointer; } .block:hover .frame, .function:hover .frame { stroke-width: 2.5; }</style>\n<defs>\n");
        for kind in [
            EdgeKind::Then,
            EdgeKind::Else,
            EdgeKind::Loop,
            EdgeKind::Jump,
            EdgeKind::Call,
            EdgeKind::Closure,
        ] {
            let _ = writeln!(
                out,
                "<marker id=\"arrow-{}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{}\"/></marker>",
                kind.name(),
                kind.colour()
            );
        }
        out.push_str("</defs>\n");
        let _ = writeln!(
            out,
            "<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>",
            layout.width, layout.height
        );
        out.push_str("<g class=\"edges\" fill=\"none\">\n");
        for (edge, placed) in self.edges.iter().zip(&layout.edges) {
            if placed.path.is_empty() {
                continue;
            }
            let dash = if !edge.kind.is_flow() {
                " stroke-dasharray=\"2 3\""
            } else if placed.back {
                " stroke-dasharray=\"6 4\""
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "<path class=\"edge {kind}\" d=\"{path}\" stroke=\"{colour}\" stroke-width=\"1.4\"{dash} marker-end=\"url(#arrow-{kind})\"><title>{title}</title></path>",
                kind = edge.kind.name(),
                path = placed.path,
                colour = edge.kind.colour(),
                title = xml(&format!("{} -> {} ({})", edge.from, edge.to, edge.kind.name())),
            );
        }
        out.push_str("</g>\n<g class=\"nodes\">\n");
        for (node, bx) in self.nodes.iter().zip(&layout.boxes) {
            let mut title = format!("{} {}", node.label, node.id);
            if let Some(range) = &node.range {
                let _ = write!(
                    title,
                    "\n{}:{} to {}:{}",
                    range.start.line, range.start.column, range.end.line, range.end.column
                );
            }
            for instr in &node.instrs {
                title.push('\n');
                title.push_str(instr);
            }
            let line_attr = node
                .range
                .as_ref()
                .map(|range| {
                    format!(
                        " data-line=\"{}\" data-col=\"{}\"",
                        range.start.line, range.start.column
                    )
                })
                .unwrap_or_default();
            match node.kind {
                NodeKind::Block => {
                    let entry = node.block == Some(0);
                    let _ = writeln!(
                        out,
                        "<g class=\"block\" data-block=\"{}\"{line_attr} data-id=\"{}\"><title>{}</title>",
                        node.block.unwrap_or(0),
                        xml(&node.id),
                        xml(&title)
                    );
                    let _ = writeln!(
                        out,
                        "<rect class=\"frame\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"3\" fill=\"#ffffff\" stroke=\"#37474f\" stroke-width=\"{}\"/>",
                        bx.x,
                        bx.y,
                        bx.width,
                        bx.height,
                        if entry { "2" } else { "1.2" }
                    );
                    let _ = writeln!(
                        out,
                        "<path d=\"M{x0:.1},{y1:.1} V{y0r:.1} Q{x0:.1},{y0:.1} {x0r:.1},{y0:.1} H{x1r:.1} Q{x1:.1},{y0:.1} {x1:.1},{y0r:.1} V{y1:.1} Z\" fill=\"{fill}\"/>",
                        x0 = bx.x + 0.6,
                        x1 = bx.x + bx.width - 0.6,
                        x0r = bx.x + 3.0,
                        x1r = bx.x + bx.width - 3.0,
                        y0 = bx.y + 0.6,
                        y0r = bx.y + 3.0,
                        y1 = bx.y + HEADER_H,
                        fill = if entry { "#dcedc8" } else { "#eceff1" }
                    );
                    let _ = writeln!(
                        out,
                        "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#90a4ae\" stroke-width=\"1\"/>",
                        bx.x,
                        bx.y + HEADER_H,
                        bx.x + bx.width,
                        bx.y + HEADER_H
                    );
                    for (at, line) in bx.lines.iter().enumerate() {
                        let (baseline, style) = if at == 0 {
                            (bx.y + 14.0, " font-weight=\"bold\" fill=\"#263238\"")
                        } else if line.starts_with("... ")
                            && at == bx.lines.len() - 1
                            && node.instrs.len() > MAX_INSTRS
                        {
                            (
                                bx.y + HEADER_H + 4.0 + (at - 1) as f64 * LINE_H + 12.0,
                                " fill=\"#78909c\" font-style=\"italic\"",
                            )
                        } else {
                            (
                                bx.y + HEADER_H + 4.0 + (at - 1) as f64 * LINE_H + 12.0,
                                " fill=\"#212121\"",
                            )
                        };
                        let _ = writeln!(
                            out,
                            "<text x=\"{:.1}\" y=\"{:.1}\"{style} xml:space=\"preserve\">{}</text>",
                            bx.x + PAD_X,
                            baseline,
                            xml(line)
                        );
                    }
                    out.push_str("</g>\n");
                }
                NodeKind::Function => {
                    let closure = bx
                        .lines
                        .first()
                        .is_some_and(|line| line.starts_with("closure "));
                    let (fill, stroke) = if closure {
                        ("#e0f7fa", "#00838f")
                    } else {
                        ("#f3e5f5", "#6a1b9a")
                    };
                    let _ = writeln!(
                        out,
                        "<g class=\"function\"{line_attr} data-id=\"{}\"><title>{}</title>",
                        xml(&node.id),
                        xml(&title)
                    );
                    let _ = writeln!(
                        out,
                        "<rect class=\"frame\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"12\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.2\"/>",
                        bx.x, bx.y, bx.width, bx.height
                    );
                    if let Some(line) = bx.lines.first() {
                        let _ = writeln!(
                            out,
                            "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#212121\" xml:space=\"preserve\">{}</text>",
                            bx.x + PAD_X,
                            bx.y + bx.height / 2.0 + 4.0,
                            xml(line)
                        );
                    }
                    out.push_str("</g>\n");
                }
            }
        }
        out.push_str("</g>\n<g class=\"labels\" font-size=\"11\" text-anchor=\"middle\" stroke=\"#ffffff\" stroke-width=\"4\" paint-order=\"stroke\" stroke-linejoin=\"round\">\n");
        for (edge, placed) in self.edges.iter().zip(&layout.edges) {
            if let (Some(label), false) = (&placed.label, placed.path.is_empty()) {
                let _ = writeln!(
                    out,
                    "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"{}\">{}</text>",
                    placed.label_at.0,
                    placed.label_at.1 + 4.0,
                    edge.kind.colour(),
                    xml(label)
                );
            }
        }
        out.push_str("</g>\n</svg>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chunkvm::chunk::ChunkId;
    use chunkvm::compile::ir::{pack_targets, Block, Function, Instr};
    use chunkvm::types::Type;
    use std::collections::BTreeSet;

    const CODE: u64 = 1 << 63;

    /// Made-up code ids: functions `c:8000...0001..`, blocks from `...0100` per function.
    fn ids_for(program: &Program) -> CodeIds {
        CodeIds {
            root: ChunkId(CODE),
            functions: (0..program.functions.len())
                .map(|idx| ChunkId(CODE | (idx as u64 + 1)))
                .collect(),
            blocks: program
                .functions
                .iter()
                .enumerate()
                .map(|(fidx, func)| {
                    (0..func.blocks.len())
                        .map(|bidx| ChunkId(CODE | ((fidx as u64 + 1) << 8) | bidx as u64))
                        .collect()
                })
                .collect(),
            strings: Vec::new(),
        }
    }

    /// The span of the first `needle` in `source`.
    fn at(source: &str, needle: &str) -> Span {
        let start = source.find(needle).unwrap();
        Span::new(start, start + needle.len())
    }

    fn function(name: &str, blocks: Vec<Vec<(Instr, Span)>>) -> Function {
        Function {
            name: name.to_string(),
            params: Vec::new(),
            ret: Type::Unit,
            nregs: 8,
            nrefs: 2,
            env_slots: 0,
            env_links: Vec::new(),
            is_closure: name.contains("closure"),
            blocks: blocks
                .into_iter()
                .map(|instrs| Block {
                    spans: instrs.iter().map(|(_, span)| *span).collect(),
                    instrs: instrs.into_iter().map(|(instr, _)| instr).collect(),
                })
                .collect(),
            locals: Vec::new(),
            span: Span::default(),
        }
    }

    fn jmp(to: u32) -> Instr {
        Instr::with_k(Op::Jmp, 0, 0, 0, to as u64)
    }

    fn br(op: Op, a: u16, then: u32, otherwise: u32) -> Instr {
        Instr::with_k(op, a, a + 1, 0, pack_targets(then, otherwise))
    }

    const DIAMOND: &str = "fn pick(c: bool) -> int {\n    var x = 0;\n    if c { x = 1; } else { x = 2; }\n    x\n}\n";

    fn diamond() -> Program {
        let s = DIAMOND;
        let f = function(
            "pick",
            vec![
                vec![
                    (Instr::with_k(Op::Const, 1, 0, 0, 0), at(s, "var x = 0;")),
                    (br(Op::Br, 0, 1, 2), at(s, "c {")),
                ],
                vec![
                    (Instr::with_k(Op::Const, 1, 0, 0, 1), at(s, "x = 1;")),
                    (jmp(3), at(s, "x = 1;")),
                ],
                vec![
                    (Instr::with_k(Op::Const, 1, 0, 0, 2), at(s, "x = 2;")),
                    (jmp(3), at(s, "x = 2;")),
                ],
                vec![(Instr::new(Op::Ret, 1, 0, 0), at(s, "x\n}"))],
            ],
        );
        Program {
            functions: vec![f],
            ..Program::default()
        }
    }

    const LOOP: &str = "fn sum(n: int) -> int {\n    var t = 0;\n    for i in 0..n {\n        t += i;\n    }\n    t\n}\n";

    fn looping() -> Program {
        let s = LOOP;
        let f = function(
            "sum",
            vec![
                vec![
                    (Instr::with_k(Op::Const, 0, 0, 0, 0), at(s, "var t = 0;")),
                    (Instr::with_k(Op::Const, 1, 0, 0, 0), at(s, "0..n")),
                    (br(Op::BrLtI, 1, 1, 3), at(s, "for i in 0..n")),
                ],
                vec![
                    (Instr::new(Op::AddI, 0, 0, 1), at(s, "t += i;")),
                    (jmp(2), at(s, "t += i;")),
                ],
                vec![(br(Op::ForStep, 1, 1, 3), at(s, "for i in 0..n"))],
                vec![(Instr::new(Op::Ret, 0, 0, 0), at(s, "t\n}"))],
            ],
        );
        Program {
            functions: vec![f],
            ..Program::default()
        }
    }

    fn calling() -> Program {
        let main = function(
            "main",
            vec![
                vec![
                    (Instr::with_k(Op::Call, 0, 0, 0, 1), Span::default()),
                    (Instr::with_k(Op::MkClo, 0, 0, 0, 2), Span::default()),
                    (Instr::with_k(Op::Call, 0, 0, 0, 1), Span::default()),
                    (br(Op::Br, 0, 1, 2), Span::default()),
                ],
                vec![
                    (Instr::with_k(Op::Call, 0, 0, 0, 1), Span::default()),
                    (jmp(2), Span::default()),
                ],
                vec![(Instr::new(Op::RetU, 0, 0, 0), Span::default())],
            ],
        );
        let helper = function(
            "helper",
            vec![vec![(Instr::new(Op::RetU, 0, 0, 0), Span::default())]],
        );
        let closure = function(
            "main::closure@3:12",
            vec![vec![(Instr::new(Op::RetU, 0, 0, 0), Span::default())]],
        );
        Program {
            functions: vec![main, helper, closure],
            ..Program::default()
        }
    }

    /// A bigger function: nested loops, a diamond inside, an early return, a long block.
    fn tangled() -> Program {
        let long: Vec<(Instr, Span)> = (0..20)
            .map(|idx| {
                (
                    Instr::with_k(Op::Const, idx, 0, 0, idx as u64),
                    Span::default(),
                )
            })
            .chain(std::iter::once((jmp(2), Span::default())))
            .collect();
        let f = function(
            "tangled",
            vec![
                /* 0 */ long,
                /* 1 */ vec![(Instr::new(Op::RetU, 0, 0, 0), Span::default())],
                /* 2 */ vec![(br(Op::BrLtI, 0, 3, 9), Span::default())],
                /* 3 */ vec![(br(Op::BrLtI, 2, 4, 8), Span::default())],
                /* 4 */ vec![(br(Op::Br, 4, 5, 6), Span::default())],
                /* 5 */
                vec![
                    (Instr::with_k(Op::Call, 0, 0, 0, 1), Span::default()),
                    (jmp(7), Span::default()),
                ],
                /* 6 */ vec![(br(Op::Br, 5, 1, 7), Span::default())],
                /* 7 */ vec![(br(Op::ForStep, 2, 4, 8), Span::default())],
                /* 8 */ vec![(br(Op::ForStep, 0, 3, 9), Span::default())],
                /* 9 */
                vec![
                    (Instr::with_k(Op::MkClo, 0, 0, 0, 2), Span::default()),
                    (jmp(10), Span::default()),
                ],
                /* 10 */ vec![(br(Op::Br, 6, 2, 1), Span::default())],
            ],
        );
        let helper = function(
            "helper",
            vec![vec![(Instr::new(Op::RetU, 0, 0, 0), Span::default())]],
        );
        let closure = function(
            "tangled::closure@9:3",
            vec![vec![(Instr::new(Op::RetU, 0, 0, 0), Span::default())]],
        );
        Program {
            functions: vec![f, helper, closure],
            ..Program::default()
        }
    }

    /// Edges as (from label, to label, kind).
    fn edge_set(graph: &Graph) -> BTreeSet<(String, String, &'static str)> {
        let label: HashMap<&str, &str> = graph
            .nodes
            .iter()
            .map(|node| (node.id.as_str(), node.label.as_str()))
            .collect();
        graph
            .edges
            .iter()
            .map(|edge| {
                (
                    label[edge.from.as_str()].to_string(),
                    label[edge.to.as_str()].to_string(),
                    edge.kind.name(),
                )
            })
            .collect()
    }

    fn set(items: &[(&str, &str, &'static str)]) -> BTreeSet<(String, String, &'static str)> {
        items
            .iter()
            .map(|(a, b, k)| (a.to_string(), b.to_string(), *k))
            .collect()
    }

    /// Balanced tags, quoted attributes, known entities.
    fn assert_well_formed(svg: &str) {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        let mut roots = 0;
        while let Some(open) = rest.find('<') {
            let text = &rest[..open];
            assert!(!text.contains('>'), "stray > in text {text:?}");
            for (idx, _) in text.match_indices('&') {
                let tail = &text[idx..];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                        .iter()
                        .any(|e| tail.starts_with(e)),
                    "bad entity in {tail:?}"
                );
            }
            rest = &rest[open..];
            let close = rest.find('>').expect("unclosed tag");
            let tag = &rest[..=close];
            assert_eq!(
                tag.matches('"').count() % 2,
                0,
                "unbalanced quotes in {tag}"
            );
            assert!(!tag[1..].contains('<'), "< inside tag {tag}");
            if let Some(name) = tag.strip_prefix("</") {
                let name = name.trim_end_matches('>').trim();
                assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
            } else if !tag.ends_with("/>") {
                let name: String = tag[1..]
                    .chars()
                    .take_while(|ch| !ch.is_whitespace() && *ch != '>')
                    .collect();
                if stack.is_empty() {
                    roots += 1;
                }
                stack.push(name);
            }
            rest = &rest[close + 1..];
        }
        assert!(rest.trim().is_empty());
        assert!(stack.is_empty(), "unclosed {stack:?}");
        assert_eq!(roots, 1);
    }

    fn assert_readable(graph: &Graph) {
        let layout = graph.layout();
        assert_eq!(layout.boxes.len(), graph.nodes.len());
        assert_eq!(layout.edges.len(), graph.edges.len());
        for (idx, a) in layout.boxes.iter().enumerate() {
            assert!(a.x >= 0.0 && a.y >= 0.0, "{a:?}");
            assert!(
                a.x + a.width <= layout.width && a.y + a.height <= layout.height,
                "{a:?} outside"
            );
            for line in &a.lines {
                assert!(
                    line.chars().count() as f64 * CHAR_W + 2.0 * PAD_X <= a.width + 0.5,
                    "{line} too wide"
                );
            }
            assert!(a.lines.len() <= MAX_INSTRS + 1);
            for b in &layout.boxes[idx + 1..] {
                assert!(!a.overlaps(b), "{a:?} overlaps {b:?}");
            }
        }
        for edge in &layout.edges {
            assert!(edge.path.starts_with('M'), "{edge:?}");
        }
        let svg = graph.to_svg();
        assert_well_formed(&svg);
        let blocks = graph
            .nodes
            .iter()
            .filter(|node| node.kind == NodeKind::Block)
            .count();
        assert_eq!(svg.matches("data-block=\"").count(), blocks);
        assert!(svg.contains(&format!(
            "viewBox=\"0 0 {} {}\"",
            layout.width, layout.height
        )));
    }

    #[test]
    fn diamond_has_then_else_and_joins() {
        let program = diamond();
        let graph = graph(&program, &ids_for(&program), 0, Some(DIAMOND)).unwrap();
        assert_eq!(graph.function, "pick");
        let labels: Vec<&str> = graph.nodes.iter().map(|node| node.label.as_str()).collect();
        assert_eq!(labels, ["b0", "b1", "b2", "b3"]);
        assert!(graph.nodes.iter().all(|node| node.kind == NodeKind::Block));
        assert_eq!(graph.nodes[1].id, "c:8000000000000101");
        assert_eq!(graph.nodes[1].instrs.len(), 2);
        assert_eq!(graph.nodes[1].instrs[1], "Jmp -> b3");
        let range = graph.nodes[0].range.unwrap();
        assert_eq!(
            (range.start.line, range.start.column, range.end.line),
            (2, 5, 3)
        );
        assert_eq!(range.start.offset, DIAMOND.find("var").unwrap());
        assert_eq!(
            edge_set(&graph),
            set(&[
                ("b0", "b1", "then"),
                ("b0", "b2", "else"),
                ("b1", "b3", "jump"),
                ("b2", "b3", "jump")
            ])
        );
        let layout = graph.layout();
        let ranks: Vec<Option<u32>> = layout.boxes.iter().map(|bx| bx.rank).collect();
        assert_eq!(ranks, [Some(0), Some(1), Some(1), Some(2)]);
        assert!(layout.edges.iter().all(|edge| !edge.back));
        assert_eq!(layout.boxes[0].lines[0], "b0  lines 2-3");
        let dot = graph.to_dot();
        assert!(dot.starts_with("digraph \"pick\" {\n  node [shape=box fontname=\"monospace\"];"));
        assert!(dot.contains("\"c:8000000000000100\" -> \"c:8000000000000101\" [label=\"then\""));
        assert!(dot.contains("\"c:8000000000000100\" -> \"c:8000000000000102\" [label=\"else\""));
        assert!(dot.contains("\"c:8000000000000102\" -> \"c:8000000000000103\" [label=\"jump\""));
        assert!(
            dot.contains("label=\"{b3  lines 4-5\\l|Ret s1\\l}\""),
            "{dot}"
        );
        assert_eq!(dot, graph.to_dot());
        assert_readable(&graph);
        let svg = graph.to_svg();
        assert!(svg.contains("data-block=\"2\" data-line=\"3\""));
    }

    #[test]
    fn for_loop_has_a_back_edge() {
        let program = looping();
        let graph = graph(&program, &ids_for(&program), 0, Some(LOOP)).unwrap();
        assert_eq!(
            edge_set(&graph),
            set(&[
                ("b0", "b1", "then"),
                ("b0", "b3", "else"),
                ("b1", "b2", "jump"),
                ("b2", "b1", "loop"),
                ("b2", "b3", "else")
            ])
        );
        let layout = graph.layout();
        let ranks: Vec<Option<u32>> = layout.boxes.iter().map(|bx| bx.rank).collect();
        assert_eq!(ranks, [Some(0), Some(1), Some(2), Some(3)]);
        let backs: Vec<EdgeKind> = graph
            .edges
            .iter()
            .zip(&layout.edges)
            .filter(|(_, placed)| placed.back)
            .map(|(edge, _)| edge.kind)
            .collect();
        assert_eq!(backs, [EdgeKind::Loop]);
        // The long else edge goes around the loop body, not through it.
        let body = &layout.boxes[1];
        let exit_edge = graph
            .edges
            .iter()
            .position(|edge| edge.kind == EdgeKind::Else)
            .unwrap();
        assert!(
            layout.edges[exit_edge].path.contains(" L"),
            "{:?}",
            layout.edges[exit_edge]
        );
        assert!(layout.edges[exit_edge].label_at.1 < body.y);
        let dot = graph.to_dot();
        assert!(dot.contains("\"c:8000000000000102\" -> \"c:8000000000000101\" [label=\"loop\" color=\"#1565c0\" fontcolor=\"#1565c0\" style=dashed];"), "{dot}");
        assert_readable(&graph);
    }

    #[test]
    fn calls_and_closures_are_function_nodes() {
        let program = calling();
        let ids = ids_for(&program);
        let graph = graph(&program, &ids, 0, None).unwrap();
        let functions: Vec<(&str, &str)> = graph
            .nodes
            .iter()
            .filter(|node| node.kind == NodeKind::Function)
            .map(|node| (node.label.as_str(), node.id.as_str()))
            .collect();
        assert_eq!(
            functions,
            [
                ("helper", "c:8000000000000002"),
                ("main::closure@3:12", "c:8000000000000003")
            ]
        );
        assert!(graph.nodes.iter().all(|node| node.range.is_none()));
        assert_eq!(
            edge_set(&graph),
            set(&[
                ("b0", "helper", "call"),
                ("b0", "main::closure@3:12", "closure"),
                ("b0", "b1", "then"),
                ("b0", "b2", "else"),
                ("b1", "helper", "call"),
                ("b1", "b2", "jump")
            ])
        );
        let dot = graph.to_dot();
        assert!(dot.contains("\"c:8000000000000100\" -> \"c:8000000000000002\" [label=\"call\" color=\"#6a1b9a\" fontcolor=\"#6a1b9a\" style=dotted];"));
        assert!(dot.contains("\"c:8000000000000003\" [style=rounded label=\"main::closure@3:12\""));
        let layout = graph.layout();
        let right_of_blocks = layout.boxes[..3]
            .iter()
            .map(|bx| bx.x + bx.width)
            .fold(0.0, f64::max);
        for bx in &layout.boxes[3..] {
            assert!(bx.x > right_of_blocks && bx.rank.is_none());
        }
        assert_eq!(layout.boxes[4].lines, ["closure main::closure@3:12"]);
        assert_eq!(layout.boxes[3].lines, ["fn helper"]);
        assert!(graph
            .to_svg()
            .contains("<g class=\"function\" data-id=\"c:8000000000000002\">"));
        assert_readable(&graph);
        assert!(super::graph(&program, &ids, 7, None).is_none());
    }

    #[test]
    fn json_shape() {
        let helper = function(
            "helper",
            vec![vec![(Instr::new(Op::RetU, 0, 0, 0), Span::default())]],
        );
        let main = function(
            "main",
            vec![vec![
                (Instr::with_k(Op::Call, 0, 0, 0, 1), Span::new(12, 20)),
                (Instr::new(Op::RetU, 0, 0, 0), Span::new(20, 21)),
            ]],
        );
        let program = Program {
            functions: vec![main, helper],
            ..Program::default()
        };
        let graph = graph(
            &program,
            &ids_for(&program),
            0,
            Some("fn main() {\n  helper()\n}\n"),
        )
        .unwrap();
        insta::assert_json_snapshot!(graph.to_json(), @r###"
        {
          "edges": [
            {
              "from": "c:8000000000000100",
              "kind": "call",
              "to": "c:8000000000000002"
            }
          ],
          "function": "main",
          "nodes": [
            {
              "block": 0,
              "id": "c:8000000000000100",
              "instrs": [
                "Call 0 0 helper",
                "RetU"
              ],
              "kind": "block",
              "label": "b0",
              "range": {
                "end": {
                  "column": 10,
                  "line": 2,
                  "offset": 21
                },
                "start": {
                  "column": 1,
                  "line": 2,
                  "offset": 12
                }
              }
            },
            {
              "block": null,
              "id": "c:8000000000000002",
              "instrs": [],
              "kind": "function",
              "label": "helper",
              "range": null
            }
          ]
        }
        "###);
    }

    #[test]
    fn tangled_graph_stays_readable() {
        let program = tangled();
        let graph = graph(&program, &ids_for(&program), 0, None).unwrap();
        let layout = graph.layout();
        assert_eq!(layout.boxes[0].lines.len(), MAX_INSTRS + 1);
        assert_eq!(layout.boxes[0].lines[MAX_INSTRS], "... 10 more");
        let back: usize = layout.edges.iter().filter(|edge| edge.back).count();
        assert_eq!(back, 3);
        assert_readable(&graph);
    }

    #[test]
    fn random_graphs_stay_readable() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |bound: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % bound
        };
        for _ in 0..60 {
            let nblocks = 2 + next(14) as u32;
            let blocks: Vec<Vec<(Instr, Span)>> = (0..nblocks)
                .map(|bidx| {
                    let mut instrs: Vec<(Instr, Span)> = (0..next(5))
                        .map(|_| (Instr::new(Op::AddI, 1, 2, 3), Span::default()))
                        .collect();
                    if next(4) == 0 {
                        instrs.push((
                            Instr::with_k(Op::Call, 0, 0, 0, 1 + next(2)),
                            Span::default(),
                        ));
                    }
                    let end = match next(4) {
                        _ if bidx + 1 == nblocks => Instr::new(Op::RetU, 0, 0, 0),
                        0 => jmp(next(nblocks as u64) as u32),
                        1 => br(
                            Op::ForStep,
                            0,
                            next(nblocks as u64) as u32,
                            next(nblocks as u64) as u32,
                        ),
                        _ => br(
                            Op::Br,
                            0,
                            next(nblocks as u64) as u32,
                            next(nblocks as u64) as u32,
                        ),
                    };
                    instrs.push((end, Span::default()));
                    instrs
                })
                .collect();
            let helper = function(
                "helper",
                vec![vec![(Instr::new(Op::RetU, 0, 0, 0), Span::default())]],
            );
            let other = function(
                "other::closure@1:1",
                vec![vec![(Instr::new(Op::RetU, 0, 0, 0), Span::default())]],
            );
            let program = Program {
                functions: vec![function("random", blocks), helper, other],
                ..Program::default()
            };
            let graph = graph(&program, &ids_for(&program), 0, None).unwrap();
            assert_readable(&graph);
        }
    }

    #[test]
    fn escapes() {
        assert_eq!(xml("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
        assert_eq!(
            dot_record("Jmp -> b{1}|\"x\""),
            "Jmp -\\> b\\{1\\}\\|\\\"x\\\""
        );
        assert_eq!(
            place_row(&[0.0, 0.0], &[10.0, 10.0], &[0.0, 10.0]),
            vec![-10.0, 10.0]
        );
    }
}
