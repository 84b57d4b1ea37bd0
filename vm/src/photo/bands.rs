//! A started filter or pipeline run ([`start`]) split in bands of rows, each band a
//! thread of its own that a debugger can stop and step: the stages run one after
//! another, each stage's bands over the whole of the stage's input (a kernel reads
//! its neighbours' rows), and when all of a stage's bands are done their rows of
//! tiles make the stage's output, which the next stage's bands read. The output is
//! the one a run on one thread makes, byte for byte.
//!
//! Each band's thread has a store of its own (node ids 2 and up, as the workers of a
//! parallel run) sharing the code's and the stage input's chunks with the run's store;
//! a band slot keeps its store's allocator from one stage to the next, so the ids of
//! the chunks its bands make never collide in the run's store.

use super::*;
use crate::chunk::{image_from_tiles, NodeId, TILE_SIZE};
use crate::exec::JobStage;

/// The rows of each of (at most) `bands` bands of an image `height` rows high: whole
/// rows of tiles ([`TILE_SIZE`]), as even as they can be, top to bottom.
pub fn band_rows(height: u32, bands: usize) -> Vec<(u32, u32)> {
    let tile_rows = height.div_ceil(TILE_SIZE);
    let count = (bands.max(1) as u32).min(tile_rows.max(1));
    let mut out = Vec::new();
    let mut y0 = 0;
    for band in 0..count {
        // The first `extra` bands take one row of tiles more.
        let (base, extra) = (tile_rows / count, tile_rows % count);
        let tiles = base + u32::from(band < extra);
        let y1 = (y0 + tiles * TILE_SIZE).min(height);
        if y1 > y0 {
            out.push((y0, y1));
        }
        y0 = y1;
    }
    out
}

/// A run split in bands (see the module documentation).
pub struct Bands {
    /// The run's thread: its store holds the photo, each stage's output, the result.
    vm: Vm,
    stages: Vec<JobStage>,
    /// The stage whose bands run now (`stages.len()` when done).
    stage: usize,
    /// The current stage's input.
    src: ChunkId,
    size: (u32, u32),
    rows: Vec<(u32, u32)>,
    /// Each band slot's store, between two stages (its allocator goes on).
    stores: Vec<Option<Store>>,
}

/// Why a band could not start or its output could not be taken.
fn store_err(err: StoreError) -> RunError {
    RunError::Store(err)
}

impl Bands {
    /// Splits the run of `vm` (made by [`start`], not run yet) in at most `bands` bands
    /// of rows per stage.
    pub fn new(vm: Vm, bands: usize) -> Result<Bands, RunError> {
        let (Some(stages), Some(src)) = (vm.job_stages(), vm.job_source()) else {
            return Err(RunError::NotAnImage("a thread that runs no filter".into()));
        };
        let view = ImageView::open(&vm.store, src).map_err(store_err)?;
        let size = (view.width(), view.height());
        let rows = band_rows(size.1, bands);
        let stores = (0..rows.len()).map(|_| None).collect();
        Ok(Bands {
            vm,
            stages,
            stage: 0,
            src,
            size,
            rows,
            stores,
        })
    }

    /// The stage whose bands run now (0-based; equal to [`Bands::stages`] when done).
    pub fn stage(&self) -> usize {
        self.stage
    }

    /// Stages in all.
    pub fn stages(&self) -> usize {
        self.stages.len()
    }

    /// The rows of each band, top to bottom.
    pub fn rows(&self) -> &[(u32, u32)] {
        &self.rows
    }

    /// The size of the image the run makes.
    pub fn size(&self) -> (u32, u32) {
        self.size
    }

    /// The run's thread, whose store holds the output once done ([`finish`] reads it).
    pub fn vm(&self) -> &Vm {
        &self.vm
    }

    /// The threads of the current stage's bands, started ([`Vm::start_band`]), top to
    /// bottom; each has the run's limits and cancel flag.
    pub fn start_stage(&mut self) -> Result<Vec<Vm>, RunError> {
        let Some(stage) = self.stages.get(self.stage).cloned() else {
            return Err(RunError::Worker);
        };
        let loaded = self.vm.loaded.clone();
        let mut roots = vec![loaded.ids.root, self.src];
        roots.extend(loaded.ids.strings.iter().copied());
        let shared = self.vm.store.to_share(&roots).map_err(store_err)?;
        let mut out = Vec::with_capacity(self.rows.len());
        for (band, rows) in self.rows.iter().enumerate() {
            let mut store = match self.stores.get_mut(band).and_then(Option::take) {
                Some(store) => store,
                None => Store::new(NodeId(2 + band as u16)),
            };
            store.take_shared(&shared);
            let mut vm = Vm::with_store(loaded.clone(), store);
            vm.set_limits(self.vm.limits());
            if let Some(flag) = &self.vm.cancel {
                vm.set_cancel(flag.clone());
            }
            vm.start_band(vec![stage.clone()], self.src, Some(*rows))
                .map_err(RunError::Runtime)?;
            out.push(vm);
        }
        Ok(out)
    }

