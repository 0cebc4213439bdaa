//! Analysis parameters from their sources, in order: a preset, then a TOML file (which may
//! also hold the `[channels]` table for [`super::roles::resolve_roles`]), then
//! `section.key=value` overrides; validated before they are returned.

use std::path::Path;

use super::config::{AnalyzeParams, Preset};
use crate::error::{Error, Result};

/// Validated parameters and the TOML `[channels]` table, if the file had one.
pub fn load_parameters(
    preset: Preset,
    config: Option<&Path>,
    overrides: &[String],
) -> Result<(AnalyzeParams, Option<toml::Table>)> {
    let text = match config {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?),
        None => None,
    };
    parameters_from_text(preset, config.zip(text.as_deref()), overrides)
}

/// As [`load_parameters`], with the TOML file already read: `(path, text)`, the path only
/// naming it in errors.
pub fn parameters_from_text(
    preset: Preset,
    config: Option<(&Path, &str)>,
    overrides: &[String],
) -> Result<(AnalyzeParams, Option<toml::Table>)> {
    let mut p = AnalyzeParams::preset(preset);
    let mut channels = None;
    if let Some((path, text)) = config {
        p = AnalyzeParams::from_toml(text, &p, path)?;
        let t: toml::Table = toml::from_str(text)
            .map_err(|e| Error::format(path, "TOML", e.to_string().replace('\n', " ")))?;
        channels = t.get("channels").and_then(|c| c.as_table()).cloned();
    }
    for s in overrides {
        p = apply_override(&p, s)?;
    }
    p.validate()?;
    Ok((p, channels))
}

/// `p` with one `section.key=value` override (as `analyze --set`) laid on top; a value that
/// is not TOML is taken as a string.
pub fn apply_override(p: &AnalyzeParams, s: &str) -> Result<AnalyzeParams> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| Error::invalid(format!("--set {s}: expected section.key=value")))?;
    let (sec, key) = k
        .split_once('.')
        .ok_or_else(|| Error::invalid(format!("--set {s}: expected section.key=value")))?;
    let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {v}"))
        .or_else(|_| toml::from_str::<toml::Table>(&format!("v = {v:?}")))
        .map_err(|e| Error::invalid(format!("--set {s}: {e}")))?
        .remove("v")
        .expect("parsed key");
    // `tracking.cells.max_frame_gap=3`: nested tables
    let mut v = value;
    for part in key.rsplit('.') {
        let mut t = toml::Table::new();
        t.insert(part.to_string(), v);
        v = toml::Value::Table(t);
    }
    let mut over = toml::Table::new();
    over.insert(sec.to_string(), v);
    AnalyzeParams::merge(p, over, Path::new("--set"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_in_order_and_are_validated() {
        let (p, ch) = load_parameters(
            Preset::Wga,
            None,
            &[
                "migrasomes.diameter_max_um=2.5".into(),
                "migrasomes.diameter_max_um=2.0".into(),
            ],
        )
        .unwrap();
        assert_eq!(p.migrasomes.diameter_max_um, 2.0);
        assert!(ch.is_none());
        assert!(load_parameters(Preset::Wga, None, &["nokey".into()]).is_err());
        assert!(load_parameters(Preset::Wga, None, &["bogus.x=1".into()]).is_err());
    }

    #[test]
    fn tracking_parameters_nest_under_tracking() {
        let (p, _) = load_parameters(
            Preset::Wga,
            None,
            &[
                "tracking.migrasomes.linking_max_distance_um=3.5".into(),
                "tracking.cells.allow_splitting=false".into(),
                "tracking.border_margin_um=1".into(),
            ],
        )
        .unwrap();
        assert_eq!(p.tracking.migrasomes.linking_max_distance_um, 3.5);
        // the other keys of the nested table keep their defaults
        assert_eq!(p.tracking.migrasomes.max_frame_gap, 4);
        assert!(!p.tracking.cells.allow_splitting);
        assert_eq!(p.tracking.cells.linking_max_distance_um, 15.0);
        assert_eq!(p.tracking.border_margin_um, 1.0);
        let toml = "[tracking]\nenabled = false\n[tracking.cells]\nmax_frame_gap = 3\n";
        let (p, _) =
            parameters_from_text(Preset::Wga, Some((Path::new("t.toml"), toml)), &[]).unwrap();
        assert!(!p.tracking.enabled);
        assert_eq!(p.tracking.cells.max_frame_gap, 3);
        assert_eq!(p.tracking.cells.linking_max_distance_um, 15.0);
        for bad in [
            "tracking.cells.max_frame_gap=0",
            "tracking.migrasomes.bogus=1",
            "tracking.migrasomes.linking_max_distance_um=-1",
        ] {
            assert!(
                load_parameters(Preset::Wga, None, &[bad.into()]).is_err(),
                "{bad}"
            );
        }
    }
}
