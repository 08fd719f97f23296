#!/usr/bin/env python3
"""Grows a repository corpus by edge coverage, keeping it small (scripts/fuzz.sh --grow).

usage: fuzz-merge.py CONTROL_FILE CORPUS_DIR [MAX_ADDED]

CONTROL_FILE is what `fuzz_<target> -merge=1 -merge_control_file=CONTROL_FILE
COPY SCRATCH_DIR` wrote, COPY being a copy of CORPUS_DIR (libFuzzer reads the
first directory's inputs first, and adds to it): every input's features (FT) and covered
edges (COV). libFuzzer's own merge keeps every input that adds a feature
(edge hit-count buckets, comparisons): hundreds of files after a campaign. Here
every file already in CORPUS_DIR stays, and the others are added greedily, the
one adding the most edges not yet covered first (the smaller on a tie), until
no input adds an edge or MAX_ADDED (default 40) were added. libFuzzer reports
each edge only for the first input (smallest first) that reached it, so the
greedy choice is among those first finders: the corpus stays at tens of files
and keeps most of the edges (the count is printed); the scratch corpus of the
campaign keeps them all. Added files are named by the SHA-1 of their bytes, as
libFuzzer names them.
"""
import hashlib
import os
import shutil
import sys


def read_control(path):
    with open(path) as control:
        lines = control.read().splitlines()
    count, initial = int(lines[0]), int(lines[1])
    files = lines[2:2 + count]
    sizes, edges = {}, {}
    for line in lines[2 + count:]:
        kind, _, rest = line.partition(' ')
        fields = rest.split()
        if not fields:
            continue
        index = int(fields[0])
        if kind == 'STARTED':
            sizes[index] = int(fields[1])
        elif kind == 'COV':
            edges[index] = set(int(e) for e in fields[1:])
    return files, initial, sizes, edges


def main():
    control, corpus = sys.argv[1], os.path.realpath(sys.argv[2])
    max_added = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    files, initial, sizes, edges = read_control(control)
    covered = set()
    candidates = []
    for index in range(len(files)):
        if index < initial:  # the first directory: a copy of CORPUS_DIR, read first
            covered |= edges.get(index, set())
        elif index in edges:
            candidates.append(index)
    before = len(covered)
    reached = len(covered.union(*(edges[i] for i in candidates)))
    added = 0
    while candidates and added < max_added:
        best = max(candidates, key=lambda i: (len(edges[i] - covered), -sizes.get(i, 0)))
        if not edges[best] - covered:
            break
        covered |= edges[best]
        candidates.remove(best)
        with open(files[best], 'rb') as source:
            data = source.read()
        target = os.path.join(corpus, hashlib.sha1(data).hexdigest())
        if not os.path.exists(target):
            shutil.copyfile(files[best], target)
            added += 1
    print(f'fuzz-merge: {corpus}: {added} files added, edges {before} -> {len(covered)} of {reached} reached')


if __name__ == '__main__':
    main()
