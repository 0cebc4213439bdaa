//! OME-XML (the ImageDescription of an OME-TIFF's first page), read with quick-xml: each
//! `Image`'s `Pixels` (sizes, DimensionOrder, PhysicalSize* → µm, TimeIncrement → s),
//! `Channel` names and `TiffData` blocks, and the mapping of planes to IFDs they define.
//! Also the OME-XML our writer emits.
//!
//! Not here: reading tags or pixels; choosing between OME, ImageJ and plain (`layout`).

use std::path::Path;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

use super::PixelSize;
use super::imagej::{s_per_unit, um_per_unit};

#[derive(Clone, Debug, Default)]
pub(crate) struct TiffData {
    pub ifd: Option<usize>,
    pub first_z: usize,
    pub first_c: usize,
    pub first_t: usize,
    pub plane_count: Option<usize>,
    pub file_name: Option<String>,
    pub uuid: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct OmeImage {
    pub size_x: usize,
    pub size_y: usize,
    pub size_z: usize,
    pub size_c: usize,
    pub size_t: usize,
    pub order: String,
    pub pixel_type: Option<String>,
    pub pixel_size: PixelSize,
    pub time_increment_s: Option<f64>,
    /// Channel name and SamplesPerPixel of each `Channel` element.
    pub channels: Vec<(Option<String>, usize)>,
    pub tiff_data: Vec<TiffData>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct OmeDoc {
    pub uuid: Option<String>,
    pub images: Vec<OmeImage>,
    pub binary_only: bool,
}

/// Whether a description is OME-XML (tifffile's test: it ends with `OME>`).
pub(crate) fn is_ome(desc: &str) -> bool {
    let t = desc.trim_end_matches(['\0', ' ', '\n', '\r', '\t']);
    t.ends_with("OME>") && t.contains("<OME")
}

fn attrs(e: &BytesStart) -> Vec<(String, String)> {
    e.attributes()
        .flatten()
        .filter_map(|a| {
            let k = a.key.local_name().as_ref().to_string();
            let v = a
                .normalized_value(XmlVersion::Implicit1_0)
                .ok()?
                .to_string();
            Some((k, v))
        })
        .collect()
}

fn get<'a>(a: &'a [(String, String)], k: &str) -> Option<&'a str> {
    a.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
}

fn num(a: &[(String, String)], k: &str) -> Option<usize> {
    get(a, k)?.trim().parse().ok()
}

fn length_um(a: &[(String, String)], k: &str) -> Option<f64> {
    let v: f64 = get(a, k)?.trim().parse().ok()?;
    let unit = get(a, &format!("{k}Unit")).unwrap_or("µm");
    let um = v * um_per_unit(unit)?;
    (um.is_finite() && um > 0.0).then_some(um)
}

/// Parses OME-XML; `Err` says why it is not usable.
pub(crate) fn parse(xml: &str) -> Result<OmeDoc, String> {
    let mut r = quick_xml::Reader::from_str(xml);
    let mut doc = OmeDoc::default();
    let mut in_pixels = false;
    let mut in_uuid = false;
    loop {
        let ev = r
            .read_event()
            .map_err(|e| format!("OME-XML invalid at byte {}: {e}", r.error_position()))?;
        let (e, empty) = match ev {
            Event::Eof => break,
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(e) => {
                match e.local_name().as_ref() {
                    "Pixels" => in_pixels = false,
                    "UUID" => in_uuid = false,
                    _ => {}
                }
                continue;
            }
            Event::Text(t) if in_uuid => {
                let text = t.xml10_content().trim().to_string();
                if let Some(td) = doc.images.last_mut().and_then(|i| i.tiff_data.last_mut()) {
                    td.uuid = Some(text);
                }
                continue;
            }
            _ => continue,
        };
        let a = attrs(&e);
        match e.local_name().as_ref() {
            "OME" => doc.uuid = get(&a, "UUID").map(str::to_string),
            "BinaryOnly" => doc.binary_only = true,
            "Image" => doc.images.push(OmeImage::default()),
            "Pixels" => {
                let img = doc
                    .images
                    .last_mut()
                    .ok_or("OME-XML: Pixels outside an Image")?;
                let size = |k| {
                    num(&a, k)
                        .filter(|&n| n > 0)
                        .ok_or(format!("OME-XML: Pixels {k} missing"))
                };
                img.size_x = size("SizeX")?;
                img.size_y = size("SizeY")?;
                img.size_z = size("SizeZ")?;
                img.size_c = size("SizeC")?;
                img.size_t = size("SizeT")?;
                img.order = get(&a, "DimensionOrder").unwrap_or("XYZCT").to_string();
                img.pixel_type = get(&a, "Type").map(str::to_string);
                img.pixel_size = PixelSize {
                    x: length_um(&a, "PhysicalSizeX"),
                    y: length_um(&a, "PhysicalSizeY"),
                    z: length_um(&a, "PhysicalSizeZ"),
                };
                img.time_increment_s = get(&a, "TimeIncrement")
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .and_then(|v| {
                        Some(v * s_per_unit(get(&a, "TimeIncrementUnit").unwrap_or("s"))?)
                    })
                    .filter(|v| v.is_finite() && *v > 0.0);
                in_pixels = !empty;
            }
            "Channel" if in_pixels => {
                if let Some(img) = doc.images.last_mut() {
                    let name = get(&a, "Name")
                        .map(str::to_string)
                        .filter(|n| !n.is_empty());
                    img.channels
                        .push((name, num(&a, "SamplesPerPixel").unwrap_or(1).max(1)));
                }
            }
            "TiffData" if in_pixels => {
                if let Some(img) = doc.images.last_mut() {
                    img.tiff_data.push(TiffData {
                        ifd: num(&a, "IFD"),
                        first_z: num(&a, "FirstZ").unwrap_or(0),
                        first_c: num(&a, "FirstC").unwrap_or(0),
                        first_t: num(&a, "FirstT").unwrap_or(0),
                        plane_count: num(&a, "PlaneCount"),
                        ..Default::default()
                    });
                }
            }
            "UUID" if in_pixels => {
                if let Some(td) = doc.images.last_mut().and_then(|i| i.tiff_data.last_mut()) {
                    td.file_name = get(&a, "FileName").map(str::to_string);
                }
                in_uuid = !empty;
            }
            _ => {}
        }
    }
    if doc.binary_only {
        return Err("OME-XML is BinaryOnly (metadata in a companion file): not supported".into());
    }
    if doc.images.is_empty() {
        return Err("OME-XML has no Image".into());
    }
    Ok(doc)
}

