"""Tiny writer of classic pcap files for the lab-tool tests.

Builds IPv4/TCP packets by hand (valid lengths and checksums) for a scripted
TCP conversation -- three-way handshake, payload segments in either direction
with consistent seq/ack numbers, then a FIN exchange -- and writes them as a
classic (microsecond) pcap file with an Ethernet or raw-IPv4 link type.
No root, network or third-party package is needed, and the output is fully
deterministic, so tshark sees the same frames on every run.
"""

import socket
import struct

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101  # raw IP, no link-layer header

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

CLIENT = "c"
SERVER = "s"

def _checksum(data):
    """Internet checksum (RFC 1071) of data."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", ident=0):
    """Return one IPv4 packet carrying a TCP segment, checksums filled in."""
    src_b, dst_b = socket.inet_aton(src), socket.inet_aton(dst)
    tcp_hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF,
                          ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
    pseudo = src_b + dst_b + struct.pack("!BBH", 0, socket.IPPROTO_TCP,
                                         len(tcp_hdr) + len(payload))
    tcp_sum = _checksum(pseudo + tcp_hdr + payload)
    tcp = tcp_hdr[:16] + struct.pack("!H", tcp_sum) + tcp_hdr[18:] + payload

    total_len = 20 + len(tcp)
    ip_hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total_len, ident & 0xFFFF,
                         0x4000, 64, socket.IPPROTO_TCP, 0, src_b, dst_b)
    ip_hdr = ip_hdr[:10] + struct.pack("!H", _checksum(ip_hdr)) + ip_hdr[12:]
    return ip_hdr + tcp


def tcp_conversation(exchanges, server_port, client_port=40000,
                     client_ip="10.0.0.1", server_ip="10.0.0.2",
                     client_isn=1000, server_isn=5000):
    """Return the IPv4 packets of one complete TCP conversation.

    exchanges is a list of (CLIENT or SERVER, bytes): who sends which payload,
    in order. Each payload goes out as one PSH/ACK segment acknowledging all
    the peer has sent so far. The client opens and closes the connection.
    """
    seq = {CLIENT: client_isn, SERVER: server_isn}
    ends = {CLIENT: (client_ip, client_port), SERVER: (server_ip, server_port)}
    packets = []

    def send(side, flags, payload=b""):
        peer = SERVER if side == CLIENT else CLIENT
        (src, sport), (dst, dport) = ends[side], ends[peer]
        ack = seq[peer] if flags & ACK else 0
        packets.append(ipv4_tcp(src, dst, sport, dport, seq[side], ack, flags,
                                payload, ident=len(packets) + 1))
        seq[side] += len(payload) + (1 if flags & (SYN | FIN) else 0)

    send(CLIENT, SYN)
    send(SERVER, SYN | ACK)
    send(CLIENT, ACK)
    for side, payload in exchanges:
        send(side, PSH | ACK, payload)
    send(CLIENT, FIN | ACK)
    send(SERVER, FIN | ACK)
    send(CLIENT, ACK)
    return packets


def _ethernet(ip_packet):
    """Wrap an IPv4 packet in Ethernet; MACs are 02:00 + the IPv4 address."""
    src_mac, dst_mac = b"\x02\x00" + ip_packet[12:16], b"\x02\x00" + ip_packet[16:20]
    return dst_mac + src_mac + b"\x08\x00" + ip_packet


def write_pcap(path, packets, linktype=LINKTYPE_ETHERNET, start=1_700_000_000):
    """Write IPv4 packets to a classic pcap file, 1 ms apart from start."""
    if linktype not in (LINKTYPE_ETHERNET, LINKTYPE_RAW):
        raise ValueError("unsupported linktype %r" % linktype)
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for i, pkt in enumerate(packets):
            if linktype == LINKTYPE_ETHERNET:
                pkt = _ethernet(pkt)
            usec = i * 1000
            out.write(struct.pack("<IIII", start + usec // 1_000_000,
                                  usec % 1_000_000, len(pkt), len(pkt)))
            out.write(pkt)
    return path
