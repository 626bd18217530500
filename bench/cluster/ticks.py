#!/usr/bin/python3
"""CPU ticks for bench/cluster/run.sh, read in one process so that measuring costs next to nothing.

  ticks.py PID...
      Prints one line: for each PID the CPU (in clock ticks) of that process and all its descendants (nginx's workers,
      PostgreSQL's backends): utime + stime + cutime + cstime of each live process in the tree, so that a descendant
      that exits (a PostgreSQL backend whose connection a pool closed) moves its time into its parent's cutime instead
      of taking it out of the sum; then the machine's "busy total" ticks from /proc/stat (busy = user + nice +
      system + steal; total adds idle, iowait, irq, softirq: irq and softirq, mostly the benchmark's own loopback
      traffic, charged to no process, count neither as busy nor as other work). A PID that is gone counts 0.
"""
import os
import sys


def read_stats():
    stats = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                text = f.read()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2:].split()
        # after the command, counting from state = 0: ppid 1, utime 11, stime 12, cutime 13, cstime 14
        stats[int(name)] = (int(fields[1]), sum(int(fields[i]) for i in (11, 12, 13, 14)))
    return stats


def main():
    roots = [int(a) for a in sys.argv[1:]]
    stats = read_stats()
    children = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    out = []
    for root in roots:
        total, todo = 0, [root] if root in stats else []
        while todo:
            pid = todo.pop()
            total += stats[pid][1]
            todo.extend(children.get(pid, []))
        out.append(total)
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (cpu + [0] * 8)[:8]
    busy = user + nice + system + steal
    out += [busy, busy + idle + iowait + irq + softirq]
    print(" ".join(str(v) for v in out))


if __name__ == "__main__":
    main()
