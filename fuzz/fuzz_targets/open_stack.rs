//! Bytes → `StackReader::from_bytes` (the whole file in memory) → metadata → first and last
//! plane, for every series the file declares (first and last series).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use migrascope::io::{OpenOptions, StackReader};
use migrascope_fuzz::{read_ends, touch_info};

fuzz_target!(|data: &[u8]| {
    let name = Path::new("fuzz.ome.tif");
    let Ok(r) = StackReader::from_bytes(name, data, &OpenOptions::default()) else {
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
        let last = StackReader::from_bytes(name, data, &opts).expect("series the file declared");
        std::hint::black_box(touch_info(last.info()));
        read_ends(&last);
    }
});
