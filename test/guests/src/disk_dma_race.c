/* disk_dma_race: hart 0 drives a virtio-blk disk (virtio-mmio v2, one split queue) and reads
   sectors into a buffer again and again while hart 1 keeps reading that buffer, racing with the
   device's DMA. Sector k of the disk is filled with byte k+1 (the test writes the image).
   Hart 0 checks every read and prints "dma: PASS"; hart 1 reports how often it saw the buffer
   change and a checksum of what it saw, which depends on the interleaving ("info:" lines). A
   recording must order the DMA against hart 1's loads for its replay to see the same. */
#include "hs.h"

#define VIRTIO_FIRST 0x10001000UL
#define VIRTIO_SLOTS 8
#define VIRTIO_STRIDE 0x1000UL
#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_DEVICE_FEATURES_SEL 0x014
#define R_DRIVER_FEATURES 0x020
#define R_DRIVER_FEATURES_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_INTERRUPT_STATUS 0x060
#define R_INTERRUPT_ACK 0x064
#define R_STATUS 0x070
#define R_QUEUE_DESC 0x080
#define R_QUEUE_DRIVER 0x090
#define R_QUEUE_DEVICE 0x0a0

#define S_ACKNOWLEDGE 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8

#define QN 4
#define ROUNDS 300
#define SECTORS 8

struct desc { uint64_t addr; uint32_t len; uint16_t flags; uint16_t next; };
struct req { uint32_t type; uint32_t reserved; uint64_t sector; };

static struct desc descs[QN] __attribute__((aligned(16)));
static struct { uint16_t flags, idx, ring[QN], used_event; } avail __attribute__((aligned(2)));
static struct { uint16_t flags, idx; struct { uint32_t id, len; } ring[QN]; uint16_t avail_event; } used __attribute__((aligned(4096)));
static struct req request;
static volatile uint8_t status;
/* The buffer hart 1 watches, filling a page of its own: only the device writes it (by DMA), so
   nothing but the DMA's own page ownership orders those writes against hart 1's loads. */
static volatile uint8_t buf[4096] __attribute__((aligned(4096)));
static volatile uint32_t done;

static void w32(uintptr_t dev, uintptr_t reg, uint32_t v) { mmio_w32(dev + reg, v); }
static uint32_t r32(uintptr_t dev, uintptr_t reg) { return mmio_r32(dev + reg); }
static void w64(uintptr_t dev, uintptr_t reg, uint64_t v) { w32(dev, reg, (uint32_t)v); w32(dev, reg + 4, (uint32_t)(v >> 32)); }

static uintptr_t find_disk(void) {
  for (int i = 0; i < VIRTIO_SLOTS; i++) {
    uintptr_t dev = VIRTIO_FIRST + i * VIRTIO_STRIDE;
    if (r32(dev, R_MAGIC) == 0x74726976 && r32(dev, R_VERSION) == 2 && r32(dev, R_DEVICE_ID) == 2) return dev;
  }
  return 0;
}

static void setup(uintptr_t dev) {
  w32(dev, R_STATUS, 0);
  w32(dev, R_STATUS, S_ACKNOWLEDGE);
  w32(dev, R_STATUS, S_ACKNOWLEDGE | S_DRIVER);
  w32(dev, R_DRIVER_FEATURES_SEL, 1);
  w32(dev, R_DRIVER_FEATURES, 1); /* VIRTIO_F_VERSION_1 (bit 32) */
  w32(dev, R_DRIVER_FEATURES_SEL, 0);
  w32(dev, R_DRIVER_FEATURES, 0);
  w32(dev, R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
  hs_check(r32(dev, R_STATUS) & S_FEATURES_OK, "device accepts VERSION_1");
  w32(dev, R_QUEUE_SEL, 0);
  hs_check(r32(dev, R_QUEUE_NUM_MAX) >= QN, "queue size");
  w32(dev, R_QUEUE_NUM, QN);
  w64(dev, R_QUEUE_DESC, (uintptr_t)descs);
  w64(dev, R_QUEUE_DRIVER, (uintptr_t)&avail);
  w64(dev, R_QUEUE_DEVICE, (uintptr_t)&used);
  w32(dev, R_QUEUE_READY, 1);
  w32(dev, R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

/* Reads one sector into buf; returns the device's status byte. */
static int read_sector(uintptr_t dev, uint64_t sector) {
  request.type = 0; /* VIRTIO_BLK_T_IN */
  request.sector = sector;
  status = 0xff;
  descs[0] = (struct desc){ (uintptr_t)&request, sizeof request, 1 /* NEXT */, 1 };
  descs[1] = (struct desc){ (uintptr_t)buf, 512, 1 | 2 /* NEXT | WRITE */, 2 };
  descs[2] = (struct desc){ (uintptr_t)&status, 1, 2 /* WRITE */, 0 };
  uint16_t want = used.idx + 1;
  avail.ring[avail.idx % QN] = 0;
  __asm__ volatile("fence rw, rw" ::: "memory");
  avail.idx++;
  __asm__ volatile("fence rw, rw" ::: "memory");
  w32(dev, R_QUEUE_NOTIFY, 0);
  while (*(volatile uint16_t *)&used.idx != want) {}
  w32(dev, R_INTERRUPT_ACK, r32(dev, R_INTERRUPT_STATUS));
  return status;
}

int guest_main(uint64_t hartid, const void *dtb) {
  (void)dtb;
  if (hartid > 1) for (;;) __asm__ volatile("wfi");
  if (hartid == 1) {
    uint64_t changes = 0, sum = 0;
    uint8_t last = buf[0];
    while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
      uint8_t now = buf[0];
      if (now != last) { changes++; sum = hs_checksum_add(sum, now); last = now; }
    }
    hs_puts("info: hart 1 saw the buffer change ");
    hs_putdec(changes);
    hs_puts(" times, checksum ");
    hs_puthex(sum);
    hs_puts("\n");
    __atomic_store_n(&done, 2, __ATOMIC_RELEASE);
    for (;;) __asm__ volatile("wfi");
  }
  uintptr_t dev = find_disk();
  hs_check(dev != 0, "a virtio-blk disk");
  setup(dev);
  hs_puts("dma: disk ready\n");
  for (int round = 0; round < ROUNDS; round++) {
    uint64_t sector = (uint64_t)(round * 5) % SECTORS;
    hs_check(read_sector(dev, sector) == 0, "read status");
    for (int i = 0; i < 512; i += 97) hs_check(buf[i] == sector + 1, "sector contents");
  }
  __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
  while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) != 2) {}
  hs_puts("dma: PASS\n");
  return 0;
}
