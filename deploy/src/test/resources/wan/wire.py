"""A WAN in userspace between two veth ends, for WanLinkTest: what `tc netem delay D J loss L` does,
for kernels without sch_netem (CONFIG_NET_SCH_NETEM unset, as on the machines this repository is
built on).

Every Ethernet frame that arrives on one interface leaves on the other after D +- J ms (uniform,
so frames may be reordered, as netem's jitter reorders them), unless it is dropped with
probability L; in a partition every frame is dropped. Both directions are treated alike.

Usage: python3 wire.py IFACE_A IFACE_B SEED
Commands on stdin, one per line, each acknowledged with "ok <command>" on stdout:
  set DELAY_MS JITTER_MS LOSS     e.g. "set 40 10 0.01"
  partition                       drop everything
  heal                            forward again with the last settings
  stats                           "stats forwarded=N dropped=N" (acknowledged after)
The wire exits when stdin closes.
"""
import heapq
import random
import select
import socket
import sys
import time

ETH_P_ALL = 3
PACKET_OUTGOING = 4


def open_raw(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((ifname, 0))
    s.setblocking(False)
    return s


def main():
    a, b = open_raw(sys.argv[1]), open_raw(sys.argv[2])
    peer = {a: b, b: a}
    rng = random.Random(int(sys.argv[3]))
    delay, jitter, loss, partition = 0.0, 0.0, 0.0, False
    queue, seq, forwarded, dropped = [], 0, 0, 0
    stdin = sys.stdin.fileno()
    print("ready", flush=True)
    while True:
        timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else None
        readable, _, _ = select.select([a, b, stdin], [], [], timeout)
        for s in readable:
            if s == stdin:
                line = sys.stdin.readline()
                if not line:
                    return
                words = line.split()
                if words[0] == "partition":
                    partition = True
                elif words[0] == "heal":
                    partition = False
                elif words[0] == "set":
                    delay, jitter, loss = float(words[1]) / 1000, float(words[2]) / 1000, float(words[3])
                elif words[0] == "stats":
                    print("stats forwarded=%d dropped=%d" % (forwarded, dropped), flush=True)
                print("ok " + line.strip(), flush=True)
                continue
            while True:
                try:
                    frame, address = s.recvfrom(65535)
                except BlockingIOError:
                    break
                if address[2] == PACKET_OUTGOING:
                    continue  # our own send on this interface, seen again
                if partition or rng.random() < loss:
                    dropped += 1
                    continue
                seq += 1
                due = time.monotonic() + max(0.0, delay + rng.uniform(-jitter, jitter))
                heapq.heappush(queue, (due, seq, peer[s], frame))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out, frame = heapq.heappop(queue)
            try:
                out.send(frame)
                forwarded += 1
            except OSError:
                dropped += 1


if __name__ == "__main__":
    main()
