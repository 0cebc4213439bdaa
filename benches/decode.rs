//! TIFF decode throughput, in MB/s of decoded pixels, on the seeded benchmark movie of
//! `migrascope::pipeline::movie` (20 frames x 2 channels x 2048 x 2048 uint16, ImageJ):
//! uncompressed, LZW and zlib flavours, streamed with 1 and 2 decode threads.
//!
//!   MIGRASCOPE_MOVIE_DIR=/tmp/movie cargo bench --bench decode
//! makes `movie_raw.tif` there (`make_movie`, seed 42) when it is missing. The compressed
//! flavours are tifffile's re-encodings of it (needs numpy + tifffile + imagecodecs):
//!   python3 -c "import tifffile as t; d = t.imread('/tmp/movie/movie_raw.tif'); \
//!     [t.imwrite(f'/tmp/movie/movie_{c}.tif', d, imagej=True, compression=c) for c in ('lzw', 'zlib')]"
//! tifffile's single-thread figures for the same files: `python3 tests/py/bench_tifffile.py /tmp/movie`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use migrascope::io::{OpenOptions, StackReader};

fn movie_dir() -> PathBuf {
    std::env::var_os("MIGRASCOPE_MOVIE_DIR")
        .map_or_else(|| PathBuf::from("/tmp/movie"), PathBuf::from)
}

fn decode(c: &mut Criterion) {
    let dir = movie_dir();
    let mut group = c.benchmark_group("decode");
    group.sample_size(10);
    for flavour in ["raw", "lzw", "zlib"] {
        let path = dir.join(format!("movie_{flavour}.tif"));
        if flavour == "raw" && !path.exists() {
            eprintln!("making {} (seed 42, 20 frames)", path.display());
            std::fs::create_dir_all(&dir).expect("movie folder");
            migrascope::pipeline::movie::make_movie(&path, 42, 20, 2048).expect("movie");
        }
        let Ok(reader) = StackReader::open(&path, &OpenOptions::default()) else {
            eprintln!(
                "skipping {}: re-encode movie_raw.tif with tifffile (see benches/decode.rs)",
                path.display()
            );
            continue;
        };
        let info = reader.info();
        let planes = info.shape.plane_indices();
        group.throughput(Throughput::BytesDecimal(
            (planes.len() * info.plane_bytes()) as u64,
        ));
        for threads in [1, 2] {
            group.bench_function(format!("{flavour}/{threads}-thread"), |b| {
                b.iter(|| {
                    for p in reader.stream(planes.clone(), threads, 2 * threads) {
                        black_box(p.unwrap());
                    }
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
