//! `textDocument/formatting`: the formatter of `chunkvm fmt`. A file with
//! syntax errors is refused with an error response (never a broken file);
//! otherwise the old and the formatted text are compared line by line (a
//! Myers diff) and one edit goes out per run of changed lines, so the
//! response is as small as the change (none for a formatted file). When too
//! many lines differ for the diff to be cheap, one edit replaces the part
//! between the common prefix and suffix.

use crate::convert::Lines;
use crate::guard::failed;
use chop_ide::Doc;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::TextEdit;

/// The edits formatting the document (none when it is formatted already).
pub fn formatting(doc: &Doc, lines: &Lines<'_>) -> Result<Vec<TextEdit>> {
    let text: &str = &doc.text;
    // The document's tree is up to date with its text: no second parse.
    let formatted = chop_ide::fmt::format_tree(text, &doc.parsed.tree)
        .map_err(|err| failed(err.to_string()))?;
    Ok(line_edits(text, &formatted, lines))
}

/// Differences of more lines than this make one edit.
const MAX_DIFF: usize = 1000;

/// The edits turning `old` into `new`: one per run of changed lines, in
/// order, never overlapping (none when they are equal).
pub fn line_edits(old: &str, new: &str, lines: &Lines<'_>) -> Vec<TextEdit> {
    if old == new {
        return Vec::new();
    }
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let Some(hunks) = diff(&a, &b, MAX_DIFF) else {
        return minimal_edit(old, new, lines).into_iter().collect();
    };
    let mut starts = Vec::with_capacity(a.len() + 1);
    let mut at = 0;
    for line in &a {
        starts.push(at);
        at += line.len();
    }
    starts.push(at);
    hunks
        .into_iter()
        .map(|(a0, a1, b0, b1)| {
            let span = chunkvm::syntax::span::Span::new(starts[a0], starts[a1]);
            TextEdit::new(lines.range(span), b[b0..b1].concat())
        })
        .collect()
}

/// The runs of lines that differ between `a` and `b`, as `(a0, a1, b0, b1)`:
/// `a[a0..a1]` becomes `b[b0..b1]`; in order, separated by equal lines.
/// `None` when more than `max` lines are deleted or inserted.
fn diff(a: &[&str], b: &[&str], max: usize) -> Option<Vec<(usize, usize, usize, usize)>> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let max_d = (n + m).min(max as isize);
    let offset = max_d + 1;
    // v[k + offset]: the furthest x on diagonal k (x - y = k).
    let mut v = vec![0isize; 2 * offset as usize + 1];
    // Before each step d, v on the diagonals -d..=d.
    let mut trace: Vec<Vec<isize>> = Vec::new();
    let mut end = None;
    'search: for d in 0..=max_d {
        trace.push(v[(offset - d) as usize..=(offset + d) as usize].to_vec());
        let mut k = -d;
        while k <= d {
            let at = (k + offset) as usize;
            let mut x = if k == -d || (k != d && v[at - 1] < v[at + 1]) {
                v[at + 1]
            } else {
                v[at - 1] + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
            }
            v[at] = x;
            if x >= n && y >= m {
                end = Some(d);
                break 'search;
            }
            k += 2;
        }
    }
    let end = end?;
    // Back from (n, m): the equal pairs, last first.
    let mut equal = Vec::new();
    let (mut x, mut y) = (n, m);
    for d in (1..=end).rev() {
        let before = &trace[d as usize];
        let get = |k: isize| before[(k + d) as usize];
        let k = x - y;
        let prev_k = if k == -d || (k != d && get(k - 1) < get(k + 1)) {
            k + 1
        } else {
            k - 1
        };
        let prev_x = get(prev_k);
        let prev_y = prev_x - prev_k;
        // The snake after the step from (prev_x, prev_y).
        let (step_x, step_y) = if prev_k == k + 1 {
            (prev_x, prev_y + 1)
        } else {
            (prev_x + 1, prev_y)
        };
        while x > step_x && y > step_y {
            x -= 1;
            y -= 1;
            equal.push((x as usize, y as usize));
        }
        x = prev_x;
        y = prev_y;
    }
    while x > 0 && y > 0 {
        x -= 1;
        y -= 1;
        equal.push((x as usize, y as usize));
    }
    equal.reverse();
    let mut hunks = Vec::new();
    let (mut a0, mut b0) = (0, 0);
    for (i, j) in equal.into_iter().chain([(a.len(), b.len())]) {
        if i > a0 || j > b0 {
            hunks.push((a0, i, b0, j));
        }
        (a0, b0) = (i + 1, j + 1);
    }
    Some(hunks)
}

