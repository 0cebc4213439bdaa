//! Files that tifffile writes (`tests/py/make_variants.py`: RGB chunky/planar, tiles, strips,
//! zlib with predictor, both byte orders, BigTIFF, int8 to float64, ImageJ hyperstack / RGB /
//! truncated, OME with two images, "shaped" with axes) read back identically: every series,
//! pixels compared by SHA-256 in tifffile's order. Needs python3 + numpy + tifffile.

use std::process::Command;

use serde_json::Value;

use super::{digest_in_tifffile_order, open, open_series};

#[test]
fn tifffile_written_variants_read_identically() {
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/make_variants.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| {
            panic!("python3 is required (apt install python3-numpy python3-tifffile): {e}")
        });
    assert!(
        out.status.success(),
        "make_variants.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut n = 0;
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let path = std::path::PathBuf::from(v["file"].as_str().unwrap());
        let series = v["series"].as_array().unwrap();
        assert_eq!(
            open(&path).info().n_series,
            series.len(),
            "{}",
            path.display()
        );
        for (s, want) in series.iter().enumerate() {
            let r = open_series(&path, s);
            let axes = want["axes"].as_str().unwrap();
            let shape: Vec<usize> = want["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            let i = r.info();
            assert_eq!(
                i.dtype.name(),
                want["dtype"].as_str().unwrap(),
                "{}",
                path.display()
            );
            assert_eq!(
                i.shape.planes() * i.shape.y * i.shape.x,
                shape.iter().product::<usize>(),
                "{} {axes}",
                path.display()
            );
            let digest = digest_in_tifffile_order(std::slice::from_ref(&r), axes, &shape);
            assert_eq!(
                digest,
                want["sha256"].as_str().unwrap(),
                "{} series {s} ({axes} {shape:?})",
                path.display()
            );
            n += 1;
        }
    }
    assert_eq!(n, 20);
}

/// One little-endian classic TIFF page: `strips` of pixel data after the header, then the
/// array values, then the IFD. Entries are (tag, type 3 = SHORT or 4 = LONG, values).
fn one_page(mut entries: Vec<(u16, u16, Vec<u32>)>, strips: &[Vec<u8>]) -> Vec<u8> {
    let mut b = b"II*\0\0\0\0\0".to_vec();
    let (mut offs, mut counts) = (Vec::new(), Vec::new());
    for s in strips {
        offs.push(b.len() as u32);
        counts.push(s.len() as u32);
        b.extend_from_slice(s);
    }
    entries.push((273, 4, offs));
    entries.push((279, 4, counts));
    entries.sort_by_key(|e| e.0);
    let mut fields = Vec::new();
    for (tag, ty, vals) in &entries {
        let bytes: Vec<u8> = vals
            .iter()
            .flat_map(|&v| {
                if *ty == 3 {
                    (v as u16).to_le_bytes().to_vec()
                } else {
                    v.to_le_bytes().to_vec()
                }
            })
            .collect();
        let field = if bytes.len() <= 4 {
            let mut f = bytes.clone();
            f.resize(4, 0);
            f
        } else {
            let at = b.len() as u32;
            b.extend_from_slice(&bytes);
            at.to_le_bytes().to_vec()
        };
        fields.push((*tag, *ty, vals.len() as u32, field));
    }
    if b.len() % 2 == 1 {
        b.push(0);
    }
    let ifd = b.len() as u32;
    b[4..8].copy_from_slice(&ifd.to_le_bytes());
    b.extend_from_slice(&(fields.len() as u16).to_le_bytes());
    for (tag, ty, n, f) in fields {
        b.extend_from_slice(&tag.to_le_bytes());
        b.extend_from_slice(&ty.to_le_bytes());
        b.extend_from_slice(&n.to_le_bytes());
        b.extend_from_slice(&f);
    }
    b.extend_from_slice(&[0; 4]);
    b
}

/// `bits`-bit samples packed most significant bit first, each row padded to a whole byte.
fn pack_rows(v: &[u32], row_len: usize, bits: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for row in v.chunks(row_len) {
        let mut acc: Vec<bool> = row
            .iter()
            .flat_map(|&s| (0..bits).rev().map(move |k| (s >> k) & 1 == 1))
            .collect();
        acc.resize(acc.len().div_ceil(8) * 8, false);
        out.extend(
            acc.chunks(8)
                .map(|c| c.iter().fold(0u8, |a, &bit| a << 1 | bit as u8)),
        );
    }
    out
}

