//! Hostile and broken files: truncated, offsets past the end, IFD loops, absurd sizes,
//! non-TIFF, corrupt compressed data and random byte flips. Each must give an `Err` whose one
//! line names the file, the place (header, page N, tag) and the reason; never a panic. The bad
//! files are crafted here.

use std::path::{Path, PathBuf};

use migrascope::io::{
    OpenOptions, PixelSize, PlaneIndex, Shape, StackReader, WriteSpec, write_ome_u16,
};

/// Opens and reads every plane; the first error as its one-line message.
fn try_all(path: &Path) -> Result<usize, String> {
    let r = StackReader::open(path, &OpenOptions::default()).map_err(|e| e.to_string())?;
    let mut n = 0;
    for p in r.stream(r.info().shape.plane_indices(), 2, 2) {
        p.map_err(|e| e.to_string())?;
        n += 1;
    }
    Ok(n)
}

fn expect_err(path: &Path, place: &str, why: &str) -> String {
    let e = try_all(path).expect_err("a bad file must not read");
    assert!(!e.contains('\n'), "one line: {e}");
    assert!(
        e.starts_with(&*path.to_string_lossy()),
        "names the file: {e}"
    );
    assert!(e.contains(place), "names the place '{place}': {e}");
    assert!(e.to_lowercase().contains(why), "says '{why}': {e}");
    e
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// IFD entries: (tag, type, count, value or offset).
type Entries = Vec<(u16, u16, u32, u32)>;

/// A little-endian classic TIFF: IFDs at the given offsets, each with its entries and a
/// next-IFD pointer; `data` placed at offset 512.
fn tiff(ifds: &[(u32, Entries, u32)], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 512];
    b[..4].copy_from_slice(b"II*\0");
    b[4..8].copy_from_slice(&ifds[0].0.to_le_bytes());
    for (at, entries, next) in ifds {
        let mut o = *at as usize;
        b[o..o + 2].copy_from_slice(&(entries.len() as u16).to_le_bytes());
        o += 2;
        for &(tag, ty, count, value) in entries {
            b[o..o + 2].copy_from_slice(&tag.to_le_bytes());
            b[o + 2..o + 4].copy_from_slice(&ty.to_le_bytes());
            b[o + 4..o + 8].copy_from_slice(&count.to_le_bytes());
            b[o + 8..o + 12].copy_from_slice(&value.to_le_bytes());
            o += 12;
        }
        b[o..o + 4].copy_from_slice(&next.to_le_bytes());
    }
    b.extend_from_slice(data);
    b
}

/// Entries of a w x h 8-bit gray page whose single strip is `bytes` long at `offset`.
fn gray8(w: u32, h: u32, offset: u32, bytes: u32) -> Entries {
    vec![
        (256, 4, 1, w),
        (257, 4, 1, h),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, 1, offset),
        (277, 3, 1, 1),
        (278, 4, 1, h),
        (279, 4, 1, bytes),
    ]
}

#[test]
fn a_crafted_good_file_reads() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "good.tif",
        &tiff(&[(8, gray8(4, 4, 512, 16), 0)], &[7u8; 16]),
    );
    assert_eq!(try_all(&p), Ok(1));
}

#[test]
fn non_tiff_and_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "notes.txt",
        b"these are not the pixels you are looking for",
    );
    expect_err(&p, "header", "not a tiff");
    let p = write(dir.path(), "empty.tif", b"");
    expect_err(&p, "header", "not a tiff");
    let p = write(dir.path(), "png.tif", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    expect_err(&p, "header", "not a tiff");
    let p = write(dir.path(), "magic.tif", b"II\x2b\x00\x08\x00\x00\x00");
    expect_err(&p, "header", "truncated header");
    let p = write(dir.path(), "version.tif", b"II\x2a\x01\x00\x00\x00\x08");
    expect_err(&p, "header", "not a tiff");
    let missing = dir.path().join("missing.tif");
    let e = StackReader::open(&missing, &OpenOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&*missing.to_string_lossy()) && !e.contains('\n'),
        "{e}"
    );
}

