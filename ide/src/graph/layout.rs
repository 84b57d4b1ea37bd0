//! The layered drawing of a [`Graph`], as geometry: ranks by longest path from
//! the entry, placeholder points on long edges, barycentric ordering, lanes for
//! back edges, a column of function boxes.

use super::{block_header, EdgeKind, Graph, Node, NodeKind};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write;

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

pub(super) const CHAR_W: f64 = 7.2;
pub(super) const LINE_H: f64 = 16.0;
pub(super) const HEADER_H: f64 = 20.0;
pub(super) const PAD_X: f64 = 8.0;
const MIN_W: f64 = 56.0;
pub(super) const MAX_INSTRS: usize = 12;
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

/// Least-squares placement of a row: left edges as close to `desired` as the
/// order and the spacing allow (pool adjacent violators).
pub(super) fn place_row(desired: &[f64], widths: &[f64], gaps: &[f64]) -> Vec<f64> {
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

impl Graph {
    /// The text lines of a node's box: the header, then the instructions
    /// (at most `MAX_INSTRS`, then a `... N more` line).
    fn box_lines(&self, node: &Node, closure: bool) -> Vec<String> {
        match node.kind {
            NodeKind::Block => {
                let mut lines = vec![block_header(node)];
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
}
