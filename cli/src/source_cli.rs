//! The commands that read source and print something of it: `check`, `dump`,
//! `graph` and `fmt`.

use crate::{analyze_file, build_or_report, out, read, Failure};
use chunkvm::chunk::Store;
use chunkvm::compile::chunks::store_program;
use chunkvm::compile::disasm::program_text;
use chunkvm::diag::{has_names, Diagnostic};
use chunkvm::driver::Analyzed;
use chunkvm::syntax::span::LineIndex;
use clap::ValueEnum;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum CheckFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum GraphFormat {
    Dot,
    Json,
    Svg,
}

pub(crate) fn check(files: &[PathBuf], format: CheckFormat) -> Result<ExitCode, Failure> {
    let mut failed = false;
    let mut reported = std::collections::HashSet::new();
    let mut json = Vec::new();
    for path in files {
        let text = match read(path) {
            Ok(text) => text,
            Err(Failure(message)) => {
                crate::errln!("error: {message}");
                failed = true;
                continue;
            }
        };
        let analyzed = analyze_file(path, &text);
        let files: Vec<(PathBuf, &str, Vec<Diagnostic>)> = if analyzed.modules.is_some() {
            analyzed
                .file_diagnostics()
                .into_iter()
                .map(|file| (file.path.to_path_buf(), file.text, file.diagnostics))
                .collect()
        } else {
            vec![(path.clone(), text.as_str(), analyzed.diagnostics())]
        };
        for (file, text, diags) in files {
            // A file's diagnostics are shown once, even when several files given use
            // it, or it is given too.
            if !reported.insert(file.clone()) {
                continue;
            }
            failed |= diags.iter().any(Diagnostic::is_error);
            let lines = LineIndex::new(text);
            let name = file.display().to_string();
            match format {
                CheckFormat::Text => {
                    for diag in &diags {
                        out(&diag.render(&name, text, &lines));
                    }
                }
                CheckFormat::Json => json.extend(
                    diags
                        .iter()
                        .map(|diag| diagnostic_json(diag, &name, text, &lines)),
                ),
            }
        }
    }
    if let CheckFormat::Json = format {
        out(&format!("{}\n", serde_json::to_string_pretty(&json)?));
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// A diagnostic as JSON: range (1-based lines and character columns, as shown to
/// people, and byte offsets), severity, message, code, help.
fn diagnostic_json(
    diag: &Diagnostic,
    path: &str,
    text: &str,
    lines: &LineIndex,
) -> serde_json::Value {
    let start = lines.line_col(text, diag.span.start);
    let end = lines.line_col(text, diag.span.end);
    serde_json::json!({
        "file": path,
        "range": {
            "start": { "line": start.line, "column": start.col, "offset": diag.span.start },
            "end": { "line": end.line, "column": end.col, "offset": diag.span.end },
        },
        "severity": diag.severity.as_str(),
        "code": diag.code.as_str(),
        "message": diag.message,
        "help": diag.help,
    })
}

fn function_index(
    path: &Path,
    program: &chunkvm::compile::Program,
    name: &str,
) -> Result<usize, Failure> {
    program
        .function(name)
        .map(|(idx, _)| idx as usize)
        .ok_or_else(|| {
            let names: Vec<&str> = program.functions.iter().map(|f| f.name.as_str()).collect();
            Failure(format!(
                "no function `{name}` in {}; {}",
                path.display(),
                has_names("it", &names, "functions")
            ))
        })
}

pub(crate) fn dump(path: &Path, function: Option<&str>) -> Result<ExitCode, Failure> {
    let text = read(path)?;
    let Some((analyzed, program)) = build_or_report(path, &text) else {
        return Ok(ExitCode::FAILURE);
    };
    let linked = LinkedText::of(&analyzed, &text);
    let only = function
        .map(|name| function_index(path, &program, name))
        .transpose()?;
    let mut store = Store::new(chunkvm::chunk::NodeId(1));
    let ids = store_program(&program, &mut store);
    let listing = program_text(&program, &ids, &store, only, Some(&linked.text));
    out(&linked.name_lines(&listing));
    Ok(ExitCode::SUCCESS)
}

/// The text a program's spans index: the file's own for a file alone; for a program of
/// several files, every file's text at its base (`\n` between them), so that its lines
/// are each file's lines one after the other.
struct LinkedText {
    text: String,
    /// Each file's name (as `dump` shows it), its base and the line of the text its
    /// first line is; the main file first.
    files: Vec<(String, usize, u32)>,
}

impl LinkedText {
    fn of(analyzed: &Analyzed, text: &str) -> LinkedText {
        let Some(modules) = &analyzed.modules else {
            return LinkedText {
                text: text.to_string(),
                files: vec![(String::new(), 0, 1)],
            };
        };
        let mut linked = String::new();
        let mut files = Vec::new();
        let mut line = 1;
        for unit in &modules.graph.files {
            while linked.len() < unit.base {
                linked.push('\n');
                line += 1;
            }
            let name = unit
                .path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.push((name, unit.base, line));
            linked.push_str(&unit.text);
            line += unit.text.matches('\n').count() as u32;
        }
        LinkedText {
            text: linked,
            files,
        }
    }

    /// The file (its index) a line of the text is in, and the line there.
    fn local(&self, line: u32) -> (usize, u32) {
        let file = self
            .files
            .iter()
            .rposition(|(_, _, first)| line >= *first)
            .unwrap_or(0);
        let first = self.files.get(file).map_or(1, |(_, _, first)| *first);
        (file, line.saturating_sub(first) + 1)
    }

    /// A listing's `; line N:` notes at each file's own line, a used file's named
    /// (`; tint.chop line 8:`).
    fn name_lines(&self, listing: &str) -> String {
        if self.files.len() < 2 {
            return listing.to_string();
        }
        let mut out = String::with_capacity(listing.len());
        for row in listing.split_inclusive('\n') {
            let noted = row.rfind("; line ").and_then(|at| {
                let rest = row.get(at + 7..)?;
                let digits = rest.find(':')?;
                let line: u32 = rest.get(..digits)?.parse().ok()?;
                let (file, local) = self.local(line);
                let name = match self.files.get(file) {
                    Some((name, _, _)) if file > 0 => format!("{name} "),
                    _ => String::new(),
                };
                Some(format!(
                    "{}; {name}line {local}{}",
                    row.get(..at)?,
                    rest.get(digits..)?
                ))
            });
            out.push_str(noted.as_deref().unwrap_or(row));
        }
        out
    }

    /// A graph's source ranges in each file's own lines and bytes.
    fn localize(&self, graph: &mut chop_ide::graph::Graph) {
        if self.files.len() < 2 {
            return;
        }
        for node in &mut graph.nodes {
            if let Some(range) = node.range.as_mut() {
                for pos in [&mut range.start, &mut range.end] {
                    let (file, line) = self.local(pos.line);
                    pos.line = line;
                    pos.offset -= self
                        .files
                        .get(file)
                        .map_or(0, |(_, base, _)| *base)
                        .min(pos.offset);
                }
            }
        }
    }
}

pub(crate) fn graph(path: &Path, function: &str, format: GraphFormat) -> Result<ExitCode, Failure> {
    let text = read(path)?;
    let Some((analyzed, program)) = build_or_report(path, &text) else {
        return Ok(ExitCode::FAILURE);
    };
    let linked = LinkedText::of(&analyzed, &text);
    let idx = function_index(path, &program, function)?;
    let mut store = Store::new(chunkvm::chunk::NodeId(1));
    let ids = store_program(&program, &mut store);
    let mut graph = chop_ide::graph::graph(&program, &ids, idx, Some(&linked.text))
        .ok_or_else(|| Failure(format!("no graph for `{function}`")))?;
    // Each range in its own file's lines (a used file's function's blocks in that file).
    linked.localize(&mut graph);
    match format {
        GraphFormat::Dot => out(&graph.to_dot()),
        // Through a `Value`: its objects list their keys in order (as the output always did).
        GraphFormat::Json => out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::to_value(&graph)?)?
        )),
        GraphFormat::Svg => out(&graph.to_svg()),
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn fmt(files: &[PathBuf], check_only: bool) -> Result<ExitCode, Failure> {
    let mut failed = false;
    for path in files {
        // A file that cannot be read or parsed is reported, and the others still get done.
        let result = read(path).and_then(|text| {
            let formatted = chop_ide::fmt::format(&text)
                .map_err(|err| Failure(format!("{}: {err}", path.display())))?;
            if formatted == text {
                Ok(true)
            } else if check_only {
                out(&format!("{} is not formatted\n", path.display()));
                Ok(false)
            } else {
                chunkvm::photo::write_atomic(path, formatted.as_bytes())?;
                out(&format!("formatted {}\n", path.display()));
                Ok(true)
            }
        });
        match result {
            Ok(fine) => failed |= !fine,
            Err(Failure(message)) => {
                crate::errln!("error: {message}");
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
