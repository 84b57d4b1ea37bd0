//! A completion's insert in the protocol: LSP snippet syntax for clients that
//! take snippets (`$1`, `${2:default}`, `$0`), its plain text for the others.

use chop_ide::completion::{Insert, InsertPart};

/// The insert in LSP snippet syntax.
///
/// `\` and `$` are escaped everywhere (a `$` would start a place); `}` is
/// escaped inside a place's default, where it would end the place, and left
/// as it is in the text between places, where clients read it as text.
pub fn snippet(insert: &Insert) -> String {
    let mut out = String::new();
    for part in &insert.parts {
        match part {
            InsertPart::Text(text) => escape(&mut out, text, false),
            InsertPart::Placeholder { index, default } => place(&mut out, *index, default),
            InsertPart::FinalCursor { default } => place(&mut out, 0, default),
        }
    }
    out
}

/// The insert as plain text: places keep their default text.
pub fn plain(insert: &Insert) -> String {
    insert
        .parts
        .iter()
        .map(|part| match part {
            InsertPart::Text(text) => text.as_str(),
            InsertPart::Placeholder { default, .. } | InsertPart::FinalCursor { default } => {
                default.as_str()
            }
        })
        .collect()
}

/// `$index`, or `${index:default}` when it holds text.
fn place(out: &mut String, index: u32, default: &str) {
    if default.is_empty() {
        out.push_str(&format!("${index}"));
    } else {
        out.push_str(&format!("${{{index}:"));
        escape(out, default, true);
        out.push('}');
    }
}

fn escape(out: &mut String, text: &str, in_place: bool) {
    for ch in text.chars() {
        if matches!(ch, '\\' | '$') || (in_place && ch == '}') {
            out.push('\\');
        }
        out.push(ch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(text: &str) -> InsertPart {
        InsertPart::Text(text.to_string())
    }

    fn place(index: u32, default: &str) -> InsertPart {
        InsertPart::Placeholder {
            index,
            default: default.to_string(),
        }
    }

    fn cursor(default: &str) -> InsertPart {
        InsertPart::FinalCursor {
            default: default.to_string(),
        }
    }

    #[test]
    fn places_and_the_final_cursor() {
        let insert = Insert {
            parts: vec![
                text("for "),
                place(1, "i"),
                text(" in "),
                place(2, ""),
                text(" {\n\t"),
                cursor(""),
                text("\n}"),
            ],
        };
        assert_eq!(snippet(&insert), "for ${1:i} in $2 {\n\t$0\n}");
        assert_eq!(plain(&insert), "for i in  {\n\t\n}");
        let selected = Insert {
            parts: vec![text("f("), cursor("x, y"), text(")")],
        };
        assert_eq!(snippet(&selected), "f(${0:x, y})");
        assert_eq!(plain(&selected), "f(x, y)");
    }

    #[test]
    fn escapes_what_the_syntax_would_read() {
        let insert = Insert {
            parts: vec![text("a$1 \\ ${b} "), place(1, "c}$d\\"), text(" }")],
        };
        assert_eq!(snippet(&insert), "a\\$1 \\\\ \\${b} ${1:c\\}\\$d\\\\} }");
        // The plain text is the text: no escapes.
        assert_eq!(plain(&insert), "a$1 \\ ${b} c}$d\\ }");
    }

    #[test]
    fn text_alone() {
        let insert = Insert::text("name: ");
        assert_eq!(snippet(&insert), "name: ");
        assert_eq!(plain(&insert), "name: ");
    }
}
