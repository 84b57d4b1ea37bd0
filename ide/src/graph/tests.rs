//! Tests of the block graph: its nodes and edges, the JSON shape, a readable layout, escaping.

use super::dot::dot_record;
use super::layout::{place_row, CHAR_W, MAX_INSTRS, PAD_X};
use super::svg::xml;
use super::*;
use chunkvm::chunk::ChunkId;
use chunkvm::compile::chunks::CodeIds;
use chunkvm::compile::ir::{pack_targets, Block, Function, Instr};
use chunkvm::compile::ir::{Op, Program};
use chunkvm::syntax::span::Span;
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

const DIAMOND: &str =
    "fn pick(c: bool) -> int {\n    var x = 0;\n    if c { x = 1; } else { x = 2; }\n    x\n}\n";

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
    insta::assert_json_snapshot!(serde_json::to_value(&graph).unwrap(), @r###"
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
