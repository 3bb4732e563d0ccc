# SPDX-License-Identifier: GPL-2.0
"""A small read-only view of an ext2 image (4 KiB blocks, revision 1) for
the image fuzzer: where every piece of metadata lives.  No dependency on
e2fsprogs, so that the guest can use it too.  Tolerant: whatever does not
parse is left out of the map rather than raising."""

import struct

BS = 4096
S_IFMT, S_IFDIR, S_IFREG, S_IFLNK = 0o170000, 0o040000, 0o100000, 0o120000
S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK = 0o020000, 0o060000, 0o010000, 0o140000

# Superblock fields: name -> (offset inside the superblock, size).
SB_FIELDS = {
    "s_inodes_count": (0, 4), "s_blocks_count": (4, 4), "s_r_blocks_count": (8, 4),
    "s_free_blocks_count": (12, 4), "s_free_inodes_count": (16, 4),
    "s_first_data_block": (20, 4), "s_log_block_size": (24, 4), "s_log_frag_size": (28, 4),
    "s_blocks_per_group": (32, 4), "s_frags_per_group": (36, 4),
    "s_inodes_per_group": (40, 4), "s_mnt_count": (52, 2), "s_max_mnt_count": (54, 2),
    "s_magic": (56, 2), "s_state": (58, 2), "s_errors": (60, 2), "s_rev_level": (76, 4),
    "s_first_ino": (84, 4), "s_inode_size": (88, 2), "s_block_group_nr": (90, 2),
    "s_feature_compat": (92, 4), "s_feature_incompat": (96, 4), "s_feature_ro_compat": (100, 4),
    "s_reserved_gdt_blocks": (206, 2), "s_def_hash_version": (252, 1),
    "s_desc_size": (254, 2), "s_default_mount_opts": (256, 4), "s_first_meta_bg": (260, 4),
}
GD_FIELDS = {
    "bg_block_bitmap": (0, 4), "bg_inode_bitmap": (4, 4), "bg_inode_table": (8, 4),
    "bg_free_blocks_count": (12, 2), "bg_free_inodes_count": (14, 2),
    "bg_used_dirs_count": (16, 2), "bg_flags": (18, 2),
}
INODE_FIELDS = {
    "i_mode": (0, 2), "i_uid": (2, 2), "i_size": (4, 4), "i_atime": (8, 4), "i_ctime": (12, 4),
    "i_mtime": (16, 4), "i_dtime": (20, 4), "i_gid": (24, 2), "i_links_count": (26, 2),
    "i_blocks": (28, 4), "i_flags": (32, 4), "i_generation": (100, 4), "i_file_acl": (104, 4),
    "i_size_high": (108, 4), "i_faddr": (112, 4), "i_blocks_hi": (116, 2),
    "i_uid_high": (120, 2), "i_gid_high": (122, 2), "i_extra_isize": (128, 2),
}
for _k in range(15):
    INODE_FIELDS["i_block[%d]" % _k] = (40 + 4 * _k, 4)


ZERO = bytes(BS)


