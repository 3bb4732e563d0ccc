// SPDX-License-Identifier: GPL-2.0

//! Host build of the kernel-independent core of rext2.
//!
//! The modules under `fs/rext2/` are compiled here exactly as the kernel
//! crate will compile them (siblings at the crate root, `core` only), with
//! the kernel's documentation and cast lints, and tested with `cargo test`.
//! [`sample`] builds valid structures for the tests and [`fuzz`] is the
//! entry point shared by the fuzz target in `fuzz/` and the tests.

#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]
#![warn(
    clippy::all,
    clippy::as_underscore,
    clippy::cast_lossless,
    clippy::ignored_unit_patterns,
    clippy::mut_mut,
    clippy::needless_bitwise_bool,
    clippy::ptr_as_ptr,
    clippy::ref_as_ptr
)]

#[path = "../../../fs/rext2/bitmap.rs"]
pub mod bitmap;
#[path = "../../../fs/rext2/bmap.rs"]
pub mod bmap;
#[path = "../../../fs/rext2/dirent.rs"]
pub mod dirent;
#[path = "../../../fs/rext2/dirindex.rs"]
pub mod dirindex;
#[path = "../../../fs/rext2/extents.rs"]
pub mod extents;
#[path = "../../../fs/rext2/ondisk.rs"]
pub mod ondisk;
#[path = "../../../drivers/nvdimm/pfn_info.rs"]
pub mod pfn_info;
#[path = "../../../fs/rext2/xattr.rs"]
pub mod xattr;

pub mod fuzz;
pub mod rng;
pub mod sample;
