// SPDX-License-Identifier: GPL-2.0

#include <linux/buffer_head.h>
#include <linux/cred.h>
#include <linux/dax.h>
#include <linux/fileattr.h>
#include <linux/fs.h>
#include <linux/fs_parser.h>
#include <linux/iomap.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/posix_acl.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/uio.h>

__rust_helper int rust_helper_fs_parse(struct fs_context *fc,
				       const struct fs_parameter_spec *desc,
				       struct fs_parameter *param,
				       struct fs_parse_result *result)
{
	return fs_parse(fc, desc, param, result);
}

__rust_helper void rust_helper_brelse(struct buffer_head *bh)
{
	brelse(bh);
}

__rust_helper void rust_helper_get_bh(struct buffer_head *bh)
{
	get_bh(bh);
}

__rust_helper void *rust_helper_alloc_inode_sb(struct super_block *sb,
					       struct kmem_cache *cache, gfp_t gfp)
{
	return alloc_inode_sb(sb, cache, gfp);
}

__rust_helper enum inode_state_flags_enum
rust_helper_inode_state_read_once(struct inode *inode)
{
	return inode_state_read_once(inode);
}

__rust_helper void rust_helper_i_size_write(struct inode *inode, loff_t size)
{
	i_size_write(inode, size);
}

__rust_helper int rust_helper_inode_trylock(struct inode *inode)
{
	return inode_trylock(inode);
}

__rust_helper int rust_helper_inode_trylock_shared(struct inode *inode)
{
	return inode_trylock_shared(inode);
}

__rust_helper void rust_helper_inode_lock_shared(struct inode *inode)
{
	inode_lock_shared(inode);
}

__rust_helper void rust_helper_inode_unlock_shared(struct inode *inode)
{
	inode_unlock_shared(inode);
}

__rust_helper void
rust_helper_filemap_invalidate_lock_shared(struct address_space *mapping)
{
	filemap_invalidate_lock_shared(mapping);
}

__rust_helper void
rust_helper_filemap_invalidate_unlock_shared(struct address_space *mapping)
{
	filemap_invalidate_unlock_shared(mapping);
}

__rust_helper bool rust_helper_dir_emit(struct dir_context *ctx,
					const char *name, int namelen,
					u64 ino, unsigned int type)
{
	return dir_emit(ctx, name, namelen, ino, type);
}

__rust_helper size_t rust_helper_iov_iter_count(const struct iov_iter *i)
{
	return iov_iter_count(i);
}

__rust_helper struct inode *rust_helper_file_inode(const struct file *f)
{
	return file_inode(f);
}

__rust_helper bool
rust_helper_daxdev_mapping_supported(const struct vm_area_desc *desc,
				     const struct inode *inode,
				     struct dax_device *dax_dev)
{
	return daxdev_mapping_supported(desc, inode, dax_dev);
}

__rust_helper void rust_helper_vma_flags_set_flag(vma_flags_t *flags,
						  vma_flag_t bit)
{
	vma_flags_set_flag(flags, bit);
}

__rust_helper void rust_helper_file_accessed(struct file *file)
{
	file_accessed(file);
}

__rust_helper loff_t rust_helper_bdev_nr_bytes(struct block_device *bdev)
{
	return bdev_nr_bytes(bdev);
}

__rust_helper void rust_helper_seq_puts(struct seq_file *m, const char *s)
{
	seq_puts(m, s);
}

__rust_helper void rust_helper_iomap_bio_read_folio(struct folio *folio,
						    const struct iomap_ops *ops)
{
	iomap_bio_read_folio(folio, ops);
}

__rust_helper void rust_helper_iomap_bio_readahead(struct readahead_control *rac,
						   const struct iomap_ops *ops)
{
	iomap_bio_readahead(rac, ops);
}

__rust_helper bool rust_helper_vma_desc_test(const struct vm_area_desc *desc,
					     vma_flag_t bit)
{
	return vma_desc_test(desc, bit);
}

__rust_helper loff_t rust_helper_i_size_read(const struct inode *inode)
{
	return i_size_read(inode);
}

__rust_helper struct timespec64 rust_helper_inode_get_atime(const struct inode *inode)
{
	return inode_get_atime(inode);
}

__rust_helper struct timespec64 rust_helper_inode_get_mtime(const struct inode *inode)
{
	return inode_get_mtime(inode);
}

__rust_helper struct timespec64 rust_helper_inode_get_ctime(const struct inode *inode)
{
	return inode_get_ctime(inode);
}

__rust_helper struct timespec64
rust_helper_inode_set_atime_to_ts(struct inode *inode, struct timespec64 ts)
{
	return inode_set_atime_to_ts(inode, ts);
}

__rust_helper struct timespec64
rust_helper_inode_set_mtime_to_ts(struct inode *inode, struct timespec64 ts)
{
	return inode_set_mtime_to_ts(inode, ts);
}

__rust_helper struct buffer_head *
rust_helper_sb_getblk(struct super_block *sb, sector_t block)
{
	return sb_getblk(sb, block);
}

