//! Bytes → UTF-8 → the `analyze --config` TOML parser and the `--set key=value` parser, the
//! path `analyze` takes: `parameters_from_text` (preset, then the TOML, then each override,
//! then validation), then channel roles from the `[channels]` table and the parameters in
//! pixels. The input is the TOML text, then up to 8 `--set` strings, separated by NUL bytes
//! (which neither a TOML file nor a command-line argument can hold).
#![no_main]

use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use migrascope::image::SampleType;
use migrascope::io::{MetaSources, PixelSize, Shape, StackInfo};
use migrascope::pipeline::migrasome::{
    AnalyzeParams, Preset, PxParams, RoleChoices, parameters_from_text, resolve_roles,
};

fn three_channels() -> StackInfo {
    StackInfo {
        path: PathBuf::from("fuzz.tif"),
        shape: Shape {
            t: 1,
            c: 3,
            z: 1,
            y: 8,
            x: 8,
        },
        dtype: SampleType::U16,
        axes_source: "ome".into(),
        pixel_size_um: PixelSize::default(),
        time_increment_s: None,
        channels: vec![Some("DAPI".into()), Some("WGA".into()), None],
        metadata_source: MetaSources::default(),
        compression: "none".into(),
        bigtiff: false,
        ome: true,
        imagej: false,
        pages: 3,
        series: 0,
        n_series: 1,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.split('\0');
    let toml_text = parts.next().unwrap_or("");
    let sets: Vec<String> = parts.take(8).map(str::to_string).collect();
    let preset = if data.len() % 2 == 0 {
        Preset::Wga
    } else {
        Preset::Tspan4Gfp
    };
    let path = Path::new("fuzz.toml");
    let Ok((p, channels)) = parameters_from_text(preset, Some((path, toml_text)), &sets) else {
        return;
    };
    p.validate()
        .expect("parameters_from_text returns validated parameters");
    // What analyze does next with them.
    let _ = resolve_roles(
        &RoleChoices::default(),
        channels.as_ref(),
        &three_channels(),
    );
    for px in [0.065, 0.1, 1.0] {
        PxParams::new(&p, px).expect("a positive pixel size");
    }
    // Valid parameters written out as TOML read back as the same parameters.
    let written = toml::to_string(&p).expect("parameters serialise to TOML");
    let back = AnalyzeParams::from_toml(&written, &AnalyzeParams::preset(preset), path)
        .unwrap_or_else(|e| panic!("written parameters do not read back: {e}\n{written}"));
    assert_eq!(back, p, "parameters changed through TOML:\n{written}");
});
