#!/usr/bin/env python3
"""Relays one virtio-serial port of a QEMU guest to one TCP connection on the host.

    vport_relay.py --listen UNIX_SOCKET --connect 127.0.0.1:PORT [--ready-file F]

QEMU connects to UNIX_SOCKET (`-chardev socket,id=..,path=UNIX_SOCKET` without server=on). The
TCP connection to the verifier is opened only when the guest's first bytes arrive, which can be a
minute after QEMU starts: connecting up front (what `socat UNIX-LISTEN:... TCP:...` does) would
leave an idle TLS connection that the verifier's handshake deadline may close before the guest
speaks. A virtio-serial port is one byte stream and the guest's close of the port is not signalled
to the host, so one relay carries exactly one guest connection: when the verifier closes the TCP
connection or QEMU disconnects, the relay exits.
"""
import argparse
import os
import selectors
import socket
import sys


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True, help="unix socket path QEMU connects to")
    ap.add_argument("--connect", required=True, help="HOST:PORT of the verifier (loopback)")
    ap.add_argument("--ready-file", help="written once the unix socket listens")
    args = ap.parse_args()
    host, _, port = args.connect.rpartition(":")

    try:
        os.unlink(args.listen)
    except FileNotFoundError:
        pass
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(args.listen)
    server.listen(1)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write(f"{os.getpid()}\n")
    guest, _ = server.accept()
    server.close()

    first = guest.recv(65536)
    if not first:
        print("vport_relay: QEMU closed before the guest sent anything", file=sys.stderr)
        return 0
    tcp = socket.create_connection((host, int(port)), timeout=10)
    tcp.settimeout(None)
    tcp.sendall(first)
    sent = {"guest->verifier": len(first), "verifier->guest": 0}

    sel = selectors.DefaultSelector()
    sel.register(guest, selectors.EVENT_READ, (tcp, "guest->verifier"))
    sel.register(tcp, selectors.EVENT_READ, (guest, "verifier->guest"))
    while True:
        for key, _ in sel.select():
            dst, direction = key.data
            data = key.fileobj.recv(65536)
            if not data:
                print(f"vport_relay: {direction} closed; bytes {sent}", file=sys.stderr)
                return 0
            dst.sendall(data)
            sent[direction] += len(data)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ConnectionError, OSError) as e:
        print(f"vport_relay: {e}", file=sys.stderr)
        sys.exit(1)
