//! Nothing but a home for the repository-wide tests in `tidy.rs`: they check the
//! whole tree, so they belong to no one crate.
