// SPDX-License-Identifier: GPL-2.0

#include <linux/bio.h>
#include <linux/blkdev.h>

__rust_helper struct bio_vec rust_helper_bio_iter_iovec(struct bio *bio,
							struct bvec_iter iter)
{
	return bio_iter_iovec(bio, iter);
}

__rust_helper void
rust_helper_bio_advance_iter_single(const struct bio *bio,
				    struct bvec_iter *iter, unsigned int bytes)
{
	bio_advance_iter_single(bio, iter, bytes);
}

__rust_helper bool rust_helper_bio_has_data(struct bio *bio)
{
	return bio_has_data(bio);
}

__rust_helper bool rust_helper_get_disk_ro(struct gendisk *disk)
{
	return get_disk_ro(disk);
}
