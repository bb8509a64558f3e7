# The loopback UDP workload of lo.txt.gz: 200 datagrams, 2 ms apart, to a reader thread
# named udp-reader. Recorded (as root) with:
#   ltsh record -o lo.txt --for-file examples/chains/lo.lt -- python3 examples/chains/udp-workload.py
# then cut around the workload and gzipped (see lo.lt).
import socket, threading, time, ctypes
libc = ctypes.CDLL(None)
def reader(sock):
    libc.prctl(15, b"udp-reader", 0, 0, 0)
    for _ in range(200):
        sock.recv(64)
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(("127.0.0.1", 0))
t = threading.Thread(target=reader, args=(r,)); t.start()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(200):
    s.sendto(b"x", r.getsockname()); time.sleep(0.002)
t.join()