__rust_helper void rust_helper_lock_buffer(struct buffer_head *bh)
{
	lock_buffer(bh);
}

__rust_helper void rust_helper_set_buffer_uptodate(struct buffer_head *bh)
{
	set_buffer_uptodate(bh);
}

__rust_helper void rust_helper_clear_buffer_uptodate(struct buffer_head *bh)
{
	clear_buffer_uptodate(bh);
}

__rust_helper void
rust_helper_clear_buffer_write_io_error(struct buffer_head *bh)
{
	clear_buffer_write_io_error(bh);
}

__rust_helper struct folio *rust_helper_pfn_folio(unsigned long pfn)
{
	return pfn_folio(pfn);
}

__rust_helper unsigned long rust_helper_folio_pfn(const struct folio *folio)
{
	return folio_pfn(folio);
}

__rust_helper void rust_helper_cond_resched(void)
{
	cond_resched();
}

__rust_helper int rust_helper_test_clear_buffer_dirty(struct buffer_head *bh)
{
	return test_clear_buffer_dirty(bh);
}

__rust_helper int rust_helper_buffer_uptodate(const struct buffer_head *bh)
{
	return buffer_uptodate(bh);
}

__rust_helper int rust_helper_buffer_write_io_error(const struct buffer_head *bh)
{
	return buffer_write_io_error(bh);
}

/*
 * What bh_end_write() logs for a failed write: buffer_io_error() of
 * fs/buffer.c, static there (not for a quiet buffer, rate limited).
 */
__rust_helper void rust_helper_buffer_io_error(struct buffer_head *bh)
{
	if (!test_bit(BH_Quiet, &bh->b_state))
		pr_err_ratelimited("Buffer I/O error on dev %pg, logical block %llu, lost sync page write\n",
				   bh->b_bdev, (unsigned long long)bh->b_blocknr);
}

__rust_helper void rust_helper_wait_on_buffer(struct buffer_head *bh)
{
	wait_on_buffer(bh);
}

__rust_helper void rust_helper_inode_lock(struct inode *inode)
{
	inode_lock(inode);
}

__rust_helper void rust_helper_inode_unlock(struct inode *inode)
{
	inode_unlock(inode);
}

__rust_helper void
rust_helper_filemap_invalidate_lock(struct address_space *mapping)
{
	filemap_invalidate_lock(mapping);
}

__rust_helper void
rust_helper_filemap_invalidate_unlock(struct address_space *mapping)
{
	filemap_invalidate_unlock(mapping);
}

__rust_helper void rust_helper_sb_start_intwrite(struct super_block *sb)
{
	sb_start_intwrite(sb);
}

__rust_helper bool rust_helper_sb_start_intwrite_trylock(struct super_block *sb)
{
	return sb_start_intwrite_trylock(sb);
}

__rust_helper void rust_helper_sb_end_intwrite(struct super_block *sb)
{
	sb_end_intwrite(sb);
}

__rust_helper void rust_helper_sb_start_pagefault(struct super_block *sb)
{
	sb_start_pagefault(sb);
}

__rust_helper void rust_helper_sb_end_pagefault(struct super_block *sb)
{
	sb_end_pagefault(sb);
}

__rust_helper ssize_t rust_helper_generic_write_sync(struct kiocb *iocb,
						     ssize_t count)
{
	return generic_write_sync(iocb, count);
}

__rust_helper int rust_helper_finish_open_simple(struct file *file, int error)
{
	return finish_open_simple(file, error);
}

__rust_helper kuid_t rust_helper_mapped_fsuid(struct mnt_idmap *idmap,
					      struct user_namespace *fs_userns)
{
	return mapped_fsuid(idmap, fs_userns);
}

__rust_helper kgid_t rust_helper_mapped_fsgid(struct mnt_idmap *idmap,
					      struct user_namespace *fs_userns)
{
	return mapped_fsgid(idmap, fs_userns);
}

__rust_helper bool rust_helper_fileattr_has_fsx(const struct file_kattr *fa)
{
	return fileattr_has_fsx(fa);
}

__rust_helper struct posix_acl *rust_helper_posix_acl_dup(struct posix_acl *acl)
{
	return posix_acl_dup(acl);
}

__rust_helper void rust_helper_posix_acl_release(struct posix_acl *acl)
{
	posix_acl_release(acl);
}

__rust_helper kuid_t rust_helper_make_kuid(struct user_namespace *from, uid_t uid)
{
	return make_kuid(from, uid);
}

__rust_helper kgid_t rust_helper_make_kgid(struct user_namespace *from, gid_t gid)
{
	return make_kgid(from, gid);
}

__rust_helper gid_t rust_helper_from_kgid(struct user_namespace *to, kgid_t gid)
{
	return from_kgid(to, gid);
}

__rust_helper unsigned int rust_helper_memalloc_nofs_save(void)
{
	return memalloc_nofs_save();
}

__rust_helper void rust_helper_memalloc_nofs_restore(unsigned int flags)
{
	memalloc_nofs_restore(flags);
}
