//! Plots of `compare`: a SuperPlots-style bar chart per metric and values over time for
//! movies, written as SVG by our own small writer and rasterised to PNG by resvg with the
//! committed font (`assets/fonts/`). Pure functions of the numbers; no I/O.

pub mod axis;
pub mod raster;
pub mod superplot;
pub mod svg;
pub mod timeseries;