#[test]
fn truncated_files() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.ome.tif");
    let spec = WriteSpec {
        shape: Shape {
            t: 4,
            c: 1,
            z: 1,
            y: 64,
            x: 64,
        },
        pixel_size_um: PixelSize::default(),
        time_increment_s: None,
        channels: vec![],
    };
    write_ome_u16(&good, &spec, (0..4).map(|t| vec![t as u16; 64 * 64])).unwrap();
    assert_eq!(try_all(&good), Ok(4));
    let bytes = std::fs::read(&good).unwrap();
    // Cut inside the pixel data of the last pages: the index sees strips past the end.
    let p = write(dir.path(), "cut_data.tif", &bytes[..bytes.len() * 3 / 4]);
    let e = expect_err(&p, "page", "past the end");
    assert!(e.contains("truncated"), "{e}");
    // Cut inside the header.
    let p = write(dir.path(), "cut_header.tif", &bytes[..6]);
    expect_err(&p, "header", "truncated header");
    // Cut right after the header: the first IFD is gone.
    let p = write(dir.path(), "cut_ifd.tif", &bytes[..16]);
    expect_err(&p, "header", "first ifd offset");
}

#[test]
fn offsets_past_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "strip.tif",
        &tiff(&[(8, gray8(4, 4, 1 << 20, 16), 0)], &[0; 16]),
    );
    expect_err(
        &p,
        "page 0",
        "strip 0 (offset 1048576, 16 bytes) lies past the end",
    );
    let p = write(
        dir.path(),
        "count.tif",
        &tiff(&[(8, gray8(4, 4, 512, 1 << 30), 0)], &[0; 16]),
    );
    expect_err(&p, "page 0", "past the end");
    let p = write(
        dir.path(),
        "ifd.tif",
        &tiff(&[(8, gray8(4, 4, 512, 16), 1 << 24)], &[0; 16]),
    );
    expect_err(&p, "page 1", "end of file");
    let mut b = tiff(&[(8, gray8(4, 4, 512, 16), 0)], &[0; 16]);
    b[4..8].copy_from_slice(&(1u32 << 30).to_le_bytes());
    let p = write(dir.path(), "first_ifd.tif", &b);
    expect_err(&p, "header", "lies outside the file");
}

#[test]
fn ifd_loops() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "self.tif",
        &tiff(&[(8, gray8(4, 4, 512, 16), 8)], &[0; 16]),
    );
    expect_err(&p, "page 0", "loop");
    let two = [
        (8, gray8(4, 4, 512, 16), 200),
        (200, gray8(4, 4, 512, 16), 8),
    ];
    let p = write(dir.path(), "two.tif", &tiff(&two, &[0; 16]));
    expect_err(&p, "page 1", "loop");
}

#[test]
fn absurd_sizes_are_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    // 1,000,000 x 1,000,000 pixels declared with a 16-byte strip.
    let p = write(
        dir.path(),
        "huge.tif",
        &tiff(&[(8, gray8(1_000_000, 1_000_000, 512, 16), 0)], &[0; 16]),
    );
    expect_err(&p, "page 0", "exceed the 2048 mib page limit");
    // A tag claiming 2^30 values: more than the reader reads for a tag.
    let mut e = gray8(4, 4, 512, 16);
    e.push((270, 2, 1 << 30, 512));
    let p = write(dir.path(), "bigtag.tif", &tiff(&[(8, e, 0)], &[0; 16]));
    expect_err(&p, "page 0", "");
    // An ImageJ description claiming a billion images in a tiny file.
    let desc = b"ImageJ=1.53\nimages=1000000000\nslices=1000000000\n\0";
    let mut e = gray8(4, 4, 600, 16);
    e.insert(5, (270, 2, desc.len() as u32, 512));
    let mut data = desc.to_vec();
    data.resize(88, 0);
    data.extend_from_slice(&[0; 16]);
    let p = write(dir.path(), "ij.tif", &tiff(&[(8, e, 0)], &data));
    expect_err(&p, "page 0", "images");
    // OME-XML declaring more planes than pages.
    let xml = b"<?xml version=\"1.0\"?><OME xmlns=\"x\"><Image><Pixels DimensionOrder=\"XYZCT\" SizeX=\"4\" SizeY=\"4\" SizeZ=\"100000\" SizeC=\"100000\" SizeT=\"100000\" Type=\"uint8\"/></Image></OME>\0";
    let mut e = gray8(4, 4, 1024, 16);
    e.insert(5, (270, 2, xml.len() as u32, 512));
    let mut data = xml.to_vec();
    data.resize(512, 0);
    data.extend_from_slice(&[0; 16]);
    let p = write(dir.path(), "ome.tif", &tiff(&[(8, e, 0)], &data));
    expect_err(&p, "OME Image 0", "pages");
}

