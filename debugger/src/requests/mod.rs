//! One file per group of requests: `launch` (initialize, launch, configurationDone,
//! terminate, disconnect), `attach` (a thread a node holds; what becomes of a thread
//! on a node when the session ends), `breakpoints`, `execution` (continue, next, stepIn, stepOut,
//! pause, exceptionInfo), `stack` (threads, stackTrace, scopes, variables,
//! loadedSources), `evaluate`, `disassemble` and the custom `chunks` and `migrate`.

pub mod attach;
pub mod breakpoints;
pub mod chunks;
pub mod disassemble;
pub mod evaluate;
pub mod execution;
pub mod launch;
pub mod migrate;
pub mod stack;
