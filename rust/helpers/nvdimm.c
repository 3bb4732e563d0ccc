// SPDX-License-Identifier: GPL-2.0

#include <linux/device.h>
#include <linux/nd.h>

#include "../../drivers/nvdimm/nd.h"

#if IS_BUILTIN(CONFIG_LIBNVDIMM)
__rust_helper int rust_helper_dev_to_node(struct device *dev)
{
	return dev_to_node(dev);
}

__rust_helper struct nd_namespace_io *
rust_helper_to_nd_namespace_io(const struct device *dev)
{
	return to_nd_namespace_io(dev);
}

__rust_helper bool rust_helper_is_nd_btt(struct device *dev)
{
	return is_nd_btt(dev);
}

__rust_helper bool rust_helper_is_nd_pfn(struct device *dev)
{
	return is_nd_pfn(dev);
}

__rust_helper bool rust_helper_is_nd_dax(const struct device *dev)
{
	return is_nd_dax(dev);
}

__rust_helper u32 rust_helper_nd_info_block_reserve(void)
{
	return nd_info_block_reserve();
}
#endif
