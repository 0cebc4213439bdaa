//! What a stack's metadata settles before a frame is analysed: which channel plays which
//! role (nuclei, membrane with the migrasomes, cargo) and the pixel size in µm.
//!
//! Inputs are explicit (the user's choices, a TOML `[channels]` table, the file's
//! [`StackInfo`]) so `analyze`, `validate` and any other caller resolve roles the same way.
//! [`Roles`] itself lives with the frame chain (`frame`), re-exported here.

use crate::error::{Error, Result};
use crate::io::StackInfo;

pub use super::frame::Roles;

/// Channel choices a user made (command-line flags); `None` / empty: not chosen.
#[derive(Clone, Debug, Default)]
pub struct RoleChoices {
    /// Nuclei channel (index or name); `none` for no nuclei channel.
    pub nuclei: Option<String>,
    /// Membrane channel where migrasomes are found (index or name).
    pub migrasomes: Option<String>,
    /// Cargo channels (index or name).
    pub cargo: Vec<String>,
    /// Uptake channel (`--uptake`: labelled puncta inside the cell bodies; index or name).
    pub uptake: Option<String>,
}

/// A channel given as an index or a name from the file's metadata.
pub fn resolve_channel(spec: &str, info: &StackInfo) -> Result<usize> {
    if let Ok(i) = spec.parse::<usize>() {
        if i < info.shape.c {
            return Ok(i);
        }
        return Err(Error::invalid(format!(
            "{}: channel {i} does not exist (the file has {} channels)",
            info.path.display(),
            info.shape.c
        )));
    }
    (0..info.shape.c)
        .find(|&c| info.channels.get(c).and_then(|n| n.as_deref()) == Some(spec))
        .ok_or_else(|| {
            let names: Vec<String> = (0..info.shape.c).map(|c| info.channel_name(c)).collect();
            Error::invalid(format!(
                "{}: no channel named '{spec}' (channels: {})",
                info.path.display(),
                names.join(", ")
            ))
        })
}

/// A channel given in TOML as a name or an index.
fn toml_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        _ => String::from("?"),
    }
}

fn name_matches(name: &str, words: &[&str]) -> bool {
    let n = name.to_ascii_lowercase();
    words.iter().any(|w| n.contains(w))
}

/// Channel roles (the uptake channel only from `choices`, and left out of the guessed cargo
/// channels): `choices`, then the TOML `[channels]` table (`nuclei`, `migrasomes`,
/// `cargo`), then the channel names (Hoechst, DAPI → nuclei; WGA, TSPAN4, GFP, membrane →
/// migrasomes; the rest → cargo), then position (1 channel: migrasomes; 2: nuclei,
/// migrasomes; 3+: nuclei, migrasomes, cargo...).
pub fn resolve_roles(
    choices: &RoleChoices,
    toml_channels: Option<&toml::Table>,
    info: &StackInfo,
) -> Result<Roles> {
    let c = info.shape.c;
    let from_toml =
        |k: &str| -> Option<String> { toml_channels.and_then(|t| t.get(k)).map(toml_text) };
    let names: Vec<String> = (0..c).map(|i| info.channel_name(i)).collect();
    let guess_nuc =
        (0..c).find(|&i| name_matches(&names[i], &["hoechst", "dapi", "nucle", "h33342"]));
    let guess_mem = (0..c).find(|&i| {
        name_matches(
            &names[i],
            &["wga", "tspan4", "gfp", "membrane", "migrasome"],
        )
    });
    let nuclei = match choices.nuclei.clone().or_else(|| from_toml("nuclei")) {
        Some(s) if s.eq_ignore_ascii_case("none") => None,
        Some(s) => Some(resolve_channel(&s, info)?),
        None => guess_nuc.or(if c >= 2 { Some(0) } else { None }),
    };
    let membrane = match choices
        .migrasomes
        .clone()
        .or_else(|| from_toml("migrasomes"))
    {
        Some(s) => resolve_channel(&s, info)?,
        None => guess_mem.unwrap_or(if c >= 2 { 1 } else { 0 }),
    };
    let uptake = match &choices.uptake {
        Some(s) => Some(resolve_channel(s, info).map_err(|e| match e {
            Error::Invalid(m) => Error::invalid(format!("--uptake: {m}")),
            e => e,
        })?),
        None => None,
    };
    let mut cargo_specs = choices.cargo.clone();
    if cargo_specs.is_empty()
        && let Some(arr) = toml_channels
            .and_then(|t| t.get("cargo"))
            .and_then(|v| v.as_array())
    {
        cargo_specs = arr.iter().map(toml_text).collect();
    }
    let cargo = if cargo_specs.is_empty() {
        (0..c)
            .filter(|&i| Some(i) != nuclei && i != membrane && Some(i) != uptake)
            .collect()
    } else {
        cargo_specs
            .iter()
            .map(|s| resolve_channel(s, info))
            .collect::<Result<Vec<_>>>()?
    };
    if Some(membrane) == nuclei {
        return Err(Error::invalid(format!(
            "{}: the nuclei and migrasome channels are both {membrane}",
            info.path.display()
        )));
    }
    if let Some(u) = uptake
        && (Some(u) == nuclei || u == membrane)
    {
        return Err(Error::invalid(format!(
            "{}: --uptake: channel {u} ({}) is the {} channel; the uptake channel must be its own",
            info.path.display(),
            names[u],
            if u == membrane { "migrasome" } else { "nuclei" }
        )));
    }
    Ok(Roles {
        nuclei,
        membrane,
        cargo,
        uptake,
    })
}

/// The pixel size in µm: `given` (the user's `--pixel-size`) when set, else the file's
/// square pixel size; every size parameter is in µm, so a file without one needs `given`.
pub fn resolve_pixel_size(given: Option<f64>, info: &StackInfo) -> Result<f64> {
    if let Some(p) = given {
        if !(p.is_finite() && p > 0.0) {
            return Err(Error::invalid(format!("--pixel-size must be > 0, got {p}")));
        }
        return Ok(p);
    }
    match (info.pixel_size_um.x, info.pixel_size_um.y) {
        (Some(x), Some(y)) if (x - y).abs() <= 1e-3 * x.max(y) => Ok(x),
        (Some(x), Some(y)) => Err(Error::format(
            &info.path,
            "pixel size",
            format!("pixels are not square ({x} x {y} µm); pass --pixel-size"),
        )),
        (Some(x), None) | (None, Some(x)) => Ok(x),
        (None, None) => Err(Error::format(
            &info.path,
            "pixel size",
            "the file does not give a pixel size and every size parameter is in µm; pass --pixel-size UM",
        )),
    }
}
