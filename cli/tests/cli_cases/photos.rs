//! Photo runs: output files (atomic, links, folders, full devices, formats), chunk
//! photos, params listings, threads, and the tile-wide mode against `--no-tiles`.

use super::*;

#[test]
fn a_photo_run_writes_the_png_and_prints_its_path() {
    let dir = temp_dir("photo_run");
    let filter = fixtures().join("../../../filters/invert.chop");
    let out_path = dir.join("inverted.png");
    let out = chunkvm(
        &[
            "run",
            filter.to_str().unwrap(),
            "--output",
            out_path.to_str().unwrap(),
            "--level",
            "1",
        ],
        &dir,
    );
    assert_eq!(succeeds(&out).trim(), out_path.to_str().unwrap());
    let image = chunkvm::photo::Rgba8::load(&out_path).unwrap();
    assert_eq!((image.width, image.height), (226, 150));
}

#[test]
fn a_failed_photo_run_leaves_no_output_file() {
    let dir = temp_dir("photo_fail");
    std::fs::write(
        dir.join("bad.chop"),
        "filter bad(src: image, x: int, y: int) -> color {\n    gray(float(1 / (x - 200)))\n}\n",
    )
    .unwrap();
    let out = chunkvm(&["run", "bad.chop", "--output", "out.png"], &dir);
    let err = fails(&out);
    assert!(err.contains("runtime error: division by zero"), "{err}");
    assert!(!dir.join("out.png").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[test]
fn photo_run_bad_input_is_one_clear_line() {
    let dir = temp_dir("photo_bad");
    let filter = fixtures().join("../../../filters/sepia.chop");
    let filter = filter.to_str().unwrap();
    std::fs::write(
        dir.join("broken.jpg"),
        b"\xff\xd8\xff\xe0 not really a jpeg",
    )
    .unwrap();
    for (args, wanted) in [
        (
            vec!["--input", "missing.png"],
            "cannot read missing.png: no such file",
        ),
        (
            vec!["--input", "broken.jpg"],
            "cannot read broken.jpg: corrupt",
        ),
        (vec!["--param", "amount=7"], "`amount` must lie in 0.0..1.0"),
        (vec!["--param", "nope=1"], "no param `nope`"),
        (vec!["--param", "amount=high"], "`amount` is a float"),
        (vec!["--level", "9"], "levels 0 to 1, not 9"),
        (vec!["--filter", "blur"], "no filter `blur`"),
        (vec!["--quota", "100"], "over the chunk quota of 100"),
    ] {
        let mut all = vec!["run", filter, "--output", "out.png"];
        all.extend(args);
        let err = one_line_error(&chunkvm(&all, &dir));
        assert!(err.contains(wanted), "{all:?}: {err}");
        assert!(!dir.join("out.png").exists());
    }
}

#[test]
fn params_lists_types_defaults_ranges_and_docs() {
    let filter = fixtures().join("../../../filters/vignette.chop");
    let text = succeeds(&run(&["params", filter.to_str().unwrap()]));
    assert!(text.contains("strength: float = "), "{text}");
    assert!(text.contains(" in 0.0..1.0"), "{text}");
    let json = succeeds(&run(&[
        "params",
        filter.to_str().unwrap(),
        "--format",
        "json",
    ]));
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(value
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "strength" && p["doc"].is_string()));
}

#[test]
fn import_run_and_export_a_chunk_photo() {
    let dir = temp_dir("chunks");
    let photo = fixtures().join("../../../samples/chelsea.png");
    let chunks = dir.join("cat.chunks");
    let out = chunkvm(
        &[
            "import",
            photo.to_str().unwrap(),
            "--out",
            chunks.to_str().unwrap(),
        ],
        &dir,
    );
    assert!(succeeds(&out).contains("a 451x300 photo"));
    let png = dir.join("level1.png");
    succeeds(&chunkvm(
        &[
            "export",
            chunks.to_str().unwrap(),
            "--out",
            png.to_str().unwrap(),
            "--level",
            "1",
        ],
        &dir,
    ));
    let level1 = chunkvm::photo::Rgba8::load(&png).unwrap();
    assert_eq!((level1.width, level1.height), (226, 150));
    let filter = fixtures().join("../../../filters/invert.chop");
    let inverted = dir.join("inverted.png");
    succeeds(&chunkvm(
        &[
            "run",
            filter.to_str().unwrap(),
            "--input",
            chunks.to_str().unwrap(),
            "--output",
            inverted.to_str().unwrap(),
            "--level",
            "1",
        ],
        &dir,
    ));
    let image = chunkvm::photo::Rgba8::load(&inverted).unwrap();
    for (a, b) in image.pixels.chunks(4).zip(level1.pixels.chunks(4)) {
        assert_eq!([a[0], a[1], a[2]], [255 - b[0], 255 - b[1], 255 - b[2]]);
    }
}

/// Runs the invert filter of the library on level 1 of the bundled photo in `dir`, with
/// `extra` options (`--output ...`).
fn invert(dir: &Path, extra: &[&str]) -> Output {
    let filter = fixtures().join("../../../filters/invert.chop");
    let filter = filter.to_str().expect("a UTF-8 path");
    let mut args = vec!["run", filter, "--level", "1"];
    args.extend(extra);
    chunkvm(&args, dir)
}

/// The names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("a folder")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
}

