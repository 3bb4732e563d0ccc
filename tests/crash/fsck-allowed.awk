# SPDX-License-Identifier: GPL-2.0
#
# What e2fsck -fn may say about a rext2 image after a crash (the rules
# under "Crash consistency" in Documentation/filesystems/rext2.rst):
# leaked blocks and inodes (bitmap differences that only clear bits),
# group and superblock counts, link counts too high, unattached inodes,
# deleted inodes without dtime, i_blocks; a directory that no entry
# names (rule 3, for mkdir and rmdir: e2fsck would connect it in
# lost+found, so its '..' then names the wrong parent) and a renamed
# directory with two names (rule 4: e2fsck drops one) or with '..' not
# yet updated; a directory's new last block linked before its size grew
# (rule 5, the directory way round: e2fsck grows the size; needs the
# image, -v img=PATH, to tell a directory from a file); a directory
# entry's type byte still unknown (0) after a rename or exchange pointed
# it at another inode (set_inode_steps: an entry whose inode number and
# type lie in different 8-byte words goes through FT_UNKNOWN, so that a
# torn write never leaves it with another inode's type).  Reads e2fsck's output; prints
# every other line as "    unexpected: LINE" and exits 1 if there was one.
# Used by tests/suites/rext2-crash.sh and tests/crash/crashstates.py.
/^e2fsck [0-9]/ || /^Pass [1-5]/ || /^$/ { next }
/^[^ ]*: [0-9]+\/[0-9]+ files/ { next }
/^[^ ]*: \*+ WARNING: Filesystem still has errors \*+/ { next }
/^Block bitmap differences: ( +-\(?[0-9]+(--[0-9]+)?\)?)+$/ { next }
/^Inode bitmap differences: ( +-\(?[0-9]+(--[0-9]+)?\)?)+$/ { next }
/^Fix\? no$/ || /^Clear\? no$/ { next }
/^Free (blocks|inodes) count wrong/ { next }
/^Directories count wrong for group/ { next }
/^Unattached (zero-length )?inode [0-9]+/ { next }
/^Unconnected directory inode [0-9]+ / { next }
/^'\.\.' in .* \([0-9]+\) is .* \([0-9]+\), should be .* \([0-9]+\)\.$/ { next }
/^Entry '.*' in .* \([0-9]+\) is a link to directory .* \([0-9]+\)\.$/ { next }
/^Connect to \/lost\+found\? no$/ { next }
/^Deleted inode [0-9]+ has zero dtime\./ { next }
/^Inode [0-9]+ ref count is [0-9]+, should be [0-9]+\./ {
	split($0, a, /ref count is |, should be |\./)
	if (a[2] + 0 > a[3] + 0) next
}
/^Inode [0-9]+, i_blocks is [0-9]+, should be [0-9]+\./ { next }
/^Inode [0-9]+, i_size is [0-9]+, should be [0-9]+\./ {
	split($0, a, /^Inode |, i_size is |, should be |\./)
	if (img != "" && a[4] + 0 > a[3] + 0) {
		cmd = "debugfs -R 'stat <" a[2] ">' '" img "' 2>/dev/null"
		dir = 0
		while ((cmd | getline l) > 0)
			if (l ~ /Type: directory/)
				dir = 1
		close(cmd)
		if (dir)
			next
	}
}
/^Entry '.*' in .* \([0-9]+\) has an incorrect filetype \(was 0, should be [0-9]+\)\.$/ { next }
{ print "    unexpected: " $0; bad = 1 }
END { exit bad }