/// The raw path (chunks the `tiff` crate does not expand): palette pages with LZW + horizontal
/// predictor, ZSTD and PackBits; 12-bit gray with Deflate; 12-bit RGB chunky; 4-bit gray.
#[test]
fn raw_path_codecs_and_bit_depths() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (16usize, 12usize);
    let idx: Vec<u32> = (0..w * h)
        .map(|i| ((i % w) * 17 + (i / w) * 31) as u32 % 256)
        .collect();
    let cmap = (
        259,
        3,
        (0..768).map(|i| (i % 256) * 257).collect::<Vec<u32>>(),
    );
    let base = |bits: u32, spp: u32, photo: u32, comp: u32, rps: u32| {
        vec![
            (256, 4, vec![w as u32]),
            (257, 4, vec![h as u32]),
            (258, 3, vec![bits; spp as usize]),
            (259, 3, vec![comp]),
            (262, 3, vec![photo]),
            (277, 3, vec![spp]),
            (278, 4, vec![rps]),
        ]
    };
    let with_cmap = |mut e: Vec<(u16, u16, Vec<u32>)>| {
        e.push((320, cmap.1, cmap.2.clone()));
        e
    };
    let mut files: Vec<(&str, Vec<u8>, usize, Vec<u32>)> = Vec::new();

    // Palette, LZW, horizontal predictor, strips of 5 rows.
    let rows: Vec<u8> = idx
        .chunks(w)
        .flat_map(|r| {
            (0..w).map(move |x| {
                if x == 0 {
                    r[0] as u8
                } else {
                    (r[x] as u8).wrapping_sub(r[x - 1] as u8)
                }
            })
        })
        .collect();
    let strips: Vec<Vec<u8>> = rows
        .chunks(5 * w)
        .map(|s| {
            weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
                .encode(s)
                .unwrap()
        })
        .collect();
    let mut e = with_cmap(base(8, 1, 3, 5, 5));
    e.push((317, 3, vec![2]));
    files.push(("palette_lzw_pred.tif", one_page(e, &strips), 1, idx.clone()));

    // Palette, ZSTD, one strip.
    let bytes: Vec<u8> = idx.iter().map(|&v| v as u8).collect();
    let z = zstd::encode_all(&bytes[..], 3).unwrap();
    files.push((
        "palette_zstd.tif",
        one_page(with_cmap(base(8, 1, 3, 50000, h as u32)), &[z]),
        1,
        idx.clone(),
    ));

    // Palette, PackBits, one literal run per row.
    let pb: Vec<u8> = bytes
        .chunks(w)
        .flat_map(|r| std::iter::once((w - 1) as u8).chain(r.iter().copied()))
        .collect();
    files.push((
        "palette_packbits.tif",
        one_page(with_cmap(base(8, 1, 3, 32773, h as u32)), &[pb]),
        1,
        idx.clone(),
    ));

    // 12-bit gray, Deflate, two strips of 6 rows.
    let v12: Vec<u32> = (0..w * h).map(|i| (i as u32 * 977) % 4096).collect();
    let strips: Vec<Vec<u8>> = v12
        .chunks(6 * w)
        .map(|s| {
            use std::io::Write;
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            z.write_all(&pack_rows(s, w, 12)).unwrap();
            z.finish().unwrap()
        })
        .collect();
    files.push((
        "gray12_deflate.tif",
        one_page(base(12, 1, 1, 8, 6), &strips),
        1,
        v12.clone(),
    ));

    // 12-bit RGB, chunky, uncompressed: channel c of pixel i is v12[(3 * i + c) % len].
    let rgb: Vec<u32> = (0..w * h * 3)
        .map(|k| v12[k % v12.len()] ^ (k as u32 % 7))
        .collect();
    let strip = pack_rows(&rgb, 3 * w, 12);
    files.push((
        "rgb12.tif",
        one_page(base(12, 3, 2, 1, h as u32), &[strip]),
        3,
        rgb.clone(),
    ));

    // 4-bit gray, uncompressed.
    let v4: Vec<u32> = (0..w * h).map(|i| (i as u32 * 5) % 16).collect();
    files.push((
        "gray4.tif",
        one_page(base(4, 1, 1, 1, h as u32), &[pack_rows(&v4, w, 4)]),
        1,
        v4.clone(),
    ));

    for (name, bytes, c, want) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let r = open(&path);
        assert_eq!(
            (r.info().shape.c, r.info().shape.y, r.info().shape.x),
            (c, h, w),
            "{name}"
        );
        for ch in 0..c {
            let p = r
                .read_plane(migrascope::io::PlaneIndex { t: 0, c: ch, z: 0 })
                .unwrap();
            let got: Vec<u32> = p.data.to_f64_vec().iter().map(|&v| v as u32).collect();
            let exp: Vec<u32> = (0..w * h).map(|i| want[i * c + ch]).collect();
            assert_eq!(got, exp, "{name} channel {ch}");
        }
    }
}
