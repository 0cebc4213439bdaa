//! The ground-truth files of a synthetic stack, each written atomically:
//! `truth_migrasomes.csv` (one row per migrasome per frame it exists in), `truth_cells.csv`
//! (one row per cell per frame, nucleus centroid and counts) and `truth.json` (the config,
//! every model number, the layout summary and counts), and `truth_bodies.tif` (the true cell
//! bodies: uint16 labels = cell id, one plane per frame, ImageJ hyperstack); with dynamics
//! also `truth_events.csv` (one row per event), and `truth_migrasomes.csv` gains `track_id`
//! and `visible`.
//!
//! Not here: the stack itself (see `render`, written by `synth::generate`).

use std::path::{Path, PathBuf};

use serde_json::json;

use super::scene::Scene;
use super::{IMAGE, TIME_INCREMENT_S};
use crate::error::{Error, Result};
use crate::io::write_labels;
use crate::report::AtomicFile;

/// The truth files written (migrasomes, cells, json, bodies, events when dynamics are on,
/// uptake with the uptake channel).
pub type Files = (
    PathBuf,
    PathBuf,
    PathBuf,
    PathBuf,
    Option<PathBuf>,
    Option<PathBuf>,
);

/// Writes the truth files into `dir` (`truth_events.csv` only with dynamics); returns their
/// paths.
pub fn write_all(scene: &Scene, dir: &Path) -> Result<Files> {
    let m = dir.join("truth_migrasomes.csv");
    let c = dir.join("truth_cells.csv");
    let j = dir.join("truth.json");
    let b = dir.join("truth_bodies.tif");
    write_migrasomes(scene, &m)?;
    write_cells(scene, &c)?;
    write_json(scene, &j)?;
    write_bodies(scene, &b)?;
    let e = if scene.cfg.dynamics.is_off() {
        None
    } else {
        let e = dir.join("truth_events.csv");
        write_events(scene, &e)?;
        Some(e)
    };
    let u = match &scene.gfp {
        Some(labels) => {
            let u = dir.join("truth_uptake.csv");
            write_uptake(scene, labels, &u)?;
            Some(u)
        }
        None => None,
    };
    Ok((m, c, j, b, e, u))
}

/// One truth event: (frame, event, track id, cell id, position).
pub fn events(scene: &Scene) -> Vec<(usize, &'static str, u32, u32, super::P2)> {
    let mut v = Vec::new();
    for m in &scene.migrasomes {
        // formation: a migrasome that appears on its fiber (one that appears released was
        // not seen forming)
        if m.birth > 0 && !m.released {
            v.push((m.birth, "formation", m.id, m.cell, m.pos_at(m.birth)));
        }
        if let Some(r) = m.release {
            v.push((r, "release", m.id, m.cell, m.pos_at(r)));
        }
        if let Some((last, fate)) = m.end {
            let name = match fate {
                super::Fate::Disappearance => "disappearance",
                super::Fate::Uptake => "uptake",
            };
            v.push((last, name, m.id, m.cell, m.pos_at(last)));
        }
    }
    let rank = |e: &str| {
        ["formation", "release", "disappearance", "uptake"]
            .iter()
            .position(|x| *x == e)
    };
    v.sort_by_key(|e| (e.0, e.2, rank(e.1)));
    v
}

fn write_events(scene: &Scene, path: &Path) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.line("image,frame,event,track_id,cell_id,x_um,y_um")?;
    for (t, ev, id, cell, p) in events(scene) {
        f.line(&format!(
            "{IMAGE},{t},{ev},{id},{cell},{:.4},{:.4}",
            p.x, p.y
        ))?;
    }
    f.commit()
}

/// `truth_uptake.csv`: per frame and truth cell, the GFP puncta whose centre is inside the
/// cell's outline (see `uptake`).
fn write_uptake(scene: &Scene, labels: &super::uptake::Labels, path: &Path) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.line("image,frame,cell_id,puncta_inside")?;
    for t in 0..scene.cfg.frames {
        let p = super::uptake::puncta(scene, labels, t, super::dynamics::MODEL.blink_dim);
        let n = super::uptake::inside_counts(scene, &p, t);
        for (cell, k) in scene.cells.iter().zip(n) {
            f.line(&format!("{IMAGE},{t},{},{k}", cell.id))?;
        }
    }
    f.commit()
}

