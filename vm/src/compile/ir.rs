//! The instruction set of the chunk VM and the compiled form of a program.
//!
//! A function's code is a list of basic blocks; each block is a list of
//! [`Instr`]. Registers come in two files per frame: scalar registers
//! (`s`: ints, floats, bools, and colours in two consecutive registers of
//! two `f32` each) and reference registers (`r`: links to chunks: arrays,
//! images, closures, strings). Keeping links apart from scalars is what
//! lets a frame become a chunk with every slot plainly a link or a scalar.
//!
//! Every opcode has one fixed operand shape ([`Op::shape`]), which the
//! encoder, the decoder's verifier and the disassembler all read.

use crate::builtins::BuiltinOp;
use crate::syntax::span::Span;
use crate::types::Type;

/// One instruction: an opcode, three 16-bit operands and a 64-bit immediate.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Instr {
    /// What to do.
    pub op: Op,
    /// First operand (usually the destination).
    pub a: u16,
    /// Second operand.
    pub b: u16,
    /// Third operand.
    pub c: u16,
    /// Immediate: a constant's bits, a jump target, a function index...
    pub k: u64,
}

impl Instr {
    /// An instruction without immediate.
    pub fn new(op: Op, a: u16, b: u16, c: u16) -> Instr {
        Instr { op, a, b, c, k: 0 }
    }

    /// An instruction with an immediate.
    pub fn with_k(op: Op, a: u16, b: u16, c: u16, k: u64) -> Instr {
        Instr { op, a, b, c, k }
    }
}

/// What an operand of an instruction is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Operand {
    /// Not used.
    None,
    /// A scalar register.
    S,
    /// Two consecutive scalar registers (a colour).
    S2,
    /// A reference register.
    R,
    /// A small number.
    N,
}

/// What the immediate of an instruction is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Imm {
    /// Not used.
    None,
    /// Raw 64 bits of a constant.
    Bits,
    /// A signed integer.
    Int,
    /// A block of the same function (an index into its blocks; a code offset once loaded).
    Block,
    /// Two blocks, `then` in the low 32 bits and `else` in the high 32 bits.
    Block2,
    /// A function of the program.
    Func,
    /// A string of the program.
    Str,
    /// A type of the program's type table.
    Type,
    /// A global (`param`) slot.
    Global,
    /// A builtin operation.
    Builtin,
    /// An array shape: length, element width and link flag packed.
    Shape,
    /// Four scalar registers, 16 bits each.
    Regs4,
}

macro_rules! ops {
    ($($name:ident ($a:ident $b:ident $c:ident $k:ident) $text:literal;)*) => {
        /// Opcodes. The comment of each says what it does.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        #[repr(u8)]
        pub enum Op {
            $(#[doc = $text] $name,)*
        }

        impl Op {
            /// Every opcode, by number.
            pub const ALL: &'static [Op] = &[$(Op::$name,)*];

            /// The opcode's mnemonic.
            pub fn name(self) -> &'static str {
                match self { $(Op::$name => stringify!($name),)* }
            }

            /// The operand shape: `a`, `b`, `c`, and the immediate.
            pub fn shape(self) -> (Operand, Operand, Operand, Imm) {
                match self { $(Op::$name => (Operand::$a, Operand::$b, Operand::$c, Imm::$k),)* }
            }

            /// What the instruction does.
            pub fn doc(self) -> &'static str {
                match self { $(Op::$name => $text,)* }
            }
        }
    };
}