#[test]
fn corrupt_compressed_data_and_unsupported_compression() {
    let dir = tempfile::tempdir().unwrap();
    for (code, name) in [
        (5u32, "lzw"),
        (8, "deflate"),
        (50000, "zstd"),
        (32773, "packbits"),
    ] {
        let mut e = gray8(16, 16, 512, 64);
        e[3] = (259, 3, 1, code);
        let garbage: Vec<u8> = (0..64u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let p = write(
            dir.path(),
            &format!("{name}.tif"),
            &tiff(&[(8, e, 0)], &garbage),
        );
        expect_err(&p, "page 0 (t=0 c=0 z=0)", "");
    }
    let mut e = gray8(16, 16, 512, 64);
    e[3] = (259, 3, 1, 34712);
    let p = write(dir.path(), "jp2.tif", &tiff(&[(8, e, 0)], &[0; 64]));
    expect_err(&p, "page 0", "unsupported");
    // Palette page (goes through the raw path) with unknown compression.
    let mut e = gray8(16, 16, 512, 64);
    e[3] = (259, 3, 1, 34712);
    e[4] = (262, 3, 1, 3);
    let p = write(dir.path(), "pal.tif", &tiff(&[(8, e, 0)], &[0; 64]));
    expect_err(&p, "page 0", "unsupported: compression jpeg2000");
}

/// Deterministic byte flips over small valid files of every flavour in the test data: every
/// mutant either reads or errs; none panics, hangs or allocates absurdly.
#[test]
fn random_byte_flips_never_panic() {
    let data = super::data_dir();
    let files = [
        "tiff-conformance-seq/seq-1c-16b-lzw-68f373a0.tiff",
        "tiff-conformance-seq/seq-1c-8b-tiled-bigtiff-20f3db0c.tiff",
        "tiff-conformance-seq/seq-3c-10b-planar-c82e8ab6.tiff",
        "tiff-conformance-seq/seq-1c-32f-deflate-fpredict-390fe673.tiff",
        "tiff-conformance-seq/seq-3c-16b-bigtiff-1b40ca6e.tiff",
        "tiff-conformance-seq/seq-1c-8b-multipage-adeefdcc.tiff",
        "tiff-conformance-seq/seq-1c-16b-tiled-68f373a0.tiff",
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut state = 0x2545F4914F6CDD1Du64;
    let mut rand = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut ok, mut err) = (0, 0);
    for f in files {
        let orig = std::fs::read(data.join(f)).unwrap();
        for i in 0..150 {
            let mut b = orig.clone();
            for _ in 0..1 + rand() % 4 {
                let at = (rand() % b.len() as u64) as usize;
                b[at] = match rand() % 3 {
                    0 => rand() as u8,
                    1 => 0xFF,
                    _ => b[at] ^ (1 << (rand() % 8)),
                };
            }
            let p = write(dir.path(), &format!("m{i}.tif"), &b);
            match try_all(&p) {
                Ok(_) => ok += 1,
                Err(e) => {
                    assert!(
                        !e.contains('\n') && e.starts_with(&*p.to_string_lossy()),
                        "{e}"
                    );
                    err += 1;
                }
            }
        }
    }
    assert!(ok > 0 && err > 0, "ok {ok} err {err}");
}

#[test]
fn planes_outside_the_stack_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "good.tif",
        &tiff(&[(8, gray8(4, 4, 512, 16), 0)], &[7u8; 16]),
    );
    let r = StackReader::open(&p, &OpenOptions::default()).unwrap();
    let e = r
        .read_plane(PlaneIndex { t: 1, c: 0, z: 0 })
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("outside the stack") && e.contains("good.tif"),
        "{e}"
    );
}
