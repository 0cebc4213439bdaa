//! ImageJ metadata: the `ImageJ=` description (`images`, `channels`, `slices`, `frames`,
//! `unit`, `spacing`, `finterval`, ...) and the IJMetadata tag (50839, slice labels), plus the
//! length-unit names ImageJ and OME use, converted to µm.
//!
//! Not here: deciding the series layout (`layout`), reading tags (`index`).

use std::collections::HashMap;

/// What an `ImageJ=` description says.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ImageJDesc {
    pub images: Option<usize>,
    pub channels: Option<usize>,
    pub slices: Option<usize>,
    pub frames: Option<usize>,
    /// Length unit of X (and of Y/Z unless `yunit`/`zunit` say otherwise).
    pub unit: Option<String>,
    pub yunit: Option<String>,
    pub zunit: Option<String>,
    pub spacing: Option<f64>,
    pub finterval: Option<f64>,
    pub tunit: Option<String>,
}

/// Parses an ImageJ description; `None` when `desc` is not one.
pub(crate) fn parse_description(desc: &str) -> Option<ImageJDesc> {
    if !desc.starts_with("ImageJ=") {
        return None;
    }
    let kv: HashMap<&str, &str> = desc
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    // Sizes beyond 2^32 are not ImageJ's; treat them as absent rather than allocate for them.
    let count = |k: &str| {
        kv.get(k)
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|&n| n > 0 && n < u32::MAX as u64)
            .map(|n| n as usize)
    };
    let float = |k: &str| {
        kv.get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v > 0.0)
    };
    let text = |k: &str| kv.get(k).map(|v| v.to_string());
    Some(ImageJDesc {
        images: count("images"),
        channels: count("channels"),
        slices: count("slices"),
        frames: count("frames"),
        unit: text("unit"),
        yunit: text("yunit"),
        zunit: text("zunit"),
        spacing: float("spacing"),
        finterval: float("finterval"),
        tunit: text("tunit"),
    })
}

/// µm per one `unit` (ImageJ or OME spelling); `None` for pixels, inches (a print setting, not
/// a pixel size) or anything unknown.
pub(crate) fn um_per_unit(unit: &str) -> Option<f64> {
    let u = unit.trim().trim_matches('"');
    let u = u
        .replace("\\u00B5", "µ")
        .replace("\\u00b5", "µ")
        .replace('μ', "µ");
    Some(match u.to_ascii_lowercase().as_str() {
        "µm" | "micron" | "microns" | "um" | "micrometer" | "micrometre" => 1.0,
        "nm" | "nanometer" | "nanometre" => 1e-3,
        "pm" => 1e-6,
        "å" | "angstrom" => 1e-4,
        "mm" | "millimeter" | "millimetre" => 1e3,
        "cm" | "centimeter" | "centimetre" => 1e4,
        "m" | "meter" | "metre" => 1e6,
        _ => return None,
    })
}

/// Seconds per one time `unit` (ImageJ `tunit` or OME `TimeIncrementUnit`).
pub(crate) fn s_per_unit(unit: &str) -> Option<f64> {
    let u = unit.trim().replace('μ', "µ");
    Some(match u.to_ascii_lowercase().as_str() {
        "s" | "sec" | "second" | "seconds" => 1.0,
        "ms" | "msec" => 1e-3,
        "µs" | "us" => 1e-6,
        "ns" => 1e-9,
        "min" | "minute" | "minutes" => 60.0,
        "h" | "hr" | "hour" | "hours" => 3600.0,
        _ => return None,
    })
}

/// Slice labels from IJMetadata (`labl` entries), in page order; empty labels are `None`.
/// Malformed metadata yields no labels: names are a nicety, never a reason to refuse a file.
pub(crate) fn parse_labels(data: &[u8], counts: &[u64]) -> Vec<Option<String>> {
    parse_labels_checked(data, counts).unwrap_or_default()
}

