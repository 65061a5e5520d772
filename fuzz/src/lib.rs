//! The fuzz targets' properties (src/properties.rs), shared with tests/fuzz_corpus.rs.

pub mod properties;