ops! {
    Nop (None None None None) "do nothing";
    Const (S None None Bits) "s[a] := k";
    Const2 (S2 None None Bits) "s[a..a+2] := the colour k (8-bit channels)";
    Mov (S S None None) "s[a] := s[b]";
    Mov2 (S2 S2 None None) "s[a..a+2] := s[b..b+2]";
    MovR (R R None None) "r[a] := r[b]";
    AddI (S S S None) "s[a] := s[b] + s[c] (int, wrapping)";
    SubI (S S S None) "s[a] := s[b] - s[c] (int, wrapping)";
    MulI (S S S None) "s[a] := s[b] * s[c] (int, wrapping)";
    DivI (S S S None) "s[a] := s[b] / s[c] (int; error when s[c] = 0)";
    RemI (S S S None) "s[a] := s[b] % s[c] (int; error when s[c] = 0)";
    NegI (S S None None) "s[a] := -s[b] (int)";
    AddIK (S S None Int) "s[a] := s[b] + k (int)";
    MulIK (S S None Int) "s[a] := s[b] * k (int, wrapping)";
    DivIK (S S None Int) "s[a] := s[b] / k (int; k is never 0)";
    RemIK (S S None Int) "s[a] := s[b] % k (int; k is never 0)";
    AddFK (S S None Bits) "s[a] := s[b] + k (float)";
    SubFK (S S None Bits) "s[a] := s[b] - k (float)";
    RSubFK (S S None Bits) "s[a] := k - s[b] (float)";
    MulFK (S S None Bits) "s[a] := s[b] * k (float)";
    DivFK (S S None Bits) "s[a] := s[b] / k (float)";
    MulCFK (S2 S2 None Bits) "colour s[a] := colour s[b] * k (float)";
    DivCFK (S2 S2 None Bits) "colour s[a] := colour s[b] / k (float)";
    AddF (S S S None) "s[a] := s[b] + s[c] (float)";
    SubF (S S S None) "s[a] := s[b] - s[c] (float)";
    MulF (S S S None) "s[a] := s[b] * s[c] (float)";
    DivF (S S S None) "s[a] := s[b] / s[c] (float)";
    RemF (S S S None) "s[a] := s[b] % s[c] (float)";
    NegF (S S None None) "s[a] := -s[b] (float)";
    AddC (S2 S2 S2 None) "colour s[a] := s[b] + s[c], per channel";
    SubC (S2 S2 S2 None) "colour s[a] := s[b] - s[c], per channel";
    MulC (S2 S2 S2 None) "colour s[a] := s[b] * s[c], per channel";
    MulCF (S2 S2 S None) "colour s[a] := colour s[b] * float s[c]";
    DivCF (S2 S2 S None) "colour s[a] := colour s[b] / float s[c]";
    NegC (S2 S2 None None) "colour s[a] := -s[b], per channel";
    EqI (S S S None) "s[a] := s[b] == s[c] (int or bool)";
    NeI (S S S None) "s[a] := s[b] != s[c] (int or bool)";
    LtI (S S S None) "s[a] := s[b] < s[c] (int)";
    LeI (S S S None) "s[a] := s[b] <= s[c] (int)";
    EqF (S S S None) "s[a] := s[b] == s[c] (float)";
    NeF (S S S None) "s[a] := s[b] != s[c] (float)";
    LtF (S S S None) "s[a] := s[b] < s[c] (float)";
    LeF (S S S None) "s[a] := s[b] <= s[c] (float)";
    EqC (S S2 S2 None) "s[a] := colour s[b] == colour s[c]";
    NeC (S S2 S2 None) "s[a] := colour s[b] != colour s[c]";
    Not (S S None None) "s[a] := !s[b]";
    Jmp (None None None Block) "go to block k";
    Br (S None None Block2) "if s[a] go to block k.then else to block k.else";
    BrLtI (S S None Block2) "if s[a] < s[b] (int) go to block k.then else to block k.else";
    BrLtF (S S None Block2) "if s[a] < s[b] (float) go to block k.then else to block k.else";
    BrLtIK (S None N Block2) "if s[a] < c (int; c a signed 16-bit constant) go to block k.then else to block k.else";
    ForStep (S S None Block2) "s[a] += 1; if s[a] < s[b] go to block k.then else to k.else (a for loop's back edge)";
    ForStepK (S None N Block2) "s[a] += 1; if s[a] < c (a signed 16-bit constant) go to block k.then else to k.else";
    Call (N N None Func) "call function k with its registers from s[a] and r[b]";
    CallV (N N R None) "call the closure r[c] with its registers from s[a] and r[b]";
    Ret (S None None None) "return s[a]";
    Ret2 (S2 None None None) "return the colour s[a..a+2]";
    RetR (R None None None) "return r[a]";
    RetU (None None None None) "return nothing";
    Glob (S None None Global) "s[a] := global k";
    Glob2 (S2 None None Global) "s[a..a+2] := the colour global k";
    Str (R None None Str) "r[a] := the string k";
    Rgb (S2 S None None) "colour s[a] := rgb(s[b], s[b+1], s[b+2])";
    Rgba (S2 S None None) "colour s[a] := rgba(s[b], s[b+1], s[b+2], s[b+3])";
    Chan (S S2 N None) "s[a] := channel c (0 r, 1 g, 2 b, 3 a) of colour s[b]";
    At (S2 R S None) "colour s[a] := r[b].at(s[c], s[c+1]), clamped to the edges";
    AtOff (S2 R None Regs4) "colour s[a] := r[b].at(s[k0] + s[k1], s[k2] + s[k3]): the pixel read of a kernel";
    AtOffAcc (S2 R None Regs4) "colour s[a] += r[b].at(s[k0] + s[k1], s[k2] + s[k3]): a kernel's sum";
    ImgW (S R None None) "s[a] := r[b].width";
    ImgH (S R None None) "s[a] := r[b].height";
    Math (S S None Builtin) "s[a..] := builtin k applied to s[b..] (pure arithmetic builtins)";
    Print (S None None Type) "print s[a..] of type k";
    PrintR (R None None Type) "print r[a] of type k";
    PrintEnd (None None None None) "end the printed line";
    NewArr (R None None Shape) "r[a] := a new zero-filled array of shape k";
    ArrGet (S R S None) "s[a] := r[b][s[c]]";
    ArrGet2 (S2 R S None) "colour s[a] := r[b][s[c]]";
    ArrGetR (R R S None) "r[a] := r[b][s[c]]";
    ArrSet (R S S None) "r[a][s[b]] := s[c]";
    ArrSet2 (R S S2 None) "r[a][s[b]] := colour s[c]";
    ArrSetR (R S R None) "r[a][s[b]] := r[c]";
    ArrLen (S R None None) "s[a] := len(r[b])";
    ArrCopy (R R None None) "r[a] := a copy of the array r[b]";
    EnvGet (S N N None) "s[a] := slot c of the environment b levels up";
    EnvGet2 (S2 N N None) "colour s[a] := slots c, c+1 of the environment b levels up";
    EnvGetR (R N N None) "r[a] := slot c of the environment b levels up";
    EnvSet (N N S None) "slot b of the environment a levels up := s[c]";
    EnvSet2 (N N S2 None) "slots b, b+1 of the environment a levels up := colour s[c]";
    EnvSetR (N N R None) "slot b of the environment a levels up := r[c]";
    MkClo (R None None Func) "r[a] := a closure of function k over the current environment";
    Blank (R S None None) "r[a] := an image of width s[b], height s[b+1], filled with colour s[b+2..b+4]";
    ImgNew (R S None None) "r[a] := a new image of width s[b], height s[b+1] (for render)";
    ImgSet (R S S2 None) "pixel (s[b], s[b+1]) of the new image r[a] := colour s[c]";
    AtOffMulAcc (S2 R S Regs4) "colour s[a] += r[b].at(s[k0] + s[k1], s[k2] + s[k3]) * s[c]: a weighted kernel's sum (the product rounded, then the sum: as MulCF then AddC)";
}

