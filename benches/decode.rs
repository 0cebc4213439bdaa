//! TIFF decode throughput, in MB/s of decoded pixels, on the seeded movie of
//! `../shared/peers/gen_movie.py` (20 frames x 2 channels x 2048 x 2048 uint16, ImageJ):
//! uncompressed, LZW and zlib flavours, streamed with 1 and 2 decode threads.
//!
//! Make the movie first (needs numpy + tifffile + imagecodecs), then run:
//!   python3 ../shared/peers/gen_movie.py /tmp/movie --frames 20
//!   MIGRASCOPE_MOVIE_DIR=/tmp/movie cargo bench --bench decode
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
        let Ok(reader) = StackReader::open(&path, &OpenOptions::default()) else {
            eprintln!(
                "skipping {}: make it with ../shared/peers/gen_movie.py (see benches/decode.rs)",
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
