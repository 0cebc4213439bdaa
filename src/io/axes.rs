//! Axis strings: the `--axes` override grammar (`ZYX`, `TCYX`, `T20C2YX`) and tifffile's
//! "shaped" JSON descriptions (`{"shape": [...], "axes": "TCYX"}`), both turned into the
//! leading (non-YX) dimensions of page order, slowest first.
//!
//! Not here: building series from them (`layout`).

/// Axis letters (slowest first) with sizes, for the leading (non-YX) dimensions of page order.
pub(crate) type Axes = Vec<(char, usize)>;

/// The dims of a tifffile "shaped" description (`{"shape": [...], "axes": "TCYX"}`) before Y
/// and X (and the samples axis of pages with `spp` > 1), with axis letters; unknown letters
/// fold into one T axis.
pub(crate) fn shaped(desc: &str, spp: usize) -> Option<Axes> {
    let v: serde_json::Value = serde_json::from_str(desc.trim_end_matches('\0')).ok()?;
    let mut shape: Vec<usize> = v
        .get("shape")?
        .as_array()?
        .iter()
        .map(|d| d.as_u64().map(|d| d as usize))
        .collect::<Option<_>>()?;
    let mut axes: Vec<char> = v
        .get("axes")
        .and_then(|a| a.as_str())
        .unwrap_or("")
        .chars()
        .collect();
    if axes.len() != shape.len() {
        axes.clear();
    }
    // Drop the samples axis: last (chunky, YXS) or third from last (planar, SYX).
    let n = shape.len();
    if spp > 1 && n >= 3 {
        let s = if shape[n - 1] == spp { n - 1 } else { n - 3 };
        if shape[s] == spp {
            shape.remove(s);
            if !axes.is_empty() {
                axes.remove(s);
            }
        }
    }
    let keep = shape.len().saturating_sub(2);
    let lead: Vec<usize> = shape[..keep].to_vec();
    let letters: Vec<char> = axes.get(..keep).map(<[char]>::to_vec).unwrap_or_default();
    let known = letters.len() == lead.len()
        && letters.iter().all(|a| "TCZ".contains(*a))
        && (1..letters.len()).all(|i| !letters[..i].contains(&letters[i]));
    if known {
        Some(letters.into_iter().zip(lead).collect())
    } else {
        let planes = lead.iter().try_fold(1usize, |n, &d| n.checked_mul(d))?;
        Some(vec![('T', planes)])
    }
}

/// `--axes` such as `ZYX`, `TCYX`, `T20C2YX`: letters from T, C, Z (slowest first) then `YX`.
/// Sizes may follow letters; one may be left out and is inferred from the page count. Without
/// sizes, several letters take them from a "shaped" description of the same rank.
pub(crate) fn parse_axes(
    spec: &str,
    pages: usize,
    shaped: Option<Axes>,
) -> std::result::Result<Axes, String> {
    let up = spec.trim().to_ascii_uppercase();
    let lead = up.strip_suffix("YX").ok_or(format!(
        "axes '{spec}' must end in YX (e.g. ZYX, TCYX, T20C2YX)"
    ))?;
    let mut dims: Vec<(char, Option<usize>)> = Vec::new();
    let mut chars = lead.chars().peekable();
    while let Some(ch) = chars.next() {
        if !"TCZ".contains(ch) || dims.iter().any(|d| d.0 == ch) {
            return Err(format!(
                "axes '{spec}': '{ch}' is not one of T, C, Z or is repeated"
            ));
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        dims.push((ch, digits.parse().ok().filter(|&n| n > 0)));
    }
    if dims.is_empty() {
        return if pages == 1 {
            Ok(vec![('T', 1)])
        } else {
            Err(format!(
                "axes '{spec}' says one plane but the file has {pages} pages"
            ))
        };
    }
    let unknown = dims.iter().filter(|d| d.1.is_none()).count();
    if unknown > 1 {
        if let Some(sh) = shaped.filter(|s| s.len() == dims.len()) {
            return Ok(dims.iter().zip(sh).map(|(d, s)| (d.0, s.1)).collect());
        }
        return Err(format!(
            "axes '{spec}': give the size of all but one axis, e.g. {}",
            "TC2YX or T20C2YX"
        ));
    }
    let known: usize = dims.iter().filter_map(|d| d.1).product();
    let out: Axes = dims
        .iter()
        .map(|&(c, n)| (c, n.unwrap_or(pages.checked_div(known).unwrap_or(0))))
        .collect();
    let total: usize = out.iter().map(|d| d.1).product();
    if total != pages {
        return Err(format!(
            "axes '{spec}' describe {total} planes but the file has {pages} pages"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_override() {
        assert_eq!(parse_axes("ZYX", 41, None).unwrap(), vec![('Z', 41)]);
        assert_eq!(
            parse_axes("tc2yx", 40, None).unwrap(),
            vec![('T', 20), ('C', 2)]
        );
        assert_eq!(
            parse_axes("T20C2YX", 40, None).unwrap(),
            vec![('T', 20), ('C', 2)]
        );
        assert!(parse_axes("TCYX", 40, None).is_err());
        assert_eq!(
            parse_axes("TCYX", 40, Some(vec![('T', 20), ('C', 2)])).unwrap(),
            vec![('T', 20), ('C', 2)]
        );
        assert!(parse_axes("TC3YX", 40, None).is_err());
        assert!(parse_axes("QYX", 4, None).is_err());
        assert!(parse_axes("ZZYX", 4, None).is_err());
        assert!(parse_axes("ZXY", 4, None).is_err());
        assert!(parse_axes("YX", 4, None).is_err());
    }

    #[test]
    fn shaped_descriptions() {
        assert_eq!(
            shaped("{\"shape\": [48, 130, 130]}", 1),
            Some(vec![('T', 48)])
        );
        assert_eq!(
            shaped("{\"shape\": [20, 2, 64, 64], \"axes\": \"TCYX\"}", 1),
            Some(vec![('T', 20), ('C', 2)])
        );
        assert_eq!(shaped("{\"shape\": [16, 16, 3]}", 3), Some(vec![]));
        assert_eq!(
            shaped("{\"shape\": [5, 3, 16, 16]}", 3),
            Some(vec![('T', 5)])
        );
        assert_eq!(
            shaped("{\"shape\": [3, 4, 5], \"axes\": \"QYX\"}", 1),
            Some(vec![('T', 3)])
        );
        assert_eq!(shaped("ImageJ=1", 1), None);
        // Sizes whose product overflows are no usable description.
        assert_eq!(
            shaped("{\"shape\": [4294967296, 4294967296, 4, 4]}", 1),
            None
        );
    }
}
