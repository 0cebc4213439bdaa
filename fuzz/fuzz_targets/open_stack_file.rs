//! As `open_stack`, through a real file: bytes → a per-process file in /dev/shm →
//! `StackReader::open(path)`, the path `migrascope info` and `analyze` take. Slower than the
//! in-memory target (see fuzz/README.md); kept to fuzz the file-handle decoders too.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use migrascope::io::{OpenOptions, StackReader};
use migrascope_fuzz::{read_ends, touch_info};

fn temp_path() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("migrascope-fuzz-{}.tif", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = temp_path();
    std::fs::write(path, data).expect("write the temp file");
    let Ok(r) = StackReader::open(path, &OpenOptions::default()) else {
        return;
    };
    std::hint::black_box(touch_info(r.info()));
    read_ends(&r);
    let n = r.info().n_series;
    if n > 1 {
        let opts = OpenOptions {
            series: n - 1,
            axes: None,
        };
        let last = StackReader::open(path, &opts).expect("series the file declared");
        std::hint::black_box(touch_info(last.info()));
        read_ends(&last);
    }
});
