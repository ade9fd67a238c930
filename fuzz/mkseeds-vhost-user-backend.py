#!/usr/bin/env python3
# Hand-made seeds for fuzz/vhost-user-backend.c: a whole correct session
# (features, protocol features, owner, memory table, one ring of 16 with
# a two-descriptor chain served), and short starts of the other message
# families, in the target's step encoding.  Writes fuzz/vhost-user-backend/
# seeds/hand-*.
import os, struct

GPA = 0x40000000
d = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'vhost-user-backend', 'seeds')

def desc(addr, ln, fl, nx):
    return struct.pack('<QIHH', addr, ln, fl, nx)

def setup(num_log=4):
    s = bytes([0x41])                    # GET_FEATURES
    s += bytes([0x01])                   # GET_PROTOCOL_FEATURES
    s += bytes([0x02, 0x00])             # SET_PROTOCOL_FEATURES (default)
    s += bytes([0xc2, 0x00])             # SET_FEATURES (default), NEED_REPLY
    s += bytes([0xc3])                   # SET_OWNER
    s += bytes([0x84, 0x01, 0x00])       # SET_MEM_TABLE, one region
    s += bytes([0x85, 0x00, 0x00, num_log])          # SET_VRING_NUM
    s += bytes([0x95, 0x00, 0x00, 0x00])             # SET_VRING_BASE 0
    s += bytes([0x86, 0x00, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 4, 0])  # ADDR
    s += bytes([0x97, 0x00, 0x01])       # SET_VRING_CALL
    s += bytes([0x87, 0x00, 0x01])       # SET_VRING_KICK
    s += bytes([0xa5, 0x00, 0x00])       # SET_VRING_ENABLE 1
    return s

def chain():
    t = desc(GPA + 0x2000, 16, 1, 1) + desc(GPA + 0x3000, 16, 2, 0)
    s = bytes([0x0c, 0x00, 0x00, len(t)]) + t       # descriptors 0, 1
    av = struct.pack('<HHH', 0, 1, 0)
    s += bytes([0x0c, 0x00, 0x01, len(av)]) + av    # avail: idx 1, head 0
    data = b'hello fuzz ring!'
    s += bytes([0x0c, 0x00, 0x08, len(data)]) + data
    s += bytes([0x0e, 0x10])                        # kick: serve
    return s

seeds = {
    'setup': setup(),
    'setup-chain': setup() + chain(),
    'setup-chain-stop': setup() + chain() + bytes([0xb5, 0x00, 0x00, 0x00]),
    'setup-chain-reset': setup() + chain() + bytes([0xab, 0x00]),
    'config': setup() + bytes([0x88, 0, 16, 0, 0]),
    'inflight': bytes([0x41, 0x02, 0x00, 0xc2, 0x00, 0x89, 0, 0, 0, 0, 1, 4]),
    'raw': bytes([0x00, 5, 0, 40, 0, 0]) + bytes(40) + bytes([0]),
    'memreg': bytes([0x02, 0x00, 0xc2, 0x00, 0xc3, 0x8a, 0x00, 0xca, 0x00]),
}
os.makedirs(d, exist_ok=True)
for k, v in seeds.items():
    with open(os.path.join(d, 'hand-' + k), 'wb') as f:
        f.write(v)
