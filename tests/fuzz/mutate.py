# SPDX-License-Identifier: GPL-2.0
"""Metadata-aware mutations of ext2 seed images, deterministic from
(seed, index): the same seed images and the same pair give the same bytes
on the host and in the guest, so a failing image can always be made
again.  Each image is one seed plus 1 to 6 mutations, each described in
one line (what, where, old and new value).

Usage:
  mutate.py make SEEDDIR SEED INDEX OUT   write image INDEX, print its story
  mutate.py show SEEDDIR SEED FIRST LAST  print the stories only
  mutate.py pack SEEDDIR                  write SEEDDIR/NAME.sparse (fast loading)
  mutate.py pin IMG                       set every inode's ctime to a fixed
                                          value (seed images, deterministic)
"""

import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ext2img  # noqa: E402
from ext2img import BS, GD_FIELDS, INODE_FIELDS, SB_FIELDS, S_IFMT  # noqa: E402

SEED_WEIGHTS = {"tree": 45, "small": 30, "groups": 10, "crash": 15}

# Where mutations land: weights per kind of metadata.
REGION_WEIGHTS = {
    "superblock": 6, "gdt": 6, "block_bitmap": 5, "inode_bitmap": 5, "inode": 22,
    "dir": 22, "ind": 6, "dind": 4, "tind": 3, "xattr": 10, "symlink": 3,
}


