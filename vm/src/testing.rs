//! Support for tests, shared by the core's unit tests and its integration
//! tests (`vm/tests`): the one reader of the `// expect...` comments of the
//! language-test files in `vm/tests/lang`. Not part of the API.

/// What a test file expects.
#[derive(Debug, Default)]
pub struct Expect {
    /// Printed lines, in order.
    pub output: Vec<String>,
    /// (line, code, text) of each expected diagnostic.
    pub diagnostics: Vec<(u32, String, String)>,
    /// (line, text) of the expected runtime error.
    pub runtime_error: Option<(u32, String)>,
    /// `// limit-instructions: N`
    pub instructions: Option<u64>,
    /// `// limit-chunks: N`
    pub chunks: Option<usize>,
}

/// Reads the `// expect...` comments of a test file: `expect: OUTPUT`,
/// `expect-error: CODE TEXT`, `expect-warning: CODE TEXT`,
/// `expect-error@LINE: CODE TEXT` (for a line the mistake swallows),
/// `expect-runtime-error: TEXT`, and the `// limit-instructions: N` and
/// `// limit-chunks: N` lines. A malformed comment is an error that names
/// its line.
pub fn expectations(text: &str) -> Result<Expect, String> {
    let mut expect = Expect::default();
    for (idx, line) in text.lines().enumerate() {
        let line_no = idx as u32 + 1;
        if let Some(n) = line.strip_prefix("// limit-instructions: ") {
            let n = n.trim().parse().map_err(|_| {
                format!(
                    "line {line_no}: limit-instructions: a number, not `{}`",
                    n.trim()
                )
            })?;
            expect.instructions = Some(n);
            continue;
        }
        if let Some(n) = line.strip_prefix("// limit-chunks: ") {
            let n = n.trim().parse().map_err(|_| {
                format!("line {line_no}: limit-chunks: a number, not `{}`", n.trim())
            })?;
            expect.chunks = Some(n);
            continue;
        }
        let Some(pos) = line.find("// expect") else {
            continue;
        };
        let rest = &line[pos + 3..];
        if let Some((at, diag)) = placed(rest, line_no)? {
            let (code, text) = diag.split_once(' ').unwrap_or((diag, ""));
            expect
                .diagnostics
                .push((at, code.trim().to_string(), text.trim().to_string()));
        } else if let Some(out) = rest.strip_prefix("expect: ") {
            expect.output.push(out.to_string());
        } else if rest == "expect:" {
            expect.output.push(String::new());
        } else if let Some(diag) = rest
            .strip_prefix("expect-error: ")
            .or_else(|| rest.strip_prefix("expect-warning: "))
        {
            let (code, text) = diag.split_once(' ').unwrap_or((diag, ""));
            expect
                .diagnostics
                .push((line_no, code.trim().to_string(), text.trim().to_string()));
        } else if let Some(text) = rest.strip_prefix("expect-runtime-error: ") {
            expect.runtime_error = Some((line_no, text.trim().to_string()));
        } else {
            return Err(format!("line {line_no}: unknown expectation `{rest}`"));
        }
    }
    Ok(expect)
}

/// `expect-error@LINE: CODE [TEXT]` (or `expect-warning@`): a diagnostic
/// expected on another line than the comment's, for a line whose text the
/// mistake swallows (an unterminated string would take a comment on its own
/// line into the string). Written in a header block at the top of the file.
fn placed(rest: &str, line_no: u32) -> Result<Option<(u32, &str)>, String> {
    let Some(after) = rest
        .strip_prefix("expect-error@")
        .or_else(|| rest.strip_prefix("expect-warning@"))
    else {
        return Ok(None);
    };
    let Some((line, diag)) = after.split_once(": ") else {
        return Ok(None);
    };
    let line = line
        .parse()
        .map_err(|_| format!("line {line_no}: `{rest}`: expect-error@LINE needs a line number"))?;
    Ok(Some((line, diag)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_expectation_is_read_and_a_malformed_one_is_an_error_with_its_line() {
        let text = "// expect-error@3: E0001 unterminated string\n\
                    // limit-instructions: 500\n\
                    // limit-chunks: 9\n\
                    fn main() { print(1); } // expect: 1\n\
                    // expect:\n\
                    let x = y; // expect-error: E0003 unknown name `y`\n\
                    let z = 1; // expect-warning: W0001 unused\n\
                    f(); // expect-runtime-error: division by zero\n";
        let expect = expectations(text).expect("well-formed");
        assert_eq!(expect.output, ["1", ""]);
        assert_eq!(
            expect.diagnostics,
            [
                (3, "E0001".into(), "unterminated string".into()),
                (6, "E0003".into(), "unknown name `y`".into()),
                (7, "W0001".into(), "unused".into()),
            ]
        );
        assert_eq!(expect.runtime_error, Some((8, "division by zero".into())));
        assert_eq!((expect.instructions, expect.chunks), (Some(500), Some(9)));

        let err = |text: &str| expectations(text).expect_err("malformed");
        assert_eq!(
            err("\n// expect-eror: E0001\n"),
            "line 2: unknown expectation `expect-eror: E0001`"
        );
        assert_eq!(
            err("// expect-error@x: E0001\n"),
            "line 1: `expect-error@x: E0001`: expect-error@LINE needs a line number"
        );
        assert_eq!(
            err("\n\n// limit-chunks: many\n"),
            "line 3: limit-chunks: a number, not `many`"
        );
    }
}
