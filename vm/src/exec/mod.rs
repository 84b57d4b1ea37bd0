//! Running programs: the interpreter (`vm`), values (`value`), threads as
//! chunks (`thread`), and the stepping API for debuggers (`debug`).

pub mod debug;
pub mod filter;
pub mod jit;
pub mod simd;
pub mod thread;
pub mod value;
pub mod vm;

pub use debug::{FrameInfo, Variable};
pub use filter::{JobProgress, JobStage};
pub use jit::{jit_by_default, JitStats};
pub use thread::ThreadError;
pub use value::{Capture, Value};
pub use vm::{
    tiles_by_default, CallError, ErrorKind, Fetch, FetchError, Limits, Loaded, RuntimeError, Stats,
    StepKind, Stop, Vm, LANES,
};
