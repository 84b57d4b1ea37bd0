//! `textDocument/codeLens`: "Preview", "Show chunk graph" and "Debug" above
//! each filter ("Preview" above pipelines, "Show chunk graph" above
//! functions). The commands are the client's (`chop.preview`,
//! `chop.showChunkGraph`, `chop.debug`); their one argument is an object with
//! the document's `uri` and the item (`filter`, `pipeline` or `function`).

use crate::convert::{self, Lines};
use chop_ide::{hints, Doc};
use serde_json::Value;
use tower_lsp_server::ls_types::{CodeLens, Command, Uri};

/// The lenses of `doc`.
pub fn code_lenses(doc: &Doc, lines: &Lines<'_>, uri: &Uri) -> Vec<CodeLens> {
    hints::code_lenses(doc)
        .into_iter()
        .map(|lens| {
            let (command, mut argument) = convert::lens_command(&lens.action);
            argument.insert("uri".into(), Value::String(uri.as_str().to_string()));
            CodeLens {
                range: lines.range(lens.span),
                command: Some(Command {
                    title: lens.title,
                    command: command.to_string(),
                    arguments: Some(vec![Value::Object(argument)]),
                }),
                data: None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenses() {
        let doc = Doc::new(
            "param p: float = 1.0;\n/// Doc.\nfilter f(c: color) -> color { c }\nfn g() {}\npipeline q = f |> f;\n",
        );
        let lenses: Vec<String> = hints::code_lenses(&doc)
            .iter()
            .map(|lens| {
                let (command, arguments) = convert::lens_command(&lens.action);
                format!(
                    "{:?} {} {} {}",
                    doc.slice(lens.span),
                    lens.title,
                    command,
                    Value::Object(arguments)
                )
            })
            .collect();
        insta::assert_snapshot!(lenses.join("\n"), @r#"
        "filter f" Preview chop.preview {"filter":"f"}
        "filter f" Show chunk graph chop.showChunkGraph {"function":"f"}
        "filter f" Debug chop.debug {"filter":"f"}
        "fn g" Show chunk graph chop.showChunkGraph {"function":"g"}
        "pipeline q" Preview chop.preview {"pipeline":"q"}
        "#);
    }
}
