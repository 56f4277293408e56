/* bench_compute: single-hart CPU benchmark for `npm run bench` (scripts/bench.mjs).
   One iteration is a fixed mix of kernels over a private working set of about 1.2 MiB:
     - table-driven CRC32 over a 4 KiB slice of a 16 KiB buffer (byte loads, shifts, xor)
     - 16x16 int32 matrix multiply (mul, loads/stores)
     - insertion sort of 128 keys (data-dependent branches, loads/stores)
     - pointer-chasing walk of an 8192-node (128 KiB) shuffled linked list, updating every node
     - 256 mixed 64/32-bit divisions and remainders
     - a character-class state machine over a 1 KiB text (switch, branches)
     - a read-modify-write sweep over 1 MiB, one word per 128 bytes
   Every iteration executes the same instruction sequence (only data values change), so the
   retired-instruction count is exactly base + iters * per_iteration.
   The number of iterations comes from the kernel command line: `iters=N` in /chosen/bootargs
   (hindsight --append iters=N, qemu -append iters=N); default 10.
   bench_parallel.c includes this file with BENCH_NO_MAIN defined to reuse the kernels. */
#include "hs.h"

#define CRC_BUF    (16 * 1024)
#define CRC_SLICE  (4 * 1024)
#define MAT_N      16
#define SORT_N     128
#define LIST_N     8192
#define DIV_N      256
#define TEXT_N     1024
#define BIG_WORDS  (128 * 1024)        /* 1 MiB of uint64_t */
#define BIG_STRIDE 16                  /* words: one access per 128 bytes */
#define STATE_ALIGN (2UL * 1024 * 1024)
#define DEFAULT_ITERS 10

struct node { struct node *next; uint64_t val; };

/* One hart's private working set; lives in free RAM after the stacks (not in .bss, which hart 0
   would have to clear at start-up). */
struct bench_state {
  uint32_t crc_table[256];
  int32_t ma[MAT_N * MAT_N], mb[MAT_N * MAT_N], mc[MAT_N * MAT_N];
  uint32_t sort_src[SORT_N], sort_buf[SORT_N];
  uint64_t div_a[DIV_N];
  uint32_t div_b[DIV_N];
  uint8_t crc_buf[CRC_BUF];
  char text[TEXT_N];
  struct node *head;
  struct node nodes[LIST_N];
  uint64_t big[BIG_WORDS];
};

extern char __heap_start[];

static inline struct bench_state *bench_state_for(uint64_t hartid) {
  uintptr_t base = ((uintptr_t)__heap_start + STATE_ALIGN - 1) & ~(STATE_ALIGN - 1);
  return (struct bench_state *)(base + hartid * STATE_ALIGN);
}

#include "bootargs.h"

/* ---- workload ---- */

static uint64_t lcg_next(uint64_t *x) {
  *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
  return *x >> 33;
}

static void bench_init(struct bench_state *st, uint64_t seed) {
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0xedb88320u : c >> 1;
    st->crc_table[i] = c;
  }
  for (int i = 0; i < CRC_BUF; i++) st->crc_buf[i] = (uint8_t)lcg_next(&x);
  for (int i = 0; i < MAT_N * MAT_N; i++) {
    st->ma[i] = (int32_t)(lcg_next(&x) & 0xffff) - 0x8000;
    st->mb[i] = (int32_t)(lcg_next(&x) & 0xffff) - 0x8000;
  }
  /* Sort keys: a random permutation of 0..SORT_N-1 in the high bits, so the comparison outcomes
     (and hence the instruction count) are the same whatever the low bits hold. */
  for (int i = 0; i < SORT_N; i++) st->sort_src[i] = (uint32_t)i;
  for (int i = SORT_N - 1; i > 0; i--) {
    int j = (int)(lcg_next(&x) % (uint64_t)(i + 1));
    uint32_t t = st->sort_src[i]; st->sort_src[i] = st->sort_src[j]; st->sort_src[j] = t;
  }
  for (int i = 0; i < SORT_N; i++) st->sort_src[i] <<= 16;
  for (int i = 0; i < DIV_N; i++) {
    st->div_a[i] = (lcg_next(&x) << 31) ^ lcg_next(&x);
    st->div_b[i] = (uint32_t)(lcg_next(&x) & 0xfffff) | 1;
  }
  static const char alphabet[] = "abc xyz 0123 456, +-7.89e3 QRS\n;";
  for (int i = 0; i < TEXT_N; i++) st->text[i] = alphabet[lcg_next(&x) % (sizeof alphabet - 1)];
  /* Linked list through the nodes in a shuffled order (Fisher-Yates over node indices, kept in big[]
     temporarily). */
  uint64_t *perm = st->big;
  for (int i = 0; i < LIST_N; i++) perm[i] = (uint64_t)i;
  for (int i = LIST_N - 1; i > 0; i--) {
    int j = (int)(lcg_next(&x) % (uint64_t)(i + 1));
    uint64_t t = perm[i]; perm[i] = perm[j]; perm[j] = t;
  }
  for (int i = 0; i < LIST_N; i++) {
    struct node *n = &st->nodes[perm[i]];
    n->next = i + 1 < LIST_N ? &st->nodes[perm[i + 1]] : 0;
    n->val = lcg_next(&x);
  }
  st->head = &st->nodes[perm[0]];
  for (int i = 0; i < BIG_WORDS; i++) st->big[i] = (uint64_t)i * 0x2545f4914f6cdd1dULL;
}

static uint32_t k_crc(struct bench_state *st, uint64_t iter) {
  const uint8_t *p = st->crc_buf + (iter & (CRC_BUF / CRC_SLICE - 1)) * CRC_SLICE;
  uint32_t c = 0xffffffffu;
  for (int i = 0; i < CRC_SLICE; i++) c = st->crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  st->crc_buf[(iter * 2654435761u) & (CRC_BUF - 1)] ^= (uint8_t)c;
  return ~c;
}