impl Op {
    /// The opcode numbered `code`.
    pub fn from_u8(code: u8) -> Option<Op> {
        Op::ALL.get(code as usize).copied()
    }

    /// Whether the instruction ends a basic block. Every block ends with one:
    /// no block falls through into another.
    pub fn ends_block(self) -> bool {
        matches!(
            self,
            Op::Jmp
                | Op::Br
                | Op::BrLtI
                | Op::BrLtF
                | Op::BrLtIK
                | Op::ForStep
                | Op::ForStepK
                | Op::Ret
                | Op::Ret2
                | Op::RetR
                | Op::RetU
        )
    }

    /// Whether operand `a` is where the instruction writes its result (and nothing else
    /// reads `a`), so the compiler may point it at another register.
    pub fn writes_a(self) -> bool {
        let (a, _, _, _) = self.shape();
        matches!(a, Operand::S | Operand::S2 | Operand::R)
            && !matches!(
                self,
                Op::Br
                    | Op::BrLtI
                    | Op::BrLtF
                    | Op::BrLtIK
                    | Op::ForStep
                    | Op::ForStepK
                    | Op::Ret
                    | Op::Ret2
                    | Op::RetR
                    | Op::Print
                    | Op::PrintR
                    | Op::ArrSet
                    | Op::ArrSet2
                    | Op::ArrSetR
                    | Op::ImgSet
                    | Op::AtOffAcc
                    | Op::AtOffMulAcc
            )
    }