/// One edit turning `old` into `new`: the middle between their common prefix
/// and common suffix (on character boundaries).
pub fn minimal_edit(old: &str, new: &str, lines: &Lines<'_>) -> Option<TextEdit> {
    if old == new {
        return None;
    }
    let mut prefix = old
        .bytes()
        .zip(new.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    while !old.is_char_boundary(prefix) || !new.is_char_boundary(prefix) {
        prefix -= 1;
    }
    let max_suffix = old.len().min(new.len()) - prefix;
    let mut suffix = old
        .bytes()
        .rev()
        .zip(new.bytes().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    while !old.is_char_boundary(old.len() - suffix) || !new.is_char_boundary(new.len() - suffix) {
        suffix -= 1;
    }
    let span = chunkvm::syntax::span::Span::new(prefix, old.len() - suffix);
    Some(TextEdit::new(
        lines.range(span),
        new[prefix..new.len() - suffix].to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::Encoding;
    use chunkvm::syntax::span::LineIndex;

    fn apply(old: &str, edit: &TextEdit, enc: Encoding) -> String {
        apply_all(old, std::slice::from_ref(edit), enc)
    }

    /// Applies edits of `old` (non-overlapping, in order).
    fn apply_all(old: &str, edits: &[TextEdit], enc: Encoding) -> String {
        let index = LineIndex::new(old);
        let lines = Lines::new(old, &index, enc);
        let mut out = String::new();
        let mut at = 0;
        for edit in edits {
            let span = lines.span(edit.range).unwrap();
            assert!(span.start >= at, "edits overlap or are out of order");
            out.push_str(&old[at..span.start]);
            out.push_str(&edit.new_text);
            at = span.end;
        }
        out.push_str(&old[at..]);
        out
    }

    #[test]
    fn line_edits_touch_only_the_changed_lines() {
        let old = "a\nb\nc\nd\ne\nf\ng\n";
        let new = "a\nB\nc\nd\ne\nF\nf\ng";
        let index = LineIndex::new(old);
        let edits = line_edits(old, new, &Lines::new(old, &index, Encoding::Utf16));
        assert_eq!(edits.len(), 3, "{edits:?}");
        assert_eq!(edits[0].new_text, "B\n");
        assert_eq!(edits[1].new_text, "F\n");
        assert_eq!(apply_all(old, &edits, Encoding::Utf16), new);
        assert!(line_edits(old, old, &Lines::new(old, &index, Encoding::Utf8)).is_empty());
    }

    #[test]
    fn line_edits_turn_old_into_new() {
        let cases = [
            ("", "x\n"),
            ("x\n", ""),
            ("a\nb\n", "b\na\n"),
            ("é\n🎨\nx\n", "é\n🎩\nx\n\n"),
            ("1\n2\n3\n4\n", "0\n1\n3\n5\n4\n"),
            (
                "fn  f(x:int)->int{\nlet y=x*2;\n  y}\n",
                "fn f(x: int) -> int {\n    let y = x * 2;\n    y\n}\n",
            ),
        ];
        for (old, new) in cases {
            for enc in [Encoding::Utf8, Encoding::Utf16] {
                let index = LineIndex::new(old);
                let edits = line_edits(old, new, &Lines::new(old, &index, enc));
                assert_eq!(apply_all(old, &edits, enc), new, "{old:?} -> {new:?}");
            }
        }
        // More changed lines than the diff takes: one edit.
        let old: String = (0..1200).map(|i| format!("{i}\n")).collect();
        let new: String = (0..1200).map(|i| format!("{i} \n")).collect();
        let index = LineIndex::new(&old);
        let edits = line_edits(&old, &new, &Lines::new(&old, &index, Encoding::Utf8));
        assert_eq!(edits.len(), 1);
        assert_eq!(apply_all(&old, &edits, Encoding::Utf8), new);
    }

    #[test]
    fn minimal_edits_turn_old_into_new() {
        let cases = [
            ("abc", "abXc"),
            ("é🎨 x", "é🎨  x"),
            ("fn f(){}\n", "fn f() {}\n"),
            ("aaa", "aa"),
            ("", "x\n"),
            ("🎨", "🎩"),
        ];
        for (old, new) in cases {
            for enc in [Encoding::Utf8, Encoding::Utf16] {
                let index = LineIndex::new(old);
                let edit = minimal_edit(old, new, &Lines::new(old, &index, enc)).unwrap();
                assert_eq!(apply(old, &edit, enc), new, "{old:?} -> {new:?}");
            }
        }
        let index = LineIndex::new("x");
        assert!(minimal_edit("x", "x", &Lines::new("x", &index, Encoding::Utf8)).is_none());
    }
}
