//! One file per group of requests: `launch` (initialize, launch, configurationDone,
//! terminate, disconnect), `breakpoints`, `execution` (continue, next, stepIn, stepOut,
//! pause, exceptionInfo), `stack` (threads, stackTrace, scopes, variables,
//! loadedSources), `evaluate`, `disassemble` and the custom `chunks` and `migrate`.

pub mod breakpoints;
pub mod chunks;
pub mod disassemble;
pub mod evaluate;
pub mod execution;
pub mod launch;
pub mod migrate;
pub mod stack;
