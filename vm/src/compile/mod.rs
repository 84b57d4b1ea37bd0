//! The compiler: checked AST to basic blocks (`codegen`), blocks to chunks
//! and back (`chunks`), and the disassembler (`disasm`).

pub mod chunks;
pub mod codegen;
pub mod disasm;
pub mod ir;

pub use codegen::{compile, CompileError};
pub use ir::{Function, Instr, Op, Program};
