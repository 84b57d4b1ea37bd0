//! `chunkvm bench`: CPU-bound Chop programs against the same algorithms in
//! plain Rust, measured in the same run, reported as a ratio.
//!
//! The machines this runs on are shared and noisy: each figure is the best
//! of several runs, and only the ratio VM/native is meant to be compared.
//!
//! [`vm`]: the CPU-bound programs (`--vm-only`); [`filters`]: the library's
//! filters against plain Rust and the `image` crate; [`photo`]: the photo to
//! tiles and back, the editor's preview, one thread against two. The helpers
//! they share are here.

#![warn(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a closed pipe would panic: use outln!/errln!"
)]

mod filters;
mod photo;
mod vm;

pub use filters::run_filters;
pub use photo::run_photo;
pub use vm::run_all;

use std::time::{Duration, Instant};

/// A deterministic test photo: smooth gradients with some texture.
pub fn test_photo(width: u32, height: u32) -> Vec<u8> {
    let mut pixels = Vec::with_capacity((width * height * 4) as usize);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for y in 0..height {
        for x in 0..width {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let noise = (seed & 31) as u32;
            pixels.push(((x * 255 / width.max(1)) + noise).min(255) as u8);
            pixels.push(((y * 255 / height.max(1)) + noise).min(255) as u8);
            pixels.push((((x + y) * 255 / (width + height).max(1)) ^ noise) as u8);
            pixels.push(255);
        }
    }
    pixels
}

/// A byte channel as a number from 0 to 1: the bench's own conversion, written
/// apart from the VM's (`exec::value::from_u8`) so that comparing the two blurs
/// also checks the VM's conversions.
fn unit_of_byte(b: u8) -> f64 {
    f64::from(b) / 255.0
}

/// A number from 0 to 1 as a byte channel, clamped and rounded to nearest (the
/// bench's own twin of `exec::value::to_u8`).
fn byte_of_unit(v: f64) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// Compares the VM's output image (`width` pixels wide, RGBA8) with the native
/// reference's: an error naming `name` and the first pixel where some channel
/// differs by more than `tolerance`, with both pixels' values.
pub fn compare_images(
    name: &str,
    width: u32,
    vm: &[u8],
    native: &[u8],
    tolerance: u8,
) -> Result<(), String> {
    if vm.len() != native.len() {
        return Err(format!(
            "{name}: the VM's output has {} bytes and the native reference's {}",
            vm.len(),
            native.len()
        ));
    }
    let first = vm
        .chunks_exact(4)
        .zip(native.chunks_exact(4))
        .enumerate()
        .find(|(_, (a, b))| a.iter().zip(*b).any(|(x, y)| x.abs_diff(*y) > tolerance));
    let Some((index, (at_vm, at_native))) = first else {
        return Ok(());
    };
    let width = width.max(1) as usize;
    Err(format!(
        "{name}: the VM differs from the native reference at pixel ({}, {}): VM {at_vm:?}, native {at_native:?} (tolerance {tolerance})",
        index % width,
        index / width,
    ))
}

/// An error listing the filters the benchmark knows when `only` is none of them.
pub fn check_filter_name(only: Option<&str>) -> Result<(), String> {
    let names: Vec<&str> = chunkvm::reference::FILTERS
        .iter()
        .map(|f| f.filter)
        .collect();
    match only {
        Some(name) if !names.contains(&name) => Err(format!(
            "no filter `{name}` in the benchmark; it has: {}",
            names.join(", ")
        )),
        _ => Ok(()),
    }
}

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        last = Some(value);
    }
    match last {
        Some(value) => (best, value),
        None => (best, f()),
    }
}

/// [`best`] of `f` and of `g`, `runs` rounds of one run of each, one after the other:
/// two figures to compare, measured over the same stretch of a noisy machine.
fn best_of_each<T, U>(
    runs: usize,
    mut f: impl FnMut() -> T,
    mut g: impl FnMut() -> U,
) -> ((Duration, T), (Duration, U)) {
    let (mut first, mut second) = (best(1, &mut f), best(1, &mut g));
    for _ in 1..runs {
        let (time, value) = best(1, &mut f);
        first = (first.0.min(time), value);
        let (time, value) = best(1, &mut g);
        second = (second.0.min(time), value);
    }
    (first, second)
}

/// The `filters/` folder of the repository.
fn filters_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters")
}

/// The CPU time this process used so far, all its threads (ended ones included),
/// from `/proc/self/stat` in ticks of 10 ms (Linux's `USER_HZ`); `None` elsewhere.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command's closing parenthesis start with field 3; utime
    // and stime are fields 14 and 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |at: usize| fields.get(at).and_then(|f| f.parse::<u64>().ok());
    Some(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}

/// The load average over the last minute, from `/proc/loadavg`; `None` elsewhere.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mismatch_names_the_filter_and_the_first_differing_pixel() {
        let native: Vec<u8> = (0..3 * 2 * 4).map(|v| v as u8).collect();
        assert_eq!(compare_images("blur", 3, &native, &native, 0), Ok(()));
        let mut vm = native.clone();
        // Pixel (2, 1) is the sixth: bytes 20..24. Pixel (0, 1) is off by the tolerance only.
        vm[21] += 3;
        vm[12] += 1;
        assert_eq!(
            compare_images("blur", 3, &vm, &native, 1),
            Err(
                "blur: the VM differs from the native reference at pixel (2, 1): \
                 VM [20, 24, 22, 23], native [20, 21, 22, 23] (tolerance 1)"
                    .into()
            )
        );
        assert!(compare_images("blur", 3, &vm, &native, 0)
            .unwrap_err()
            .contains("at pixel (0, 1)"));
        assert!(compare_images("blur", 3, &vm[4..], &native, 0)
            .unwrap_err()
            .starts_with("blur: the VM's output has 20 bytes"));
    }
    #[test]
    fn an_unknown_filter_is_an_error_naming_the_known_ones() {
        let err = check_filter_name(Some("nope")).unwrap_err();
        assert!(
            err.starts_with("no filter `nope` in the benchmark; it has: invert, "),
            "{err}"
        );
        assert!(err.contains("box_blur"), "{err}");
        assert_eq!(check_filter_name(Some("box_blur")), Ok(()));
        assert_eq!(check_filter_name(None), Ok(()));
    }
}