impl OmeImage {
    /// For each plane in our order (t, c_page, z), the IFD holding it. `spp` is the samples per
    /// page: with RGB pages `SizeC` counts samples and one IFD holds `spp` of them.
    /// `first_ifd` is where this image's IFDs start when there is no `TiffData` at all.
    pub fn plane_ifds(
        &self,
        spp: usize,
        n_pages: usize,
        first_ifd: usize,
        path: &Path,
        doc_uuid: Option<&str>,
    ) -> Result<Vec<usize>, String> {
        let c_pages = if spp > 1 && self.size_c.is_multiple_of(spp) {
            self.size_c / spp
        } else {
            self.size_c
        };
        let (z, c, t) = (self.size_z, c_pages, self.size_t);
        let n = z
            .checked_mul(c)
            .and_then(|v| v.checked_mul(t))
            .filter(|&n| n <= n_pages)
            .ok_or(format!(
                "OME-XML declares {z}x{c}x{t} (ZxCxT) planes but the file has {n_pages} pages"
            ))?;
        let order = self.order.to_ascii_uppercase();
        let dims: Vec<char> = order.chars().filter(|ch| "ZCT".contains(*ch)).collect();
        if dims.len() != 3 {
            return Err(format!("OME-XML DimensionOrder {order} is not valid"));
        }
        let size_of = |d: char| match d {
            'Z' => z,
            'C' => c,
            _ => t,
        };
        // Position (z, c, t) ↔ linear index in DimensionOrder (first letter fastest); `None`
        // past usize (a TiffData FirstZ/FirstC/FirstT far out of range).
        let linear = |zi: usize, ci: usize, ti: usize| {
            let mut idx = 0usize;
            for &d in dims.iter().rev() {
                let i = match d {
                    'Z' => zi,
                    'C' => ci,
                    _ => ti,
                };
                idx = idx.checked_mul(size_of(d))?.checked_add(i)?;
            }
            Some(idx)
        };
        let mut by_linear: Vec<Option<usize>> = vec![None; n];
        if self.tiff_data.is_empty() {
            // Without TiffData this image's planes are the pages from `first_ifd` on.
            if first_ifd.saturating_add(n) > n_pages {
                return Err(format!(
                    "OME-XML (no TiffData) puts this image's {n} planes at IFDs {first_ifd}.. \
                     but the file has {n_pages} pages"
                ));
            }
            for (i, slot) in by_linear.iter_mut().enumerate() {
                *slot = Some(first_ifd + i);
            }
        }
        let our_name = path.file_name().map(|s| s.to_string_lossy().to_string());
        let names: std::collections::BTreeSet<_> = self
            .tiff_data
            .iter()
            .filter_map(|td| td.file_name.clone())
            .collect();
        for td in &self.tiff_data {
            let ours = match (&td.uuid, doc_uuid) {
                (Some(u), Some(d)) if u == d => true,
                _ => td.file_name.is_none() || td.file_name == our_name || names.len() == 1,
            };
            if !ours {
                return Err(format!(
                    "multi-file OME-TIFF: planes are stored in {} (not supported; open a \
                     single-file OME-TIFF)",
                    td.file_name.as_deref().unwrap_or("another file")
                ));
            }
            // Out of range it maps no plane, like any start past the last plane.
            let start = linear(td.first_z, td.first_c, td.first_t).unwrap_or(usize::MAX);
            let count = td
                .plane_count
                .unwrap_or(if td.ifd.is_some() { 1 } else { n });
            let ifd0 = td.ifd.unwrap_or(0);
            for k in 0..count.min(n.saturating_sub(start)) {
                let ifd = ifd0 + k;
                if ifd >= n_pages {
                    return Err(format!(
                        "OME TiffData maps a plane to IFD {ifd}, past the last page"
                    ));
                }
                by_linear[start + k] = Some(ifd);
            }
        }
        let mut out = Vec::with_capacity(n);
        for ti in 0..t {
            for ci in 0..c {
                for zi in 0..z {
                    let slot = linear(zi, ci, ti).and_then(|i| by_linear.get(i).copied());
                    let ifd = slot.flatten().ok_or(format!(
                        "OME-XML gives no IFD for plane t={ti} c={ci} z={zi}"
                    ))?;
                    out.push(ifd);
                }
            }
        }
        Ok(out)
    }
}

