// SPDX-License-Identifier: GPL-2.0

//! Emits one kernel `WARNING:` on load, on purpose.
//!
//! The harness test loads it to prove that `qemu/run` fails when the guest
//! log shows a splat even though the command itself succeeded.

use kernel::prelude::*;

module! {
    type: WarnSplat,
    name: "warn_splat",
    authors: ["rpmem developers"],
    description: "Triggers a WARNING on load (harness self test)",
    license: "GPL",
}

struct WarnSplat;

impl kernel::Module for WarnSplat {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("warning on purpose\n");
        kernel::warn_on!(true);
        Ok(WarnSplat)
    }
}