#[cfg(unix)]
#[test]
fn output_through_a_link_replaces_the_file_it_points_to() {
    let dir = temp_dir("link_out");
    std::fs::create_dir(dir.join("real")).unwrap();
    std::fs::write(dir.join("real/photo.png"), b"old").unwrap();
    std::os::unix::fs::symlink("real/photo.png", dir.join("link.png")).unwrap();
    succeeds(&invert(&dir, &["--output", "link.png"]));
    let link = std::fs::symlink_metadata(dir.join("link.png")).unwrap();
    assert!(link.file_type().is_symlink(), "the link was replaced");
    assert_eq!(
        std::fs::read_link(dir.join("link.png")).unwrap(),
        Path::new("real/photo.png")
    );
    let image = chunkvm::photo::Rgba8::load(&dir.join("real/photo.png")).unwrap();
    assert_eq!((image.width, image.height), (226, 150));
    // No temporary file is left, next to the link or next to the file.
    assert_eq!(names_in(&dir), ["link.png", "real"]);
    assert_eq!(names_in(&dir.join("real")), ["photo.png"]);
}

#[cfg(unix)]
#[test]
fn fmt_through_a_link_keeps_the_link() {
    let dir = temp_dir("fmt_link");
    std::fs::copy(
        fixtures().join("unformatted.chop"),
        dir.join("unformatted.chop"),
    )
    .unwrap();
    std::os::unix::fs::symlink("unformatted.chop", dir.join("link.chop")).unwrap();
    succeeds(&chunkvm(&["fmt", "link.chop"], &dir));
    let link = std::fs::symlink_metadata(dir.join("link.chop")).unwrap();
    assert!(link.file_type().is_symlink(), "the link was replaced");
    succeeds(&chunkvm(&["fmt", "--check", "unformatted.chop"], &dir));
}

#[test]
fn output_to_a_folder_is_refused_and_nothing_is_written() {
    let dir = temp_dir("dir_out");
    std::fs::create_dir(dir.join("out.png")).unwrap();
    let err = one_line_error(&invert(&dir, &["--output", "out.png"]));
    assert_eq!(err, "cannot write out.png: it is a folder");
    assert!(dir.join("out.png").is_dir());
    assert_eq!(names_in(&dir), ["out.png"]);
    assert!(names_in(&dir.join("out.png")).is_empty());
}

#[cfg(unix)]
#[test]
fn output_to_a_full_device_or_a_socket_is_an_error() {
    let dir = temp_dir("full_out");
    let (target, wanted) = if Path::new("/dev/full").exists() {
        (
            "/dev/full".to_string(),
            "cannot write /dev/full: no space left on device",
        )
    } else {
        // Not a regular file, a device or a pipe: refused.
        let _socket = std::os::unix::net::UnixListener::bind(dir.join("sock.png")).unwrap();
        (
            dir.join("sock.png").display().to_string(),
            "not a regular file, a device or a pipe",
        )
    };
    let err = one_line_error(&invert(&dir, &["--output", &target]));
    assert!(err.contains(wanted), "{err}");
    assert!(
        err.starts_with(&format!("cannot write {target}: ")),
        "{err}"
    );
}

