/* Reading the kernel command line (/chosen/bootargs in the flattened device tree the board passes
   in a1) for guests that take parameters, e.g. `iters=N` (hindsight --append, qemu -append). */
#ifndef BOOTARGS_H
#define BOOTARGS_H
#include <stdint.h>

static uint32_t fdt_be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int str_eq(const char *a, const char *b) {
  while (*a && *a == *b) { a++; b++; }
  return *a == *b;
}

/* Returns the NUL-terminated bootargs string, or 0 if the DTB has none. */
static const char *fdt_bootargs(const void *dtb) {
  const uint8_t *b = dtb;
  if (!b || fdt_be32(b) != 0xd00dfeed) return 0;
  const uint8_t *p = b + fdt_be32(b + 8);
  const char *strings = (const char *)b + fdt_be32(b + 12);
  int depth = 0, in_chosen = 0;
  for (;;) {
    uint32_t tok = fdt_be32(p); p += 4;
    if (tok == 1) {                      /* FDT_BEGIN_NODE: name, NUL, padded to 4 */
      const char *name = (const char *)p;
      int len = 0;
      while (name[len]) len++;
      p += (len + 4) & ~3;
      depth++;
      in_chosen = depth == 2 && (str_eq(name, "chosen") || (name[0] == 'c' && str_eq(name, "chosen@0")));
    } else if (tok == 2) {               /* FDT_END_NODE */
      if (depth == 2) in_chosen = 0;
      depth--;
    } else if (tok == 3) {               /* FDT_PROP: len, nameoff, value */
      uint32_t len = fdt_be32(p), nameoff = fdt_be32(p + 4);
      if (in_chosen && depth == 2 && len > 0 && str_eq(strings + nameoff, "bootargs")) return (const char *)(p + 8);
      p += 8 + ((len + 3) & ~3u);
    } else if (tok == 4) {               /* FDT_NOP */
    } else break;                        /* FDT_END or garbage */
  }
  return 0;
}

/* Value of `key=N` (decimal) among the space-separated words of bootargs, or dflt. */
static uint64_t bootarg_u64(const void *dtb, const char *key, uint64_t dflt) {
  const char *s = fdt_bootargs(dtb);
  if (!s) return dflt;
  while (*s) {
    while (*s == ' ') s++;
    const char *k = key;
    while (*k && *s == *k) { s++; k++; }
    if (*k == 0 && *s == '=') {
      s++;
      uint64_t v = 0;
      int digits = 0;
      while (*s >= '0' && *s <= '9') { v = v * 10 + (uint64_t)(*s - '0'); s++; digits++; }
      if (digits && (*s == 0 || *s == ' ')) return v;
    }
    while (*s && *s != ' ') s++;
  }
  return dflt;
}
#endif