    /// Whether the instruction computes its result from its register operands and its
    /// constant alone, with no effect but writing its result registers: run again on
    /// the same operands, it writes the same values.
    pub fn pure(self) -> bool {
        use Op::*;
        matches!(
            self,
            Const
                | Const2
                // A param's value: no instruction writes one (the host sets them before a
                // run or between a job's stages).
                | Glob
                | Glob2
                | Mov
                | Mov2
                | NegI
                | AddIK
                | MulIK
                | DivIK
                | RemIK
                | AddFK
                | SubFK
                | RSubFK
                | MulFK
                | DivFK
                | MulCFK
                | DivCFK
                | NegC
                | AddI
                | SubI
                | MulI
                | DivI
                | RemI
                | AddF
                | SubF
                | MulF
                | DivF
                | RemF
                | NegF
                | AddC
                | SubC
                | MulC
                | MulCF
                | DivCF
                | EqI
                | NeI
                | LtI
                | LeI
                | EqF
                | NeF
                | LtF
                | LeF
                | EqC
                | NeC
                | Not
                | Rgb
                | Rgba
                | Chan
                | Math
        )
    }

    /// Whether the instruction returns from its function.
    pub fn returns(self) -> bool {
        matches!(self, Op::Ret | Op::Ret2 | Op::RetR | Op::RetU)
    }
}

/// Packs the two targets of a two-way branch.
pub fn pack_targets(then: u32, otherwise: u32) -> u64 {
    then as u64 | (otherwise as u64) << 32
}

/// The two targets of a two-way branch: `then`, `else`.
pub fn unpack_targets(k: u64) -> (u32, u32) {
    (k as u32, (k >> 32) as u32)
}

/// Where a local variable lives.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Loc {
    /// Scalar register(s) from this index.
    S(u16),
    /// Reference register.
    R(u16),
    /// Slot of the function's own environment.
    Env(u16),
}

/// A local variable, for the debugger.
#[derive(Clone, PartialEq, Debug)]
pub struct LocalInfo {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// Where it lives.
    pub loc: Loc,
    /// Whether it is a parameter.
    pub is_param: bool,
    /// The source range where it is in scope: from the end of its declaration
    /// (`scope.start`) to the end of its block (`scope.end`).
    pub scope: Span,
}

/// One basic block.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct Block {
    /// The instructions.
    pub instrs: Vec<Instr>,
    /// The source span of each instruction.
    pub spans: Vec<Span>,
}

/// A compiled function, filter or closure.
#[derive(Clone, PartialEq, Debug)]
pub struct Function {
    /// Its name; closures are named after their place: `main::closure@3:12`.
    pub name: String,
    /// The parameter names and types.
    pub params: Vec<(String, Type)>,
    /// The return type.
    pub ret: Type,
    /// Number of scalar registers.
    pub nregs: u16,
    /// Number of reference registers.
    pub nrefs: u16,
    /// Number of environment slots this function creates at entry (0: none).
    pub env_slots: u16,
    /// Which environment slots hold links.
    pub env_links: Vec<bool>,
    /// Whether this is a closure (called with its captured environment).
    pub is_closure: bool,
    /// The basic blocks; block 0 is the entry.
    pub blocks: Vec<Block>,
    /// Local variables, for the debugger.
    pub locals: Vec<LocalInfo>,
    /// The whole definition in the source.
    pub span: Span,
}

impl Function {
    /// Functions this one may call or make closures of, in first-use order.
    pub fn callees(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for block in &self.blocks {
            for instr in &block.instrs {
                if matches!(instr.op, Op::Call | Op::MkClo) && !out.contains(&(instr.k as u32)) {
                    out.push(instr.k as u32);
                }
            }
        }
        out
    }

    /// The blocks that block `idx` may continue to, each once, in order.
    pub fn successors(&self, idx: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let Some(block) = self.blocks.get(idx) else {
            return out;
        };
        for instr in &block.instrs {
            let targets = match instr.op.shape().3 {
                Imm::Block => vec![instr.k as u32],
                Imm::Block2 => {
                    let (then, otherwise) = unpack_targets(instr.k);
                    vec![then, otherwise]
                }
                _ => continue,
            };
            for target in targets {
                if !out.contains(&target) {
                    out.push(target);
                }
            }
        }
        out
    }
}

/// The kinds of edge in a chunk graph.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EdgeKind {
    /// A jump to another block.
    Branch,
    /// A call of a function.
    Call,
    /// Making a closure of a function.
    Closure,
}

/// A global: a `param` with its current value.
#[derive(Clone, PartialEq, Debug)]
pub struct Global {
    /// The param's name.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// Its first slot in the globals.
    pub slot: u16,
}

