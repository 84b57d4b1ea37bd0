//! Tests of photos: reading and writing files, the pyramid, runs.

use super::*;

/// A scratch folder of this test process, under the system's temporary folder.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chunkvm-photo-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

/// Reading tells a file that cannot be read from one that is not an image, and
/// each names the file; the text is what the command line has always printed.
#[test]
fn reading_errors_say_which_file_and_why() {
    let missing = Path::new("/no/such/photo.png");
    let err = Rgba8::load(missing).expect_err("no file");
    assert_eq!(
        err,
        PhotoError::Read {
            path: missing.to_path_buf(),
            reason: "no such file".into()
        }
    );
    assert_eq!(err.path(), Some(missing));
    assert_eq!(
        err.to_string(),
        "cannot read /no/such/photo.png: no such file"
    );

    let dir = scratch("read");
    let text = dir.join("text.png");
    std::fs::write(&text, b"hello").expect("writes");
    let err = Rgba8::load(&text).expect_err("not an image");
    assert_eq!(
        err,
        PhotoError::Decode {
            path: text.clone(),
            error: ImageError::NotAnImage
        }
    );
    assert_eq!(
        err.to_string(),
        format!("cannot read {}: not a PNG or JPEG image", text.display())
    );
    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
    assert_eq!(
        Rgba8::decode(gif),
        Err(ImageError::Unsupported {
            format: "Gif".into()
        })
    );
    let png = Rgba8::filled(2, 2, [1, 2, 3, 255])
        .encode_png()
        .expect("encodes");
    assert!(matches!(
        Rgba8::decode(&png[..png.len() / 2]),
        Err(ImageError::Corrupt { format: "PNG", .. })
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The output's name and the quality are checked before anything is made.
#[test]
fn output_formats_are_refused_by_variant() {
    let gif = Path::new("out.gif");
    let err = ImageFormat::from_path(gif, None).expect_err("no GIF");
    assert_eq!(
        err,
        PhotoError::OutputFormat {
            path: gif.to_path_buf(),
            ext: "gif".into()
        }
    );
    assert_eq!(
        err.to_string(),
        "cannot write out.gif: `.gif` is not a format chunkvm writes; name the file .png, .jpg or .jpeg"
    );
    assert_eq!(
        ImageFormat::from_path(Path::new("out.png"), Some(80)),
        Err(PhotoError::QualityForPng {
            path: "out.png".into()
        })
    );
    assert_eq!(
        ImageFormat::from_path(Path::new("out.JPG"), Some(0)),
        Err(PhotoError::Quality(0))
    );
    assert_eq!(
        ImageFormat::from_path(Path::new("out.jpeg"), None),
        Ok(ImageFormat::Jpeg {
            quality: JPEG_QUALITY
        })
    );
}

/// A folder, a missing folder and a link loop are refused by what they are, and
/// nothing is written.
#[test]
fn writing_errors_say_what_the_output_is() {
    let dir = scratch("write");
    let err = write_atomic(&dir, b"x").expect_err("a folder");
    assert_eq!(err, PhotoError::IsFolder { path: dir.clone() });
    assert_eq!(
        err.to_string(),
        format!("cannot write {}: it is a folder", dir.display())
    );
    let nowhere = dir.join("no/such/folder/out.png");
    assert_eq!(
        write_atomic(&nowhere, b"x"),
        Err(PhotoError::NoFolder {
            path: nowhere.clone(),
            dir: dir.join("no/such/folder")
        })
    );
    assert!(!nowhere.exists());
    #[cfg(unix)]
    {
        let (a, b) = (dir.join("a.png"), dir.join("b.png"));
        std::os::unix::fs::symlink(&b, &a).expect("a link");
        std::os::unix::fs::symlink(&a, &b).expect("a link back");
        let err = write_atomic(&a, b"x").expect_err("a loop");
        assert_eq!(err, PhotoError::LinkLoop { path: a.clone() });
        assert!(err
            .to_string()
            .ends_with(": too many levels of symbolic links"));
    }
    let photo = Rgba8::filled(2, 2, [9, 9, 9, 255]);
    let err = photo
        .save(&dir, ImageFormat::Png)
        .expect_err("a folder again");
    assert!(matches!(err, PhotoError::IsFolder { .. }), "{err:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `chunkvm run FILTER.chop` analyses the text once and compiles it once: the run
/// takes the compiled program and the checked file, and does neither again.
#[test]
fn a_run_analyses_and_compiles_its_file_once() {
    let source = "param amount: float = 1.0 in 0.0..1.0;\nfilter invert(c: color) -> color {\n    mix(c, rgba(1.0 - c.r, 1.0 - c.g, 1.0 - c.b, c.a), amount)\n}\npipeline twice = invert |> invert(amount: 0.5);\n";
    let before = crate::driver::counts::now();
    let (analyzed, program) = crate::driver::build(source).expect("builds");
    let photo = Rgba8::filled(40, 40, [200, 100, 0, 255]);
    let out = run(
        Compiled::of(&analyzed, program),
        Some(&Target::Pipeline("twice".into())),
        &photo,
        &RunOptions::default(),
    )
    .expect("runs");
    assert_eq!(out.stages, ["invert", "invert"]);
    let (analyses, compiles) = crate::driver::counts::now();
    assert_eq!(
        (analyses - before.0, compiles - before.1),
        (1, 1),
        "analyses and compilations of one run"
    );
}

/// An already analysed file compiles without being parsed again, and one with
/// errors gives its diagnostics.
#[test]
fn compile_analyzed_does_not_parse_again() {
    let analyzed = crate::driver::analyze("fn main() { print(1); }\n");
    let before = crate::driver::counts::now();
    let program =
        crate::driver::compile_analyzed(&analyzed.parsed, &analyzed.analysis).expect("compiles");
    assert!(program.function("main").is_some());
    assert_eq!(crate::driver::counts::now(), (before.0, before.1 + 1));
    let broken = crate::driver::analyze("fn main() -> int { true }\n");
    let diags = broken.compile().expect_err("has errors");
    assert!(
        diags.iter().any(crate::diag::Diagnostic::is_error),
        "{diags:?}"
    );
}

/// The bundled photo goes to tile chunks and comes back byte for byte, at full size
/// and at every level of its pyramid.
#[test]
fn the_bundled_photo_round_trips_through_its_tiles() {
    let photo = Rgba8::decode(include_bytes!("../../../samples/chelsea.png")).expect("decodes");
    let mut store = Store::new(crate::chunk::NodeId(1));
    let root = photo_new(&mut store, &photo).expect("stores");
    let (width, height, levels) = photo_info(&store, root).expect("a photo");
    assert_eq!((width, height), (photo.width, photo.height));
    let mut expected = photo.clone();
    for level in 0..levels {
        let image = photo_level(&mut store, root, level).expect("a level");
        let (w, h, pixels) = crate::chunk::image_to_rgba8(&store, image).expect("reads back");
        assert_eq!((w, h), (expected.width, expected.height), "level {level}");
        assert!(pixels == expected.pixels, "level {level}");
        expected = downsample(&expected);
    }
}
