//! A [`Graph`] drawn as a standalone SVG document, from its [`Layout`](super::Layout).

use super::layout::{HEADER_H, LINE_H, MAX_INSTRS, PAD_X};
use super::{EdgeKind, Graph, NodeKind};
use std::fmt::Write;

/// Escapes text for XML.
pub(super) fn xml(text: &str) -> String {
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

impl Graph {
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
