# SPDX-License-Identifier: GPL-2.0
"""Reader of rpmem's write log (Documentation/driver-api/nvdimm/rpmem.rst,
"Recording writes and fences").

The log is a 32-byte header, then 32-byte records, each followed by its
payload padded to 8 bytes; all integers little endian:

  header:  magic "RPMEMLOG", u32 version (1), u32 header length (32),
           u64 device length, u32 record header length (32), u32 0
  record:  u16 type, u16 flags, u32 length, u64 seq, u64 epoch, u64 offset

  type 1 WRITE  length bytes at byte offset, payload = the bytes read back
                (flags: 1 recovery_write, 2 poisoned: payload unreliable)
  type 2 ZERO   length zero bytes at offset (dax zero_page_range), no payload
  type 3 FENCE  everything before is durable (flags: 1 REQ_PREFLUSH,
                2 REQ_FUA, 4 bio without data, 8 unbind)
  type 4 MARK   payload = length bytes of text written to debugfs "mark"
  type 5 END    recording stopped; offset = records dropped (flags 1 if any)

seq counts records from 0; epoch counts the fences before the record (a
FENCE carries the epoch it closes).
"""

import struct
from collections import namedtuple

MAGIC = b"RPMEMLOG"
VERSION = 1
WRITE, ZERO, FENCE, MARK, END = 1, 2, 3, 4, 5
TYPES = {WRITE: "WRITE", ZERO: "ZERO", FENCE: "FENCE", MARK: "MARK", END: "END"}
FENCE_PREFLUSH, FENCE_FUA, FENCE_EMPTY, FENCE_UNBIND = 1, 2, 4, 8
WRITE_RECOVERY, WRITE_POISONED = 1, 2

Record = namedtuple("Record", "type flags length seq epoch offset data")


class LogError(Exception):
    pass


def parse(blob):
    """The records of a log (a bytes object), END included."""
    if len(blob) < 32 or blob[:8] != MAGIC:
        raise LogError("not an rpmem log (bad magic)")
    version, hlen, dev_len, rlen = struct.unpack_from("<IIQI", blob, 8)
    if version != VERSION:
        raise LogError("log version %d, this reader knows %d" % (version, VERSION))
    if hlen != 32 or rlen != 32:
        raise LogError("unexpected header sizes %d/%d" % (hlen, rlen))
    recs = []
    pos = hlen
    while pos < len(blob):
        if pos + rlen > len(blob):
            raise LogError("truncated record header at byte %d" % pos)
        ty, flags, length, seq, epoch, off = struct.unpack_from("<HHIQQQ", blob, pos)
        pos += rlen
        data = None
        if ty in (WRITE, MARK):
            data = blob[pos:pos + length]
            if len(data) != length:
                raise LogError("truncated payload of record %d" % seq)
            pos += (length + 7) & ~7
        elif ty not in TYPES:
            raise LogError("unknown record type %d at seq %d" % (ty, seq))
        if seq != len(recs):
            raise LogError("record %d has seq %d" % (len(recs), seq))
        recs.append(Record(ty, flags, length, seq, epoch, off, data))
        if ty == END:
            break
    if not recs or recs[-1].type != END:
        raise LogError("no END record: recording was not stopped")
    if recs[-1].flags or recs[-1].offset:
        raise LogError("%d records were dropped (log full): record with a larger "
                       "capacity ('on MiB')" % recs[-1].offset)
    for r in recs:
        if r.type == WRITE and r.flags & WRITE_POISONED:
            raise LogError("write %d could not be read back (poison)" % r.seq)
    return dev_len, recs


def describe(r):
    if r.type == WRITE:
        return "WRITE %d+%d" % (r.offset, r.length)
    if r.type == ZERO:
        return "ZERO %d+%d" % (r.offset, r.length)
    if r.type == FENCE:
        why = [n for b, n in ((1, "preflush"), (2, "fua"), (4, "empty"), (8, "unbind")) if r.flags & b]
        return "FENCE " + ",".join(why)
    if r.type == MARK:
        return "MARK " + r.data.decode(errors="replace")
    return "END"


if __name__ == "__main__":
    import sys
    dev_len, recs = parse(open(sys.argv[1], "rb").read())
    print("device %d bytes, %d records" % (dev_len, len(recs)))
    for r in recs:
        print("%6d e%-5d %s" % (r.seq, r.epoch, describe(r)))