    /// The current stage's bands are done: `done` holds each band's thread and the
    /// value it finished with, top to bottom. Their rows make the stage's output; the
    /// next stage reads it. Returns the run's result ([`Value::Image`], for [`finish`]
    /// over [`Bands::vm`]) after the last stage, `None` before.
    pub fn end_stage(&mut self, done: Vec<(Vm, Value)>) -> Result<Option<Value>, RunError> {
        if done.len() != self.rows.len() {
            return Err(RunError::Worker);
        }
        let mut tiles = Vec::new();
        for (band, (vm, value)) in done.into_iter().enumerate() {
            let Value::Image { id, .. } = value else {
                return Err(RunError::NotAnImage(value.kind().to_string()));
            };
            let view = ImageView::open(vm.store(), id).map_err(store_err)?;
            tiles.extend_from_slice(view.tile_ids());
            let set = vm.store().export(&[id]).map_err(store_err)?;
            self.vm.store.import(set);
            let mut store = vm.into_store();
            // Keep the allocator (ids are never reused), drop the data.
            store.collect(&[]);
            if let Some(slot) = self.stores.get_mut(band) {
                *slot = Some(store);
            }
        }
        let (w, h) = self.size;
        let image = image_from_tiles(&mut self.vm.store, w, h, &tiles).map_err(store_err)?;
        self.vm.pin(image);
        self.src = image;
        self.stage += 1;
        if self.stage < self.stages.len() {
            return Ok(None);
        }
        Ok(Some(self.vm.ref_value(&crate::types::Type::Image, image)))
    }

