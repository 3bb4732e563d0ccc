// SPDX-License-Identifier: GPL-2.0

//! Feeds arbitrary bytes to the superblock, group descriptor and inode
//! parsers and to directory block iteration and editing; any panic is a bug.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rext2_host::fuzz::parse_all(data);
});
