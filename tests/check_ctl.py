#!/usr/bin/env python3
"""Checks a ctlwork trace (analyze --dump output) against ctlwork's own report.

usage: check_ctl.py DUMP.jsonl CTLWORK_STDOUT FILE N M K T

Every count is exact: the workload does exactly N preads of M bytes, N 8-byte
writes to a pipe, K forks and T threads, so anything else is a capture bug.
"""
import json
import os
import sys


def main():
    dump, out, path, n, m, k, t = sys.argv[1:8]
    n, m, k, t = int(n), int(m), int(k), int(t)
    ev = [json.loads(line) for line in open(dump)]
    rep = [json.loads(line) for line in open(out) if line.startswith('{')]
    top = [r for r in rep if 'parent' in r][0]
    parent, child = top['parent'], top['child']
    grandkids = {r['grandchild']: r['status'] for r in rep if 'grandchild' in r}
    threads = {r['thread']: r['name'] for r in rep if 'thread' in r}
    st = os.stat(path)
    errors = []

    def expect(what, got, want):
        if got != want:
            errors.append(f'{what}: got {got!r}, want {want!r}')

    sc = [e for e in ev if e['type'] == 'syscall']
    opens = [e for e in sc if e['tid'] == child and e['name'] == 'openat' and e.get('path') == path]
    expect('openat of the data file by the child', len(opens), 1)
    fd = opens[0]['ret'] if opens else None
    if opens:
        expect('openat fd identity ino', opens[0].get('ino'), st.st_ino)
        expect('openat fd kind', opens[0].get('fd_kind'), 'file')
    preads = [e for e in sc if e['tid'] == child and e['name'] == 'pread64']
    expect('child pread64 count', len(preads), n)
    expect('pread64 fds', {e.get('fd') for e in preads}, {fd})
    expect('pread64 byte counts', {e.get('count') for e in preads}, {m})
    expect('pread64 returns', {e['ret'] for e in preads}, {m})
    expect('pread64 file kind', {e.get('fd_kind') for e in preads}, {'file'})
    expect('pread64 inode', {e.get('ino') for e in preads}, {st.st_ino})
    expect('pread64 offsets', sorted(e.get('offset') for e in preads), [i * m for i in range(n)])
    expect('pread64 pids', {e['pid'] for e in preads}, {child})
    if any(e['dur'] <= 0 for e in preads):
        errors.append('a pread64 has no duration')
    writes = [e for e in sc if e['tid'] == child and e['name'] == 'write' and e.get('fd_kind') == 'pipe']
    expect('child pipe writes', len(writes), n)
    expect('pipe write sizes', {e.get('count') for e in writes}, {8})
    pipe_ino = {e.get('ino') for e in writes}
    expect('one pipe written', len(pipe_ino), 1)
    reads = [e for e in sc if e['tid'] == parent and e['name'] == 'read' and e.get('ino') in pipe_ino]
    expect('parent reads of that pipe: bytes', sum(max(e['ret'], 0) for e in reads), 8 * n)
    expect('parent reads of that pipe: fd kind', {e.get('fd_kind') for e in reads}, {'pipe'})

    forks = [e for e in ev if e['type'] == 'fork']
    expect('parent forks child', [(e['parent_tid'], e['thread']) for e in forks if e['tid'] == child],
           [(parent, False)])
    expect('child forks', sorted(e['tid'] for e in forks if e['parent_tid'] == child and not e['thread']),
           sorted(grandkids))
    expect('child threads', sorted(e['tid'] for e in forks if e['parent_tid'] == child and e['thread']),
           sorted(threads))
    exits = {e['tid']: e for e in ev if e['type'] == 'exit'}
    for g, status in grandkids.items():
        expect(f'exit code of {g}', exits.get(g, {}).get('exit_code'), status << 8)
    expect('child exit code', exits.get(child, {}).get('exit_code'), 3 << 8)
    expect('child exit group_dead', exits.get(child, {}).get('group_dead'), True)
    for tid in threads:
        expect(f'thread {tid} exit', tid in exits, True)

    renames = {(e['tid'], e['comm']) for e in ev if e['type'] == 'comm' and e['rename']}
    expect('child rename', (child, 'ctl-child') in renames, True)
    for tid, name in threads.items():
        expect(f'thread {tid} rename', (tid, name) in renames, True)

    wk = [e for e in ev if e['type'] == 'wakeup' and e['tid'] == parent and e['waker_tid'] == child
          and not e['irq']]
    if not wk:
        errors.append('no wakeup of the parent by the child')
    for e in wk:
        expect('waker pid', e['waker_pid'], child)

    trailer = [e for e in ev if e['type'] == 'trailer']
    expect('trailer present', len(trailer), 1)
    if trailer:
        expect('dropped events', trailer[0]['dropped_total'], 0)
        expect('trailer event count', trailer[0]['events'], len(ev) - 2)
    ts = [e['ts'] for e in ev if e['type'] in ('switch', 'wakeup', 'fork', 'exit')]
    expect('sched/lifecycle records in time order', ts == sorted(ts), True)

    for e in errors:
        print('  ' + e)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