fn write_bodies(scene: &Scene, path: &Path) -> Result<()> {
    let cfg = &scene.cfg;
    let spec = super::write_spec(cfg, vec![]);
    write_labels(path, &spec, (0..cfg.frames).map(|t| scene.body_labels(t)))
}

fn write_migrasomes(scene: &Scene, path: &Path) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    let mut head = "image,frame,migrasome_id,cell_id,x_um,y_um,diameter_um,released".to_string();
    for name in &scene.cfg.cargo {
        head += &format!(",{name}_positive");
    }
    let dynamic = !scene.cfg.dynamics.is_off();
    if dynamic {
        head += ",track_id,visible";
    }
    f.line(&head)?;
    for t in 0..scene.cfg.frames {
        for mig in scene.alive(t) {
            let p = mig.pos_at(t);
            let mut row = format!(
                "{IMAGE},{t},{},{},{:.4},{:.4},{:.4},{}",
                mig.id,
                mig.cell,
                p.x,
                p.y,
                mig.diameter,
                u8::from(mig.released_at(t))
            );
            for c in &mig.cargo {
                row += if c.is_some() { ",1" } else { ",0" };
            }
            if dynamic {
                row += &format!(",{},{}", mig.id, u8::from(mig.visible(t)));
            }
            f.line(&row)?;
        }
    }
    f.commit()
}

fn write_cells(scene: &Scene, path: &Path) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    let mut head = "image,frame,cell_id,x_um,y_um,migrasome_count,released_count".to_string();
    for name in &scene.cfg.cargo {
        head += &format!(",{name}_positive_count");
    }
    f.line(&head)?;
    let ncargo = scene.cfg.cargo.len();
    for t in 0..scene.cfg.frames {
        for cell in &scene.cells {
            // what the frame shows: a blinking migrasome is not counted
            let mine: Vec<_> = (scene.alive(t))
                .filter(|m| m.cell == cell.id && m.visible(t))
                .collect();
            let released = mine.iter().filter(|m| m.released_at(t)).count();
            let p = cell.nucleus_center(t);
            let mut row = format!(
                "{IMAGE},{t},{},{:.4},{:.4},{},{released}",
                cell.id,
                p.x,
                p.y,
                mine.len()
            );
            for k in 0..ncargo {
                let n = mine.iter().filter(|m| m.cargo[k].is_some()).count();
                row += &format!(",{n}");
            }
            f.line(&row)?;
        }
    }
    f.commit()
}