fn parse_labels_checked(data: &[u8], counts: &[u64]) -> Option<Vec<Option<String>>> {
    let be = match data.get(..4)? {
        b"IJIJ" => true,
        b"JIJI" => false,
        _ => return None,
    };
    let u32_at = |p: usize| -> Option<u32> {
        let b: [u8; 4] = data.get(p..p + 4)?.try_into().ok()?;
        Some(if be {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let header = usize::try_from(*counts.first()?).ok()?;
    if !(12..=804).contains(&header) {
        return None;
    }
    let ntypes = (header - 4) / 8;
    let mut pos = header;
    let mut counter = 1usize;
    let mut labels = Vec::new();
    for k in 0..ntypes {
        let h = 4 + k * 8;
        let tag = data.get(h..h + 4)?;
        let n = u32_at(h + 4)? as usize;
        let is_label = tag == b"labl" || tag == b"lbal";
        for _ in 0..n {
            let len = usize::try_from(*counts.get(counter)?).ok()?;
            let bytes = data.get(pos..pos.checked_add(len)?)?;
            if is_label {
                let units: Vec<u16> = bytes
                    .chunks_exact(2)
                    .map(|c| {
                        if be {
                            u16::from_be_bytes([c[0], c[1]])
                        } else {
                            u16::from_le_bytes([c[0], c[1]])
                        }
                    })
                    .collect();
                let s = String::from_utf16_lossy(&units);
                let s = s.trim_end_matches('\0').to_string();
                labels.push((!s.is_empty()).then_some(s));
            }
            pos += len;
            counter += 1;
        }
    }
    Some(labels)
}

/// IJMetadata bytes holding one label per page, and the matching IJMetadataByteCounts. The
/// integers and UTF-16 text follow the file's byte order (`le`), as ImageJ and tifffile read
/// them; the magic is `IJIJ` big-endian, `JIJI` little-endian.
pub(crate) fn encode_labels(labels: &[String], le: bool) -> (Vec<u8>, Vec<u32>) {
    let u32b = |v: u32| if le { v.to_le_bytes() } else { v.to_be_bytes() };
    let mut data = if le {
        b"JIJIlabl".to_vec()
    } else {
        b"IJIJlabl".to_vec()
    };
    data.extend_from_slice(&u32b(labels.len() as u32));
    let mut counts = vec![data.len() as u32];
    for l in labels {
        let start = data.len();
        for u in l.encode_utf16() {
            data.extend_from_slice(&if le { u.to_le_bytes() } else { u.to_be_bytes() });
        }
        counts.push((data.len() - start) as u32);
    }
    (data, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_fields() {
        let d = parse_description(
            "ImageJ=1.53f\nimages=41\nslices=41\nunit=\\u00B5m\nspacing=0.125\nloop=false\n",
        )
        .unwrap();
        assert_eq!(d.images, Some(41));
        assert_eq!(d.slices, Some(41));
        assert_eq!(d.channels, None);
        assert_eq!(d.spacing, Some(0.125));
        assert_eq!(um_per_unit(d.unit.as_deref().unwrap()), Some(1.0));
        assert!(parse_description("{\"shape\": [1]}").is_none());
        assert_eq!(
            parse_description("ImageJ=\nimages=99999999999")
                .unwrap()
                .images,
            None
        );
    }

    #[test]
    fn units() {
        assert_eq!(um_per_unit("micron"), Some(1.0));
        assert_eq!(um_per_unit("nm"), Some(1e-3));
        assert_eq!(um_per_unit("pixel"), None);
        assert_eq!(um_per_unit("inch"), None);
        assert_eq!(s_per_unit("ms"), Some(1e-3));
        assert_eq!(s_per_unit("min"), Some(60.0));
    }

    #[test]
    fn labels_round_trip_and_garbage() {
        let names = vec!["DNA".to_string(), String::new(), "ER µ".to_string()];
        for le in [false, true] {
            let (data, counts) = encode_labels(&names, le);
            let counts: Vec<u64> = counts.into_iter().map(u64::from).collect();
            let got = parse_labels(&data, &counts);
            assert_eq!(got, vec![Some("DNA".into()), None, Some("ER µ".into())]);
        }
        let (data, counts) = encode_labels(&names, false);
        let counts: Vec<u64> = counts.into_iter().map(u64::from).collect();
        assert!(parse_labels(&data[..10], &counts).is_empty());
        assert!(parse_labels(b"nonsense", &[12, 5]).is_empty());
        assert!(parse_labels(&data, &[12, 1 << 40]).is_empty());
    }
}
