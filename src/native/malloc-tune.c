/*
 * Host tuning from JS, through N-API; no library offers either, hence these few lines of our own.
 *
 * tune(trimThreshold, topPad): glibc's mallopt(M_TRIM_THRESHOLD) and mallopt(M_TOP_PAD) for the
 * whole process, from JS. Why (docs/ARCHITECTURE.md, "Host memory"): V8 compiles each of our wasm
 * page modules with Liftoff in zone memory it mallocs and frees, and glibc's default trimming
 * hands that memory back to the kernel after every compile, so the next one faults it in again
 * (~10 us a page on these VMs). The MALLOC_TRIM_THRESHOLD_ / MALLOC_TOP_PAD_ environment variables
 * do the same but must be set before node starts. Returns true where mallopt exists and accepted
 * both.
 *
 * quit(code): _exit(code), without node's own teardown (src/host/malloc-tune.ts exitNow: ~30 ms
 * after a Linux boot, freeing the isolates' heaps and compiled code page by page). As node's exit
 * does, it first puts back the file status flags stdin, stdout and stderr had when the module
 * loaded (node makes a pipe non-blocking, and a shell sharing that pipe would then fail to read).
 */
#include <fcntl.h>
#include <node_api.h>
#include <stdbool.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static napi_value tune(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int64_t trim = 0, pad = 0;
  bool ok = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 2 &&
      napi_get_value_int64(env, argv[0], &trim) == napi_ok && napi_get_value_int64(env, argv[1], &pad) == napi_ok) {
#if defined(__GLIBC__)
    ok = mallopt(M_TRIM_THRESHOLD, (int)trim) == 1 && mallopt(M_TOP_PAD, (int)pad) == 1;
#endif
  }
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

/* The standard streams' file status flags when the module loaded (-1: not open). */
static int stdio_flags[3] = { -1, -1, -1 };

static napi_value quit(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t code = 1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 1) napi_get_value_int32(env, argv[0], &code);
  for (int fd = 0; fd < 3; fd++) {
    if (stdio_flags[fd] != -1 && fcntl(fd, F_GETFL) != stdio_flags[fd]) fcntl(fd, F_SETFL, stdio_flags[fd]);
  }
  _exit(code);
}

static napi_value init(napi_env env, napi_value exports) {
  for (int fd = 0; fd < 3; fd++) stdio_flags[fd] = fcntl(fd, F_GETFL);
  napi_value fn;
  if (napi_create_function(env, "tune", NAPI_AUTO_LENGTH, tune, NULL, &fn) == napi_ok)
    napi_set_named_property(env, exports, "tune", fn);
  if (napi_create_function(env, "quit", NAPI_AUTO_LENGTH, quit, NULL, &fn) == napi_ok)
    napi_set_named_property(env, exports, "quit", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