fn write_json(scene: &Scene, path: &Path) -> Result<()> {
    let cfg = &scene.cfg;
    let per_frame: Vec<usize> = (0..cfg.frames).map(|t| scene.alive(t).count()).collect();
    let cells: Vec<_> = scene
        .cells
        .iter()
        .map(|c| {
            let fiber_len: f64 = c
                .fibers
                .iter()
                .map(|f| f.pts.windows(2).map(|w| w[0].dist(w[1])).sum::<f64>())
                .sum();
            json!({
                "cell_id": c.id,
                "body_center_um": [c.center.x, c.center.y],
                "body_semi_axes_um": [c.body.a, c.body.b],
                "body_max_radius_um": c.body.r_max,
                "nucleus_semi_axes_um": [c.nucleus.a, c.nucleus.b],
                "rear_deg": c.rear.to_degrees().rem_euclid(360.0),
                "drift_um_per_frame": [c.velocity.x, c.velocity.y],
                "fibers": c.fibers.len(),
                "fiber_length_um": fiber_len,
                "migrasomes": scene.migrasomes.iter().filter(|m| m.cell == c.id).count(),
            })
        })
        .collect();
    let (ic, isd) = scene.illumination;
    let mut doc = json!({
        "image": IMAGE,
        "file": format!("{IMAGE}.ome.tif"),
        "software": concat!("migrascope ", env!("CARGO_PKG_VERSION")),
        "config": cfg,
        "channels": cfg.channel_names(),
        "axes": "TCZYX",
        "shape": {"t": cfg.frames, "c": cfg.channel_names().len(), "z": 1, "y": cfg.size, "x": cfg.size},
        "pixel_size_um": cfg.pixel_size_um,
        "field_um": cfg.field_um(),
        "time_increment_s": TIME_INCREMENT_S,
        "coordinates": "x_um, y_um from the centre of pixel (0,0); x = column * pixel_size",
        "model": scene.model,
        "illumination": {"center_um": [ic.x, ic.y], "sigma_um": isd,
            "rule": "min + (1 - min) * normalised Gaussian vignette"},
        "counts": {
            "cells": scene.cells.len(),
            "migrasomes": scene.migrasomes.len(),
            "released": scene.migrasomes.iter().filter(|m| m.released).count(),
            "drawn": scene.drawn,
            "dropped": scene.dropped,
            "per_frame": per_frame,
        },
        "cells": cells,
    });
    if !cfg.realism.is_off() {
        let r = &cfg.realism;
        let per_cell = |f: &dyn Fn(&super::Look) -> usize| -> Vec<usize> {
            (scene.cells.iter())
                .map(|c| c.look.as_ref().map_or(0, f))
                .collect()
        };
        doc["realism"] = json!({
            "knobs": r,
            "model": super::realism::MODEL,
            "body_rel": scene.cells.iter().map(|c| c.look.as_ref().map(|l| l.body_rel)).collect::<Vec<_>>(),
            "puncta": per_cell(&|l| l.puncta.len()),
            "filopodia": per_cell(&|l| l.filopodia.len()),
            "ruffles": per_cell(&|l| usize::from(l.ruffle.is_some())),
            "anchored_cells": scene.cells.iter().filter(|c| c.anchored).map(|c| c.id).collect::<Vec<_>>(),
            "border_cells": scene.cells.iter().filter(|c| c.border).map(|c| c.id).collect::<Vec<_>>(),
            "debris": scene.debris.len(),
        });
    }
    if !cfg.dynamics.is_off() {
        let ev = events(scene);
        let count = |name: &str| ev.iter().filter(|e| e.1 == name).count();
        doc["dynamics"] = json!({
            "knobs": cfg.dynamics,
            "model": super::dynamics::MODEL,
            "events": {
                "formation": count("formation"),
                "release": count("release"),
                "disappearance": count("disappearance"),
                "uptake": count("uptake"),
            },
            "blinks": scene.migrasomes.iter().map(|m| m.hidden.len()).sum::<usize>(),
            "encounters": scene.encounters.iter().map(|e| json!({
                "track_ids": [e.0, e.1], "frame": e.2, "distance_um": e.3})).collect::<Vec<_>>(),
            "moved_um": scene.migrasomes.iter().map(|m| {
                m.path.windows(2).map(|w| w[0].dist(w[1])).sum::<f64>()
            }).sum::<f64>(),
        });
    }
    if let Some(labels) = &scene.gfp {
        let outside: Vec<u32> = (scene.migrasomes.iter().zip(&labels.outside))
            .filter(|(_, on)| **on)
            .map(|(m, _)| m.id)
            .collect();
        doc["uptake_channel"] = json!({
            "channel": super::uptake::NAME,
            "model": super::uptake::MODEL,
            "labelled_migrasome_ids": outside,
            "inside": labels.inside,
            "crowded": labels.crowded,
            "rule": "truth_uptake.csv: GFP puncta whose centre is inside the cell's outline in \
                that frame (where outlines overlap, the body the centre is deeper in)",
        });
    }
    let text = serde_json::to_string_pretty(&doc)
        .map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
    let mut f = AtomicFile::create(path)?;
    f.line(&text)?;
    f.commit()
}