/// XML-escaped and pure ASCII (TIFF ASCII tags): other characters as `&#N;` references.
fn xml_escape(s: &str) -> String {
    quick_xml::escape::escape(s)
        .chars()
        .map(|ch| {
            if ch.is_ascii() {
                ch.to_string()
            } else {
                format!("&#{};", ch as u32)
            }
        })
        .collect()
}

/// OME-XML for a single-file, single-image OME-TIFF whose pages run C fastest, then Z, then
/// T (DimensionOrder XYCZT), as our writer stores them.
pub(crate) fn to_xml(spec: &super::WriteSpec, pixel_type: &str, big_endian: bool) -> String {
    let s = &spec.shape;
    let mut phys = String::new();
    for (k, v) in [
        ("X", spec.pixel_size_um.x),
        ("Y", spec.pixel_size_um.y),
        ("Z", spec.pixel_size_um.z),
    ] {
        if let Some(v) = v {
            // The unit defaults to µm, which keeps the description ASCII.
            phys += &format!(" PhysicalSize{k}=\"{v}\"");
        }
    }
    if let Some(dt) = spec.time_increment_s {
        phys += &format!(" TimeIncrement=\"{dt}\" TimeIncrementUnit=\"s\"");
    }
    let mut channels = String::new();
    for c in 0..s.c {
        let name = match spec.channels.get(c) {
            Some(Some(n)) => format!(" Name=\"{}\"", xml_escape(n)),
            _ => String::new(),
        };
        channels += &format!(
            "<Channel ID=\"Channel:0:{c}\"{name} SamplesPerPixel=\"1\"><LightPath/></Channel>"
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" Creator=\"migrascope {}\" \
         xsi:schemaLocation=\"http://www.openmicroscopy.org/Schemas/OME/2016-06 \
         http://www.openmicroscopy.org/Schemas/OME/2016-06/ome.xsd\">\
         <Image ID=\"Image:0\" Name=\"Image0\"><Pixels ID=\"Pixels:0\" DimensionOrder=\"XYCZT\" \
         Type=\"{pixel_type}\" BigEndian=\"{big_endian}\" SizeX=\"{}\" SizeY=\"{}\" SizeZ=\"{}\" \
         SizeC=\"{}\" SizeT=\"{}\"{phys}>{channels}<TiffData IFD=\"0\" PlaneCount=\"{}\"/>\
         </Pixels></Image></OME>",
        env!("CARGO_PKG_VERSION"),
        s.x,
        s.y,
        s.z,
        s.c,
        s.t,
        s.planes()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<?xml version="1.0"?><OME xmlns="x" UUID="urn:1"><Image ID="Image:0"><Pixels DimensionOrder="XYZCT" SizeC="2" SizeT="1" SizeX="4" SizeY="3" SizeZ="3" Type="int8" PhysicalSizeX="120" PhysicalSizeXUnit="nm" TimeIncrement="5000" TimeIncrementUnit="ms"><Channel ID="c0" Name="DNA &amp; more"/><Channel ID="c1"/><TiffData IFD="0" PlaneCount="6"><UUID FileName="a.ome.tif">urn:1</UUID></TiffData></Pixels></Image></OME>"#;

    #[test]
    fn parses_pixels_channels_units() {
        assert!(is_ome(XML));
        let d = parse(XML).unwrap();
        let img = &d.images[0];
        assert_eq!((img.size_z, img.size_c, img.size_t), (3, 2, 1));
        assert!((img.pixel_size.x.unwrap() - 0.12).abs() < 1e-12);
        assert_eq!(img.pixel_size.y, None);
        assert_eq!(img.time_increment_s, Some(5.0));
        assert_eq!(img.channels[0].0.as_deref(), Some("DNA & more"));
        assert_eq!(img.channels[1].0, None);
        // XYZCT: IFD = z + 3*c; our order is (t, c, z) with z fastest.
        let ifds = img
            .plane_ifds(1, 6, 0, Path::new("/x/renamed.tif"), d.uuid.as_deref())
            .unwrap();
        assert_eq!(ifds, vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn rejects_garbage_and_too_many_planes() {
        assert!(parse("<OME><Image><Pixels SizeX=\"1\"/></Image></OME>").is_err());
        assert!(parse("<OME></Broken>").is_err());
        let d = parse(XML).unwrap();
        assert!(
            d.images[0]
                .plane_ifds(1, 5, 0, Path::new("a.ome.tif"), None)
                .is_err()
        );
    }
}