#[test]
fn the_output_extension_picks_the_format() {
    let dir = temp_dir("formats");
    for name in ["out.jpg", "out.JPEG"] {
        assert_eq!(succeeds(&invert(&dir, &["--output", name])).trim(), name);
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(&bytes[..3], b"\xff\xd8\xff", "{name} is not JPEG");
        let image = chunkvm::photo::Rgba8::decode(&bytes).unwrap();
        assert_eq!((image.width, image.height), (226, 150));
    }
    // A lower quality gives a smaller file.
    succeeds(&invert(&dir, &["--output", "small.jpg", "--quality", "10"]));
    let size = |name: &str| std::fs::metadata(dir.join(name)).unwrap().len();
    assert!(size("small.jpg") < size("out.jpg"));
    succeeds(&invert(&dir, &["--output", "out.png"]));
    assert_eq!(
        &std::fs::read(dir.join("out.png")).unwrap()[..4],
        b"\x89PNG"
    );
    let before = names_in(&dir);
    let err = one_line_error(&invert(&dir, &["--output", "out.bmp"]));
    assert_eq!(
        err,
        "cannot write out.bmp: `.bmp` is not a format chunkvm writes; name the file .png, .jpg or .jpeg"
    );
    let err = one_line_error(&invert(&dir, &["--output", "q.png", "--quality", "50"]));
    assert!(err.starts_with("--quality is for JPEG output"), "{err}");
    let err = one_line_error(&invert(&dir, &["--output", "q.jpg", "--quality", "0"]));
    assert_eq!(err, "--quality 0: give a JPEG quality from 1 to 100");
    assert_eq!(names_in(&dir), before, "a refused output wrote something");
}

#[test]
fn import_and_export_follow_the_same_rules() {
    let dir = temp_dir("import_export");
    let photo = fixtures().join("../../../samples/chelsea.png");
    let photo = photo.to_str().unwrap();
    let err = one_line_error(&chunkvm(&["import", photo, "--out", "cat.png"], &dir));
    assert!(err.contains("named .chunks"), "{err}");
    std::fs::create_dir(dir.join("cat.chunks")).unwrap();
    let err = one_line_error(&chunkvm(&["import", photo, "--out", "cat.chunks"], &dir));
    assert_eq!(err, "cannot write cat.chunks: it is a folder");
    std::fs::remove_dir(dir.join("cat.chunks")).unwrap();
    succeeds(&chunkvm(&["import", photo, "--out", "cat.chunks"], &dir));
    succeeds(&chunkvm(
        &["export", "cat.chunks", "--out", "cat.jpg"],
        &dir,
    ));
    assert_eq!(
        &std::fs::read(dir.join("cat.jpg")).unwrap()[..3],
        b"\xff\xd8\xff"
    );
    let err = one_line_error(&chunkvm(
        &["export", "cat.chunks", "--out", "cat.gif"],
        &dir,
    ));
    assert!(err.contains("name the file .png, .jpg or .jpeg"), "{err}");
}

#[test]
fn threads_0_is_refused_and_a_huge_count_is_capped() {
    let dir = temp_dir("threads");
    let err = one_line_error(&invert(&dir, &["--output", "a.png", "--threads", "0"]));
    assert_eq!(err, "--threads 0: give at least 1 worker thread");
    assert!(names_in(&dir).is_empty());
    let out = invert(
        &dir,
        &["--output", "a.png", "--threads", "100000", "--stats"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    let note = err.lines().next().unwrap_or_default();
    assert!(
        note.starts_with("note: --threads 100000: the most chunkvm starts is 256"),
        "{err}"
    );
    // The note and the stats say how many threads ran, and they agree.
    let used: usize = note
        .rsplit_once("using ")
        .and_then(|(_, n)| n.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count: {note}"));
    assert!((1..=256).contains(&used), "{note}");
    assert!(err.contains(&format!(" on {used} thread")), "{err}");
}

#[test]
fn no_tiles_and_its_environment_variable_make_the_same_image_in_as_many_instructions() {
    let dir = temp_dir("no-tiles");
    let box_blur = fixtures().join("../../../filters/box_blur.chop");
    let box_blur = box_blur.to_str().expect("a UTF-8 path");
    let base = ["run", box_blur, "--level", "1", "--threads", "1", "--stats"];
    let instructions = |out: &Output| -> String {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
        let err = stderr(out);
        err.split(", ")
            .find(|part| part.ends_with(" instructions"))
            .unwrap_or_else(|| panic!("no count: {err}"))
            .to_string()
    };
    let mut tiled = base.to_vec();
    tiled.extend(["--output", "tiled.png"]);
    let mut plain = base.to_vec();
    plain.extend(["--output", "plain.png", "--no-tiles"]);
    let counted = instructions(&chunkvm(&tiled, &dir));
    assert_eq!(instructions(&chunkvm(&plain, &dir)), counted);
    let mut by_env = base.to_vec();
    by_env.extend(["--output", "env.png"]);
    let out = Command::new(env!("CARGO_BIN_EXE_chunkvm"))
        .args(&by_env)
        .env("CHUNKVM_NO_TILES", "1")
        .current_dir(&dir)
        .output()
        .expect("chunkvm starts");
    assert_eq!(instructions(&out), counted);
    let read = |name: &str| std::fs::read(dir.join(name)).expect("an output file");
    assert_eq!(read("tiled.png"), read("plain.png"));
    assert_eq!(read("tiled.png"), read("env.png"));
}
