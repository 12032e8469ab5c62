#!/usr/bin/env python3
"""Shows a property of the disk the benchmark runs on: on ext4 without a journal, creating a file
right after many files were deleted costs much more (the allocator skips inodes deleted in the
last five minutes, reading each one's on-disk record). Creates and deletes files under a
temporary folder in /tmp only.   /usr/bin/python3 tools/bench/ext4_churn.py [count]"""
import os
import shutil
import sys
import tempfile
import time


def create(folder, count):
    os.makedirs(folder)
    t0 = time.perf_counter()
    for i in range(count):
        os.close(os.open(os.path.join(folder, f"f{i}"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    return (time.perf_counter() - t0) / count * 1e6


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    base = tempfile.mkdtemp(prefix="actormail-ext4-", dir="/tmp")
    try:
        first = create(os.path.join(base, "a"), count)
        second = create(os.path.join(base, "b"), count)
        shutil.rmtree(os.path.join(base, "a"))
        shutil.rmtree(os.path.join(base, "b"))
        after = create(os.path.join(base, "c"), count)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"create {count} files: {first:.1f} us each; again: {second:.1f} us; "
          f"right after deleting {2 * count}: {after:.1f} us")


if __name__ == "__main__":
    main()
