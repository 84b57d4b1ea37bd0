//! Tests of lowering: error recovery (one diagnostic per mistake, the same for a
//! fresh and an incremental parse) and the shapes lowering gives.

use super::*;

fn errors(text: &str) -> Vec<(usize, String)> {
    crate::driver::analyze(text)
        .diagnostics()
        .iter()
        .map(|diag| (diag.span.start, diag.message.clone()))
        .collect()
}

#[test]
fn an_unterminated_string_is_one_error() {
    let text = "fn main() {\n    print(\"abc);\n}\n";
    assert_eq!(
        errors(text),
        vec![(22, "unterminated string literal".to_string())]
    );
}

#[test]
fn a_statement_broken_further_on_is_reported_where_it_breaks() {
    // Not at `let`: at the `;` where an operand was expected.
    let text = "fn main() {\n    let a = (1 + ;\n}\n";
    assert_eq!(
        errors(text),
        vec![(29, "unexpected `;`, expected an expression".to_string())]
    );
}

#[test]
fn two_mistakes_are_reported_as_each_alone() {
    let both = "fn main() {\n    let x = ;\n    print(x\n}\n";
    let first = "fn main() {\n    let x = ;\n           \n}\n";
    let second = "fn main() {\n             \n    print(x\n}\n";
    let mut alone = errors(first);
    alone.extend(
        errors(second)
            .into_iter()
            .filter(|(_, m)| m.starts_with("missing")),
    );
    assert_eq!(errors(both), alone);
    assert_eq!(alone.len(), 2);
}

#[test]
fn an_unclosed_body_is_one_error_at_its_brace_and_the_items_after_it_are_checked() {
    // `f` lost its `}`: one error at its `{`, and `g` and `main` are
    // lowered as items (a mistake in `g` is reported, `g()` resolves).
    let text = "fn f() {\n    let x = 1;\n    print(x);\n\nfn g() {\n    print(2 @);\n}\n\nfn main() {\n    g();\n}\n";
    assert_eq!(
        errors(text),
        vec![
            (7, "unclosed `{`".to_string()),
            (60, "unexpected `@`".to_string())
        ]
    );
    let names: Vec<String> = parse(text)
        .file
        .items
        .iter()
        .map(|item| item.name.name.clone())
        .collect();
    assert_eq!(names, ["f", "g", "main"]);
}

#[test]
fn a_name_declared_by_a_broken_statement_is_bound() {
    // `let b` is swallowed by the broken `let a`; `s` by an unterminated
    // string: their uses report nothing more.
    let text = "fn main() {\n    let a = (1 + ;\n    let b = a * 2;\n    print(b);\n}\n";
    assert_eq!(
        errors(text),
        vec![(29, "unexpected `;`, expected an expression".to_string())]
    );
    let text = "fn main() {\n    let s = \"abc;\n    print(1);\n    print(s);\n}\n";
    assert_eq!(
        errors(text),
        vec![(24, "unterminated string literal".to_string())]
    );
}

#[test]
fn new_parser_loads_the_grammar() {
    let mut parser = new_parser();
    assert!(parser.language().is_some());
    assert!(parser.parse("fn main() {}", None).is_some());
}
