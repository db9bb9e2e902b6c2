//! The Herald app: the egui window ([`app`]) and the command line ([`cli`]),
//! both thin layers over `herald-core`.

pub mod app;
pub mod cli;
