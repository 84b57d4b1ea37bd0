//! The chunk graph of real programs, end to end: source to blocks to SVG.

#![allow(clippy::unwrap_used)]

use chop_ide::graph::{graph, EdgeKind, NodeKind};
use chunkvm::chunk::{NodeId, Store};
use chunkvm::compile::chunks::store_program;

const SOURCE: &str = r#"fn square(v: int) -> int {
    v * v
}

fn main() {
    var total = 0;
    let gain = 2;
    let scale = fn(v: int) -> int { v * gain };
    for i in 0..10 {
        if i % 2 == 0 {
            total += square(i);
        } else {
            total -= scale(i);
        }
    }
    var n = 5;
    while n > 0 {
        n -= 1;
    }
    print("total", total, n);
}
"#;

#[test]
fn main_graph_renders() {
    let (_, program) = match chunkvm::driver::build(SOURCE) {
        Ok(built) => built,
        Err(diags) => panic!("{diags:?}"),
    };
    let ids = store_program(&program, &mut Store::new(NodeId(1)));
    let (main, _) = program.function("main").unwrap();
    let graph = graph(&program, &ids, main as usize, Some(SOURCE)).unwrap();
    assert_eq!(graph.function, "main");
    assert!(graph.edges.iter().any(|edge| edge.kind == EdgeKind::Loop));
    assert!(graph.edges.iter().any(|edge| edge.kind == EdgeKind::Call));
    assert!(graph
        .edges
        .iter()
        .any(|edge| edge.kind == EdgeKind::Closure));
    assert!(graph.edges.iter().any(|edge| edge.kind == EdgeKind::Else));
    for node in &graph.nodes {
        match node.kind {
            NodeKind::Block => {
                let block = node.block.unwrap() as usize;
                assert_eq!(node.id, ids.blocks[main as usize][block].to_string());
            }
            NodeKind::Function => {
                let (fidx, _) = program.function(&node.label).unwrap();
                assert_eq!(node.id, ids.functions[fidx as usize].to_string());
            }
        }
    }
    let layout = graph.layout();
    for (idx, a) in layout.boxes.iter().enumerate() {
        for b in &layout.boxes[idx + 1..] {
            assert!(!a.overlaps(b), "{a:?} overlaps {b:?}");
        }
    }
    let svg = graph.to_svg();
    assert!(svg.starts_with("<svg "));
    assert!(svg.contains("data-line=\"6\""));
    if let Some(dir) = std::env::var_os("CHUNKVM_GRAPH_OUT") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::write(dir.join("graph.svg"), &svg).unwrap();
        std::fs::write(dir.join("graph.dot"), graph.to_dot()).unwrap();
        std::fs::write(
            dir.join("graph.json"),
            serde_json::to_string_pretty(&serde_json::to_value(&graph).unwrap()).unwrap(),
        )
        .unwrap();
    }
}
