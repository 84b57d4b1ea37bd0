//! Which compilation runs of the loops compiled twice (the tile-wide group loop and
//! lane builtins, a point filter's row into lanes, colours out to a row): the AVX2 one
//! when the processor has AVX2, else the baseline one. Both are the same IEEE
//! operations (no fused multiply-add), so they give the same bits; `CHUNKVM_NO_AVX2=1`
//! (read once) and [`force_baseline`] choose the baseline one anyway, so that it can be
//! tested, and measured, on a processor with AVX2.

use std::sync::atomic::{AtomicBool, Ordering};

static BASELINE: AtomicBool = AtomicBool::new(false);

/// Whether the AVX2 compilations run.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn avx2() -> bool {
    static ENV: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let off = *ENV.get_or_init(|| std::env::var_os("CHUNKVM_NO_AVX2").is_some_and(|v| v == "1"));
    !off && !BASELINE.load(Ordering::Relaxed) && std::arch::is_x86_feature_detected!("avx2")
}

/// Runs the baseline compilations from now on (`true`), or whichever the processor
/// allows (`false`): for tests of the baseline ones on a processor with AVX2.
pub fn force_baseline(on: bool) {
    BASELINE.store(on, Ordering::Relaxed);
}
