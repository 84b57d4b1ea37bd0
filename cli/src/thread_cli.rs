//! `chunkvm restore`: a thread that `chunkvm snapshot` paused and wrote, resumed here
//! or on a node.

use crate::node_cli::{Executed, Mode};
use crate::{out, Failure};
use chunkvm::chunk::NodeId;
use chunkvm::exec::{Value, Vm};
use chunkvm::photo::ImageFormat;
use std::path::Path;
use std::process::ExitCode;

/// `chunkvm restore THREAD [--output FILE]`: resumes the thread and runs it to its end;
/// a filter or pipeline's image is written to `output` (default `restored.png`), a
/// function's value other than unit is printed.
pub fn restore(
    path: &Path,
    output: Option<&Path>,
    stats: bool,
    jit: bool,
    mode: &Mode,
) -> Result<ExitCode, Failure> {
    // A wrong --output is refused before the run, not after it.
    let out_path = output.unwrap_or(Path::new("restored.png"));
    let format = ImageFormat::from_path(out_path, None)?;
    let bytes = std::fs::read(path).map_err(|err| {
        Failure(format!(
            "cannot read {}: {}",
            path.display(),
            crate::cli_io::io_reason(&err)
        ))
    })?;
    let mut vm = Vm::from_snapshot(&bytes, NodeId(1))
        .map_err(|err| Failure(format!("cannot restore {}: {err}", path.display())))?;
    if !vm.is_running() {
        return Err(Failure(format!(
            "{}: the thread has finished; there is nothing to resume",
            path.display()
        )));
    }
    vm.set_jit(jit && chunkvm::exec::jit_by_default());
    let before = vm.instructions();
    let outcome = match crate::node_cli::execute(&mut vm, mode)? {
        Executed::Finished(outcome) => outcome,
        Executed::Saved => return Ok(ExitCode::SUCCESS),
    };
    if stats {
        crate::errln!(
            "{} in all, {} after the restore",
            chunkvm::diag::plural(vm.instructions(), "instruction"),
            chunkvm::diag::plural(vm.instructions() - before, "instruction")
        );
    }
    match outcome {
        Ok(value @ Value::Image { .. }) => {
            let image = chunkvm::photo::finish(&vm, &value)?;
            image.save(out_path, format)?;
            out(&format!("{}\n", out_path.display()));
            Ok(ExitCode::SUCCESS)
        }
        Ok(Value::Unit) => Ok(ExitCode::SUCCESS),
        Ok(value) => {
            out(&format!("{value}\n"));
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            // The source is not in the snapshot: the error names the place by its span.
            crate::errln!("error: {}", err.message);
            for (function, span) in &err.trace {
                crate::errln!("  in {function} at bytes {}..{}", span.start, span.end);
            }
            Ok(ExitCode::FAILURE)
        }
    }
}
