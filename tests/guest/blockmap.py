#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Block maps of files, one "FILE LOGICAL PHYSICAL" line per data block
(4 KiB blocks), from three sources that must agree:

  blockmap.py debugfs IMG FILE...   the image's own map (debugfs "stat":
                                     ranges such as "(12-1035):1550-2573",
                                     indirect blocks left out)
  blockmap.py fiemap DIR FILE...    FS_IOC_FIEMAP on the mounted files
                                     (filefrag -v -b4096)
  blockmap.py fibmap DIR FILE...    FIBMAP, block by block up to the size
                                     (holes, which FIBMAP gives as 0, left
                                     out); at most MAX_FIBMAP blocks a file
"""
import fcntl
import os
import re
import struct
import subprocess
import sys

FIBMAP = 1
MAX_FIBMAP = 4096


def debugfs(img, files):
    for f in files:
        out = subprocess.run(["debugfs", "-R", "stat /" + f, img], capture_output=True,
                             text=True, check=True).stdout
        text = out.split("BLOCKS:", 1)[1] if "BLOCKS:" in out else ""
        for m in re.finditer(r"\((\d+)(?:-(\d+))?\):(\d+)(?:-(\d+))?", text):
            l0, l1 = int(m.group(1)), int(m.group(2) or m.group(1))
            p0 = int(m.group(3))
            for k in range(l1 - l0 + 1):
                print(f, l0 + k, p0 + k)


def fiemap(d, files):
    for f in files:
        out = subprocess.run(["filefrag", "-v", "-b4096", os.path.join(d, f)],
                             capture_output=True, text=True, check=True).stdout
        for m in re.finditer(r"^\s*\d+:\s*(\d+)\.\.\s*(\d+):\s*(\d+)\.\.\s*(\d+):", out, re.M):
            l0, l1, p0 = int(m.group(1)), int(m.group(2)), int(m.group(3))
            for k in range(l1 - l0 + 1):
                print(f, l0 + k, p0 + k)


def fibmap(d, files):
    for f in files:
        path = os.path.join(d, f)
        blocks = (os.stat(path).st_size + 4095) // 4096
        fd = os.open(path, os.O_RDONLY)
        try:
            for b in range(min(blocks, MAX_FIBMAP)):
                p = struct.unpack("i", fcntl.ioctl(fd, FIBMAP, struct.pack("i", b)))[0]
                if p:
                    print(f, b, p)
        finally:
            os.close(fd)


{"debugfs": debugfs, "fiemap": fiemap, "fibmap": fibmap}[sys.argv[1]](sys.argv[2], sys.argv[3:])
