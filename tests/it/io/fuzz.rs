//! Regressions from fuzzing (`fuzz/`, README "Fuzzing"): every input in `tests/data/fuzz`
//! that once crashed, panicked, hung or over-allocated, read three ways (from its path, from
//! memory with `StackReader::from_bytes`, and by `migrascope info --stats`), each with the
//! outcome it must have now: it reads with the given shape, or it fails with one line naming
//! the file, the place and the reason. Also: `from_bytes` reads what `open` reads.

use std::path::{Path, PathBuf};
use std::process::Command;

use migrascope::io::{OpenOptions, PlaneIndex, StackReader};

use super::{data_dir, le_bytes};

enum Expect {
    /// Opens with this shape `(t, c, z, y, x)` and axes source, and every plane decodes.
    Reads((usize, usize, usize, usize, usize), &'static str),
    /// Fails, at `place`, saying `why` (lower case).
    Fails(&'static str, &'static str),
}

/// Each file of `tests/data/fuzz` (see its README.md for where each came from).
const CASES: &[(&str, Expect)] = &[
    // open_stack, first minute: a YResolution tag claiming 2^26 rationals in a 388-byte file.
    // The tiff crate sizes its value buffer from the count before reading (up to the 2 GiB
    // page limit): 1.6 GB allocated, then the read fails. Now refused from the raw IFDs.
    (
        "fuzz-oom-tag-count-past-eof.tif",
        Expect::Fails(
            "page 0",
            "tag 283 (67108864 values at offset 0) lies past the end",
        ),
    ),
    // open_stack: a PackBits run of a palette page (the raw path) computed its length as
    // 1 - (n as usize), right only by wrapping: an overflow panic wherever overflow checks
    // are on (the dev profile, the fuzz build).
    (
        "fuzz-packbits-run-overflow.tif",
        Expect::Reads((1, 1, 1, 12, 20), "plain"),
    ),
    // open_stack: a 9 x 7 4-bit LZW page (the raw path) with tiles 2^28 pixels wide; the
    // LZW, PackBits and zlib buffers were sized from the declared chunk (2 GiB) before any
    // data was read. Now they grow with the data, and rows unpack only the columns inside
    // the image.
    (
        "fuzz-oom-chunk-larger-than-its-data.tif",
        Expect::Fails("page 0 (t=0 c=0 z=0)", "chunk 0: corrupt lzw data"),
    ),
    // open_stack_file: two OME Images without TiffData, the second's planes placed after the
    // first's, past the last page; planes were then looked up past the page table (panic).
    (
        "fuzz-ome-planes-past-last-page.tif",
        Expect::Fails("OME Image 1", "at ifds 3.. but the file has 3 pages"),
    ),
    // The sizes of a tifffile "shaped" description multiplied to the page count after
    // overflowing; planes were then looked up past the last page (index panic).
    (
        "review-shaped-size-overflow.tif",
        Expect::Reads((2, 1, 1, 4, 4), "plain"),
    ),
    // The only page is a reduced-resolution copy: with a shaped description (or --axes) the
    // layout recursed forever (stack overflow, abort); without one, "0 series" and a
    // confusing message.
    (
        "review-only-reduced-page-shaped.tif",
        Expect::Fails("page 0", "no full-resolution page"),
    ),
    (
        "review-only-reduced-page.tif",
        Expect::Fails("page 0", "no full-resolution page"),
    ),
];

fn fuzz_dir() -> PathBuf {
    data_dir().join("fuzz")
}

/// Opens and decodes every plane; the first error as its one-line message.
fn read_all(r: Result<StackReader, migrascope::Error>) -> Result<StackReader, String> {
    let r = r.map_err(|e| e.to_string())?;
    for idx in r.info().shape.plane_indices() {
        r.read_plane(idx).map_err(|e| e.to_string())?;
    }
    Ok(r)
}

fn check(path: &Path, how: &str, got: Result<StackReader, String>, want: &Expect) {
    let name = path.display();
    match (got, want) {
        (Ok(r), Expect::Reads((t, c, z, y, x), axes)) => {
            let s = r.info().shape;
            assert_eq!(
                (s.t, s.c, s.z, s.y, s.x),
                (*t, *c, *z, *y, *x),
                "{name} {how}"
            );
            assert_eq!(r.info().axes_source, *axes, "{name} {how}");
        }
        (Err(e), Expect::Fails(place, why)) => {
            assert!(!e.contains('\n'), "{how}: one line: {e}");
            assert!(
                e.starts_with(&*path.to_string_lossy()),
                "{how}: names the file: {e}"
            );
            assert!(e.contains(place), "{how}: names the place '{place}': {e}");
            assert!(e.to_lowercase().contains(why), "{how}: says '{why}': {e}");
        }
        (Ok(r), Expect::Fails(..)) => panic!("{name} {how}: read as {:?}", r.info().shape),
        (Err(e), Expect::Reads(..)) => panic!("{name} {how}: {e}"),
    }
}

#[test]
fn fuzz_regressions_read_or_fail_cleanly() {
    let dir = fuzz_dir();
    let mut listed: Vec<&str> = CASES.iter().map(|c| c.0).collect();
    listed.sort_unstable();
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n != "README.md")
        .collect();
    on_disk.sort_unstable();
    assert_eq!(on_disk, listed, "every file in tests/data/fuzz has a case");
    for (file, want) in CASES {
        let path = dir.join(file);
        let opts = OpenOptions::default();
        check(
            &path,
            "open",
            read_all(StackReader::open(&path, &opts)),
            want,
        );
        let bytes = std::fs::read(&path).unwrap();
        let mem = read_all(StackReader::from_bytes(&path, bytes, &opts));
        check(&path, "from_bytes", mem, want);
        // The binary: exit 0 or 3 (unreadable input) with one line, never a panic or abort.
        let out = Command::new(env!("CARGO_BIN_EXE_migrascope"))
            .args(["info", "--stats", "--threads", "2"])
            .arg(&path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        match want {
            Expect::Reads(..) => assert!(out.status.success(), "{file}: {err}"),
            Expect::Fails(..) => {
                assert_eq!(out.status.code(), Some(3), "{file}: {err}");
                assert_eq!(err.trim_end().lines().count(), 1, "{file}: {err}");
                assert!(!err.contains("internal error"), "{file}: {err}");
            }
        }
    }
}

#[test]
fn axes_override_on_a_file_without_full_resolution_pages_fails_cleanly() {
    let path = fuzz_dir().join("review-only-reduced-page.tif");
    let opts = OpenOptions {
        series: 0,
        axes: Some("ZYX".into()),
    };
    let got = StackReader::open(&path, &opts).map_err(|e| e.to_string());
    check(
        &path,
        "--axes ZYX",
        got,
        &Expect::Fails("page 0", "no full-resolution page"),
    );
}

/// `from_bytes` (the fuzz targets' entry point) reads what `open` reads: the same info and
/// the same first and last plane of every series of every test file.
#[test]
fn from_bytes_reads_what_open_reads() {
    let mut files = Vec::new();
    for dir in [data_dir(), data_dir().join("../../assets")] {
        for set in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = set.path();
            let inner: Vec<PathBuf> = if p.is_dir() {
                std::fs::read_dir(&p)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path())
                    .collect()
            } else {
                vec![p]
            };
            files.extend(inner.into_iter().filter(|f| {
                let n = f.to_string_lossy().to_lowercase();
                (n.ends_with(".tif") || n.ends_with(".tiff")) && !n.contains("/fuzz/")
            }));
        }
    }
    assert!(files.len() >= 20, "{} files", files.len());
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let first = StackReader::open(&f, &OpenOptions::default()).unwrap();
        for series in 0..first.info().n_series {
            let opts = OpenOptions { series, axes: None };
            let a = StackReader::open(&f, &opts).unwrap();
            let b = StackReader::from_bytes(&f, bytes.clone(), &opts).unwrap();
            assert_eq!(a.info(), b.info(), "{}", f.display());
            let s = a.info().shape;
            for idx in [
                PlaneIndex::default(),
                PlaneIndex {
                    t: s.t - 1,
                    c: s.c - 1,
                    z: s.z - 1,
                },
            ] {
                let (pa, pb) = (a.read_plane(idx).unwrap(), b.read_plane(idx).unwrap());
                assert!(le_bytes(&pa) == le_bytes(&pb), "{} {idx:?}", f.display());
            }
        }
    }
}