static uint64_t k_matmul(struct bench_state *st, uint64_t iter) {
  st->mb[iter & (MAT_N * MAT_N - 1)] += (int32_t)(iter & 0xff);
  for (int i = 0; i < MAT_N; i++)
    for (int j = 0; j < MAT_N; j++) {
      int32_t s = 0;
      for (int k = 0; k < MAT_N; k++) s += st->ma[i * MAT_N + k] * st->mb[k * MAT_N + j];
      st->mc[i * MAT_N + j] = s;
    }
  uint64_t h = 0;
  for (int i = 0; i < MAT_N * MAT_N; i++) h = h * 31 + (uint32_t)st->mc[i];
  return h;
}

static uint64_t k_sort(struct bench_state *st, uint64_t iter) {
  uint32_t *a = st->sort_buf;
  uint32_t low = (uint32_t)(iter * 40503u) & 0xffff;
  for (int i = 0; i < SORT_N; i++) a[i] = st->sort_src[i] | ((low + (uint32_t)i) & 0xffff);
  for (int i = 1; i < SORT_N; i++) {
    uint32_t v = a[i];
    int j = i - 1;
    while (j >= 0 && (a[j] >> 16) > (v >> 16)) { a[j + 1] = a[j]; j--; }
    a[j + 1] = v;
  }
  uint64_t h = 0;
  for (int i = 0; i < SORT_N; i += 8) h = (h << 5) ^ (h >> 59) ^ a[i];
  return h;
}

static uint64_t k_list(struct bench_state *st, uint64_t iter) {
  uint64_t sum = 0;
  for (struct node *n = st->head; n; n = n->next) {
    sum += n->val;
    n->val = (n->val ^ sum) + iter;
  }
  return sum;
}

static uint64_t k_div(struct bench_state *st, uint64_t iter) {
  uint64_t h = 0;
  for (int i = 0; i < DIV_N; i++) {
    uint64_t a = st->div_a[i] + iter;
    uint64_t b = st->div_b[i];
    int32_t sa = (int32_t)a, sb = (int32_t)(b * 3) | 1;
    h += (a / b) ^ (a % b);
    h ^= (uint64_t)(int64_t)(sa / sb) + (uint64_t)(int64_t)(sa % sb);
    h += (uint64_t)((int64_t)a / -(int64_t)b);
  }
  return h;
}

static uint64_t k_lexer(struct bench_state *st, uint64_t iter) {
  /* Counts words, numbers (with optional fraction/exponent) and punctuation. */
  enum { START, WORD, INT, FRAC, EXP, PUNCT } state = START;
  uint64_t words = 0, numbers = 0, punct = 0, spaces = 0, digits = iter & 1;
  for (int i = 0; i < TEXT_N; i++) {
    char c = st->text[i];
    switch (state) {
    case START:
    case PUNCT:
      if (c >= 'a' && c <= 'z') { words++; state = WORD; }
      else if (c >= 'A' && c <= 'Z') { words++; state = WORD; }
      else if (c >= '0' && c <= '9') { numbers++; digits++; state = INT; }
      else if (c == ' ' || c == '\n') { spaces++; state = START; }
      else { punct++; state = PUNCT; }
      break;
    case WORD:
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {}
      else if (c == ' ' || c == '\n') { spaces++; state = START; }
      else { punct++; state = PUNCT; }
      break;
    case INT:
    case FRAC:
    case EXP:
      if (c >= '0' && c <= '9') digits++;
      else if (c == '.' && state == INT) state = FRAC;
      else if ((c == 'e' || c == 'E') && state != EXP) state = EXP;
      else if (c == ' ' || c == '\n') { spaces++; state = START; }
      else { punct++; state = PUNCT; }
      break;
    }
  }
  return (words << 48) ^ (numbers << 32) ^ (punct << 16) ^ spaces ^ (digits << 8);
}

static uint64_t k_sweep(struct bench_state *st, uint64_t iter) {
  uint64_t h = iter;
  uint64_t *w = st->big;
  for (int i = (int)(iter & (BIG_STRIDE - 1)); i < BIG_WORDS; i += BIG_STRIDE) {
    uint64_t v = w[i];
    h += v ^ (h >> 7);
    w[i] = v + h;
  }
  return h;
}

/* Runs `iters` iterations; returns the checksum. */
static uint64_t bench_run(struct bench_state *st, uint64_t iters) {
  uint64_t sum = 0x811c9dc5u;
  for (uint64_t it = 0; it < iters; it++) {
    sum = hs_checksum_add(sum, k_crc(st, it));
    sum = hs_checksum_add(sum, k_matmul(st, it));
    sum = hs_checksum_add(sum, k_sort(st, it));
    sum = hs_checksum_add(sum, k_list(st, it));
    sum = hs_checksum_add(sum, k_div(st, it));
    sum = hs_checksum_add(sum, k_lexer(st, it));
    sum = hs_checksum_add(sum, k_sweep(st, it));
  }
  return sum;
}

#ifndef BENCH_NO_MAIN
int guest_main(uint64_t hartid, const void *dtb) {
  if (hartid != 0) for (;;) __asm__ volatile("wfi");
  uint64_t iters = bootarg_u64(dtb, "iters", DEFAULT_ITERS);
  struct bench_state *st = bench_state_for(0);
  bench_init(st, 1);
  uint64_t sum = bench_run(st, iters);
  hs_puts("bench_compute: iters=");
  hs_putdec(iters);
  hs_puts(" checksum=");
  hs_puthex(sum);
  hs_puts("\n");
  return 0;
}
#endif