class Sparse:
    """A disk image held as its non-zero 4 KiB blocks (block number ->
    bytes), sliced and assigned like a bytearray.  Seeds are mostly
    zeros: copying and writing only the rest keeps the guest fast."""

    def __init__(self, size, blocks):
        self.size = size
        self.blocks = blocks

    @classmethod
    def from_bytes(cls, data):
        blocks = {}
        for n in range(len(data) // BS):
            b = data[n * BS:(n + 1) * BS]
            if b != ZERO:
                blocks[n] = bytes(b)
        return cls(len(data), blocks)

    def copy(self):
        return Sparse(self.size, dict(self.blocks))

    def __len__(self):
        return self.size

    def _blk(self, n, write=False):
        b = self.blocks.get(n)
        if not write:
            return ZERO if b is None else b
        if b is None:
            b = self.blocks[n] = bytearray(BS)
        elif not isinstance(b, bytearray):
            b = self.blocks[n] = bytearray(b)
        return b

    def __getitem__(self, k):
        if isinstance(k, int):
            return self._blk(k // BS)[k % BS]
        start, stop, _ = k.indices(self.size)
        out = bytearray()
        while start < stop:
            n, o = divmod(start, BS)
            e = min(stop, (n + 1) * BS)
            out += self._blk(n)[o:o + e - start]
            start = e
        return bytes(out)

    def __setitem__(self, k, v):
        if isinstance(k, int):
            if 0 <= k < self.size:
                self._blk(k // BS, True)[k % BS] = v
            return
        start, stop, _ = k.indices(self.size)
        pos = 0
        while start < stop and pos < len(v):
            n, o = divmod(start, BS)
            e = min(stop, (n + 1) * BS, start + len(v) - pos)
            self._blk(n, True)[o:o + e - start] = v[pos:pos + e - start]
            pos += e - start
            start = e

    def runs(self):
        """(first block, bytes) for each run of consecutive stored blocks."""
        out = []
        for n in sorted(self.blocks):
            if out and out[-1][0] + len(out[-1][1]) == n:
                out[-1][1].append(self.blocks[n])
            else:
                out.append((n, [self.blocks[n]]))
        return [(n, b"".join(bs)) for n, bs in out]

    def to_bytes(self):
        out = bytearray(self.size)
        for n, b in self.blocks.items():
            out[n * BS:(n + 1) * BS] = b
        return bytes(out)


def u16(b, o):
    return struct.unpack_from("<H", b, o)[0]


def u32(b, o):
    return struct.unpack_from("<I", b, o)[0]


class Image:
    """The metadata map of an image: lists of byte ranges per kind, the
    inodes in use and the directory entries."""

    def __init__(self, data):
        self.d = data
        sb = bytes(data[1024:2048])
        self.sb = sb
        self.blocks = u32(sb, 4)
        self.inodes = u32(sb, 0)
        self.bpg = u32(sb, 32) or 32768
        self.ipg = u32(sb, 40) or 1
        self.isz = u16(sb, 88) if u32(sb, 76) >= 1 else 128
        if self.isz not in (128, 256, 512, 1024, 2048, 4096):
            self.isz = 128
        self.first_ino = u32(sb, 84) or 11
        nblocks = min(self.blocks, len(data) // BS)
        self.nblocks = nblocks
        self.ngroups = max(1, min(64, (nblocks + self.bpg - 1) // self.bpg))
        self.gd = []            # per group: dict of fields
        self.kinds = {}         # kind -> list of block numbers
        self.inode = {}         # ino -> dict(mode, size, blocks=[...], ind=[...], acl)
        self.dirents = []       # (block, offset, ino, rec_len, name_len, type, name, dir ino)
        self.parse()

    def add(self, kind, blk):
        if 0 < blk < self.nblocks:
            self.kinds.setdefault(kind, []).append(blk)

    def blk(self, n):
        return self.d[n * BS:(n + 1) * BS]

    def gd_off(self, g):
        return BS + 32 * g

    def inode_off(self, ino):
        """Byte offset of inode ino, or None."""
        if ino < 1 or ino > self.inodes:
            return None
        g, i = divmod(ino - 1, self.ipg)
        if g >= len(self.gd):
            return None
        t = self.gd[g]["bg_inode_table"]
        off = t * BS + i * self.isz
        if t == 0 or off + self.isz > len(self.d):
            return None
        return off

    def parse(self):
        self.kinds["superblock"] = [0]
        gdt_blocks = (self.ngroups * 32 + BS - 1) // BS
        for b in range(1, 1 + gdt_blocks):
            self.add("gdt", b)
        for g in range(self.ngroups):
            o = self.gd_off(g)
            gd = {k: int.from_bytes(self.d[o + f:o + f + s], "little") for k, (f, s) in GD_FIELDS.items()}
            self.gd.append(gd)
            self.add("block_bitmap", gd["bg_block_bitmap"])
            self.add("inode_bitmap", gd["bg_inode_bitmap"])
            itb = (self.ipg * self.isz + BS - 1) // BS
            for b in range(gd["bg_inode_table"], gd["bg_inode_table"] + min(itb, 4096)):
                self.add("inode_table", b)
            # Backup superblocks and descriptors (sparse_super: 0, 1, 3^n, 5^n, 7^n).
            if g > 0 and (g == 1 or any(_pow(g, p) for p in (3, 5, 7))):
                self.add("backup_sb", g * self.bpg)
        for ino in range(1, min(self.inodes, self.ngroups * self.ipg) + 1):
            off = self.inode_off(ino)
            if off is None:
                continue
            raw = self.d[off:off + 128]
            mode, links, dtime = u16(raw, 0), u16(raw, 26), u32(raw, 20)
            if mode == 0 or (ino >= self.first_ino and (links == 0 or dtime)):
                continue
            ent = {"off": off, "mode": mode, "size": u32(raw, 4) | (u32(raw, 108) << 32),
                   "blocks": [], "ind": [], "acl": u32(raw, 104), "ptr": []}
            self.inode[ino] = ent
            fmt = mode & S_IFMT
            # ext2's rule: a fast symlink uses no block but its attribute block.
            fast_link = fmt == S_IFLNK and u32(raw, 28) == (8 if ent["acl"] else 0)
            if fmt in (S_IFDIR, S_IFREG, S_IFLNK) and not fast_link:
                self.walk_map(ino, ent, raw)
            if ent["acl"]:
                self.add("xattr", ent["acl"])
            if fmt == S_IFDIR:
                for b in ent["blocks"]:
                    self.add("dir", b)
                    self.parse_dir(b, ino)
            elif fmt == S_IFLNK and ent["blocks"]:
                self.add("symlink", ent["blocks"][0])
            elif fmt == S_IFREG:
                for b in ent["blocks"][:4]:
                    self.add("data", b)
        for k in self.kinds:
            self.kinds[k] = sorted(set(self.kinds[k]))

    def walk_map(self, ino, ent, raw):
        """Collects data and indirect blocks; ptr gets byte offsets of
        every non-zero block pointer (in the inode or in indirect blocks)."""
        budget = [20000]

        def ind(b, depth, kind):
            if not (0 < b < self.nblocks) or budget[0] <= 0:
                return
            budget[0] -= 1
            self.add(kind, b)
            ent["ind"].append(b)
            blk = self.blk(b)
            for i in range(BS // 4):
                p = u32(blk, 4 * i)
                if p:
                    ent["ptr"].append(b * BS + 4 * i)
                    if depth == 0:
                        if len(ent["blocks"]) < 2000:
                            ent["blocks"].append(p)
                    else:
                        ind(p, depth - 1, "ind")

        for i in range(12):
            p = u32(raw, 40 + 4 * i)
            if p:
                ent["ptr"].append(ent["off"] + 40 + 4 * i)
                ent["blocks"].append(p)
        for i, kind in ((12, "ind"), (13, "dind"), (14, "tind")):
            p = u32(raw, 40 + 4 * i)
            if p:
                ent["ptr"].append(ent["off"] + 40 + 4 * i)
                ind(p, i - 12, kind)

    def parse_dir(self, b, dino):
        if not (0 < b < self.nblocks):
            return
        blk = self.blk(b)
        o = 0
        while o + 8 <= BS:
            ino, rl, nl, ft = u32(blk, o), u16(blk, o + 4), blk[o + 6], blk[o + 7]
            self.dirents.append((b, o, ino, rl, nl, ft, bytes(blk[o + 8:o + 8 + nl]), dino))
            if rl < 12 or rl % 4 or o + rl > BS:
                break
            o += rl

    def inodes_of(self, fmt):
        return [i for i, e in self.inode.items() if e["mode"] & S_IFMT == fmt]


def _pow(g, p):
    n = p
    while n < g:
        n *= p
    return n == g
