//! What the `open_stack` targets do with an opened stack, shared by the in-memory and the
//! temp-file variants: read the metadata the way `migrascope info --json` reports it, then
//! decode the first and the last plane of the series (and of the last series, if the file
//! has several) and take their statistics, as `info --stats` does.

use migrascope::io::{PlaneIndex, PlaneStats, StackInfo, StackReader};

/// Stacks whose planes, all channels together, exceed this are not decoded here (a plane of
/// an interleaved page decodes the whole page, every channel). The library's own limit is
/// 2 GiB a page (it refuses larger ones with an error), beyond libFuzzer's 1 GiB
/// `-malloc_limit_mb` we run under; opening and the metadata still run for such files.
pub const MAX_FUZZ_PLANE_BYTES: usize = 64 << 20;

/// The metadata as `info` reads it: every field, serialised, and each channel's name.
pub fn touch_info(info: &StackInfo) -> usize {
    let json = serde_json::to_string(info).map_or(0, |s| s.len());
    let names: usize = (0..info.shape.c).map(|c| info.channel_name(c).len()).sum();
    json + names + info.plane_bytes() % 7 + info.shape.planes() % 7
}

/// The first and last plane of the reader's series, if they are small enough to decode.
/// A decode error is fine (the library says why in one line); a panic, hang or huge
/// allocation is what the fuzzer looks for.
pub fn read_ends(r: &StackReader) {
    let info = r.info();
    let s = info.shape;
    let bytes =
        s.x.saturating_mul(s.y)
            .saturating_mul(info.dtype.bytes())
            .saturating_mul(s.c);
    if s.planes() == 0 || bytes > MAX_FUZZ_PLANE_BYTES {
        return;
    }
    let last = PlaneIndex {
        t: s.t - 1,
        c: s.c - 1,
        z: s.z - 1,
    };
    for idx in [PlaneIndex::default(), last] {
        if let Ok(p) = r.read_plane(idx) {
            assert_eq!(
                (p.width, p.height),
                (s.x, s.y),
                "plane size differs from info"
            );
            assert_eq!(p.sample_type(), info.dtype, "sample type differs from info");
            std::hint::black_box(PlaneStats::of(&p));
        }
        if s.planes() == 1 {
            break;
        }
    }
    // A plane outside the stack is an error, never a panic.
    let outside = PlaneIndex {
        t: s.t,
        ..PlaneIndex::default()
    };
    assert!(
        r.read_plane(outside).is_err(),
        "plane outside the stack read"
    );
}