def load_seeds(d):
    """The seed images of directory d, by name: (bytes, metadata map).
    NAME.sparse (see pack()) loads much faster than NAME.img over the
    guest's 9p share."""
    import pickle
    seeds = {}
    with open(os.path.join(d, "seeds.txt")) as f:
        for line in f:
            name = line.split()[0]
            sp = os.path.join(d, name + ".sparse")
            if os.path.exists(sp):
                with open(sp, "rb") as g:
                    size, runs = pickle.load(g)
                blocks = {}
                for off, b in runs:
                    for k in range(len(b) // BS):
                        blocks[off // BS + k] = b[k * BS:(k + 1) * BS]
                data = ext2img.Sparse(size, blocks)
            else:
                with open(os.path.join(d, name + ".img"), "rb") as g:
                    data = ext2img.Sparse.from_bytes(g.read())
            seeds[name] = (data, ext2img.Image(data))
    return seeds


def pack(d):
    """Writes NAME.sparse for every seed: its size and its runs of
    non-zero blocks."""
    import pickle
    with open(os.path.join(d, "seeds.txt")) as f:
        names = [line.split()[0] for line in f]
    for name in names:
        with open(os.path.join(d, name + ".img"), "rb") as g:
            data = g.read()
        runs = []
        zero = bytes(BS)
        b = 0
        nb = len(data) // BS
        while b < nb:
            if data[b * BS:(b + 1) * BS] == zero:
                b += 1
                continue
            e = b
            while e < nb and data[e * BS:(e + 1) * BS] != zero:
                e += 1
            runs.append((b * BS, data[b * BS:e * BS]))
            b = e
        with open(os.path.join(d, name + ".sparse"), "wb") as g:
            pickle.dump((len(data), runs), g, protocol=4)


class Mutator:
    def __init__(self, seeds, seed, index):
        self.rnd = random.Random("rext2-fuzz:%s:%s" % (seed, index))
        names = sorted(seeds)
        self.seed_name = self.rnd.choices(names, [SEED_WEIGHTS.get(n, 10) for n in names])[0]
        data, self.m = seeds[self.seed_name]
        self.img = data.copy()
        self.story = []
        # Paths of the inodes the mutations touched (the guest works on
        # them first).
        self.targets = []
        self.paths = self.name_inodes()

    # Helpers ----------------------------------------------------------

    def name_inodes(self):
        paths = {2: "/"}
        todo = [2]
        children = {}
        for (_b, _o, ino, _rl, _nl, _ft, name, dino) in self.m.dirents:
            if ino and name not in (b".", b".."):
                children.setdefault(dino, []).append((name, ino))
        while todo:
            d = todo.pop()
            for name, ino in children.get(d, []):
                if ino not in paths:
                    paths[ino] = paths[d].rstrip("/") + "/" + name.decode(errors="replace")
                    todo.append(ino)
        return paths

    def iname(self, ino):
        p = self.paths.get(ino)
        if p:
            self.targets.append(p)
        return "inode %d (%s)" % (ino, p) if p else "inode %d" % ino

    def get(self, off, size):
        return int.from_bytes(self.img[off:off + size], "little")

    def put(self, off, size, val, what):
        old = self.get(off, size)
        val &= (1 << (8 * size)) - 1
        self.img[off:off + size] = val.to_bytes(size, "little")
        self.story.append("%s = %#x (was %#x) [byte %#x]" % (what, val, old, off))

    def pick(self, seq):
        return seq[self.rnd.randrange(len(seq))]

    def meta_blocks(self):
        out = []
        for k in ("gdt", "block_bitmap", "inode_bitmap", "inode_table", "dir", "ind", "dind",
                  "tind", "xattr", "symlink"):
            out += self.m.kinds.get(k, [])
        return out or [1]

    def any_block(self):
        """An interesting block number."""
        r = self.rnd.randrange(10)
        n = self.m.blocks
        if r == 0:
            return self.pick([0, 1, 2, n - 1, n, n + 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000])
        if r <= 5:
            return self.pick(self.meta_blocks())
        if r <= 7:
            data = self.m.kinds.get("data") or [self.m.blocks - 1]
            return self.pick(data)
        return self.rnd.randrange(1, max(2, min(n, self.m.nblocks)))

    def any_ino(self):
        r = self.rnd.randrange(8)
        if r <= 2:
            return self.rnd.randrange(1, 12)
        if r == 3:
            return self.pick([0, self.m.inodes, self.m.inodes + 1, self.m.first_ino - 1,
                              self.m.ipg, self.m.ipg + 1, 0xFFFFFFFF])
        return self.pick(sorted(self.m.inode))

    def value(self, size, kind="int"):
        if kind == "block" and self.rnd.randrange(3):
            return self.any_block()
        if kind == "ino" and self.rnd.randrange(3):
            return self.any_ino()
        mx = (1 << (8 * size)) - 1
        return self.pick([0, 1, 2, 3, 4, 7, 8, 11, 12, 0x7F, 0x80, 0xFF, 0x100, 0xFFF, 0x1000,
                          0x1001, mx, mx - 1, mx >> 1, (mx >> 1) + 1, self.rnd.randrange(mx + 1)])

    def live(self, fmts=None):
        """An inode in use, of one of the types fmts: first a class
        (directory, file with blocks, empty file, symlink, other, reserved)
        then an inode of it, so that hundreds of empty files in one
        directory do not drown the rest."""
        classes = {}
        for i, e in sorted(self.m.inode.items()):
            fmt = e["mode"] & S_IFMT
            if fmts is not None and fmt not in fmts:
                continue
            c = "reserved" if i < self.m.first_ino and i != 2 else \
                "reg" + str(bool(e["blocks"])) if fmt == ext2img.S_IFREG else fmt
            classes.setdefault(c, []).append(i)
        if not classes:
            return None
        return self.pick(classes[self.pick(sorted(classes, key=str))])

    def dirent(self, pred=lambda d: True):
        """A directory entry: first a directory block, then an entry in it."""
        by_block = {}
        for d in self.m.dirents:
            if pred(d):
                by_block.setdefault(d[0], []).append(d)
        if not by_block:
            return None
        return self.pick(by_block[self.pick(sorted(by_block))])

    # Byte-level mutations in a region ---------------------------------

    def region(self):
        """(start, length, label) of a piece of metadata."""
        kinds = [k for k in REGION_WEIGHTS
                 if k == "inode" or k == "superblock" or self.m.kinds.get(k)]
        k = self.rnd.choices(kinds, [REGION_WEIGHTS[x] for x in kinds])[0]
        if k == "superblock":
            return 1024, 264, "superblock"
        if k == "gdt":
            return BS, 32 * self.m.ngroups, "group descriptors"
        if k == "inode":
            ino = self.live()
            return self.m.inode[ino]["off"], 128, self.iname(ino)
        b = self.pick(self.m.kinds[k])
        if k == "block_bitmap":
            return b * BS, max(1, min(BS, self.m.nblocks // 8)), "block bitmap %d" % b
        if k == "inode_bitmap":
            return b * BS, max(1, min(BS, self.m.ipg // 8)), "inode bitmap %d" % b
        if k == "dir":
            # Mostly the first entries, where ".", ".." and names live.
            ln = 64 if self.rnd.randrange(2) else BS
            return b * BS, ln, "directory block %d" % b
        if k == "xattr":
            return b * BS, self.pick([32, 128, BS]), "attribute block %d" % b
        if k in ("ind", "dind", "tind"):
            return b * BS, self.pick([16, 64, BS]), "%s block %d" % (k, b)
        return b * BS, 64, "%s block %d" % (k, b)

    def m_flip(self):
        start, ln, label = self.region()
        for _ in range(self.rnd.choice([1, 1, 2, 4])):
            off = start + self.rnd.randrange(ln)
            bit = self.rnd.randrange(8)
            old = self.img[off]
            self.img[off] ^= 1 << bit
            self.story.append("flip bit %d of byte %#x (+%#x in %s): %#x -> %#x"
                              % (bit, off, off - start, label, old, self.img[off]))

    def m_bytes(self):
        start, ln, label = self.region()
        n = self.rnd.choice([1, 2, 4, 4, 8, 16])
        off = start + self.rnd.randrange(max(1, ln - n + 1))
        new = bytes(self.rnd.choice([0, 0xFF, self.rnd.randrange(256)]) if self.rnd.randrange(3) == 0
                    else self.rnd.randrange(256) for _ in range(n))
        old = bytes(self.img[off:off + n])
        self.img[off:off + n] = new
        self.story.append("bytes at %#x (+%#x in %s): %s -> %s"
                          % (off, off - start, label, old.hex(), new.hex()))

    # Field-level mutations --------------------------------------------

    def m_sb_field(self):
        name = self.pick(sorted(SB_FIELDS))
        o, s = SB_FIELDS[name]
        kind = "block" if name in ("s_blocks_count", "s_free_blocks_count", "s_r_blocks_count") else \
            "ino" if name in ("s_inodes_count", "s_first_ino", "s_free_inodes_count") else "int"
        self.put(1024 + o, s, self.value(s, kind), "superblock " + name)

    def m_gd_field(self):
        g = self.rnd.randrange(self.m.ngroups)
        name = self.pick(sorted(GD_FIELDS))
        o, s = GD_FIELDS[name]
        kind = "block" if name.endswith(("bitmap", "table")) else "int"
        self.put(BS + 32 * g + o, s, self.value(s, kind), "group %d %s" % (g, name))

    def m_inode_field(self):
        ino = self.live() if self.rnd.randrange(6) else self.rnd.randrange(1, 12)
        off = self.m.inode_off(ino)
        if off is None:
            return self.m_flip()
        names = sorted(f for f in INODE_FIELDS if INODE_FIELDS[f][0] + INODE_FIELDS[f][1] <= self.m.isz)
        # Favour the fields that drive the code: mode, size, links, blocks.
        hot = ["i_mode", "i_size", "i_size_high", "i_links_count", "i_blocks", "i_file_acl",
               "i_dtime", "i_flags"] + ["i_block[%d]" % k for k in range(15)]
        name = self.pick(hot if self.rnd.randrange(3) else names)
        o, s = INODE_FIELDS[name]
        if name == "i_mode" and self.rnd.randrange(2):
            old = self.get(off, 2)
            t = self.pick([0o040000, 0o100000, 0o120000, 0o020000, 0o060000, 0o010000,
                           0o140000, 0, 0o170000, 0o030000])
            val = t | (old & 0o7777)
        elif name in ("i_size", "i_size_high") and self.rnd.randrange(2):
            val = self.pick([0, 1, 59, 60, 61, 4095, 4096, 4097, 8192, 0xFFFFFFFF, 0x80000000,
                             0x1000000, 0x7FFFFFFF, self.rnd.randrange(1 << 20)])
            if name == "i_size_high":
                val = self.pick([0, 1, 0x1ff, 0x200, 0xFFFFFFFF, 0x7FFFFFFF])
        elif name == "i_links_count":
            val = self.pick([0, 0, 1, 2, 0xFFFF, 0xFFFE, 64999, 65000])
        elif name.startswith("i_block") or name == "i_file_acl":
            val = self.value(s, "block")
        else:
            val = self.value(s)
        self.put(off + o, s, val, "%s %s" % (self.iname(ino), name))

    def m_dirent_field(self):
        d = self.dirent()
        if d is None:
            return self.m_flip()
        b, o, ino, rl, nl, ft, name, dino = d
        base = b * BS + o
        what = "entry '%s' (-> %d) at +%#x of directory block %d of %s" % (
            name.decode(errors="replace"), ino, o, b, self.iname(dino))
        f = self.rnd.randrange(5)
        if f == 0:
            v = self.any_ino() if self.rnd.randrange(4) else self.pick([dino, 2, 0])
            self.put(base, 4, v, what + " inode")
        elif f == 1:
            v = self.pick([0, 4, 8, 12, 13, 16, rl - 4, rl + 4, rl + 12, BS, BS - o, BS - o + 4,
                           0xFFFF, 0xFFFC, 8 + nl - 4, 8 + ((nl + 3) & ~3)])
            self.put(base + 4, 2, v, what + " rec_len")
        elif f == 2:
            v = self.pick([0, 1, 2, 3, nl + 1, nl + 4, 255, rl - 8, rl - 7, rl])
            self.put(base + 6, 1, v, what + " name_len")
        elif f == 3:
            v = self.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 0xFF])
            self.put(base + 7, 1, v, what + " file_type")
        else:
            # A name that is ".", "..", or contains '/' or NUL.
            if nl == 0:
                return self.m_flip()
            v = self.pick([b".", b"..", b"/", b"\0", b"a/b", b"x" * nl])
            v = (v + name)[:nl] if len(v) < nl else v[:nl]
            old = bytes(self.img[base + 8:base + 8 + nl])
            self.img[base + 8:base + 8 + nl] = v
            self.story.append("%s name %r -> %r" % (what, old, v))

    def m_xattr_field(self):
        blocks = self.m.kinds.get("xattr")
        if not blocks:
            return self.m_inode_field()
        b = self.pick(blocks)
        base = b * BS
        f = self.rnd.randrange(8)
        if f == 0:
            self.put(base, 4, self.pick([0, 0xEA020000, 0xEA010000, 0x02EA]), "attribute block %d h_magic" % b)
        elif f == 1:
            self.put(base + 4, 4, self.pick([0, 2, 3, 0xFFFFFFFF, 0x7FFFFFFF, 1024]), "attribute block %d h_refcount" % b)
        elif f == 2:
            self.put(base + 8, 4, self.pick([0, 2, 0xFFFFFFFF]), "attribute block %d h_blocks" % b)
        else:
            # The first entries: e_name_len(1) e_name_index(1)
            # e_value_offs(2) e_value_block(4) e_value_size(4) e_hash(4).
            ents = []
            o = 32
            while o + 16 <= BS and len(ents) < 16:
                nl = self.img[base + o]
                if nl == 0 and self.get(base + o, 4) == 0:
                    break
                ents.append(o)
                o += (16 + nl + 3) & ~3
            if not ents:
                return self.m_flip()
            e = self.pick(ents)
            fields = [("e_name_len", 0, 1), ("e_name_index", 1, 1), ("e_value_offs", 2, 2),
                      ("e_value_block", 4, 4), ("e_value_size", 8, 4), ("e_hash", 12, 4)]
            n, fo, s = self.pick(fields)
            if n == "e_value_offs":
                v = self.pick([0, 1, 2, 32, BS - 4, BS, BS + 4, 0xFFFF, e, e + 16])
            elif n == "e_value_size":
                v = self.pick([0, 1, BS, BS - 32, BS + 1, 0xFFFFFFFF, 0x10000, 65536 * 4])
            elif n == "e_name_len":
                v = self.pick([0, 1, 255, 200, 16])
            else:
                v = self.value(s)
            self.put(base + e + fo, s, v, "attribute block %d entry at +%#x %s" % (b, e, n))

    def m_indirect_slot(self):
        inos = sorted(i for i, e in self.m.inode.items() if e["ptr"])
        if not inos:
            return self.m_inode_field()
        ino = self.pick(inos)
        ptr = self.pick(self.m.inode[ino]["ptr"])
        self.put(ptr, 4, self.value(4, "block"), "%s block pointer" % self.iname(ino))

    # Structural mutations ---------------------------------------------

    def m_struct(self):
        ops = [self.s_self_indirect, self.s_same_block, self.s_share_block, self.s_dirent_reserved,
               self.s_root_not_dir, self.s_links_zero, self.s_clear_inode_bit, self.s_clear_block_bit,
               self.s_meta_overlap, self.s_huge_size, self.s_dir_loop, self.s_share_xattr,
               self.s_copy_block, self.s_zero_block, self.s_dir_hardlink, self.s_dot_entries,
               self.s_gd_overlap, self.s_free_counts, self.s_symlink_kind, self.s_dtime_live,
               self.s_last_rec_len, self.s_deep_loop, self.s_big_dir]
        self.pick(ops)()

    def ind_owner(self):
        inos = sorted(i for i, e in self.m.inode.items() if e["ind"])
        return self.pick(inos) if inos else None

    def s_self_indirect(self):
        ino = self.ind_owner()
        if ino is None:
            return self.m_inode_field()
        e = self.m.inode[ino]
        b = self.pick(e["ind"])
        slot = self.rnd.choice([0, 0, 1, self.rnd.randrange(1024)])
        self.put(b * BS + 4 * slot, 4, b, "%s indirect block %d slot %d points to itself" % (self.iname(ino), b, slot))

    def s_same_block(self):
        # Every slot of an indirect block holds one number: a data block,
        # the block itself (a tree of any depth that never ends), or
        # another indirect block of the file.
        ino = self.ind_owner()
        if ino is None:
            return self.m_inode_field()
        e = self.m.inode[ino]
        b = self.pick(e["ind"])
        r = self.rnd.randrange(3)
        target = self.pick(e["blocks"] or [b]) if r == 0 else b if r == 1 else self.pick(e["ind"])
        n = self.pick([16, 1024])
        self.img[b * BS:b * BS + 4 * n] = struct.pack("<I", target) * n
        self.story.append("%s indirect block %d: first %d slots all = %d" % (self.iname(ino), b, n, target))

    def s_deep_loop(self):
        # The inode's double or triple indirect pointer aimed at a block
        # whose every slot points back at that same block.
        ino = self.live([ext2img.S_IFREG, ext2img.S_IFDIR])
        if ino is None:
            return self.m_inode_field()
        cands = self.m.kinds.get("ind", []) + self.m.kinds.get("dind", []) + self.m.kinds.get("data", [])
        if not cands:
            return self.m_inode_field()
        b = self.pick(cands)
        self.img[b * BS:(b + 1) * BS] = struct.pack("<I", b) * (BS // 4)
        slot = self.pick([12, 13, 14, 14])
        off = self.m.inode[ino]["off"]
        self.put(off + 40 + 4 * slot, 4, b, "%s i_block[%d] -> block %d, all of whose slots point to itself"
                 % (self.iname(ino), slot, b))
        if self.rnd.randrange(2):
            # And a size that reaches into that tree.
            size = self.pick([(12 + 1024 + 5) * BS, (12 + 1024 + 1024 * 1024 + 5) * BS, 0x1ff7fdfe000 - BS])
            self.put(off + 4, 4, size & 0xFFFFFFFF, "%s i_size" % self.iname(ino))
            self.put(off + 108, 4, size >> 32, "%s i_size_high" % self.iname(ino))

    def s_big_dir(self):
        # A directory whose size says it has many blocks, all of them its
        # first block through an indirect block.
        dirs = [d for d in self.m.inodes_of(ext2img.S_IFDIR) if self.m.inode[d]["blocks"]]
        cands = self.m.kinds.get("ind", []) + self.m.kinds.get("data", [])
        if not dirs or not cands:
            return self.m_dirent_field()
        d = self.pick(dirs)
        first = self.m.inode[d]["blocks"][0]
        b = self.pick(cands)
        self.img[b * BS:(b + 1) * BS] = struct.pack("<I", first) * (BS // 4)
        off = self.m.inode[d]["off"]
        self.put(off + 40 + 48, 4, b, "%s i_block[12] -> block %d, all of whose slots = its block 0 (%d)"
                 % (self.iname(d), b, first))
        if self.rnd.randrange(2):
            self.img[b * BS:(b + 1) * BS] = struct.pack("<I", b) * (BS // 4)
            self.put(off + 40 + 52, 4, b, "%s i_block[13] -> the same block" % self.iname(d))
        size = self.pick([(12 + 1024) * BS, (12 + 1024 + 1024 * 1024) * BS])
        self.put(off + 4, 4, size & 0xFFFFFFFF, "%s i_size" % self.iname(d))
        self.put(off + 108, 4, size >> 32, "%s i_size_high" % self.iname(d))

    def s_share_block(self):
        a = self.live([ext2img.S_IFREG, ext2img.S_IFDIR])
        c = self.live([ext2img.S_IFREG, ext2img.S_IFDIR])
        if a is None or not self.m.inode[a]["blocks"]:
            return self.m_inode_field()
        blk = self.pick(self.m.inode[a]["blocks"])
        off = self.m.inode[c]["off"]
        slot = self.rnd.randrange(13)
        self.put(off + 40 + 4 * slot, 4, blk, "%s i_block[%d] shares block %d of %s"
                 % (self.iname(c), slot, blk, self.iname(a)))

    def s_dirent_reserved(self):
        d = self.dirent(lambda d: d[6] not in (b".", b"..") and d[2])
        if d is None:
            return self.m_dirent_field()
        b, o, ino, rl, nl, ft, name, dino = d
        v = self.rnd.randrange(1, 12)
        self.put(b * BS + o, 4, v, "entry '%s' of %s now names reserved inode"
                 % (name.decode(errors="replace"), self.iname(dino)))

    def s_root_not_dir(self):
        off = self.m.inode_off(2)
        old = self.get(off, 2)
        t = self.pick([0o100000, 0o120000, 0o020000, 0o010000, 0])
        self.put(off, 2, t | (old & 0o7777), "root inode i_mode")

    def s_links_zero(self):
        ino = self.live()
        self.put(self.m.inode[ino]["off"] + 26, 2, self.pick([0, 0, 1]), "%s i_links_count" % self.iname(ino))

    def bit(self, blockno, bit, what):
        off = blockno * BS + bit // 8
        if off >= len(self.img):
            return self.m_flip()
        old = self.img[off]
        self.img[off] &= ~(1 << (bit % 8)) & 0xFF
        self.story.append("%s: clear bit %d of bitmap block %d (byte %#x: %#x -> %#x)"
                          % (what, bit, blockno, off, old, self.img[off]))

    def s_clear_inode_bit(self):
        ino = self.live() if self.rnd.randrange(4) else self.pick([1, 2, 11])
        g, i = divmod(ino - 1, self.m.ipg)
        if g >= len(self.m.gd):
            return self.m_flip()
        self.bit(self.m.gd[g]["bg_inode_bitmap"], i, "%s marked free" % self.iname(ino))

    def s_clear_block_bit(self):
        k = self.pick(["inode_table", "dir", "ind", "xattr", "data", "gdt", "block_bitmap"])
        blocks = self.m.kinds.get(k)
        if not blocks:
            k, blocks = "inode_table", self.m.kinds["inode_table"]
        b = self.pick(blocks)
        g, i = divmod(b, self.m.bpg)
        if g >= len(self.m.gd):
            return self.m_flip()
        self.bit(self.m.gd[g]["bg_block_bitmap"], i, "%s block %d marked free" % (k, b))

    def s_meta_overlap(self):
        # A file's data or directory block pointer aimed at live metadata,
        # so that writes land on the superblock, a bitmap or an inode table.
        ino = self.live([ext2img.S_IFREG, ext2img.S_IFDIR, ext2img.S_IFLNK])
        if ino is None:
            return self.m_inode_field()
        k = self.pick(["superblock", "gdt", "block_bitmap", "inode_bitmap", "inode_table", "dir", "xattr"])
        blocks = self.m.kinds.get(k) or [0]
        slot = self.rnd.randrange(12) if self.rnd.randrange(2) else 0
        self.put(self.m.inode[ino]["off"] + 40 + 4 * slot, 4, self.pick(blocks),
                 "%s i_block[%d] aimed at %s" % (self.iname(ino), slot, k))

    def s_huge_size(self):
        ino = self.live([ext2img.S_IFREG, ext2img.S_IFDIR, ext2img.S_IFLNK])
        off = self.m.inode[ino]["off"]
        lo, hi = self.pick([(0xFFFFFFFF, 0x1ff), (0xFFFFE000, 0x1ff), (0xFFFFFFFF, 0xFFFFFFFF),
                            (0, 0x80000000), (0x7FFFFFFF, 0), (0xFFFFF000, 0), (4096 * 1000, 0),
                            (0xFDFE000, 0x1ff), (0xFDFF000, 0x1ff)])
        self.put(off + 4, 4, lo, "%s i_size" % self.iname(ino))
        self.put(off + 108, 4, hi, "%s i_size_high" % self.iname(ino))

    def s_dir_loop(self):
        dirs = self.m.inodes_of(ext2img.S_IFDIR)
        d = self.dirent(lambda d: d[6] not in (b".", b"..") and d[2] in self.m.inode and self.m.inode[d[2]]["mode"] & S_IFMT == ext2img.S_IFDIR)
        if d is None or not dirs:
            return self.m_dirent_field()
        b, o, ino, rl, nl, ft, name, dino = d
        v = self.pick([dino, 2, self.pick(dirs)])
        self.put(b * BS + o, 4, v, "directory entry '%s' of %s (was a directory) now names a directory"
                 % (name.decode(errors="replace"), self.iname(dino)))

    def s_share_xattr(self):
        blocks = self.m.kinds.get("xattr")
        ino = self.live()
        if not blocks:
            return self.m_inode_field()
        v = self.pick(blocks) if self.rnd.randrange(3) else self.pick(self.meta_blocks())
        self.put(self.m.inode[ino]["off"] + 104, 4, v, "%s i_file_acl" % self.iname(ino))

    def s_copy_block(self):
        src = self.pick(self.meta_blocks())
        dst = self.pick(self.meta_blocks())
        self.img[dst * BS:(dst + 1) * BS] = self.img[src * BS:(src + 1) * BS]
        self.story.append("block %d overwritten with a copy of block %d" % (dst, src))

    def s_zero_block(self):
        b = self.pick(self.meta_blocks())
        fill = self.pick([b"\0", b"\xff", None])
        self.img[b * BS:(b + 1) * BS] = fill * BS if fill else self.rnd.randbytes(BS)
        self.story.append("block %d filled with %s" % (b, fill.hex() * 2 if fill else "random bytes"))

    def s_dir_hardlink(self):
        # A regular entry re-aimed at a directory: a directory with two names.
        dirs = [d for d in self.m.inodes_of(ext2img.S_IFDIR) if d != 2] or [2]
        d = self.dirent(lambda d: d[6] not in (b".", b"..") and d[2])
        if d is None:
            return self.m_dirent_field()
        b, o, ino, rl, nl, ft, name, dino = d
        v = self.pick(dirs)
        self.put(b * BS + o, 4, v, "entry '%s' of %s now names directory" % (name.decode(errors="replace"), self.iname(dino)))
        self.put(b * BS + o + 7, 1, 2, "  and its file_type")

    def s_dot_entries(self):
        d = self.dirent(lambda d: d[6] in (b".", b".."))
        if d is None:
            return self.m_dirent_field()
        b, o, ino, rl, nl, ft, name, dino = d
        files = self.m.inodes_of(ext2img.S_IFREG) or [0]
        v = self.pick([0, 2, dino, self.pick(files), self.m.inodes + 5])
        self.put(b * BS + o, 4, v, "'%s' of %s inode" % (name.decode(), self.iname(dino)))

    def s_gd_overlap(self):
        g = self.rnd.randrange(self.m.ngroups)
        gd = self.m.gd[g]
        name = self.pick(["bg_block_bitmap", "bg_inode_bitmap", "bg_inode_table"])
        v = self.pick([gd["bg_block_bitmap"], gd["bg_inode_bitmap"], gd["bg_inode_table"],
                       gd["bg_inode_table"] + 1, 0, 1, self.m.blocks - 1, self.m.blocks - 2])
        o, s = GD_FIELDS[name]
        self.put(BS + 32 * g + o, s, v, "group %d %s" % (g, name))

    def s_free_counts(self):
        g = self.rnd.randrange(self.m.ngroups)
        name = self.pick(["bg_free_blocks_count", "bg_free_inodes_count", "bg_used_dirs_count"])
        o, s = GD_FIELDS[name]
        self.put(BS + 32 * g + o, s, self.pick([0, 0xFFFF, 1, self.m.ipg, self.m.bpg, self.m.bpg + 1]),
                 "group %d %s" % (g, name))
        if self.rnd.randrange(2):
            n = self.pick(["s_free_blocks_count", "s_free_inodes_count"])
            o, s = SB_FIELDS[n]
            self.put(1024 + o, s, self.pick([0, 0xFFFFFFFF, 1]), "superblock " + n)

    def s_symlink_kind(self):
        ino = self.live([ext2img.S_IFLNK])
        if ino is None:
            return self.m_inode_field()
        off = self.m.inode[ino]["off"]
        r = self.rnd.randrange(3)
        if r == 0:
            self.put(off + 28, 4, self.pick([0, 8, 16]), "%s i_blocks (fast/slow)" % self.iname(ino))
        elif r == 1:
            self.put(off + 4, 4, self.pick([0, 59, 60, 61, 4095, 4096, 4097, 0xFFFFFFFF]), "%s i_size" % self.iname(ino))
        else:
            self.img[off + 40:off + 100] = b"x" * 60
            self.story.append("%s i_block filled with 60 x's (no NUL)" % self.iname(ino))

    def s_dtime_live(self):
        ino = self.live()
        self.put(self.m.inode[ino]["off"] + 20, 4, 1000000000, "%s i_dtime" % self.iname(ino))

    def s_last_rec_len(self):
        # The last entry of a directory block ends early, or past the end.
        dblocks = sorted({d[0] for d in self.m.dirents})
        if not dblocks:
            return self.m_flip()
        b = self.pick(dblocks)
        last = [d for d in self.m.dirents if d[0] == b][-1]
        _, o, ino, rl, nl, ft, name, dino = last
        self.put(b * BS + o + 4, 2, self.pick([rl - 4, rl + 4, 12, (8 + nl + 3) & ~3]),
                 "last entry '%s' of directory block %d rec_len" % (name.decode(errors="replace"), b))

    # ------------------------------------------------------------------

    def run(self):
        n = self.rnd.choices([1, 2, 3, 4, 6], [50, 25, 13, 8, 4])[0]
        ops = [(self.m_flip, 14), (self.m_bytes, 8), (self.m_sb_field, 5), (self.m_gd_field, 5),
               (self.m_inode_field, 20), (self.m_dirent_field, 14), (self.m_xattr_field, 8),
               (self.m_indirect_slot, 8), (self.m_struct, 18)]
        for _ in range(n):
            self.rnd.choices([o for o, _ in ops], [w for _, w in ops])[0]()
        return self.img

    def fs_bytes(self):
        """How far the mutated superblock says the file system goes."""
        return int.from_bytes(self.img[1028:1032], "little") * BS


def make(seeds, seed, index):
    m = Mutator(seeds, seed, index)
    img = m.run()
    return m.seed_name, img, m.story, m.fs_bytes()


def make_targets(seeds, seed, index):
    """make(), plus the paths of the inodes the mutations touched."""
    m = Mutator(seeds, seed, index)
    img = m.run()
    targets = []
    for p in m.targets:
        if p not in targets:
            targets.append(p)
    return m.seed_name, img, m.story, m.fs_bytes(), targets


def pin(path):
    """Sets ctime (which mke2fs -d copies from the host) to 1000000000."""
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        m = ext2img.Image(data)
        for ino in range(1, m.inodes + 1):
            off = m.inode_off(ino)
            if off is not None and struct.unpack_from("<H", data, off)[0]:
                struct.pack_into("<I", data, off + 12, 1000000000)
        f.seek(0)
        f.write(data)


def main():
    cmd = sys.argv[1]
    if cmd == "pin":
        pin(sys.argv[2])
    elif cmd == "pack":
        pack(sys.argv[2])
    elif cmd == "make":
        seeds = load_seeds(sys.argv[2])
        name, img, story, _ = make(seeds, sys.argv[3], int(sys.argv[4]))
        with open(sys.argv[5], "wb") as f:
            f.write(img.to_bytes())
        print("seed %s" % name)
        print("\n".join(story))
    elif cmd == "show":
        seeds = load_seeds(sys.argv[2])
        for i in range(int(sys.argv[4]), int(sys.argv[5]) + 1):
            name, _, story, _ = make(seeds, sys.argv[3], i)
            print("%d %s: %s" % (i, name, " | ".join(story)))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