    /// The run's thread.
    pub fn into_vm(self) -> Vm {
        self.vm
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::Stop;

    #[test]
    fn bands_are_whole_rows_of_tiles_covering_the_image() {
        assert_eq!(
            band_rows(38, 4),
            vec![(0, 16), (16, 24), (24, 32), (32, 38)]
        );
        assert_eq!(band_rows(64, 2), vec![(0, 32), (32, 64)]);
        assert_eq!(band_rows(5, 4), vec![(0, 5)]);
        assert_eq!(band_rows(20, 1), vec![(0, 20)]);
        for (h, n) in [(1, 3), (300, 4), (151, 3), (8, 8)] {
            let rows = band_rows(h, n);
            assert!(rows.len() <= n);
            assert_eq!(rows.first().map(|r| r.0), Some(0));
            assert_eq!(rows.last().map(|r| r.1), Some(h));
            assert!(rows
                .windows(2)
                .all(|w| w[0].1 == w[1].0 && w[1].0 % TILE_SIZE == 0));
        }
    }

    fn image(w: u32, h: u32) -> Rgba8 {
        let mut pixels = Vec::new();
        for idx in 0..(w * h) {
            pixels.extend_from_slice(&[(idx * 7 % 256) as u8, (idx * 3 % 256) as u8, 90, 255]);
        }
        Rgba8 {
            width: w,
            height: h,
            pixels,
        }
    }

    /// Runs `target` of `text` over `input` in `bands` bands, each band to its end, and
    /// returns the image.
    fn banded(text: &str, target: Target, input: &Rgba8, bands: usize) -> Rgba8 {
        let analyzed = crate::driver::analyze(text);
        let program = analyzed.compile().unwrap();
        let started = start(
            Compiled::of(&analyzed, program),
            Some(&target),
            &Input::Image(std::borrow::Cow::Borrowed(input)),
            &RunOptions::default(),
        )
        .unwrap();
        let mut split = Bands::new(started.vm, bands).unwrap();
        let value = loop {
            let threads = split.start_stage().unwrap();
            assert_eq!(threads.len(), split.rows().len());
            let done = threads
                .into_iter()
                .rev() // the order they run in does not matter
                .map(|mut vm| {
                    let value = vm.run_to_end().unwrap();
                    (vm, value)
                })
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if let Some(value) = split.end_stage(done).unwrap() {
                break value;
            }
        };
        assert_eq!(split.stage(), split.stages());
        finish(split.vm(), &value).unwrap()
    }

    fn one_thread(text: &str, target: Target, input: &Rgba8) -> Rgba8 {
        let analyzed = crate::driver::analyze(text);
        let program = analyzed.compile().unwrap();
        run(
            Compiled::of(&analyzed, program),
            Some(&target),
            input,
            &RunOptions::default(),
        )
        .unwrap()
        .image
    }

    const PIPELINE: &str = "
param radius: int = 1 in 1..8;
filter blur(src: image, x: int, y: int) -> color {
    var sum = rgba(0.0, 0.0, 0.0, 0.0);
    for dy in -radius..radius + 1 {
        sum = sum + src.at(x, y + dy);
    }
    sum / float(2 * radius + 1)
}
filter invert(c: color) -> color {
    rgba(1.0 - c.r, 1.0 - c.g, 1.0 - c.b, c.a)
}
pipeline both = blur |> invert |> blur(radius: 2);
";

    #[test]
    fn bands_make_the_image_one_thread_makes() {
        let input = image(13, 38);
        let target = Target::Pipeline("both".into());
        let expected = one_thread(PIPELINE, target.clone(), &input);
        for bands in [1, 2, 4, 9] {
            let got = banded(PIPELINE, target.clone(), &input, bands);
            assert_eq!(got.pixels, expected.pixels, "{bands} bands");
            assert_eq!((got.width, got.height), (13, 38));
        }
        let filter = Target::Filter("blur".into());
        assert_eq!(
            banded(PIPELINE, filter.clone(), &input, 3).pixels,
            one_thread(PIPELINE, filter, &input).pixels
        );
    }

    #[test]
    fn a_band_stage_wants_every_band() {
        let analyzed = crate::driver::analyze(PIPELINE);
        let program = analyzed.compile().unwrap();
        let input = image(8, 24);
        let started = start(
            Compiled::of(&analyzed, program),
            Some(&Target::Filter("invert".into())),
            &Input::Image(std::borrow::Cow::Borrowed(&input)),
            &RunOptions::default(),
        )
        .unwrap();
        let mut split = Bands::new(started.vm, 3).unwrap();
        let mut threads = split.start_stage().unwrap();
        let mut last = threads.pop().unwrap();
        let value = last.run_to_end().unwrap();
        assert!(matches!(
            split.end_stage(vec![(last, value)]),
            Err(RunError::Worker)
        ));
    }

    /// The pixel (`x`, `y`) of a band thread stopped in `invert`.
    fn pixel(vm: &Vm) -> (String, String) {
        let locals = vm.locals(0);
        let c = locals
            .iter()
            .find(|v| v.name == "c")
            .map(|v| v.value.to_string());
        (c.unwrap_or_default(), format!("{}", vm.instructions()))
    }

    #[test]
    fn a_band_looks_at_its_first_instruction_and_after_safe_points() {
        let analyzed = crate::driver::analyze(PIPELINE);
        let program = analyzed.compile().unwrap();
        let input = image(8, 16);
        let started = start(
            Compiled::of(&analyzed, program),
            Some(&Target::Filter("invert".into())),
            &Input::Image(std::borrow::Cow::Borrowed(&input)),
            &RunOptions::default(),
        )
        .unwrap();
        let mut split = Bands::new(started.vm, 2).unwrap();
        let mut threads = split.start_stage().unwrap();
        let line = PIPELINE
            .lines()
            .position(|l| l.contains("rgba(1.0 - c.r"))
            .unwrap() as u32
            + 1;
        let mut fresh = threads.pop().unwrap();
        let mut looked = threads.pop().unwrap();
        for vm in [&mut fresh, &mut looked] {
            vm.set_source(PIPELINE);
            vm.set_breakpoints(&[line]);
        }
        // Without a look at its first instruction, a band stops on its second pixel.
        assert_eq!(fresh.run(), Ok(Stop::Breakpoint));
        assert!(fresh.instructions() > 0);
        looked.check_first_instruction();
        assert_eq!(looked.run(), Ok(Stop::Breakpoint));
        assert_eq!(looked.instructions(), 0);
        let first = pixel(&looked);
        // From a breakpoint it goes on; a stop at the next call's safe point does not
        // skip the breakpoint there.
        looked.stop_after(1);
        assert_eq!(looked.run(), Ok(Stop::SafePoint));
        let at_safe_point = looked.instructions();
        assert_eq!(looked.run(), Ok(Stop::Breakpoint));
        assert_eq!(looked.instructions(), at_safe_point);
        assert_ne!(pixel(&looked).0, first.0);
    }
}
