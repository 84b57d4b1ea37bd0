//! A compiled function to its [`Graph`]: a node per block and per called function, an edge per transfer and call.

use super::{Edge, EdgeKind, Graph, Node, NodeKind, Pos, Range};
use chunkvm::compile::chunks::CodeIds;
use chunkvm::compile::disasm::instr_text;
use chunkvm::compile::ir::{unpack_targets, Op, Program};
use chunkvm::syntax::span::{LineIndex, Span};

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
