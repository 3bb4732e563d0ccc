// SPDX-License-Identifier: GPL-2.0

//! Load-time self test of the project's `kernel::pmem` abstraction.
//!
//! Loading succeeds only if a flush-cache copy and a machine-check-safe copy
//! of a known pattern both read back identically, so `insmod` proves that the
//! overlay, its C helper and its bindings reached the kernel crate.

use kernel::pmem;
use kernel::prelude::*;

module! {
    type: RpmemSelftest,
    name: "rpmem_selftest",
    authors: ["rpmem developers"],
    description: "Self test of the kernel::pmem copy primitives",
    license: "GPL",
}

struct RpmemSelftest;

const LEN: usize = 4096 + 13;

impl kernel::Module for RpmemSelftest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let mut src = KVec::with_capacity(LEN, GFP_KERNEL)?;
        for i in 0..LEN {
            // Truncation is the point: a repeating, position-dependent pattern.
            src.push((i * 7 + 3) as u8, GFP_KERNEL)?;
        }
        let mut mid = KVec::from_elem(0u8, LEN, GFP_KERNEL)?;
        let mut dst = KVec::from_elem(0u8, LEN, GFP_KERNEL)?;

        pmem::copy_flushcache(&mut mid, &src);
        if pmem::copy_mc(&mut dst, &mid).is_err() || dst != src {
            pr_err!("pmem copies do not read back\n");
            return Err(EIO);
        }
        pr_info!("pmem copies of {} bytes read back: ok\n", LEN);
        Ok(RpmemSelftest)
    }
}
