#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mkseeds-device.py - hand-made seeds for fuzz/device.c that reach
pop_batch, push_batch and the dirty log (the other seeds come from a
merged fuzzer run).  Writes fuzz/device/seeds/<name>; run from the top.

The encoding is fuzz/device.c's: a header (queue size, features, iovec
capacity, layout), then operations, one byte each (op % 18) and their
fields.  Op 7 with bit 7 set is followed by a byte picking pop_batch (0),
push_batch (1), set_log (2) or a harvest of the log (3).
"""
import os
import struct

OP_DESC, OP_OFFER, OP_FLUSH, OP_NEED_IRQ = 11, 14, 4, 5
OP_ENABLE, OP_POP, OP_PUSH, OP_SAVE_SWAP = 6, 0, 3, 9 + 18 * 7
EXT = 7 + 18 * 7	# 133: op 7 with bit 7


def header(num_log2, features, iov_cap, layout):
    return bytes([num_log2, features, iov_cap, layout])


def desc(i, off, length, fl, nxt=0):
    """Descriptor i of the main table: a buffer in R1 at off."""
    return bytes([OP_DESC]) + struct.pack("<H", i) + bytes([fl, 0]) + \
        struct.pack("<H", off) + bytes([1, length, nxt])


def offer(heads):
    """Offer up to 8 heads (< 0x80: head % num; else a u16 follows)."""
    ops = {1: 14, 2: 32, 3: 68, 4: 104, 5: 140, 6: 176, 7: 194, 8: 230}
    out = b""
    while heads:
        n = min(len(heads), 8)
        op = ops[n]
        n = 1 + (op >> 5)
        part, heads = heads[:n], heads[n:]
        out += bytes([op])
        for h in part:
            out += bytes([h]) if h < 0x80 else bytes([0x80]) + struct.pack("<H", h)
    return out


def pop_batch(n, caps=None):
    if caps is None:
        return bytes([EXT, 0, n, 0])
    return bytes([EXT, 0, n, 0x80]) + bytes(caps)


def push_batch(entries):
    """entries: (sel, extra) - sel < 0x80 takes a popped head."""
    out = bytes([EXT, 1, len(entries)])
    for sel, extra in entries:
        out += bytes([sel]) + extra
    return out


def set_log(sel, extra=b""):
    return bytes([EXT, 2, sel]) + extra


HARVEST = bytes([EXT, 3])


def chains(n, writable=True):
    return b"".join(desc(i, 64 * i, 32, 2 if writable else 0) for i in range(n))


seeds = {}
# Batches of valid chains, popped in two calls, pushed back in one.
seeds["batch-pop-push"] = header(4, 3, 8, 0) + chains(8) + \
    offer(list(range(8))) + pop_batch(3) + pop_batch(16) + \
    push_batch([(0, b"\x10")] * 8) + bytes([OP_FLUSH, OP_NEED_IRQ, OP_ENABLE])
# A malformed head after valid ones ends the batch; the next call reports
# it in c[0]; push_batch with a head >= num, then more than in flight.
seeds["batch-errors"] = header(3, 1, 4, 0) + chains(4) + \
    offer([0, 1, 0xffff, 2, 3]) + pop_batch(8) + pop_batch(8) + \
    pop_batch(8) + push_batch([(0xc0, b"\x00\x10\x05")]) + \
    push_batch([(0, b"\x01")] * 10) + push_batch([(0, b"\x01")] * 4) + \
    bytes([OP_FLUSH]) + pop_batch(0)
# Per-chain iovec capacities: 0 makes -ENOBUFS in c[0], later a short batch.
seeds["batch-iov-caps"] = header(4, 2, 8, 0) + chains(6) + \
    offer(list(range(6))) + pop_batch(4, [0, 1, 1, 1]) + \
    pop_batch(5, [1, 1, 0, 1, 1]) + pop_batch(5, [2, 2, 2, 2, 2]) + \
    push_batch([(0, b"\x00")] * 6)
# The log on the used area: pushes, flushes, notify, then off.
seeds["log-used"] = header(4, 1, 8, 0) + set_log(0) + chains(4) + \
    offer([0, 1, 2, 3]) + bytes([OP_POP, OP_POP]) + \
    bytes([OP_PUSH, 0, 0, OP_FLUSH]) + pop_batch(4) + \
    push_batch([(0, b"\x20")] * 3) + bytes([7, OP_ENABLE]) + HARVEST + offer([0]) + bytes([OP_POP]) + \
    bytes([OP_PUSH, 0, 0]) + set_log(0x10) + bytes([OP_NEED_IRQ])
# A big ring (the used area spans three pages) at the end of R0, a
# bitmap too short for all of it, a shifted used_log_gpa, no used log.
seeds["log-small-bitmap"] = header(10, 3, 4, 5) + \
    set_log(0x08, b"\x40") + chains(8) + offer(list(range(8))) + \
    pop_batch(16) + push_batch([(0, b"\x00")] * 8) + \
    set_log(0x68, b"\x03\x00\x02") + offer(list(range(8))) + pop_batch(8) + \
    push_batch([(0, b"\x00")] * 4) + bytes([OP_FLUSH]) + set_log(0x40) + \
    push_batch([(0, b"\x00")] * 4) + set_log(0x10) + set_log(0x07)
# Save + restore (swap) while logging, then reclaim keeps the log.
seeds["log-save-restore"] = header(5, 1, 8, 0) + set_log(0) + chains(3) + \
    offer([0, 1, 2]) + pop_batch(3) + bytes([OP_PUSH, 0, 0]) + \
    bytes([OP_SAVE_SWAP]) + set_log(0) + bytes([10, 0]) + \
    push_batch([(0, b"\x00")]) + set_log(0x18, b"\x05")

os.makedirs("fuzz/device/seeds", exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join("fuzz/device/seeds", name), "wb") as f:
        f.write(data)
