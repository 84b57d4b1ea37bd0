//! The compiler: checked AST to basic blocks (`codegen`), blocks to chunks
//! and back (`chunks`), the disassembler (`disasm`), the check that compiled code
//! writes a register before it reads it (`defined`), and the instructions that
//! recompute what their registers hold, which tile-wide execution skips (`redundant`).

pub mod chunks;
pub mod codegen;
pub mod copies;
pub mod defined;
pub mod disasm;
pub mod ir;
pub mod redundant;

pub use codegen::{compile, CompileError};
pub use ir::{Function, Instr, Op, Program};