/// A compiled program.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct Program {
    /// The functions: items first, in source order, then closures.
    pub functions: Vec<Function>,
    /// The string literals.
    pub strings: Vec<String>,
    /// The types that `Print` instructions refer to.
    pub types: Vec<Type>,
    /// The params.
    pub globals: Vec<Global>,
    /// The default values of the globals' slots.
    pub global_defaults: Vec<u64>,
    /// The source files the spans are in, by base (a program of one file may leave
    /// this empty: its spans are then its one file's own). Code chunks store spans
    /// relative to their function's file, so that a function used by two programs
    /// is the same chunks in both.
    pub files: Vec<CodeFile>,
}

/// One source file of a program, as the program's spans see it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CodeFile {
    /// Its name in the program: a used file's namespace (`grayscale`), empty for the
    /// main file. Unique within a program.
    pub name: String,
    /// Where its spans start in the program.
    pub base: usize,
    /// Its length in bytes.
    pub len: usize,
}

impl Program {
    /// The function called `name`.
    pub fn function(&self, name: &str) -> Option<(u32, &Function)> {
        self.functions
            .iter()
            .enumerate()
            .find(|(_, func)| func.name == name)
            .map(|(idx, func)| (idx as u32, func))
    }

    /// The names of the functions a user can call by name (closures have none of
    /// their own), in order.
    pub fn function_names(&self) -> Vec<&str> {
        self.functions
            .iter()
            .filter(|func| !func.is_closure)
            .map(|func| func.name.as_str())
            .collect()
    }
}

/// Packs an array shape for [`Op::NewArr`].
pub fn pack_shape(len: u32, width: u8, is_link: bool) -> u64 {
    len as u64 | (width as u64) << 32 | (is_link as u64) << 40
}

/// Unpacks an array shape: length, element width, link flag.
pub fn unpack_shape(k: u64) -> (u32, u8, bool) {
    (k as u32, (k >> 32) as u8, (k >> 40) & 1 == 1)
}

/// The index of a builtin operation, for [`Op::Math`].
pub fn builtin_code(op: BuiltinOp) -> u64 {
    MATH_OPS.iter().position(|it| *it == op).unwrap_or(0) as u64
}

/// The builtin operation of a [`Op::Math`] immediate.
pub fn builtin_of_code(code: u64) -> Option<BuiltinOp> {
    MATH_OPS.get(code as usize).copied()
}

/// The builtins that [`Op::Math`] computes, by immediate.
pub const MATH_OPS: &[BuiltinOp] = &[
    BuiltinOp::Gray,
    BuiltinOp::MixColor,
    BuiltinOp::MixFloat,
    BuiltinOp::ClampFloat,
    BuiltinOp::ClampInt,
    BuiltinOp::ClampColor,
    BuiltinOp::MinFloat,
    BuiltinOp::MinInt,
    BuiltinOp::MaxFloat,
    BuiltinOp::MaxInt,
    BuiltinOp::AbsFloat,
    BuiltinOp::AbsInt,
    BuiltinOp::Sqrt,
    BuiltinOp::Pow,
    BuiltinOp::Exp,
    BuiltinOp::Log,
    BuiltinOp::Floor,
    BuiltinOp::Ceil,
    BuiltinOp::Round,
    BuiltinOp::Fract,
    BuiltinOp::Sin,
    BuiltinOp::Cos,
    BuiltinOp::Atan2,
    BuiltinOp::Smoothstep,
    BuiltinOp::Luma,
    BuiltinOp::ToFloat,
    BuiltinOp::ToInt,
    // Added later: new operations go last, so that the codes above keep their meaning.
    BuiltinOp::ClampColors,
    BuiltinOp::MinColor,
    BuiltinOp::MaxColor,
];

/// The widths, in scalar registers, of the arguments and of the result of a
/// builtin computed by [`Op::Math`].
pub fn math_widths(op: BuiltinOp) -> (u32, u32) {
    use BuiltinOp::*;
    match op {
        Gray => (1, 2),
        MixColor => (5, 2),
        ClampColor | MinColor | MaxColor => (4, 2),
        ClampColors => (6, 2),
        MixFloat | ClampFloat | ClampInt | Smoothstep => (3, 1),
        MinFloat | MinInt | MaxFloat | MaxInt | Pow | Atan2 => (2, 1),
        Luma => (2, 1),
        _ => (1, 1),
    }
}
