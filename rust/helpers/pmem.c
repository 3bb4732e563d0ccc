// SPDX-License-Identifier: GPL-2.0

#include <linux/libnvdimm.h>
#include <linux/string.h>

__rust_helper void rust_helper_memcpy_flushcache(void *dst, const void *src,
						 size_t cnt)
{
	memcpy_flushcache(dst, src, cnt);
}
