/* veth-send: sends a capture's frames out of an interface as fast as the kernel takes them, or
 * at a given rate, for measuring a sensor's live ceiling (scripts/live-ceiling.sh). tcpreplay
 * sends one frame per syscall and reaches a few hundred Mbit/s on a veth pair here; this
 * preloads the frames and sends them in batches with sendmmsg(2) on an AF_PACKET socket that
 * bypasses the qdisc, so the sender is not what limits the measurement.
 *
 *   cc -O2 -o target/veth-send scripts/veth-send.c -lpcap
 *   veth-send IFACE PCAP [--mbps N] [--loops N] [--max-frame N]
 *
 * Frames longer than --max-frame (default 9014: the veth MTU of the measurement plus the
 * Ethernet header) are skipped and counted, as the kernel would refuse them. The capture is
 * read with libpcap up to its first damaged record. Prints one line:
 *   frames=N bytes=N seconds=S gbps=G pps=P skipped=N
 * A bench tool, not part of the sensor: input is the operator's own capture.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 256

struct frame {
    const unsigned char *data;
    size_t len;
};

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void usage(void) {
    fprintf(stderr, "usage: veth-send IFACE PCAP [--mbps N] [--loops N] [--max-frame N]\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc < 3) usage();
    const char *iface = argv[1], *path = argv[2];
    double mbps = 0;
    long loops = 1, max_frame = 9014;
    for (int i = 3; i < argc; i++) {
        if (i + 1 >= argc) usage();
        if (!strcmp(argv[i], "--mbps")) mbps = atof(argv[++i]);
        else if (!strcmp(argv[i], "--loops")) loops = atol(argv[++i]);
        else if (!strcmp(argv[i], "--max-frame")) max_frame = atol(argv[++i]);
        else usage();
    }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, err);
    if (!p) {
        fprintf(stderr, "veth-send: %s: %s\n", path, err);
        return 1;
    }
    size_t cap = 1 << 16, n = 0, skipped = 0, total_bytes = 0;
    struct frame *frames = malloc(cap * sizeof *frames);
    struct pcap_pkthdr *h;
    const unsigned char *d;
    int r;
    while ((r = pcap_next_ex(p, &h, &d)) == 1) {
        if (h->caplen < ETH_HLEN || (long)h->caplen > max_frame) {
            skipped++;
            continue;
        }
        if (n == cap) {
            cap *= 2;
            frames = realloc(frames, cap * sizeof *frames);
        }
        unsigned char *copy = malloc(h->caplen);
        if (!frames || !copy) {
            fprintf(stderr, "veth-send: out of memory\n");
            return 1;
        }
        memcpy(copy, d, h->caplen);
        frames[n].data = copy;
        frames[n].len = h->caplen;
        total_bytes += h->caplen;
        n++;
    }
    if (r == -1) fprintf(stderr, "veth-send: %s: read up to a damaged record: %s\n", path, pcap_geterr(p));
    pcap_close(p);
    if (n == 0) {
        fprintf(stderr, "veth-send: %s: no frame to send\n", path);
        return 1;
    }

    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) {
        perror("veth-send: socket");
        return 1;
    }
    int one = 1;
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    int sndbuf = 64 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);
    struct sockaddr_ll sa;
    memset(&sa, 0, sizeof sa);
    sa.sll_family = AF_PACKET;
    sa.sll_protocol = htons(ETH_P_ALL);
    sa.sll_ifindex = (int)if_nametoindex(iface);
    if (sa.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "veth-send: %s: %s\n", iface, strerror(errno));
        return 1;
    }

    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; i++) {
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    unsigned long long sent = 0, sent_bytes = 0, retries = 0;
    double start = now();
    for (long l = 0; l < loops; l++) {
        size_t i = 0;
        while (i < n) {
            int k = 0;
            for (; k < BATCH && i + (size_t)k < n; k++) {
                iov[k].iov_base = (void *)frames[i + k].data;
                iov[k].iov_len = frames[i + k].len;
            }
            int m = sendmmsg(fd, msgs, (unsigned)k, 0);
            if (m < 0) {
                if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
                    retries++;
                    continue;
                }
                perror("veth-send: sendmmsg");
                return 1;
            }
            for (int j = 0; j < m; j++) sent_bytes += frames[i + j].len;
            sent += (unsigned long long)m;
            i += (size_t)m;
            if (mbps > 0) {
                /* Pace: never ahead of the rate over the whole run. */
                double due = start + (double)sent_bytes * 8 / (mbps * 1e6);
                if (now() < due) {
                    struct timespec at = {(time_t)due, (long)((due - (double)(time_t)due) * 1e9)};
                    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR) {
                    }
                }
            }
        }
    }
    double secs = now() - start;
    printf("frames=%llu bytes=%llu seconds=%.3f gbps=%.3f pps=%.0f skipped=%zu retries=%llu\n", sent, sent_bytes,
           secs, (double)sent_bytes * 8 / secs / 1e9, (double)sent / secs, skipped * (size_t)loops, retries);
    return 0;
}
